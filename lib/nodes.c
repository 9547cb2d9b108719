/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device nodes in a container's file system: mknod below a root directory
 * without ever following a symlink the container could have planted, either
 * from here or from inside the mount namespace of a container process.
 *
 * Nothing here allocates memory after vtpm_nodes_*_pid() forks: the child
 * works on stack buffers and system calls only.
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "vtpm-internal.h"

static int sys_openat2(int dirfd, const char *path, struct open_how *how)
{
#ifdef SYS_openat2
	long r = syscall(SYS_openat2, dirfd, path, how, sizeof(*how));

	return r < 0 ? -errno : (int)r;
#else
	return -ENOSYS;
#endif
}

/*
 * Open the directory @rel (relative, no ".." components, possibly empty)
 * below @rootfd, refusing symlinks anywhere on the way; with @create,
 * make missing directories.
 */
static int open_dir_beneath(int rootfd, const char *rel, bool create)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	char buf[PATH_MAX];
	char *comp, *save = NULL;
	int fd, r;

	if (!*rel) {
		fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
		return fd < 0 ? -errno : fd;
	}

	r = sys_openat2(rootfd, rel, &how);
	if (r >= 0 || (r != -ENOSYS && r != -ENOENT) || (r == -ENOENT && !create))
		return r;

	/* No openat2 (Linux < 5.6), or directories to create: walk. */
	if (strlen(rel) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, rel);
	fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -errno;
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		int next;

		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			close(fd);
			return -EINVAL;
		}
		next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) < 0 && errno != EEXIST) {
				r = -errno;
				close(fd);
				return r;
			}
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0) {
			struct stat st;

			r = -errno;
			/* O_NOFOLLOW | O_DIRECTORY on a symlink fails with ENOTDIR:
			 * report it as openat2's RESOLVE_NO_SYMLINKS does. */
			if (r == -ENOTDIR && fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode))
				r = -ELOOP;
			close(fd);
			return r;
		}
		close(fd);
		fd = next;
	}
	return fd;
}

/* Split an absolute container path into the parent (relative) and leaf. */
static int split_path(const char *path, char parent[static PATH_MAX], const char **leaf)
{
	const char *rel = path + strspn(path, "/");
	const char *slash = strrchr(rel, '/');
	size_t plen;

	if (!*rel || strlen(rel) >= PATH_MAX)
		return -EINVAL;
	if (!slash) {
		parent[0] = '\0';
		*leaf = rel;
		return 0;
	}
	plen = (size_t)(slash - rel);
	memcpy(parent, rel, plen);
	parent[plen] = '\0';
	*leaf = slash + 1;
	if (!**leaf || strcmp(*leaf, "..") == 0 || strcmp(*leaf, ".") == 0)
		return -EINVAL;
	return 0;
}

/* chmod an O_PATH fd through its /proc/self/fd entry (@procfd, opened early). */
static int chmod_opath(int procfd, int fd, mode_t mode)
{
	char name[16];

	snprintf(name, sizeof(name), "%d", fd);
	if (fchmodat(procfd, name, mode, 0) < 0)
		return -errno;
	return 0;
}

static int create_one(int rootfd, int procfd, const struct vtpm_rules_node *n,
		      mode_t mode, uid_t uid, gid_t gid, unsigned int flags)
{
	char parent[PATH_MAX];
	const char *leaf;
	dev_t devnum = makedev(n->major, n->minor);
	_cleanup_close_ int dirfd = -1, fd = -1;
	struct stat st;
	int r;

	r = split_path(n->container_path, parent, &leaf);
	if (r < 0)
		return r;
	dirfd = open_dir_beneath(rootfd, parent, true);
	if (dirfd < 0)
		return dirfd;

	if (mknodat(dirfd, leaf, S_IFCHR | (mode & 0777), devnum) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
			return -errno;
		if (!(S_ISCHR(st.st_mode) && st.st_rdev == devnum)) {
			if (!(flags & VTPM_NODES_REPLACE) || S_ISDIR(st.st_mode))
				return -EEXIST;
			if (unlinkat(dirfd, leaf, 0) < 0)
				return -errno;
			if (mknodat(dirfd, leaf, S_IFCHR | (mode & 0777), devnum) < 0)
				return -errno;
		}
	}

	/* Act on the node itself, never on what a swapped-in symlink names. */
	fd = openat(dirfd, leaf, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode) || st.st_rdev != devnum)
		return -EEXIST;
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
		return -errno;
	return chmod_opath(procfd, fd, mode);
}

static int remove_one(int rootfd, const struct vtpm_rules_node *n)
{
	char parent[PATH_MAX];
	const char *leaf;
	_cleanup_close_ int dirfd = -1;
	struct stat st;
	int r;

	r = split_path(n->container_path, parent, &leaf);
	if (r < 0)
		return r;
	dirfd = open_dir_beneath(rootfd, parent, false);
	if (dirfd == -ENOENT)
		return 0;
	if (dirfd < 0)
		return dirfd;
	if (fstatat(dirfd, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(n->major, n->minor))
		return 0;
	if (unlinkat(dirfd, leaf, 0) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Everything the node operations need, gathered before any fork. */
struct node_job {
	unsigned int count;
	struct vtpm_rules_node nodes[VTPM_RULES_MAX_NODES];
	mode_t mode;
	uid_t uid;
	gid_t gid;
	unsigned int flags;
	bool remove;
};

static int job_init(struct node_job *job, const struct vtpm_rules *rules,
		    unsigned int flags, bool remove)
{
	if (flags & ~VTPM_NODES_REPLACE)
		return -EINVAL;
	*job = (struct node_job){ .count = vtpm_rules_get_count(rules), .flags = flags,
				  .remove = remove, .mode = vtpm_rules_get_mode(rules) };
	if (job->count == 0)
		return -ENODATA;
	vtpm_rules_get_owner(rules, &job->uid, &job->gid);
	for (unsigned int i = 0; i < job->count; i++)
		vtpm_rules_get_node(rules, i, &job->nodes[i]);
	return 0;
}

static int job_run(const struct node_job *job, int rootfd, int procfd)
{
	int r = 0, k;

	if (job->remove) {
		for (unsigned int i = 0; i < job->count; i++) {
			k = remove_one(rootfd, &job->nodes[i]);
			if (k < 0 && r == 0)
				r = k;
		}
		return r;
	}
	for (unsigned int i = 0; i < job->count; i++) {
		r = create_one(rootfd, procfd, &job->nodes[i], job->mode, job->uid,
			       job->gid, job->flags);
		if (r < 0) {
			/* Leave nothing half-done. */
			for (unsigned int j = 0; j < i; j++)
				remove_one(rootfd, &job->nodes[j]);
			return r;
		}
	}
	return 0;
}

static int run_in_rootfs(const struct vtpm_rules *rules, const char *rootfs,
			 unsigned int flags, bool remove)
{
	_cleanup_close_ int rootfd = -1, procfd = -1;
	struct node_job job;
	int r;

	r = job_init(&job, rules, flags, remove);
	if (r < 0)
		return r;
	if (!rootfs || !*rootfs)
		return -EINVAL;
	rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return -errno;
	procfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0 && !remove)
		return -errno;
	return job_run(&job, rootfd, procfd);
}

VTPM_EXPORT int vtpm_nodes_create_rootfs(const struct vtpm_rules *rules, const char *rootfs,
					 unsigned int flags)
{
	return run_in_rootfs(rules, rootfs, flags, false);
}

VTPM_EXPORT int vtpm_nodes_remove_rootfs(const struct vtpm_rules *rules, const char *rootfs)
{
	return run_in_rootfs(rules, rootfs, 0, true);
}

/* The directory @fd is, as vtpm_nodes_run_pinned() records it. */
static int root_of(int fd, struct vtpm_nodes_root *root)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	*root = (struct vtpm_nodes_root){ .dev = st.st_dev, .ino = st.st_ino };
	return 0;
}

static bool same_root(int fd, const struct vtpm_nodes_root *want)
{
	struct vtpm_nodes_root got;

	return root_of(fd, &got) == 0 && got.dev == want->dev && got.ino == want->ino;
}

/*
 * The container's root below the process's root @rootfd: @rootfs (the
 * runtime's own path, trusted: it has not pivoted yet), or the root
 * itself.  With @want, the one of the two that is that directory: a
 * runtime that pivoted since the nodes were made left @rootfs behind.
 */
static int open_container_root(int rootfd, const char *rootfs, const struct vtpm_nodes_root *want)
{
	int fd;

	if (!rootfs || (want && same_root(rootfd, want)))
		fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	else
		fd = openat(rootfd, rootfs + strspn(rootfs, "/"), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (want && !same_root(fd, want)) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* What the child reports. */
struct node_report {
	int r;
	struct vtpm_nodes_root root;
};

/* The forked child: join the pinned process's mount namespace, then do the job. */
static __attribute__((noreturn)) void child_main(const struct node_job *job,
						 const struct vtpm_pinned_pid *pin,
						 const char *rootfs,
						 const struct vtpm_nodes_root *want, int report_fd)
{
	struct node_report rep = { 0 };
	int rootfd = -1, procfd, fd;

	procfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (procfd < 0) {
		rep.r = -errno;
		goto out;
	}
	/* Both the root and the namespace of the one process @pin names. */
	fd = vtpm_pid_open(pin, "root", O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		rep.r = fd;
		goto out;
	}
	rep.r = vtpm_pid_setns_mnt(pin);
	if (rep.r < 0)
		goto out;
	rootfd = open_container_root(fd, rootfs, want);
	if (rootfd < 0) {
		rep.r = rootfd;
		goto out;
	}
	rep.r = root_of(rootfd, &rep.root);
	if (rep.r == 0)
		rep.r = job_run(job, rootfd, procfd);
out:
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(2);
	_exit(0);
}

/* Do @job in the mount namespace of the process @pin names, from a child. */
static int run_pinned(const struct node_job *job, const struct vtpm_pinned_pid *pin,
		      const char *rootfs, struct vtpm_nodes_root *root)
{
	struct node_report rep;
	int pipefd[2], r, status;
	ssize_t n;
	pid_t child;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return -errno;
	child = fork();
	if (child < 0) {
		r = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return r;
	}
	if (child == 0) {
		close(pipefd[0]);
		child_main(job, pin, rootfs, job->remove ? root : NULL, pipefd[1]);
	}
	close(pipefd[1]);
	do {
		n = read(pipefd[0], &rep, sizeof(rep));
	} while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (n != sizeof(rep))
		return -ECHILD;
	if (rep.r == 0 && root && !job->remove)
		*root = rep.root;
	return rep.r;
}

static bool pid_rootfs_ok(const char *rootfs)
{
	return !rootfs || vtpm_path_is_safe(rootfs) || strcmp(rootfs, "/") == 0;
}

int vtpm_nodes_run_pinned(const struct vtpm_rules *rules, const struct vtpm_pinned_pid *pin,
			  const char *rootfs, unsigned int flags, bool remove,
			  struct vtpm_nodes_root *root)
{
	struct node_job job;
	int r;

	r = job_init(&job, rules, flags, remove);
	if (r < 0)
		return r;
	if (!pid_rootfs_ok(rootfs))
		return -EINVAL;
	return run_pinned(&job, pin, rootfs, root);
}

static int run_in_pid(const struct vtpm_rules *rules, pid_t pid, const char *rootfs,
		      unsigned int flags, bool remove)
{
	struct vtpm_pinned_pid pin;
	struct node_job job;
	int r;

	r = job_init(&job, rules, flags, remove);
	if (r < 0)
		return r;
	if (pid <= 0 || !pid_rootfs_ok(rootfs))
		return -EINVAL;
	r = vtpm_pid_pin(pid, &pin);
	if (r < 0)
		return r;
	r = run_pinned(&job, &pin, rootfs, NULL);
	vtpm_pid_unpin(&pin);
	return r;
}

VTPM_EXPORT int vtpm_nodes_create_pid(const struct vtpm_rules *rules, pid_t pid,
				      const char *rootfs, unsigned int flags)
{
	return run_in_pid(rules, pid, rootfs, flags, false);
}

VTPM_EXPORT int vtpm_nodes_remove_pid(const struct vtpm_rules *rules, pid_t pid,
				      const char *rootfs)
{
	return run_in_pid(rules, pid, rootfs, 0, true);
}

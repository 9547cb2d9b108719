/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runtime directories of managed instances: "<root>/<name>/" holding the
 * pid file, the control socket and instance.json.  Only the names the
 * manager knows are ever removed, so a directory someone else put files in
 * is left alone.  A new manager reads what an earlier one left to take
 * over its instances.
 */
#include "config.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "manager-internal.h"
#include "vtpm-internal.h"

static const char *const rundir_files[] = {
	VTPM_RUNDIR_PID, VTPM_RUNDIR_PID ".tmp",
	VTPM_RUNDIR_DESC, VTPM_RUNDIR_DESC ".tmp",
	VTPM_RUNDIR_CTRL,
};

static int open_root(const char *root)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* Open "<root>/<name>", made first if @create; never through a symlink. */
static int rundir_open(const char *root, const char *name, bool create)
{
	_cleanup_close_ int root_fd = -1;
	int fd;

	if (!vtpm_mgr_name_is_valid(name))
		return -EINVAL;
	root_fd = open_root(root);
	if (root_fd < 0)
		return root_fd;
	if (create && mkdirat(root_fd, name, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	return fd;
}

int vtpm_rundir_create(const char *root, const char *name)
{
	int fd = rundir_open(root, name, true);

	if (fd < 0)
		return fd;
	/* Left over from a run that ended without cleaning up. */
	for (size_t i = 0; i < ARRAY_SIZE(rundir_files); i++)
		unlinkat(fd, rundir_files[i], 0);
	return fd;
}

int vtpm_rundir_write_pid(int dir_fd, pid_t pid)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);

	return vtpm_write_file_atomic(dir_fd, VTPM_RUNDIR_PID, buf, (size_t)n);
}

int vtpm_rundir_write_desc(int dir_fd, const struct vtpm_mgr_desc *desc)
{
	_cleanup_free_ char *json = NULL, *line = NULL;
	int r, n;

	r = vtpm_mgr_desc_to_json(desc, &json);
	if (r < 0)
		return r;
	/* One line, newline-terminated, like every text file. */
	n = asprintf(&line, "%s\n", json);
	if (n < 0) {
		line = NULL;
		return -ENOMEM;
	}
	return vtpm_write_file_atomic(dir_fd, VTPM_RUNDIR_DESC, line, (size_t)n);
}

int vtpm_rundir_remove(const char *root, const char *name)
{
	_cleanup_close_ int root_fd = -1, fd = -1;

	if (!vtpm_mgr_name_is_valid(name))
		return -EINVAL;
	root_fd = open_root(root);
	if (root_fd < 0)
		return root_fd == -ENOENT ? 0 : root_fd;
	fd = openat(root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	for (size_t i = 0; i < ARRAY_SIZE(rundir_files); i++)
		unlinkat(fd, rundir_files[i], 0);
	if (unlinkat(root_fd, name, AT_REMOVEDIR) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int vtpm_rundir_open(const char *root, const char *name)
{
	return rundir_open(root, name, false);
}

/* The pid of the process listening on the Unix socket @dir_fd/@name, or -errno. */
static pid_t listener_pid(int dir_fd, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	_cleanup_close_ int fd = -1;
	int n;

	/* Through /proc/self/fd: the directory's path may not fit sun_path. */
	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dir_fd, name);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	return cred.pid;
}

int vtpm_rundir_inspect(const char *root, const char *name, struct vtpm_mgr_desc *desc,
			int *pidfd)
{
	_cleanup_close_ int dir_fd = -1, fd = -1;
	_cleanup_free_ uint8_t *json = NULL;
	size_t len;
	pid_t serving;
	int r;

	*pidfd = -1;
	dir_fd = vtpm_rundir_open(root, name);
	if (dir_fd < 0)
		return dir_fd;
	r = vtpm_read_file(dir_fd, VTPM_RUNDIR_DESC, 65536, &json, &len);
	if (r < 0)
		return r;
	if (len == 0 || json[len - 1] != '\n')
		return -EBADMSG; /* cut short */
	json[len - 1] = '\0';
	r = vtpm_mgr_desc_from_json((const char *)json, desc);
	if (r < 0)
		return -EBADMSG;
	if (strcmp(desc->name, name) != 0)
		return -EBADMSG;
	if (desc->pid <= 0)
		return 0;
	/* Hold the process first, then check that it is the one serving the
	 * control socket: a pid reused by another process never passes. */
	fd = (int)syscall(SYS_pidfd_open, desc->pid, 0);
	if (fd < 0)
		return 0;
	serving = listener_pid(dir_fd, VTPM_RUNDIR_CTRL);
	if (serving != desc->pid)
		return 0;
	*pidfd = TAKE_FD(fd);
	return 0;
}

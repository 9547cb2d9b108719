/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device cgroups: find a process's cgroup, allow nodes in it (cgroup v1
 * devices.allow, or cgroup v2 device programs through cgroup-bpf.c) and
 * revoke them again.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "cgroup-bpf.h"
#include "vtpm-internal.h"

struct vtpm_cgroup {
	int refcount;
	struct vtpm_ctx *ctx;
	int version;
	char *path;
	int fd;
	bool allowed;
	char *v1_lines;		/* what was written to devices.allow */
	struct bpf_swaps swaps;	/* v2 */
};

static int cgroup_new(struct vtpm_ctx *ctx, const char *path, int version,
		      struct vtpm_cgroup **out)
{
	struct vtpm_cgroup *cg;
	struct statfs sfs;
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		err(ctx, "cannot open cgroup %s: %s", path, strerror(-r));
		return r;
	}
	if (fstatfs(fd, &sfs) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
		r = 2;
	} else if (sfs.f_type == CGROUP_SUPER_MAGIC &&
		   faccessat(fd, "devices.allow", F_OK, 0) == 0) {
		r = 1;
	} else {
		err(ctx, "%s is neither a cgroup v2 nor a cgroup v1 devices directory", path);
		close(fd);
		return -EMEDIUMTYPE;
	}
	if (version && version != r) {
		close(fd);
		return -EMEDIUMTYPE;
	}

	cg = calloc(1, sizeof(*cg));
	if (!cg || !(cg->path = strdup(path))) {
		free(cg);
		close(fd);
		return -ENOMEM;
	}
	cg->refcount = 1;
	cg->ctx = vtpm_ctx_ref(ctx);
	cg->version = r;
	cg->fd = fd;
	*out = cg;
	return 0;
}

VTPM_EXPORT int vtpm_cgroup_new_from_path(struct vtpm_ctx *ctx, const char *path,
					  struct vtpm_cgroup **cg)
{
	if (!path || path[0] != '/')
		return -EINVAL;
	return cgroup_new(ctx, path, 0, cg);
}

static bool has_token(const char *list, const char *token)
{
	size_t len = strlen(token);

	for (const char *p = list; *p; ) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, token, len) == 0)
			return true;
		p += n;
		p += *p == ',';
	}
	return false;
}

/*
 * Where the hierarchy of cgroup path @cgpath is mounted here: for cgroup v1
 * the "cgroup" mount with "devices" among its options, for v2 "cgroup2".
 */
static int find_mount(int version, const char *cgpath, char **dir)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int r = -ENOMEDIUM;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char root[4096], mnt[4096], fstype[64], opts[1024];
		const char *sep = strstr(line, " - ");
		size_t rlen;

		if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
			continue;
		if (version == 2 ? strcmp(fstype, "cgroup2") != 0 :
				   strcmp(fstype, "cgroup") != 0 || !has_token(opts, "devices"))
			continue;
		/* The mount shows the subtree at "root": strip it from @cgpath. */
		rlen = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(cgpath, root, rlen) != 0 || (cgpath[rlen] && cgpath[rlen] != '/'))
			continue;
		r = asprintf(dir, "%s%s", mnt, cgpath + rlen) < 0 ? -ENOMEM : 0;
		break;
	}
	fclose(f);
	return r;
}

VTPM_EXPORT int vtpm_cgroup_new_from_pid(struct vtpm_ctx *ctx, pid_t pid,
					 struct vtpm_cgroup **cg)
{
	_cleanup_free_ char *line = NULL, *v1 = NULL, *v2 = NULL, *dir = NULL;
	struct vtpm_pinned_pid pin;
	size_t cap = 0;
	ssize_t n;
	FILE *f;
	int fd, r;

	if (pid <= 0)
		return -EINVAL;
	/* The cgroup of the process named now, not of a later owner of the pid. */
	r = vtpm_pid_pin(pid, &pin);
	if (r < 0)
		return r;
	fd = vtpm_pid_open(&pin, "cgroup", O_RDONLY);
	vtpm_pid_unpin(&pin);
	if (fd < 0)
		return fd;
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		char *ctrl, *cgpath;

		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		/* "hierarchy-ID:controller-list:cgroup-path", see cgroups(7). */
		ctrl = strchr(line, ':');
		if (!ctrl)
			continue;
		*ctrl++ = '\0';
		cgpath = strchr(ctrl, ':');
		if (!cgpath)
			continue;
		*cgpath++ = '\0';
		if (strcmp(line, "0") == 0 && !*ctrl) {
			if (!v2)
				v2 = strdup(cgpath);
		} else if (has_token(ctrl, "devices") && !v1) {
			v1 = strdup(cgpath);
		}
	}
	fclose(f);

	if (v1) {
		r = find_mount(1, v1, &dir);
		if (r == 0)
			return cgroup_new(ctx, dir, 1, cg);
	}
	if (!v2) {
		err(ctx, "process %ld is in no device cgroup this process can see", (long)pid);
		return -ENOMEDIUM;
	}
	r = find_mount(2, v2, &dir);
	if (r < 0) {
		err(ctx, "the cgroup2 hierarchy of process %ld is not mounted", (long)pid);
		return r;
	}
	return cgroup_new(ctx, dir, 2, cg);
}

VTPM_EXPORT int vtpm_cgroup_enter(struct vtpm_cgroup *cg)
{
	char buf[32];
	int fd, n, r = 0;

	if (!cg)
		return -EINVAL;
	/* A v1 devices hierarchy accounts no CPU time: nothing to gain. */
	if (cg->version != 2)
		return -EOPNOTSUPP;
	fd = openat(cg->fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		err(cg->ctx, "cannot open %s/cgroup.procs: %s", cg->path, strerror(-r));
		return r;
	}
	/* The whole process moves, every thread with it (cgroup-v2.rst, "Processes"). */
	n = snprintf(buf, sizeof(buf), "%ld", (long)getpid());
	if (write(fd, buf, (size_t)n) != n) {
		r = -errno;
		err(cg->ctx, "cannot move process %s into %s: %s", buf, cg->path, strerror(-r));
	}
	close(fd);
	return r;
}

VTPM_EXPORT struct vtpm_cgroup *vtpm_cgroup_ref(struct vtpm_cgroup *cg)
{
	if (cg)
		cg->refcount++;
	return cg;
}

VTPM_EXPORT struct vtpm_cgroup *vtpm_cgroup_unref(struct vtpm_cgroup *cg)
{
	if (!cg || --cg->refcount > 0)
		return NULL;
	vtpm_bpf_swaps_release(&cg->swaps);
	free(cg->v1_lines);
	free(cg->path);
	close(cg->fd);
	vtpm_ctx_unref(cg->ctx);
	free(cg);
	return NULL;
}

VTPM_EXPORT int vtpm_cgroup_get_version(const struct vtpm_cgroup *cg)
{
	return cg->version;
}

VTPM_EXPORT const char *vtpm_cgroup_get_path(const struct vtpm_cgroup *cg)
{
	return cg->path;
}

/* Write each line of @lines to @file, one write(2) per line as the kernel wants. */
static int write_lines(int dirfd, const char *file, const char *lines)
{
	_cleanup_close_ int fd = -1;
	int r = 0;

	fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (const char *p = lines; *p; ) {
		size_t len = strcspn(p, "\n");

		if (write(fd, p, len) != (ssize_t)len && r == 0)
			r = -errno;
		p += len;
		p += *p == '\n';
	}
	return r;
}

VTPM_EXPORT int vtpm_cgroup_allow(struct vtpm_cgroup *cg, const struct vtpm_rules *rules)
{
	_cleanup_free_ char *lines = NULL;
	int r;

	if (cg->allowed)
		return -EALREADY;
	if (vtpm_rules_get_count(rules) == 0)
		return -ENODATA;

	if (cg->version == 2) {
		r = vtpm_bpf_allow(cg->ctx, cg->fd, rules, &cg->swaps);
		if (r < 0)
			return r;
		cg->allowed = true;
		return 0;
	}

	r = vtpm_rules_format(rules, VTPM_RULES_CGROUP1, &lines);
	if (r < 0)
		return r;
	r = write_lines(cg->fd, "devices.allow", lines);
	if (r < 0) {
		err(cg->ctx, "cannot write %s/devices.allow: %s", cg->path, strerror(-r));
		write_lines(cg->fd, "devices.deny", lines);
		return r;
	}
	cg->v1_lines = TAKE_PTR(lines);
	cg->allowed = true;
	return 0;
}

VTPM_EXPORT int vtpm_cgroup_revoke(struct vtpm_cgroup *cg)
{
	struct stat st;
	int r;

	if (!cg->allowed)
		return 0;
	cg->allowed = false;
	/* A removed cgroup directory: nothing left to revoke. */
	if (fstat(cg->fd, &st) == 0 && st.st_nlink == 0) {
		vtpm_bpf_swaps_release(&cg->swaps);
		return -ENOENT;
	}
	if (cg->version == 2)
		return vtpm_bpf_revoke(cg->ctx, cg->fd, &cg->swaps);

	r = write_lines(cg->fd, "devices.deny", cg->v1_lines);
	free(cg->v1_lines);
	cg->v1_lines = NULL;
	return r == -ENODEV ? -ENOENT : r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Confining a serving process: the one call every serving mode makes once
 * its device, sockets and state directory are open.  It layers what the
 * kernel offers: an unprivileged identity without capabilities (the uid a
 * hostile client would inherit), Landlock (only the state directory stays
 * reachable, even for a uid other instances share) and the system call
 * filter (no new sockets, devices or programs).
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtpm-internal.h"

/* Tried in order: the TPM software stack's user (Debian's tpm2-tools,
 * swtpm and tpm2-abrmd packages create it), then the classic fallback. */
static const char *const default_users[] = { "tss", "nobody" };

VTPM_EXPORT int vtpm_sandbox_get_default_user(struct vtpm_ctx *ctx, uid_t *uid, gid_t *gid)
{
	if (!uid || !gid)
		return -EINVAL;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	/* Only root has another identity to take. */
	if (geteuid() != 0)
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(default_users); i++) {
		struct passwd pw, *found = NULL;
		char buf[1024];

		if (getpwnam_r(default_users[i], &pw, buf, sizeof(buf), &found) == 0 && found &&
		    found->pw_uid != 0) {
			*uid = found->pw_uid;
			*gid = found->pw_gid;
			return 0;
		}
	}
	err(ctx, "neither user tss nor nobody exists: name a user to serve as");
	return -ENOENT;
}

/* A decimal id, not (id_t)-1 (which means "keep" to setresuid(2)). */
static bool parse_id(const char *s, unsigned long *id)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	*id = strtoul(s, &end, 10);
	return !errno && !*end && *id < (uid_t)-1;
}

/* Look @name up with a buffer that grows as the database's entry needs. */
static int lookup(const char *user, const char *group, uid_t *uid, gid_t *gid)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 1024;

	for (;;) {
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		char *nbuf = realloc(buf, size);
		int r;

		if (!nbuf)
			return -ENOMEM;
		buf = nbuf;
		if (user) {
			r = getpwnam_r(user, &pw, buf, size, &pwp);
			if (r == 0 && pwp) {
				*uid = pwp->pw_uid;
				*gid = pwp->pw_gid;
			}
		} else {
			r = getgrnam_r(group, &gr, buf, size, &grp);
			if (r == 0 && grp)
				*gid = grp->gr_gid;
		}
		if (r == ERANGE && size < (1u << 20)) {
			size *= 2;
			continue;
		}
		if (r != 0)
			return -r;
		return pwp || grp ? 0 : -ENOENT;
	}
}

/* The primary group of the account with uid @uid. */
static int primary_group(uid_t uid, gid_t *gid)
{
	char buf[1024];
	struct passwd pw, *found = NULL;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) != 0 || !found)
		return -ENOENT;
	*gid = found->pw_gid;
	return 0;
}

VTPM_EXPORT int vtpm_sandbox_parse_user(struct vtpm_ctx *ctx, const char *spec, uid_t *uid,
					gid_t *gid)
{
	_cleanup_free_ char *user = NULL;
	const char *group = NULL;
	unsigned long id;
	uid_t u = (uid_t)-1;
	gid_t g = (gid_t)-1;
	char *colon;
	int r;

	if (!spec || !uid || !gid)
		return -EINVAL;
	user = strdup(spec);
	if (!user)
		return -ENOMEM;
	colon = strchr(user, ':');
	if (colon) {
		*colon = '\0';
		group = colon + 1;
	}
	if (!*user || (group && !*group)) {
		err(ctx, "'%s' is not USER[:GROUP]", spec);
		return -EINVAL;
	}
	if (parse_id(user, &id)) {
		u = (uid_t)id;
		/* A number needs no account, but then it needs its group. */
		if (!group && primary_group(u, &g) < 0) {
			err(ctx, "uid %s has no account to take a group from: write %s:GROUP",
			    user, user);
			return -EINVAL;
		}
	} else {
		r = lookup(user, NULL, &u, &g);
		if (r < 0) {
			err(ctx, "no such user '%s'", user);
			return r;
		}
	}
	if (group && parse_id(group, &id)) {
		g = (gid_t)id;
	} else if (group) {
		r = lookup(NULL, group, &u, &g);
		if (r < 0) {
			err(ctx, "no such group '%s'", group);
			return r;
		}
	}
	/* Root's ids are what the sandbox takes away. */
	if (u == 0 || g == 0) {
		err(ctx, "'%s' is root's %s: a confined server never serves as root",
		    spec, u == 0 ? "uid" : "gid");
		return -EPERM;
	}
	*uid = u;
	*gid = g;
	return 0;
}

/* Names the state store writes (swtpm's "tpm2-00.permall" and friends,
 * their ".tmp." siblings, the lock): all a state directory may hold. */
static bool is_state_entry(const char *name)
{
	return strcmp(name, ".lock") == 0 || strncmp(name, "tpm2-", 5) == 0 ||
	       strncmp(name, "tpm-", 4) == 0;
}

static int refuse(struct vtpm_ctx *ctx, const char *dir, uid_t owner, uid_t uid)
{
	err(ctx, "state directory %s belongs to uid %u, but must belong to uid %u, the serving "
	    "user: chown it, or serve as its owner", dir, (unsigned int)owner, (unsigned int)uid);
	return -EACCES;
}

/* Chown the state files of @owner in @d to @uid:@gid. */
static int chown_entries(DIR *d, int fd, uid_t owner, uid_t uid, gid_t gid)
{
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat est;

		if (!is_state_entry(de->d_name) ||
		    fstatat(fd, de->d_name, &est, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(est.st_mode) || est.st_uid != owner)
			continue;
		if (fchownat(fd, de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* Whether @d holds nothing but regular state files of @owner. */
static bool holds_only_state(DIR *d, int fd, uid_t owner)
{
	struct dirent *de;

	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat est;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!is_state_entry(de->d_name) ||
		    fstatat(fd, de->d_name, &est, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(est.st_mode) || est.st_uid != owner)
			return false;
	}
	return true;
}

VTPM_EXPORT int vtpm_sandbox_own_state_dir(struct vtpm_ctx *ctx, const char *dir, uid_t uid,
					   gid_t gid)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	DIR *d;
	int r;

	if (!dir || !*dir)
		return -EINVAL;
	if (uid == (uid_t)-1)
		return 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	/*
	 * Hand over only what is plainly a TPM's private directory: the
	 * serving uid's already, or the caller's own, shared with nobody,
	 * holding nothing but state.  Anything else ("/tmp", a home
	 * directory) stays as it is.
	 */
	if (st.st_uid != uid &&
	    (st.st_uid != geteuid() || st.st_mode & (S_IWGRP | S_IWOTH | S_ISVTX)))
		return refuse(ctx, dir, st.st_uid, uid);
	d = fdopendir(dup(fd));
	if (!d)
		return -errno;
	if (st.st_uid == uid) {
		/* State the caller wrote here since (a first start) goes along. */
		r = uid == geteuid() ? 0 : chown_entries(d, fd, geteuid(), uid, gid);
	} else if (!holds_only_state(d, fd, st.st_uid)) {
		r = refuse(ctx, dir, st.st_uid, uid);
	} else {
		r = chown_entries(d, fd, st.st_uid, uid, gid);
		if (r == 0 && fchown(fd, uid, gid) < 0)
			r = -errno;
		if (r == 0)
			info(ctx, "state directory %s handed to uid %u", dir, (unsigned int)uid);
	}
	closedir(d);
	if (r < 0 && r != -EACCES)
		err(ctx, "cannot hand state directory %s to uid %u: %s", dir, (unsigned int)uid,
		    strerror(-r));
	return r;
}

#define SANDBOX_FLAGS (VTPM_SANDBOX_ALLOW_ACCEPT | VTPM_SANDBOX_ALLOW_CONNECT |	\
		       VTPM_SANDBOX_LOG_ONLY | VTPM_SANDBOX_REQUIRE_LANDLOCK)

VTPM_EXPORT int vtpm_sandbox_confine(struct vtpm_ctx *ctx, const struct vtpm_sandbox_options *opts,
				     int *landlock_abi)
{
	struct vtpm_sandbox_options o = {};
	unsigned int seccomp_flags = 0;
	_cleanup_close_ int dir_fd = -1;
	int r, abi;

	if (!opts || opts->size < offsetof(struct vtpm_sandbox_options, flags) + sizeof(opts->flags))
		return -EINVAL;
	memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	if (o.flags & ~SANDBOX_FLAGS || (o.state_dir && !*o.state_dir))
		return -EINVAL;
	if (landlock_abi)
		*landlock_abi = 0;

	/* Opened while the path is still reachable: the serving uid may not
	 * be able to walk the directories above its own. */
	if (o.state_dir) {
		dir_fd = open(o.state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0) {
			err(ctx, "cannot open state directory %s: %s", o.state_dir, strerror(errno));
			return -errno;
		}
	}
	/* Capabilities, ids and no_new_privs (which Landlock needs) first;
	 * this also refuses a process with other threads. */
	r = vtpm_sandbox_drop_privileges(ctx, o.uid, o.gid);
	if (r < 0)
		return r;
	abi = vtpm_landlock_restrict(ctx, dir_fd);
	if (abi == -EOPNOTSUPP) {
		if (o.flags & VTPM_SANDBOX_REQUIRE_LANDLOCK) {
			err(ctx, "the kernel has no Landlock, which this sandbox requires");
			return -EOPNOTSUPP;
		}
		warn(ctx, "the kernel has no Landlock: files are guarded by the serving uid "
		     "and the system call filter only");
		abi = 0;
	} else if (abi < 0) {
		return abi;
	}
	if (o.flags & VTPM_SANDBOX_ALLOW_CONNECT)
		seccomp_flags |= VTPM_SECCOMP_ALLOW_SOCKETS;
	else if (o.flags & VTPM_SANDBOX_ALLOW_ACCEPT)
		seccomp_flags |= VTPM_SECCOMP_ALLOW_ACCEPT;
	if (o.flags & VTPM_SANDBOX_LOG_ONLY)
		seccomp_flags |= VTPM_SECCOMP_LOG_ONLY;
	r = vtpm_sandbox_apply_seccomp(ctx, seccomp_flags);
	if (r < 0)
		return r;
	info(ctx, "confined: uid %u, no capabilities, Landlock %s, system call filter%s",
	     (unsigned int)getuid(), abi ? "on" : "unavailable",
	     seccomp_flags & VTPM_SECCOMP_ALLOW_SOCKETS ? " with sockets" :
	     seccomp_flags & VTPM_SECCOMP_ALLOW_ACCEPT ? " with accept" : "");
	if (landlock_abi)
		*landlock_abi = abi;
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Landlock: the serving process keeps file access to its state directory
 * and nothing else.  The uid a server drops to is shared by every instance
 * (tss, nobody), so ownership alone cannot keep one instance out of
 * another's state; Landlock can, without privileges and per process.
 *
 * We handle every file-system right the running kernel knows (ABI 1 and 2
 * on a 6.1 kernel; TRUNCATE from ABI 3) except REMOVE_DIR: a temporary
 * state directory removes itself at exit, and an unprivileged uid can
 * remove only empty directories it may write to anyway.  Descriptors open
 * before the call (the device, the sockets, the state directory's lock)
 * keep working: Landlock checks paths when they are opened.
 */
#include "config.h"

#include <fcntl.h>
#include <linux/landlock.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vtpm-internal.h"

/* The rights of Landlock ABI 1 (Documentation/userspace-api/landlock.rst). */
#define FS_RIGHTS_ABI1 (LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |	\
			LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR |	\
			LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |	\
			LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |	\
			LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |	\
			LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)
/* ABI 2 adds REFER (linking and renaming across directories). */
#define FS_RIGHTS_ABI2 (FS_RIGHTS_ABI1 | LANDLOCK_ACCESS_FS_REFER)
/* ABI 3 adds TRUNCATE (Linux 6.2). */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#define FS_RIGHTS_ABI3 (FS_RIGHTS_ABI2 | LANDLOCK_ACCESS_FS_TRUNCATE)

/* What the state store does in its directory: atomic replacement by
 * create, write, fsync, rename, and removal of stale temporaries. */
#define STATE_DIR_RIGHTS (LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |	\
			  LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |	\
			  LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_TRUNCATE)

static int landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);

	if (abi < 0)
		/* ENOSYS: not built in; EOPNOTSUPP: not enabled at boot (lsm=). */
		return errno == ENOSYS || errno == EOPNOTSUPP ? -EOPNOTSUPP : -errno;
	return (int)abi;
}

int vtpm_landlock_restrict(struct vtpm_ctx *ctx, int state_dir_fd)
{
	struct landlock_ruleset_attr attr = {};
	_cleanup_close_ int ruleset = -1;
	int abi = landlock_abi();

	if (abi < 0)
		return abi;
	attr.handled_access_fs = abi >= 3 ? FS_RIGHTS_ABI3 : abi == 2 ? FS_RIGHTS_ABI2 :
					    FS_RIGHTS_ABI1;
	attr.handled_access_fs &= ~(uint64_t)LANDLOCK_ACCESS_FS_REMOVE_DIR;
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0) {
		err(ctx, "cannot create a Landlock ruleset: %s", strerror(errno));
		return -errno;
	}
	if (state_dir_fd >= 0) {
		struct landlock_path_beneath_attr beneath = {
			.allowed_access = STATE_DIR_RIGHTS & attr.handled_access_fs,
			.parent_fd = state_dir_fd,
		};

		if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &beneath,
			    0) < 0) {
			err(ctx, "cannot allow the state directory in the Landlock ruleset: %s",
			    strerror(errno));
			return -errno;
		}
	}
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		err(ctx, "cannot enforce the Landlock ruleset: %s", strerror(errno));
		return -errno;
	}
	return abi;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Confinement of a process that serves vTPMs.  Every byte a container
 * writes to its /dev/tpmN reaches the serving process, so once the device
 * exists that process should keep no privilege and reach only the system
 * calls serving needs.  Call these after the device is registered (and its
 * nodes are placed), right before serving.
 *
 * vtpm_sandbox_confine() is the one call a serving process needs; the two
 * older calls are its parts.
 *
 * Threads: capabilities, no_new_privs and Landlock belong to each thread,
 * so vtpm_sandbox_drop_privileges() and vtpm_sandbox_confine() refuse
 * (-EBUSY) in a process that has more than one thread: confine before
 * starting any.  The system call filter covers every thread of the process
 * (the kernel's SECCOMP_FILTER_FLAG_TSYNC) or is not loaded at all.
 */
#ifndef VTPM_SANDBOX_H
#define VTPM_SANDBOX_H

#include <sys/types.h>

#include <vtpm/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vtpm_sandbox_drop_privileges - give up every capability for good
 * @uid, @gid: switch to these ids first ((uid_t)-1 / (gid_t)-1: keep);
 *	supplementary groups are cleared when switching
 *
 * Clears the effective, permitted, inheritable, bounding and ambient
 * capability sets and sets no_new_privs, so no later execve() can regain
 * any.  Files the process owns stay writable: keep state directories owned
 * by the serving uid (see vtpm_sandbox_own_state_dir()).
 *
 * Returns: 0; -EBUSY if the process has more than one thread; -EPERM if
 * the ids cannot be switched; -EIO if libcap-ng cannot apply the change;
 * a negative errno if /proc/self/task cannot be read.
 */
int vtpm_sandbox_drop_privileges(struct vtpm_ctx *ctx, uid_t uid, gid_t gid);

/** Flags for vtpm_sandbox_apply_seccomp(). */
/* Also allow socket calls: a control channel or the swtpm backend. */
#define VTPM_SECCOMP_ALLOW_SOCKETS (1u << 0)
/* Violations return EPERM instead of killing the process (for debugging). */
#define VTPM_SECCOMP_LOG_ONLY (1u << 1)
/* Allow serving sockets already open (accept, send, receive) but neither
 * socket() nor connect(): a control channel. */
#define VTPM_SECCOMP_ALLOW_ACCEPT (1u << 2)

/**
 * vtpm_sandbox_apply_seccomp - allow only the system calls serving needs
 * @flags: VTPM_SECCOMP_* flags
 *
 * The allow list covers the relay loop and the libtpms backend: I/O on open
 * descriptors, state file replacement (openat, fsync, rename, unlink),
 * memory management, time, randomness, signals and exit.  Any other system
 * call kills the whole process (SIGSYS), so a compromised relay can neither
 * open new devices nor spawn programs.  Sets no_new_privs.  The filter is
 * inherited by children and cannot be removed.  It is loaded into every
 * thread of the process at once, or into none.
 *
 * Returns: 0; -EINVAL for unknown @flags; -ENOMEM; or a negative errno
 * from loading the filter (for example when another thread already has a
 * different filter and cannot be synchronised).
 */
int vtpm_sandbox_apply_seccomp(struct vtpm_ctx *ctx, unsigned int flags);

/**
 * vtpm_sandbox_get_default_user - the identity a root server drops to
 * @uid, @gid: set to the ids of user "tss" if it exists, else "nobody";
 *	to (uid_t)-1 and (gid_t)-1 (keep) when the caller is not root
 *
 * Returns: 0; -EINVAL for NULL pointers; -ENOENT if neither user exists.
 */
int vtpm_sandbox_get_default_user(struct vtpm_ctx *ctx, uid_t *uid, gid_t *gid);

/**
 * vtpm_sandbox_parse_user - the ids a "USER[:GROUP]" names
 * @spec: a user name or number, optionally followed by ':' and a group
 *	name or number
 * @uid, @gid: on success, the ids; without GROUP, @gid is the user's
 *	primary group from the user database
 *
 * Numbers need no account, except that a bare number takes its group from
 * the account with that uid.  Root's ids (uid 0, gid 0) are refused: they
 * are what a confined server gives up.  Uses the user and group databases
 * (NSS): call it before forking or confining.  Since LIBVTPM_3.
 *
 * Returns: 0; -EINVAL for NULL arguments, an empty USER or GROUP, or a
 * bare uid without an account; -ENOENT for an unknown name; -EPERM for
 * root's uid or gid; -ENOMEM; a negative errno from the database.  Every
 * failure is logged.
 */
int vtpm_sandbox_parse_user(struct vtpm_ctx *ctx, const char *spec, uid_t *uid, gid_t *gid);

/**
 * vtpm_sandbox_own_state_dir - make sure @uid can keep its state in @dir
 * @uid, @gid: the serving ids; (uid_t)-1: nothing to do
 *
 * In a directory @uid owns, state files of the caller (a first start
 * wrote them) are chowned to @uid:@gid.  One that belongs to the caller, is
 * writable by no group or other user and holds nothing but TPM state files
 * (swtpm's names and the lock) is handed over: it and its files are
 * chowned to @uid:@gid.  Anything else is refused, so "/tmp" or a home
 * directory never changes hands.
 *
 * Returns: 0; -EACCES if @dir belongs to someone else or holds other
 * files (logged, naming the owner); -EINVAL; a negative errno from opening
 * or chowning.
 */
int vtpm_sandbox_own_state_dir(struct vtpm_ctx *ctx, const char *dir, uid_t uid, gid_t gid);

/** Flags of struct vtpm_sandbox_options. */
/* Keep serving sockets that are already open: a control channel. */
#define VTPM_SANDBOX_ALLOW_ACCEPT (1u << 0)
/* Also keep socket() and connect(): a backend that reconnects to swtpm. */
#define VTPM_SANDBOX_ALLOW_CONNECT (1u << 1)
/* Filter violations return EPERM instead of killing (debugging only). */
#define VTPM_SANDBOX_LOG_ONLY (1u << 2)
/* Fail with -EOPNOTSUPP when the kernel has no Landlock. */
#define VTPM_SANDBOX_REQUIRE_LANDLOCK (1u << 3)

/**
 * struct vtpm_sandbox_options - what a confined server keeps
 * @size: sizeof(struct vtpm_sandbox_options) as the caller compiled it
 * @uid, @gid: serve as these ids; (uid_t)-1 / (gid_t)-1: keep (see
 *	vtpm_sandbox_get_default_user() for the usual choice)
 * @state_dir: the one directory that stays readable and writable; NULL
 *	for none (a backend that keeps no files)
 * @flags: VTPM_SANDBOX_* flags
 */
struct vtpm_sandbox_options {
	size_t size;
	uid_t uid;
	gid_t gid;
	const char *state_dir;
	unsigned int flags;
};

/**
 * vtpm_sandbox_confine - confine this process to serving
 * @opts: what to keep
 * @landlock_abi: if not NULL, set to the Landlock ABI version in force,
 *	0 when the kernel has none
 *
 * In order: vtpm_sandbox_drop_privileges() with @opts' ids; Landlock
 * (where the kernel has it: Linux 5.13 and later, enabled at boot), which
 * denies every file access but reading and replacing files in
 * @state_dir (and removing empty directories the uid may write to anyway);
 * then vtpm_sandbox_apply_seccomp() without socket calls unless a flag
 * keeps them.  Without Landlock a warning is logged and the uid and the
 * filter are what guards files: another instance serving as the same uid
 * could then reach this one's state.  Descriptors already open stay
 * usable; paths outside @state_dir (a pid file, the control socket's path)
 * can no longer be removed by this process.
 *
 * Returns: 0; -EINVAL for bad @opts; -EBUSY if the process has more than
 * one thread; -EOPNOTSUPP with VTPM_SANDBOX_REQUIRE_LANDLOCK on a kernel
 * without Landlock; or the errors of the two calls above.  On failure the
 * process may be partly confined: do not serve.
 */
int vtpm_sandbox_confine(struct vtpm_ctx *ctx, const struct vtpm_sandbox_options *opts,
			 int *landlock_abi);

#ifdef __cplusplus
}
#endif

#endif

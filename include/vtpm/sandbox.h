/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Confinement of a process that serves vTPMs.  Every byte a container
 * writes to its /dev/tpmN reaches the serving process, so once the device
 * exists that process should keep no privilege and reach only the system
 * calls serving needs.  Call these after the device is registered (and its
 * nodes are placed), right before serving.
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
 * by the serving uid.
 *
 * Returns: 0; -EPERM if the ids cannot be switched; -EIO if libcap-ng
 * cannot apply the change.
 */
int vtpm_sandbox_drop_privileges(struct vtpm_ctx *ctx, uid_t uid, gid_t gid);

/** Flags for vtpm_sandbox_apply_seccomp(). */
/* Also allow socket calls: a control channel or the swtpm backend. */
#define VTPM_SECCOMP_ALLOW_SOCKETS (1u << 0)
/* Violations return EPERM instead of killing the process (for debugging). */
#define VTPM_SECCOMP_LOG_ONLY (1u << 1)

/**
 * vtpm_sandbox_apply_seccomp - allow only the system calls serving needs
 * @flags: VTPM_SECCOMP_* flags
 *
 * The allow list covers the relay loop and the libtpms backend: I/O on open
 * descriptors, state file replacement (openat, fsync, rename, unlink),
 * memory management, time, randomness, signals and exit.  Any other system
 * call kills the whole process (SIGSYS), so a compromised relay can neither
 * open new devices nor spawn programs.  Sets no_new_privs.  The filter is
 * inherited by children and cannot be removed.
 *
 * Returns: 0; -EINVAL for unknown @flags; -ENOMEM; or a negative errno
 * from loading the filter.
 */
int vtpm_sandbox_apply_seccomp(struct vtpm_ctx *ctx, unsigned int flags);

#ifdef __cplusplus
}
#endif

#endif

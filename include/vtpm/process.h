/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The process that serves a vTPM: what it inherits from whoever started it
 * (signal mask and ignored signals) and how others find and stop it (a pid
 * file it holds locked for its whole life).
 *
 * Thread safety: vtpm_process_reset_signals() changes process-wide signal
 * dispositions: call it before starting threads.  The pid file calls are
 * as for every libvtpm call (see ctx.h).
 */
#ifndef VTPM_PROCESS_H
#define VTPM_PROCESS_H

#include <sys/types.h>

#include <vtpm/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * vtpm_process_reset_signals - serve with the default signal setup
 *
 * A blocked signal mask and ignored signals survive fork() and execve(),
 * so a server started by a container runtime's hook may inherit SIGTERM
 * blocked or ignored and never see its stop request.  This sets every
 * ignored signal back to its default action (installed handlers stay) and
 * unblocks every signal in the calling thread.  Install your handlers
 * first: a signal that was pending while blocked is delivered before this
 * returns.
 *
 * Returns: 0; a negative errno from sigaction() or pthread_sigmask().
 */
int vtpm_process_reset_signals(struct vtpm_ctx *ctx);

/**
 * vtpm_pidfile_write - publish the calling process as a pid file's owner
 * @path: the pid file; replaced in one step (never through a symlink)
 * @fd: on success, the descriptor holding the file's lock; keep it open
 *	while the process serves (it is close-on-exec)
 *
 * Writes getpid() and a newline to @path and holds a POSIX write lock on
 * it, taken before the file appears under its name and released only when
 * @fd is closed or the process exits (a fork()ed child does not inherit
 * it).  The lock, not the number in the file, is what
 * vtpm_pidfile_get_owner() and vtpm_pidfile_stop() trust, so a stale file
 * whose pid was reused never points them at another process.  Closing any
 * other descriptor of the same file also drops a POSIX lock: do not open
 * @path again in this process.
 *
 * Returns: 0; -EBUSY if a live process holds @path already; a negative
 * errno from creating, locking or renaming the file.
 */
int vtpm_pidfile_write(struct vtpm_ctx *ctx, const char *path, int *fd);

/**
 * vtpm_pidfile_get_owner - the process holding a pid file's lock
 * @pid: on success, its pid (as seen in the caller's pid namespace)
 *
 * The answer holds at the time of the call; to signal the owner, use
 * vtpm_pidfile_stop(), which cannot reach another process.
 *
 * Returns: 0; -ENOENT if there is no such file; -ESRCH if no process holds
 * it (a stale file, or one from a writer that does not lock); a negative
 * errno from open() or fcntl().
 */
int vtpm_pidfile_get_owner(struct vtpm_ctx *ctx, const char *path, pid_t *pid);

/**
 * vtpm_pidfile_stop - stop the process holding a pid file and wait for it
 * @timeout_ms: how long to wait for it to exit after SIGTERM
 *
 * Sends SIGTERM to the process holding @path's lock through a pidfd
 * checked against the lock, so the signal cannot reach another process
 * that reused the pid (without pidfd_open(), before Linux 5.3, the lock is
 * checked right before kill()), and waits until it has let go of the lock,
 * which the kernel does as it exits.  Removes a stale @path that no
 * process holds.
 *
 * Returns: 0 when no process holds @path any more (also if none did or
 * the file does not exist); -ETIMEDOUT if the owner still runs after
 * @timeout_ms; a negative errno from vtpm_pidfile_get_owner() or from
 * sending the signal.
 */
int vtpm_pidfile_stop(struct vtpm_ctx *ctx, const char *path, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif

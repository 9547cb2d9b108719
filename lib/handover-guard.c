/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The warden: once a device is handed to a container, a child serves it
 * with no privilege, while the parent keeps the privileges that taking the
 * device back needs.  The parent only waits: it reads no byte a container
 * wrote, forwards the stop signals and, when the child is gone however it
 * went (SIGKILL and seccomp kills included), revokes the hand-over.
 *
 * It waits with sigwaitinfo(2) on signals blocked before the fork, not
 * with handlers: the library installs none and keeps no global state, and
 * no signal can arrive between the fork and the wait unseen.  SIGCHLD must
 * not be ignored meanwhile, or the kernel reaps the child itself and its
 * status is lost (wait(2), "NOTES").
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "handover-internal.h"

/* Sent on to the serving child. */
static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* The caller's signal set-up, given back on both sides of the fork. */
struct saved_signals {
	sigset_t mask;
	struct sigaction chld;
};

static void block_signals(sigset_t *set, struct saved_signals *saved)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };

	sigemptyset(set);
	for (size_t i = 0; i < ARRAY_SIZE(forwarded_signals); i++)
		sigaddset(set, forwarded_signals[i]);
	sigaddset(set, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, set, &saved->mask);
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &saved->chld);
}

static void restore_signals(const struct saved_signals *saved)
{
	sigaction(SIGCHLD, &saved->chld, NULL);
	pthread_sigmask(SIG_SETMASK, &saved->mask, NULL);
}

/* Until @child is gone: forward the stop signals, then reap it. */
static int wait_child(struct vtpm_ctx *ctx, pid_t child, const sigset_t *set)
{
	siginfo_t si;
	int status;
	pid_t r;

	for (;;) {
		if (sigwaitinfo(set, &si) < 0)
			continue; /* EINTR: a signal outside @set with a handler */
		if (si.si_signo != SIGCHLD) {
			dbg(ctx, "forwarding signal %d to the serving process %ld", si.si_signo,
			    (long)child);
			kill(child, si.si_signo);
			continue;
		}
		/* Any child of the caller's may have sent it: ask for ours. */
		r = waitpid(child, &status, WNOHANG);
		if (r == child)
			return status;
		if (r < 0 && errno != EINTR) {
			/* Cannot happen with SIGCHLD at SIG_DFL; never spin. */
			err(ctx, "cannot wait for the serving process %ld: %s", (long)child,
			    strerror(errno));
			return W_EXITCODE(1, 0);
		}
	}
}

VTPM_EXPORT int vtpm_handover_guard(struct vtpm_handover *h, const struct vtpm_guard_options *opts,
				    int *child_status)
{
	struct saved_signals saved;
	sigset_t set;
	pid_t parent = getpid(), child;
	int r;

	if (!h || h->disowned || !child_status)
		return -EINVAL;
	if (opts && opts->size < offsetof(struct vtpm_guard_options, n_close_fds) +
				 sizeof(opts->n_close_fds))
		return -EINVAL;
	r = vtpm_count_threads();
	if (r < 0)
		return r;
	if (r > 1)
		return -EBUSY;

	block_signals(&set, &saved);
	fflush(NULL);
	child = fork();
	if (child < 0) {
		r = -errno;
		restore_signals(&saved);
		return r;
	}
	if (child == 0) {
		/* A warden killed outright cannot take the device back: stop serving. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != parent)
			raise(SIGTERM);
		vtpm_handover_disown(h);
		restore_signals(&saved);
		return 0;
	}

	/* The warden keeps no channel to the device or the TPM. */
	for (size_t i = 0; opts && opts->close_fds && i < opts->n_close_fds; i++)
		if (opts->close_fds[i] >= 0)
			close(opts->close_fds[i]);
	info(h->ctx, "serving process %ld started; this process takes the device back",
	     (long)child);
	*child_status = wait_child(h->ctx, child, &set);
	if (WIFSIGNALED(*child_status))
		info(h->ctx, "the serving process %ld was killed by signal %d", (long)child,
		     WTERMSIG(*child_status));
	vtpm_handover_revoke(h);
	restore_signals(&saved);
	return child;
}

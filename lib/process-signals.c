/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A serving process starts from the default signal setup: the blocked mask
 * and ignored dispositions survive fork() and execve() (signal(7)), and a
 * container runtime may run its hooks with signals blocked.  A server that
 * inherited SIGTERM blocked is never stopped cleanly; its caller waits,
 * then kills it, and the TPM's volatile state is lost.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "vtpm-internal.h"

VTPM_EXPORT int vtpm_process_reset_signals(struct vtpm_ctx *ctx)
{
	sigset_t none;
	int r;

	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		/* The C library refuses the signals it reserves (EINVAL): skip them. */
		if (sig == SIGKILL || sig == SIGSTOP || sigaction(sig, NULL, &sa) < 0)
			continue;
		if ((sa.sa_flags & SA_SIGINFO) || sa.sa_handler != SIG_IGN)
			continue; /* the default, or the caller's own handler */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigemptyset(&sa.sa_mask);
		if (sigaction(sig, &sa, NULL) < 0) {
			r = -errno;
			err(ctx, "cannot restore the default action of signal %d: %s", sig,
			    strerror(-r));
			return r;
		}
	}
	sigemptyset(&none);
	r = pthread_sigmask(SIG_SETMASK, &none, NULL);
	if (r) {
		err(ctx, "cannot unblock signals: %s", strerror(r));
		return -r;
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The privileged warden of "vtpmctl create": once a device is handed to a
 * container, a child serves it with no capability and behind the system
 * call filter, while this minimal parent keeps the privileges that taking
 * the device back needs.  It only waits: it reads no byte a container
 * wrote, forwards SIGTERM/SIGINT/SIGHUP to the child and, when the child is
 * gone however it went (SIGKILL and seccomp kills included), revokes the
 * cgroup access and removes the nodes.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file-util.h"
#include "vtpmctl.h"

/* The serving child the forwarding handler signals; set once, in the warden. */
static volatile sig_atomic_t served_by;

static void forward_signal(int sig)
{
	if (served_by > 0)
		kill((pid_t)served_by, sig);
}

static const int forwarded_signals[] = { SIGTERM, SIGINT, SIGHUP };

/* Wait for @child; its exit code, EXIT_FAIL if a signal ended it. */
static int wait_child(pid_t child)
{
	int status;

	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			log_error("cannot wait for the serving process %ld: %s", (long)child,
				  strerror(errno));
			return EXIT_FAIL;
		}
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_error("the serving process %ld was killed by signal %d (%s); taking the "
		  "device back from the container", (long)child, WTERMSIG(status),
		  strsignal(WTERMSIG(status)));
	return EXIT_FAIL;
}

int warden_split(struct container_state *container, int device_fd,
		 const struct warden_cleanup *cleanup)
{
	struct sigaction sa = { .sa_handler = forward_signal };
	sigset_t block, saved;
	pid_t parent = getpid(), child;
	int ret;

	/* Held until each side has its own handlers: nothing is lost. */
	sigemptyset(&block);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaddset(&block, forwarded_signals[i]);
	sigprocmask(SIG_BLOCK, &block, &saved);

	fflush(NULL);
	child = fork();
	if (child < 0) {
		ret = -errno;
		sigprocmask(SIG_SETMASK, &saved, NULL);
		log_error("cannot start the serving process: %s", strerror(-ret));
		return ret;
	}
	if (child == 0) {
		/* A warden killed outright cannot clean up: stop serving, save. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 || getppid() != parent)
			raise(SIGTERM);
		/* Taking the device back is the warden's job, not the child's. */
		container->opts.no_revoke = true;
		sigprocmask(SIG_SETMASK, &saved, NULL);
		return 0;
	}

	/* The warden: keep no channel to the device or the TPM open. */
	if (device_fd >= 0)
		close(device_fd);
	served_by = child;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(forwarded_signals) / sizeof(forwarded_signals[0]); i++)
		sigaction(forwarded_signals[i], &sa, NULL);
	sigprocmask(SIG_SETMASK, &saved, NULL);

	ret = wait_child(child);
	container_detach(container);
	if (cleanup->temp_state_dir)
		vtpm_remove_flat_dir(cleanup->temp_state_dir);
	if (cleanup->pidfile && ret == EXIT_OK)
		unlink(cleanup->pidfile);
	fflush(NULL);
	/* The TPM objects belong to the child: free nothing, save nothing. */
	_exit(ret);
}

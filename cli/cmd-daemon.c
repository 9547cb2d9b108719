/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl daemon: the instance manager (the supervisor of named vTPMs) in
 * the foreground.  Its clients are in cmd-instance.c and cmd-create-named.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <syslog.h>
#include <unistd.h>

#include "vtpmctl.h"

/* The manager the signal handlers stop; only set while it runs. */
static struct vtpm_manager *running_manager;
/* SIGHUP: hand the instances over to a fresh image of vtpmctl. */
static volatile sig_atomic_t reexec_requested;
/* Any of the signals, also before there was a manager to stop. */
static volatile sig_atomic_t stop_signalled;

static void on_stop_signal(int sig)
{
	if (sig == SIGHUP)
		reexec_requested = 1;
	stop_signalled = 1;
	if (running_manager)
		vtpm_manager_stop(running_manager);
}

/* ------------------------------------------------------------ daemon */

static void daemon_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl daemon [OPTIONS]\n\n"
		"Run the instance manager in the foreground: it creates, restarts and\n"
		"destroys named vTPMs, one process each, on request through its socket\n"
		"(see 'vtpmctl create --name', 'list', 'status', 'destroy', 'restart').\n"
		"SIGTERM or SIGINT stops every instance cleanly (state saved) and exits;\n"
		"SIGHUP re-executes vtpmctl (after an upgrade, say), which takes the\n"
		"instances over as they run.\n\n"
		"Options:\n"
		"  --run-dir DIR          runtime directories and the socket (default %s)\n"
		"  --state-dir DIR        default state directories DIR/NAME (default %s)\n"
		"  --restart-burst N      deaths tolerated within the interval (default 5)\n"
		"  --restart-interval S   the interval in seconds (default 60)\n"
		"  --user USER[:GROUP]    instances serve as USER (name or number; never\n"
		"                         root); default tss if it exists, else nobody\n"
		"  --no-sandbox           instances keep capabilities, no seccomp (debugging)\n"
		"  --no-spares            keep no pre-started TPMs for new instances\n"
		"  -v, --verbose          log debugging details too\n"
		"  -h, --help             show this help\n",
		VTPM_MANAGER_RUN_DIR, VTPM_MANAGER_STATE_DIR);
}

/*
 * Instances are forked from this process and share its pages: resolve every
 * symbol now (LD_BIND_NOW), so no instance dirties a relocation page of its
 * own.  Re-executes once; returns only when already bound (or on failure).
 */
static void bind_now(char *argv0_saved[])
{
	if (getenv("LD_BIND_NOW"))
		return;
	if (setenv("LD_BIND_NOW", "1", 1) < 0)
		return;
	execv("/proc/self/exe", argv0_saved);
	/* Not fatal: instances only share a little less. */
	unsetenv("LD_BIND_NOW");
}

/*
 * The supervisor holds a pidfd and a pipe per instance, so the usual soft
 * limit of 1024 descriptors would stop it near 500 instances.  It never
 * uses select(2), so the soft limit may go up to the hard one, as the
 * systemd unit's LimitNOFILE does.
 */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int cmd_daemon(int argc, char *argv[])
{
	enum { OPT_RUN_DIR = 256, OPT_STATE_DIR, OPT_BURST, OPT_INTERVAL, OPT_NO_SANDBOX,
	       OPT_NO_SPARES, OPT_USER };
	static const struct option options[] = {
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "restart-burst", required_argument, NULL, OPT_BURST },
		{ "restart-interval", required_argument, NULL, OPT_INTERVAL },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "no-spares", no_argument, NULL, OPT_NO_SPARES },
		{ "user", required_argument, NULL, OPT_USER },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct vtpm_manager_options mo = { .size = sizeof(mo) };
	struct sigaction sa = { .sa_handler = on_stop_signal };
	struct vtpm_manager *mgr = NULL;
	struct vtpm_ctx *ctx = NULL;
	char *exe = NULL;
	unsigned long n;
	bool verbose = false;
	char **saved_argv;
	int c, r, ret = EXIT_FAIL;

	/* getopt permutes argv: keep the original order for the re-exec. */
	saved_argv = calloc((size_t)argc + 2, sizeof(*saved_argv));
	if (!saved_argv)
		return EXIT_FAIL;
	saved_argv[0] = (char *)"vtpmctl";
	for (int i = 0; i < argc; i++)
		saved_argv[i + 1] = argv[i];
	saved_argv[1] = (char *)"daemon";

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_RUN_DIR:
			mo.run_dir = optarg;
			break;
		case OPT_STATE_DIR:
			mo.state_dir = optarg;
			break;
		case OPT_BURST:
			if (!parse_uint(optarg, 1, 64, &n)) {
				log_error("--restart-burst: '%s' is not a number from 1 to 64", optarg);
				goto usage;
			}
			mo.restart_burst = (unsigned int)n;
			break;
		case OPT_INTERVAL:
			if (!parse_uint(optarg, 1, 86400, &n)) {
				log_error("--restart-interval: '%s' is not a number of seconds from 1 to 86400",
					  optarg);
				goto usage;
			}
			mo.restart_interval_ms = (unsigned int)n * 1000;
			break;
		case OPT_NO_SANDBOX:
			mo.flags |= VTPM_MANAGER_NO_SANDBOX;
			break;
		case OPT_NO_SPARES:
			mo.flags |= VTPM_MANAGER_NO_SPARES;
			break;
		case OPT_USER:
			if (parse_identity("--user", optarg, &mo.uid, &mo.gid) < 0)
				goto usage;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			daemon_usage(stdout);
			free(saved_argv);
			return EXIT_OK;
		default:
			daemon_usage(stderr);
			goto usage;
		}
	}
	if (optind < argc) {
		log_error("daemon: unexpected argument '%s'", argv[optind]);
		goto usage;
	}
	if (mo.uid && mo.flags & VTPM_MANAGER_NO_SANDBOX) {
		log_error("daemon: --user needs the sandbox: drop --no-sandbox");
		goto usage;
	}
	if (geteuid() != 0) {
		log_error("daemon: creating vTPMs needs root (CAP_SYS_ADMIN for /dev/vtpmx)");
		free(saved_argv);
		return EXIT_FAIL;
	}
	bind_now(saved_argv);
	/* The installed binary, for SIGHUP: once the package is upgraded,
	 * /proc/self/exe would still be the old one. */
	exe = realpath("/proc/self/exe", NULL);

	raise_fd_limit();

	r = vtpm_ctx_new(&ctx);
	if (r < 0) {
		log_error("cannot create a library context: %s", strerror(-r));
		goto out;
	}
	/* The supervisor's log is its instances' life: deaths, restarts. */
	if (!secure_getenv("VTPM_LOG"))
		vtpm_ctx_set_log_priority(ctx, verbose ? LOG_DEBUG : LOG_INFO);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A mask or ignored signals from whoever started us would keep stop
	 * and reload requests out. */
	r = vtpm_process_reset_signals(ctx);
	if (r < 0) {
		log_error("cannot reset the signal mask: %s", strerror(-r));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	for (;;) {
		r = vtpm_manager_new(ctx, &mo, &mgr);
		if (r < 0) {
			log_error("cannot start the manager: %s", strerror(-r));
			goto out;
		}
		/* Takes over what an earlier daemon (or image) left running. */
		r = vtpm_manager_listen(mgr, NULL);
		if (r < 0) {
			log_error("cannot listen on %s/%s: %s", mo.run_dir ?: VTPM_MANAGER_RUN_DIR,
				  VTPM_MANAGER_SOCKET,
				  r == -EADDRINUSE ? "another vtpmctl daemon runs there" : strerror(-r));
			goto out;
		}
		running_manager = mgr;
		if (stop_signalled)
			vtpm_manager_stop(mgr);
		r = vtpm_manager_run(mgr);
		running_manager = NULL;
		if (r < 0 || !reexec_requested)
			break;
		/* The instances stay our children across execv(). */
		vtpm_manager_release(mgr);
		mgr = vtpm_manager_unref(mgr);
		execv(exe ?: "/proc/self/exe", saved_argv);
		log_error("cannot re-execute %s: %s; taking the instances over again",
			  exe ?: "/proc/self/exe", strerror(errno));
		reexec_requested = stop_signalled = 0;
	}
	if (r < 0)
		log_error("the manager failed: %s", strerror(-r));
	else
		ret = EXIT_OK;
	r = vtpm_manager_shutdown(mgr);
	if (r < 0)
		log_error("stopping the instances: %s", strerror(-r));
out:
	vtpm_manager_unref(mgr);
	vtpm_ctx_unref(ctx);
	free(saved_argv);
	free(exe);
	return ret;
usage:
	free(saved_argv);
	return EXIT_USAGE;
}

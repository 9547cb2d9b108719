/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl stop: stop the server that holds a pid file ('create --pidfile')
 * and remove the file.  A confined server cannot remove it itself: its
 * identity and Landlock keep it out of the file's directory.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vtpmctl.h"

#define STOP_DEFAULT_TIMEOUT_S 30

static void stop_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl stop [OPTIONS] PIDFILE\n\n"
		"Stop the vTPM server holding PIDFILE (written by 'vtpmctl create\n"
		"--pidfile'): SIGTERM to that process only, never to another that reused\n"
		"its pid; wait until it has saved its state and exited, then remove PIDFILE.\n"
		"A file no process holds any more is removed at once.\n\n"
		"Options:\n"
		"  --timeout SECONDS   wait at most this long for the exit (default %d)\n"
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n", STOP_DEFAULT_TIMEOUT_S);
}

int cmd_stop(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 256 },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	unsigned long timeout_s = STOP_DEFAULT_TIMEOUT_S;
	struct vtpm_ctx *ctx = NULL;
	bool verbose = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case 256:
			if (!parse_uint(optarg, 1, 3600, &timeout_s)) {
				log_error("--timeout: '%s' is not a number of seconds from 1 to 3600",
					  optarg);
				return EXIT_USAGE;
			}
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			stop_usage(stdout);
			return EXIT_OK;
		default:
			stop_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1 || !argv[optind][0]) {
		log_error("stop needs one PIDFILE");
		return EXIT_USAGE;
	}
	if (new_quiet_ctx(verbose, &ctx) < 0)
		return EXIT_FAIL;
	r = vtpm_pidfile_stop(ctx, argv[optind], (int)timeout_s * 1000);
	if (r == -ETIMEDOUT)
		log_error("the server of %s still runs after %lu s", argv[optind], timeout_s);
	else if (r < 0)
		log_error("cannot stop the server of %s: %s", argv[optind], strerror(-r));
	vtpm_ctx_unref(ctx);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

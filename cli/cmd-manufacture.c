/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl manufacture: manufacture a stopped TPM's state directory, as
 * swtpm_setup does, without creating a device.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vtpmctl.h"

static void manufacture_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl manufacture --state-dir DIR [OPTIONS]\n\n"
		"Manufacture the TPM 2 whose state is in DIR (created if new) without\n"
		"serving it, as swtpm_setup does: 'vtpmctl create' or swtpm can serve it\n"
		"afterwards.  What the TPM has already is kept.\n\n"
		"Options:\n"
		"  --state-dir DIR     the TPM's state directory (swtpm's layout)\n"
		"  --key OPTIONS       its state is encrypted at rest (as 'create --key'):\n"
		"                      existing state opens with it, new state is written\n"
		"                      with it\n"
		MANUFACTURE_USAGE
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n");
}

int cmd_manufacture(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "state-dir", required_argument, NULL, 256 },
		{ "key", required_argument, NULL, 257 },
		MANUFACTURE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct manufacture_opts m = {};
	struct vtpm_backend *backend = NULL;
	struct vtpm_ctx *ctx = NULL;
	const char *dir = NULL, *key = NULL;
	bool verbose = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case 256:
			dir = optarg;
			break;
		case 257:
			key = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			manufacture_usage(stdout);
			return EXIT_OK;
		default:
			r = manufacture_parse_opt(c, optarg, &m);
			if (r == -ENOENT)
				manufacture_usage(stderr);
			if (r < 0)
				return EXIT_USAGE;
		}
	}
	if (optind < argc || !dir || !*dir) {
		if (optind < argc)
			log_error("manufacture: unexpected argument '%s'", argv[optind]);
		else
			log_error("manufacture needs --state-dir DIR");
		return EXIT_USAGE;
	}
	if (!m.wanted) {
		log_error("manufacture: nothing to do; add --create-ek-cert, --create-ek or --pcr-banks");
		return EXIT_USAGE;
	}
	if (manufacture_check_opts(&m, VTPM_VERSION_2) < 0)
		return EXIT_USAGE;

	if (new_quiet_ctx(verbose, &ctx) < 0)
		return EXIT_FAIL;
	/* A new TPM's directory, as 'vtpmctl create' would make it. */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create the state directory %s: %s", dir, strerror(errno));
		vtpm_ctx_unref(ctx);
		return EXIT_FAIL;
	}
	r = open_state_dir(ctx, dir, key, 0, &backend);
	if (r != EXIT_OK) {
		vtpm_ctx_unref(ctx);
		return r;
	}
	r = manufacture_run(backend, &m, dir);
	if (r == 0) {
		r = vtpm_backend_shutdown(backend);
		if (r < 0)
			log_error("saving the TPM state failed: %s", strerror(-r));
	}
	vtpm_backend_unref(backend);
	vtpm_ctx_unref(ctx);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

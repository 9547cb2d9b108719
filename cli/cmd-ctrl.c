/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl ctrl: send one control command to a running vTPM (or swtpm). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vtpmctl.h"

/* swtpm's SWTPM_INFO_TPMSPECIFICATION | SWTPM_INFO_TPMATTRIBUTES (tpm_ioctl.h). */
#define INFO_FLAGS_DEFAULT 3

static void ctrl_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl ctrl [OPTIONS] SOCKET COMMAND\n\n"
		"Send a command to the control channel at SOCKET (a path, unix:PATH or\n"
		"unauthenticated-tcp:HOST:PORT) of a vTPM made with 'vtpmctl create --ctrl',\n"
		"or of swtpm.\n\n"
		"Commands:\n"
		"  init            power the TPM on, or power-cycle it (volatile state lost)\n"
		"  reset           the same as init\n"
		"  stop            power the TPM off; its commands fail until init\n"
		"  shutdown        power off and end the serving process\n"
		"  info            describe the TPM implementation (JSON)\n"
		"  locality N      use locality N (0-4) for the following commands\n\n"
		"Options:\n"
		"  --timeout SEC   wait at most SEC seconds for the answer (default 10)\n"
		"  -h, --help      show this help\n");
}

static void explain(const char *what, struct vtpm_ctrl_client *client, int r)
{
	if (r == -EIO)
		log_error("%s: the TPM refused it (result 0x%x)", what,
			  vtpm_ctrl_client_get_result(client));
	else if (r == -ENOENT || r == -ECONNREFUSED)
		log_error("%s: nobody serves that control socket: is the vTPM running?", what);
	else if (r == -EPERM)
		log_error("%s: the process serving that socket runs as another user, in a "
			  "directory others may write to: refusing to talk to it", what);
	else
		log_error("%s: %s", what, strerror(-r));
}

int cmd_ctrl(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct vtpm_ctrl_client *client = NULL;
	struct vtpm_ctx *ctx = NULL;
	unsigned long timeout_s = 10, locality = 0;
	const char *sock, *cmd;
	char *info = NULL;
	int c, r, ret = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!parse_uint(optarg, 1, 3600, &timeout_s)) {
				log_error("--timeout: '%s' is not a number of seconds from 1 to 3600", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			ctrl_usage(stdout);
			return EXIT_OK;
		default:
			ctrl_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2) {
		log_error("ctrl: need a SOCKET and a COMMAND");
		ctrl_usage(stderr);
		return EXIT_USAGE;
	}
	sock = argv[optind];
	cmd = argv[optind + 1];
	if (strcmp(cmd, "locality") == 0) {
		if (argc - optind != 3 || !parse_uint(argv[optind + 2], 0, 4, &locality)) {
			log_error("ctrl: locality needs a number from 0 to 4");
			return EXIT_USAGE;
		}
	} else if (argc - optind != 2) {
		log_error("ctrl: unexpected argument '%s'", argv[optind + 2]);
		return EXIT_USAGE;
	} else if (strcmp(cmd, "init") && strcmp(cmd, "reset") && strcmp(cmd, "stop") &&
		   strcmp(cmd, "shutdown") && strcmp(cmd, "info")) {
		log_error("ctrl: unknown command '%s'", cmd);
		ctrl_usage(stderr);
		return EXIT_USAGE;
	}

	if (new_quiet_ctx(false, &ctx) < 0)
		return EXIT_FAIL;
	r = vtpm_ctrl_client_new(ctx, sock, (int)timeout_s * 1000, &client);
	if (r < 0) {
		explain_address_error("control socket", sock, r);
		vtpm_ctx_unref(ctx);
		return EXIT_USAGE;
	}

	if (strcmp(cmd, "init") == 0 || strcmp(cmd, "reset") == 0)
		r = vtpm_ctrl_client_init(client, VTPM_CTRL_INIT_DELETE_VOLATILE);
	else if (strcmp(cmd, "stop") == 0)
		r = vtpm_ctrl_client_stop(client);
	else if (strcmp(cmd, "shutdown") == 0)
		r = vtpm_ctrl_client_shutdown(client);
	else if (strcmp(cmd, "locality") == 0)
		r = vtpm_ctrl_client_set_locality(client, (uint8_t)locality);
	else {
		r = vtpm_ctrl_client_get_info(client, INFO_FLAGS_DEFAULT, &info);
		if (r == 0)
			puts(info);
		free(info);
	}
	if (r < 0)
		explain(cmd, client, r);
	else
		ret = EXIT_OK;
	vtpm_ctrl_client_unref(client);
	vtpm_ctx_unref(ctx);
	return ret;
}

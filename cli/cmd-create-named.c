/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl create --name NAME: have the instance manager create a vTPM. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtpmctl.h"

static void create_named_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl create --name NAME [OPTIONS]\n\n"
		"Have the vtpmctl daemon create instance NAME and print it once its device\n"
		"is ready.  The daemon keeps it running, restarts it if it dies, and\n"
		"removes it on 'vtpmctl destroy NAME'.\n\n"
		"Options:\n"
		"  --tpm2 | --tpm12   the TPM family (default TPM 2)\n"
		"  --state-dir DIR    the state directory (default: the daemon's state\n"
		"                     directory /NAME)\n"
		"  --resume           restore the volatile state of the last clean stop\n"
		"  --socket PATH      no device: serve a virtual machine's TPM on the Unix\n"
		"                     socket PATH (QEMU's tpm-emulator), as 'create --socket'\n"
		"  --run-dir DIR      the daemon's run directory (default " VTPM_MANAGER_RUN_DIR ")\n"
		"  --json             print JSON\n"
		"  -h, --help         show this help\n");
}

int cmd_create_named(int argc, char *argv[])
{
	enum { OPT_NAME = 256, OPT_TPM2, OPT_TPM12, OPT_STATE_DIR, OPT_RESUME, OPT_RUN_DIR, OPT_JSON,
	       OPT_SOCKET };
	static const struct option options[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "tpm2", no_argument, NULL, OPT_TPM2 },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct client_opts o = {};
	struct json_object *req, *answer;
	const char *name = NULL, *version = NULL, *state_dir = NULL, *socket = NULL;
	bool resume = false;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_TPM2:
		case OPT_TPM12: {
			const char *v = c == OPT_TPM2 ? "2.0" : "1.2";

			if (version && strcmp(version, v) != 0) {
				log_error("--tpm2 and --tpm12 exclude each other");
				return EXIT_USAGE;
			}
			version = v;
			break;
		}
		case OPT_STATE_DIR:
			if (optarg[0] != '/') {
				log_error("--state-dir: the daemon needs an absolute path");
				return EXIT_USAGE;
			}
			state_dir = optarg;
			break;
		case OPT_RESUME:
			resume = true;
			break;
		case OPT_SOCKET:
			if (optarg[0] != '/') {
				log_error("--socket: the daemon needs an absolute path");
				return EXIT_USAGE;
			}
			socket = optarg;
			break;
		case OPT_RUN_DIR:
			o.run_dir = optarg;
			break;
		case OPT_JSON:
			o.json = true;
			break;
		case 'h':
			create_named_usage(stdout);
			return EXIT_OK;
		default:
			log_error("with --name, create takes only the options below");
			create_named_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || !name) {
		log_error(name ? "create: unexpected argument" : "create: --name is missing");
		return EXIT_USAGE;
	}
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string("create"));
	json_object_object_add(req, "name", json_object_new_string(name));
	if (version)
		json_object_object_add(req, "version", json_object_new_string(version));
	if (state_dir)
		json_object_object_add(req, "state_dir", json_object_new_string(state_dir));
	if (resume)
		json_object_object_add(req, "resume", json_object_new_boolean(1));
	if (socket)
		json_object_object_add(req, "socket", json_object_new_string(socket));
	r = instance_call(&o, req, &answer);
	if (r != EXIT_OK)
		return r;
	instance_print(&o, answer, "instance");
	json_object_put(answer);
	return EXIT_OK;
}

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
		"  --key OPTIONS      the state is encrypted at rest, as 'create --key': read\n"
		"                     here (file=, fd=, pwdfile=, ...) and handed to the daemon\n"
		"                     as a descriptor; it keeps the key for the instance's\n"
		"                     restarts, and never shows it\n"
		"  --run-dir DIR      the daemon's run directory (default " VTPM_MANAGER_RUN_DIR ")\n"
		"  --json             print JSON\n"
		"  -h, --help         show this help\n"
		MANUFACTURE_USAGE
		"The daemon reads the CA files (absolute paths) when the instance first starts.\n");
}

struct named_options {
	const char *name;
	const char *key;
	struct vtpm_instance_options io;
	struct manufacture_opts manufacture;
	struct client_opts client;
};

/* An absolute path for the daemon, which does not share our directory. */
static bool absolute(const char *option, const char *path)
{
	if (path && path[0] != '/') {
		log_error("%s: the daemon needs an absolute path", option);
		return false;
	}
	return true;
}

static int parse_named(int argc, char *argv[], struct named_options *o)
{
	enum { OPT_NAME = 256, OPT_TPM2, OPT_TPM12, OPT_STATE_DIR, OPT_RESUME, OPT_RUN_DIR, OPT_JSON,
	       OPT_SOCKET, OPT_KEY };
	static const struct option options[] = {
		{ "name", required_argument, NULL, OPT_NAME },
		{ "tpm2", no_argument, NULL, OPT_TPM2 },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		MANUFACTURE_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct vtpm_instance_options *io = &o->io;
	const struct vtpm_manufacture_options *m = &o->manufacture.lib;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_NAME:
			o->name = optarg;
			break;
		case OPT_TPM2:
		case OPT_TPM12: {
			enum vtpm_version v = c == OPT_TPM2 ? VTPM_VERSION_2 : VTPM_VERSION_1_2;

			if (io->version && io->version != v) {
				log_error("--tpm2 and --tpm12 exclude each other");
				return -EINVAL;
			}
			io->version = v;
			break;
		}
		case OPT_STATE_DIR:
			if (!absolute("--state-dir", optarg))
				return -EINVAL;
			io->state_dir = optarg;
			break;
		case OPT_RESUME:
			io->backend_flags |= VTPM_LIBTPMS_RESUME;
			break;
		case OPT_SOCKET:
			if (!absolute("--socket", optarg))
				return -EINVAL;
			io->socket = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_RUN_DIR:
			o->client.run_dir = optarg;
			break;
		case OPT_JSON:
			o->client.json = true;
			break;
		case 'h':
			create_named_usage(stdout);
			return 1;
		default:
			r = manufacture_parse_opt(c, optarg, &o->manufacture);
			if (r == 0)
				break;
			if (r == -ENOENT) {
				log_error("with --name, create takes only the options below");
				create_named_usage(stderr);
			}
			return -EINVAL;
		}
	}
	if (optind < argc || !o->name) {
		log_error(o->name ? "create: unexpected argument" : "create: --name is missing");
		return -EINVAL;
	}
	if (manufacture_check_opts(&o->manufacture, io->version ?: VTPM_VERSION_2) < 0 ||
	    !absolute("--ca-dir", m->ca_dir) || !absolute("--ca-key", m->ca_key) ||
	    !absolute("--ca-cert", m->ca_cert))
		return -EINVAL;
	if (o->manufacture.wanted)
		io->manufacture = m;
	return 0;
}

/* Why the daemon did not create it, in one line. */
static void explain_create_error(const struct named_options *o, struct vtpm_manager_client *client,
				 const char *socket, int r)
{
	const char *msg = vtpm_manager_client_get_message(client);

	if (r == -ECONNREFUSED)
		log_error("no vtpmctl daemon listens at %s: start it (systemctl start vtpmd)", socket);
	else if (r == -ENOKEY)
		log_error("the state of %s is encrypted: give its key with --key", o->name);
	else if (r == -EKEYREJECTED)
		log_error("the key given with --key does not open the state of %s", o->name);
	else if (msg[0])
		log_error("%s", msg);
	else
		log_error("talking to the vtpmctl daemon at %s: %s", socket, strerror(-r));
}

int cmd_create_named(int argc, char *argv[])
{
	struct named_options o = { .io = { .size = sizeof(o.io) } };
	struct vtpm_manager_client_options co = { .size = sizeof(co) };
	struct vtpm_manager_client *client = NULL;
	struct vtpm_instance_info *info = NULL;
	struct vtpm_ctx *ctx = NULL;
	struct json_object *answer;
	char socket[PATH_MAX];
	int ret, r;

	r = parse_named(argc, argv, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	snprintf(socket, sizeof(socket), "%s/%s", o.client.run_dir ?: VTPM_MANAGER_RUN_DIR,
		 VTPM_MANAGER_SOCKET);
	if (new_quiet_ctx(false, &ctx) < 0)
		return EXIT_FAIL;
	/* Read here, where the user's file or descriptor is. */
	ret = load_state_key(ctx, o.key, &o.io.key);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;
	co.socket_path = socket;
	r = vtpm_manager_client_new(ctx, &co, &client);
	if (r < 0) {
		log_error("--run-dir: %s is no usable socket path", socket);
		goto out;
	}
	r = vtpm_manager_client_create(client, o.name, &o.io, &info);
	if (r < 0) {
		explain_create_error(&o, client, socket, r);
		goto out;
	}
	answer = json_object_new_object();
	json_object_object_add(answer, "instance", instance_info_to_json(info));
	instance_print(&o.client, answer, "instance");
	json_object_put(answer);
	ret = EXIT_OK;
out:
	vtpm_instance_info_unref(info);
	vtpm_manager_client_unref(client);
	vtpm_state_key_unref(o.io.key);
	vtpm_ctx_unref(ctx);
	return ret;
}

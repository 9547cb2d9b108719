/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Clients of the instance manager: "vtpmctl list", "status", "destroy" and
 * "restart" (the request protocol is in <vtpm/manager.h>).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "vtpmctl.h"

static void print_instance(struct json_object *inst, FILE *f)
{
	struct json_object *v, *node;

	json_object_object_get_ex(inst, "name", &v);
	fprintf(f, "%s\n", json_object_get_string(v));
	static const char *const keys[] = { "status", "pid", "version", "state_dir",
					    "runtime_dir", "socket", "ctrl", "restarts" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (json_object_object_get_ex(inst, keys[i], &v))
			fprintf(f, "  %-14s %s\n", keys[i], json_object_get_string(v));
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "tpmrm" : "tpm";

		if (!json_object_object_get_ex(inst, key, &node) || !node)
			continue;
		json_object_object_get_ex(node, "path", &v);
		fprintf(f, "  %-14s %s", key, json_object_get_string(v));
		json_object_object_get_ex(node, "major", &v);
		fprintf(f, " (%s:", json_object_get_string(v));
		json_object_object_get_ex(node, "minor", &v);
		fprintf(f, "%s)\n", json_object_get_string(v));
	}
}

/*
 * Send @request (consumed) and parse the answer into @answer.  Returns an
 * exit code; failures are reported.
 */
int instance_call(const struct client_opts *o, struct json_object *request,
		struct json_object **answer)
{
	struct vtpm_ctx *ctx = NULL;
	char path[PATH_MAX];
	struct json_object *ok, *msg;
	char *response = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/%s", o->run_dir ?: VTPM_MANAGER_RUN_DIR,
		 VTPM_MANAGER_SOCKET);
	r = vtpm_ctx_new(&ctx);
	if (r == 0) {
		quiet_library(ctx, false);
		r = vtpm_manager_request(ctx, path, json_object_to_json_string_ext(request,
					 JSON_C_TO_STRING_PLAIN), 0, &response);
	}
	vtpm_ctx_unref(ctx);
	json_object_put(request);
	if (r < 0) {
		if (r == -ENOENT || r == -ECONNREFUSED)
			log_error("no vtpmctl daemon listens at %s: start it (systemctl start vtpmd)",
				  path);
		else
			log_error("talking to the vtpmctl daemon at %s: %s", path, strerror(-r));
		return EXIT_FAIL;
	}
	*answer = json_tokener_parse(response);
	free(response);
	if (!*answer || !json_object_object_get_ex(*answer, "ok", &ok)) {
		log_error("the vtpmctl daemon sent a malformed answer");
		json_object_put(*answer);
		return EXIT_FAIL;
	}
	if (!json_object_get_boolean(ok)) {
		json_object_object_get_ex(*answer, "message", &msg);
		log_error("%s", msg ? json_object_get_string(msg) : "the request failed");
		json_object_put(*answer);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void instance_info_add_nodes(struct json_object *obj, const struct vtpm_instance_info *info)
{
	static const enum vtpm_node nodes[] = { VTPM_NODE_TPM, VTPM_NODE_TPMRM };
	static const char *const keys[] = { "tpm", "tpmrm" };
	const char *path;
	dev_t devnum;

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct json_object *node = NULL;

		if (vtpm_instance_info_get_node(info, nodes[i], &path, &devnum) == 0) {
			node = json_object_new_object();
			json_object_object_add(node, "path", json_object_new_string(path));
			json_object_object_add(node, "major", json_object_new_int64(major(devnum)));
			json_object_object_add(node, "minor", json_object_new_int64(minor(devnum)));
		}
		json_object_object_add(obj, keys[i], node);
	}
}

struct json_object *instance_info_to_json(const struct vtpm_instance_info *info)
{
	struct json_object *obj = json_object_new_object();
	const char *ctrl = vtpm_instance_info_get_ctrl_address(info);
	const char *rundir = vtpm_instance_info_get_runtime_dir(info);
	size_t n = strlen(rundir);

	json_object_object_add(obj, "name", json_object_new_string(vtpm_instance_info_get_name(info)));
	json_object_object_add(obj, "status", json_object_new_string(
		vtpm_instance_status_to_string(vtpm_instance_info_get_status(info)) ?: "unknown"));
	json_object_object_add(obj, "pid", json_object_new_int64(vtpm_instance_info_get_pid(info)));
	json_object_object_add(obj, "version", json_object_new_string(
		vtpm_instance_info_get_version(info) == VTPM_VERSION_1_2 ? "1.2" : "2.0"));
	json_object_object_add(obj, "state_dir",
			       json_object_new_string(vtpm_instance_info_get_state_dir(info)));
	json_object_object_add(obj, "runtime_dir", json_object_new_string(rundir));
	json_object_object_add(obj, "ctrl", json_object_new_string(ctrl));
	json_object_object_add(obj, "restarts",
			       json_object_new_int64(vtpm_instance_info_get_restarts(info)));
	/* A virtual machine's instance serves its control channel on its own
	 * socket, not in the runtime directory. */
	if (strncmp(ctrl, "unix:", 5) == 0 &&
	    !(strncmp(ctrl + 5, rundir, n) == 0 && ctrl[5 + n] == '/'))
		json_object_object_add(obj, "socket", json_object_new_string(ctrl + 5));
	instance_info_add_nodes(obj, info);
	return obj;
}

void instance_print(const struct client_opts *o, struct json_object *answer, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(answer, key, &v))
		return;
	if (o->json) {
		puts(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PRETTY |
						       JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	if (json_object_is_type(v, json_type_array)) {
		printf("%-20s %-10s %-8s %-14s %s\n", "NAME", "STATUS", "PID", "DEVICE", "RESTARTS");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			struct json_object *inst = json_object_array_get_idx(v, i), *f, *node, *path;

			json_object_object_get_ex(inst, "name", &f);
			printf("%-20s ", json_object_get_string(f));
			json_object_object_get_ex(inst, "status", &f);
			printf("%-10s ", json_object_get_string(f));
			json_object_object_get_ex(inst, "pid", &f);
			printf("%-8s ", json_object_get_string(f));
			path = NULL;
			if (json_object_object_get_ex(inst, "tpm", &node) && node)
				json_object_object_get_ex(node, "path", &path);
			printf("%-14s ", path ? json_object_get_string(path) : "-");
			json_object_object_get_ex(inst, "restarts", &f);
			printf("%s\n", json_object_get_string(f));
		}
		return;
	}
	print_instance(v, stdout);
}

/* Options every client command takes; returns 1 after --help, -1 on error. */
static int parse_client(int argc, char *argv[], struct client_opts *o, void (*usage)(FILE *),
			int n_args)
{
	enum { OPT_RUN_DIR = 256, OPT_JSON };
	static const struct option options[] = {
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_RUN_DIR:
			o->run_dir = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (argc - optind != n_args) {
		if (argc - optind > n_args)
			log_error("unexpected argument '%s'", argv[optind + n_args]);
		else
			log_error("expected an instance name");
		usage(stderr);
		return -1;
	}
	return 0;
}

#define CLIENT_OPTIONS_USAGE							\
	"  --run-dir DIR   the daemon's run directory (default " VTPM_MANAGER_RUN_DIR ")\n" \
	"  --json          print JSON\n"						\
	"  -h, --help      show this help\n"

static void list_usage(FILE *f)
{
	fprintf(f, "Usage: vtpmctl list [OPTIONS]\n\nList the vtpmctl daemon's instances.\n\n"
		   "Options:\n" CLIENT_OPTIONS_USAGE);
}

static void status_usage(FILE *f)
{
	fprintf(f, "Usage: vtpmctl status [OPTIONS] NAME\n\nShow one instance of the vtpmctl daemon.\n\n"
		   "Options:\n" CLIENT_OPTIONS_USAGE);
}

static void destroy_usage(FILE *f)
{
	fprintf(f, "Usage: vtpmctl destroy [OPTIONS] NAME\n\n"
		   "Stop an instance of the vtpmctl daemon cleanly (its state is saved), remove\n"
		   "its device and runtime directory.  The state directory is kept.\n\n"
		   "Options:\n" CLIENT_OPTIONS_USAGE);
}

static void restart_usage(FILE *f)
{
	fprintf(f, "Usage: vtpmctl restart [OPTIONS] NAME\n\n"
		   "Stop an instance cleanly and start it again on its state; also revives an\n"
		   "instance the daemon gave up on (status failed).\n\n"
		   "Options:\n" CLIENT_OPTIONS_USAGE);
}

static int simple_request(int argc, char *argv[], const char *op, void (*usage)(FILE *),
			  bool named, const char *answer_key)
{
	struct client_opts o = {};
	struct json_object *req, *answer;
	int r;

	r = parse_client(argc, argv, &o, usage, named ? 1 : 0);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;
	req = json_object_new_object();
	json_object_object_add(req, "op", json_object_new_string(op));
	if (named)
		json_object_object_add(req, "name", json_object_new_string(argv[optind]));
	r = instance_call(&o, req, &answer);
	if (r != EXIT_OK)
		return r;
	if (answer_key)
		instance_print(&o, answer, answer_key);
	json_object_put(answer);
	return EXIT_OK;
}

int cmd_list(int argc, char *argv[])
{
	return simple_request(argc, argv, "list", list_usage, false, "instances");
}

int cmd_status(int argc, char *argv[])
{
	return simple_request(argc, argv, "status", status_usage, true, "instance");
}

int cmd_destroy(int argc, char *argv[])
{
	return simple_request(argc, argv, "destroy", destroy_usage, true, NULL);
}

int cmd_restart(int argc, char *argv[])
{
	return simple_request(argc, argv, "restart", restart_usage, true, "instance");
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl create: its usage and options. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"
#include "create.h"
#include "vtpmctl.h"

static void create_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl create [OPTIONS]\n\n"
		"Create a vTPM device pair, answer it with an in-process libtpms TPM and\n"
		"serve it until SIGTERM or SIGINT; then save the state and remove it.\n\n"
		"Options:\n"
		"  --name NAME         have the 'vtpmctl daemon' create and supervise it\n"
		"                      instead (see 'vtpmctl create --name X --help')\n"
		"  --tpm2              a TPM 2.0 (default): /dev/tpmN and /dev/tpmrmN\n"
		"  --tpm12             a TPM 1.2: /dev/tpmN\n"
		"  --backend SPEC      what answers the TPM: libtpms (default, in process),\n"
		"                      swtpm:unix:DATA,CTRL or\n"
		"                      swtpm:unauthenticated-tcp:HOST:PORT,PORT\n"
		"                      (a running 'swtpm socket': its --server and --ctrl)\n"
		"  --ctrl ADDR         serve swtpm's control protocol at unix:PATH (mode 0600),\n"
		"                      e.g. for 'vtpmctl ctrl/state'; or, without any\n"
		"                      authentication, unauthenticated-tcp:127.0.0.1:PORT\n"
		"  --socket PATH       no device: serve a virtual machine on the Unix socket\n"
		"                      PATH like 'swtpm socket --ctrl type=unixio,path=PATH'\n"
		"                      (QEMU: -chardev socket,path=PATH -tpmdev emulator)\n"
		"  --state-dir DIR     keep the TPM's state in DIR (swtpm's layout), created\n"
		"                      (mode 0700) if missing; without it the state lives in\n"
		"                      a temporary directory removed at exit\n"
		"  --resume            restore the volatile state saved by the last clean stop\n"
		"  --key OPTIONS       encrypt the state at rest as 'swtpm --key' does:\n"
		"                      file=PATH|fd=N|pwdfile=PATH|pwdfd=N[,mode=aes-256-cbc]\n"
		"                      [,format=binary][,kdf=sha512][,remove=true]\n"
		"  --daemon            return once the device is ready; serve in the background\n"
		"  --pidfile FILE      write the serving process's PID to FILE\n"
		"  --timeout SEC       wait at most SEC seconds for the kernel to register\n"
		"                      the device (default %d)\n"
		"  --json              print the device description as JSON\n"
		"  --user USER[:GROUP] serve as USER (name or number; never root) once the\n"
		"                      device exists; default for root: tss if it exists,\n"
		"                      else nobody\n"
		"  --group GROUP       serve as GROUP (name or number)\n"
		"  --no-sandbox        keep uid and capabilities, confine nothing\n"
		"  --standalone        serve the TPM from this process even when a vtpmctl\n"
		"                      daemon runs (by default one that answers at\n"
		"                      $VTPMCTL_MANAGER_RUN_DIR, else " VTPM_MANAGER_RUN_DIR ", creates\n"
		"                      it from a warm spare, unless --backend, --socket,\n"
		"                      --ctrl, --key, --user, --group, --no-sandbox,\n"
		"                      --serve-cgroup or --daemon with --pidfile ask for\n"
		"                      this process)\n"
		"  --serve-cgroup DIR  serve from cgroup v2 directory DIR, or 'container'\n"
		"                      (the cgroup of --pid): CPU time charged there\n"
		CONTAINER_USAGE
		MANUFACTURE_USAGE
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n",
		DEFAULT_REGISTER_TIMEOUT_S);
}

/*
 * --backend libtpms | swtpm:unix:DATA,CTRL |
 * swtpm:unauthenticated-tcp:HOST:PORT,PORT: the addresses of a running
 * "swtpm socket" (its --server and --ctrl).
 */
static int parse_backend(const char *spec, struct create_options *o)
{
	const char *rest, *comma;
	int n1, n2;

	free(o->swtpm_data);
	free(o->swtpm_ctrl);
	o->swtpm_data = o->swtpm_ctrl = NULL;
	if (strcmp(spec, "libtpms") == 0)
		return 0;
	comma = strchr(spec, ',');
	if (strncmp(spec, "swtpm:", 6) != 0 || !comma || !comma[1] || strchr(comma + 1, ',')) {
		log_error("--backend: '%s' is neither libtpms nor swtpm:unix:DATA,CTRL nor "
			  "swtpm:%sHOST:PORT,PORT", spec, VTPM_UNAUTHENTICATED_TCP);
		return -EINVAL;
	}
	rest = spec + 6;
	if (strncmp(rest, "unix:", 5) == 0) {
		n1 = asprintf(&o->swtpm_data, "%.*s", (int)(comma - rest), rest);
		n2 = asprintf(&o->swtpm_ctrl, "unix:%s", comma + 1);
	} else if (strncmp(rest, "tcp:", 4) == 0) {
		log_error("--backend: swtpm over TCP has no authentication (any local user who "
			  "takes over a port gets the TPM commands): use unix sockets, or write "
			  "swtpm:%s%s to accept that", VTPM_UNAUTHENTICATED_TCP, rest + 4);
		return -EPERM;
	} else if (strncmp(rest, VTPM_UNAUTHENTICATED_TCP, strlen(VTPM_UNAUTHENTICATED_TCP)) == 0) {
		size_t scheme = strlen(VTPM_UNAUTHENTICATED_TCP);
		const char *colon = memrchr(rest, ':', (size_t)(comma - rest));

		if (!colon || colon < rest + scheme) {
			log_error("--backend: swtpm's TCP sockets are %sHOST:PORT,PORT",
				  VTPM_UNAUTHENTICATED_TCP);
			return -EINVAL;
		}
		/* The control port goes with the data channel's host. */
		n1 = asprintf(&o->swtpm_data, "%.*s", (int)(comma - rest), rest);
		n2 = asprintf(&o->swtpm_ctrl, "%.*s:%s", (int)(colon - rest), rest, comma + 1);
	} else {
		log_error("--backend: swtpm's sockets are unix:DATA,CTRL or %sHOST:PORT,PORT",
			  VTPM_UNAUTHENTICATED_TCP);
		return -EINVAL;
	}
	if (n1 < 0 || n2 < 0) {
		o->swtpm_data = o->swtpm_ctrl = NULL;
		return -ENOMEM;
	}
	return 0;
}

int create_parse_options(int argc, char *argv[], struct create_options *o)
{
	enum { OPT_TPM2 = 256, OPT_TPM12, OPT_STATE_DIR, OPT_RESUME, OPT_DAEMON,
	       OPT_PIDFILE, OPT_TIMEOUT, OPT_JSON, OPT_USER, OPT_GROUP, OPT_NO_SANDBOX,
	       OPT_BACKEND, OPT_CTRL, OPT_KEY, OPT_SOCKET, OPT_STANDALONE,
	       OPT_SERVE_CGROUP };
	static const struct option options[] = {
		{ "tpm2", no_argument, NULL, OPT_TPM2 },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "user", required_argument, NULL, OPT_USER },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "ctrl", required_argument, NULL, OPT_CTRL },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "standalone", no_argument, NULL, OPT_STANDALONE },
		{ "serve-cgroup", required_argument, NULL, OPT_SERVE_CGROUP },
		CONTAINER_LONG_OPTIONS,
		MANUFACTURE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_version = false, group_set = false;
	int c, r;

	*o = (struct create_options){ .version = VTPM_VERSION_2,
				      .timeout_s = DEFAULT_REGISTER_TIMEOUT_S,
				      .uid = (uid_t)-1, .gid = (gid_t)-1, .sandbox = true };
	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_TPM2:
		case OPT_TPM12: {
			enum vtpm_version v = c == OPT_TPM2 ? VTPM_VERSION_2 : VTPM_VERSION_1_2;

			if (have_version && v != o->version) {
				log_error("--tpm2 and --tpm12 exclude each other");
				return -EINVAL;
			}
			o->version = v;
			have_version = true;
			break;
		}
		case OPT_BACKEND:
			if (parse_backend(optarg, o) < 0)
				return -EINVAL;
			break;
		case OPT_CTRL:
			if (!*optarg) {
				log_error("--ctrl needs an address: unix:PATH or %s127.0.0.1:PORT",
					  VTPM_UNAUTHENTICATED_TCP);
				return -EINVAL;
			}
			/* Refused before anything is created. */
			if (strncmp(optarg, "tcp:", 4) == 0) {
				explain_address_error("--ctrl", optarg, -EPERM);
				return -EINVAL;
			}
			o->ctrl = optarg;
			break;
		case OPT_SOCKET:
			if (!*optarg) {
				log_error("--socket needs a path");
				return -EINVAL;
			}
			o->socket = optarg;
			break;
		case OPT_SERVE_CGROUP:
			if (optarg[0] != '/' && strcmp(optarg, "container") != 0) {
				log_error("--serve-cgroup needs a cgroup v2 directory or 'container'");
				return -EINVAL;
			}
			o->serve_cgroup = optarg;
			break;
		case OPT_STATE_DIR:
			if (!*optarg) {
				log_error("--state-dir needs a directory");
				return -EINVAL;
			}
			o->state_dir = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_RESUME:
			o->backend_flags |= VTPM_LIBTPMS_RESUME;
			break;
		case OPT_DAEMON:
			o->daemon = true;
			break;
		case OPT_PIDFILE:
			if (!*optarg) {
				log_error("--pidfile needs a file name");
				return -EINVAL;
			}
			o->pidfile = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 1, 3600, &o->timeout_s)) {
				log_error("--timeout: '%s' is not a number of seconds from 1 to 3600", optarg);
				return -EINVAL;
			}
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_USER: {
			gid_t g;

			if (parse_identity("--user", optarg, &o->uid, &g) < 0)
				return -EINVAL;
			/* USER's group, unless --group said otherwise. */
			if (!group_set)
				o->gid = g;
			o->chose_identity = true;
			break;
		}
		case OPT_GROUP:
			o->chose_identity = true;
			group_set = true;
			if (parse_group(optarg, &o->gid) < 0) {
				log_error("--group: no such group '%s'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_NO_SANDBOX:
			o->sandbox = false;
			break;
		case OPT_STANDALONE:
			o->standalone = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			create_usage(stdout);
			return 1;
		default:
			r = container_parse_opt(c, optarg, &o->container);
			if (r == -ENOENT)
				r = manufacture_parse_opt(c, optarg, &o->manufacture);
			if (r == 0)
				break;
			if (r == -ENOENT)
				create_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("create: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!o->sandbox && (o->uid != (uid_t)-1 || o->gid != (gid_t)-1)) {
		log_error("--user and --group need the sandbox: drop --no-sandbox");
		return -EINVAL;
	}
	if (o->backend_flags & VTPM_LIBTPMS_RESUME && !o->state_dir) {
		log_error("--resume needs --state-dir: a temporary state has nothing to resume");
		return -EINVAL;
	}
	if (o->key && o->swtpm_data) {
		log_error("--key applies to the libtpms backend: give swtpm its own --key");
		return -EINVAL;
	}
	if (container_check_opts(&o->container) < 0 ||
	    manufacture_check_opts(&o->manufacture, o->version) < 0)
		return -EINVAL;
	if (o->socket && (o->ctrl || o->swtpm_data || container_wanted(&o->container))) {
		log_error("--socket serves the control channel itself, from libtpms, with no "
			  "device: it excludes --ctrl, --backend swtpm and the container options");
		return -EINVAL;
	}
	if (o->serve_cgroup && strcmp(o->serve_cgroup, "container") == 0 && !o->container.pid) {
		log_error("--serve-cgroup container needs --pid");
		return -EINVAL;
	}
	return 0;
}

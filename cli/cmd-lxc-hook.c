/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl lxc-hook: give an LXC container its own vTPM.
 *
 *   lxc.hook.version = 1
 *   lxc.hook.start-host = /usr/bin/vtpmctl lxc-hook
 *   lxc.hook.post-stop = /usr/bin/vtpmctl lxc-hook
 *
 * LXC names the container and the hook in the environment (LXC_NAME,
 * LXC_HOOK_TYPE; with lxc.hook.version = 0 the type is the third argument
 * instead).  start-host runs in the host's namespaces once the container is
 * set up, with its init's pid in LXC_PID: we start a server that creates
 * the nodes in the container's mount namespace and allows them in its
 * cgroup.  post-stop stops that server, keeping the TPM state.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vtpmctl.h"

#define DEFAULT_LXC_RUN_DIR "/run/vtpm/lxc"
#define DEFAULT_LXC_STATE_BASE "/var/lib/vtpm/lxc"

static void lxc_hook_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl lxc-hook [OPTIONS] [NAME SECTION TYPE...]\n\n"
		"An LXC hook (lxc.hook.start-host and lxc.hook.post-stop).  Reads LXC_NAME,\n"
		"LXC_HOOK_TYPE and LXC_PID from the environment (lxc.hook.version = 1), or\n"
		"the hook type from the third argument (lxc.hook.version = 0).\n"
		"start-host creates a vTPM for the container, its nodes (" DEFAULT_CONTAINER_TPM ",\n"
		DEFAULT_CONTAINER_TPMRM ") and cgroup access, served in the background;\n"
		"post-stop stops it, keeping the state.\n\n"
		"Options:\n"
		"  --tpm12             a TPM 1.2 instead of a TPM 2.0\n"
		"  --run-dir DIR       where server pids are kept (default " DEFAULT_LXC_RUN_DIR ")\n"
		"  --state-base DIR    TPM state in DIR/<name> (default " DEFAULT_LXC_STATE_BASE ")\n"
		"  --path P, --pathrm P, --uid U, --gid G, --mode M  as for 'vtpmctl create'\n"
		"  --key OPTIONS       encrypt the state at rest, as 'vtpmctl create --key'\n"
		"  --user USER[:GROUP] the server it starts serves as USER (never root;\n"
		"                      default tss, else nobody); the vtpmctl daemon's\n"
		"                      instances serve as its own --user, so with this\n"
		"                      option the container gets a server of its own\n"
		"  --create-ek-cert, --create-platform-cert, --create-ek, --lock-nvram,\n"
		"  --pcr-banks LIST,\n"
		"  --ca-dir DIR, --ca-key FILE, --ca-cert FILE  manufacture the TPM at its\n"
		"                      first start, as for 'vtpmctl create'\n"
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n");
}

int cmd_lxc_hook(int argc, char *argv[])
{
	enum { OPT_RUN_DIR = 256, OPT_STATE_BASE, OPT_TPM12, OPT_KEY, OPT_USER };
	static const struct option options[] = {
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "state-base", required_argument, NULL, OPT_STATE_BASE },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "user", required_argument, NULL, OPT_USER },
		CONTAINER_LONG_OPTIONS,
		MANUFACTURE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct hook_dirs dirs = { .run_dir = DEFAULT_LXC_RUN_DIR,
				  .state_base = DEFAULT_LXC_STATE_BASE, .prefix = "lxc-" };
	const char *name, *type, *pid_env, *version = "2";
	struct container_opts unused = {};
	struct manufacture_opts manufacture = {};
	char *extra[32];
	int n_extra = 0, c;
	unsigned long pid;
	uid_t uid;
	gid_t gid;
	bool verbose = false;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_RUN_DIR:
		case OPT_STATE_BASE:
			if (hook_dirs_set(&dirs, c == OPT_RUN_DIR, optarg, "lxc-hook") != 0)
				return EXIT_USAGE;
			break;
		case OPT_TPM12:
			version = "1.2";
			break;
		case OPT_KEY:
		case OPT_USER:
			/* Handed on to create, which reads the key (before any device);
			 * neither is an option of the daemon's instances, so the
			 * hook then serves standalone. */
			if (c == OPT_USER && parse_identity("lxc-hook: --user", optarg, &uid, &gid) < 0)
				return EXIT_USAGE;
			if (n_extra + 2 > (int)(sizeof(extra) / sizeof(extra[0])))
				return EXIT_USAGE;
			extra[n_extra++] = (char *)(c == OPT_KEY ? "--key" : "--user");
			extra[n_extra++] = optarg;
			break;
		case CONTAINER_OPT_PATH:
		case CONTAINER_OPT_PATHRM:
		case CONTAINER_OPT_UID:
		case CONTAINER_OPT_GID:
		case CONTAINER_OPT_MODE:
			/* Checked here, handed on to create. */
			if (container_parse_opt(c, optarg, &unused) < 0)
				return EXIT_USAGE;
			if (n_extra + 2 > (int)(sizeof(extra) / sizeof(extra[0])))
				return EXIT_USAGE;
			extra[n_extra++] = (char *)(c == CONTAINER_OPT_PATH ? "--path" :
						    c == CONTAINER_OPT_PATHRM ? "--pathrm" :
						    c == CONTAINER_OPT_UID ? "--uid" :
						    c == CONTAINER_OPT_GID ? "--gid" : "--mode");
			extra[n_extra++] = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			lxc_hook_usage(stdout);
			return EXIT_OK;
		default: {
			/* Manufacture options are checked here and handed on to create. */
			int r = manufacture_parse_opt(c, optarg, &manufacture);

			if (r == 0)
				break;
			if (r == -ENOENT)
				lxc_hook_usage(stderr);
			return EXIT_USAGE;
		}
		}
	}

	if (manufacture_check_opts(&manufacture, strcmp(version, "2") == 0 ? VTPM_VERSION_2 :
							  VTPM_VERSION_1_2) < 0 ||
	    manufacture_append_args(&manufacture, extra, &n_extra,
				    (int)(sizeof(extra) / sizeof(extra[0]))) < 0)
		return EXIT_USAGE;

	name = getenv("LXC_NAME");
	type = getenv("LXC_HOOK_TYPE");
	/* lxc.hook.version = 0: "NAME SECTION TYPE [more]". */
	if (!type && argc - optind >= 3)
		type = argv[optind + 2];
	if (!name || !*name) {
		log_error("lxc-hook: LXC_NAME is not set: run this as an LXC hook");
		return EXIT_FAIL;
	}
	if (!type || !*type) {
		log_error("lxc-hook: no hook type: set lxc.hook.version = 1 (LXC_HOOK_TYPE)");
		return EXIT_FAIL;
	}

	if (strcmp(type, "post-stop") == 0)
		return hook_stop_server(&dirs, name);
	if (strcmp(type, "start-host") != 0) {
		log_error("lxc-hook: hook type '%s' is not supported: use start-host and post-stop", type);
		return EXIT_USAGE;
	}
	pid_env = getenv("LXC_PID");
	if (!pid_env || !parse_uint(pid_env, 1, INT32_MAX, &pid)) {
		log_error("lxc-hook: LXC_PID is %s: start-host needs the container's init pid",
			  pid_env ? "not a process id" : "not set");
		return EXIT_FAIL;
	}
	return hook_start_server(&dirs, name, (pid_t)pid, NULL, version, extra, n_extra, verbose);
}

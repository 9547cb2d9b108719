/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl oci-hook: give an OCI container (runc, crun, ...) its own vTPM.
 *
 * createRuntime (or prestart): runs in the runtime's namespace after the
 * container's namespaces and cgroup exist (runc has attached its device
 * program already) but before it pivots into the rootfs.  We start a
 * serving "vtpmctl create --daemon", which creates the nodes below the
 * rootfs inside the container's mount namespace and allows them in its
 * cgroup, and record its pid under the run directory.
 *
 * poststop: stop that server (it saves the TPM state) by the recorded pid.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "vtpmctl.h"

#define DEFAULT_OCI_RUN_DIR "/run/vtpm/oci"
#define DEFAULT_OCI_STATE_BASE "/var/lib/vtpm/oci"
#define STATE_JSON_MAX (1u << 20)

/* Annotations a container may set (all optional). */
#define ANNOTATION_VERSION "libvtpm.org/tpm-version" /* "2" (default) or "1.2" */
#define ANNOTATION_PATH "libvtpm.org/path"
#define ANNOTATION_PATHRM "libvtpm.org/pathrm"
#define ANNOTATION_UID "libvtpm.org/uid"
#define ANNOTATION_GID "libvtpm.org/gid"
#define ANNOTATION_MODE "libvtpm.org/mode"
/* Manufacture at the first start; the CA is the hook's (operator's) choice. */
#define ANNOTATION_EK_CERT "libvtpm.org/create-ek-cert" /* "true" or "false" */
#define ANNOTATION_LOCK_NVRAM "libvtpm.org/lock-nvram"	/* "true" or "false" */
#define ANNOTATION_PLATFORM_CERT "libvtpm.org/create-platform-cert" /* "true" or "false" */
#define ANNOTATION_PCR_BANKS "libvtpm.org/pcr-banks"	/* e.g. "sha256,sha384" */

static void hook_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl oci-hook [OPTIONS] createRuntime|prestart|poststop\n\n"
		"An OCI runtime hook; reads the container state (JSON) on stdin.\n"
		"createRuntime and prestart create a vTPM for the container, its nodes\n"
		"(" DEFAULT_CONTAINER_TPM ", " DEFAULT_CONTAINER_TPMRM ") and cgroup access,\n"
		"served in the background; poststop stops it, keeping the state.\n\n"
		"Options:\n"
		"  --run-dir DIR       where server pids are kept (default " DEFAULT_OCI_RUN_DIR ")\n"
		"  --state-base DIR    TPM state in DIR/<container id> (default\n"
		"                      " DEFAULT_OCI_STATE_BASE ")\n"
		"  --key OPTIONS       encrypt the state at rest, as 'vtpmctl create --key'\n"
		"  --user USER[:GROUP] the servers it starts serve as USER (never root;\n"
		"                      default tss, else nobody); the vtpmctl daemon's\n"
		"                      instances serve as its own --user, so with this\n"
		"                      option every container gets a server of its own\n"
		"  --serve-cgroup container|DIR  serve from the container's cgroup (or\n"
		"                      cgroup v2 directory DIR): its CPU limit applies\n"
		"  --create-ek-cert, --create-platform-cert, --create-ek, --lock-nvram,\n"
		"  --pcr-banks LIST,\n"
		"  --ca-dir DIR, --ca-key FILE, --ca-cert FILE  manufacture every container's\n"
		"                      TPM at its first start, as for 'vtpmctl create'\n"
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n\n"
		"Annotations: " ANNOTATION_VERSION " (2 or 1.2), " ANNOTATION_PATH ",\n"
		ANNOTATION_PATHRM ", " ANNOTATION_UID ", " ANNOTATION_GID ", " ANNOTATION_MODE ",\n"
		ANNOTATION_EK_CERT ", " ANNOTATION_PLATFORM_CERT " and\n"
		ANNOTATION_LOCK_NVRAM " (true or false),\n"
		ANNOTATION_PCR_BANKS " (e.g. sha256,sha384).\n");
}

/* Keep the library's first error, to report it on our own single line. */
static void capture_first_error(struct vtpm_ctx *ctx, int priority, const char *file, int line,
				const char *fn, const char *format, va_list args)
{
	char *buf = vtpm_ctx_get_userdata(ctx);

	if (priority <= LOG_ERR && !buf[0])
		vsnprintf(buf, 256, format, args);
}

static int read_all(int fd, char **out, size_t *out_len)
{
	_cleanup_free_ char *buf = malloc(STATE_JSON_MAX + 1);
	size_t len = 0;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	while (len < STATE_JSON_MAX && (n = read(fd, buf + len, STATE_JSON_MAX - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len += (size_t)n;
	}
	if (len == STATE_JSON_MAX)
		return -EFBIG;
	buf[len] = '\0';
	*out = TAKE_PTR(buf);
	*out_len = len;
	return 0;
}

/* Append "--opt value" for an annotation that is set. */
static void add_annotation_arg(const struct vtpm_oci_state *st, const char *key,
			       const char *opt, char **argv, int *argc)
{
	const char *v = vtpm_oci_state_get_annotation(st, key);

	if (v) {
		argv[(*argc)++] = (char *)opt;
		argv[(*argc)++] = (char *)v;
	}
}

/* Append @opt for a "true" annotation; -EINVAL (reported) unless true or false. */
static int add_annotation_flag(const struct vtpm_oci_state *st, const char *key,
			       const char *opt, char **argv, int *argc)
{
	const char *v = vtpm_oci_state_get_annotation(st, key);

	if (!v || strcmp(v, "false") == 0)
		return 0;
	if (strcmp(v, "true") != 0) {
		log_error("oci-hook: annotation %s is '%s', not true or false", key, v);
		return -EINVAL;
	}
	argv[(*argc)++] = (char *)opt;
	return 0;
}

static int hook_create(struct vtpm_oci_state *st, const struct hook_dirs *dirs, const char *key,
		       const char *user, const char *serve_cgroup,
		       struct manufacture_opts *manufacture, bool verbose)
{
	_cleanup_free_ char *rootfs = NULL;
	const char *version = vtpm_oci_state_get_annotation(st, ANNOTATION_VERSION);
	char *extra[48];
	struct vtpm_ctx *ctx;
	int n = 0, r;

	if (!vtpm_oci_state_get_bundle(st)) {
		log_error("the OCI state has no \"bundle\": cannot find the rootfs");
		return EXIT_FAIL;
	}
	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return EXIT_FAIL;
	quiet_library(ctx, verbose);
	r = vtpm_oci_bundle_get_rootfs(ctx, vtpm_oci_state_get_bundle(st), &rootfs);
	vtpm_ctx_unref(ctx);
	if (r < 0) {
		log_error("cannot find the container's rootfs in %s/config.json: %s",
			  vtpm_oci_state_get_bundle(st), strerror(-r));
		return EXIT_FAIL;
	}
	add_annotation_arg(st, ANNOTATION_PATH, "--path", extra, &n);
	add_annotation_arg(st, ANNOTATION_PATHRM, "--pathrm", extra, &n);
	add_annotation_arg(st, ANNOTATION_UID, "--uid", extra, &n);
	add_annotation_arg(st, ANNOTATION_GID, "--gid", extra, &n);
	add_annotation_arg(st, ANNOTATION_MODE, "--mode", extra, &n);
	/* From the hook's configuration, never from the container's annotations. */
	if (key) {
		extra[n++] = (char *)"--key";
		extra[n++] = (char *)key;
	}
	/* Not an option of the daemon's instances: the hook serves standalone. */
	if (user) {
		extra[n++] = (char *)"--user";
		extra[n++] = (char *)user;
	}
	if (serve_cgroup) {
		extra[n++] = (char *)"--serve-cgroup";
		extra[n++] = (char *)serve_cgroup;
	}
	add_annotation_arg(st, ANNOTATION_PCR_BANKS, "--pcr-banks", extra, &n);
	if (add_annotation_flag(st, ANNOTATION_EK_CERT, "--create-ek-cert", extra, &n) < 0 ||
	    add_annotation_flag(st, ANNOTATION_PLATFORM_CERT, "--create-platform-cert", extra, &n) < 0 ||
	    add_annotation_flag(st, ANNOTATION_LOCK_NVRAM, "--lock-nvram", extra, &n) < 0)
		return EXIT_FAIL;
	/* The hook's own manufacture options (the operator's CA) come last. */
	if (manufacture_append_args(manufacture, extra, &n, (int)(sizeof(extra) / sizeof(extra[0]))) < 0)
		return EXIT_FAIL;
	/* The runtime has not pivoted yet: the rootfs is a path in its namespace. */
	return hook_start_server(dirs, vtpm_oci_state_get_id(st), vtpm_oci_state_get_pid(st),
				 rootfs, version, extra, n, verbose);
}

int cmd_oci_hook(int argc, char *argv[])
{
	enum { OPT_RUN_DIR = 256, OPT_STATE_BASE, OPT_KEY, OPT_SERVE_CGROUP, OPT_USER };
	static const struct option options[] = {
		{ "run-dir", required_argument, NULL, OPT_RUN_DIR },
		{ "state-base", required_argument, NULL, OPT_STATE_BASE },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "serve-cgroup", required_argument, NULL, OPT_SERVE_CGROUP },
		{ "user", required_argument, NULL, OPT_USER },
		MANUFACTURE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct hook_dirs dirs = { .run_dir = DEFAULT_OCI_RUN_DIR, .state_base = DEFAULT_OCI_STATE_BASE,
				  .prefix = "oci-" };
	_cleanup_free_ char *input = NULL;
	const char *stage, *key = NULL, *serve_cgroup = NULL, *user = NULL;
	struct vtpm_oci_state *st = NULL;
	struct vtpm_ctx *ctx = NULL;
	bool verbose = false;
	char why[256] = "";
	struct manufacture_opts manufacture = {};
	size_t len = 0;
	int c, r, ret;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_RUN_DIR:
		case OPT_STATE_BASE:
			if (hook_dirs_set(&dirs, c == OPT_RUN_DIR, optarg, "oci-hook") != 0)
				return EXIT_USAGE;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case OPT_SERVE_CGROUP:
			if (optarg[0] != '/' && strcmp(optarg, "container") != 0) {
				log_error("oci-hook: --serve-cgroup needs 'container' or an absolute path");
				return EXIT_USAGE;
			}
			serve_cgroup = optarg;
			break;
		case OPT_USER: {
			uid_t u;
			gid_t g;

			/* Checked here, handed on to create. */
			if (parse_identity("oci-hook: --user", optarg, &u, &g) < 0)
				return EXIT_USAGE;
			user = optarg;
			break;
		}
		case 'v':
			verbose = true;
			break;
		case 'h':
			hook_usage(stdout);
			return EXIT_OK;
		default:
			/* Checked here, handed on to create. */
			r = manufacture_parse_opt(c, optarg, &manufacture);
			if (r == 0)
				break;
			if (r == -ENOENT)
				hook_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		log_error("oci-hook: give exactly one hook stage (createRuntime, prestart, poststop)");
		return EXIT_USAGE;
	}
	/* TPM 2 here: the version annotation is checked by create. */
	if (manufacture_check_opts(&manufacture, VTPM_VERSION_2) < 0)
		return EXIT_USAGE;
	stage = argv[optind];
	if (strcmp(stage, "createRuntime") && strcmp(stage, "prestart") && strcmp(stage, "poststop")) {
		log_error("oci-hook: unsupported stage '%s' (createRuntime, prestart, poststop)", stage);
		return EXIT_USAGE;
	}

	r = read_all(STDIN_FILENO, &input, &len);
	if (r < 0) {
		log_error("oci-hook: cannot read the container state from stdin: %s", strerror(-r));
		return EXIT_FAIL;
	}
	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return EXIT_FAIL;
	/* The parser logs which field is wrong: say that on one line. */
	vtpm_ctx_set_log_priority(ctx, LOG_ERR);
	vtpm_ctx_set_userdata(ctx, why);
	vtpm_ctx_set_log_fn(ctx, capture_first_error);
	r = vtpm_oci_state_parse(ctx, input, len, &st);
	vtpm_ctx_unref(ctx);
	if (r < 0) {
		log_error("oci-hook: stdin is not a valid OCI container state: %s",
			  why[0] ? why : strerror(-r));
		return EXIT_FAIL;
	}
	if (strcmp(stage, "poststop") == 0)
		ret = hook_stop_server(&dirs, vtpm_oci_state_get_id(st));
	else
		ret = hook_create(st, &dirs, key, user, serve_cgroup, &manufacture, verbose);
	vtpm_oci_state_free(st);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl rules: what a container stack needs to hand over an existing vTPM. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vtpmctl.h"

static void rules_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl rules [OPTIONS] DEVICE\n\n"
		"Print the rules that give a container the vTPM DEVICE (/dev/tpmN or N;\n"
		"its /dev/tpmrmN is found through sysfs).\n\n"
		"Options:\n"
		"  --format F          cgroup1 (devices.allow lines, default), lxc (config\n"
		"                      lines), oci (linux.devices and linux.resources.devices)\n"
		"                      or cdi (a CDI spec)\n"
		"  --json              JSON output also for cgroup1 and lxc: an array of lines\n"
		"  --path P, --pathrm P  node paths in the container (default " DEFAULT_CONTAINER_TPM "\n"
		"                      and " DEFAULT_CONTAINER_TPMRM ")\n"
		"  --uid U, --gid G, --mode M  owner and octal mode of the container's nodes\n"
		"  --name NAME         CDI device name (default tpmN)\n"
		"  --kind KIND         CDI kind (default " VTPM_CDI_KIND_DEFAULT ")\n"
		"  -h, --help          show this help\n");
}

static const char *const format_names[] = {
	[VTPM_RULES_CGROUP1] = "cgroup1",
	[VTPM_RULES_LXC] = "lxc",
	[VTPM_RULES_OCI] = "oci",
	[VTPM_RULES_CDI] = "cdi",
};

void explain_rules_error(int r, const char *device)
{
	switch (r) {
	case -EINVAL:
		log_error("%s is not a TPM device: give /dev/tpmN or N", device);
		break;
	case -ENOENT:
		log_error("%s does not exist: is the vTPM running?", device);
		break;
	case -ENOTTY:
		log_error("%s is not a character device", device);
		break;
	default:
		log_error("cannot read %s: %s", device, strerror(-r));
	}
}

/* Lines of @text as a JSON array. */
static int print_lines_json(const char *text)
{
	struct json_object *arr = json_object_new_array();

	for (const char *p = text; *p; ) {
		size_t len = strcspn(p, "\n");

		json_object_array_add(arr, json_object_new_string_len(p, (int)len));
		p += len;
		p += *p == '\n';
	}
	puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return 0;
}

int cmd_rules(int argc, char *argv[])
{
	enum { OPT_FORMAT = 256, OPT_JSON, OPT_NAME, OPT_KIND };
	static const struct option options[] = {
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "kind", required_argument, NULL, OPT_KIND },
		CONTAINER_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum vtpm_rules_format format = VTPM_RULES_CGROUP1;
	struct container_opts copts = {};
	const char *name = NULL, *kind = NULL;
	struct vtpm_rules *rules = NULL;
	struct vtpm_ctx *ctx = NULL;
	char *text = NULL;
	bool json = false, found;
	int c, r, ret = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			found = false;
			for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++) {
				if (strcmp(optarg, format_names[i]) == 0) {
					format = (enum vtpm_rules_format)i;
					found = true;
				}
			}
			if (!found) {
				log_error("--format: '%s' is not one of cgroup1, lxc, oci, cdi", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_KIND:
			kind = optarg;
			break;
		case 'h':
			rules_usage(stdout);
			return EXIT_OK;
		case CONTAINER_OPT_PATH:
		case CONTAINER_OPT_PATHRM:
		case CONTAINER_OPT_UID:
		case CONTAINER_OPT_GID:
		case CONTAINER_OPT_MODE:
			if (container_parse_opt(c, optarg, &copts) < 0)
				return EXIT_USAGE;
			break;
		default:
			if (c >= CONTAINER_OPT_ROOTFS)
				log_error("rules: that option belongs to 'vtpmctl create'");
			rules_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		log_error(optind >= argc ? "rules: missing DEVICE (/dev/tpmN or N)" :
					   "rules: one DEVICE only");
		return EXIT_USAGE;
	}

	if (new_quiet_ctx(false, &ctx) < 0)
		return EXIT_FAIL;
	r = vtpm_rules_new_from_path(ctx, argv[optind], &rules);
	if (r < 0) {
		explain_rules_error(r, argv[optind]);
		goto out;
	}
	r = container_setup_rules(rules, &copts);
	if (r == 0 && name)
		r = vtpm_rules_set_name(rules, name);
	if (r == 0 && kind)
		r = vtpm_rules_set_cdi_kind(rules, kind);
	if (r < 0) {
		log_error("bad --name or --kind: CDI allows letters, digits, '-', '_', '.' (kind: vendor/class)");
		ret = EXIT_USAGE;
		goto out;
	}
	r = vtpm_rules_format(rules, format, &text);
	if (r < 0) {
		log_error("cannot format the rules: %s", strerror(-r));
		goto out;
	}
	if (json && (format == VTPM_RULES_CGROUP1 || format == VTPM_RULES_LXC))
		print_lines_json(text);
	else
		fputs(text, stdout);
	ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
out:
	free(text);
	vtpm_rules_unref(rules);
	vtpm_ctx_unref(ctx);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl cdi: add vTPMs to (or drop them from) a CDI spec file, atomically. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "file-util.h"
#include "vtpmctl.h"

#define DEFAULT_CDI_DIR "/var/run/cdi"
#define SPEC_MAX (1u << 20)

static void cdi_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl cdi [OPTIONS] DEVICE...\n"
		"       vtpmctl cdi [OPTIONS] --remove NAME...\n\n"
		"Add each vTPM DEVICE (/dev/tpmN or N) to the CDI spec of its kind, as a\n"
		"device named tpmN (or --name), replacing one of that name; or remove\n"
		"named devices.  The spec file is <dir>/<vendor>-<class>.json, replaced\n"
		"atomically; a spec left without devices is deleted.  Container engines\n"
		"then accept --device " VTPM_CDI_KIND_DEFAULT "=tpmN.\n\n"
		"Options:\n"
		"  --dir DIR           the CDI spec directory (default " DEFAULT_CDI_DIR ")\n"
		"  --kind KIND         the CDI kind (default " VTPM_CDI_KIND_DEFAULT ")\n"
		"  --name NAME         the device name (one DEVICE only)\n"
		"  --path P, --pathrm P  node paths in the container (default " DEFAULT_CONTAINER_TPM "\n"
		"                      and " DEFAULT_CONTAINER_TPMRM ")\n"
		"  --uid U, --gid G, --mode M  owner and octal mode of the container's nodes\n"
		"  --remove            the arguments are device names to remove\n"
		"  -h, --help          show this help\n");
}

/* The current spec text, or NULL if there is none. */
static int read_spec(int dirfd, const char *file, char **text)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	ssize_t n;

	*text = NULL;
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	buf = malloc(SPEC_MAX + 1);
	if (!buf)
		return -ENOMEM;
	while ((n = read(fd, buf + len, SPEC_MAX - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		return -errno;
	if (len == SPEC_MAX)
		return -EFBIG;
	buf[len] = '\0';
	*text = TAKE_PTR(buf);
	return 0;
}

int cmd_cdi(int argc, char *argv[])
{
	enum { OPT_DIR = 256, OPT_KIND, OPT_NAME, OPT_REMOVE };
	static const struct option options[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "kind", required_argument, NULL, OPT_KIND },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "remove", no_argument, NULL, OPT_REMOVE },
		CONTAINER_LONG_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *dir = DEFAULT_CDI_DIR, *kind = VTPM_CDI_KIND_DEFAULT, *name = NULL;
	struct container_opts copts = {};
	_cleanup_free_ char *spec = NULL;
	_cleanup_close_ int dirfd = -1;
	struct vtpm_ctx *ctx = NULL;
	char file[300], *slash;
	bool remove = false;
	int c, r, ret = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			dir = optarg;
			break;
		case OPT_KIND:
			kind = optarg;
			break;
		case OPT_NAME:
			name = optarg;
			break;
		case OPT_REMOVE:
			remove = true;
			break;
		case 'h':
			cdi_usage(stdout);
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
			cdi_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		log_error("cdi: missing %s", remove ? "NAME" : "DEVICE");
		return EXIT_USAGE;
	}
	if (name && (remove || argc - optind > 1)) {
		log_error("cdi: --name needs exactly one DEVICE");
		return EXIT_USAGE;
	}
	if (name && (!*name || strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789-_.") != strlen(name))) {
		log_error("cdi: --name '%s': CDI device names allow letters, digits, '-', '_', '.'",
			  name);
		return EXIT_USAGE;
	}
	if (!*dir) {
		log_error("cdi: --dir needs a directory");
		return EXIT_USAGE;
	}
	/* The file name CDI tools use: the kind with '/' turned into '-'. */
	slash = strchr(kind, '/');
	if (!slash || strlen(kind) > 200 || strchr(kind, '.') == kind) {
		log_error("cdi: --kind must look like vendor.example/class");
		return EXIT_USAGE;
	}
	snprintf(file, sizeof(file), "%.*s-%s.json", (int)(slash - kind), kind, slash + 1);

	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		return EXIT_FAIL;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		log_error("cannot open %s: %s", dir, strerror(errno));
		return EXIT_FAIL;
	}
	r = read_spec(dirfd, file, &spec);
	if (r < 0) {
		log_error("cannot read %s/%s: %s", dir, file, strerror(-r));
		return EXIT_FAIL;
	}

	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return EXIT_FAIL;
	quiet_library(ctx, false);

	for (int i = optind; i < argc; i++) {
		struct vtpm_rules *rules = NULL;
		char *next = NULL;

		if (remove) {
			if (!spec) {
				log_error("%s/%s does not exist", dir, file);
				goto out;
			}
			r = vtpm_cdi_spec_remove(spec, argv[i], &next);
			if (r == -ENOENT) {
				log_error("%s/%s has no device '%s'", dir, file, argv[i]);
				goto out;
			}
		} else {
			r = vtpm_rules_new_from_path(ctx, argv[i], &rules);
			if (r < 0) {
				explain_rules_error(r, argv[i]);
				goto out;
			}
			r = container_setup_rules(rules, &copts);
			if (r == 0)
				r = vtpm_rules_set_cdi_kind(rules, kind);
			if (r == 0 && name)
				r = vtpm_rules_set_name(rules, name);
			if (r < 0) {
				log_error("bad --kind or --name: CDI allows letters, digits, '-', '_', '.'");
				vtpm_rules_unref(rules);
				ret = EXIT_USAGE;
				goto out;
			}
			r = vtpm_cdi_spec_merge(rules, spec, &next);
			vtpm_rules_unref(rules);
			if (r == -EXDEV) {
				log_error("%s/%s holds another kind", dir, file);
				goto out;
			}
		}
		if (r == -EBADMSG) {
			log_error("%s/%s is not a CDI spec: fix or remove it", dir, file);
			goto out;
		}
		if (r < 0) {
			log_error("cannot update the CDI spec: %s", strerror(-r));
			goto out;
		}
		free(spec);
		spec = next;
	}

	if (spec)
		r = vtpm_write_file_atomic_mode(dirfd, file, spec, strlen(spec), 0644);
	else
		r = unlinkat(dirfd, file, 0) < 0 ? -errno : 0;
	if (r < 0) {
		log_error("cannot write %s/%s: %s", dir, file, strerror(-r));
		goto out;
	}
	printf("%s/%s\n", dir, file);
	ret = EXIT_OK;
out:
	vtpm_ctx_unref(ctx);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Describing devices and errors to people and scripts. */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <syslog.h>

#include "vtpmctl.h"

void log_error(const char *format, ...)
{
	va_list args;

	fputs("vtpmctl: ", stderr);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
}

void explain_address_error(const char *what, const char *address, int r)
{
	if (r == -EPERM && strncmp(address, "tcp:", 4) == 0)
		log_error("%s %s: TCP has no authentication, so any local user who reaches the port "
			  "could read and replace the TPM's state, or pose as the server: use a unix "
			  "socket, or write %s%s to accept that",
			  what, address, VTPM_UNAUTHENTICATED_TCP, address + 4);
	else if (r == -EPERM)
		log_error("%s %s: only loopback addresses are allowed (no authentication)", what,
			  address);
	else if (r == -ENAMETOOLONG)
		log_error("%s %s: the path is too long for a unix socket", what, address);
	else if (r == -EINVAL)
		log_error("%s '%s' is not an address (PATH, unix:PATH or %sHOST:PORT)", what,
			  address, VTPM_UNAUTHENTICATED_TCP);
	else
		log_error("%s %s: %s", what, address, strerror(-r));
}

void warn_if_unauthenticated(const char *what, const char *address)
{
	if (strncmp(address, VTPM_UNAUTHENTICATED_TCP, strlen(VTPM_UNAUTHENTICATED_TCP)) == 0)
		log_error("warning: %s %s has no authentication: every local user who reaches "
			  "the port can read and replace the TPM's state, or pose as its server",
			  what, address);
}

void explain_device_error(int r, const char *vtpmx)
{
	switch (r) {
	case -ENOENT:
		log_error("%s not found: load the module with 'modprobe tpm_vtpm_proxy'", vtpmx);
		break;
	case -EPERM:
	case -EACCES:
		log_error("not allowed to create a vTPM through %s: this needs CAP_SYS_ADMIN (run as root)",
			  vtpmx);
		break;
	case -EOPNOTSUPP:
		log_error("the kernel's vTPM proxy driver does not support this TPM version");
		break;
	default:
		log_error("creating the vTPM through %s failed: %s", vtpmx, strerror(-r));
	}
}

int load_state_key(struct vtpm_ctx *ctx, const char *options, struct vtpm_state_key **key)
{
	int r;

	*key = NULL;
	if (!options)
		return EXIT_OK;
	r = vtpm_state_key_new_from_options(ctx, options, key);
	switch (r) {
	case 0:
		return EXIT_OK;
	case -EINVAL:
		log_error("--key: bad options '%s': use file=PATH, fd=N, pwdfile=PATH or pwdfd=N, "
			  "then [,mode=aes-128-cbc|aes-256-cbc][,format=hex|binary][,kdf=pbkdf2|sha512]"
			  "[,remove=true]", options);
		return EXIT_USAGE;
	case -EBADMSG:
	case -EFBIG:
		log_error("--key: the key file does not hold a key of the mode's size "
			  "(hex: 32 digits for aes-128-cbc, 64 for aes-256-cbc)");
		return EXIT_FAIL;
	default:
		log_error("--key: cannot read the key or passphrase: %s", strerror(-r));
		return EXIT_FAIL;
	}
}

void explain_state_error(int r, const char *where)
{
	switch (r) {
	case -ENOKEY:
		log_error("the state in %s is encrypted: give its key with --key", where);
		break;
	case -EKEYREJECTED:
		log_error("the key does not open the state in %s: a wrong key, or damaged files", where);
		break;
	case -EMEDIUMTYPE:
		log_error("the state in %s is not encrypted, but --key was given", where);
		break;
	case -ENOTSUP:
		log_error("the state in %s uses an encryption libvtpm cannot read "
			  "(a migration key, or swtpm's old format)", where);
		break;
	case -EBADMSG:
		log_error("the state in %s is damaged or is not TPM state", where);
		break;
	default:
		log_error("cannot use state directory %s: %s", where, strerror(-r));
	}
}

int open_state_dir(struct vtpm_ctx *ctx, const char *dir, const char *key_options,
		   unsigned int flags, struct vtpm_backend **backend)
{
	struct vtpm_libtpms_options lo = {
		.size = sizeof(lo), .version = VTPM_VERSION_2, .state_dir = dir, .flags = flags,
	};
	int ret, r;

	ret = load_state_key(ctx, key_options, &lo.key);
	if (ret != EXIT_OK)
		return ret;
	/* Reads the state already there: a missing or wrong key stops here. */
	r = vtpm_backend_new_libtpms_opts(ctx, &lo, backend);
	vtpm_state_key_unref(lo.key);
	if (r < 0) {
		explain_state_error(r, dir);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

void quiet_library(struct vtpm_ctx *ctx, bool verbose)
{
	if (verbose)
		vtpm_ctx_set_log_priority(ctx, LOG_INFO);
	else if (!secure_getenv("VTPM_LOG"))
		vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
}

int new_quiet_ctx(bool verbose, struct vtpm_ctx **ctx)
{
	int r = vtpm_ctx_new(ctx);

	if (r < 0) {
		log_error("cannot create a library context: %s", strerror(-r));
		return r;
	}
	quiet_library(*ctx, verbose);
	return 0;
}

int parse_identity(const char *what, const char *spec, uid_t *uid, gid_t *gid)
{
	struct vtpm_ctx *ctx;
	int r;

	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return r;
	quiet_library(ctx, false);
	r = vtpm_sandbox_parse_user(ctx, spec, uid, gid);
	vtpm_ctx_unref(ctx);
	if (r == -ENOENT)
		log_error("%s: no such user or group in '%s'", what, spec);
	else if (r == -EPERM)
		log_error("%s: '%s' is root: a confined server never serves as root "
			  "(the sandbox exists to take root's ids away)", what, spec);
	else if (r == -EINVAL)
		log_error("%s: '%s' is not USER[:GROUP] (a uid without an account needs :GID)",
			  what, spec);
	else if (r < 0)
		log_error("%s: cannot look '%s' up: %s", what, spec, strerror(-r));
	return r;
}

int parse_group(const char *s, gid_t *gid)
{
	unsigned long n;
	struct group *gr;

	if (parse_uint(s, 0, (gid_t)-2, &n)) {
		*gid = (gid_t)n;
		return 0;
	}
	gr = getgrnam(s);
	if (!gr)
		return -ENOENT;
	*gid = gr->gr_gid;
	return 0;
}

bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static struct json_object *node_to_json(struct vtpm_device *dev, enum vtpm_node node)
{
	struct json_object *obj;
	dev_t devnum;

	if (vtpm_device_get_devnum(dev, node, &devnum) < 0)
		return NULL;
	obj = json_object_new_object();
	json_object_object_add(obj, "path", json_object_new_string(vtpm_device_get_path(dev, node)));
	json_object_object_add(obj, "major", json_object_new_int64(major(devnum)));
	json_object_object_add(obj, "minor", json_object_new_int64(minor(devnum)));
	return obj;
}

struct json_object *device_to_json(struct vtpm_device *dev)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *rm;

	json_object_object_add(obj, "version",
			       json_object_new_string(vtpm_device_get_version(dev) == VTPM_VERSION_2 ?
						      "2.0" : "1.2"));
	json_object_object_add(obj, "number", json_object_new_int64(vtpm_device_get_number(dev)));
	json_object_object_add(obj, "tpm", node_to_json(dev, VTPM_NODE_TPM));
	rm = node_to_json(dev, VTPM_NODE_TPMRM);
	json_object_object_add(obj, "tpmrm", rm ? rm : NULL);
	return obj;
}

void device_print(struct vtpm_device *dev, FILE *f)
{
	static const enum vtpm_node nodes[] = { VTPM_NODE_TPM, VTPM_NODE_TPMRM };
	dev_t devnum;

	fprintf(f, "TPM %s vTPM %u\n",
		vtpm_device_get_version(dev) == VTPM_VERSION_2 ? "2.0" : "1.2",
		vtpm_device_get_number(dev));
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		if (vtpm_device_get_devnum(dev, nodes[i], &devnum) < 0)
			continue;
		fprintf(f, "  %-14s %u:%u\n", vtpm_device_get_path(dev, nodes[i]),
			major(devnum), minor(devnum));
	}
}

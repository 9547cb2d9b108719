/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The manufacture options that create, the daemon's create and the hooks share. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vtpmctl.h"

int manufacture_parse_opt(int opt, const char *arg, struct manufacture_opts *m)
{
	m->lib.size = sizeof(m->lib);
	switch (opt) {
	case MANUFACTURE_OPT_EK:
		m->lib.flags |= VTPM_MANUFACTURE_EK;
		break;
	case MANUFACTURE_OPT_EK_CERT:
		m->lib.flags |= VTPM_MANUFACTURE_EK_CERT;
		break;
	case MANUFACTURE_OPT_PLATFORM_CERT:
		m->lib.flags |= VTPM_MANUFACTURE_PLATFORM_CERT;
		break;
	case MANUFACTURE_OPT_LOCK_NVRAM:
		m->lib.flags |= VTPM_MANUFACTURE_LOCK_NV;
		break;
	case MANUFACTURE_OPT_PCR_BANKS:
		if (vtpm_pcr_banks_parse(arg, &m->lib.pcr_banks) < 0) {
			log_error("--pcr-banks: '%s' is not a list from sha1,sha256,sha384,sha512", arg);
			return -EINVAL;
		}
		m->pcr_banks_arg = arg;
		break;
	case MANUFACTURE_OPT_CA_DIR:
	case MANUFACTURE_OPT_CA_KEY:
	case MANUFACTURE_OPT_CA_CERT:
		if (!*arg) {
			log_error("--ca-dir, --ca-key and --ca-cert need a path");
			return -EINVAL;
		}
		if (opt == MANUFACTURE_OPT_CA_DIR)
			m->lib.ca_dir = arg;
		else if (opt == MANUFACTURE_OPT_CA_KEY)
			m->lib.ca_key = arg;
		else
			m->lib.ca_cert = arg;
		/* A CA alone asks for nothing: it serves --create-ek-cert, if given. */
		return 0;
	default:
		return -ENOENT;
	}
	m->wanted = true;
	return 0;
}

int manufacture_append_args(const struct manufacture_opts *m, char **argv, int *argc, int max)
{
	const struct vtpm_manufacture_options *o = &m->lib;
	const struct {
		bool set;
		const char *name;
		const char *value;
	} args[] = {
		{ o->flags & VTPM_MANUFACTURE_EK, "--create-ek", NULL },
		{ o->flags & VTPM_MANUFACTURE_EK_CERT, "--create-ek-cert", NULL },
		{ o->flags & VTPM_MANUFACTURE_PLATFORM_CERT, "--create-platform-cert", NULL },
		{ o->flags & VTPM_MANUFACTURE_LOCK_NV, "--lock-nvram", NULL },
		{ o->pcr_banks, "--pcr-banks", m->pcr_banks_arg },
		{ o->ca_dir, "--ca-dir", o->ca_dir },
		{ o->ca_key, "--ca-key", o->ca_key },
		{ o->ca_cert, "--ca-cert", o->ca_cert },
	};

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		if (!args[i].set)
			continue;
		if (*argc + 2 > max) {
			log_error("too many options to hand on");
			return -EINVAL;
		}
		argv[(*argc)++] = (char *)args[i].name;
		if (args[i].value)
			argv[(*argc)++] = (char *)args[i].value;
	}
	return 0;
}

int manufacture_check_opts(struct manufacture_opts *m, enum vtpm_version version)
{
	struct vtpm_manufacture_options *o = &m->lib;

	if (o->ca_dir && (o->ca_key || o->ca_cert)) {
		log_error("--ca-dir and --ca-key/--ca-cert exclude each other");
		return -EINVAL;
	}
	if (!o->ca_key != !o->ca_cert) {
		log_error("--ca-key and --ca-cert go together");
		return -EINVAL;
	}
	if (!m->wanted)
		return 0;
	if (version != VTPM_VERSION_2) {
		log_error("manufacture options (--create-ek-cert, --pcr-banks, ...) need a TPM 2");
		return -EINVAL;
	}
	if (o->flags & (VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_PLATFORM_CERT) &&
	    !o->ca_key && !o->ca_dir)
		o->ca_dir = DEFAULT_CA_DIR;
	return 0;
}

int manufacture_run(struct vtpm_backend *backend, const struct manufacture_opts *m,
		    const char *where)
{
	const struct vtpm_manufacture_options *o = &m->lib;
	int r;

	if (!m->wanted)
		return 0;
	r = vtpm_backend_start(backend);
	if (r < 0) {
		log_error("cannot start the TPM from %s: %s", where,
			  r == -EBUSY ? "it is in use by another TPM" : strerror(-r));
		return r;
	}
	r = vtpm_manufacture(backend, o);
	if (r >= 0)
		return 0;
	if (r == -EKEYREJECTED)
		log_error("the CA key %s does not belong to the certificate %s", o->ca_key, o->ca_cert);
	else if (o->ca_key && (r == -ENOENT || r == -EACCES || r == -EBADMSG))
		log_error("cannot use the CA %s, %s: %s", o->ca_key, o->ca_cert, strerror(-r));
	else if (o->ca_dir && (r == -ENOENT || r == -EACCES || r == -EBADMSG))
		log_error("cannot use the CA directory %s: %s", o->ca_dir, strerror(-r));
	else
		log_error("manufacturing the TPM failed: %s (run with -v for the TPM's answers)",
			  strerror(-r));
	return r;
}

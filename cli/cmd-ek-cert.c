/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl ek-cert: print a TPM's EK certificate, from a stopped TPM's
 * state directory or from a running TPM's device node.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtpmctl.h"

static void ek_cert_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl ek-cert (--state-dir DIR | --device PATH) [OPTIONS]\n\n"
		"Print a TPM 2's EK certificate (PEM by default).\n\n"
		"Options:\n"
		"  --state-dir DIR     a stopped TPM's state directory\n"
		"  --key OPTIONS       the state is encrypted at rest, as with 'create --key'\n"
		"  --device PATH       a running TPM: its /dev/tpmrmN (or /dev/tpmN)\n"
		"  --key-type TYPE     rsa (default; NV index 0x01c00002) or ecc (0x01c0000a)\n"
		"  --der               write DER instead of PEM\n"
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n");
}

/* A TPM device node as a backend: commands written, answers read. */
static int dev_start(void *data)
{
	return 0;
}

static int dev_shutdown(void *data)
{
	return 0;
}

static int dev_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
		       uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	int fd = *(int *)data;
	ssize_t n;

	n = write(fd, cmd, cmd_len);
	if (n < 0)
		return -errno;
	if ((size_t)n != cmd_len)
		return -EIO;
	/* The kernel answers a whole response per read. */
	n = read(fd, resp, resp_size);
	if (n < 0)
		return -errno;
	*resp_len = (size_t)n;
	return 0;
}

static const struct vtpm_backend_ops dev_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = dev_start,
	.process = dev_process,
	.shutdown = dev_shutdown,
};

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int cmd_ek_cert(int argc, char *argv[])
{
	enum { OPT_STATE_DIR = 256, OPT_DEVICE, OPT_KEY_TYPE, OPT_DER, OPT_KEY };
	static const struct option options[] = {
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "key-type", required_argument, NULL, OPT_KEY_TYPE },
		{ "der", no_argument, NULL, OPT_DER },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum vtpm_ek_type type = VTPM_EK_RSA2048;
	const char *dir = NULL, *device = NULL, *key = NULL;
	struct vtpm_backend *backend = NULL;
	struct vtpm_ctx *ctx = NULL;
	unsigned int flags = VTPM_EK_CERT_PEM;
	bool verbose = false;
	uint8_t *cert = NULL;
	size_t len = 0;
	int c, r, fd = -1;

	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_STATE_DIR:
			dir = optarg;
			break;
		case OPT_DEVICE:
			device = optarg;
			break;
		case OPT_KEY_TYPE:
			if (strcmp(optarg, "rsa") == 0) {
				type = VTPM_EK_RSA2048;
			} else if (strcmp(optarg, "ecc") == 0) {
				type = VTPM_EK_ECC_NIST_P256;
			} else {
				log_error("--key-type: '%s' is neither rsa nor ecc", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_DER:
			flags = 0;
			break;
		case OPT_KEY:
			key = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			ek_cert_usage(stdout);
			return EXIT_OK;
		default:
			ek_cert_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		log_error("ek-cert: unexpected argument '%s'", argv[optind]);
		return EXIT_USAGE;
	}
	if (!dir == !device || (dir && !*dir) || (device && !*device)) {
		log_error("ek-cert needs one of --state-dir DIR and --device PATH");
		return EXIT_USAGE;
	}
	if (key && !dir) {
		log_error("--key opens a state directory: it goes with --state-dir");
		return EXIT_USAGE;
	}

	if (new_quiet_ctx(verbose, &ctx) < 0)
		return EXIT_FAIL;
	if (dir) {
		/* Resume: a state saved for resuming stays resumable. */
		r = open_state_dir(ctx, dir, key, VTPM_LIBTPMS_RESUME, &backend);
		if (r != EXIT_OK) {
			vtpm_ctx_unref(ctx);
			return r;
		}
	} else {
		fd = open(device, O_RDWR | O_CLOEXEC);
		r = fd < 0 ? -errno : vtpm_backend_new(ctx, VTPM_VERSION_2, &dev_ops, &fd, &backend);
	}
	if (r == 0)
		r = vtpm_backend_start(backend);
	if (r < 0) {
		log_error("cannot open the TPM %s: %s", dir ? dir : device,
			  r == -EBUSY ? "it is running; use --device with its /dev/tpmrmN" :
			  strerror(-r));
		goto out;
	}
	r = vtpm_ek_cert_read(backend, type, flags, &cert, &len);
	if (r < 0) {
		log_error("cannot read the EK certificate from %s: %s", dir ? dir : device,
			  r == -ENOENT ? "the TPM has none (manufacture it with --create-ek-cert)" :
			  r == -EBADMSG ? "the NV index does not hold a certificate" : strerror(-r));
		goto out;
	}
	r = write_all(STDOUT_FILENO, cert, len);
	if (r < 0)
		log_error("cannot write the certificate: %s", strerror(-r));
out:
	free(cert);
	vtpm_backend_unref(backend);
	if (fd >= 0)
		close(fd);
	vtpm_ctx_unref(ctx);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * null-relay: the kernel's floor for the benchmarks.  A vTPM served through
 * libvtpm's relay by a backend that answers every command with a canned
 * TPM_RC_SUCCESS response and emulates nothing.  Only the kernel's own
 * start-up commands (while it registers the chip) go to a real libtpms TPM
 * in a temporary directory: the kernel checks their answers.
 *
 * Usage: null-relay PIDFILE   (prints "/dev/tpmN" once registered, serves
 * until SIGTERM)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <stdlib.h>

#include "vtpm-internal.h"

/* TPM 2 response header: tag TPM_ST_NO_SESSIONS, size, TPM_RC_SUCCESS
 * (TPM 2.0 Part 2, 6.9 and 6.6), then a TPM2B of 16 bytes so that a
 * GetRandom(16) client sees a well-formed answer. */
static const uint8_t canned[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x10, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
};

static struct vtpm_relay *relay;
static struct vtpm_backend *real;	/* until the chip is registered */

static int null_start(void *data) { return real ? vtpm_backend_start(real) : 0; }
static int null_shutdown(void *data) { return real ? vtpm_backend_shutdown(real) : 0; }

static int null_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	if (real)
		return vtpm_backend_process(real, cmd, cmd_len, locality, resp, resp_size,
					    resp_len);
	if (resp_size < sizeof(canned))
		return -ENOSPC;
	memcpy(resp, canned, sizeof(canned));
	*resp_len = sizeof(canned);
	return 0;
}

static void on_term(int sig)
{
	if (relay)
		vtpm_relay_stop(relay);
}

int main(int argc, char *argv[])
{
	const struct vtpm_backend_ops ops = {
		.size = sizeof(ops), .start = null_start, .process = null_process,
		.shutdown = null_shutdown,
	};
	struct vtpm_backend *backend;
	struct vtpm_device *dev;
	struct vtpm_ctx *ctx;
	char tmp[] = "/tmp/null-relay-XXXXXX";
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: null-relay PIDFILE\n");
		return 2;
	}
	if (vtpm_ctx_new(&ctx) < 0 || !mkdtemp(tmp) ||
	    vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, tmp, 0, &real) < 0 ||
	    vtpm_backend_start(real) < 0 ||
	    vtpm_backend_new(ctx, VTPM_VERSION_2, &ops, NULL, &backend) < 0 ||
	    vtpm_device_new(ctx, VTPM_VERSION_2, &dev) < 0 ||
	    vtpm_relay_new_from_device(dev, backend, &relay) < 0) {
		fprintf(stderr, "null-relay: cannot set up the device\n");
		return 1;
	}
	signal(SIGTERM, on_term);
	/* The kernel's start-up commands get canned successes too. */
	if (vtpm_relay_wait_registered(relay, 30000) < 0) {
		fprintf(stderr, "null-relay: the kernel did not register the device\n");
		return 1;
	}
	/* From now on nothing but canned answers. */
	real = vtpm_backend_unref(real);
	f = fopen(argv[1], "w");
	if (!f)
		return 1;
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	printf("%s\n", vtpm_device_get_path(dev, VTPM_NODE_TPM));
	fflush(stdout);
	vtpm_relay_run(relay);
	vtpm_relay_unref(relay);
	vtpm_device_unref(dev);
	vtpm_backend_unref(backend);
	vtpm_ctx_unref(ctx);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * create-vtpm: the smallest complete libvtpm program, as in the README.
 * Creates a TPM 2 device pair answered by an in-process libtpms TPM whose
 * state lives in STATE_DIR, prints its resource-manager node and serves it
 * until SIGINT or SIGTERM.
 *
 *	cc create-vtpm.c $(pkg-config --cflags --libs libvtpm) -o create-vtpm
 *	sudo ./create-vtpm /var/lib/vtpm/web1
 *
 * Exit status: 0 after a clean stop; 1 on failure, with one line on stderr;
 * 2 for a usage error.  VTPMX=PATH replaces /dev/vtpmx (for tests).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vtpm/vtpm.h>

static struct vtpm_relay *relay;

static void on_signal(int sig)
{
	(void)sig;
	vtpm_relay_stop(relay); /* async-signal-safe */
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "create-vtpm: %s: %s\n", what, strerror(-err));
	return 1;
}

int main(int argc, char *argv[])
{
	struct vtpm_ctx *ctx = NULL;
	struct vtpm_backend *tpm = NULL;
	struct vtpm_device *dev = NULL;
	const char *vtpmx = getenv("VTPMX");
	int status = 1;
	int r;

	if (argc != 2) {
		fprintf(stderr, "Usage: create-vtpm STATE_DIR\n");
		return 2;
	}

	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return fail("creating the library context", r);
	if (vtpmx && (r = vtpm_ctx_set_path(ctx, VTPM_PATH_VTPMX, vtpmx)) < 0) {
		fail("VTPMX", r);
		goto out;
	}

	r = vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, argv[1], 0, &tpm);
	if (r < 0) {
		fail(argv[1], r);
		goto out;
	}

	/* Start the TPM before the kernel sees it: registration is then quick. */
	r = vtpm_backend_startup(tpm, 0, NULL);
	if (r < 0) {
		fail("starting the TPM", r);
		goto out;
	}

	r = vtpm_device_new(ctx, VTPM_VERSION_2, &dev); /* needs CAP_SYS_ADMIN */
	if (r == -ENOENT) {
		fprintf(stderr, "create-vtpm: %s not found: load the module with "
				"'modprobe tpm_vtpm_proxy'\n",
			vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX));
		goto out;
	}
	if (r < 0) {
		fail("creating the device pair", r);
		goto out;
	}

	r = vtpm_relay_new_from_device(dev, tpm, &relay);
	if (r < 0) {
		fail("binding the device to the TPM", r);
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	vtpm_process_reset_signals(ctx); /* a parent's blocked SIGTERM stays ours */

	r = vtpm_relay_wait_registered(relay, 10000); /* serves the kernel's start-up */
	if (r < 0) {
		fail("waiting for the kernel to register the device", r);
		goto out;
	}
	printf("%s\n", vtpm_device_get_path(dev, VTPM_NODE_TPMRM));
	fflush(stdout);

	r = vtpm_relay_run(relay); /* until vtpm_relay_stop() */
	if (r < 0) {
		fail("serving", r);
		goto out;
	}
	r = vtpm_backend_shutdown(tpm); /* saves the state */
	if (r < 0) {
		fail("saving the state", r);
		goto out;
	}
	status = 0;
out:
	vtpm_relay_unref(relay);
	vtpm_device_unref(dev);
	vtpm_backend_unref(tpm);
	vtpm_ctx_unref(ctx);
	return status;
}

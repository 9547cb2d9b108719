/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A control endpoint for tests that need no kernel: an in-process libtpms
 * TPM 2 in STATE_DIR whose relay serves one end of a socketpair, and whose
 * control channel listens on SOCKET.  Runs until a client sends CMD_SHUTDOWN
 * (exit 0) or SIGTERM (exit 0); exit 1 on errors.
 *
 * Usage: ctrl-server STATE_DIR SOCKET
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vtpm/vtpm.h>

static struct vtpm_relay *relay;

static void on_term(int sig)
{
	vtpm_relay_stop(relay);
}

int main(int argc, char *argv[])
{
	struct vtpm_ctx *ctx = NULL;
	struct vtpm_backend *backend = NULL;
	struct vtpm_ctrl *ctrl = NULL;
	int sv[2], r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s STATE_DIR SOCKET\n", argv[0]);
		return 2;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	r = vtpm_ctx_new(&ctx);
	if (r == 0)
		r = vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, argv[1], 0, &backend);
	if (r == 0)
		r = vtpm_relay_new_from_fd(backend, sv[0], &relay);
	if (r == 0)
		r = vtpm_ctrl_new_from_address(backend, argv[2], NULL, &ctrl);
	if (r == 0)
		r = vtpm_relay_attach_ctrl(relay, ctrl);
	if (r < 0) {
		fprintf(stderr, "ctrl-server: %s\n", strerror(-r));
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGPIPE, SIG_IGN);
	r = vtpm_relay_run(relay);
	vtpm_ctrl_unref(ctrl);
	vtpm_relay_unref(relay);
	vtpm_backend_unref(backend);
	vtpm_ctx_unref(ctx);
	close(sv[0]);
	close(sv[1]);
	return r < 0 ? 1 : 0;
}

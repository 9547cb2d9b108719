/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the control channel client (lib/ctrl-client.c): how
 * it reads what a server answers.  The server is whoever listens at the
 * address, so every byte of its answer is untrusted.
 *
 * The first input byte picks the command; the rest is the byte stream the
 * server sends back over a socketpair, whose server side then closes.
 * Invariants: no crash, no leak, no hang; an answer that claims more than
 * it sends ends in an error, and what succeeds is within its bounds.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vtpm-internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Larger inputs are cut: the socket buffer must take the whole stream. */
#define FUZZ_CLIENT_MAX_INPUT (64 * 1024)
/* A GET_INFO text, and a state blob, are never larger than this. */
#define FUZZ_CLIENT_INFO_MAX (64 * 1024)
#define FUZZ_CLIENT_BLOB_MAX (1024 * 1024)

static struct vtpm_ctx *ctx;
static struct vtpm_ctrl_client *client;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-ctrl-client: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	/* Nobody listens there: a reconnect fails at once. */
	if (vtpm_ctrl_client_new(ctx, "unix:/nonexistent/fuzz-ctrl-client.sock", 1000, &client) < 0)
		die("client");
	return 0;
}

static void run_command(uint8_t which)
{
	uint8_t *blob = NULL;
	size_t blob_len = 0;
	char *info = NULL;
	uint32_t caps;
	int est = -1, r;

	switch (which % 8) {
	case 0:
		vtpm_ctrl_client_get_capability(client, &caps);
		break;
	case 1:
		r = vtpm_ctrl_client_get_established(client, &est);
		if (r == 0 && est != 0 && est != 1)
			die("established is neither 0 nor 1");
		break;
	case 2:
		r = vtpm_ctrl_client_get_info(client, 1, &info);
		if (r == 0 && strlen(info) > FUZZ_CLIENT_INFO_MAX)
			die("info beyond its bound");
		free(info);
		break;
	case 3:
	case 4:
	case 5:
		r = vtpm_ctrl_client_get_state(client, (enum vtpm_state_type)(which % 8 - 2), &blob,
					       &blob_len);
		if (r == 0 && blob_len > FUZZ_CLIENT_BLOB_MAX)
			die("state blob beyond its bound");
		free(blob);
		break;
	case 6:
		vtpm_ctrl_client_init(client, VTPM_CTRL_INIT_DELETE_VOLATILE);
		break;
	default:
		vtpm_ctrl_client_set_locality(client, 3);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2], buf = 4 * FUZZ_CLIENT_MAX_INPUT;

	if (size < 1)
		return 0;
	if (size > FUZZ_CLIENT_MAX_INPUT)
		size = FUZZ_CLIENT_MAX_INPUT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (size > 1 && write(sv[1], data + 1, size - 1) != (ssize_t)(size - 1))
		die("the socket did not take the whole input");
	shutdown(sv[1], SHUT_WR);
	if (vtpm_ctrl_client_adopt_fd(client, sv[0]) < 0)
		die("adopt");
	run_command(data[0]);
	/* The request went to sv[1]'s receive buffer; nobody reads it. */
	close(sv[1]);
	return 0;
}

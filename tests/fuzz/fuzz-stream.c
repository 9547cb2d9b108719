/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the framing of TPM commands on a virtual machine's
 * data channel (a stream socket, vtpm_relay_new_from_ctrl()), with a backend
 * that checks what reaches it.
 *
 * The input is the byte stream the peer sends, in chunks: each chunk is a
 * 1-byte length and that many bytes, written and then served, so commands
 * arrive split and coalesced in every way.  Then the peer closes.
 * Invariants: the backend sees only well-formed commands; every response
 * is well-framed; the relay answers without waiting for bytes that never
 * come, and notices the peer leaving.
 */
#include "config.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrl-proto.h"
#include "vtpm-internal.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Dispatch rounds before a relay that will not finish is a bug. */
#define FUZZ_STREAM_MAX_ROUNDS 10000

static struct vtpm_ctx *ctx;
static struct vtpm_backend *backend;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-stream: %s\n", what);
	abort();
}

static int checking_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			    uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	if (vtpm_wire_check_command(VTPM_VERSION_2, cmd, cmd_len, VTPM_BUFFER_SIZE) != 0)
		die("a malformed command reached the backend");
	*resp_len = vtpm_wire_build_response(VTPM_VERSION_2, 0, resp);
	return 0;
}

static int nop(void *data)
{
	return 0;
}

static const struct vtpm_backend_ops checking_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = nop,
	.process = checking_process,
	.shutdown = nop,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	if (vtpm_backend_new(ctx, VTPM_VERSION_2, &checking_ops, NULL, &backend) < 0)
		die("backend");
	return 0;
}

/* Read and check the responses waiting on @fd; returns how many bytes. */
static size_t drain_responses(int fd, uint8_t *buf, size_t *have)
{
	size_t total = 0;

	for (;;) {
		ssize_t n = recv(fd, buf + *have, 2 * VTPM_BUFFER_SIZE - *have, MSG_DONTWAIT);

		if (n <= 0)
			break;
		*have += (size_t)n;
		total += (size_t)n;
		while (*have >= TPM_HEADER_SIZE) {
			uint32_t len = get_be32(buf + 2);

			if (len < TPM_HEADER_SIZE || len > VTPM_BUFFER_SIZE)
				die("response of impossible size");
			if (*have < len)
				break;
			if (!vtpm_wire_response_is_valid(VTPM_VERSION_2, buf, len, VTPM_BUFFER_SIZE))
				die("malformed response");
			memmove(buf, buf + len, *have - len);
			*have -= len;
		}
	}
	return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t responses[2 * VTPM_BUFFER_SIZE];
	struct vtpm_relay *relay;
	struct vtpm_ctrl *ctrl;
	size_t have = 0;
	int cv[2], dv[2], r = 0, bufsize = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, cv) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dv) < 0)
		die("socketpair");
	setsockopt(dv[1], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	setsockopt(dv[0], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
	if (vtpm_ctrl_new_from_fd(backend, cv[0], &ctrl) < 0)
		die("ctrl");
	close(cv[0]); /* the endpoint keeps its own duplicate */
	if (vtpm_relay_new_from_ctrl(ctrl, &relay) < 0)
		die("relay");
	/* What SET_DATAFD does, without the control round trip. */
	if (vtpm_relay_set_data_fd(relay, dv[0]) < 0)
		die("set_data_fd");
	if (vtpm_backend_start(backend) < 0)
		die("start");

	while (size > 0) {
		size_t len = data[0];

		data++;
		size--;
		if (len > size)
			len = size;
		if (len && write(dv[1], data, len) != (ssize_t)len)
			die("write");
		data += len;
		size -= len;
		/* Serve everything that can be served now. */
		for (int round = 0; round < FUZZ_STREAM_MAX_ROUNDS; round++) {
			r = vtpm_relay_dispatch(relay);
			if (r <= 0)
				break;
			drain_responses(dv[1], responses, &have);
		}
		if (r < 0)
			die("the relay failed while its peer was there");
	}
	shutdown(dv[1], SHUT_WR);
	for (int round = 0; round < FUZZ_STREAM_MAX_ROUNDS && r != -EPIPE; round++) {
		r = vtpm_relay_dispatch(relay);
		drain_responses(dv[1], responses, &have);
	}
	if (r != -EPIPE || vtpm_relay_get_fd(relay) != -1)
		die("the relay did not notice its peer left");
	vtpm_relay_unref(relay);
	vtpm_ctrl_unref(ctrl);
	vtpm_backend_shutdown(backend);
	close(cv[1]);
	close(dv[1]);
	return 0;
}

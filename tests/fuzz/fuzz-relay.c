/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the relay's own command path: framing, validation
 * and set-locality, with a backend that checks what reaches it.
 *
 * The input is a sequence of messages, each a 2-byte big-endian length and
 * that many bytes, delivered one message per read as the proxy fd does.
 * Invariants: every message gets exactly one well-framed response; the
 * backend sees only well-formed commands, never set-locality, and always
 * with the locality last set successfully.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vtpm-internal.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vtpm_relay *relay;
static int client_fd;
static uint8_t expected_locality;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-relay: %s\n", what);
	abort();
}

/* Answers like a TPM; a command's first body byte picks a misbehaviour. */
static int checking_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			    uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	struct tpm_header hdr;

	if (vtpm_wire_check_command(VTPM_VERSION_2, cmd, cmd_len, VTPM_BUFFER_SIZE) != 0)
		die("a malformed command reached the backend");
	vtpm_wire_parse_header(cmd, cmd_len, &hdr);
	if (hdr.code == VTPM_CC_SET_LOCALITY)
		die("set-locality reached the backend");
	if (locality != expected_locality)
		die("wrong locality passed to the backend");

	switch (cmd_len > TPM_HEADER_SIZE ? cmd[TPM_HEADER_SIZE] : 0) {
	case 0xf0:
		return -EIO;
	case 0xf1: /* a response whose header lies */
		vtpm_wire_build_response(VTPM_VERSION_2, 0, resp);
		put_be32(resp + 2, 64);
		*resp_len = TPM_HEADER_SIZE;
		return 0;
	case 0xf2: /* the largest response */
		memset(resp, 0, resp_size);
		vtpm_wire_build_response(VTPM_VERSION_2, 0, resp);
		put_be32(resp + 2, (uint32_t)resp_size);
		*resp_len = resp_size;
		return 0;
	}
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
	struct vtpm_backend *backend;
	struct vtpm_ctx *ctx;
	int sv[2], size = 1 << 20;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	if (vtpm_backend_new(ctx, VTPM_VERSION_2, &checking_ops, NULL, &backend) < 0)
		die("backend");
	if (vtpm_relay_new_from_fd(backend, sv[0], &relay) < 0)
		die("relay");
	client_fd = sv[1];
	return 0;
}

static void transact(const uint8_t *msg, size_t len)
{
	uint8_t resp[VTPM_BUFFER_SIZE + 1];
	struct tpm_header hdr;
	ssize_t n;

	if (write(client_fd, msg, len) != (ssize_t)len)
		die("write");
	if (vtpm_relay_dispatch(relay) != 1)
		die("the relay did not answer a message");
	n = read(client_fd, resp, sizeof(resp));
	if (n < TPM_HEADER_SIZE || n > VTPM_BUFFER_SIZE)
		die("response of impossible size");
	if (!vtpm_wire_response_is_valid(VTPM_VERSION_2, resp, (size_t)n, VTPM_BUFFER_SIZE))
		die("malformed response");
	/* A well-formed set-locality that succeeded moves the locality. */
	vtpm_wire_parse_header(msg, len, &hdr);
	if (len == VTPM_SET_LOCALITY_SIZE && hdr.code == VTPM_CC_SET_LOCALITY &&
	    get_be32(resp + 6) == 0)
		expected_locality = msg[TPM_HEADER_SIZE];
	if (vtpm_relay_get_locality(relay) != expected_locality)
		die("relay locality out of step");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size >= 2) {
		size_t len = (size_t)get_be16(data);

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (len > 0)
			transact(data, len);
		data += len;
		size -= len;
	}
	return 0;
}

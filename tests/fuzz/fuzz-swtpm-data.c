/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the swtpm backend's data channel (lib/backend-swtpm.c):
 * how it frames the responses swtpm sends back.  swtpm is a separate
 * process, so its bytes are untrusted.
 *
 * The input is the byte stream swtpm sends on the data socket (a
 * socketpair whose other side then closes); the control channel answers
 * CMD_GET_TPMESTABLISHED and CMD_SET_LOCALITY with success.  Commands are
 * sent until the backend reports an error.  Invariants: no crash, leak or
 * hang; every response handed up is a whole TPM response within the
 * caller's buffer, its header's size equal to its length.
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

/* Larger inputs are cut: the socket buffer must take the whole stream. */
#define FUZZ_SWTPM_MAX_INPUT (64 * 1024)
/* A response buffer smaller than the driver's, so that "too long" is reachable. */
#define FUZZ_SWTPM_RESP_SIZE 1024

static struct vtpm_ctx *ctx;
/* The far sides, closed after the input: until then our writes are taken. */
static int far[4];
static size_t n_far;

/* TPM2_Startup(SU_CLEAR): TPM 2.0 Library Part 3, 9.3. */
static const uint8_t startup[] = { 0x80, 0x01, 0, 0, 0, 0x0c, 0, 0, 0x01, 0x44, 0, 0 };

static void die(const char *what)
{
	fprintf(stderr, "fuzz-swtpm-data: %s\n", what);
	abort();
}

/* A socketpair whose far side has already said @len bytes and closed. */
static int stream_of(const uint8_t *bytes, size_t len)
{
	int sv[2], buf = 4 * FUZZ_SWTPM_MAX_INPUT;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	if (len && write(sv[1], bytes, len) != (ssize_t)len)
		die("the socket did not take the whole input");
	shutdown(sv[1], SHUT_WR);
	if (n_far == sizeof(far) / sizeof(far[0]))
		die("too many streams");
	far[n_far++] = sv[1];
	return sv[0];
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t ctrl_ok[8]; /* result 0 (and established 0) */
	struct vtpm_backend *backend;
	uint8_t resp[FUZZ_SWTPM_RESP_SIZE];
	struct tpm_header hdr;
	size_t resp_len;

	if (size > FUZZ_SWTPM_MAX_INPUT)
		size = FUZZ_SWTPM_MAX_INPUT;
	/* Nobody listens there: a reconnect fails at once. */
	if (vtpm_backend_new_swtpm(ctx, VTPM_VERSION_2, "unix:/nonexistent/fuzz-data.sock",
				   "unix:/nonexistent/fuzz-ctrl.sock", 1000, &backend) < 0)
		die("backend");
	vtpm_backend_swtpm_adopt_fds(backend, -1, stream_of(ctrl_ok, sizeof(ctrl_ok)));
	if (vtpm_backend_start(backend) < 0)
		die("start");
	vtpm_backend_swtpm_adopt_fds(backend, stream_of(data, size), stream_of(ctrl_ok, 4));

	for (;;) {
		resp_len = 0;
		if (vtpm_backend_process(backend, startup, sizeof(startup), 0, resp, sizeof(resp),
					 &resp_len) < 0)
			break;
		if (resp_len < TPM_HEADER_SIZE || resp_len > sizeof(resp))
			die("response length out of bounds");
		vtpm_wire_parse_header(resp, resp_len, &hdr);
		if (hdr.size != resp_len)
			die("response length differs from its header");
	}
	/* Stopping takes a control answer too. */
	vtpm_backend_swtpm_adopt_fds(backend, -1, stream_of(ctrl_ok, 4));
	vtpm_backend_unref(backend);
	while (n_far)
		close(far[--n_far]);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the control channel's request parser and dispatcher
 * (swtpm's control protocol, lib/ctrl.c) over a socketpair, with a fake
 * backend that keeps its state blobs in memory.
 *
 * The input is the byte stream a client sends, then its write side closes.
 * The endpoint serves a relay from vtpm_relay_new_from_ctrl(), so SET_DATAFD
 * (here never with a descriptor) and SET_BUFFERSIZE reach the relay.
 * Invariants: the endpoint neither crashes nor leaks, never writes more
 * than a response per request, and always ends with -EPIPE once the
 * client is gone (it never waits for bytes that cannot come).
 */
#include "config.h"

#include <fcntl.h>
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
#define FUZZ_CTRL_MAX_INPUT (64 * 1024)
/* Dispatch rounds before an endpoint that will not finish is a bug. */
#define FUZZ_CTRL_MAX_ROUNDS 100000

static struct vtpm_ctx *ctx;
static struct vtpm_backend *backend;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-ctrl: %s\n", what);
	abort();
}

struct fake_tpm {
	uint8_t *blob[VTPM_STATE_SAVESTATE + 1];
	size_t blob_len[VTPM_STATE_SAVESTATE + 1];
	int established;
};

static struct fake_tpm fake;

static int nop(void *data)
{
	return 0;
}

static int fake_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	*resp_len = vtpm_wire_build_response(VTPM_VERSION_2, 0, resp);
	return 0;
}

static int fake_get_state(void *data, enum vtpm_state_type type, uint8_t **blob, size_t *len)
{
	struct fake_tpm *t = data;

	if (type < VTPM_STATE_PERMANENT || type > VTPM_STATE_SAVESTATE)
		die("get_state: bad type");
	if (!t->blob[type])
		return -ENOENT;
	*blob = malloc(t->blob_len[type] ? t->blob_len[type] : 1);
	if (!*blob)
		return -ENOMEM;
	memcpy(*blob, t->blob[type], t->blob_len[type]);
	*len = t->blob_len[type];
	return 0;
}

static int fake_set_state(void *data, enum vtpm_state_type type, const uint8_t *blob, size_t len)
{
	struct fake_tpm *t = data;
	uint8_t *copy;

	if (type < VTPM_STATE_PERMANENT || type > VTPM_STATE_SAVESTATE)
		die("set_state: bad type");
	copy = malloc(len ? len : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, blob, len);
	free(t->blob[type]);
	t->blob[type] = copy;
	t->blob_len[type] = len;
	return 0;
}

static int fake_get_info(void *data, uint64_t flags, char **info)
{
	*info = strdup("{}");
	return *info ? 0 : -ENOMEM;
}

static int fake_get_established(void *data, int *established)
{
	*established = ((struct fake_tpm *)data)->established;
	return 0;
}

static int fake_reset_established(void *data, uint8_t locality)
{
	if (locality < 3)
		return -EPERM;
	((struct fake_tpm *)data)->established = 0;
	return 0;
}

static const struct vtpm_backend_ops fake_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = nop,
	.process = fake_process,
	.shutdown = nop,
	.get_state = fake_get_state,
	.set_state = fake_set_state,
	.get_info = fake_get_info,
	.get_established = fake_get_established,
	.reset_established = fake_reset_established,
	.store_volatile = nop,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	if (vtpm_backend_new(ctx, VTPM_VERSION_2, &fake_ops, &fake, &backend) < 0)
		die("backend");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtpm_ctrl *ctrl;
	struct vtpm_relay *relay;
	uint8_t sink[8192];
	int sv[2], buf = 4 * FUZZ_CTRL_MAX_INPUT, r = 0;

	if (size > FUZZ_CTRL_MAX_INPUT)
		size = FUZZ_CTRL_MAX_INPUT;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if (size && write(sv[1], data, size) != (ssize_t)size)
		die("the socket did not take the whole input");
	shutdown(sv[1], SHUT_WR);
	if (vtpm_ctrl_new_from_fd(backend, sv[0], &ctrl) < 0)
		die("ctrl");
	close(sv[0]); /* the endpoint keeps its own duplicate */
	if (vtpm_relay_new_from_ctrl(ctrl, &relay) < 0)
		die("relay");

	for (int round = 0; round < FUZZ_CTRL_MAX_ROUNDS; round++) {
		r = vtpm_ctrl_dispatch(ctrl);
		while (read(sv[1], sink, sizeof(sink)) > 0)
			;
		if (r < 0)
			break;
	}
	if (r != -EPIPE)
		die("the endpoint did not notice its client left");
	if (vtpm_relay_get_fd(relay) >= 0)
		die("a data channel appeared without a descriptor");
	vtpm_relay_unref(relay);
	vtpm_ctrl_unref(ctrl);
	vtpm_backend_shutdown(backend);
	close(sv[1]);
	return 0;
}

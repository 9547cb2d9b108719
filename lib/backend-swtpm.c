/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The swtpm backend: an external "swtpm socket" process answers the TPM
 * commands, so existing swtpm deployments get our device and container
 * plumbing.  See vtpm_backend_new_swtpm() in backend.h.
 *
 * Data channel: swtpm's --server socket is a byte stream of plain TPM
 * commands and responses (the MS simulator's TPM_SEND_COMMAND framing is for
 * --server type=tcp with a TCG prefix, which swtpm detects but does not
 * need: src/swtpm/tpmlib.c, tpmlib_handle_tcg_tpm2_cmd_header()).  A
 * response is read as its 10-byte header, then as many bytes as the header's
 * size says.  The locality travels on the control channel.
 */
#include "config.h"

#include <string.h>

#include "ctrl-proto.h"
#include "socket-util.h"
#include "vtpm-internal.h"
#include "wire.h"

struct swtpm_backend {
	struct vtpm_ctx *ctx;
	struct vtpm_sockaddr data_sa;
	struct vtpm_ctrl_client *ctrl;
	int data_fd;
	int timeout_ms;
	int sent_locality; /* last CMD_SET_LOCALITY, -1 if unknown */
};

static void data_disconnect(struct swtpm_backend *b)
{
	if (b->data_fd >= 0) {
		close(b->data_fd);
		b->data_fd = -1;
	}
}

/* Map a failed control command onto an errno the backend interface uses. */
static int ctrl_error(struct swtpm_backend *b, const char *what, int r)
{
	if (r == -EIO) {
		uint32_t res = vtpm_ctrl_client_get_result(b->ctrl);

		err(b->ctx, "swtpm refused %s: result 0x%x", what, res);
		if (res == PTM_RES_BAD_ORDINAL)
			return -ENXIO; /* not in this power state */
		if (res == PTM_RES_BAD_LOCALITY)
			return -EPERM;
		return -EIO;
	}
	if (r != -ENOENT)
		err(b->ctx, "swtpm control channel: %s failed: %s", what, strerror(-r));
	return r;
}

static int swtpm_start(void *data)
{
	struct swtpm_backend *b = data;
	int established, r;

	b->sent_locality = -1;
	/* Answered only by a running TPM: keep its state if it already runs. */
	r = vtpm_ctrl_client_get_established(b->ctrl, &established);
	if (r == 0)
		return 0;
	if (r != -EIO)
		return ctrl_error(b, "CMD_GET_TPMESTABLISHED", r);
	r = vtpm_ctrl_client_init(b->ctrl, VTPM_CTRL_INIT_DELETE_VOLATILE);
	return r < 0 ? ctrl_error(b, "CMD_INIT", r) : 0;
}

/* One command on the data channel; -EPIPE means the connection was stale. */
static int data_transact(struct swtpm_backend *b, const uint8_t *cmd, size_t cmd_len,
			 uint8_t *resp, size_t resp_size, size_t *resp_len, int64_t deadline,
			 bool *sent_nothing)
{
	struct tpm_header hdr;
	size_t got = 0;
	int r;

	*sent_nothing = true;
	r = vtpm_socket_write_all(b->data_fd, cmd, cmd_len, deadline);
	if (r < 0)
		return r;
	r = vtpm_socket_read_all(b->data_fd, resp, TPM_HEADER_SIZE, deadline, &got);
	if (r < 0) {
		/* EOF before any byte: swtpm closed the connection before it. */
		*sent_nothing = got == 0 && r == -EPIPE;
		return r;
	}
	*sent_nothing = false;
	vtpm_wire_parse_header(resp, TPM_HEADER_SIZE, &hdr);
	if (hdr.size < TPM_HEADER_SIZE || hdr.size > resp_size) {
		err(b->ctx, "swtpm sent a response of %u bytes: out of sync", hdr.size);
		return -EPROTO;
	}
	r = vtpm_socket_read_all(b->data_fd, resp + TPM_HEADER_SIZE, hdr.size - TPM_HEADER_SIZE,
				 deadline, NULL);
	if (r < 0)
		return r;
	*resp_len = hdr.size;
	return 0;
}

static int swtpm_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			 uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	struct swtpm_backend *b = data;
	int64_t deadline = vtpm_now_ms() + b->timeout_ms;
	bool sent_nothing;
	int r;

	if (b->sent_locality != locality) {
		r = vtpm_ctrl_client_set_locality(b->ctrl, locality);
		if (r < 0)
			return ctrl_error(b, "CMD_SET_LOCALITY", r);
		b->sent_locality = locality;
	}

	for (int attempt = 0;; attempt++) {
		bool reused = b->data_fd >= 0;

		if (!reused) {
			r = vtpm_socket_connect(&b->data_sa, deadline);
			if (r < 0) {
				err(b->ctx, "cannot connect to swtpm's data channel: %s", r == -EPERM ?
				    "the process listening there runs as another user" : strerror(-r));
				return r;
			}
			b->data_fd = r;
		}
		r = data_transact(b, cmd, cmd_len, resp, resp_size, resp_len, deadline, &sent_nothing);
		if (r == 0)
			return 0;
		/* A late response would answer the next command: never reuse. */
		data_disconnect(b);
		if (r == -EPIPE && reused && sent_nothing && attempt == 0) {
			dbg(b->ctx, "swtpm closed the data connection; reconnecting");
			continue;
		}
		err(b->ctx, "swtpm data channel: %s", r == -ETIMEDOUT ? "no response in time" : strerror(-r));
		return r;
	}
}

static int swtpm_reset(void *data)
{
	struct swtpm_backend *b = data;
	int r;

	b->sent_locality = -1;
	r = vtpm_ctrl_client_init(b->ctrl, VTPM_CTRL_INIT_DELETE_VOLATILE);
	return r < 0 ? ctrl_error(b, "CMD_INIT", r) : 0;
}

static int swtpm_shutdown(void *data)
{
	struct swtpm_backend *b = data;
	int r;

	data_disconnect(b);
	r = vtpm_ctrl_client_stop(b->ctrl);
	return r < 0 ? ctrl_error(b, "CMD_STOP", r) : 0;
}

static int swtpm_get_state(void *data, enum vtpm_state_type type, uint8_t **blob, size_t *len)
{
	struct swtpm_backend *b = data;
	int r = vtpm_ctrl_client_get_state(b->ctrl, type, blob, len);

	return r < 0 ? ctrl_error(b, "CMD_GET_STATEBLOB", r) : 0;
}

static int swtpm_set_state(void *data, enum vtpm_state_type type, const uint8_t *blob, size_t len)
{
	struct swtpm_backend *b = data;
	int r = vtpm_ctrl_client_set_state(b->ctrl, type, blob, len);

	return r < 0 ? ctrl_error(b, "CMD_SET_STATEBLOB", r) : 0;
}

static int swtpm_get_info(void *data, uint64_t flags, char **info)
{
	struct swtpm_backend *b = data;
	int r = vtpm_ctrl_client_get_info(b->ctrl, flags, info);

	return r < 0 ? ctrl_error(b, "CMD_GET_INFO", r) : 0;
}

static int swtpm_get_established(void *data, int *established)
{
	struct swtpm_backend *b = data;
	int r = vtpm_ctrl_client_get_established(b->ctrl, established);

	return r < 0 ? ctrl_error(b, "CMD_GET_TPMESTABLISHED", r) : 0;
}

static int swtpm_reset_established(void *data, uint8_t locality)
{
	struct swtpm_backend *b = data;
	int r = vtpm_ctrl_client_reset_established(b->ctrl, locality);

	return r < 0 ? ctrl_error(b, "CMD_RESET_TPMESTABLISHED", r) : 0;
}

static int swtpm_store_volatile(void *data)
{
	struct swtpm_backend *b = data;
	int r = vtpm_ctrl_client_store_volatile(b->ctrl);

	return r < 0 ? ctrl_error(b, "CMD_STORE_VOLATILE", r) : 0;
}

static void swtpm_free(void *data)
{
	struct swtpm_backend *b = data;

	data_disconnect(b);
	vtpm_ctrl_client_unref(b->ctrl);
	vtpm_ctx_unref(b->ctx);
	free(b);
}

static const struct vtpm_backend_ops swtpm_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = swtpm_start,
	.process = swtpm_process,
	.reset = swtpm_reset,
	.shutdown = swtpm_shutdown,
	.get_state = swtpm_get_state,
	.set_state = swtpm_set_state,
	.free = swtpm_free,
	.get_info = swtpm_get_info,
	.get_established = swtpm_get_established,
	.reset_established = swtpm_reset_established,
	.store_volatile = swtpm_store_volatile,
};

void vtpm_backend_swtpm_adopt_fds(struct vtpm_backend *backend, int data_fd, int ctrl_fd)
{
	struct swtpm_backend *b = vtpm_backend_get_data(backend);

	if (data_fd >= 0) {
		data_disconnect(b);
		b->data_fd = data_fd;
	}
	if (ctrl_fd >= 0)
		vtpm_ctrl_client_adopt_fd(b->ctrl, ctrl_fd);
}

VTPM_EXPORT int vtpm_backend_new_swtpm(struct vtpm_ctx *ctx, enum vtpm_version version,
				       const char *data_address, const char *ctrl_address,
				       int timeout_ms, struct vtpm_backend **backend)
{
	struct swtpm_backend *b;
	int r;

	if (version != VTPM_VERSION_1_2 && version != VTPM_VERSION_2)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ctx = vtpm_ctx_ref(ctx);
	b->data_fd = -1;
	b->sent_locality = -1;
	b->timeout_ms = timeout_ms > 0 ? timeout_ms : VTPM_SWTPM_TIMEOUT_MS;

	r = vtpm_sockaddr_parse(data_address, &b->data_sa);
	if (r < 0) {
		vtpm_sockaddr_explain(ctx, "swtpm data channel", data_address, r);
		goto fail;
	}
	/* Explains its own refusal. */
	r = vtpm_ctrl_client_new(ctx, ctrl_address, b->timeout_ms, &b->ctrl);
	if (r < 0)
		goto fail;
	r = vtpm_backend_new(ctx, version, &swtpm_ops, b, backend);
	if (r < 0)
		goto fail;
	return 0;

fail:
	swtpm_free(b);
	return r;
}

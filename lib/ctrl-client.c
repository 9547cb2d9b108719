/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A client of swtpm's control protocol (ours or swtpm's own endpoint); see
 * ctrl.h.  Blocking, each command bounded by the client's timeout.
 *
 * swtpm answers some failures with the result alone (4 bytes) where success
 * brings a longer response (ctrlchannel.c: err_bad_input, err_not_running),
 * so the rest of a failed response cannot be framed: after a non-zero
 * result the connection is closed.  It is closed after every command anyway
 * (see the end of this file).
 */
#include "config.h"

#include <string.h>

#include "ctrl-proto.h"
#include "socket-util.h"
#include "vtpm-internal.h"
#include "wire.h"

/* Sanity limit for a GET_STATEBLOB response (the wrapping adds a little). */
#define STATE_RESPONSE_MAX (2 * PTM_STATE_BLOB_MAX)
/*
 * Sanity limit for the whole GET_INFO text: TPMLIB_GetInfo()'s JSON with
 * every flag is a few KiB (libtpms' tpm_library.c); the server chooses the
 * total it announces, so it is bounded before anything is allocated.
 */
#define INFO_TOTAL_MAX (64u * 1024)

struct vtpm_ctrl_client {
	int refcount;
	struct vtpm_ctx *ctx;
	struct vtpm_sockaddr sa;
	int timeout_ms;
	int fd;
	uint32_t result;
};

VTPM_EXPORT int vtpm_ctrl_client_new(struct vtpm_ctx *ctx, const char *address, int timeout_ms,
				     struct vtpm_ctrl_client **out)
{
	struct vtpm_ctrl_client *c;
	struct vtpm_sockaddr sa;
	int r;

	r = vtpm_sockaddr_parse(address, &sa);
	if (r < 0) {
		vtpm_sockaddr_explain(ctx, "control channel", address, r);
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->refcount = 1;
	c->ctx = vtpm_ctx_ref(ctx);
	c->sa = sa;
	c->timeout_ms = timeout_ms > 0 ? timeout_ms : VTPM_CTRL_TIMEOUT_MS;
	c->fd = -1;
	*out = c;
	return 0;
}

static void client_disconnect(struct vtpm_ctrl_client *c)
{
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
}

VTPM_EXPORT struct vtpm_ctrl_client *vtpm_ctrl_client_ref(struct vtpm_ctrl_client *c)
{
	if (c)
		c->refcount++;
	return c;
}

VTPM_EXPORT struct vtpm_ctrl_client *vtpm_ctrl_client_unref(struct vtpm_ctrl_client *c)
{
	if (!c || --c->refcount > 0)
		return NULL;
	client_disconnect(c);
	vtpm_ctx_unref(c->ctx);
	free(c);
	return NULL;
}

int vtpm_ctrl_client_adopt_fd(struct vtpm_ctrl_client *c, int fd)
{
	if (fd < 0)
		return -EBADF;
	client_disconnect(c);
	c->fd = fd;
	return 0;
}

VTPM_EXPORT uint32_t vtpm_ctrl_client_get_result(const struct vtpm_ctrl_client *c)
{
	return c->result;
}

/*
 * Send command @cmd with @req (and @data after it), then read the result.
 * On success (result 0) the caller reads the rest of the response from
 * c->fd.  A connection the server closed while idle is replaced once.
 */
static int send_command(struct vtpm_ctrl_client *c, uint32_t cmd, const uint8_t *req, size_t req_len,
			const uint8_t *data, size_t data_len, int64_t deadline)
{
	uint8_t hdr[PTM_CMD_SIZE + PTM_GETINFO_REQ_SIZE], res[PTM_RES_SIZE_BYTES];
	size_t got;
	int r;

	if (req_len > sizeof(hdr) - PTM_CMD_SIZE)
		return -EINVAL;
	put_be32(hdr, cmd);
	if (req_len)
		memcpy(hdr + PTM_CMD_SIZE, req, req_len);

	for (int attempt = 0;; attempt++) {
		bool reused = c->fd >= 0;

		if (!reused) {
			r = vtpm_socket_connect(&c->sa, deadline);
			if (r == -EPERM)
				err(c->ctx, "the control channel's server runs as another user: "
					    "refusing to talk to it");
			if (r < 0)
				return r;
			c->fd = r;
		}
		r = vtpm_socket_write_all(c->fd, hdr, PTM_CMD_SIZE + req_len, deadline);
		if (r == 0 && data_len)
			r = vtpm_socket_write_all(c->fd, data, data_len, deadline);
		got = 0;
		if (r == 0)
			r = vtpm_socket_read_all(c->fd, res, sizeof(res), deadline, &got);
		if (r == 0)
			break;
		client_disconnect(c);
		/* Stale connection: nothing of a response came; try a new one once. */
		if (r == -EPIPE && reused && got == 0 && attempt == 0) {
			dbg(c->ctx, "control connection was closed; reconnecting");
			continue;
		}
		return r;
	}
	c->result = get_be32(res);
	if (c->result != PTM_RES_SUCCESS) {
		client_disconnect(c);
		return -EIO;
	}
	return 0;
}

static int read_rest(struct vtpm_ctrl_client *c, void *buf, size_t len, int64_t deadline)
{
	int r = vtpm_socket_read_all(c->fd, buf, len, deadline, NULL);

	if (r < 0)
		client_disconnect(c);
	return r;
}

static int64_t deadline_of(const struct vtpm_ctrl_client *c)
{
	return vtpm_now_ms() + c->timeout_ms;
}

/*
 * swtpm serves one control client at a time and lets the others wait
 * without limit, so no connection is kept between commands: each public
 * call ends here.
 */
static int finish(struct vtpm_ctrl_client *c, int r)
{
	client_disconnect(c);
	return r;
}

/* A command whose response is the result and @resp_len bytes more (0: none). */
static int command(struct vtpm_ctrl_client *c, uint32_t cmd, const uint8_t *req, size_t req_len,
		   uint8_t *resp, size_t resp_len)
{
	int64_t deadline = deadline_of(c);
	int r;

	r = send_command(c, cmd, req, req_len, NULL, 0, deadline);
	if (r == 0 && resp_len)
		r = read_rest(c, resp, resp_len, deadline);
	return finish(c, r);
}

static int do_get_info(struct vtpm_ctrl_client *c, uint64_t flags, char **info)
{
	int64_t deadline = deadline_of(c);
	_cleanup_free_ char *buf = NULL;
	size_t total = 0, got = 0;
	int r;

	do {
		uint8_t req[PTM_GETINFO_REQ_SIZE] = { 0 };
		uint8_t hdr[PTM_GETINFO_RESP_HEADER_SIZE - PTM_RES_SIZE_BYTES];
		size_t tot, len;

		put_be32(req, (uint32_t)(flags >> 32));
		put_be32(req + 4, (uint32_t)flags);
		put_be32(req + 8, (uint32_t)got);
		r = send_command(c, PTM_CMD_GET_INFO, req, sizeof(req), NULL, 0, deadline);
		if (r == 0)
			r = read_rest(c, hdr, sizeof(hdr), deadline);
		if (r < 0)
			return r;
		/* Both lengths are the server's word: bound them before use. */
		tot = get_be32(hdr);
		len = get_be32(hdr + 4);
		if (tot == 0 || tot > INFO_TOTAL_MAX || (total && tot != total) ||
		    len > PTM_GETINFO_MAX || len > tot - got || (len == 0 && got < tot)) {
			client_disconnect(c);
			return -EPROTO;
		}
		if (!buf) {
			total = tot;
			buf = malloc(total + 1);
			if (!buf) {
				client_disconnect(c);
				return -ENOMEM;
			}
		}
		r = read_rest(c, buf + got, len, deadline);
		if (r < 0)
			return r;
		got += len;
	} while (got < total);
	buf[total] = '\0';
	*info = TAKE_PTR(buf);
	return 0;
}

static int do_get_state(struct vtpm_ctrl_client *c, enum vtpm_state_type type,
					   uint8_t **blob, size_t *blob_len)
{
	int64_t deadline = deadline_of(c);
	uint8_t req[PTM_GETSTATE_REQ_SIZE], hdr[PTM_GETSTATE_RESP_HEADER_SIZE - PTM_RES_SIZE_BYTES];
	_cleanup_free_ uint8_t *wrapped = NULL;
	uint32_t flags, len;
	int r;

	if (type != VTPM_STATE_PERMANENT && type != VTPM_STATE_VOLATILE && type != VTPM_STATE_SAVESTATE)
		return -EINVAL;
	put_be32(req, PTM_STATE_FLAG_DECRYPTED);
	put_be32(req + 4, (uint32_t)type);
	put_be32(req + 8, 0); /* offset */
	r = send_command(c, PTM_CMD_GET_STATEBLOB, req, sizeof(req), NULL, 0, deadline);
	if (r == -EIO && (c->result & PTM_RES_NON_FATAL))
		return -ENOENT; /* TPM_RETRY: no such blob */
	if (r == 0)
		r = read_rest(c, hdr, sizeof(hdr), deadline);
	if (r < 0)
		return r;
	flags = get_be32(hdr);
	len = get_be32(hdr + 8);
	if (len != get_be32(hdr + 4) || len > STATE_RESPONSE_MAX) {
		client_disconnect(c);
		return -EPROTO;
	}
	if (len == 0)
		return -ENOENT;
	wrapped = malloc(len);
	if (!wrapped) {
		client_disconnect(c);
		return -ENOMEM;
	}
	r = read_rest(c, wrapped, len, deadline);
	if (r < 0)
		return r;
	/* We asked for decrypted state: an encrypted answer is one we cannot read. */
	r = vtpm_ctrl_blob_decode(NULL, flags & PTM_STATE_FLAG_ENCRYPTED, wrapped, len, blob, blob_len);
	return r == -ENOKEY ? -ENOTSUP : r;
}

static int do_set_state(struct vtpm_ctrl_client *c, enum vtpm_state_type type,
					   const uint8_t *blob, size_t blob_len)
{
	_cleanup_free_ uint8_t *wrapped = NULL;
	uint8_t req[PTM_SETSTATE_REQ_HEADER_SIZE];
	size_t len;
	int r;

	if (type != VTPM_STATE_PERMANENT && type != VTPM_STATE_VOLATILE && type != VTPM_STATE_SAVESTATE)
		return -EINVAL;
	r = vtpm_ctrl_blob_encode(NULL, blob, blob_len, &wrapped, &len);
	if (r < 0)
		return r;
	if (len > PTM_STATE_BLOB_MAX)
		return -EFBIG;
	put_be32(req, 0); /* state_flags: not encrypted */
	put_be32(req + 4, (uint32_t)type);
	put_be32(req + 8, (uint32_t)len);
	return send_command(c, PTM_CMD_SET_STATEBLOB, req, sizeof(req), wrapped, len, deadline_of(c));
}

VTPM_EXPORT int vtpm_ctrl_client_get_capability(struct vtpm_ctrl_client *c, uint32_t *caps)
{
	uint8_t resp[PTM_CAP_RESP_SIZE - PTM_RES_SIZE_BYTES];
	int r = command(c, PTM_CMD_GET_CAPABILITY, NULL, 0, resp, sizeof(resp));

	if (r == 0)
		*caps = get_be32(resp);
	return r;
}

VTPM_EXPORT int vtpm_ctrl_client_init(struct vtpm_ctrl_client *c, unsigned int flags)
{
	uint8_t req[PTM_INIT_REQ_SIZE];

	put_be32(req, flags & VTPM_CTRL_INIT_DELETE_VOLATILE ? PTM_INIT_FLAG_DELETE_VOLATILE : 0);
	return command(c, PTM_CMD_INIT, req, sizeof(req), NULL, 0);
}

VTPM_EXPORT int vtpm_ctrl_client_stop(struct vtpm_ctrl_client *c)
{
	return command(c, PTM_CMD_STOP, NULL, 0, NULL, 0);
}

VTPM_EXPORT int vtpm_ctrl_client_shutdown(struct vtpm_ctrl_client *c)
{
	return command(c, PTM_CMD_SHUTDOWN, NULL, 0, NULL, 0);
}

/* The whole ptm_loc, padding included, as QEMU sends it; swtpm reads the first byte. */
VTPM_EXPORT int vtpm_ctrl_client_set_locality(struct vtpm_ctrl_client *c, uint8_t locality)
{
	uint8_t req[PTM_LOC_REQ_SIZE] = { locality };

	return command(c, PTM_CMD_SET_LOCALITY, req, sizeof(req), NULL, 0);
}

VTPM_EXPORT int vtpm_ctrl_client_get_established(struct vtpm_ctrl_client *c, int *established)
{
	uint8_t resp[PTM_EST_RESP_SIZE - PTM_RES_SIZE_BYTES];
	int r = command(c, PTM_CMD_GET_TPMESTABLISHED, NULL, 0, resp, sizeof(resp));

	if (r == 0)
		*established = resp[0] ? 1 : 0;
	return r;
}

VTPM_EXPORT int vtpm_ctrl_client_reset_established(struct vtpm_ctrl_client *c, uint8_t locality)
{
	uint8_t req[PTM_RESET_EST_REQ_SIZE] = { locality };

	return command(c, PTM_CMD_RESET_TPMESTABLISHED, req, sizeof(req), NULL, 0);
}

VTPM_EXPORT int vtpm_ctrl_client_cancel(struct vtpm_ctrl_client *c)
{
	return command(c, PTM_CMD_CANCEL_TPM_CMD, NULL, 0, NULL, 0);
}

VTPM_EXPORT int vtpm_ctrl_client_store_volatile(struct vtpm_ctrl_client *c)
{
	return command(c, PTM_CMD_STORE_VOLATILE, NULL, 0, NULL, 0);
}

VTPM_EXPORT int vtpm_ctrl_client_get_info(struct vtpm_ctrl_client *c, uint64_t flags, char **info)
{
	return finish(c, do_get_info(c, flags, info));
}

VTPM_EXPORT int vtpm_ctrl_client_get_state(struct vtpm_ctrl_client *c, enum vtpm_state_type type,
					   uint8_t **blob, size_t *blob_len)
{
	return finish(c, do_get_state(c, type, blob, blob_len));
}

VTPM_EXPORT int vtpm_ctrl_client_set_state(struct vtpm_ctrl_client *c, enum vtpm_state_type type,
					   const uint8_t *blob, size_t blob_len)
{
	return finish(c, do_set_state(c, type, blob, blob_len));
}

struct vtpm_ctx *vtpm_ctrl_client_get_ctx(const struct vtpm_ctrl_client *client)
{
	return client->ctx;
}

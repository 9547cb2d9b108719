/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control endpoint's command handlers: each request of swtpm's control
 * protocol (ctrl-proto.h) answered for the backend.  The socket server
 * (ctrl-server.c) frames the requests and sends what these put in the
 * response buffer.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctrl-internal.h"
#include "ctrl-proto.h"
#include "wire.h"

/*
 * SET_BUFFERSIZE's limits as swtpm reports them: libtpms's
 * TPMLIB_SetBufferSize() minimum for each family, and the largest command
 * the relay frames (the kernel's and libtpms's maximum alike).
 */
#define BUFFER_MIN_TPM2 2808
#define BUFFER_MIN_TPM12 3072

uint8_t *vtpm_ctrl_out_reserve(struct vtpm_ctrl *ctrl, size_t len)
{
	if (len > ctrl->out_cap) {
		uint8_t *p = realloc(ctrl->out, len);

		if (!p)
			return NULL;
		ctrl->out = p;
		ctrl->out_cap = len;
	}
	memset(ctrl->out, 0, len);
	ctrl->out_len = len;
	ctrl->out_off = 0;
	return ctrl->out;
}

/* A response that is the result alone. */
void vtpm_ctrl_respond(struct vtpm_ctrl *ctrl, uint32_t res)
{
	uint8_t *p = vtpm_ctrl_out_reserve(ctrl, PTM_RES_SIZE_BYTES);

	/* Four bytes always fit once the buffer exists; see ctrl_alloc(). */
	if (p)
		put_be32(p, res);
}

static uint32_t errno_to_res(int r)
{
	switch (r) {
	case 0:
		return PTM_RES_SUCCESS;
	case -ENXIO:
	case -ENOTSUP:
		return PTM_RES_BAD_ORDINAL;
	case -EINVAL:
	case -EBADMSG:
		return PTM_RES_BAD_PARAMETER;
	case -EPERM:
		return PTM_RES_BAD_LOCALITY;
	case -ENOENT:
		return PTM_RES_RETRY;
	case -ENOMEM:
		return PTM_RES_SIZE;
	default:
		return PTM_RES_FAIL;
	}
}

static uint32_t capabilities(const struct vtpm_ctrl *ctrl)
{
	uint32_t caps = PTM_CAP_INIT | PTM_CAP_SHUTDOWN | PTM_CAP_GET_TPMESTABLISHED |
			PTM_CAP_SET_LOCALITY | PTM_CAP_CANCEL_TPM_CMD | PTM_CAP_STORE_VOLATILE |
			PTM_CAP_RESET_TPMESTABLISHED | PTM_CAP_GET_STATEBLOB |
			PTM_CAP_SET_STATEBLOB | PTM_CAP_STOP | PTM_CAP_GET_CONFIG |
			PTM_CAP_SET_BUFFERSIZE | PTM_CAP_GET_INFO;

	/* Only a server without a data channel of its own takes one. */
	if (ctrl->take_data_fd)
		caps |= PTM_CAP_SET_DATAFD;
	return caps;
}

static bool is_blob_type(uint32_t type)
{
	return type == PTM_BLOB_TYPE_PERMANENT || type == PTM_BLOB_TYPE_VOLATILE ||
	       type == PTM_BLOB_TYPE_SAVESTATE;
}

static void handle_init(struct vtpm_ctrl *ctrl)
{
	int r;

	/* PTM_INIT_FLAG_DELETE_VOLATILE: our backends always consume it. */
	if (vtpm_backend_is_running(ctrl->backend))
		r = vtpm_backend_reset(ctrl->backend);
	else
		r = vtpm_backend_start(ctrl->backend);
	if (r < 0)
		err(ctrl->ctx, "control channel: starting the TPM failed: %s", strerror(-r));
	vtpm_ctrl_respond(ctrl, r < 0 ? PTM_RES_FAIL : PTM_RES_SUCCESS);
}

static void handle_power_off(struct vtpm_ctrl *ctrl, bool terminate)
{
	int r = vtpm_backend_shutdown(ctrl->backend);

	if (r < 0)
		err(ctrl->ctx, "control channel: stopping the TPM failed: %s", strerror(-r));
	if (terminate) {
		info(ctrl->ctx, "control channel: CMD_SHUTDOWN");
		ctrl->shutdown_requested = true;
	}
	vtpm_ctrl_respond(ctrl, r < 0 ? PTM_RES_FAIL : PTM_RES_SUCCESS);
}

static void handle_get_established(struct vtpm_ctrl *ctrl)
{
	int bit = 0, r;
	uint8_t *p;

	r = vtpm_backend_get_established(ctrl->backend, &bit);
	if (r < 0) {
		vtpm_ctrl_respond(ctrl, errno_to_res(r));
		return;
	}
	p = vtpm_ctrl_out_reserve(ctrl, PTM_EST_RESP_SIZE);
	if (!p) {
		vtpm_ctrl_respond(ctrl, PTM_RES_SIZE);
		return;
	}
	put_be32(p, PTM_RES_SUCCESS);
	p[4] = bit ? 1 : 0;
}

static void handle_set_locality(struct vtpm_ctrl *ctrl, uint8_t locality)
{
	if (locality > VTPM_LOCALITY_MAX) {
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_LOCALITY);
		return;
	}
	vtpm_backend_set_locality(ctrl->backend, locality);
	vtpm_ctrl_respond(ctrl, PTM_RES_SUCCESS);
}

static void handle_reset_established(struct vtpm_ctrl *ctrl, uint8_t locality)
{
	if (locality > VTPM_LOCALITY_MAX) {
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_LOCALITY);
		return;
	}
	vtpm_ctrl_respond(ctrl, errno_to_res(vtpm_backend_reset_established(ctrl->backend, locality)));
}

static void handle_get_stateblob(struct vtpm_ctrl *ctrl, const uint8_t *req)
{
	uint32_t flags = get_be32(req), type = get_be32(req + 4), offset = get_be32(req + 8);
	struct vtpm_state_key *key = vtpm_backend_get_key(ctrl->backend);
	_cleanup_free_ uint8_t *blob = NULL, *wrapped = NULL;
	size_t blob_len = 0, wrapped_len = 0, n;
	uint32_t res = PTM_RES_SUCCESS;
	uint8_t *p;
	int r;

	/* As swtpm: encrypted with the state key unless asked for PTM_STATE_FLAG_DECRYPTED. */
	if (flags & PTM_STATE_FLAG_DECRYPTED)
		key = NULL;
	if (!is_blob_type(type)) {
		res = PTM_RES_BAD_PARAMETER;
	} else {
		r = vtpm_backend_get_state(ctrl->backend, (enum vtpm_state_type)type, &blob, &blob_len);
		if (r == 0)
			r = vtpm_ctrl_blob_encode(key, blob, blob_len, &wrapped, &wrapped_len);
		if (blob)
			OPENSSL_cleanse(blob, blob_len);
		if (r < 0 && r != -ENOENT)
			err(ctrl->ctx, "control channel: getting state blob %u failed: %s",
			    type, strerror(-r));
		res = errno_to_res(r);
	}
	n = res == PTM_RES_SUCCESS && offset < wrapped_len ? wrapped_len - offset : 0;

	/* Header and the whole rest of the blob in one go (ctrlchannel.c). */
	p = vtpm_ctrl_out_reserve(ctrl, PTM_GETSTATE_RESP_HEADER_SIZE + n);
	if (!p) {
		p = vtpm_ctrl_out_reserve(ctrl, PTM_GETSTATE_RESP_HEADER_SIZE);
		if (!p)
			return;
		res = PTM_RES_SIZE;
		n = 0;
	}
	put_be32(p, res);
	put_be32(p + 4, res == PTM_RES_SUCCESS && key ? PTM_STATE_FLAG_ENCRYPTED : 0);
	put_be32(p + 8, (uint32_t)n);
	put_be32(p + 12, (uint32_t)n);
	if (n)
		memcpy(p + PTM_GETSTATE_RESP_HEADER_SIZE, wrapped + offset, n);
	if (wrapped)
		OPENSSL_cleanse(wrapped, wrapped_len);
}

static const char *blob_error(int r)
{
	switch (r) {
	case -ENOKEY:
		return "encrypted, and this TPM has no state key";
	case -EKEYREJECTED:
		return "encrypted with another key, or damaged";
	case -ENOTSUP:
		return "encrypted with a migration key or an old format, which is not supported";
	default:
		return "damaged";
	}
}

static void handle_set_stateblob(struct vtpm_ctrl *ctrl, const uint8_t *req)
{
	uint32_t flags = get_be32(req), type = get_be32(req + 4), len = get_be32(req + 8);
	uint8_t *data = NULL;
	size_t data_len = 0;
	int r;

	if (vtpm_backend_is_running(ctrl->backend)) {
		/* swtpm takes state only while the TPM is stopped. */
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_ORDINAL);
		return;
	}
	if (!is_blob_type(type)) {
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_PARAMETER);
		return;
	}
	/* An empty blob: what swtpm_ioctl --save wrote for an absent one. */
	if (len == 0) {
		vtpm_ctrl_respond(ctrl, PTM_RES_SUCCESS);
		return;
	}
	r = vtpm_ctrl_blob_decode(vtpm_backend_get_key(ctrl->backend), flags & PTM_STATE_FLAG_ENCRYPTED,
				  req + PTM_SETSTATE_REQ_HEADER_SIZE, len, &data, &data_len);
	if (r < 0) {
		err(ctrl->ctx, "control channel: state blob %u is %s", type, blob_error(r));
		vtpm_ctrl_respond(ctrl, r == -ENOMEM ? PTM_RES_SIZE : PTM_RES_BAD_PARAMETER);
		return;
	}
	r = data_len ? vtpm_backend_set_state(ctrl->backend, (enum vtpm_state_type)type, data, data_len) : 0;
	OPENSSL_cleanse(data, data_len);
	free(data);
	if (r < 0)
		err(ctrl->ctx, "control channel: setting state blob %u failed: %s", type, strerror(-r));
	vtpm_ctrl_respond(ctrl, errno_to_res(r));
}

static void handle_get_config(struct vtpm_ctrl *ctrl)
{
	uint8_t *p = vtpm_ctrl_out_reserve(ctrl, PTM_GETCONFIG_RESP_SIZE);

	if (!p)
		return;
	put_be32(p, PTM_RES_SUCCESS);
	/* No migration key: blobs leave encrypted with the state key, or in clear. */
	put_be32(p + 4, vtpm_backend_get_key(ctrl->backend) ? PTM_CONFIG_FLAG_FILE_KEY : 0);
}

static void handle_set_buffersize(struct vtpm_ctrl *ctrl, uint32_t size)
{
	uint32_t min = vtpm_backend_get_version(ctrl->backend) == VTPM_VERSION_2 ?
			       BUFFER_MIN_TPM2 : BUFFER_MIN_TPM12;
	uint8_t *p;

	/* Setting needs a stopped TPM (ctrlchannel.c); asking does not. */
	if (size > 0 && vtpm_backend_is_running(ctrl->backend)) {
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_ORDINAL);
		return;
	}
	p = vtpm_ctrl_out_reserve(ctrl, PTM_SETBUFSIZE_RESP_SIZE);
	if (!p)
		return;
	/* As TPMLIB_SetBufferSize(): a wish outside the limits gets the nearest limit. */
	if (size > 0)
		vtpm_backend_set_buffer_size(ctrl->backend, size < min ? min : size);
	put_be32(p, PTM_RES_SUCCESS);
	put_be32(p + 4, (uint32_t)vtpm_backend_get_buffer_size(ctrl->backend));
	put_be32(p + 8, min);
	put_be32(p + 12, VTPM_BUFFER_SIZE);
}

/*
 * SET_DATAFD: the data channel arrives as a descriptor passed with the
 * request (SCM_RIGHTS); the server (the relay) serves it from now on.
 */
static void handle_set_datafd(struct vtpm_ctrl *ctrl)
{
	int fd = ctrl->pending_fd, r;
	struct stat st;

	ctrl->pending_fd = -1;
	if (!ctrl->take_data_fd) {
		/* Not offered (see capabilities()). */
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_ORDINAL);
		goto fail;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		/* swtpm's answer to a request without a valid socket */
		err(ctrl->ctx, "control channel: SET_DATAFD without a socket");
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_PARAMETER);
		goto fail;
	}
	r = ctrl->take_data_fd(ctrl->server, fd);
	if (r < 0) {
		/* -EBUSY: one data channel at a time, as swtpm (TPM_IOERROR). */
		err(ctrl->ctx, "control channel: SET_DATAFD: %s",
		    r == -EBUSY ? "a data channel is connected already" : strerror(-r));
		vtpm_ctrl_respond(ctrl, r == -EBUSY ? PTM_RES_IOERROR : PTM_RES_FAIL);
		goto fail;
	}
	vtpm_ctrl_respond(ctrl, PTM_RES_SUCCESS);
	return;
fail:
	if (fd >= 0)
		close(fd);
}

static void handle_get_info(struct vtpm_ctrl *ctrl, const uint8_t *req)
{
	uint64_t flags = (uint64_t)get_be32(req) << 32 | get_be32(req + 4);
	uint32_t offset = get_be32(req + 8);
	_cleanup_free_ char *info = NULL;
	size_t total, n;
	uint8_t *p;
	int r;

	r = vtpm_backend_get_info(ctrl->backend, flags, &info);
	if (r < 0) {
		vtpm_ctrl_respond(ctrl, errno_to_res(r));
		return;
	}
	/* The string goes with its terminating NUL (ctrlchannel.c). */
	total = strlen(info) + 1;
	if (offset >= total - 1) {
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_PARAMETER);
		return;
	}
	n = total - offset;
	if (n > PTM_GETINFO_MAX)
		n = PTM_GETINFO_MAX;
	p = vtpm_ctrl_out_reserve(ctrl, PTM_GETINFO_RESP_HEADER_SIZE + n);
	if (!p) {
		vtpm_ctrl_respond(ctrl, PTM_RES_SIZE);
		return;
	}
	put_be32(p, PTM_RES_SUCCESS);
	put_be32(p + 4, (uint32_t)total);
	put_be32(p + 8, (uint32_t)n);
	memcpy(p + PTM_GETINFO_RESP_HEADER_SIZE, info + offset, n);
}

/*
 * Answer the complete request @in (@len bytes, as vtpm_ctrl_request_size() framed it).
 * Returns true if the rest of what the client sent is to be dropped.
 */
bool vtpm_ctrl_handle_request(struct vtpm_ctrl *ctrl, const uint8_t *in, size_t len)
{
	const uint8_t *req = in + PTM_CMD_SIZE;
	uint32_t cmd = get_be32(in);
	bool running = vtpm_backend_is_running(ctrl->backend);
	uint8_t *p;

	dbg(ctrl->ctx, "control command 0x%02x, %zu bytes", cmd, len);
	switch (cmd) {
	case PTM_CMD_GET_CAPABILITY:
		p = vtpm_ctrl_out_reserve(ctrl, PTM_CAP_RESP_SIZE);
		if (p) {
			put_be32(p, PTM_RES_SUCCESS);
			put_be32(p + 4, capabilities(ctrl));
		}
		break;
	case PTM_CMD_INIT:
		handle_init(ctrl);
		break;
	case PTM_CMD_SHUTDOWN:
		handle_power_off(ctrl, true);
		break;
	case PTM_CMD_STOP:
		handle_power_off(ctrl, false);
		break;
	case PTM_CMD_GET_TPMESTABLISHED:
		handle_get_established(ctrl);
		break;
	case PTM_CMD_SET_LOCALITY:
		handle_set_locality(ctrl, req[0]);
		break;
	case PTM_CMD_RESET_TPMESTABLISHED:
		handle_reset_established(ctrl, req[0]);
		break;
	case PTM_CMD_CANCEL_TPM_CMD:
		/* Commands run synchronously: none is in flight now. */
		vtpm_ctrl_respond(ctrl, running ? PTM_RES_SUCCESS : PTM_RES_BAD_ORDINAL);
		break;
	case PTM_CMD_STORE_VOLATILE:
		vtpm_ctrl_respond(ctrl, errno_to_res(vtpm_backend_store_volatile(ctrl->backend)));
		break;
	case PTM_CMD_GET_STATEBLOB:
		handle_get_stateblob(ctrl, req);
		break;
	case PTM_CMD_SET_STATEBLOB:
		handle_set_stateblob(ctrl, req);
		break;
	case PTM_CMD_GET_CONFIG:
		handle_get_config(ctrl);
		break;
	case PTM_CMD_SET_BUFFERSIZE:
		handle_set_buffersize(ctrl, get_be32(req));
		break;
	case PTM_CMD_GET_INFO:
		handle_get_info(ctrl, req);
		break;
	case PTM_CMD_SET_DATAFD:
		handle_set_datafd(ctrl);
		break;
	case PTM_CMD_HASH_START:
	case PTM_CMD_HASH_DATA:
	case PTM_CMD_HASH_END:
	case PTM_CMD_LOCK_STORAGE:
		/* Known but not offered (not in capabilities()). */
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_ORDINAL);
		break;
	default:
		dbg(ctrl->ctx, "unknown control command 0x%08x", cmd);
		vtpm_ctrl_respond(ctrl, PTM_RES_BAD_ORDINAL);
		/* Its payload, if any, cannot be framed: drop what came with it. */
		return true;
	}
	return false;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control endpoint: swtpm's control protocol served for a backend.  See
 * ctrl.h for the behaviour and ctrl-proto.h for the wire format.
 *
 * Everything is non-blocking: a request is collected from as many reads as
 * it takes, framed by the command's own size (and, for SET_STATEBLOB and
 * HASH_DATA, the length field), then answered; the response is written as
 * far as the socket takes it and the rest when it becomes writable.  While a
 * response is pending nothing more is read, so one request is handled at a
 * time.  One client is served at a time; see accept_client() for the others.
 */
#include "config.h"

#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <openssl/crypto.h>

#include "ctrl-proto.h"
#include "socket-util.h"
#include "vtpm-internal.h"
#include "wire.h"

#define LISTEN_BACKLOG 8
/* Bytes of unparsable input thrown away after an unknown command. */
#define DRAIN_MAX 65536
/*
 * Descriptors one read takes from the client: SET_DATAFD carries one; room
 * for a few more only so that extra ones arrive and can be closed rather
 * than leave MSG_CTRUNC guessing.
 */
#define RECV_FDS_MAX 4
/*
 * SET_BUFFERSIZE's limits as swtpm reports them: libtpms's
 * TPMLIB_SetBufferSize() minimum for each family, and the largest command
 * the relay frames (the kernel's and libtpms's maximum alike).
 */
#define BUFFER_MIN_TPM2 2808
#define BUFFER_MIN_TPM12 3072

struct vtpm_ctrl {
	int refcount;
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	struct vtpm_relay *relay; /* weak: the relay holds a reference to us */
	int epoll_fd;
	int listen_fd;		  /* -1 for vtpm_ctrl_new_fd() */
	int client_fd;
	bool listen_armed;
	bool peer_gone;		  /* vtpm_ctrl_new_fd(): the one client left */
	char *unix_path;	  /* our socket, removed at the end */
	int timeout_ms;
	int64_t deadline;	  /* for the message in progress; 0: none */
	int64_t last_activity;	  /* of the current client */
	bool client_waiting;	  /* another client is in the backlog */
	uint8_t locality;	  /* without a relay */
	bool shutdown_requested;
	int pending_fd;		  /* passed with the request being read, or -1 */
	uint32_t buffer_size;	  /* SET_BUFFERSIZE; VTPM_BUFFER_SIZE at start */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
};

/* ------------------------------------------------------------ responses */

static uint8_t *out_reserve(struct vtpm_ctrl *ctrl, size_t len)
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
static void respond_result(struct vtpm_ctrl *ctrl, uint32_t res)
{
	uint8_t *p = out_reserve(ctrl, PTM_RES_SIZE_BYTES);

	/* Four bytes always fit once the buffer exists; see ctrl_new(). */
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

	/* Only a relay without a data channel of its own takes one. */
	if (ctrl->relay && vtpm_relay_takes_data_fd(ctrl->relay))
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
	respond_result(ctrl, r < 0 ? PTM_RES_FAIL : PTM_RES_SUCCESS);
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
	respond_result(ctrl, r < 0 ? PTM_RES_FAIL : PTM_RES_SUCCESS);
}

static void handle_get_established(struct vtpm_ctrl *ctrl)
{
	int bit = 0, r;
	uint8_t *p;

	r = vtpm_backend_get_established(ctrl->backend, &bit);
	if (r < 0) {
		respond_result(ctrl, errno_to_res(r));
		return;
	}
	p = out_reserve(ctrl, PTM_EST_RESP_SIZE);
	if (!p) {
		respond_result(ctrl, PTM_RES_SIZE);
		return;
	}
	put_be32(p, PTM_RES_SUCCESS);
	p[4] = bit ? 1 : 0;
}

static void handle_set_locality(struct vtpm_ctrl *ctrl, uint8_t locality)
{
	if (locality > VTPM_LOCALITY_MAX) {
		respond_result(ctrl, PTM_RES_BAD_LOCALITY);
		return;
	}
	if (ctrl->relay)
		vtpm_relay_set_locality(ctrl->relay, locality);
	ctrl->locality = locality;
	respond_result(ctrl, PTM_RES_SUCCESS);
}

static void handle_reset_established(struct vtpm_ctrl *ctrl, uint8_t locality)
{
	if (locality > VTPM_LOCALITY_MAX) {
		respond_result(ctrl, PTM_RES_BAD_LOCALITY);
		return;
	}
	respond_result(ctrl, errno_to_res(vtpm_backend_reset_established(ctrl->backend, locality)));
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
	p = out_reserve(ctrl, PTM_GETSTATE_RESP_HEADER_SIZE + n);
	if (!p) {
		p = out_reserve(ctrl, PTM_GETSTATE_RESP_HEADER_SIZE);
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
		respond_result(ctrl, PTM_RES_BAD_ORDINAL);
		return;
	}
	if (!is_blob_type(type)) {
		respond_result(ctrl, PTM_RES_BAD_PARAMETER);
		return;
	}
	/* An empty blob: what swtpm_ioctl --save wrote for an absent one. */
	if (len == 0) {
		respond_result(ctrl, PTM_RES_SUCCESS);
		return;
	}
	r = vtpm_ctrl_blob_decode(vtpm_backend_get_key(ctrl->backend), flags & PTM_STATE_FLAG_ENCRYPTED,
				  req + PTM_SETSTATE_REQ_HEADER_SIZE, len, &data, &data_len);
	if (r < 0) {
		err(ctrl->ctx, "control channel: state blob %u is %s", type, blob_error(r));
		respond_result(ctrl, r == -ENOMEM ? PTM_RES_SIZE : PTM_RES_BAD_PARAMETER);
		return;
	}
	r = data_len ? vtpm_backend_set_state(ctrl->backend, (enum vtpm_state_type)type, data, data_len) : 0;
	OPENSSL_cleanse(data, data_len);
	free(data);
	if (r < 0)
		err(ctrl->ctx, "control channel: setting state blob %u failed: %s", type, strerror(-r));
	respond_result(ctrl, errno_to_res(r));
}

static void handle_get_config(struct vtpm_ctrl *ctrl)
{
	uint8_t *p = out_reserve(ctrl, PTM_GETCONFIG_RESP_SIZE);

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
		respond_result(ctrl, PTM_RES_BAD_ORDINAL);
		return;
	}
	p = out_reserve(ctrl, PTM_SETBUFSIZE_RESP_SIZE);
	if (!p)
		return;
	/* As TPMLIB_SetBufferSize(): a wish outside the limits gets the nearest limit. */
	if (size > 0) {
		ctrl->buffer_size = size < min ? min : size > VTPM_BUFFER_SIZE ? VTPM_BUFFER_SIZE : size;
		if (ctrl->relay)
			vtpm_relay_set_max_command(ctrl->relay, ctrl->buffer_size);
	}
	put_be32(p, PTM_RES_SUCCESS);
	put_be32(p + 4, ctrl->buffer_size);
	put_be32(p + 8, min);
	put_be32(p + 12, VTPM_BUFFER_SIZE);
}

/*
 * SET_DATAFD: the data channel arrives as a descriptor passed with the
 * request (SCM_RIGHTS); the relay serves it from now on.
 */
static void handle_set_datafd(struct vtpm_ctrl *ctrl)
{
	int fd = ctrl->pending_fd, r;
	struct stat st;

	ctrl->pending_fd = -1;
	if (!ctrl->relay || !vtpm_relay_takes_data_fd(ctrl->relay)) {
		/* Not offered (see capabilities()). */
		respond_result(ctrl, PTM_RES_BAD_ORDINAL);
		goto fail;
	}
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		/* swtpm's answer to a request without a valid socket */
		err(ctrl->ctx, "control channel: SET_DATAFD without a socket");
		respond_result(ctrl, PTM_RES_BAD_PARAMETER);
		goto fail;
	}
	r = vtpm_relay_set_data_fd(ctrl->relay, fd);
	if (r < 0) {
		/* -EBUSY: one data channel at a time, as swtpm (TPM_IOERROR). */
		err(ctrl->ctx, "control channel: SET_DATAFD: %s",
		    r == -EBUSY ? "a data channel is connected already" : strerror(-r));
		respond_result(ctrl, r == -EBUSY ? PTM_RES_IOERROR : PTM_RES_FAIL);
		goto fail;
	}
	respond_result(ctrl, PTM_RES_SUCCESS);
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
		respond_result(ctrl, errno_to_res(r));
		return;
	}
	/* The string goes with its terminating NUL (ctrlchannel.c). */
	total = strlen(info) + 1;
	if (offset >= total - 1) {
		respond_result(ctrl, PTM_RES_BAD_PARAMETER);
		return;
	}
	n = total - offset;
	if (n > PTM_GETINFO_MAX)
		n = PTM_GETINFO_MAX;
	p = out_reserve(ctrl, PTM_GETINFO_RESP_HEADER_SIZE + n);
	if (!p) {
		respond_result(ctrl, PTM_RES_SIZE);
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
static bool handle_request(struct vtpm_ctrl *ctrl, const uint8_t *in, size_t len)
{
	const uint8_t *req = in + PTM_CMD_SIZE;
	uint32_t cmd = get_be32(in);
	bool running = vtpm_backend_is_running(ctrl->backend);
	uint8_t *p;

	dbg(ctrl->ctx, "control command 0x%02x, %zu bytes", cmd, len);
	switch (cmd) {
	case PTM_CMD_GET_CAPABILITY:
		p = out_reserve(ctrl, PTM_CAP_RESP_SIZE);
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
		respond_result(ctrl, running ? PTM_RES_SUCCESS : PTM_RES_BAD_ORDINAL);
		break;
	case PTM_CMD_STORE_VOLATILE:
		respond_result(ctrl, errno_to_res(vtpm_backend_store_volatile(ctrl->backend)));
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
		respond_result(ctrl, PTM_RES_BAD_ORDINAL);
		break;
	default:
		dbg(ctrl->ctx, "unknown control command 0x%08x", cmd);
		respond_result(ctrl, PTM_RES_BAD_ORDINAL);
		/* Its payload, if any, cannot be framed: drop what came with it. */
		return true;
	}
	return false;
}

/* ------------------------------------------------------------ client I/O */

static int epoll_set(struct vtpm_ctrl *ctrl, int op, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ctrl->epoll_fd, op, fd, &ev) < 0 ? -errno : 0;
}

static void arm_listen(struct vtpm_ctrl *ctrl, bool on)
{
	if (ctrl->listen_fd < 0 || ctrl->listen_armed == on)
		return;
	if (epoll_set(ctrl, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, ctrl->listen_fd, EPOLLIN) == 0)
		ctrl->listen_armed = on;
}

static void drop_client(struct vtpm_ctrl *ctrl)
{
	if (ctrl->client_fd < 0)
		return;
	epoll_ctl(ctrl->epoll_fd, EPOLL_CTL_DEL, ctrl->client_fd, NULL);
	close(ctrl->client_fd);
	ctrl->client_fd = -1;
	if (ctrl->pending_fd >= 0) {
		close(ctrl->pending_fd);
		ctrl->pending_fd = -1;
	}
	ctrl->in_len = 0;
	ctrl->out_len = ctrl->out_off = 0;
	ctrl->deadline = 0;
	ctrl->client_waiting = false;
	if (ctrl->listen_fd < 0)
		ctrl->peer_gone = true;
	arm_listen(ctrl, true);
}

static bool client_is_idle(const struct vtpm_ctrl *ctrl)
{
	return ctrl->in_len == 0 && ctrl->out_len == 0;
}

/* When the current client gives way to one in the backlog. */
static int64_t preempt_time(const struct vtpm_ctrl *ctrl)
{
	return ctrl->last_activity + ctrl->timeout_ms;
}

/* Write what the socket takes; 0 when all is out, 1 if some is left, <0 on error. */
static int flush_output(struct vtpm_ctrl *ctrl)
{
	while (ctrl->out_off < ctrl->out_len) {
		ssize_t n = send(ctrl->client_fd, ctrl->out + ctrl->out_off,
				 ctrl->out_len - ctrl->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		ctrl->out_off += (size_t)n;
	}
	if (ctrl->out_off < ctrl->out_len) {
		epoll_set(ctrl, EPOLL_CTL_MOD, ctrl->client_fd, EPOLLOUT);
		if (!ctrl->deadline)
			ctrl->deadline = vtpm_now_ms() + ctrl->timeout_ms;
		return 1;
	}
	ctrl->out_len = ctrl->out_off = 0;
	ctrl->deadline = 0;
	ctrl->last_activity = vtpm_now_ms();
	epoll_set(ctrl, EPOLL_CTL_MOD, ctrl->client_fd, EPOLLIN);
	return 0;
}

/* Throw away what the client has sent so far. */
static void drain_input(struct vtpm_ctrl *ctrl)
{
	uint8_t buf[4096];
	size_t total = 0;

	ctrl->in_len = 0;
	while (total < DRAIN_MAX) {
		ssize_t n = recv(ctrl->client_fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
}

/*
 * recv() that also takes descriptors passed along (SCM_RIGHTS): the first
 * one of a request is kept for SET_DATAFD, every other one closed at once.
 */
static ssize_t recv_with_fds(struct vtpm_ctrl *ctrl, uint8_t *buf, size_t len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * RECV_FDS_MAX)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n;

	n = recvmsg(ctrl->client_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		size_t nfds;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
			if (fd < 0)
				continue;
			if (ctrl->pending_fd < 0)
				ctrl->pending_fd = fd;
			else
				close(fd);
		}
	}
	/* MSG_CTRUNC: the kernel closed what did not fit. */
	return n;
}

static int grow_input(struct vtpm_ctrl *ctrl, size_t size)
{
	uint8_t *p;

	if (size <= ctrl->in_cap)
		return 0;
	p = realloc(ctrl->in, size);
	if (!p)
		return -ENOMEM;
	ctrl->in = p;
	ctrl->in_cap = size;
	return 0;
}

/* Answer the complete request of @len bytes in the input buffer and send the response. */
static void answer(struct vtpm_ctrl *ctrl, size_t len)
{
	bool drain = handle_request(ctrl, ctrl->in, len);

	/* A descriptor that came with any other request is not wanted. */
	if (ctrl->pending_fd >= 0) {
		close(ctrl->pending_fd);
		ctrl->pending_fd = -1;
	}
	ctrl->in_len = 0;
	ctrl->deadline = 0;
	if (drain)
		drain_input(ctrl);
	if (ctrl->out_len == 0)
		respond_result(ctrl, PTM_RES_SIZE); /* out of memory above */
	if (flush_output(ctrl) < 0)
		drop_client(ctrl);
}

/*
 * Read and answer requests until the socket has no more or a response is
 * pending.  Returns the number answered, or -EPIPE when the client is gone
 * (it has been dropped then).
 */
static int serve_client(struct vtpm_ctrl *ctrl)
{
	int answered = 0;

	while (ctrl->client_fd >= 0 && ctrl->out_len == 0) {
		size_t min, max;
		ssize_t n;
		int r;

		r = vtpm_ctrl_request_size(ctrl->in, ctrl->in_len, &min, &max);
		if (r < 0) {
			/* A length beyond the protocol: framing is lost. */
			respond_result(ctrl, PTM_RES_BAD_PARAMETER);
			flush_output(ctrl);
			drop_client(ctrl);
			return answered + 1;
		}
		if (ctrl->in_len >= max) {
			answer(ctrl, ctrl->in_len);
			answered++;
			continue;
		}
		if (grow_input(ctrl, max) < 0) {
			drop_client(ctrl);
			return answered;
		}
		n = recv_with_fds(ctrl, ctrl->in + ctrl->in_len, max - ctrl->in_len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				/* The client's write ended here: a short form of the request. */
				if (ctrl->in_len >= min) {
					answer(ctrl, ctrl->in_len);
					answered++;
					continue;
				}
				break;
			}
			drop_client(ctrl);
			return answered ? answered : -EPIPE;
		}
		if (n == 0) {
			if (ctrl->in_len)
				dbg(ctrl->ctx, "control client left in the middle of a request");
			drop_client(ctrl);
			return answered ? answered : -EPIPE;
		}
		ctrl->last_activity = vtpm_now_ms();
		if (ctrl->in_len == 0)
			ctrl->deadline = ctrl->last_activity + ctrl->timeout_ms;
		ctrl->in_len += (size_t)n;
	}
	return answered;
}

/*
 * One client at a time.  Another one waits in the backlog until the current
 * one leaves, or has been idle (between requests) for the message timeout:
 * then the newcomer takes over, so a client that holds the connection
 * without using it cannot lock everybody out.
 */
static void accept_client(struct vtpm_ctrl *ctrl)
{
	int fd;

	if (ctrl->client_fd >= 0) {
		if (!client_is_idle(ctrl) || vtpm_now_ms() < preempt_time(ctrl)) {
			ctrl->client_waiting = true;
			arm_listen(ctrl, false);
			return;
		}
		dbg(ctrl->ctx, "idle control client gives way to a waiting one");
		drop_client(ctrl);
	}
	fd = accept4(ctrl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or the client gave up already */
	if (epoll_set(ctrl, EPOLL_CTL_ADD, fd, EPOLLIN) < 0) {
		close(fd);
		return;
	}
	ctrl->client_fd = fd;
	ctrl->last_activity = vtpm_now_ms();
	/* Watched again only to notice a waiting client. */
	arm_listen(ctrl, true);
}

static void check_timeout(struct vtpm_ctrl *ctrl)
{
	if (!ctrl->deadline || vtpm_now_ms() < ctrl->deadline || ctrl->client_fd < 0)
		return;
	if (ctrl->out_len) {
		warn(ctrl->ctx, "control client does not read its response: dropping it");
		drop_client(ctrl);
		return;
	}
	/* An incomplete request: swtpm's answer to a short message. */
	dbg(ctrl->ctx, "control request incomplete after %d ms", ctrl->timeout_ms);
	ctrl->in_len = 0;
	ctrl->deadline = 0;
	respond_result(ctrl, PTM_RES_BAD_PARAMETER);
	if (flush_output(ctrl) < 0)
		drop_client(ctrl);
}

VTPM_EXPORT int vtpm_ctrl_dispatch(struct vtpm_ctrl *ctrl)
{
	struct epoll_event ev[2];
	int answered = 0, n, r;

	check_timeout(ctrl);
	if (ctrl->client_waiting && client_is_idle(ctrl) && vtpm_now_ms() >= preempt_time(ctrl)) {
		drop_client(ctrl); /* re-arms the listening socket */
		accept_client(ctrl);
	}
	n = epoll_wait(ctrl->epoll_fd, ev, ARRAY_SIZE(ev), 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		if (ev[i].data.fd == ctrl->listen_fd)
			accept_client(ctrl);
		else if (ev[i].data.fd == ctrl->client_fd && ctrl->out_len) {
			if (flush_output(ctrl) < 0)
				drop_client(ctrl);
		}
	}
	/* Reading finds out about hang-ups as well; EAGAIN costs nothing. */
	if (ctrl->client_fd >= 0) {
		r = serve_client(ctrl);
		if (r > 0)
			answered += r;
	}
	if (ctrl->peer_gone && answered == 0)
		return -EPIPE;
	return answered;
}

/* ------------------------------------------------------------ objects */

static int ctrl_alloc(struct vtpm_ctx *ctx, struct vtpm_backend *backend, struct vtpm_ctrl **out)
{
	struct vtpm_ctrl *ctrl;

	ctrl = calloc(1, sizeof(*ctrl));
	if (!ctrl)
		return -ENOMEM;
	ctrl->listen_fd = ctrl->client_fd = ctrl->pending_fd = -1;
	ctrl->timeout_ms = VTPM_CTRL_TIMEOUT_MS;
	ctrl->buffer_size = VTPM_BUFFER_SIZE;
	/* Room for every fixed-size response, so small answers cannot fail. */
	ctrl->out_cap = PTM_GETINFO_RESP_HEADER_SIZE + PTM_GETINFO_MAX;
	ctrl->out = malloc(ctrl->out_cap);
	ctrl->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!ctrl->out || ctrl->epoll_fd < 0) {
		int r = ctrl->out ? -errno : -ENOMEM;

		if (ctrl->epoll_fd >= 0)
			close(ctrl->epoll_fd);
		free(ctrl->out);
		free(ctrl);
		return r;
	}
	ctrl->refcount = 1;
	ctrl->ctx = vtpm_ctx_ref(ctx);
	ctrl->backend = vtpm_backend_ref(backend);
	*out = ctrl;
	return 0;
}

VTPM_EXPORT int vtpm_ctrl_new_fd(struct vtpm_ctx *ctx, struct vtpm_backend *backend, int fd,
				 struct vtpm_ctrl **out)
{
	struct vtpm_ctrl *ctrl;
	int r;

	if (fd < 0)
		return -EBADF;
	if (!backend) {
		close(fd);
		return -EINVAL;
	}
	r = ctrl_alloc(ctx, backend, &ctrl);
	if (r < 0) {
		close(fd);
		return r;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ctrl->client_fd = fd;
	r = epoll_set(ctrl, EPOLL_CTL_ADD, fd, EPOLLIN);
	if (r < 0) {
		vtpm_ctrl_unref(ctrl);
		return r;
	}
	*out = ctrl;
	return 0;
}

/* Whether someone accepts connections on the Unix socket at @sa. */
static bool unix_socket_is_live(const struct vtpm_sockaddr *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && connect(fd, (const struct sockaddr *)&sa->ss, sa->len) == 0;
}

static int listen_unix(struct vtpm_ctrl *ctrl, const struct vtpm_sockaddr *sa,
		       mode_t mode, uid_t uid, gid_t gid)
{
	const char *path = ((const struct sockaddr_un *)&sa->ss)->sun_path;
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err(ctrl->ctx, "%s exists and is not a socket: not replacing it", path);
			return -EEXIST;
		}
		if (unix_socket_is_live(sa)) {
			err(ctrl->ctx, "%s is in use by a running server", path);
			return -EADDRINUSE;
		}
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}

	fd = vtpm_socket_listen_unix(sa, mode, uid, gid, LISTEN_BACKLOG);
	if (fd < 0)
		return fd;
	ctrl->unix_path = strdup(path);
	if (!ctrl->unix_path) {
		unlink(path);
		return -ENOMEM;
	}
	ctrl->listen_fd = TAKE_FD(fd);
	return 0;
}

static int listen_tcp(struct vtpm_ctrl *ctrl, const struct vtpm_sockaddr *sa)
{
	_cleanup_close_ int fd = -1;
	int one = 1;

	fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&sa->ss, sa->len) < 0)
		return -errno;
	if (listen(fd, LISTEN_BACKLOG) < 0)
		return -errno;
	ctrl->listen_fd = TAKE_FD(fd);
	return 0;
}

VTPM_EXPORT int vtpm_ctrl_new(struct vtpm_ctx *ctx, struct vtpm_backend *backend, const char *address,
			      const struct vtpm_ctrl_options *opts, struct vtpm_ctrl **out)
{
	struct vtpm_ctrl_options o = { .mode = 0600, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct vtpm_sockaddr sa;
	struct vtpm_ctrl *ctrl;
	int r;

	if (!backend)
		return -EINVAL;
	if (opts) {
		if (opts->size < offsetof(struct vtpm_ctrl_options, flags) + sizeof(opts->flags))
			return -EINVAL;
		o.mode = opts->mode ? opts->mode : 0600;
		o.uid = opts->uid;
		o.gid = opts->gid;
		o.flags = opts->flags;
	}
	if ((o.mode & ~(mode_t)0777) || (o.mode & S_IWOTH) || (o.flags & ~VTPM_CTRL_ALLOW_REMOTE))
		return -EINVAL;
	r = vtpm_sockaddr_parse(address, &sa);
	if (r < 0) {
		vtpm_sockaddr_explain(ctx, "control channel", address, r);
		return r;
	}
	if (!vtpm_sockaddr_is_unix(&sa) && !vtpm_sockaddr_is_loopback(&sa) &&
	    !(o.flags & VTPM_CTRL_ALLOW_REMOTE)) {
		err(ctx, "control channel %s is not on the loopback interface: refusing, "
			 "the protocol has no authentication", address);
		return -EPERM;
	}
	if (!vtpm_sockaddr_is_unix(&sa))
		warn(ctx, "control channel %s: no authentication, anyone who reaches the port "
			  "can read and replace the TPM's state", address);

	r = ctrl_alloc(ctx, backend, &ctrl);
	if (r < 0)
		return r;
	r = vtpm_sockaddr_is_unix(&sa) ? listen_unix(ctrl, &sa, o.mode, o.uid, o.gid) :
					 listen_tcp(ctrl, &sa);
	if (r < 0) {
		err(ctx, "cannot listen on %s: %s", address, strerror(-r));
		vtpm_ctrl_unref(ctrl);
		return r;
	}
	arm_listen(ctrl, true);
	if (!ctrl->listen_armed) {
		vtpm_ctrl_unref(ctrl);
		return -ENOMEM;
	}
	*out = ctrl;
	return 0;
}

VTPM_EXPORT struct vtpm_ctrl *vtpm_ctrl_ref(struct vtpm_ctrl *ctrl)
{
	if (ctrl)
		ctrl->refcount++;
	return ctrl;
}

VTPM_EXPORT struct vtpm_ctrl *vtpm_ctrl_unref(struct vtpm_ctrl *ctrl)
{
	if (!ctrl || --ctrl->refcount > 0)
		return NULL;
	drop_client(ctrl);
	if (ctrl->listen_fd >= 0)
		close(ctrl->listen_fd);
	if (ctrl->unix_path) {
		unlink(ctrl->unix_path);
		free(ctrl->unix_path);
	}
	close(ctrl->epoll_fd);
	free(ctrl->in);
	free(ctrl->out);
	vtpm_backend_unref(ctrl->backend);
	vtpm_ctx_unref(ctrl->ctx);
	free(ctrl);
	return NULL;
}

VTPM_EXPORT int vtpm_ctrl_get_fd(const struct vtpm_ctrl *ctrl)
{
	return ctrl->epoll_fd;
}

VTPM_EXPORT int vtpm_ctrl_get_timeout(const struct vtpm_ctrl *ctrl)
{
	int64_t when = ctrl->deadline, left;

	if (ctrl->client_waiting && (!when || preempt_time(ctrl) < when))
		when = preempt_time(ctrl);
	if (!when)
		return -1;
	left = when - vtpm_now_ms();
	if (left < 0)
		return 0;
	return left > ctrl->timeout_ms ? ctrl->timeout_ms : (int)left;
}

VTPM_EXPORT int vtpm_ctrl_set_timeout(struct vtpm_ctrl *ctrl, int timeout_ms)
{
	if (timeout_ms <= 0)
		return -EINVAL;
	ctrl->timeout_ms = timeout_ms;
	return 0;
}

VTPM_EXPORT int vtpm_ctrl_shutdown_requested(const struct vtpm_ctrl *ctrl)
{
	return ctrl->shutdown_requested;
}

VTPM_EXPORT uint8_t vtpm_ctrl_get_locality(const struct vtpm_ctrl *ctrl)
{
	return ctrl->relay ? vtpm_relay_get_locality(ctrl->relay) : ctrl->locality;
}

void vtpm_ctrl_set_relay(struct vtpm_ctrl *ctrl, struct vtpm_relay *relay)
{
	ctrl->relay = relay;
}

struct vtpm_relay *vtpm_ctrl_get_relay(const struct vtpm_ctrl *ctrl)
{
	return ctrl->relay;
}

struct vtpm_backend *vtpm_ctrl_get_backend(const struct vtpm_ctrl *ctrl)
{
	return ctrl->backend;
}

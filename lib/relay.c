/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The relay between a proxy server fd and a backend.  It is the only code
 * that sees bytes straight from an untrusted client, so every command is
 * framed and checked here before a backend gets it, and every failure still
 * produces a response: the kernel waits for one.
 *
 * A relay made with vtpm_relay_new_ctrl() serves a virtual machine instead:
 * its data channel is a stream socket that QEMU hands over with the control
 * channel's CMD_SET_DATAFD.  A stream has no message boundaries, so there a
 * command is framed by its header's size field: the header is read first,
 * then exactly the rest, never more, so one command at most is buffered and
 * the commands behind it wait in the socket.
 */
#include "config.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "vtpm-internal.h"
#include "wire.h"

/* How often wait_registered looks at sysfs when no command arrives. */
#define REGISTER_POLL_MS 10
/*
 * How long the TPM must be idle before run() hands the heap's free pages
 * back: libtpms serialises its whole NV for every state store and needs
 * scratch for every command, and without this an idle TPM keeps its peak
 * usage dirty.  Never between two commands of a busy client.
 */
#define IDLE_TRIM_MS 1000
/*
 * Bytes thrown away after a stream command whose header cannot be framed:
 * what the peer had sent by then, bounded so that a peer cannot keep the
 * relay draining.
 */
#define STREAM_DRAIN_MAX (16 * VTPM_BUFFER_SIZE)

struct vtpm_relay {
	int refcount;
	struct vtpm_ctx *ctx;
	struct vtpm_device *dev; /* NULL for vtpm_relay_new_fd() */
	struct vtpm_backend *backend;
	enum vtpm_version version;
	int fd;			/* -1: no data channel (yet) */
	bool stream;		/* fd is a stream socket we own (vtpm_relay_new_ctrl()) */
	bool own_fd;		/* fd is our duplicate (vtpm_relay_new_from_fd()) */
	size_t cmd_len;		/* stream: bytes of the command read so far */
	int stop_fd; /* eventfd that wakes run() for vtpm_relay_stop() */
	volatile sig_atomic_t stop_requested;
	struct vtpm_ctrl *ctrl; /* served in the same loop, or NULL */
	struct vtpm_relay_stats stats;
	/* One byte more than the largest command, so oversize reads show. */
	uint8_t cmd[VTPM_BUFFER_SIZE + 1];
	uint8_t resp[VTPM_BUFFER_SIZE];
};

static int relay_new(struct vtpm_ctx *ctx, int fd, struct vtpm_device *dev,
		     struct vtpm_backend *backend, bool start, struct vtpm_relay **out)
{
	struct vtpm_relay *relay;
	int r;

	if (dev && vtpm_device_get_version(dev) != vtpm_backend_get_version(backend)) {
		err(ctx, "device and backend speak different TPM versions");
		return -EINVAL;
	}

	if (start) {
		r = vtpm_backend_start(backend);
		if (r < 0) {
			err(ctx, "starting the TPM backend failed: %s", strerror(-r));
			return r;
		}
	}

	relay = calloc(1, sizeof(*relay));
	if (!relay)
		return -ENOMEM;
	relay->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (relay->stop_fd < 0) {
		r = -errno;
		free(relay);
		return r;
	}
	relay->refcount = 1;
	relay->ctx = vtpm_ctx_ref(ctx);
	relay->dev = vtpm_device_ref(dev);
	relay->backend = vtpm_backend_ref(backend);
	relay->version = vtpm_backend_get_version(backend);
	relay->fd = fd;
	*out = relay;
	return 0;
}

VTPM_EXPORT int vtpm_relay_new(struct vtpm_ctx *ctx, struct vtpm_device *dev,
			       struct vtpm_backend *backend, struct vtpm_relay **relay)
{
	if (!dev || !backend)
		return -EINVAL;
	return relay_new(ctx, vtpm_device_get_fd(dev), dev, backend, true, relay);
}

VTPM_EXPORT int vtpm_relay_new_fd(struct vtpm_ctx *ctx, int fd, struct vtpm_backend *backend,
				  struct vtpm_relay **relay)
{
	if (fd < 0)
		return -EBADF;
	if (!backend)
		return -EINVAL;
	return relay_new(ctx, fd, NULL, backend, true, relay);
}

VTPM_EXPORT int vtpm_relay_new_from_device(struct vtpm_device *dev, struct vtpm_backend *backend,
					   struct vtpm_relay **relay)
{
	if (!dev || !backend || !relay)
		return -EINVAL;
	return relay_new(vtpm_device_get_ctx(dev), vtpm_device_get_fd(dev), dev, backend, true, relay);
}

/* The library never takes a caller's fd: it keeps a duplicate of its own (see libvtpm(3)). */
VTPM_EXPORT int vtpm_relay_new_from_fd(struct vtpm_backend *backend, int fd, struct vtpm_relay **out)
{
	_cleanup_close_ int dup = -1;
	int r;

	if (!backend || !out)
		return -EINVAL;
	dup = vtpm_dup_borrowed_fd(fd);
	if (dup < 0)
		return dup;
	r = relay_new(vtpm_backend_get_ctx(backend), dup, NULL, backend, true, out);
	if (r < 0)
		return r;
	(*out)->own_fd = true;
	dup = -1;
	return 0;
}

VTPM_EXPORT int vtpm_relay_new_from_ctrl(struct vtpm_ctrl *ctrl, struct vtpm_relay **relay)
{
	if (!ctrl || !relay)
		return -EINVAL;
	return vtpm_relay_new_ctrl(vtpm_ctrl_get_ctx(ctrl), vtpm_ctrl_get_backend(ctrl), ctrl, relay);
}

VTPM_EXPORT int vtpm_relay_new_ctrl(struct vtpm_ctx *ctx, struct vtpm_backend *backend,
				    struct vtpm_ctrl *ctrl, struct vtpm_relay **out)
{
	struct vtpm_relay *relay;
	int r;

	if (!backend || !ctrl)
		return -EINVAL;
	if (vtpm_ctrl_get_server(ctrl))
		return -EBUSY;
	r = relay_new(ctx, -1, NULL, backend, false, &relay);
	if (r < 0)
		return r;
	relay->stream = true;
	r = vtpm_relay_attach_ctrl(relay, ctrl);
	if (r < 0) {
		vtpm_relay_unref(relay);
		return r;
	}
	*out = relay;
	return 0;
}

/* Close the data channel of a vtpm_relay_new_ctrl() relay; the next SET_DATAFD brings another. */
static void close_data_channel(struct vtpm_relay *relay)
{
	if (!relay->stream || relay->fd < 0)
		return;
	info(relay->ctx, "data channel closed");
	close(relay->fd);
	relay->fd = -1;
	relay->cmd_len = 0;
}

int vtpm_relay_set_data_fd(struct vtpm_relay *relay, int fd)
{
	int flags;

	if (!relay->stream)
		return -ENOTSUP;
	if (relay->fd >= 0)
		return -EBUSY;
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	relay->fd = fd;
	relay->cmd_len = 0;
	info(relay->ctx, "data channel received");
	return 0;
}

/* SET_DATAFD's descriptor, from the control endpoint we serve. */
static int take_data_fd(void *relay, int fd)
{
	return vtpm_relay_set_data_fd(relay, fd);
}

VTPM_EXPORT struct vtpm_relay *vtpm_relay_ref(struct vtpm_relay *relay)
{
	if (relay)
		relay->refcount++;
	return relay;
}

VTPM_EXPORT struct vtpm_relay *vtpm_relay_unref(struct vtpm_relay *relay)
{
	if (!relay || --relay->refcount > 0)
		return NULL;
	vtpm_relay_attach_ctrl(relay, NULL);
	close_data_channel(relay);
	if (relay->own_fd)
		close(relay->fd);
	close(relay->stop_fd);
	vtpm_backend_unref(relay->backend);
	vtpm_device_unref(relay->dev);
	vtpm_ctx_unref(relay->ctx);
	free(relay);
	return NULL;
}

VTPM_EXPORT int vtpm_relay_get_fd(const struct vtpm_relay *relay)
{
	return relay->fd;
}

VTPM_EXPORT uint8_t vtpm_relay_get_locality(const struct vtpm_relay *relay)
{
	return vtpm_backend_get_locality(relay->backend);
}

VTPM_EXPORT int vtpm_relay_attach_ctrl(struct vtpm_relay *relay, struct vtpm_ctrl *ctrl)
{
	if (ctrl && relay->ctrl)
		return relay->ctrl == ctrl ? 0 : -EBUSY;
	if (ctrl && vtpm_ctrl_get_backend(ctrl) != relay->backend)
		return -EINVAL;
	if (relay->ctrl) {
		vtpm_ctrl_set_server(relay->ctrl, NULL, NULL);
		vtpm_ctrl_unref(relay->ctrl);
	}
	relay->ctrl = vtpm_ctrl_ref(ctrl);
	if (ctrl)
		vtpm_ctrl_set_server(ctrl, relay, relay->stream ? take_data_fd : NULL);
	return 0;
}

VTPM_EXPORT void vtpm_relay_get_stats(const struct vtpm_relay *relay, struct vtpm_relay_stats *stats)
{
	*stats = relay->stats;
}

/* The proxy driver's set-locality command: answered here, never forwarded. */
static size_t handle_set_locality(struct vtpm_relay *relay, size_t len)
{
	uint8_t locality = relay->cmd[TPM_HEADER_SIZE];

	if (len != VTPM_SET_LOCALITY_SIZE || locality > VTPM_LOCALITY_MAX) {
		relay->stats.malformed++;
		return vtpm_wire_build_response(relay->version,
						relay->version == VTPM_VERSION_2 ?
						TPM2_RC_LOCALITY : TPM12_BAD_LOCALITY,
						relay->resp);
	}
	vtpm_backend_set_locality(relay->backend, locality);
	dbg(relay->ctx, "locality set to %u", locality);
	return vtpm_wire_build_response(relay->version, 0, relay->resp);
}

static size_t handle_command(struct vtpm_relay *relay, size_t len)
{
	struct tpm_header hdr;
	size_t resp_len = 0;
	uint32_t rc;
	int r;

	rc = vtpm_wire_check_command(relay->version, relay->cmd, len,
				     vtpm_backend_get_buffer_size(relay->backend));
	if (rc) {
		relay->stats.malformed++;
		dbg(relay->ctx, "rejecting malformed command of %zu bytes with 0x%x", len, rc);
		return vtpm_wire_build_response(relay->version, rc, relay->resp);
	}

	vtpm_wire_parse_header(relay->cmd, len, &hdr);
	/* The proxy driver's own command; a virtual machine's TPM has none. */
	if (hdr.code == VTPM_CC_SET_LOCALITY && !relay->stream)
		return handle_set_locality(relay, len);
	/* Powered off (CMD_STOP, or before CMD_INIT): swtpm's answer. */
	if (!vtpm_backend_is_running(relay->backend))
		return vtpm_wire_build_response(relay->version, vtpm_wire_rc_failure(relay->version),
						relay->resp);

	r = vtpm_backend_process(relay->backend, relay->cmd, len,
				 vtpm_backend_get_locality(relay->backend),
				 relay->resp, sizeof(relay->resp), &resp_len);
	if (r < 0 || !vtpm_wire_response_is_valid(relay->version, relay->resp,
						  resp_len, sizeof(relay->resp))) {
		relay->stats.backend_errors++;
		err(relay->ctx, "backend failed command 0x%08x: %s", hdr.code,
		    r < 0 ? strerror(-r) : "malformed response");
		return vtpm_wire_build_response(relay->version,
						vtpm_wire_rc_failure(relay->version),
						relay->resp);
	}
	return resp_len;
}

/* Read one command and answer it; the caller knows the fd is readable. */
static int serve_message(struct vtpm_relay *relay)
{
	size_t resp_len;
	ssize_t n, w;

	n = read(relay->fd, relay->cmd, sizeof(relay->cmd));
	if (n < 0) {
		if (errno == EINTR || errno == EAGAIN)
			return 0;
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -errno;
	}
	if (n == 0)
		return -EPIPE;

	resp_len = handle_command(relay, (size_t)n);
	relay->stats.commands++;

	w = write(relay->fd, relay->resp, resp_len);
	if (w < 0)
		return errno == EPIPE || errno == ECONNRESET ? -EPIPE : -EIO;
	if ((size_t)w != resp_len)
		return -EIO;
	return 1;
}

/*
 * Write a whole response to the stream, waiting for room as long as a
 * control message may take: a peer that does not read loses its channel.
 */
static int stream_write(struct vtpm_relay *relay, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct pollfd pfd = { .fd = relay->fd, .events = POLLOUT };
		ssize_t n = send(relay->fd, relay->resp + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -EPIPE;
		if (poll(&pfd, 1, VTPM_CTRL_TIMEOUT_MS) <= 0) {
			warn(relay->ctx, "the data channel's peer does not read its response: closing it");
			return -EPIPE;
		}
	}
	return 0;
}

/* Throw away what the peer has sent so far, up to STREAM_DRAIN_MAX bytes. */
static void stream_drain(struct vtpm_relay *relay)
{
	size_t total = 0;

	while (total < STREAM_DRAIN_MAX) {
		ssize_t n = recv(relay->fd, relay->cmd, sizeof(relay->cmd), MSG_DONTWAIT);

		if (n <= 0)
			break;
		total += (size_t)n;
	}
	relay->cmd_len = 0;
}

/*
 * Read what is there of the current command; answer it once complete.
 * Returns 1 when a command was answered, 0 when more bytes are needed,
 * -EPIPE when the peer is gone (the channel is closed then).
 */
static int serve_stream(struct vtpm_relay *relay)
{
	size_t want, resp_len;
	bool unframable = false;
	ssize_t n;

	if (relay->cmd_len < TPM_HEADER_SIZE) {
		want = TPM_HEADER_SIZE;
	} else {
		/* The header's size field (after the 2-byte tag). */
		want = get_be32(relay->cmd + 2);
		unframable = want < TPM_HEADER_SIZE ||
			     want > vtpm_backend_get_buffer_size(relay->backend);
	}
	if (!unframable && relay->cmd_len < want) {
		n = recv(relay->fd, relay->cmd + relay->cmd_len, want - relay->cmd_len, MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return 0;
		if (n <= 0) {
			if (relay->cmd_len)
				dbg(relay->ctx, "data channel closed in the middle of a command");
			close_data_channel(relay);
			return -EPIPE;
		}
		relay->cmd_len += (size_t)n;
		if (relay->cmd_len < want)
			return 0;
		if (relay->cmd_len == TPM_HEADER_SIZE && get_be32(relay->cmd + 2) != TPM_HEADER_SIZE)
			return serve_stream(relay); /* the header is in: frame the rest */
	}

	/*
	 * A size the relay cannot frame gets the answer the proxy fd gives a
	 * command of the wrong size; where the next command starts is lost,
	 * so what the peer sent with it goes too.
	 */
	resp_len = handle_command(relay, unframable ? TPM_HEADER_SIZE : relay->cmd_len);
	relay->stats.commands++;
	if (unframable)
		stream_drain(relay);
	relay->cmd_len = 0;
	if (stream_write(relay, resp_len) < 0) {
		close_data_channel(relay);
		return -EPIPE;
	}
	return 1;
}

static int serve_one(struct vtpm_relay *relay)
{
	if (relay->fd < 0)
		return 0;
	return relay->stream ? serve_stream(relay) : serve_message(relay);
}

static int poll_fd(int fd, int timeout_ms, short *revents)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int r;

	r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return -errno;
	*revents = r ? pfd.revents : 0;
	return r;
}

VTPM_EXPORT int vtpm_relay_dispatch(struct vtpm_relay *relay)
{
	short revents = 0;
	int r;

	if (relay->fd < 0)
		return 0;
	/* The proxy fd's read blocks even with O_NONBLOCK, so poll first. */
	r = poll_fd(relay->fd, 0, &revents);
	if (r < 0)
		return r == -EINTR ? 0 : r;
	if (revents & POLLIN)
		return serve_one(relay);
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) {
		close_data_channel(relay);
		return -EPIPE;
	}
	return 0;
}

/* The earlier of two poll timeouts, where -1 means none. */
static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/*
 * Wait for a command or a stop request, serving an attached control
 * endpoint meanwhile; 1 if the fd wants serving.
 */
static int wait_event(struct vtpm_relay *relay, int timeout_ms)
{
	struct pollfd pfd[3] = {
		{ .fd = relay->fd, .events = POLLIN },
		{ .fd = relay->stop_fd, .events = POLLIN },
		{ .fd = relay->ctrl ? vtpm_ctrl_get_fd(relay->ctrl) : -1, .events = POLLIN },
	};
	int64_t ctrl_deadline = INT64_MAX;
	int ctrl_timeout, r;

	if (relay->stop_requested || (relay->ctrl && vtpm_ctrl_shutdown_requested(relay->ctrl)))
		return -ECANCELED;
	if (relay->ctrl) {
		ctrl_timeout = vtpm_ctrl_get_timeout(relay->ctrl);
		if (ctrl_timeout >= 0)
			ctrl_deadline = vtpm_now_ms() + ctrl_timeout;
		timeout_ms = min_timeout(timeout_ms, ctrl_timeout);
	}
	r = poll(pfd, ARRAY_SIZE(pfd), timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	/*
	 * The control endpoint wants a call when its fd is ready, and when its
	 * deadline passed, to drop clients whose message timed out; not on
	 * every data command, where it would cost a system call each.
	 */
	if (relay->ctrl && (pfd[2].revents || vtpm_now_ms() >= ctrl_deadline)) {
		r = vtpm_ctrl_dispatch(relay->ctrl);
		/* -EPIPE: a vtpm_ctrl_new_fd() peer left; the data channel goes on. */
		if (r < 0 && r != -EPIPE)
			err(relay->ctx, "control channel: %s", strerror(-r));
		if (vtpm_ctrl_shutdown_requested(relay->ctrl))
			return -ECANCELED;
	}
	if (relay->stop_requested)
		return -ECANCELED;
	/* The data channel may have come or gone with the control request. */
	if (pfd[0].fd != relay->fd)
		return 0;
	if (pfd[0].revents & POLLIN)
		return 1;
	if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL)) {
		if (!relay->stream)
			return -EPIPE;
		close_data_channel(relay); /* QEMU went away: wait for the next one */
	}
	return 0;
}

VTPM_EXPORT int vtpm_relay_run(struct vtpm_relay *relay)
{
	/* When the TPM counts as idle; INT64_MAX once its heap was trimmed. */
	int64_t idle_at = vtpm_now_ms() + IDLE_TRIM_MS;
	int r;

	for (;;) {
		int64_t now = vtpm_now_ms();

		if (now >= idle_at) {
			malloc_trim(0);
			idle_at = INT64_MAX;
		}
		r = wait_event(relay, idle_at == INT64_MAX ? -1 : (int)(idle_at - now));
		if (r == -ECANCELED)
			return 0;
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		r = serve_one(relay);
		idle_at = vtpm_now_ms() + IDLE_TRIM_MS;
		/* A virtual machine's data channel closing ends only that channel. */
		if (r < 0 && !(r == -EPIPE && relay->stream))
			return r;
	}
}

VTPM_EXPORT void vtpm_relay_stop(struct vtpm_relay *relay)
{
	uint64_t one = 1;
	ssize_t _unused_ n;

	relay->stop_requested = 1;
	n = write(relay->stop_fd, &one, sizeof(one));
}

VTPM_EXPORT int vtpm_relay_wait_registered(struct vtpm_relay *relay, int timeout_ms)
{
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : vtpm_now_ms() + timeout_ms;
	int r;

	if (!relay->dev)
		return -ENODEV;

	for (;;) {
		r = vtpm_device_is_registered(relay->dev);
		if (r != 0)
			return r < 0 ? r : 0;
		if (vtpm_now_ms() >= deadline)
			return -ETIMEDOUT;

		r = wait_event(relay, REGISTER_POLL_MS);
		if (r < 0) {
			if (r == -EPIPE)
				err(relay->ctx, "the kernel gave up registering tpm%u",
				    vtpm_device_get_number(relay->dev));
			return r;
		}
		if (r > 0) {
			r = serve_one(relay);
			if (r < 0)
				return r;
		}
	}
}

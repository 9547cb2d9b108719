/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control endpoint's socket server: one client at a time, requests
 * framed by their size (ctrl-proto.c), answered by ctrl-commands.c.
 *
 * Everything is non-blocking: a request is collected from as many reads as
 * it takes, framed by the command's own size (and, for SET_STATEBLOB and
 * HASH_DATA, the length field), then answered; the response is written as
 * far as the socket takes it and the rest when it becomes writable.  While a
 * response is pending nothing more is read, so one request is handled at a
 * time.  One client is served at a time; see accept_client() for the others.
 */
#include "config.h"

#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ctrl-internal.h"
#include "ctrl-proto.h"
#include "socket-util.h"

/* Bytes of unparsable input thrown away after an unknown command. */
#define DRAIN_MAX 65536

int vtpm_ctrl_epoll_set(struct vtpm_ctrl *ctrl, int op, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ctrl->epoll_fd, op, fd, &ev) < 0 ? -errno : 0;
}

void vtpm_ctrl_arm_listen(struct vtpm_ctrl *ctrl, bool on)
{
	if (ctrl->listen_fd < 0 || ctrl->listen_armed == on)
		return;
	if (vtpm_ctrl_epoll_set(ctrl, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, ctrl->listen_fd, EPOLLIN) == 0)
		ctrl->listen_armed = on;
}

void vtpm_ctrl_drop_client(struct vtpm_ctrl *ctrl)
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
	vtpm_ctrl_arm_listen(ctrl, true);
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
		vtpm_ctrl_epoll_set(ctrl, EPOLL_CTL_MOD, ctrl->client_fd, EPOLLOUT);
		if (!ctrl->deadline)
			ctrl->deadline = vtpm_now_ms() + ctrl->timeout_ms;
		return 1;
	}
	ctrl->out_len = ctrl->out_off = 0;
	ctrl->deadline = 0;
	ctrl->last_activity = vtpm_now_ms();
	vtpm_ctrl_epoll_set(ctrl, EPOLL_CTL_MOD, ctrl->client_fd, EPOLLIN);
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

/* recv() that keeps the first descriptor a request passes for SET_DATAFD. */
static ssize_t recv_with_fds(struct vtpm_ctrl *ctrl, uint8_t *buf, size_t len)
{
	return vtpm_socket_recv_keep_fd(ctrl->client_fd, buf, len, &ctrl->pending_fd);
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
	bool drain = vtpm_ctrl_handle_request(ctrl, ctrl->in, len);

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
		vtpm_ctrl_respond(ctrl, PTM_RES_SIZE); /* out of memory above */
	if (flush_output(ctrl) < 0)
		vtpm_ctrl_drop_client(ctrl);
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
			vtpm_ctrl_respond(ctrl, PTM_RES_BAD_PARAMETER);
			flush_output(ctrl);
			vtpm_ctrl_drop_client(ctrl);
			return answered + 1;
		}
		if (ctrl->in_len >= max) {
			answer(ctrl, ctrl->in_len);
			answered++;
			continue;
		}
		if (grow_input(ctrl, max) < 0) {
			vtpm_ctrl_drop_client(ctrl);
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
			vtpm_ctrl_drop_client(ctrl);
			return answered ? answered : -EPIPE;
		}
		if (n == 0) {
			if (ctrl->in_len)
				dbg(ctrl->ctx, "control client left in the middle of a request");
			vtpm_ctrl_drop_client(ctrl);
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
			vtpm_ctrl_arm_listen(ctrl, false);
			return;
		}
		dbg(ctrl->ctx, "idle control client gives way to a waiting one");
		vtpm_ctrl_drop_client(ctrl);
	}
	fd = accept4(ctrl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or the client gave up already */
	if (vtpm_ctrl_epoll_set(ctrl, EPOLL_CTL_ADD, fd, EPOLLIN) < 0) {
		close(fd);
		return;
	}
	ctrl->client_fd = fd;
	ctrl->last_activity = vtpm_now_ms();
	/* Watched again only to notice a waiting client. */
	vtpm_ctrl_arm_listen(ctrl, true);
}

static void check_timeout(struct vtpm_ctrl *ctrl)
{
	if (!ctrl->deadline || vtpm_now_ms() < ctrl->deadline || ctrl->client_fd < 0)
		return;
	if (ctrl->out_len) {
		warn(ctrl->ctx, "control client does not read its response: dropping it");
		vtpm_ctrl_drop_client(ctrl);
		return;
	}
	/* An incomplete request: swtpm's answer to a short message. */
	dbg(ctrl->ctx, "control request incomplete after %d ms", ctrl->timeout_ms);
	ctrl->in_len = 0;
	ctrl->deadline = 0;
	vtpm_ctrl_respond(ctrl, PTM_RES_BAD_PARAMETER);
	if (flush_output(ctrl) < 0)
		vtpm_ctrl_drop_client(ctrl);
}

VTPM_EXPORT int vtpm_ctrl_dispatch(struct vtpm_ctrl *ctrl)
{
	struct epoll_event ev[2];
	int answered = 0, n, r;

	check_timeout(ctrl);
	if (ctrl->client_waiting && client_is_idle(ctrl) && vtpm_now_ms() >= preempt_time(ctrl)) {
		vtpm_ctrl_drop_client(ctrl); /* re-arms the listening socket */
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
				vtpm_ctrl_drop_client(ctrl);
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

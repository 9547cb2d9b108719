/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control endpoint: swtpm's control protocol served for a backend.  See
 * ctrl.h for the behaviour and ctrl-proto.h for the wire format.  This file
 * makes the object and its listening socket; ctrl-server.c serves the
 * clients, ctrl-commands.c answers their requests.
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctrl-internal.h"
#include "ctrl-proto.h"
#include "socket-util.h"

#define LISTEN_BACKLOG 8

static int ctrl_alloc(struct vtpm_ctx *ctx, struct vtpm_backend *backend, struct vtpm_ctrl **out)
{
	struct vtpm_ctrl *ctrl;

	ctrl = calloc(1, sizeof(*ctrl));
	if (!ctrl)
		return -ENOMEM;
	ctrl->listen_fd = ctrl->client_fd = ctrl->pending_fd = -1;
	ctrl->timeout_ms = VTPM_CTRL_TIMEOUT_MS;
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
	r = vtpm_ctrl_epoll_set(ctrl, EPOLL_CTL_ADD, fd, EPOLLIN);
	if (r < 0) {
		vtpm_ctrl_unref(ctrl);
		return r;
	}
	*out = ctrl;
	return 0;
}

static int listen_unix(struct vtpm_ctrl *ctrl, const struct vtpm_sockaddr *sa,
		       mode_t mode, uid_t uid, gid_t gid)
{
	const char *path = ((const struct sockaddr_un *)&sa->ss)->sun_path;
	_cleanup_close_ int fd = -1;

	fd = vtpm_socket_listen_unix_replace(ctrl->ctx, sa, mode, uid, gid, LISTEN_BACKLOG);
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
	vtpm_ctrl_arm_listen(ctrl, true);
	if (!ctrl->listen_armed) {
		vtpm_ctrl_unref(ctrl);
		return -ENOMEM;
	}
	*out = ctrl;
	return 0;
}

VTPM_EXPORT int vtpm_ctrl_new_from_address(struct vtpm_backend *backend, const char *address,
					   const struct vtpm_ctrl_options *opts, struct vtpm_ctrl **ctrl)
{
	if (!backend || !ctrl)
		return -EINVAL;
	return vtpm_ctrl_new(vtpm_backend_get_ctx(backend), backend, address, opts, ctrl);
}

/* The library never takes a caller's fd: it keeps a duplicate of its own (see libvtpm(3)). */
VTPM_EXPORT int vtpm_ctrl_new_from_fd(struct vtpm_backend *backend, int fd, struct vtpm_ctrl **ctrl)
{
	int dup;

	if (!backend || !ctrl)
		return -EINVAL;
	dup = vtpm_dup_borrowed_fd(fd);
	if (dup < 0)
		return dup;
	/* vtpm_ctrl_new_fd() takes the duplicate, and closes it on failure. */
	return vtpm_ctrl_new_fd(vtpm_backend_get_ctx(backend), backend, dup, ctrl);
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
	vtpm_ctrl_drop_client(ctrl);
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

VTPM_EXPORT int vtpm_ctrl_shutdown_requested(const struct vtpm_ctrl *ctrl)
{
	return ctrl->shutdown_requested;
}

VTPM_EXPORT uint8_t vtpm_ctrl_get_locality(const struct vtpm_ctrl *ctrl)
{
	return vtpm_backend_get_locality(ctrl->backend);
}

void vtpm_ctrl_set_server(struct vtpm_ctrl *ctrl, void *server,
			  int (*take_data_fd)(void *server, int fd))
{
	ctrl->server = server;
	ctrl->take_data_fd = server ? take_data_fd : NULL;
}

void *vtpm_ctrl_get_server(const struct vtpm_ctrl *ctrl)
{
	return ctrl->server;
}

struct vtpm_backend *vtpm_ctrl_get_backend(const struct vtpm_ctrl *ctrl)
{
	return ctrl->backend;
}

struct vtpm_ctx *vtpm_ctrl_get_ctx(const struct vtpm_ctrl *ctrl)
{
	return ctrl->ctx;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The typed client of a manager: each call formats one request
 * (manager-proto.c), exchanges it over the manager's socket
 * (vtpm_manager_request()) and parses the answer into result objects
 * (manager-reply.c).  Nothing here forks or keeps a connection.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "manager-internal.h"
#include "socket-util.h"
#include "vtpm-internal.h"

/* For a whole exchange when the caller gives no time: a first start
 * manufactures the TPM, which takes long under emulation. */
#define CLIENT_TIMEOUT_MS 60000

struct vtpm_manager_client {
	int refcount;
	struct vtpm_ctx *ctx;
	char *socket_path;
	int timeout_ms;
	char message[VTPM_MANAGER_MESSAGE_MAX];
};

int vtpm_mgr_exchange(struct vtpm_ctx *ctx, const char *socket_path, const char *request,
		      int key_fd, int timeout_ms, char **response)
{
	_cleanup_free_ char *addr = NULL, *buf = NULL;
	_cleanup_close_ int fd = -1;
	struct vtpm_sockaddr sa;
	int64_t deadline = vtpm_now_ms() + (timeout_ms > 0 ? timeout_ms : CLIENT_TIMEOUT_MS);
	size_t len = 0, size = 0, req_len = strlen(request);
	int r;

	if (req_len > VTPM_MANAGER_REQUEST_MAX)
		return -EMSGSIZE;
	if (asprintf(&addr, "unix:%s", socket_path ?: VTPM_MANAGER_RUN_DIR "/" VTPM_MANAGER_SOCKET) < 0) {
		addr = NULL;
		return -ENOMEM;
	}
	r = vtpm_sockaddr_parse(addr, &sa);
	if (r < 0)
		return r;
	fd = vtpm_socket_connect(&sa, deadline);
	if (fd < 0)
		return fd;
	if (key_fd >= 0 && req_len > 0)
		r = vtpm_socket_write_all_fd(fd, request, req_len, key_fd, deadline);
	else
		r = vtpm_socket_write_all(fd, request, req_len, deadline);
	if (r == 0 && (req_len == 0 || request[req_len - 1] != '\n'))
		r = vtpm_socket_write_all(fd, "\n", 1, deadline);
	if (r < 0)
		return r;
	shutdown(fd, SHUT_WR);

	for (;;) {
		size_t got = 0;

		if (size - len < 4096) {
			char *nbuf;

			size = size ? size * 2 : 65536;
			if (size > VTPM_MGR_REPLY_MAX + 1)
				return -EMSGSIZE;
			nbuf = realloc(buf, size);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
		}
		r = vtpm_socket_read_all(fd, buf + len, size - len - 1, deadline, &got);
		len += got;
		if (r == -EPIPE)
			break; /* the manager closes after its answer */
		if (r < 0)
			return r;
	}
	while (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0)
		return -EPROTO;
	buf[len] = '\0';
	dbg(ctx, "manager answered: %s", buf);
	*response = TAKE_PTR(buf);
	return 0;
}

VTPM_EXPORT int vtpm_manager_request(struct vtpm_ctx *ctx, const char *socket_path,
				     const char *request, int timeout_ms, char **response)
{
	return vtpm_mgr_exchange(ctx, socket_path, request, -1, timeout_ms, response);
}

VTPM_EXPORT int vtpm_manager_client_new(struct vtpm_ctx *ctx,
					const struct vtpm_manager_client_options *opts,
					struct vtpm_manager_client **client)
{
	struct vtpm_manager_client_options o = { .size = sizeof(o) };
	struct vtpm_manager_client *c;
	struct vtpm_sockaddr sa;
	_cleanup_free_ char *addr = NULL;
	const char *path;
	int r;

	if (opts) {
		if (opts->size < offsetof(struct vtpm_manager_client_options, timeout_ms) +
				 sizeof(opts->timeout_ms))
			return -EINVAL;
		memcpy(&o, opts, sizeof(o) < opts->size ? sizeof(o) : opts->size);
	}
	path = o.socket_path ?: VTPM_MANAGER_RUN_DIR "/" VTPM_MANAGER_SOCKET;
	if (path[0] != '/' || o.timeout_ms < 0)
		return -EINVAL;
	/* Check now that the path makes a socket address. */
	if (asprintf(&addr, "unix:%s", path) < 0) {
		addr = NULL;
		return -ENOMEM;
	}
	r = vtpm_sockaddr_parse(addr, &sa);
	if (r < 0)
		return r == -ENAMETOOLONG ? r : -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->socket_path = strdup(path);
	if (!c->socket_path) {
		free(c);
		return -ENOMEM;
	}
	c->refcount = 1;
	c->ctx = vtpm_ctx_ref(ctx);
	c->timeout_ms = o.timeout_ms;
	*client = c;
	return 0;
}

VTPM_EXPORT struct vtpm_manager_client *vtpm_manager_client_ref(struct vtpm_manager_client *client)
{
	if (client)
		client->refcount++;
	return client;
}

VTPM_EXPORT struct vtpm_manager_client *
vtpm_manager_client_unref(struct vtpm_manager_client *client)
{
	if (!client || --client->refcount > 0)
		return NULL;
	vtpm_ctx_unref(client->ctx);
	free(client->socket_path);
	free(client);
	return NULL;
}

VTPM_EXPORT const char *vtpm_manager_client_get_message(const struct vtpm_manager_client *client)
{
	return client->message;
}

struct vtpm_ctx *vtpm_mgr_client_ctx(const struct vtpm_manager_client *client)
{
	return client->ctx;
}

const char *vtpm_mgr_client_socket(const struct vtpm_manager_client *client)
{
	return client->socket_path;
}

/* The errors of the exchange, made the closed set manager.h names. */
static int exchange_error(int r)
{
	switch (r) {
	case -ENOENT:		/* no socket */
	case -ECONNREFUSED:	/* nobody listens on it */
		return -ECONNREFUSED;
	case -ETIMEDOUT:
	case -EMSGSIZE:
	case -EPROTO:
	case -ENOMEM:
	case -EACCES:
	case -EPERM:
		return r;
	}
	return -EIO;
}

/*
 * Send @req and parse the answer into @reply.  Returns 0 when the manager
 * did what was asked, its error when it answered with one, or an error of
 * the exchange.
 */
static int call_with_key(struct vtpm_manager_client *c, const struct vtpm_mgr_request *req,
			 int key_fd, struct vtpm_mgr_reply *reply)
{
	_cleanup_free_ char *text = NULL, *answer = NULL;
	int r;

	c->message[0] = '\0';
	*reply = (struct vtpm_mgr_reply){};
	r = vtpm_mgr_request_format(req, &text);
	if (r < 0)
		return r;
	r = vtpm_mgr_exchange(c->ctx, c->socket_path, text, key_fd, c->timeout_ms, &answer);
	if (r < 0) {
		dbg(c->ctx, "request to %s failed: %s", c->socket_path, strerror(-r));
		return exchange_error(r);
	}
	r = vtpm_mgr_reply_parse(answer, strlen(answer), req->op, req->name, reply);
	if (r < 0) {
		err(c->ctx, "%s: the manager's answer breaks the protocol", c->socket_path);
		return r;
	}
	if (reply->error) {
		memcpy(c->message, reply->message, sizeof(c->message));
		dbg(c->ctx, "the manager answered %s: %s", strerror(-reply->error), c->message);
		return reply->error;
	}
	return 0;
}

static int call(struct vtpm_manager_client *c, const struct vtpm_mgr_request *req,
		struct vtpm_mgr_reply *reply)
{
	return call_with_key(c, req, -1, reply);
}

static int name_request(struct vtpm_mgr_request *req, enum vtpm_mgr_op op, const char *name)
{
	*req = (struct vtpm_mgr_request){ .op = op };
	if (!name || !vtpm_mgr_name_is_valid(name))
		return -EINVAL;
	strcpy(req->name, name);
	return 0;
}

/* Give the caller the description, or drop it if not wanted. */
static int take_info(struct vtpm_mgr_reply *reply, struct vtpm_instance_info **info)
{
	if (info)
		*info = TAKE_PTR(reply->info);
	vtpm_mgr_reply_clear(reply);
	return 0;
}

/* The manufacture options of a create into @req: 0 or -EINVAL. */
static int request_manufacture(struct vtpm_mgr_request *req,
			       const struct vtpm_manufacture_options *opts)
{
	struct vtpm_manufacture_options m = { .size = sizeof(m) };

	if (!opts)
		return 0;
	if (opts->size < offsetof(struct vtpm_manufacture_options, flags) + sizeof(opts->flags) ||
	    (req->version && req->version != VTPM_VERSION_2))
		return -EINVAL;
	memcpy(&m, opts, sizeof(m) < opts->size ? sizeof(m) : opts->size);
	return vtpm_mgr_request_set_manufacture(req, &m);
}

VTPM_EXPORT int vtpm_manager_client_create(struct vtpm_manager_client *client, const char *name,
					   const struct vtpm_instance_options *opts,
					   struct vtpm_instance_info **info)
{
	struct vtpm_instance_options o = { .size = sizeof(o) };
	struct vtpm_mgr_request req;
	struct vtpm_mgr_reply reply;
	_cleanup_close_ int key_fd = -1;
	int r;

	r = name_request(&req, VTPM_MGR_OP_CREATE, name);
	if (r < 0)
		return r;
	if (opts) {
		if (opts->size < offsetof(struct vtpm_instance_options, backend_flags) +
				 sizeof(opts->backend_flags))
			return -EINVAL;
		/* A caller compiled before the later members passes a shorter struct. */
		memcpy(&o, opts, sizeof(o) < opts->size ? sizeof(o) : opts->size);
	}
	if ((o.version && o.version != VTPM_VERSION_2 && o.version != VTPM_VERSION_1_2) ||
	    (o.backend_flags & ~VTPM_LIBTPMS_RESUME) ||
	    (o.state_dir && (!vtpm_path_is_safe(o.state_dir) ||
			     strlen(o.state_dir) >= sizeof(req.state_dir))) ||
	    (o.socket && (!vtpm_path_is_safe(o.socket) || strlen(o.socket) >= sizeof(req.socket))))
		return -EINVAL;
	req.version = o.version;
	if (o.state_dir)
		strcpy(req.state_dir, o.state_dir);
	if (o.socket)
		strcpy(req.socket, o.socket);
	req.resume = o.backend_flags & VTPM_LIBTPMS_RESUME;
	r = request_manufacture(&req, o.manufacture);
	if (r < 0)
		return r;
	if (o.key) {
		key_fd = vtpm_mgr_key_to_fd(o.key);
		if (key_fd < 0)
			return key_fd == -ENOMEM ? -ENOMEM : -EIO;
		req.key = true;
	}
	r = call_with_key(client, &req, key_fd, &reply);
	if (r < 0)
		return r;
	return take_info(&reply, info);
}

/* A request that names an instance; its description goes to @info unless that is NULL. */
static int call_named(struct vtpm_manager_client *client, enum vtpm_mgr_op op, const char *name,
		      struct vtpm_instance_info **info)
{
	struct vtpm_mgr_request req;
	struct vtpm_mgr_reply reply;
	int r;

	r = name_request(&req, op, name);
	if (r < 0)
		return r;
	r = call(client, &req, &reply);
	if (r < 0)
		return r;
	return take_info(&reply, info);
}

VTPM_EXPORT int vtpm_manager_client_destroy(struct vtpm_manager_client *client, const char *name)
{
	return call_named(client, VTPM_MGR_OP_DESTROY, name, NULL);
}

VTPM_EXPORT int vtpm_manager_client_restart(struct vtpm_manager_client *client, const char *name,
					    struct vtpm_instance_info **info)
{
	return call_named(client, VTPM_MGR_OP_RESTART, name, info);
}

VTPM_EXPORT int vtpm_manager_client_status(struct vtpm_manager_client *client, const char *name,
					   struct vtpm_instance_info **info)
{
	if (!info)
		return -EINVAL;
	return call_named(client, VTPM_MGR_OP_STATUS, name, info);
}

VTPM_EXPORT int vtpm_manager_client_list(struct vtpm_manager_client *client,
					 struct vtpm_instance_list **list)
{
	struct vtpm_mgr_request req = { .op = VTPM_MGR_OP_LIST };
	struct vtpm_mgr_reply reply;
	int r;

	r = call(client, &req, &reply);
	if (r < 0)
		return r;
	*list = TAKE_PTR(reply.list);
	vtpm_mgr_reply_clear(&reply);
	return 0;
}

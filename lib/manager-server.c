/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's request socket: connections, the requests of
 * <vtpm/manager.h> read from them and the answers written back.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "manager-object.h"
#include "socket-util.h"
#include "vtpm-internal.h"

#define MANAGER_BACKLOG 128
#define MAX_CONNS 256			/* concurrent request connections */
#define REPLY_TIMEOUT_MS 2000		/* for a client to take its answer */

void vtpm_mgr_conn_free(struct vtpm_manager *mgr, struct conn *c)
{
	for (struct conn **p = &mgr->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	vtpm_mgr_epoll_del(mgr, c->fd);
	vtpm_mgr_close_fd(&c->fd);
	vtpm_mgr_close_fd(&c->key_fd);
	free(c->buf);
	free(c);
	mgr->n_conns--;
}

/* Send @text (NULL: out of memory) and close the connection. */
static void conn_reply(struct vtpm_manager *mgr, struct conn *c, char *text)
{
	static const char oom[] = "{\"ok\":false,\"error\":\"ENOMEM\",\"errno\":12}";
	const char *out = text ?: oom;

	if (vtpm_socket_write_all(c->fd, out, strlen(out), vtpm_now_ms() + REPLY_TIMEOUT_MS) == 0)
		vtpm_socket_write_all(c->fd, "\n", 1, vtpm_now_ms() + REPLY_TIMEOUT_MS);
	free(text);
	vtpm_mgr_conn_free(mgr, c);
}

static void conn_reply_error(struct vtpm_manager *mgr, struct conn *c, int error,
			     const char *message)
{
	conn_reply(mgr, c, vtpm_mgr_error_response(error, message));
}

static char *ok_response(const char *key, const char *json)
{
	char *text;

	if (!key)
		return strdup("{\"ok\":true}");
	if (asprintf(&text, "{\"ok\":true,\"%s\":%s}", key, json) < 0)
		return NULL;
	return text;
}

static void conn_reply_instance(struct vtpm_manager *mgr, struct conn *c, struct instance *inst)
{
	struct vtpm_mgr_desc d;
	_cleanup_free_ char *json = NULL;

	vtpm_mgr_describe(mgr, inst, &d);
	if (vtpm_mgr_desc_to_json(&d, &json) < 0) {
		conn_reply(mgr, c, NULL);
		return;
	}
	conn_reply(mgr, c, ok_response("instance", json));
}

void vtpm_mgr_answer_waiter(struct vtpm_manager *mgr, struct instance *inst, int error,
			    const char *message)
{
	struct conn *c = TAKE_PTR(inst->waiter);

	if (!c)
		return;
	if (error)
		conn_reply_error(mgr, c, error, message);
	else
		conn_reply_instance(mgr, c, inst);
}

static char *list_response(struct vtpm_manager *mgr)
{
	struct json_object *arr = json_object_new_array();
	char *text = NULL;

	if (!arr)
		return NULL;
	/* Oldest first: the list is kept newest first. */
	for (unsigned int k = mgr->count; k > 0; k--) {
		struct instance *inst = mgr->instances;
		_cleanup_free_ char *json = NULL;
		struct vtpm_mgr_desc d;

		for (unsigned int j = 1; j < k; j++)
			inst = inst->next;
		vtpm_mgr_describe(mgr, inst, &d);
		if (vtpm_mgr_desc_to_json(&d, &json) < 0 ||
		    json_object_array_add(arr, json_tokener_parse(json)) < 0)
			goto out;
	}
	if (asprintf(&text, "{\"ok\":true,\"instances\":%s}",
		     json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		text = NULL;
out:
	json_object_put(arr);
	return text;
}

/* A create request: 0 once the instance starts, else answered and < 0. */
static int handle_create(struct vtpm_manager *mgr, struct conn *c,
			 const struct vtpm_mgr_request *req)
{
	struct vtpm_manufacture_options m;
	struct vtpm_instance_options o = {
		.size = sizeof(o), .version = req->version,
		.state_dir = req->state_dir[0] ? req->state_dir : NULL,
		.backend_flags = req->resume ? VTPM_LIBTPMS_RESUME : 0,
		.socket = req->socket[0] ? req->socket : NULL,
	};
	int r;

	if (req->manufacture) {
		vtpm_mgr_request_get_manufacture(req, &m);
		o.manufacture = &m;
	}
	if (req->key) {
		r = c->key_fd < 0 ? -EINVAL : vtpm_mgr_key_from_fd(mgr->ctx, c->key_fd, &o.key);
		vtpm_mgr_close_fd(&c->key_fd);
		if (r < 0) {
			conn_reply_error(mgr, c, r, "the request asks for a key but passes no "
						    "descriptor of a 16 or 32 byte key");
			return r;
		}
	}
	vtpm_mgr_close_fd(&c->key_fd);
	r = vtpm_manager_create(mgr, req->name, &o);
	vtpm_state_key_unref(o.key);
	if (r < 0)
		conn_reply_error(mgr, c, r, r == -EEXIST ? "an instance of that name exists" :
					    r == -EBUSY ? "another instance uses that state directory" :
					    NULL);
	return r;
}

static void handle_request(struct vtpm_manager *mgr, struct conn *c)
{
	struct vtpm_mgr_request req;
	struct instance *inst;
	int r;

	r = vtpm_mgr_request_parse(c->buf, c->len, &req);
	if (r < 0) {
		conn_reply_error(mgr, c, r, r == -EOPNOTSUPP ? "unknown op" :
					    r == -EINVAL ? "missing or bad member" :
					    "not a JSON object");
		return;
	}
	switch (req.op) {
	case VTPM_MGR_OP_CREATE:
		r = handle_create(mgr, c, &req);
		if (r < 0)
			return;
		goto wait_ready;
	case VTPM_MGR_OP_RESTART:
		r = vtpm_manager_restart(mgr, req.name);
		if (r < 0) {
			conn_reply_error(mgr, c, r, r == -ENOENT ? "no such instance" : NULL);
			return;
		}
		goto wait_ready;
	case VTPM_MGR_OP_DESTROY:
		r = vtpm_manager_destroy(mgr, req.name);
		if (r < 0 && r != -ETIMEDOUT) {
			conn_reply_error(mgr, c, r, "no such instance");
			return;
		}
		conn_reply(mgr, c, ok_response(NULL, NULL));
		return;
	case VTPM_MGR_OP_STATUS:
		inst = vtpm_mgr_find(mgr, req.name);
		if (!inst) {
			conn_reply_error(mgr, c, -ENOENT, "no such instance");
			return;
		}
		conn_reply_instance(mgr, c, inst);
		return;
	case VTPM_MGR_OP_LIST:
		conn_reply(mgr, c, list_response(mgr));
		return;
	}
	conn_reply_error(mgr, c, -EOPNOTSUPP, NULL);
	return;

wait_ready:
	/* Answer when the device is ready, or the start failed. */
	inst = vtpm_mgr_find(mgr, req.name);
	if (!inst || inst->waiter) {
		conn_reply_error(mgr, c, -EBUSY, "another request waits for this instance");
		return;
	}
	vtpm_mgr_epoll_del(mgr, c->fd);
	inst->waiter = c;
}

void vtpm_mgr_on_conn(struct vtpm_manager *mgr, struct conn *c)
{
	char chunk[4096];
	ssize_t n;

	for (;;) {
		/* A key comes as a descriptor with the first bytes (manager-key.c). */
		n = vtpm_socket_recv_keep_fd(c->fd, chunk, sizeof(chunk), &c->key_fd);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			vtpm_mgr_conn_free(mgr, c);
			return;
		}
		if (n == 0)
			break; /* the client shut down its side: the request is complete */
		if (c->len + (size_t)n > VTPM_MANAGER_REQUEST_MAX) {
			conn_reply_error(mgr, c, -EMSGSIZE, "request too large");
			return;
		}
		{
			char *buf = realloc(c->buf, c->len + (size_t)n + 1);

			if (!buf) {
				conn_reply(mgr, c, NULL);
				return;
			}
			c->buf = buf;
		}
		memcpy(c->buf + c->len, chunk, (size_t)n);
		c->len += (size_t)n;
		if (memchr(chunk, '\n', (size_t)n))
			break;
	}
	if (!c->len) {
		vtpm_mgr_conn_free(mgr, c);
		return;
	}
	handle_request(mgr, c);
}

void vtpm_mgr_on_listen(struct vtpm_manager *mgr)
{
	for (;;) {
		int fd = accept4(mgr->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		if (mgr->n_conns >= MAX_CONNS) {
			warn(mgr->ctx, "too many request connections: dropping one");
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			return;
		}
		*c = (struct conn){ .watch = { WATCH_CONN, c }, .fd = fd, .key_fd = -1,
				    .next = mgr->conns };
		if (vtpm_mgr_epoll_add(mgr, fd, &c->watch) < 0) {
			close(fd);
			free(c);
			continue;
		}
		mgr->conns = c;
		mgr->n_conns++;
	}
}

VTPM_EXPORT int vtpm_manager_listen(struct vtpm_manager *mgr, const char *path)
{
	struct vtpm_sockaddr sa;
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (mgr->listen_fd >= 0)
		return -EBUSY;
	if (path)
		p = strdup(path);
	else if (asprintf(&p, "%s/%s", mgr->run_dir, VTPM_MANAGER_SOCKET) < 0)
		p = NULL;
	if (!p)
		return -ENOMEM;
	r = vtpm_sockaddr_unix(p, &sa);
	if (r < 0)
		return r;
	/* Born 0600 in a private directory, not under a process-wide umask
	 * that another thread may change at any moment. */
	fd = vtpm_socket_listen_unix_replace(mgr->ctx, &sa, 0600, (uid_t)-1, (gid_t)-1,
					     MANAGER_BACKLOG);
	if (fd < 0)
		return fd;
	r = vtpm_mgr_epoll_add(mgr, fd, &mgr->listen_watch);
	if (r < 0) {
		unlink(p);
		return r;
	}
	mgr->listen_fd = TAKE_FD(fd);
	/* The run directory is ours now: what an earlier manager left there is
	 * taken over before the first request can name it. */
	vtpm_mgr_take_over_all(mgr);
	/* Serving requests from now on: have spares ready for them. */
	vtpm_mgr_spares_remove_stale(mgr);
	vtpm_mgr_spares_fill(mgr);
	mgr->socket_path = TAKE_PTR(p);
	return 0;
}

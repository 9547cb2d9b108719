/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the control endpoint's files share: the object (ctrl.c), the
 * one-client socket server (ctrl-server.c) and the protocol's command
 * handlers (ctrl-commands.c).
 */
#ifndef VTPM_CTRL_INTERNAL_H
#define VTPM_CTRL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vtpm-internal.h"

struct vtpm_ctrl {
	int refcount;
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	/* Who serves us in its loop (a relay, which holds a reference to us), or NULL. */
	void *server;
	int (*take_data_fd)(void *server, int fd); /* SET_DATAFD; NULL: not offered */
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
	bool shutdown_requested;
	int pending_fd;		  /* passed with the request being read, or -1 */
	uint8_t *in;
	size_t in_len, in_cap;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
};

/* ---- ctrl-commands.c ---- */

/*
 * Make the response buffer @len bytes long, zeroed, with nothing of it sent
 * yet.  Returns it, or NULL if it cannot grow (the old one stays).
 */
uint8_t *vtpm_ctrl_out_reserve(struct vtpm_ctrl *ctrl, size_t len);
/* A response that is the result alone; cannot fail (see ctrl_alloc()). */
void vtpm_ctrl_respond(struct vtpm_ctrl *ctrl, uint32_t res);
/*
 * Answer the complete request @in (@len bytes, as vtpm_ctrl_request_size()
 * framed it) into the response buffer.  Returns true if the rest of what
 * the client sent is to be dropped.
 */
bool vtpm_ctrl_handle_request(struct vtpm_ctrl *ctrl, const uint8_t *in, size_t len);

/* ---- ctrl-server.c ---- */

int vtpm_ctrl_epoll_set(struct vtpm_ctrl *ctrl, int op, int fd, uint32_t events);
/* Watch the listening socket (if any) for a client, or stop watching it. */
void vtpm_ctrl_arm_listen(struct vtpm_ctrl *ctrl, bool on);
/* Close the current client's connection, if any, and forget its request. */
void vtpm_ctrl_drop_client(struct vtpm_ctrl *ctrl);

#endif

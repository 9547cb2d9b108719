/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's spares: TPM 2 processes forked ahead of requests, which
 * have manufactured and self-tested a TPM already, so that a create for a
 * new state directory only has to make the device.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "manager-object.h"
#include "socket-util.h"
#include "vtpm-internal.h"

#define SPARE_PREFIX ".spare-"

static void spare_drop(struct spare *sp)
{
	vtpm_mgr_close_fd(&sp->order_fd);
	vtpm_mgr_close_fd(&sp->ready_fd);
	free(sp->scratch);
	sp->scratch = NULL;
	sp->pid = 0;
}

static int spare_fork(struct vtpm_manager *mgr, struct spare *sp)
{
	int ready[2], order[2], r;
	pid_t self = getpid();

	*sp = (struct spare){ .order_fd = -1, .ready_fd = -1 };
	r = vtpm_mkdir_p(mgr->state_root, 0700);
	if (r < 0)
		return r;
	if (asprintf(&sp->scratch, "%s/" SPARE_PREFIX "XXXXXX", mgr->state_root) < 0) {
		sp->scratch = NULL;
		return -ENOMEM;
	}
	if (!mkdtemp(sp->scratch)) {
		r = -errno;
		spare_drop(sp);
		return r;
	}
	if (pipe2(ready, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	/* A socket, so that an order to a dead spare is EPIPE, not SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, order) < 0) {
		r = -errno;
		close(ready[0]);
		close(ready[1]);
		goto fail;
	}
	sp->pid = fork();
	if (sp->pid < 0) {
		r = -errno;
		close(ready[0]);
		close(ready[1]);
		close(order[0]);
		close(order[1]);
		goto fail;
	}
	if (sp->pid == 0) {
		close(ready[0]);
		close(order[1]);
		vtpm_spare_main(mgr->ctx, sp->scratch, order[0], ready[1], self);
	}
	close(ready[1]);
	close(order[0]);
	sp->ready_fd = ready[0];
	sp->order_fd = order[1];
	return 0;
fail:
	rmdir(sp->scratch);
	spare_drop(sp);
	return r;
}

/*
 * Keep SPARES spares while the manager listens for requests; failures only
 * cost the speed-up.
 */
void vtpm_mgr_spares_fill(struct vtpm_manager *mgr)
{
	if (mgr->flags & VTPM_MANAGER_NO_SPARES || mgr->listen_fd < 0)
		return;
	while (mgr->n_spares < SPARES) {
		int r = spare_fork(mgr, &mgr->spares[mgr->n_spares]);

		if (r < 0) {
			warn(mgr->ctx, "cannot start a spare instance: %s", strerror(-r));
			return;
		}
		mgr->n_spares++;
	}
}

/* Retire every spare: end of file on its order socket, then reap it. */
void vtpm_mgr_spares_retire(struct vtpm_manager *mgr)
{
	int64_t deadline = vtpm_now_ms() + STOP_TIMEOUT_MS;

	for (unsigned int i = 0; i < mgr->n_spares; i++)
		vtpm_mgr_close_fd(&mgr->spares[i].order_fd);
	for (unsigned int i = 0; i < mgr->n_spares; i++) {
		struct spare *sp = &mgr->spares[i];

		while (waitpid(sp->pid, NULL, WNOHANG) == 0) {
			if (vtpm_now_ms() >= deadline) {
				kill(sp->pid, SIGKILL);
				waitpid(sp->pid, NULL, 0);
				break;
			}
			poll(NULL, 0, 10);
		}
		vtpm_remove_flat_dir(sp->scratch);
		spare_drop(sp);
	}
	mgr->n_spares = 0;
}

/* Scratch directories of spares a killed manager left behind. */
void vtpm_mgr_spares_remove_stale(struct vtpm_manager *mgr)
{
	struct dirent *de;
	DIR *d = opendir(mgr->state_root);

	if (!d)
		return;
	while ((de = readdir(d))) {
		_cleanup_free_ char *path = NULL;

		if (strncmp(de->d_name, SPARE_PREFIX, strlen(SPARE_PREFIX)) != 0)
			continue;
		if (asprintf(&path, "%s/%s", mgr->state_root, de->d_name) < 0)
			continue;
		vtpm_remove_flat_dir(path);
	}
	closedir(d);
}

/*
 * Hand @spec to a live spare; its pid, the read end of its ready pipe and
 * its scratch path (gone once it adopted the state) go to the caller.
 * -ENOENT when none is left.
 */
int vtpm_mgr_spare_take(struct vtpm_manager *mgr, const struct vtpm_instance_spec *spec,
			pid_t *pid, int *ready_fd, char **scratch)
{
	struct vtpm_spare_order order = {
		.version = spec->version, .backend_flags = spec->backend_flags,
		.sandbox = spec->sandbox, .uid = spec->uid, .gid = spec->gid,
	};

	if (snprintf(order.name, sizeof(order.name), "%s", spec->name) >= (int)sizeof(order.name) ||
	    snprintf(order.state_dir, sizeof(order.state_dir), "%s", spec->state_dir) >=
		    (int)sizeof(order.state_dir) ||
	    snprintf(order.ctrl_path, sizeof(order.ctrl_path), "%s", spec->ctrl_path) >=
		    (int)sizeof(order.ctrl_path))
		return -ENAMETOOLONG;

	while (mgr->n_spares > 0) {
		struct spare sp = mgr->spares[--mgr->n_spares];
		int r = 0;

		if (waitpid(sp.pid, NULL, WNOHANG) != 0)
			r = -ECHILD; /* died idle: reaped now */
		else if (vtpm_socket_write_all(sp.order_fd, &order, sizeof(order),
					       vtpm_now_ms() + STOP_TIMEOUT_MS) < 0)
			r = -EPIPE;
		if (r < 0) {
			kill(sp.pid, SIGKILL);
			waitpid(sp.pid, NULL, 0);
			vtpm_remove_flat_dir(sp.scratch);
			spare_drop(&sp);
			continue;
		}
		*pid = sp.pid;
		*ready_fd = TAKE_FD(sp.ready_fd);
		*scratch = TAKE_PTR(sp.scratch);
		spare_drop(&sp);
		return 0;
	}
	return -ENOENT;
}

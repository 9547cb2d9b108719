/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instance manager: forks one process per named vTPM, watches each
 * through a pidfd and a ready pipe, restarts the ones that die (rate
 * limited, see manager-restart.c) and serves the request protocol of
 * <vtpm/manager.h> on a Unix socket.  One epoll fd covers everything.
 * Instances outlive a manager that dies; the next one to listen on the
 * same run directory takes them over.
 *
 * This file: the object, its event loop and the calls that act on
 * instances.  Supervision (spawn, reap, restart) is in manager-supervise.c,
 * spares in manager-spares.c, taking over a dead manager's instances in
 * manager-takeover.c, the request socket in manager-server.c.
 */
#include "config.h"

#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "manager-object.h"
#include "vtpm-internal.h"

int vtpm_mgr_epoll_add(struct vtpm_manager *mgr, int fd, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	return epoll_ctl(mgr->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void vtpm_mgr_epoll_del(struct vtpm_manager *mgr, int fd)
{
	if (fd >= 0)
		epoll_ctl(mgr->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void vtpm_mgr_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int vtpm_mgr_pidfd_open(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

struct instance *vtpm_mgr_find(const struct vtpm_manager *mgr, const char *name)
{
	for (struct instance *i = mgr->instances; i; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

void vtpm_mgr_describe(const struct vtpm_manager *mgr, const struct instance *inst,
		       struct vtpm_mgr_desc *d)
{
	const char *dev = vtpm_ctx_get_path(mgr->ctx, VTPM_PATH_DEV);

	*d = (struct vtpm_mgr_desc){ .status = inst->status, .pid = inst->pid,
				     .version = inst->version, .restarts = inst->restarts,
				     .encrypted = inst->encrypted };
	snprintf(d->name, sizeof(d->name), "%s", inst->name);
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", inst->state_dir);
	snprintf(d->runtime_dir, sizeof(d->runtime_dir), "%s", inst->runtime_dir);
	if (inst->socket)
		snprintf(d->socket, sizeof(d->socket), "%s", inst->socket);
	if (!inst->has_device)
		return;
	d->tpm.present = true;
	snprintf(d->tpm.path, sizeof(d->tpm.path), "%s/tpm%u", dev, inst->ready.number);
	d->tpm.major = inst->ready.tpm_major;
	d->tpm.minor = inst->ready.tpm_minor;
	if (inst->ready.has_rm) {
		d->tpmrm.present = true;
		snprintf(d->tpmrm.path, sizeof(d->tpmrm.path), "%s/tpmrm%u", dev, inst->ready.number);
		d->tpmrm.major = inst->ready.rm_major;
		d->tpmrm.minor = inst->ready.rm_minor;
	}
}

void vtpm_mgr_publish(struct vtpm_manager *mgr, struct instance *inst)
{
	struct vtpm_mgr_desc d;
	int r;

	if (inst->dir_fd < 0)
		return;
	vtpm_mgr_describe(mgr, inst, &d);
	r = vtpm_rundir_write_desc(inst->dir_fd, &d);
	if (r < 0)
		err(mgr->ctx, "%s: cannot write %s/%s: %s", inst->name, inst->runtime_dir,
		    VTPM_RUNDIR_DESC, strerror(-r));
}

/*
 * A copy of @o in one allocation (its strings after it), for the first
 * start of an instance.  0; -EINVAL for a relative or unsafe CA path;
 * -ENOMEM.
 */
static int manufacture_dup(const struct vtpm_manufacture_options *o,
			   struct vtpm_manufacture_options **out)
{
	struct vtpm_manufacture_options m = { .size = sizeof(m) };
	const char **paths[] = { &m.ca_dir, &m.ca_key, &m.ca_cert };
	size_t total = sizeof(m);
	char *p;

	if (o->size < offsetof(struct vtpm_manufacture_options, flags) + sizeof(o->flags))
		return -EINVAL;
	memcpy(&m, o, o->size < sizeof(m) ? o->size : sizeof(m));
	m.size = sizeof(m);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (!*paths[i])
			continue;
		if (!vtpm_path_is_safe(*paths[i]))
			return -EINVAL;
		total += strlen(*paths[i]) + 1;
	}
	*out = malloc(total);
	if (!*out)
		return -ENOMEM;
	p = (char *)(*out + 1);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		if (!*paths[i])
			continue;
		*paths[i] = strcpy(p, *paths[i]);
		p += strlen(p) + 1;
	}
	**out = m;
	return 0;
}

VTPM_EXPORT int vtpm_manager_create(struct vtpm_manager *mgr, const char *name,
				    const struct vtpm_instance_options *opts)
{
	struct vtpm_instance_options o = { .version = VTPM_VERSION_2 };
	struct vtpm_manufacture_options *mf = NULL;
	struct instance *inst;
	int r;

	if (!name || !vtpm_mgr_name_is_valid(name))
		return -EINVAL;
	if (opts) {
		if (opts->size < offsetof(struct vtpm_instance_options, backend_flags) +
				 sizeof(opts->backend_flags))
			return -EINVAL;
		/* A caller compiled before the later members passes a shorter struct. */
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
		o.size = sizeof(o);
		if (!o.version)
			o.version = VTPM_VERSION_2;
	}
	if (o.version != VTPM_VERSION_2 && o.version != VTPM_VERSION_1_2)
		return -EINVAL;
	if (o.backend_flags & ~VTPM_LIBTPMS_RESUME)
		return -EINVAL;
	if (o.state_dir && !vtpm_path_is_safe(o.state_dir))
		return -EINVAL;
	if (o.socket && !vtpm_path_is_safe(o.socket))
		return -EINVAL;
	if (o.manufacture && (o.version != VTPM_VERSION_2 ||
			      manufacture_dup(o.manufacture, &mf) < 0))
		return -EINVAL;
	if (vtpm_mgr_find(mgr, name)) {
		free(mf);
		return -EEXIST;
	}

	r = vtpm_mgr_instance_new(mgr, name, o.version, o.backend_flags, o.state_dir, &inst);
	if (r < 0) {
		free(mf);
		return r;
	}
	inst->manufacture = TAKE_PTR(mf);
	inst->key = vtpm_state_key_ref(o.key);
	inst->encrypted = o.key != NULL;
	if (o.socket && !(inst->socket = strdup(o.socket))) {
		vtpm_mgr_instance_free(inst);
		return -ENOMEM;
	}
	if (!o.state_dir) {
		r = vtpm_mkdir_p(inst->state_dir, 0700);
		if (r < 0) {
			err(mgr->ctx, "%s: cannot create %s: %s", name, inst->state_dir, strerror(-r));
			vtpm_mgr_instance_free(inst);
			return r;
		}
	}
	r = vtpm_rundir_create(mgr->run_dir, name);
	if (r < 0) {
		err(mgr->ctx, "%s: cannot create %s: %s", name, inst->runtime_dir, strerror(-r));
		vtpm_mgr_instance_free(inst);
		return r;
	}
	inst->dir_fd = r;

	vtpm_mgr_instance_add(mgr, inst);
	r = vtpm_mgr_spawn(mgr, inst);
	if (r < 0) {
		err(mgr->ctx, "%s: cannot start: %s", name, strerror(-r));
		vtpm_mgr_instance_forget(mgr, inst);
		return r;
	}
	return 0;
}

VTPM_EXPORT int vtpm_manager_destroy(struct vtpm_manager *mgr, const char *name)
{
	struct instance *inst = name ? vtpm_mgr_find(mgr, name) : NULL;
	int r;

	if (!inst)
		return -ENOENT;
	r = vtpm_mgr_stop_processes(mgr, &inst, 1);
	/* A confined instance cannot remove its VM socket's name: we can. */
	if (inst->socket) {
		struct stat st;

		if (lstat(inst->socket, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(inst->socket);
	}
	info(mgr->ctx, "%s: destroyed", name);
	vtpm_mgr_instance_forget(mgr, inst);
	return r;
}

VTPM_EXPORT int vtpm_manager_restart(struct vtpm_manager *mgr, const char *name)
{
	struct instance *inst = name ? vtpm_mgr_find(mgr, name) : NULL;
	int r;

	if (!inst)
		return -ENOENT;
	if (inst->encrypted && !inst->key)
		return vtpm_mgr_spawn(mgr, inst); /* refuses, and says why */
	vtpm_mgr_answer_waiter(mgr, inst, -ECANCELED, "the instance was restarted");
	vtpm_mgr_stop_processes(mgr, &inst, 1);
	vtpm_restart_limit_reset(&inst->limit);
	inst->doomed = false;
	r = vtpm_mgr_spawn(mgr, inst);
	if (r < 0) {
		inst->status = VTPM_INSTANCE_FAILED;
		vtpm_mgr_publish(mgr, inst);
		return r;
	}
	info(mgr->ctx, "%s: restarted by request as pid %ld", name, (long)inst->pid);
	return 0;
}

VTPM_EXPORT int vtpm_manager_shutdown(struct vtpm_manager *mgr)
{
	_cleanup_free_ struct instance **list = NULL;
	size_t n = 0;
	int r;

	vtpm_mgr_spares_retire(mgr);
	if (!mgr->count)
		return 0;
	list = calloc(mgr->count, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (struct instance *i = mgr->instances; i; i = i->next)
		list[n++] = i;
	r = vtpm_mgr_stop_processes(mgr, list, n);
	while (mgr->instances)
		vtpm_mgr_instance_forget(mgr, mgr->instances);
	return r;
}

VTPM_EXPORT int vtpm_manager_release(struct vtpm_manager *mgr)
{
	vtpm_mgr_spares_retire(mgr);
	while (mgr->instances) {
		struct instance *inst = mgr->instances;

		mgr->instances = inst->next;
		mgr->count--;
		vtpm_mgr_answer_waiter(mgr, inst, -ECANCELED, "the manager handed its instances over");
		vtpm_mgr_epoll_del(mgr, inst->pidfd);
		vtpm_mgr_epoll_del(mgr, inst->ready_fd);
		/* What it was, for the successor to read. */
		vtpm_mgr_publish(mgr, inst);
		vtpm_mgr_instance_free(inst);
	}
	return 0;
}

VTPM_EXPORT unsigned int vtpm_manager_get_count(const struct vtpm_manager *mgr)
{
	return mgr->count;
}

VTPM_EXPORT int vtpm_manager_get_status(struct vtpm_manager *mgr, const char *name,
					enum vtpm_instance_status *status, pid_t *pid)
{
	struct instance *inst = name ? vtpm_mgr_find(mgr, name) : NULL;

	if (!inst)
		return -ENOENT;
	if (status)
		*status = inst->status;
	if (pid)
		*pid = inst->pid;
	return 0;
}

VTPM_EXPORT int vtpm_manager_describe(struct vtpm_manager *mgr, const char *name, char **json)
{
	struct instance *inst = name ? vtpm_mgr_find(mgr, name) : NULL;
	struct vtpm_mgr_desc d;

	if (!inst)
		return -ENOENT;
	vtpm_mgr_describe(mgr, inst, &d);
	return vtpm_mgr_desc_to_json(&d, json);
}

VTPM_EXPORT int vtpm_manager_new(struct vtpm_ctx *ctx, const struct vtpm_manager_options *opts,
				 struct vtpm_manager **out)
{
	struct vtpm_manager_options o = {};
	struct vtpm_manager *mgr;
	int r;

	if (opts) {
		if (opts->size < offsetof(struct vtpm_manager_options, flags) + sizeof(opts->flags))
			return -EINVAL;
		/* Fields past the caller's @size stay 0: its struct ends there. */
		memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
		if (opts->size < offsetof(struct vtpm_manager_options, gid) + sizeof(o.gid))
			o.uid = o.gid = 0;
	}
	if (o.flags & ~(VTPM_MANAGER_NO_SANDBOX | VTPM_MANAGER_NO_SPARES))
		return -EINVAL;
	if ((o.uid == 0) != (o.gid == 0) || (o.uid && o.flags & VTPM_MANAGER_NO_SANDBOX))
		return -EINVAL;
	/* Looked up now, not in every forked instance. */
	if (o.uid == 0 && !(o.flags & VTPM_MANAGER_NO_SANDBOX)) {
		r = vtpm_sandbox_get_default_user(ctx, &o.uid, &o.gid);
		if (r < 0)
			return r;
	}
	if ((o.run_dir && !vtpm_path_is_safe(o.run_dir)) ||
	    (o.state_dir && !vtpm_path_is_safe(o.state_dir)))
		return -EINVAL;
	if (o.restart_burst > VTPM_RESTART_BURST_MAX)
		return -EINVAL;

	mgr = calloc(1, sizeof(*mgr));
	if (!mgr)
		return -ENOMEM;
	*mgr = (struct vtpm_manager){
		.refcount = 1, .ctx = vtpm_ctx_ref(ctx), .flags = o.flags,
		.restart_burst = o.restart_burst ?: 5,
		.restart_interval_ms = o.restart_interval_ms ?: 60000,
		.uid = o.uid, .gid = o.gid,
		.epfd = -1, .wake_fd = -1, .listen_fd = -1,
		.listen_watch = { WATCH_LISTEN, NULL }, .wake_watch = { WATCH_WAKE, NULL },
	};
	mgr->run_dir = strdup(o.run_dir ?: VTPM_MANAGER_RUN_DIR);
	mgr->state_root = strdup(o.state_dir ?: VTPM_MANAGER_STATE_DIR);
	r = -ENOMEM;
	if (!mgr->run_dir || !mgr->state_root)
		goto fail;
	r = vtpm_mkdir_p(mgr->run_dir, 0755);
	if (r < 0) {
		err(ctx, "cannot create %s: %s", mgr->run_dir, strerror(-r));
		goto fail;
	}
	mgr->epfd = epoll_create1(EPOLL_CLOEXEC);
	mgr->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mgr->epfd < 0 || mgr->wake_fd < 0) {
		r = -errno;
		goto fail;
	}
	r = vtpm_mgr_epoll_add(mgr, mgr->wake_fd, &mgr->wake_watch);
	if (r < 0)
		goto fail;
	/* Once here rather than in every instance it forks. */
	vtpm_crypto_preload(ctx);
	*out = mgr;
	return 0;
fail:
	vtpm_manager_unref(mgr);
	return r;
}

VTPM_EXPORT struct vtpm_manager *vtpm_manager_ref(struct vtpm_manager *mgr)
{
	if (mgr)
		mgr->refcount++;
	return mgr;
}

VTPM_EXPORT struct vtpm_manager *vtpm_manager_unref(struct vtpm_manager *mgr)
{
	if (!mgr || --mgr->refcount > 0)
		return NULL;
	vtpm_manager_shutdown(mgr);
	while (mgr->conns)
		vtpm_mgr_conn_free(mgr, mgr->conns);
	if (mgr->listen_fd >= 0) {
		vtpm_mgr_close_fd(&mgr->listen_fd);
		unlink(mgr->socket_path);
	}
	vtpm_mgr_close_fd(&mgr->wake_fd);
	vtpm_mgr_close_fd(&mgr->epfd);
	free(mgr->socket_path);
	free(mgr->run_dir);
	free(mgr->state_root);
	vtpm_ctx_unref(mgr->ctx);
	free(mgr);
	return NULL;
}

VTPM_EXPORT int vtpm_manager_get_fd(const struct vtpm_manager *mgr)
{
	return mgr->epfd;
}

VTPM_EXPORT int vtpm_manager_get_timeout(const struct vtpm_manager *mgr)
{
	int64_t now = vtpm_now_ms(), best = -1;

	for (const struct instance *i = mgr->instances; i; i = i->next) {
		int64_t left;

		if (i->status != VTPM_INSTANCE_RESTARTING)
			continue;
		left = i->restart_at_ms > now ? i->restart_at_ms - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best > INT_MAX ? INT_MAX : (int)best;
}

VTPM_EXPORT int vtpm_manager_dispatch(struct vtpm_manager *mgr)
{
	struct epoll_event events[64];
	int n;

	mgr->dispatching = true;
	do {
		n = epoll_wait(mgr->epfd, events, ARRAY_SIZE(events), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			mgr->dispatching = false;
			return -errno;
		}
		for (int k = 0; k < n; k++) {
			struct watch *w = events[k].data.ptr;
			struct instance *inst = w->owner;
			uint64_t v;

			switch (w->type) {
			case WATCH_LISTEN:
				vtpm_mgr_on_listen(mgr);
				break;
			case WATCH_WAKE:
				if (read(mgr->wake_fd, &v, sizeof(v)) < 0)
					break;
				break;
			case WATCH_CONN:
				vtpm_mgr_on_conn(mgr, w->owner);
				break;
			case WATCH_READY:
				if (inst->ready_fd >= 0)
					vtpm_mgr_on_ready(mgr, inst);
				break;
			case WATCH_PIDFD:
				if (inst->pidfd >= 0)
					vtpm_mgr_on_death(mgr, inst);
				break;
			}
		}
	} while (n == (int)ARRAY_SIZE(events));
	vtpm_mgr_restart_due(mgr);
	mgr->dispatching = false;
	while (mgr->graveyard) {
		struct instance *inst = mgr->graveyard;

		mgr->graveyard = inst->next;
		vtpm_mgr_instance_free(inst);
	}
	return 0;
}

VTPM_EXPORT int vtpm_manager_run(struct vtpm_manager *mgr)
{
	while (!mgr->stop_requested) {
		struct pollfd pfd = { .fd = mgr->epfd, .events = POLLIN };
		int r = poll(&pfd, 1, vtpm_manager_get_timeout(mgr));

		if (r < 0 && errno != EINTR)
			return -errno;
		r = vtpm_manager_dispatch(mgr);
		if (r < 0)
			return r;
	}
	mgr->stop_requested = 0;
	return 0;
}

VTPM_EXPORT void vtpm_manager_stop(struct vtpm_manager *mgr)
{
	uint64_t one = 1;

	mgr->stop_requested = 1;
	/* write(2) is async-signal-safe; a full counter still wakes poll. */
	if (write(mgr->wake_fd, &one, sizeof(one)) < 0)
		return;
}

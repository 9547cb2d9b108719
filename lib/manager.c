/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instance manager: forks one process per named vTPM, watches each
 * through a pidfd and a ready pipe, restarts the ones that die (rate
 * limited, see manager-restart.c) and serves the request protocol of
 * <vtpm/manager.h> on a Unix socket.  One epoll fd covers everything.
 * Instances outlive a manager that dies; the next one to listen on the
 * same run directory takes them over.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <json-c/json.h>

#include "manager-internal.h"
#include "socket-util.h"
#include "vtpm-internal.h"

#define STOP_TIMEOUT_MS 10000		/* SIGTERM to SIGKILL */
#define REPLY_TIMEOUT_MS 2000		/* for a client to take its answer */
#define MAX_CONNS 256			/* concurrent request connections */
#define MANAGER_BACKLOG 128

enum watch_type {
	WATCH_LISTEN,
	WATCH_WAKE,
	WATCH_CONN,
	WATCH_PIDFD,
	WATCH_READY,
};

/* What an epoll event points at. */
struct watch {
	enum watch_type type;
	void *owner;
};

struct conn {
	struct watch watch;
	struct conn *next;
	int fd;
	int key_fd;	/* a descriptor the request passed (SCM_RIGHTS), or -1 */
	char *buf;
	size_t len;
};

struct instance {
	struct instance *next;
	char name[VTPM_MANAGER_NAME_MAX + 1];
	enum vtpm_version version;
	char *state_dir;
	char *runtime_dir;
	char *socket;		/* serves a VM there instead of a device, or NULL */
	unsigned int backend_flags;
	struct vtpm_manufacture_options *manufacture;	/* at the first start, or NULL */
	struct vtpm_state_key *key;	/* the state's key for every start, or NULL */
	bool encrypted;		/* has a key, known or not (taken over) */
	enum vtpm_instance_status status;
	pid_t pid;
	int pidfd;
	int ready_fd;
	int dir_fd;
	struct watch pid_watch, ready_watch;
	struct vtpm_instance_ready ready;
	bool has_device;
	bool ever_ready;	/* a first start that fails forgets the instance */
	bool doomed;		/* forget it once its process is gone */
	int64_t started_ms;
	int64_t restart_at_ms;
	unsigned int restarts;
	struct vtpm_restart_limit limit;
	struct conn *waiter;	/* a client waiting for it to be ready */
};

/*
 * Spares: TPM 2 processes forked ahead of requests that have already
 * manufactured and self-tested a TPM (about three quarters of a start), so
 * that a create for a new state directory only makes the device.
 */
#define SPARES 2
#define SPARE_PREFIX ".spare-"

struct spare {
	pid_t pid;
	int order_fd;	/* our end of the order socket */
	int ready_fd;	/* read end of the instance's ready pipe-to-be */
	char *scratch;	/* its state until it gets an order */
};

struct vtpm_manager {
	int refcount;
	struct vtpm_ctx *ctx;
	char *run_dir;
	char *state_root;
	unsigned int flags;
	unsigned int restart_burst;
	unsigned int restart_interval_ms;
	uid_t uid;	/* instances serve as these once confined */
	gid_t gid;
	int epfd;
	int wake_fd;
	int listen_fd;
	char *socket_path;
	struct watch listen_watch, wake_watch;
	struct instance *instances;
	struct instance *graveyard;	/* freed at the end of a dispatch */
	unsigned int count;
	struct conn *conns;
	unsigned int n_conns;
	struct spare spares[SPARES];
	unsigned int n_spares;
	bool dispatching;
	volatile sig_atomic_t stop_requested;
};

/* ------------------------------------------------------------ helpers */

static int epoll_add(struct vtpm_manager *mgr, int fd, struct watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	return epoll_ctl(mgr->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void epoll_del(struct vtpm_manager *mgr, int fd)
{
	if (fd >= 0)
		epoll_ctl(mgr->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int pidfd_open_(pid_t pid)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

static struct instance *find(const struct vtpm_manager *mgr, const char *name)
{
	for (struct instance *i = mgr->instances; i; i = i->next)
		if (strcmp(i->name, name) == 0)
			return i;
	return NULL;
}

/* mkdir, and its parent if missing (one level: /var/lib exists). */
static int make_dir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno == ENOENT) {
		_cleanup_free_ char *parent = strdup(path);
		char *slash = parent ? strrchr(parent, '/') : NULL;

		if (!parent)
			return -ENOMEM;
		if (slash && slash != parent) {
			*slash = '\0';
			if (mkdir(parent, 0755) < 0 && errno != EEXIST)
				return -errno;
			if (mkdir(path, mode) == 0 || errno == EEXIST)
				return 0;
		}
	}
	return -errno;
}

static void describe(const struct vtpm_manager *mgr, const struct instance *inst,
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

static void publish(struct vtpm_manager *mgr, struct instance *inst)
{
	struct vtpm_mgr_desc d;
	int r;

	if (inst->dir_fd < 0)
		return;
	describe(mgr, inst, &d);
	r = vtpm_rundir_write_desc(inst->dir_fd, &d);
	if (r < 0)
		err(mgr->ctx, "%s: cannot write %s/%s: %s", inst->name, inst->runtime_dir,
		    VTPM_RUNDIR_DESC, strerror(-r));
}

/* ------------------------------------------------------------ answers */

static void conn_free(struct vtpm_manager *mgr, struct conn *c)
{
	for (struct conn **p = &mgr->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	epoll_del(mgr, c->fd);
	close_fd(&c->fd);
	close_fd(&c->key_fd);
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
	conn_free(mgr, c);
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

	describe(mgr, inst, &d);
	if (vtpm_mgr_desc_to_json(&d, &json) < 0) {
		conn_reply(mgr, c, NULL);
		return;
	}
	conn_reply(mgr, c, ok_response("instance", json));
}

static void answer_waiter(struct vtpm_manager *mgr, struct instance *inst, int error,
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

/* ------------------------------------------------------------ instances */

static void instance_free(struct instance *inst)
{
	close_fd(&inst->pidfd);
	close_fd(&inst->ready_fd);
	close_fd(&inst->dir_fd);
	free(inst->state_dir);
	free(inst->runtime_dir);
	free(inst->socket);
	free(inst->manufacture);
	vtpm_state_key_unref(inst->key);
	free(inst);
}

/* Take @inst out of the list; freed now, or after the running dispatch. */
static void instance_forget(struct vtpm_manager *mgr, struct instance *inst)
{
	for (struct instance **p = &mgr->instances; *p; p = &(*p)->next) {
		if (*p == inst) {
			*p = inst->next;
			break;
		}
	}
	mgr->count--;
	answer_waiter(mgr, inst, -ECANCELED, "the instance was destroyed");
	epoll_del(mgr, inst->pidfd);
	epoll_del(mgr, inst->ready_fd);
	close_fd(&inst->dir_fd);
	vtpm_rundir_remove(mgr->run_dir, inst->name);
	if (mgr->dispatching) {
		inst->next = mgr->graveyard;
		mgr->graveyard = inst;
	} else {
		instance_free(inst);
	}
}

/*
 * A new instance, not yet in the list: its state directory is @state_dir
 * or, if NULL, "<state root>/<name>".  -EBUSY if another instance has it.
 */
static int instance_new(struct vtpm_manager *mgr, const char *name, enum vtpm_version version,
			unsigned int backend_flags, const char *state_dir, struct instance **out)
{
	struct instance *inst = calloc(1, sizeof(*inst));

	if (!inst)
		return -ENOMEM;
	*inst = (struct instance){ .version = version, .backend_flags = backend_flags,
				   .pidfd = -1, .ready_fd = -1, .dir_fd = -1,
				   .pid_watch = { WATCH_PIDFD, inst },
				   .ready_watch = { WATCH_READY, inst } };
	snprintf(inst->name, sizeof(inst->name), "%s", name);
	vtpm_restart_limit_init(&inst->limit, mgr->restart_burst, mgr->restart_interval_ms);
	if (state_dir)
		inst->state_dir = strdup(state_dir);
	else if (asprintf(&inst->state_dir, "%s/%s", mgr->state_root, name) < 0)
		inst->state_dir = NULL;
	if (asprintf(&inst->runtime_dir, "%s/%s", mgr->run_dir, name) < 0)
		inst->runtime_dir = NULL;
	if (!inst->state_dir || !inst->runtime_dir) {
		instance_free(inst);
		return -ENOMEM;
	}
	for (struct instance *i = mgr->instances; i; i = i->next) {
		if (strcmp(i->state_dir, inst->state_dir) == 0) {
			instance_free(inst);
			return -EBUSY;
		}
	}
	*out = inst;
	return 0;
}

static void instance_add(struct vtpm_manager *mgr, struct instance *inst)
{
	inst->next = mgr->instances;
	mgr->instances = inst;
	mgr->count++;
}

/* ------------------------------------------------------------ spares */

static void spare_drop(struct spare *sp)
{
	close_fd(&sp->order_fd);
	close_fd(&sp->ready_fd);
	free(sp->scratch);
	sp->scratch = NULL;
	sp->pid = 0;
}

static int spare_fork(struct vtpm_manager *mgr, struct spare *sp)
{
	int ready[2], order[2], r;
	pid_t self = getpid();

	*sp = (struct spare){ .order_fd = -1, .ready_fd = -1 };
	r = make_dir(mgr->state_root, 0700);
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

/* Keep SPARES spares; failures only cost the speed-up. */
static void spares_fill(struct vtpm_manager *mgr)
{
	if (mgr->flags & VTPM_MANAGER_NO_SPARES)
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
static void spares_retire(struct vtpm_manager *mgr)
{
	int64_t deadline = vtpm_now_ms() + STOP_TIMEOUT_MS;

	for (unsigned int i = 0; i < mgr->n_spares; i++)
		close_fd(&mgr->spares[i].order_fd);
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
static void spares_remove_stale(struct vtpm_manager *mgr)
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
static int spare_take(struct vtpm_manager *mgr, const struct vtpm_instance_spec *spec,
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

static int spawn(struct vtpm_manager *mgr, struct instance *inst)
{
	_cleanup_free_ char *ctrl_path = NULL, *scratch = NULL;
	struct vtpm_instance_spec spec;
	int pipefd[2], pidfd, r;
	pid_t pid, self = getpid();

	if (asprintf(&ctrl_path, "%s/%s", inst->runtime_dir, VTPM_RUNDIR_CTRL) < 0) {
		ctrl_path = NULL;
		return -ENOMEM;
	}
	/* Taken over from another manager, which knew the key: we cannot open it. */
	if (inst->encrypted && !inst->key) {
		err(mgr->ctx, "%s: its state is encrypted and this manager took it over without "
		    "its key: destroy it and create it again with its key", inst->name);
		return -ENOKEY;
	}
	spec = (struct vtpm_instance_spec){
		.name = inst->name, .version = inst->version, .state_dir = inst->state_dir,
		.ctrl_path = ctrl_path, .backend_flags = inst->backend_flags,
		.sandbox = !(mgr->flags & VTPM_MANAGER_NO_SANDBOX), .vm_socket = inst->socket,
		.uid = mgr->uid, .gid = mgr->gid,
		.manufacture = inst->manufacture, .key = inst->key,
	};
	/* A resume and a manufacture apply to the first start only: a crash
	 * must not resume, and a restart serves the state it left. */
	inst->backend_flags &= ~VTPM_LIBTPMS_RESUME;

	/* Existing state cannot use a prepared TPM: leave the spares for new ones. */
	if (vtpm_spare_can_adopt(&spec) &&
	    spare_take(mgr, &spec, &pid, &pipefd[0], &scratch) == 0) {
		spares_fill(mgr);
	} else {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return -errno;
		pid = fork();
		if (pid < 0) {
			r = -errno;
			close(pipefd[0]);
			close(pipefd[1]);
			return r;
		}
		if (pid == 0) {
			close(pipefd[0]);
			vtpm_instance_main(mgr->ctx, &spec, pipefd[1], self);
		}
		close(pipefd[1]);
	}
	/* The child has its copy. */
	free(TAKE_PTR(inst->manufacture));
	inst->pid = pid;
	inst->ready_fd = pipefd[0];
	inst->status = VTPM_INSTANCE_STARTING;
	inst->has_device = false;
	inst->started_ms = vtpm_now_ms();

	pidfd = pidfd_open_(pid);
	if (pidfd < 0) {
		/* Without a pidfd we could not see it die: do not let it run. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* A spare killed before it adopted the state leaves its scratch. */
		if (scratch)
			vtpm_remove_flat_dir(scratch);
		inst->pid = 0;
		close_fd(&inst->ready_fd);
		return pidfd;
	}
	inst->pidfd = pidfd;
	fcntl(inst->ready_fd, F_SETFL, O_NONBLOCK);
	r = epoll_add(mgr, inst->pidfd, &inst->pid_watch);
	if (r == 0)
		r = epoll_add(mgr, inst->ready_fd, &inst->ready_watch);
	if (r < 0) {
		kill(pid, SIGKILL);
		return r; /* the caller forgets it; the pidfd reaps nothing then */
	}
	r = vtpm_rundir_write_pid(inst->dir_fd, pid);
	if (r < 0)
		warn(mgr->ctx, "%s: cannot write its pid file: %s", inst->name, strerror(-r));
	publish(mgr, inst);
	dbg(mgr->ctx, "%s: started as pid %ld", inst->name, (long)pid);
	return 0;
}

enum reaped { STILL_RUNNING, REAPED, GONE_NO_STATUS };

/*
 * Reap the process, if it is gone.  One taken over from an earlier
 * manager that was not our child (the manager died, rather than
 * re-executed itself) cannot be waited for: its pidfd says whether it is
 * gone, and its exit status is lost.
 */
static enum reaped reap(struct instance *inst, int *wstatus)
{
	struct pollfd pfd = { .fd = inst->pidfd, .events = POLLIN };
	pid_t p;

	*wstatus = 0;
	if (inst->pid <= 0)
		return GONE_NO_STATUS;
	p = waitpid(inst->pid, wstatus, WNOHANG);
	if (p > 0)
		return REAPED;
	if (p == 0)
		return STILL_RUNNING;
	if (errno != ECHILD || inst->pidfd < 0 || poll(&pfd, 1, 0) == 1)
		return GONE_NO_STATUS;
	return STILL_RUNNING;
}

/* Wait for the end of a process sent SIGKILL. */
static void reap_killed(struct instance *inst, int *wstatus)
{
	struct pollfd pfd = { .fd = inst->pidfd, .events = POLLIN };

	if (waitpid(inst->pid, wstatus, 0) < 0 && inst->pidfd >= 0)
		poll(&pfd, 1, 1000);
}

static void forget_process(struct vtpm_manager *mgr, struct instance *inst)
{
	epoll_del(mgr, inst->pidfd);
	epoll_del(mgr, inst->ready_fd);
	close_fd(&inst->pidfd);
	close_fd(&inst->ready_fd);
	inst->pid = 0;
	inst->has_device = false;
}

/*
 * Stop the process of each instance in @list (NULL-terminated array) with
 * SIGTERM, waiting for all of them together; SIGKILL what is left at the
 * deadline.  Returns 0 or -ETIMEDOUT.
 */
static int stop_processes(struct vtpm_manager *mgr, struct instance **list, size_t n)
{
	int64_t deadline = vtpm_now_ms() + STOP_TIMEOUT_MS;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		list[i]->status = VTPM_INSTANCE_STOPPING;
		if (list[i]->pid > 0)
			kill(list[i]->pid, SIGTERM);
	}
	for (size_t i = 0; i < n; i++) {
		struct instance *inst = list[i];
		int wstatus;

		if (inst->pid <= 0)
			continue;
		while (reap(inst, &wstatus) == STILL_RUNNING) {
			struct pollfd pfd = { .fd = inst->pidfd, .events = POLLIN };
			int64_t left = deadline - vtpm_now_ms();

			if (left <= 0) {
				warn(mgr->ctx, "%s: pid %ld did not stop in time: killing it",
				     inst->name, (long)inst->pid);
				kill(inst->pid, SIGKILL);
				reap_killed(inst, &wstatus);
				ret = -ETIMEDOUT;
				break;
			}
			poll(&pfd, 1, (int)(left > INT_MAX ? INT_MAX : left));
		}
		forget_process(mgr, inst);
	}
	return ret;
}

static void on_ready(struct vtpm_manager *mgr, struct instance *inst)
{
	struct vtpm_instance_ready msg;
	ssize_t n = read(inst->ready_fd, &msg, sizeof(msg));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	epoll_del(mgr, inst->ready_fd);
	close_fd(&inst->ready_fd);
	if (n != (ssize_t)sizeof(msg) || msg.error != 0) {
		int e = n == (ssize_t)sizeof(msg) ? msg.error : -ECHILD;

		err(mgr->ctx, "%s: instance failed to start: %s", inst->name, strerror(-e));
		if (!inst->ever_ready)
			inst->doomed = true;
		answer_waiter(mgr, inst, e,
			      e == -ENOKEY ? "the state is encrypted: the instance needs its key" :
			      e == -EKEYREJECTED ? "the key does not open the state" :
			      "the instance failed to start (see the manager's log)");
		return;
	}
	inst->ready = msg;
	inst->has_device = msg.has_device;
	inst->ever_ready = true;
	inst->status = VTPM_INSTANCE_RUNNING;
	publish(mgr, inst);
	if (inst->socket)
		info(mgr->ctx, "%s: serving %s (pid %ld)", inst->name, inst->socket, (long)inst->pid);
	else
		info(mgr->ctx, "%s: tpm%u ready (pid %ld)", inst->name, msg.number, (long)inst->pid);
	answer_waiter(mgr, inst, 0, NULL);
}

static void on_death(struct vtpm_manager *mgr, struct instance *inst)
{
	int64_t now = vtpm_now_ms(), delay;
	int wstatus = 0;
	pid_t pid = inst->pid;
	enum reaped how = reap(inst, &wstatus);

	if (how == STILL_RUNNING)
		return;
	forget_process(mgr, inst);
	if (how == GONE_NO_STATUS)
		warn(mgr->ctx, "%s: pid %ld ended (not our child: no exit status)", inst->name,
		     (long)pid);
	else if (WIFSIGNALED(wstatus))
		warn(mgr->ctx, "%s: pid %ld killed by signal %d", inst->name, (long)pid,
		     WTERMSIG(wstatus));
	else
		warn(mgr->ctx, "%s: pid %ld exited with status %d", inst->name, (long)pid,
		     WEXITSTATUS(wstatus));
	if (inst->doomed) {
		answer_waiter(mgr, inst, -ECHILD, "the instance failed to start");
		instance_forget(mgr, inst);
		return;
	}
	answer_waiter(mgr, inst, -ECHILD, "the instance died while starting");

	delay = vtpm_restart_limit_record(&inst->limit, now, inst->started_ms);
	if (delay < 0) {
		inst->status = VTPM_INSTANCE_FAILED;
		err(mgr->ctx, "%s: died more than %u times in %u ms: giving up (status failed)",
		    inst->name, mgr->restart_burst, mgr->restart_interval_ms);
	} else {
		inst->status = VTPM_INSTANCE_RESTARTING;
		inst->restart_at_ms = now + delay;
		warn(mgr->ctx, "%s: restarting in %lld ms on %s", inst->name, (long long)delay,
		     inst->state_dir);
	}
	publish(mgr, inst);
}

static void restart_due(struct vtpm_manager *mgr)
{
	int64_t now = vtpm_now_ms();

	for (struct instance *inst = mgr->instances; inst; inst = inst->next) {
		int r;

		if (inst->status != VTPM_INSTANCE_RESTARTING || inst->restart_at_ms > now)
			continue;
		inst->restarts++;
		r = spawn(mgr, inst);
		if (r < 0) {
			err(mgr->ctx, "%s: cannot restart: %s", inst->name, strerror(-r));
			inst->status = VTPM_INSTANCE_FAILED;
			publish(mgr, inst);
			continue;
		}
		info(mgr->ctx, "%s: restarted as pid %ld (restart %u)", inst->name,
		     (long)inst->pid, inst->restarts);
	}
}

/* ------------------------------------------------------------ takeover */

/* The device an instance reported, back from its description. */
static bool ready_from_desc(const struct vtpm_mgr_desc *d, struct vtpm_instance_ready *ready)
{
	const char *base = strrchr(d->tpm.path, '/');

	if (!d->tpm.present || sscanf(base ? base + 1 : d->tpm.path, "tpm%u", &ready->number) != 1)
		return false;
	ready->tpm_major = d->tpm.major;
	ready->tpm_minor = d->tpm.minor;
	ready->has_rm = d->tpmrm.present;
	ready->rm_major = d->tpmrm.major;
	ready->rm_minor = d->tpmrm.minor;
	return true;
}

/* SIGTERM a process we hold a pidfd of and wait for its end (SIGKILL at
 * the deadline); reap it if it is our child (after a re-execution). */
static void stop_by_pidfd(int pidfd, pid_t pid)
{
	struct pollfd pfd = { .fd = pidfd, .events = POLLIN };

	if (syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0) == 0 &&
	    poll(&pfd, 1, STOP_TIMEOUT_MS) == 0) {
		syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
		poll(&pfd, 1, 1000);
	}
	waitpid(pid, NULL, WNOHANG);
}

/*
 * Take over the instance an earlier manager left in "<run dir>/<name>":
 * one still serving is watched again as it is (its device, and the
 * container's nodes, stay); one whose process is gone is restarted on its
 * state; one that had failed stays failed.
 */
static void take_over(struct vtpm_manager *mgr, const char *name)
{
	struct vtpm_mgr_desc d;
	struct instance *inst;
	int pidfd, r;
	bool vm;

	r = vtpm_rundir_inspect(mgr->run_dir, name, &d, &pidfd);
	if (r < 0) {
		warn(mgr->ctx, "%s/%s: no instance description to take over (%s): removing it",
		     mgr->run_dir, name, strerror(-r));
		vtpm_rundir_remove(mgr->run_dir, name);
		return;
	}
	r = instance_new(mgr, name, d.version, 0, d.state_dir, &inst);
	if (r < 0) {
		err(mgr->ctx, "%s: cannot take over: %s", name, strerror(-r));
		close_fd(&pidfd);
		return;
	}
	inst->restarts = d.restarts;
	inst->ever_ready = true;
	inst->encrypted = d.encrypted;
	if (d.socket[0] && !(inst->socket = strdup(d.socket))) {
		close_fd(&pidfd);
		instance_free(inst);
		return;
	}
	/* A VM's instance has no device to report: serving is all there is. */
	vm = d.socket[0] && d.status == VTPM_INSTANCE_RUNNING;
	if (pidfd >= 0 && (vm || ready_from_desc(&d, &inst->ready))) {
		inst->dir_fd = vtpm_rundir_open(mgr->run_dir, name);
		inst->pid = d.pid;
		inst->pidfd = pidfd;
		inst->has_device = !vm;
		inst->status = VTPM_INSTANCE_RUNNING;
		inst->started_ms = vtpm_now_ms();
		r = inst->dir_fd < 0 ? inst->dir_fd : epoll_add(mgr, pidfd, &inst->pid_watch);
		if (r < 0) {
			err(mgr->ctx, "%s: cannot take over pid %ld: %s", name, (long)d.pid,
			    strerror(-r));
			instance_free(inst);
			return;
		}
		instance_add(mgr, inst);
		if (vm)
			info(mgr->ctx, "%s: taken over: %s served by pid %ld", name, inst->socket,
			     (long)inst->pid);
		else
			info(mgr->ctx, "%s: taken over: tpm%u served by pid %ld", name,
			     inst->ready.number, (long)inst->pid);
		return;
	}
	/* Caught starting, before it reported a device: start it afresh. */
	if (pidfd >= 0) {
		stop_by_pidfd(pidfd, d.pid);
		close_fd(&pidfd);
	}
	inst->dir_fd = vtpm_rundir_create(mgr->run_dir, name);
	if (inst->dir_fd < 0) {
		err(mgr->ctx, "%s: cannot take over: %s", name, strerror(-inst->dir_fd));
		instance_free(inst);
		return;
	}
	instance_add(mgr, inst);
	if (d.status == VTPM_INSTANCE_FAILED) {
		inst->status = VTPM_INSTANCE_FAILED;
		info(mgr->ctx, "%s: taken over as failed", name);
	} else if (inst->encrypted) {
		inst->status = VTPM_INSTANCE_FAILED;
		err(mgr->ctx, "%s: pid %ld is gone and its state is encrypted with a key this "
		    "manager does not know: marked failed (destroy it and create it again with "
		    "its key)", name, (long)d.pid);
	} else {
		inst->status = VTPM_INSTANCE_RESTARTING;
		inst->restart_at_ms = vtpm_now_ms();
		warn(mgr->ctx, "%s: pid %ld is gone: restarting on %s", name, (long)d.pid,
		     inst->state_dir);
	}
	publish(mgr, inst);
}

static void take_over_all(struct vtpm_manager *mgr)
{
	struct dirent *de;
	DIR *d = opendir(mgr->run_dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (!vtpm_mgr_name_is_valid(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		take_over(mgr, de->d_name);
	}
	closedir(d);
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

/* ------------------------------------------------------------ public: lifecycle */

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
	if (find(mgr, name)) {
		free(mf);
		return -EEXIST;
	}

	r = instance_new(mgr, name, o.version, o.backend_flags, o.state_dir, &inst);
	if (r < 0) {
		free(mf);
		return r;
	}
	inst->manufacture = TAKE_PTR(mf);
	inst->key = vtpm_state_key_ref(o.key);
	inst->encrypted = o.key != NULL;
	if (o.socket && !(inst->socket = strdup(o.socket))) {
		instance_free(inst);
		return -ENOMEM;
	}
	if (!o.state_dir) {
		r = make_dir(inst->state_dir, 0700);
		if (r < 0) {
			err(mgr->ctx, "%s: cannot create %s: %s", name, inst->state_dir, strerror(-r));
			instance_free(inst);
			return r;
		}
	}
	r = vtpm_rundir_create(mgr->run_dir, name);
	if (r < 0) {
		err(mgr->ctx, "%s: cannot create %s: %s", name, inst->runtime_dir, strerror(-r));
		instance_free(inst);
		return r;
	}
	inst->dir_fd = r;

	instance_add(mgr, inst);
	r = spawn(mgr, inst);
	if (r < 0) {
		err(mgr->ctx, "%s: cannot start: %s", name, strerror(-r));
		instance_forget(mgr, inst);
		return r;
	}
	return 0;
}

VTPM_EXPORT int vtpm_manager_destroy(struct vtpm_manager *mgr, const char *name)
{
	struct instance *inst = name ? find(mgr, name) : NULL;
	int r;

	if (!inst)
		return -ENOENT;
	r = stop_processes(mgr, &inst, 1);
	/* A confined instance cannot remove its VM socket's name: we can. */
	if (inst->socket) {
		struct stat st;

		if (lstat(inst->socket, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(inst->socket);
	}
	info(mgr->ctx, "%s: destroyed", name);
	instance_forget(mgr, inst);
	return r;
}

VTPM_EXPORT int vtpm_manager_restart(struct vtpm_manager *mgr, const char *name)
{
	struct instance *inst = name ? find(mgr, name) : NULL;
	int r;

	if (!inst)
		return -ENOENT;
	if (inst->encrypted && !inst->key)
		return spawn(mgr, inst); /* refuses, and says why */
	answer_waiter(mgr, inst, -ECANCELED, "the instance was restarted");
	stop_processes(mgr, &inst, 1);
	vtpm_restart_limit_reset(&inst->limit);
	inst->doomed = false;
	r = spawn(mgr, inst);
	if (r < 0) {
		inst->status = VTPM_INSTANCE_FAILED;
		publish(mgr, inst);
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

	spares_retire(mgr);
	if (!mgr->count)
		return 0;
	list = calloc(mgr->count, sizeof(*list));
	if (!list)
		return -ENOMEM;
	for (struct instance *i = mgr->instances; i; i = i->next)
		list[n++] = i;
	r = stop_processes(mgr, list, n);
	while (mgr->instances)
		instance_forget(mgr, mgr->instances);
	return r;
}

VTPM_EXPORT int vtpm_manager_release(struct vtpm_manager *mgr)
{
	spares_retire(mgr);
	while (mgr->instances) {
		struct instance *inst = mgr->instances;

		mgr->instances = inst->next;
		mgr->count--;
		answer_waiter(mgr, inst, -ECANCELED, "the manager handed its instances over");
		epoll_del(mgr, inst->pidfd);
		epoll_del(mgr, inst->ready_fd);
		/* What it was, for the successor to read. */
		publish(mgr, inst);
		instance_free(inst);
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
	struct instance *inst = name ? find(mgr, name) : NULL;

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
	struct instance *inst = name ? find(mgr, name) : NULL;
	struct vtpm_mgr_desc d;

	if (!inst)
		return -ENOENT;
	describe(mgr, inst, &d);
	return vtpm_mgr_desc_to_json(&d, json);
}

/* ------------------------------------------------------------ requests */

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
		describe(mgr, inst, &d);
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
		close_fd(&c->key_fd);
		if (r < 0) {
			conn_reply_error(mgr, c, r, "the request asks for a key but passes no "
						    "descriptor of a 16 or 32 byte key");
			return r;
		}
	}
	close_fd(&c->key_fd);
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
		inst = find(mgr, req.name);
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
	inst = find(mgr, req.name);
	if (!inst || inst->waiter) {
		conn_reply_error(mgr, c, -EBUSY, "another request waits for this instance");
		return;
	}
	epoll_del(mgr, c->fd);
	inst->waiter = c;
}

static void on_conn(struct vtpm_manager *mgr, struct conn *c)
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
			conn_free(mgr, c);
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
		conn_free(mgr, c);
		return;
	}
	handle_request(mgr, c);
}

static void on_listen(struct vtpm_manager *mgr)
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
		if (epoll_add(mgr, fd, &c->watch) < 0) {
			close(fd);
			free(c);
			continue;
		}
		mgr->conns = c;
		mgr->n_conns++;
	}
}

/* ------------------------------------------------------------ public: loop */

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
	r = make_dir(mgr->run_dir, 0755);
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
	r = epoll_add(mgr, mgr->wake_fd, &mgr->wake_watch);
	if (r < 0)
		goto fail;
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
		conn_free(mgr, mgr->conns);
	if (mgr->listen_fd >= 0) {
		close_fd(&mgr->listen_fd);
		unlink(mgr->socket_path);
	}
	close_fd(&mgr->wake_fd);
	close_fd(&mgr->epfd);
	free(mgr->socket_path);
	free(mgr->run_dir);
	free(mgr->state_root);
	vtpm_ctx_unref(mgr->ctx);
	free(mgr);
	return NULL;
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
	r = epoll_add(mgr, fd, &mgr->listen_watch);
	if (r < 0) {
		unlink(p);
		return r;
	}
	mgr->listen_fd = TAKE_FD(fd);
	/* The run directory is ours now: what an earlier manager left there is
	 * taken over before the first request can name it. */
	take_over_all(mgr);
	/* Serving requests from now on: have spares ready for them. */
	spares_remove_stale(mgr);
	spares_fill(mgr);
	mgr->socket_path = TAKE_PTR(p);
	return 0;
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
				on_listen(mgr);
				break;
			case WATCH_WAKE:
				if (read(mgr->wake_fd, &v, sizeof(v)) < 0)
					break;
				break;
			case WATCH_CONN:
				on_conn(mgr, w->owner);
				break;
			case WATCH_READY:
				if (inst->ready_fd >= 0)
					on_ready(mgr, inst);
				break;
			case WATCH_PIDFD:
				if (inst->pidfd >= 0)
					on_death(mgr, inst);
				break;
			}
		}
	} while (n == (int)ARRAY_SIZE(events));
	restart_due(mgr);
	mgr->dispatching = false;
	while (mgr->graveyard) {
		struct instance *inst = mgr->graveyard;

		mgr->graveyard = inst->next;
		instance_free(inst);
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

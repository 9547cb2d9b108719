/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's supervision of its instances: each one's record, the
 * process forked for it, its ready pipe and pidfd, and what happens when
 * it becomes ready or dies (restart, rate limited by manager-restart.c).
 */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "manager-object.h"
#include "vtpm-internal.h"

void vtpm_mgr_instance_free(struct instance *inst)
{
	vtpm_mgr_close_fd(&inst->pidfd);
	vtpm_mgr_close_fd(&inst->ready_fd);
	vtpm_mgr_close_fd(&inst->dir_fd);
	free(inst->state_dir);
	free(inst->runtime_dir);
	free(inst->socket);
	free(inst->manufacture);
	vtpm_state_key_unref(inst->key);
	free(inst);
}

/* Take @inst out of the list; freed now, or after the running dispatch. */
void vtpm_mgr_instance_forget(struct vtpm_manager *mgr, struct instance *inst)
{
	for (struct instance **p = &mgr->instances; *p; p = &(*p)->next) {
		if (*p == inst) {
			*p = inst->next;
			break;
		}
	}
	mgr->count--;
	vtpm_mgr_answer_waiter(mgr, inst, -ECANCELED, "the instance was destroyed");
	vtpm_mgr_epoll_del(mgr, inst->pidfd);
	vtpm_mgr_epoll_del(mgr, inst->ready_fd);
	vtpm_mgr_close_fd(&inst->dir_fd);
	vtpm_rundir_remove(mgr->run_dir, inst->name);
	if (mgr->dispatching) {
		inst->next = mgr->graveyard;
		mgr->graveyard = inst;
	} else {
		vtpm_mgr_instance_free(inst);
	}
}

/*
 * A new instance, not yet in the list: its state directory is @state_dir
 * or, if NULL, "<state root>/<name>".  -EBUSY if another instance has it.
 */
int vtpm_mgr_instance_new(struct vtpm_manager *mgr, const char *name, enum vtpm_version version,
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
		vtpm_mgr_instance_free(inst);
		return -ENOMEM;
	}
	for (struct instance *i = mgr->instances; i; i = i->next) {
		if (strcmp(i->state_dir, inst->state_dir) == 0) {
			vtpm_mgr_instance_free(inst);
			return -EBUSY;
		}
	}
	*out = inst;
	return 0;
}

void vtpm_mgr_instance_add(struct vtpm_manager *mgr, struct instance *inst)
{
	inst->next = mgr->instances;
	mgr->instances = inst;
	mgr->count++;
}

int vtpm_mgr_spawn(struct vtpm_manager *mgr, struct instance *inst)
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

	/* Existing state cannot use a prepared TPM: leave the spares for new
	 * ones.  A spare taken is replaced once this start is over: here if it
	 * fails at once, else in vtpm_mgr_on_ready(). */
	if (!vtpm_spare_can_adopt(&spec) ||
	    vtpm_mgr_spare_take(mgr, &spec, &pid, &pipefd[0], &scratch) < 0) {
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

	pidfd = vtpm_mgr_pidfd_open(pid);
	if (pidfd < 0) {
		/* Without a pidfd we could not see it die: do not let it run. */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		/* A spare killed before it adopted the state leaves its scratch. */
		if (scratch)
			vtpm_remove_flat_dir(scratch);
		inst->pid = 0;
		vtpm_mgr_close_fd(&inst->ready_fd);
		r = pidfd;
		goto failed;
	}
	inst->pidfd = pidfd;
	fcntl(inst->ready_fd, F_SETFL, O_NONBLOCK);
	r = vtpm_mgr_epoll_add(mgr, inst->pidfd, &inst->pid_watch);
	if (r == 0)
		r = vtpm_mgr_epoll_add(mgr, inst->ready_fd, &inst->ready_watch);
	if (r < 0) {
		kill(pid, SIGKILL);
		goto failed; /* the caller forgets it; the pidfd reaps nothing then */
	}
	r = vtpm_rundir_write_pid(inst->dir_fd, pid);
	if (r < 0)
		warn(mgr->ctx, "%s: cannot write its pid file: %s", inst->name, strerror(-r));
	vtpm_mgr_publish(mgr, inst);
	dbg(mgr->ctx, "%s: started as pid %ld", inst->name, (long)pid);
	return 0;

failed:
	/* This start is over before it began: replace a spare it took. */
	vtpm_mgr_spares_fill(mgr);
	return r;
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
	vtpm_mgr_epoll_del(mgr, inst->pidfd);
	vtpm_mgr_epoll_del(mgr, inst->ready_fd);
	vtpm_mgr_close_fd(&inst->pidfd);
	vtpm_mgr_close_fd(&inst->ready_fd);
	inst->pid = 0;
	inst->has_device = false;
}

/*
 * Stop the process of each instance in @list (NULL-terminated array) with
 * SIGTERM, waiting for all of them together; SIGKILL what is left at the
 * deadline.  Returns 0 or -ETIMEDOUT.
 */
int vtpm_mgr_stop_processes(struct vtpm_manager *mgr, struct instance **list, size_t n)
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

/*
 * A start is over.  A spare it took is replaced only now, after the
 * answer: preparing one is a manufacture and a full self test, which would
 * compete for the CPU with the start a client is waiting for.
 */
void vtpm_mgr_on_ready(struct vtpm_manager *mgr, struct instance *inst)
{
	struct vtpm_instance_ready msg;
	ssize_t n = read(inst->ready_fd, &msg, sizeof(msg));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	vtpm_mgr_epoll_del(mgr, inst->ready_fd);
	vtpm_mgr_close_fd(&inst->ready_fd);
	if (n != (ssize_t)sizeof(msg) || msg.error != 0) {
		int e = n == (ssize_t)sizeof(msg) ? msg.error : -ECHILD;

		err(mgr->ctx, "%s: instance failed to start: %s", inst->name, strerror(-e));
		if (!inst->ever_ready)
			inst->doomed = true;
		vtpm_mgr_answer_waiter(mgr, inst, e,
				       e == -ENOKEY ? "the state is encrypted: the instance needs its key" :
				       e == -EKEYREJECTED ? "the key does not open the state" :
				       "the instance failed to start (see the manager's log)");
		vtpm_mgr_spares_fill(mgr);
		return;
	}
	inst->ready = msg;
	inst->has_device = msg.has_device;
	inst->ever_ready = true;
	inst->status = VTPM_INSTANCE_RUNNING;
	vtpm_mgr_publish(mgr, inst);
	if (inst->socket)
		info(mgr->ctx, "%s: serving %s (pid %ld)", inst->name, inst->socket, (long)inst->pid);
	else
		info(mgr->ctx, "%s: tpm%u ready (pid %ld)", inst->name, msg.number, (long)inst->pid);
	vtpm_mgr_answer_waiter(mgr, inst, 0, NULL);
	vtpm_mgr_spares_fill(mgr);
}

void vtpm_mgr_on_death(struct vtpm_manager *mgr, struct instance *inst)
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
		vtpm_mgr_answer_waiter(mgr, inst, -ECHILD, "the instance failed to start");
		vtpm_mgr_instance_forget(mgr, inst);
		return;
	}
	vtpm_mgr_answer_waiter(mgr, inst, -ECHILD, "the instance died while starting");

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
	vtpm_mgr_publish(mgr, inst);
}

void vtpm_mgr_restart_due(struct vtpm_manager *mgr)
{
	int64_t now = vtpm_now_ms();

	for (struct instance *inst = mgr->instances; inst; inst = inst->next) {
		int r;

		if (inst->status != VTPM_INSTANCE_RESTARTING || inst->restart_at_ms > now)
			continue;
		inst->restarts++;
		r = vtpm_mgr_spawn(mgr, inst);
		if (r < 0) {
			err(mgr->ctx, "%s: cannot restart: %s", inst->name, strerror(-r));
			inst->status = VTPM_INSTANCE_FAILED;
			vtpm_mgr_publish(mgr, inst);
			continue;
		}
		info(mgr->ctx, "%s: restarted as pid %ld (restart %u)", inst->name,
		     (long)inst->pid, inst->restarts);
	}
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Taking over the instances of a manager that died: their processes live
 * on, described in the run directory; a new manager listening on the same
 * run directory adopts the ones it can reach and stops the others.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "manager-object.h"
#include "vtpm-internal.h"

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
	r = vtpm_mgr_instance_new(mgr, name, d.version, 0, d.state_dir, &inst);
	if (r < 0) {
		err(mgr->ctx, "%s: cannot take over: %s", name, strerror(-r));
		vtpm_mgr_close_fd(&pidfd);
		return;
	}
	inst->restarts = d.restarts;
	inst->ever_ready = true;
	inst->encrypted = d.encrypted;
	if (d.socket[0] && !(inst->socket = strdup(d.socket))) {
		vtpm_mgr_close_fd(&pidfd);
		vtpm_mgr_instance_free(inst);
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
		r = inst->dir_fd < 0 ? inst->dir_fd : vtpm_mgr_epoll_add(mgr, pidfd, &inst->pid_watch);
		if (r < 0) {
			err(mgr->ctx, "%s: cannot take over pid %ld: %s", name, (long)d.pid,
			    strerror(-r));
			vtpm_mgr_instance_free(inst);
			return;
		}
		vtpm_mgr_instance_add(mgr, inst);
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
		vtpm_mgr_close_fd(&pidfd);
	}
	inst->dir_fd = vtpm_rundir_create(mgr->run_dir, name);
	if (inst->dir_fd < 0) {
		err(mgr->ctx, "%s: cannot take over: %s", name, strerror(-inst->dir_fd));
		vtpm_mgr_instance_free(inst);
		return;
	}
	vtpm_mgr_instance_add(mgr, inst);
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
	vtpm_mgr_publish(mgr, inst);
}

void vtpm_mgr_take_over_all(struct vtpm_manager *mgr)
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

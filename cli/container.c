/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Handing a device to a container: the options create and the hooks share,
 * the hand-over with its error messages, and the warden's exit. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "file-util.h"
#include "vtpmctl.h"

int container_parse_opt(int opt, const char *arg, struct container_opts *c)
{
	unsigned long v;

	switch (opt) {
	case CONTAINER_OPT_ROOTFS:
		if (!*arg) {
			log_error("--rootfs needs a directory");
			return -EINVAL;
		}
		c->rootfs = arg;
		break;
	case CONTAINER_OPT_PID:
		if (!parse_uint(arg, 1, INT32_MAX, &v)) {
			log_error("--pid: '%s' is not a process id", arg);
			return -EINVAL;
		}
		c->pid = (pid_t)v;
		break;
	case CONTAINER_OPT_PID_ROOTFS:
		if (arg[0] != '/') {
			log_error("--pid-rootfs needs an absolute path");
			return -EINVAL;
		}
		c->pid_rootfs = arg;
		break;
	case CONTAINER_OPT_CGROUP:
		if (arg[0] != '/') {
			log_error("--cgroup needs the absolute path of a cgroup directory");
			return -EINVAL;
		}
		c->cgroup = arg;
		break;
	case CONTAINER_OPT_PATH:
	case CONTAINER_OPT_PATHRM:
		if (arg[0] != '/' || strstr(arg, "..")) {
			log_error("--path/--pathrm need an absolute path without '..'");
			return -EINVAL;
		}
		if (opt == CONTAINER_OPT_PATH)
			c->path = arg;
		else
			c->pathrm = arg;
		break;
	case CONTAINER_OPT_UID:
	case CONTAINER_OPT_GID:
		if (!parse_uint(arg, 0, UINT32_MAX - 1, &v)) {
			log_error("--uid/--gid: '%s' is not a numeric id", arg);
			return -EINVAL;
		}
		if (opt == CONTAINER_OPT_UID)
			c->uid = (uid_t)v;
		else
			c->gid = (gid_t)v;
		break;
	case CONTAINER_OPT_MODE: {
		char *end;

		errno = 0;
		v = strtoul(arg, &end, 8);
		if (!*arg || *end || errno || v > 07777) {
			log_error("--mode: '%s' is not an octal mode", arg);
			return -EINVAL;
		}
		c->mode = (mode_t)v;
		c->have_mode = true;
		break;
	}
	case CONTAINER_OPT_NO_REVOKE:
		c->no_revoke = true;
		break;
	default:
		return -ENOENT;
	}
	return 0;
}

int container_check_opts(const struct container_opts *c)
{
	if (c->rootfs && c->pid) {
		log_error("--rootfs and --pid exclude each other");
		return -EINVAL;
	}
	if (c->pid_rootfs && !c->pid) {
		log_error("--pid-rootfs needs --pid");
		return -EINVAL;
	}
	if (c->have_mode && c->mode == 0 && container_wanted(c)) {
		log_error("--mode 0 lets nobody but root open the nodes: give the mode they need");
		return -EINVAL;
	}
	if (c->cgroup && !c->rootfs && !c->pid) {
		log_error("--cgroup needs --rootfs or --pid");
		return -EINVAL;
	}
	return 0;
}

bool container_wanted(const struct container_opts *c)
{
	return c->rootfs || c->pid;
}

int container_setup_rules(struct vtpm_rules *rules, const struct container_opts *c)
{
	unsigned int n = vtpm_rules_get_count(rules);
	int r;

	r = vtpm_rules_set_container_path(rules, 0, c->path ? c->path : DEFAULT_CONTAINER_TPM);
	if (r == 0 && n > 1)
		r = vtpm_rules_set_container_path(rules, 1,
						  c->pathrm ? c->pathrm : DEFAULT_CONTAINER_TPMRM);
	if (r == 0 && c->have_mode)
		r = vtpm_rules_set_mode(rules, c->mode);
	vtpm_rules_set_owner(rules, c->uid, c->gid);
	return r;
}

/* The library's hand-over options for @c (strings borrowed). */
static void handover_options(const struct container_opts *c, struct vtpm_handover_options *ho)
{
	*ho = (struct vtpm_handover_options){
		.size = sizeof(*ho), .rootfs = c->rootfs, .pid = c->pid,
		.pid_rootfs = c->pid_rootfs, .cgroup = c->cgroup,
		.tpm_path = c->path ? c->path : DEFAULT_CONTAINER_TPM,
		.tpmrm_path = c->pathrm ? c->pathrm : DEFAULT_CONTAINER_TPMRM,
		.uid = c->uid, .gid = c->gid, .mode = c->have_mode ? c->mode : 0660,
	};
}

int container_give(struct vtpm_device *dev, const struct vtpm_rules *rules,
		   const struct container_opts *c, struct vtpm_handover **h)
{
	struct vtpm_handover_options ho;
	int r;

	*h = NULL;
	if (!container_wanted(c))
		return 0;
	handover_options(c, &ho);
	if (dev)
		r = vtpm_handover_new(dev, &ho, h);
	else
		r = vtpm_handover_new_from_rules(rules, &ho, h);
	if (r == -ELOOP)
		log_error("refusing to create the nodes: a symlink on the way in the container");
	else if (r == -EEXIST)
		log_error("the container already has another file at the node path (see --path)");
	else if (r == -ESRCH)
		log_error("process %ld does not exist (--pid)", (long)c->pid);
	else if (r == -ENOMEDIUM || r == -EMEDIUMTYPE)
		log_error("cannot find the container's device cgroup: %s", strerror(-r));
	else if (r < 0)
		log_error("cannot hand the TPM to the container: %s", strerror(-r));
	return r;
}

void container_release(struct vtpm_handover *h, bool revoke)
{
	if (h && revoke) {
		int r = vtpm_handover_revoke(h);

		if (r < 0)
			log_error("cannot take the TPM back from the container: %s", strerror(-r));
	}
	vtpm_handover_unref(h);
}

/*
 * The privileged warden of "vtpmctl create": vtpm_handover_guard() forks a
 * child that serves confined, while this parent waits and takes the device
 * back; what is left here is the command's own clean-up and exit code.
 */
int warden_split(struct vtpm_handover *h, int device_fd, const struct warden_cleanup *cleanup)
{
	const struct vtpm_guard_options go = {
		.size = sizeof(go), .close_fds = &device_fd, .n_close_fds = device_fd >= 0,
	};
	int status, ret;
	pid_t child;

	child = vtpm_handover_guard(h, &go, &status);
	if (child < 0) {
		log_error("cannot start the serving process: %s", strerror(-child));
		return child;
	}
	if (child == 0)
		return 0;

	if (WIFEXITED(status)) {
		ret = WEXITSTATUS(status);
	} else {
		log_error("the serving process %ld was killed by signal %d (%s); taking the "
			  "device back from the container", (long)child, WTERMSIG(status),
			  strsignal(WTERMSIG(status)));
		ret = EXIT_FAIL;
	}
	/* Done by the guard already; this says whether it all went. */
	container_release(h, true);
	if (cleanup->temp_state_dir)
		vtpm_remove_flat_dir(cleanup->temp_state_dir);
	if (cleanup->pidfile && ret == EXIT_OK)
		unlink(cleanup->pidfile);
	fflush(NULL);
	/* The TPM objects belong to the child: free nothing, save nothing. */
	_exit(ret);
}

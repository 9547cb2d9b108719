/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Handing a device to a container: options shared by create and the hooks. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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

int container_attach(struct vtpm_ctx *ctx, struct vtpm_device *dev,
		     const struct container_opts *c, struct container_state *s)
{
	struct vtpm_rules *rules;
	int r;

	*s = (struct container_state){};
	if (!container_wanted(c))
		return 0;
	r = vtpm_rules_from_device(dev, &rules);
	if (r < 0) {
		log_error("cannot describe tpm%u: %s", vtpm_device_get_number(dev), strerror(-r));
		return r;
	}
	return container_attach_rules(ctx, rules, c, s);
}

int container_attach_rules(struct vtpm_ctx *ctx, struct vtpm_rules *rules,
			   const struct container_opts *c, struct container_state *s)
{
	int r;

	*s = (struct container_state){};
	if (!container_wanted(c)) {
		vtpm_rules_unref(rules);
		return 0;
	}
	s->opts = *c;
	s->rules = rules;
	r = container_setup_rules(s->rules, c);
	if (r < 0) {
		log_error("bad node options: %s", strerror(-r));
		goto fail;
	}

	if (c->cgroup)
		r = vtpm_cgroup_new_from_path(ctx, c->cgroup, &s->cgroup);
	else if (c->pid)
		r = vtpm_cgroup_new_from_pid(ctx, c->pid, &s->cgroup);
	if (r < 0) {
		log_error("cannot find the container's device cgroup: %s", strerror(-r));
		goto fail;
	}

	if (c->pid)
		r = vtpm_nodes_create_pid(s->rules, c->pid, c->pid_rootfs, 0);
	else
		r = vtpm_nodes_create_rootfs(s->rules, c->rootfs, 0);
	if (r < 0) {
		if (r == -ELOOP)
			log_error("refusing to create the nodes: a symlink on the way in the container");
		else if (r == -EEXIST)
			log_error("the container already has another file at the node path (see --path)");
		else
			log_error("cannot create the nodes in the container: %s", strerror(-r));
		goto fail;
	}
	s->nodes_created = true;

	if (s->cgroup) {
		r = vtpm_cgroup_allow(s->cgroup, s->rules);
		if (r < 0) {
			log_error("cannot allow the device in cgroup %s: %s",
				  vtpm_cgroup_get_path(s->cgroup), strerror(-r));
			goto fail;
		}
	}
	return 0;
fail:
	s->opts.no_revoke = false;
	container_detach(s);
	return r;
}

void container_detach(struct container_state *s)
{
	if (s->opts.no_revoke) {
		s->cgroup = vtpm_cgroup_unref(s->cgroup);
		s->rules = vtpm_rules_unref(s->rules);
		return;
	}
	if (s->cgroup) {
		int r = vtpm_cgroup_revoke(s->cgroup);

		/* A gone cgroup has nothing left to revoke. */
		if (r < 0 && r != -ENOENT)
			log_error("cannot revoke the device in cgroup %s: %s",
				  vtpm_cgroup_get_path(s->cgroup), strerror(-r));
	}
	if (s->nodes_created) {
		int r;

		if (s->opts.pid)
			r = vtpm_nodes_remove_pid(s->rules, s->opts.pid, s->opts.pid_rootfs);
		else
			r = vtpm_nodes_remove_rootfs(s->rules, s->opts.rootfs);
		/* A container that is gone took its nodes along. */
		if (r < 0 && r != -ESRCH && r != -ENOENT)
			log_error("cannot remove the nodes from the container: %s", strerror(-r));
	}
	s->cgroup = vtpm_cgroup_unref(s->cgroup);
	s->rules = vtpm_rules_unref(s->rules);
	s->nodes_created = false;
}

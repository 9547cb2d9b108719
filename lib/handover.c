/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A device pair handed to a container: nodes in its file system, access
 * in its device cgroup, and what it takes to undo both.
 *
 * The hand-over works on a copy of the rules with the container's paths,
 * owner and mode, so the caller's rules stay as they were and the nodes
 * removed later are exactly those created.  A target by pid is pinned
 * for the hand-over's whole life: the nodes are removed in the namespace
 * they were created in, or not at all once that process is gone (its
 * namespace, nodes included, went with it).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "handover-internal.h"

static void rules_unrefp(struct vtpm_rules **rules)
{
	vtpm_rules_unref(*rules);
}

static const struct vtpm_handover_options *check_options(const struct vtpm_handover_options *opts)
{
	if (!opts || opts->size < offsetof(struct vtpm_handover_options, flags) + sizeof(opts->flags))
		return NULL;
	if (!opts->rootfs == !opts->pid || opts->pid < 0)
		return NULL;
	if (opts->rootfs && (!*opts->rootfs || opts->pid_rootfs))
		return NULL;
	if ((opts->pid_rootfs && opts->pid_rootfs[0] != '/') ||
	    (opts->cgroup && opts->cgroup[0] != '/'))
		return NULL;
	if ((opts->tpm_path && !vtpm_path_is_safe(opts->tpm_path)) ||
	    (opts->tpmrm_path && !vtpm_path_is_safe(opts->tpmrm_path)))
		return NULL;
	if ((opts->mode & ~07777) || (opts->flags & ~VTPM_NODES_REPLACE))
		return NULL;
	return opts;
}

/* The container path of the pair's @node in @from, or NULL to keep it. */
static const char *pair_path(const struct vtpm_rules *from, unsigned int index,
			     const struct vtpm_handover_options *opts)
{
	if ((int)index == vtpm_rules_find_node(from, VTPM_NODE_TPM))
		return opts->tpm_path ? opts->tpm_path : VTPM_HANDOVER_TPM_PATH;
	if ((int)index == vtpm_rules_find_node(from, VTPM_NODE_TPMRM))
		return opts->tpmrm_path ? opts->tpmrm_path : VTPM_HANDOVER_TPMRM_PATH;
	return NULL;
}

/* The nodes of @from as the container gets them. */
static int container_rules(struct vtpm_ctx *ctx, const struct vtpm_rules *from,
			   const struct vtpm_handover_options *opts, struct vtpm_rules **out)
{
	_cleanup_(rules_unrefp) struct vtpm_rules *rules = NULL;
	unsigned int count = vtpm_rules_get_count(from);
	int r;

	if (count == 0)
		return -ENODATA;
	r = vtpm_rules_new(ctx, &rules);
	if (r < 0)
		return r;
	for (unsigned int i = 0; i < count; i++) {
		struct vtpm_rules_node n;
		const char *path;

		vtpm_rules_get_node(from, i, &n);
		path = pair_path(from, i, opts);
		r = vtpm_rules_add_node(rules, n.host_path, path ? path : n.container_path,
					n.major, n.minor);
		if (r < 0)
			return r;
	}
	vtpm_rules_set_owner(rules, opts->uid, opts->gid);
	r = vtpm_rules_set_mode(rules, opts->mode ? opts->mode : VTPM_HANDOVER_MODE);
	if (r < 0)
		return r;
	*out = TAKE_PTR(rules);
	return 0;
}

static int place_nodes(struct vtpm_handover *h)
{
	if (h->rootfs)
		return vtpm_nodes_create_rootfs(h->rules, h->rootfs, h->flags);
	return vtpm_nodes_run_pinned(h->rules, &h->pin, h->pid_rootfs, h->flags, false, &h->root);
}

static int remove_nodes(struct vtpm_handover *h)
{
	int r;

	if (h->rootfs)
		r = vtpm_nodes_remove_rootfs(h->rules, h->rootfs);
	else
		r = vtpm_nodes_run_pinned(h->rules, &h->pin, h->pid_rootfs, 0, true, &h->root);
	/* A container that is gone took its nodes along. */
	return r == -ESRCH || r == -ENOENT ? 0 : r;
}

static int find_cgroup(struct vtpm_handover *h, const struct vtpm_handover_options *opts)
{
	if (opts->cgroup)
		return vtpm_cgroup_new_from_path(h->ctx, opts->cgroup, &h->cgroup);
	if (opts->pid)
		return vtpm_cgroup_new_from_pid(h->ctx, opts->pid, &h->cgroup);
	return 0;
}

static void handover_free(struct vtpm_handover *h)
{
	vtpm_cgroup_unref(h->cgroup);
	vtpm_rules_unref(h->rules);
	vtpm_pid_unpin(&h->pin);
	free(h->rootfs);
	free(h->pid_rootfs);
	vtpm_ctx_unref(h->ctx);
	free(h);
}

VTPM_EXPORT int vtpm_handover_new_from_rules(const struct vtpm_rules *rules,
					     const struct vtpm_handover_options *options,
					     struct vtpm_handover **handover)
{
	const struct vtpm_handover_options *opts = check_options(options);
	struct vtpm_handover *h;
	struct vtpm_ctx *ctx;
	int r;

	if (!opts || !rules || !handover)
		return -EINVAL;
	ctx = vtpm_rules_get_ctx(rules);
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->refcount = 1;
	h->ctx = vtpm_ctx_ref(ctx);
	h->pin.pidfd = -1;
	h->flags = opts->flags;
	r = container_rules(ctx, rules, opts, &h->rules);
	if (r < 0)
		goto fail;
	r = -ENOMEM;
	if (opts->rootfs && !(h->rootfs = strdup(opts->rootfs)))
		goto fail;
	if (opts->pid_rootfs && !(h->pid_rootfs = strdup(opts->pid_rootfs)))
		goto fail;
	if (opts->pid) {
		r = vtpm_pid_pin(opts->pid, &h->pin);
		if (r < 0)
			goto fail;
	}
	r = find_cgroup(h, opts);
	if (r < 0) {
		err(ctx, "cannot find the container's device cgroup: %s", strerror(-r));
		goto fail;
	}

	r = place_nodes(h);
	if (r < 0) {
		err(ctx, "cannot create the nodes in the container: %s", strerror(-r));
		goto fail;
	}
	h->nodes_placed = true;
	if (h->cgroup) {
		r = vtpm_cgroup_allow(h->cgroup, h->rules);
		if (r < 0) {
			err(ctx, "cannot allow the nodes in cgroup %s: %s",
			    vtpm_cgroup_get_path(h->cgroup), strerror(-r));
			goto fail;
		}
		h->cgroup_allowed = true;
	}
	*handover = h;
	return 0;
fail:
	/* Undo what was done; a failure to undo is logged, @r stays the cause. */
	vtpm_handover_revoke(h);
	handover_free(h);
	return r;
}

VTPM_EXPORT int vtpm_handover_new(struct vtpm_device *dev, const struct vtpm_handover_options *opts,
				  struct vtpm_handover **handover)
{
	_cleanup_(rules_unrefp) struct vtpm_rules *rules = NULL;
	int r;

	if (!dev || !check_options(opts) || !handover)
		return -EINVAL;
	r = vtpm_rules_from_device(dev, &rules);
	if (r < 0)
		return r;
	return vtpm_handover_new_from_rules(rules, opts, handover);
}

VTPM_EXPORT int vtpm_handover_revoke(struct vtpm_handover *h)
{
	int r = 0, k;

	if (!h)
		return -EINVAL;
	if (h->disowned)
		return 0;
	if (h->cgroup_allowed) {
		k = vtpm_cgroup_revoke(h->cgroup);
		/* A gone cgroup has nothing left to revoke. */
		if (k == 0 || k == -ENOENT)
			h->cgroup_allowed = false;
		else {
			err(h->ctx, "cannot revoke the nodes in cgroup %s: %s",
			    vtpm_cgroup_get_path(h->cgroup), strerror(-k));
			r = k;
		}
	}
	if (h->nodes_placed) {
		k = remove_nodes(h);
		if (k == 0)
			h->nodes_placed = false;
		else {
			err(h->ctx, "cannot remove the nodes from the container: %s", strerror(-k));
			if (r == 0)
				r = k;
		}
	}
	return r;
}

VTPM_EXPORT struct vtpm_handover *vtpm_handover_ref(struct vtpm_handover *h)
{
	if (h)
		h->refcount++;
	return h;
}

VTPM_EXPORT struct vtpm_handover *vtpm_handover_unref(struct vtpm_handover *h)
{
	if (h && --h->refcount == 0)
		handover_free(h);
	return NULL;
}

VTPM_EXPORT const char *vtpm_handover_get_cgroup_path(const struct vtpm_handover *h)
{
	return h && h->cgroup ? vtpm_cgroup_get_path(h->cgroup) : NULL;
}

void vtpm_handover_disown(struct vtpm_handover *h)
{
	h->disowned = true;
	h->cgroup_allowed = h->nodes_placed = false;
	/* The BPF programs kept for revoking, and the pin, are the warden's. */
	h->cgroup = vtpm_cgroup_unref(h->cgroup);
	vtpm_pid_unpin(&h->pin);
}

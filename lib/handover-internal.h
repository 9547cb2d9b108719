/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the hand-over (handover.c) shares with its guard (handover-guard.c). */
#ifndef VTPM_HANDOVER_INTERNAL_H
#define VTPM_HANDOVER_INTERNAL_H

#include <stdbool.h>

#include <vtpm/handover.h>

#include "vtpm-internal.h"

struct vtpm_handover {
	int refcount;
	struct vtpm_ctx *ctx;
	struct vtpm_rules *rules;	/* the nodes as the container got them */
	char *rootfs;			/* target by root directory, or NULL */
	struct vtpm_pinned_pid pin;	/* target by pid: pinned for good */
	char *pid_rootfs;
	struct vtpm_nodes_root root;	/* where the nodes went, for a pivoted runtime */
	struct vtpm_cgroup *cgroup;	/* NULL: no cgroup to allow them in */
	unsigned int flags;
	/* What is done, so what revoking still has to undo. */
	bool nodes_placed;
	bool cgroup_allowed;
	/* A guarded child's copy: the warden revokes, this copy never does. */
	bool disowned;
};

/* Make @h a guarded child's copy: release its descriptors, revoke nothing. */
void vtpm_handover_disown(struct vtpm_handover *h);

#endif

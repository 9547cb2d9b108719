/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup v2 device programs, shared by cgroup.c and cgroup-bpf.c. */
#ifndef VTPM_CGROUP_BPF_H
#define VTPM_CGROUP_BPF_H

#include <stdint.h>

#include <vtpm/ctx.h>
#include <vtpm/rules.h>

/* One program we replaced: the original, our copy, the cgroup's attach flags. */
struct bpf_swap {
	int old_fd;
	int new_fd;
	uint32_t flags;
};

struct bpf_swaps {
	struct bpf_swap *items;
	unsigned int count;
};

/* Replace each device program attached to @cg_fd by a copy allowing @rules. */
int vtpm_bpf_allow(struct vtpm_ctx *ctx, int cg_fd, const struct vtpm_rules *rules,
		   struct bpf_swaps *swaps);

/* Put the originals back and release @swaps; returns the first error. */
int vtpm_bpf_revoke(struct vtpm_ctx *ctx, int cg_fd, struct bpf_swaps *swaps);

/* Close the fds and free without touching the cgroup. */
void vtpm_bpf_swaps_release(struct bpf_swaps *swaps);

#endif

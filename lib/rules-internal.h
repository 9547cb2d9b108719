/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the device rules' files share: the object (rules.c), its renderers
 * (rules-format.c) and the CDI spec editing (cdi.c).
 */
#ifndef VTPM_RULES_INTERNAL_H
#define VTPM_RULES_INTERNAL_H

#include <errno.h>
#include <sys/types.h>

#include "vtpm-internal.h"

struct rules_node {
	char *host_path;
	char *container_path;
	unsigned int major;
	unsigned int minor;
	int which;	/* enum vtpm_node + 1; 0 for a node added by hand */
};

struct vtpm_rules {
	int refcount;
	struct vtpm_ctx *ctx;
	unsigned int count;
	struct rules_node nodes[VTPM_RULES_MAX_NODES];
	uid_t uid;
	gid_t gid;
	mode_t mode;
	char *name;
	char *kind;
};

/* -ENODATA for rules without a node, which render to nothing useful. */
static inline int vtpm_rules_check_renderable(const struct vtpm_rules *rules)
{
	return rules->count == 0 ? -ENODATA : 0;
}

#endif

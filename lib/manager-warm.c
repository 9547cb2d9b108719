/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The warm path: a program that needs one TPM asks the running manager
 * first.  Its instances are forked from a process that loaded the
 * libraries already, and a new state directory gets a spare that
 * manufactured and self-tested its TPM ahead of time; the manager also
 * supervises the instance.  Without an answering manager the program
 * serves the TPM itself.  The decision lives here so that every program
 * linking the library (the CLI, container hooks) makes it alike.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <vtpm/rules.h>

#include "manager-internal.h"
#include "vtpm-internal.h"

/*
 * Whether @r, from a call that got no error answer, means nobody we may
 * talk to listens.  The manager's own -EACCES or -EPERM (with a message)
 * is a failure of the instance, not a reason to serve alone.
 */
static bool no_manager(int r, const char *message)
{
	if (message[0])
		return false;
	return r == -ECONNREFUSED || r == -EACCES || r == -EPERM;
}

VTPM_EXPORT int vtpm_manager_client_try_create(struct vtpm_manager_client *client,
					       const char *name,
					       const struct vtpm_instance_options *opts,
					       enum vtpm_served_by *served_by,
					       struct vtpm_instance_info **instance)
{
	struct vtpm_ctx *ctx = vtpm_mgr_client_ctx(client);
	const char *socket = vtpm_mgr_client_socket(client);
	const char *message;
	int r;

	if (!served_by || !instance)
		return -EINVAL;
	*instance = NULL;
	r = vtpm_manager_client_create(client, name, opts, instance);
	message = vtpm_manager_client_get_message(client);
	if (r == 0) {
		*served_by = VTPM_SERVED_BY_MANAGER;
		info(ctx, "instance %s of the manager at %s serves the TPM", name, socket);
		return 0;
	}
	if (no_manager(r, message)) {
		*served_by = VTPM_SERVED_STANDALONE;
		info(ctx, "no manager to use at %s (%s): serve the TPM standalone", socket,
		     strerror(-r));
		return 0;
	}
	if (r == -EEXIST) {
		*served_by = VTPM_SERVED_STANDALONE;
		warn(ctx, "the manager at %s has an instance %s already: serve the TPM "
		     "standalone", socket, name);
		return 0;
	}
	return r;
}

VTPM_EXPORT int vtpm_instance_info_add_rules(const struct vtpm_instance_info *info,
					     struct vtpm_rules *rules)
{
	static const enum vtpm_node nodes[] = { VTPM_NODE_TPM, VTPM_NODE_TPMRM };

	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		const char *path;
		dev_t devnum;
		int r;

		r = vtpm_instance_info_get_node(info, nodes[i], &path, &devnum);
		if (r == -ENODEV && i > 0)
			break; /* a TPM 1.2 has no resource manager */
		if (r == 0)
			r = vtpm_rules_add_node(rules, path, NULL, major(devnum), minor(devnum));
		if (r < 0)
			return r;
		vtpm_rules_mark_node(rules, (unsigned int)r, nodes[i]);
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl create: the warm path, a TPM of the vtpmctl daemon handed to the caller. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"
#include "create.h"
#include "vtpmctl.h"

/* What the daemon's instance cannot do: serve in this process then. */
bool create_managed_eligible(const struct create_options *o)
{
	return !o->standalone && !o->swtpm_data && !o->socket && !o->key && !o->ctrl &&
	       !o->manufacture.wanted &&
	       !o->chose_identity && o->sandbox && !o->serve_cgroup &&
	       /* the pid file's lock must be held by a process that stops it */
	       !(o->daemon && o->pidfile);
}

/*
 * The warm path: the daemon's instance "create-<pid>", handed to the
 * container.  With --daemon it stays the daemon's ("vtpmctl destroy NAME"
 * stops it); else this process holds it until a signal, then takes it
 * back from the container and destroys it (and a state directory the
 * daemon chose).  MANAGED_NONE: no daemon answers; else an exit code.
 */
int create_managed(struct vtpm_ctx *ctx, const struct create_options *o,
			  const char *state_dir, int *pidfile_fd)
{
	struct vtpm_instance_options io = {
		.size = sizeof(io), .version = o->version, .state_dir = state_dir,
		.backend_flags = o->backend_flags,
	};
	struct vtpm_instance_info *info = NULL;
	struct vtpm_handover *handover = NULL;
	struct vtpm_rules *rules = NULL;
	_cleanup_free_ char *own_state = NULL;
	char name[32];
	sigset_t stop;
	int ret = EXIT_FAIL, r;

	snprintf(name, sizeof(name), "create-%ld", (long)getpid());
	r = managed_create(ctx, name, &io, &info);
	if (r == MANAGED_NONE)
		return MANAGED_NONE;
	if (r < 0)
		return EXIT_FAIL;
	if (container_wanted(&o->container)) {
		r = managed_rules(ctx, info, &rules);
		if (r < 0) {
			log_error("cannot describe the nodes of instance %s: %s", name, strerror(-r));
			goto out;
		}
		r = container_give(NULL, rules, &o->container, &handover);
		vtpm_rules_unref(rules);
		if (r < 0)
			goto out;
	}
	if (!state_dir) {
		own_state = strdup(vtpm_instance_info_get_state_dir(info));
		if (!own_state)
			goto out;
	}
	if (!o->daemon && o->pidfile && create_write_pidfile(ctx, o->pidfile, pidfile_fd) < 0)
		goto out;
	if (o->json) {
		struct json_object *obj = managed_to_json(info);

		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
	} else {
		managed_print(info, stdout);
	}
	fflush(stdout);
	fprintf(stderr, "vtpmctl: served by the vtpmctl daemon as instance %s%s\n", name,
			o->daemon ? " (stop it with 'vtpmctl destroy')" : "");
	if (o->daemon) {
		/* The daemon owns it now, nodes and cgroup rule included. */
		ret = EXIT_OK;
		goto out;
	}

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	while (sigwaitinfo(&stop, NULL) < 0 && errno == EINTR)
		;
	ret = EXIT_OK;
out:
	container_release(handover, !o->container.no_revoke && (ret != EXIT_OK || !o->daemon));
	if (ret != EXIT_OK || !o->daemon) {
		if (managed_destroy(ctx, name) < 0)
			ret = EXIT_FAIL;
		else if (own_state)
			vtpm_remove_flat_dir(own_state);
	}
	vtpm_instance_info_unref(info);
	return ret;
}

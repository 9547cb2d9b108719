/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The warm path: when an instance manager ("vtpmctl daemon") answers on
 * its socket, create and the hooks take their TPM from it; else they serve
 * it themselves.  The library makes that decision
 * (vtpm_manager_client_try_create()); this file picks the socket, reports
 * and prints.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "vtpmctl.h"

/* Environment: the manager's run directory, or "none" for never. */
#define MANAGER_RUN_DIR_ENV "VTPMCTL_MANAGER_RUN_DIR"

/* The manager's socket; false when the user turned the warm path off. */
static bool manager_socket(char *buf, size_t size)
{
	const char *dir = secure_getenv(MANAGER_RUN_DIR_ENV);

	if (dir && (strcmp(dir, "none") == 0 || dir[0] != '/'))
		return false;
	return snprintf(buf, size, "%s/%s", dir ?: VTPM_MANAGER_RUN_DIR, VTPM_MANAGER_SOCKET) <
	       (int)size;
}

int managed_create(struct vtpm_ctx *ctx, const char *name,
		   const struct vtpm_instance_options *io, struct vtpm_instance_info **info)
{
	struct vtpm_manager_client_options co = { .size = sizeof(co) };
	struct vtpm_manager_client *client = NULL;
	enum vtpm_served_by served_by;
	char path[PATH_MAX];
	int r;

	*info = NULL;
	if (!manager_socket(path, sizeof(path)))
		return MANAGED_NONE;
	co.socket_path = path;
	r = vtpm_manager_client_new(ctx, &co, &client);
	if (r < 0)
		return MANAGED_NONE;
	r = vtpm_manager_client_try_create(client, name, io, &served_by, info);
	if (r < 0)
		log_error("the vtpmctl daemon at %s could not create %s: %s", path, name,
			  vtpm_manager_client_get_message(client)[0] ?
			  vtpm_manager_client_get_message(client) : strerror(-r));
	vtpm_manager_client_unref(client);
	if (r < 0)
		return r;
	return served_by == VTPM_SERVED_BY_MANAGER ? MANAGED_OK : MANAGED_NONE;
}

int managed_destroy(struct vtpm_ctx *ctx, const char *name)
{
	struct vtpm_manager_client_options co = { .size = sizeof(co) };
	struct vtpm_manager_client *client = NULL;
	char path[PATH_MAX];
	int r;

	/* Turned off since: the run dir default is where it was made. */
	if (!manager_socket(path, sizeof(path)))
		snprintf(path, sizeof(path), "%s/%s", VTPM_MANAGER_RUN_DIR, VTPM_MANAGER_SOCKET);
	co.socket_path = path;
	r = vtpm_manager_client_new(ctx, &co, &client);
	if (r == 0)
		r = vtpm_manager_client_destroy(client, name);
	if (r < 0 && r != -ENOENT)
		log_error("the vtpmctl daemon at %s did not destroy instance %s: %s", path, name,
			  client && vtpm_manager_client_get_message(client)[0] ?
			  vtpm_manager_client_get_message(client) : strerror(-r));
	vtpm_manager_client_unref(client);
	return r == -ENOENT ? 0 : r;
}

int managed_rules(struct vtpm_ctx *ctx, const struct vtpm_instance_info *info,
		  struct vtpm_rules **rules)
{
	int r = vtpm_rules_new(ctx, rules);

	if (r < 0)
		return r;
	/* The tpm node first, then tpmrm, as container_setup_rules() expects. */
	r = vtpm_instance_info_add_rules(info, *rules);
	if (r < 0)
		*rules = vtpm_rules_unref(*rules);
	return r;
}

struct json_object *managed_to_json(const struct vtpm_instance_info *info)
{
	struct json_object *obj = json_object_new_object();
	const char *path;
	unsigned int number = 0;

	json_object_object_add(obj, "version",
			       json_object_new_string(vtpm_instance_info_get_version(info) ==
						      VTPM_VERSION_2 ? "2.0" : "1.2"));
	if (vtpm_instance_info_get_node(info, VTPM_NODE_TPM, &path, NULL) == 0)
		sscanf(strrchr(path, '/') + 1, "tpm%u", &number);
	json_object_object_add(obj, "number", json_object_new_int64(number));
	instance_info_add_nodes(obj, info);
	json_object_object_add(obj, "state_dir",
			       json_object_new_string(vtpm_instance_info_get_state_dir(info)));
	json_object_object_add(obj, "pid", json_object_new_int64(vtpm_instance_info_get_pid(info)));
	json_object_object_add(obj, "served_by", json_object_new_string("manager"));
	json_object_object_add(obj, "instance",
			       json_object_new_string(vtpm_instance_info_get_name(info)));
	return obj;
}

void managed_print(const struct vtpm_instance_info *info, FILE *f)
{
	static const enum vtpm_node nodes[] = { VTPM_NODE_TPM, VTPM_NODE_TPMRM };
	const char *path;
	dev_t devnum;

	fprintf(f, "TPM %s vTPM of instance %s (vtpmctl daemon)\n",
		vtpm_instance_info_get_version(info) == VTPM_VERSION_2 ? "2.0" : "1.2",
		vtpm_instance_info_get_name(info));
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
		if (vtpm_instance_info_get_node(info, nodes[i], &path, &devnum) == 0)
			fprintf(f, "  %-14s %u:%u\n", path, major(devnum), minor(devnum));
	fprintf(f, "  state          %s\n  pid            %ld\n",
		vtpm_instance_info_get_state_dir(info), (long)vtpm_instance_info_get_pid(info));
}

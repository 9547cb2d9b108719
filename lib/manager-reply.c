/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A manager's answers on the client side: the parser and the result
 * objects it fills (struct vtpm_instance_info, struct vtpm_instance_list).
 * The answer comes from another process, possibly not a manager at all,
 * so every member is checked for its type and bounds before it reaches
 * the caller, and anything unexpected is -EPROTO.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include <json-c/json.h>

#include "manager-internal.h"
#include "vtpm-internal.h"

/* include/linux/kdev_t.h: MINORBITS 20, and 12 bits of major in a dev_t
 * as the kernel encodes it for user space. */
#define DEV_MAJOR_MAX 0xfffu
#define DEV_MINOR_MAX 0xfffffu

struct vtpm_instance_info {
	int refcount;
	enum vtpm_instance_status status;
	enum vtpm_version version;
	pid_t pid;
	unsigned int restarts;
	char *name;
	char *state_dir;
	char *runtime_dir;
	char *ctrl_address;
	char *node_path[2];	/* by enum vtpm_node; NULL: no such node */
	dev_t node_devnum[2];
};

struct vtpm_instance_list {
	int refcount;
	unsigned int count;
	struct vtpm_instance_info **items;
};

VTPM_EXPORT struct vtpm_instance_info *vtpm_instance_info_ref(struct vtpm_instance_info *info)
{
	if (info)
		info->refcount++;
	return info;
}

VTPM_EXPORT struct vtpm_instance_info *vtpm_instance_info_unref(struct vtpm_instance_info *info)
{
	if (!info || --info->refcount > 0)
		return NULL;
	free(info->name);
	free(info->state_dir);
	free(info->runtime_dir);
	free(info->ctrl_address);
	for (size_t i = 0; i < ARRAY_SIZE(info->node_path); i++)
		free(info->node_path[i]);
	free(info);
	return NULL;
}

VTPM_EXPORT const char *vtpm_instance_info_get_name(const struct vtpm_instance_info *info)
{
	return info->name;
}

VTPM_EXPORT enum vtpm_instance_status
vtpm_instance_info_get_status(const struct vtpm_instance_info *info)
{
	return info->status;
}

VTPM_EXPORT pid_t vtpm_instance_info_get_pid(const struct vtpm_instance_info *info)
{
	return info->pid;
}

VTPM_EXPORT enum vtpm_version vtpm_instance_info_get_version(const struct vtpm_instance_info *info)
{
	return info->version;
}

VTPM_EXPORT const char *vtpm_instance_info_get_state_dir(const struct vtpm_instance_info *info)
{
	return info->state_dir;
}

VTPM_EXPORT const char *vtpm_instance_info_get_runtime_dir(const struct vtpm_instance_info *info)
{
	return info->runtime_dir;
}

VTPM_EXPORT const char *vtpm_instance_info_get_ctrl_address(const struct vtpm_instance_info *info)
{
	return info->ctrl_address;
}

VTPM_EXPORT unsigned int vtpm_instance_info_get_restarts(const struct vtpm_instance_info *info)
{
	return info->restarts;
}

VTPM_EXPORT int vtpm_instance_info_get_node(const struct vtpm_instance_info *info,
					    enum vtpm_node node, const char **path, dev_t *devnum)
{
	if ((unsigned int)node >= ARRAY_SIZE(info->node_path))
		return -EINVAL;
	if (!info->node_path[node])
		return -ENODEV;
	if (path)
		*path = info->node_path[node];
	if (devnum)
		*devnum = info->node_devnum[node];
	return 0;
}

VTPM_EXPORT struct vtpm_instance_list *vtpm_instance_list_ref(struct vtpm_instance_list *list)
{
	if (list)
		list->refcount++;
	return list;
}

VTPM_EXPORT struct vtpm_instance_list *vtpm_instance_list_unref(struct vtpm_instance_list *list)
{
	if (!list || --list->refcount > 0)
		return NULL;
	for (unsigned int i = 0; i < list->count; i++)
		vtpm_instance_info_unref(list->items[i]);
	free(list->items);
	free(list);
	return NULL;
}

VTPM_EXPORT unsigned int vtpm_instance_list_get_count(const struct vtpm_instance_list *list)
{
	return list->count;
}

VTPM_EXPORT struct vtpm_instance_info *vtpm_instance_list_get(const struct vtpm_instance_list *list,
							      unsigned int index)
{
	return index < list->count ? list->items[index] : NULL;
}

/* ------------------------------------------------------------ parsing */

static int node_from_desc(const struct vtpm_mgr_node *n, char **path, dev_t *devnum)
{
	if (!n->present)
		return 0;
	if (!vtpm_path_is_safe(n->path) || n->major > DEV_MAJOR_MAX || n->minor > DEV_MINOR_MAX)
		return -EPROTO;
	*path = strdup(n->path);
	if (!*path)
		return -ENOMEM;
	*devnum = makedev(n->major, n->minor);
	return 0;
}

/* A result object from a description the manager sent. */
static int info_from_desc(const struct vtpm_mgr_desc *d, struct vtpm_instance_info **out)
{
	struct vtpm_instance_info *info;
	int r;

	/* The syntax of the names and numbers was checked while parsing;
	 * paths must be ones a caller may use as they are. */
	if (!vtpm_path_is_safe(d->state_dir) || !vtpm_path_is_safe(d->runtime_dir))
		return -EPROTO;
	/* A TPM 1.2 has no resource manager node; nothing has it without the other. */
	if (d->tpmrm.present && (!d->tpm.present || d->version == VTPM_VERSION_1_2))
		return -EPROTO;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	info->refcount = 1;
	info->status = d->status;
	info->version = d->version;
	info->pid = d->pid;
	info->restarts = d->restarts;
	info->name = strdup(d->name);
	info->state_dir = strdup(d->state_dir);
	info->runtime_dir = strdup(d->runtime_dir);
	/* A virtual machine's instance serves its control channel on its own socket. */
	if ((d->socket[0] ? asprintf(&info->ctrl_address, "unix:%s", d->socket) :
			    asprintf(&info->ctrl_address, "unix:%s/%s", d->runtime_dir,
				     VTPM_RUNDIR_CTRL)) < 0)
		info->ctrl_address = NULL;
	r = -ENOMEM;
	if (!info->name || !info->state_dir || !info->runtime_dir || !info->ctrl_address)
		goto fail;
	r = node_from_desc(&d->tpm, &info->node_path[VTPM_NODE_TPM],
			   &info->node_devnum[VTPM_NODE_TPM]);
	if (r < 0)
		goto fail;
	r = node_from_desc(&d->tpmrm, &info->node_path[VTPM_NODE_TPMRM],
			   &info->node_devnum[VTPM_NODE_TPMRM]);
	if (r < 0)
		goto fail;
	*out = info;
	return 0;
fail:
	vtpm_instance_info_unref(info);
	return r;
}

static int info_from_object(struct json_object *o, struct vtpm_instance_info **out)
{
	struct vtpm_mgr_desc d;

	if (vtpm_mgr_desc_from_object(o, &d) < 0)
		return -EPROTO;
	return info_from_desc(&d, out);
}

static int list_from_array(struct json_object *arr, struct vtpm_instance_list **out)
{
	struct vtpm_instance_list *list;
	size_t n = json_object_array_length(arr);
	int r;

	if (n > VTPM_MANAGER_LIST_MAX)
		return -EPROTO;
	list = calloc(1, sizeof(*list));
	if (!list)
		return -ENOMEM;
	list->refcount = 1;
	list->items = calloc(n ? n : 1, sizeof(*list->items));
	if (!list->items) {
		free(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		r = info_from_object(json_object_array_get_idx(arr, i), &list->items[i]);
		if (r < 0) {
			vtpm_instance_list_unref(list);
			return r;
		}
		list->count++;
	}
	*out = list;
	return 0;
}

/* Keep the message for a caller to show: printable ASCII, bounded. */
static void copy_message(char *dst, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i < VTPM_MANAGER_MESSAGE_MAX - 1; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

static int parse_error(struct json_object *o, struct vtpm_mgr_reply *reply)
{
	struct json_object *v;
	int e;

	if (!json_object_object_get_ex(o, "error", &v) || !json_object_is_type(v, json_type_string))
		return -EPROTO;
	e = vtpm_mgr_errno_from_name(json_object_get_string(v));
	if (e <= 0)
		return -EPROTO;
	if (json_object_object_get_ex(o, "message", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return -EPROTO;
		copy_message(reply->message, json_object_get_string(v));
	}
	reply->error = -e;
	return 0;
}

static int parse_ok(struct json_object *o, enum vtpm_mgr_op op, const char *name,
		    struct vtpm_mgr_reply *reply)
{
	struct json_object *v;
	int r;

	switch (op) {
	case VTPM_MGR_OP_DESTROY:
		return 0;
	case VTPM_MGR_OP_CREATE:
	case VTPM_MGR_OP_RESTART:
	case VTPM_MGR_OP_STATUS:
		if (!json_object_object_get_ex(o, "instance", &v))
			return -EPROTO;
		r = info_from_object(v, &reply->info);
		if (r < 0)
			return r;
		/* An answer about another instance is no answer. */
		if (strcmp(reply->info->name, name) != 0) {
			reply->info = vtpm_instance_info_unref(reply->info);
			return -EPROTO;
		}
		return 0;
	case VTPM_MGR_OP_LIST:
		if (!json_object_object_get_ex(o, "instances", &v) ||
		    !json_object_is_type(v, json_type_array))
			return -EPROTO;
		return list_from_array(v, &reply->list);
	}
	return -EINVAL;
}

int vtpm_mgr_reply_parse(const char *text, size_t len, enum vtpm_mgr_op op, const char *name,
			 struct vtpm_mgr_reply *reply)
{
	struct json_tokener *tok;
	struct json_object *o, *v;
	int r;

	*reply = (struct vtpm_mgr_reply){};
	if (len > VTPM_MGR_REPLY_MAX)
		return -EMSGSIZE;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(text, '\0', len))
		return -EPROTO;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, text, (int)len);
	/* One object and nothing after it. */
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		return -EPROTO;
	}
	json_tokener_free(tok);

	if (!json_object_object_get_ex(o, "ok", &v) || !json_object_is_type(v, json_type_boolean))
		r = -EPROTO;
	else if (json_object_get_boolean(v))
		r = parse_ok(o, op, name, reply);
	else
		r = parse_error(o, reply);
	json_object_put(o);
	if (r < 0)
		vtpm_mgr_reply_clear(reply);
	return r;
}

void vtpm_mgr_reply_clear(struct vtpm_mgr_reply *reply)
{
	vtpm_instance_info_unref(reply->info);
	vtpm_instance_list_unref(reply->list);
	*reply = (struct vtpm_mgr_reply){};
}

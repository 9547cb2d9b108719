/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules rendered for a container manager: cgroup v1 lines, LXC
 * configuration and OCI runtime-spec entries (CDI specs: cdi.c).
 *
 * Formats, from their specifications:
 * - cgroup v1: Documentation/admin-guide/cgroup-v1/devices.rst,
 *   "type major:minor access" with type 'c' and access "rwm".
 * - OCI: runtime-spec config-linux.md, "Devices" (linux.devices: type,
 *   path, major, minor, fileMode, uid, gid) and "Device allowlist"
 *   (linux.resources.devices: allow, type, major, minor, access).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json-util.h"
#include "rules-internal.h"

/* Text appended to a growing malloc()ed buffer. */
struct strbuf {
	char *s;
	size_t len;
	bool oom;
};

static void _printf_(2, 3) sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	char *more;
	int n;

	if (sb->oom)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->oom = true;
		return;
	}
	more = realloc(sb->s, sb->len + (size_t)n + 1);
	if (!more) {
		sb->oom = true;
		return;
	}
	sb->s = more;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

static int sb_finish(struct strbuf *sb, char **text)
{
	if (sb->oom || !sb->s) {
		free(sb->s);
		return -ENOMEM;
	}
	*text = sb->s;
	return 0;
}

static int format_cgroup1(const struct vtpm_rules *rules, char **text)
{
	struct strbuf sb = {};

	for (unsigned int i = 0; i < rules->count; i++)
		sb_printf(&sb, "c %u:%u rwm\n", rules->nodes[i].major, rules->nodes[i].minor);
	return sb_finish(&sb, text);
}

static int format_lxc(const struct vtpm_rules *rules, char **text)
{
	struct strbuf sb = {};

	for (unsigned int i = 0; i < rules->count; i++) {
		const struct rules_node *n = &rules->nodes[i];

		sb_printf(&sb, "lxc.cgroup2.devices.allow = c %u:%u rwm\n", n->major, n->minor);
		sb_printf(&sb, "lxc.cgroup.devices.allow = c %u:%u rwm\n", n->major, n->minor);
		/* LXC mount targets are relative to the rootfs. */
		sb_printf(&sb, "lxc.mount.entry = %s %s none bind,optional,create=file\n",
			  n->host_path, n->container_path + strspn(n->container_path, "/"));
	}
	return sb_finish(&sb, text);
}

static struct json_object *oci_device(const struct vtpm_rules *rules, const struct rules_node *n)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	JSON_ADD(o, "path", json_object_new_string(n->container_path));
	JSON_ADD(o, "type", json_object_new_string("c"));
	JSON_ADD(o, "major", json_object_new_int64(n->major));
	JSON_ADD(o, "minor", json_object_new_int64(n->minor));
	JSON_ADD(o, "fileMode", json_object_new_int64(rules->mode));
	JSON_ADD(o, "uid", json_object_new_int64(rules->uid));
	JSON_ADD(o, "gid", json_object_new_int64(rules->gid));
	return o;
oom:
	json_object_put(o);
	return NULL;
}

static struct json_object *oci_cgroup_entry(const struct rules_node *n)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	JSON_ADD(o, "allow", json_object_new_boolean(1));
	JSON_ADD(o, "type", json_object_new_string("c"));
	JSON_ADD(o, "major", json_object_new_int64(n->major));
	JSON_ADD(o, "minor", json_object_new_int64(n->minor));
	JSON_ADD(o, "access", json_object_new_string("rwm"));
	return o;
oom:
	json_object_put(o);
	return NULL;
}

static struct json_object *build_oci(const struct vtpm_rules *rules)
{
	struct json_object *root = json_object_new_object();
	struct json_object *linux_obj = NULL, *devices = NULL, *resources = NULL, *allow = NULL;

	if (!root)
		return NULL;
	linux_obj = json_object_new_object();
	JSON_ADD(root, "linux", linux_obj);
	devices = json_object_new_array();
	JSON_ADD(linux_obj, "devices", devices);
	resources = json_object_new_object();
	JSON_ADD(linux_obj, "resources", resources);
	allow = json_object_new_array();
	JSON_ADD(resources, "devices", allow);
	for (unsigned int i = 0; i < rules->count; i++) {
		JSON_APPEND(devices, oci_device(rules, &rules->nodes[i]));
		JSON_APPEND(allow, oci_cgroup_entry(&rules->nodes[i]));
	}
	return root;
oom:
	json_object_put(root);
	return NULL;
}

VTPM_EXPORT int vtpm_rules_format(const struct vtpm_rules *rules,
				  enum vtpm_rules_format format, char **text)
{
	struct json_object *obj = NULL;
	int r;

	r = vtpm_rules_check_renderable(rules);
	if (r < 0)
		return r;
	switch (format) {
	case VTPM_RULES_CGROUP1:
		return format_cgroup1(rules, text);
	case VTPM_RULES_LXC:
		return format_lxc(rules, text);
	case VTPM_RULES_OCI:
		obj = build_oci(rules);
		break;
	case VTPM_RULES_CDI:
		/* A spec of this one device: the merge into no spec at all. */
		return vtpm_cdi_spec_merge(rules, NULL, text);
	default:
		return -EINVAL;
	}
	if (!obj)
		return -ENOMEM;
	r = vtpm_json_to_text(obj, text);
	json_object_put(obj);
	return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules: the nodes of a vTPM as cgroup v1 lines, LXC configuration,
 * OCI runtime-spec entries and CDI specs.
 *
 * Formats, from their specifications:
 * - cgroup v1: Documentation/admin-guide/cgroup-v1/devices.rst,
 *   "type major:minor access" with type 'c' and access "rwm".
 * - OCI: runtime-spec config-linux.md, "Devices" (linux.devices: type,
 *   path, major, minor, fileMode, uid, gid) and "Device allowlist"
 *   (linux.resources.devices: allow, type, major, minor, access).
 * - CDI: container-device-interface SPEC.md; "hostPath" in deviceNodes
 *   needs cdiVersion 0.5.0.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <json-c/json.h>

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

#define DEFAULT_NODE_MODE 0660
#define CDI_NAME_MAX 63

VTPM_EXPORT int vtpm_rules_new(struct vtpm_ctx *ctx, struct vtpm_rules **out)
{
	struct vtpm_rules *rules;

	rules = calloc(1, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	rules->kind = strdup(VTPM_CDI_KIND_DEFAULT);
	if (!rules->kind) {
		free(rules);
		return -ENOMEM;
	}
	rules->refcount = 1;
	rules->ctx = vtpm_ctx_ref(ctx);
	rules->mode = DEFAULT_NODE_MODE;
	*out = rules;
	return 0;
}

VTPM_EXPORT struct vtpm_rules *vtpm_rules_ref(struct vtpm_rules *rules)
{
	if (rules)
		rules->refcount++;
	return rules;
}

VTPM_EXPORT struct vtpm_rules *vtpm_rules_unref(struct vtpm_rules *rules)
{
	if (!rules || --rules->refcount > 0)
		return NULL;
	for (unsigned int i = 0; i < rules->count; i++) {
		free(rules->nodes[i].host_path);
		free(rules->nodes[i].container_path);
	}
	free(rules->name);
	free(rules->kind);
	vtpm_ctx_unref(rules->ctx);
	free(rules);
	return NULL;
}

bool vtpm_path_is_safe(const char *path)
{
	const char *p;

	if (!path || path[0] != '/' || strlen(path) >= PATH_MAX)
		return false;
	for (p = path; *p; ) {
		size_t len;

		while (*p == '/')
			p++;
		len = strcspn(p, "/");
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		p += len;
	}
	/* Must name something below the root. */
	return strspn(path, "/") != strlen(path);
}

VTPM_EXPORT int vtpm_rules_add_node(struct vtpm_rules *rules, const char *host_path,
				    const char *container_path, unsigned int major,
				    unsigned int minor)
{
	struct rules_node *n;

	if (!container_path)
		container_path = host_path;
	if (!vtpm_path_is_safe(host_path) || !vtpm_path_is_safe(container_path))
		return -EINVAL;
	if (rules->count >= VTPM_RULES_MAX_NODES)
		return -ENOSPC;

	n = &rules->nodes[rules->count];
	n->host_path = strdup(host_path);
	n->container_path = strdup(container_path);
	if (!n->host_path || !n->container_path) {
		free(n->host_path);
		free(n->container_path);
		*n = (struct rules_node){};
		return -ENOMEM;
	}
	n->major = major;
	n->minor = minor;
	return (int)rules->count++;
}

void vtpm_rules_mark_node(struct vtpm_rules *rules, unsigned int index, enum vtpm_node node)
{
	if (index < rules->count)
		rules->nodes[index].which = (int)node + 1;
}

VTPM_EXPORT unsigned int vtpm_rules_get_count(const struct vtpm_rules *rules)
{
	return rules->count;
}

VTPM_EXPORT int vtpm_rules_get_node(const struct vtpm_rules *rules, unsigned int index,
				    struct vtpm_rules_node *node)
{
	const struct rules_node *n;

	if (index >= rules->count)
		return -ERANGE;
	n = &rules->nodes[index];
	*node = (struct vtpm_rules_node){
		.host_path = n->host_path,
		.container_path = n->container_path,
		.major = n->major,
		.minor = n->minor,
	};
	return 0;
}

VTPM_EXPORT int vtpm_rules_set_container_path(struct vtpm_rules *rules, unsigned int index,
					      const char *path)
{
	char *copy;

	if (index >= rules->count)
		return -ERANGE;
	if (!vtpm_path_is_safe(path))
		return -EINVAL;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(rules->nodes[index].container_path);
	rules->nodes[index].container_path = copy;
	return 0;
}

VTPM_EXPORT int vtpm_rules_find_node(const struct vtpm_rules *rules, enum vtpm_node node)
{
	if (node != VTPM_NODE_TPM && node != VTPM_NODE_TPMRM)
		return -EINVAL;
	for (unsigned int i = 0; i < rules->count; i++)
		if (rules->nodes[i].which == (int)node + 1)
			return (int)i;
	return -ENOENT;
}

VTPM_EXPORT int vtpm_rules_set_node_container_path(struct vtpm_rules *rules,
						   enum vtpm_node node, const char *path)
{
	int index = vtpm_rules_find_node(rules, node);

	if (index < 0)
		return index;
	return vtpm_rules_set_container_path(rules, (unsigned int)index, path);
}

VTPM_EXPORT void vtpm_rules_set_owner(struct vtpm_rules *rules, uid_t uid, gid_t gid)
{
	rules->uid = uid;
	rules->gid = gid;
}

VTPM_EXPORT void vtpm_rules_get_owner(const struct vtpm_rules *rules, uid_t *uid, gid_t *gid)
{
	if (uid)
		*uid = rules->uid;
	if (gid)
		*gid = rules->gid;
}

VTPM_EXPORT int vtpm_rules_set_mode(struct vtpm_rules *rules, mode_t mode)
{
	if (mode & ~(mode_t)07777)
		return -EINVAL;
	rules->mode = mode;
	return 0;
}

VTPM_EXPORT mode_t vtpm_rules_get_mode(const struct vtpm_rules *rules)
{
	return rules->mode;
}

static bool cdi_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > CDI_NAME_MAX)
		return false;
	if (!isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

static int replace_string(char **dst, const char *src)
{
	char *copy = strdup(src);

	if (!copy)
		return -ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

VTPM_EXPORT int vtpm_rules_set_name(struct vtpm_rules *rules, const char *name)
{
	if (!name || !cdi_name_ok(name, strlen(name)))
		return -EINVAL;
	return replace_string(&rules->name, name);
}

VTPM_EXPORT const char *vtpm_rules_get_name(const struct vtpm_rules *rules)
{
	return rules->name;
}

/* CDI kind "vendor/class": vendor is a domain-like name, class a name. */
VTPM_EXPORT int vtpm_rules_set_cdi_kind(struct vtpm_rules *rules, const char *kind)
{
	const char *slash;

	if (!kind)
		return -EINVAL;
	slash = strchr(kind, '/');
	if (!slash || strchr(slash + 1, '/'))
		return -EINVAL;
	if (!cdi_name_ok(kind, (size_t)(slash - kind)) ||
	    !cdi_name_ok(slash + 1, strlen(slash + 1)))
		return -EINVAL;
	return replace_string(&rules->kind, kind);
}

VTPM_EXPORT const char *vtpm_rules_get_cdi_kind(const struct vtpm_rules *rules)
{
	return rules->kind;
}

/* ---------------------------------------------------------- constructors */

VTPM_EXPORT int vtpm_rules_new_from_device(struct vtpm_ctx *ctx, struct vtpm_device *dev,
					   struct vtpm_rules **out)
{
	static const enum vtpm_node nodes[] = { VTPM_NODE_TPM, VTPM_NODE_TPMRM };
	struct vtpm_rules *rules;
	char name[32];
	int r;

	r = vtpm_rules_new(ctx, &rules);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++) {
		dev_t devnum;

		if (nodes[i] == VTPM_NODE_TPMRM && vtpm_device_get_version(dev) != VTPM_VERSION_2)
			break;
		r = vtpm_device_get_devnum(dev, nodes[i], &devnum);
		if (r < 0)
			goto fail;
		r = vtpm_rules_add_node(rules, vtpm_device_get_path(dev, nodes[i]), NULL,
					major(devnum), minor(devnum));
		if (r < 0)
			goto fail;
		rules->nodes[r].which = (int)nodes[i] + 1;
	}
	snprintf(name, sizeof(name), "tpm%u", vtpm_device_get_number(dev));
	r = vtpm_rules_set_name(rules, name);
	if (r < 0)
		goto fail;
	*out = rules;
	return 0;
fail:
	vtpm_rules_unref(rules);
	return r;
}

VTPM_EXPORT int vtpm_rules_from_device(struct vtpm_device *dev, struct vtpm_rules **rules)
{
	if (!dev || !rules)
		return -EINVAL;
	return vtpm_rules_new_from_device(vtpm_device_get_ctx(dev), dev, rules);
}

/* "tpmN" at the end of @path: N, or -1. */
static long tpm_number_of(const char *path)
{
	const char *base = strrchr(path, '/');
	unsigned long n;
	char *end;

	base = base ? base + 1 : path;
	if (strncmp(base, "tpm", 3) != 0 || !isdigit((unsigned char)base[3]))
		return -1;
	errno = 0;
	n = strtoul(base + 3, &end, 10);
	if (errno || *end || n > INT_MAX)
		return -1;
	return (long)n;
}

/* Read "MAJ:MIN\n" from a sysfs dev attribute. */
static int read_sysfs_devnum(const char *path, unsigned int *maj, unsigned int *min)
{
	FILE *f;
	int n;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	n = fscanf(f, "%u:%u", maj, min);
	fclose(f);
	return n == 2 ? 0 : -EIO;
}

VTPM_EXPORT int vtpm_rules_new_from_path(struct vtpm_ctx *ctx, const char *path,
					 struct vtpm_rules **out)
{
	_cleanup_free_ char *node_path = NULL, *rm_path = NULL, *sys_path = NULL;
	struct vtpm_rules *rules;
	unsigned int maj, min;
	struct stat st;
	const char *slash;
	long num;
	int r;

	if (!path || !*path)
		return -EINVAL;
	if (path[0] != '/') {
		unsigned long n;
		char *end;

		errno = 0;
		n = strtoul(path, &end, 10);
		if (errno || *end || !isdigit((unsigned char)path[0]) || n > INT_MAX)
			return -EINVAL;
		if (asprintf(&node_path, "%s/tpm%lu", vtpm_ctx_get_path(ctx, VTPM_PATH_DEV), n) < 0)
			return -ENOMEM;
	} else {
		node_path = strdup(path);
		if (!node_path)
			return -ENOMEM;
	}
	num = tpm_number_of(node_path);
	if (num < 0) {
		err(ctx, "%s is not a TPM device node (tpmN)", node_path);
		return -EINVAL;
	}
	if (stat(node_path, &st) < 0) {
		r = -errno;
		err(ctx, "cannot stat %s: %s", node_path, strerror(-r));
		return r;
	}
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;

	r = vtpm_rules_new(ctx, &rules);
	if (r < 0)
		return r;
	r = vtpm_rules_add_node(rules, node_path, NULL, major(st.st_rdev), minor(st.st_rdev));
	if (r < 0)
		goto fail;
	rules->nodes[r].which = VTPM_NODE_TPM + 1;

	if (asprintf(&sys_path, "%s/class/tpmrm/tpmrm%ld/dev",
		     vtpm_ctx_get_path(ctx, VTPM_PATH_SYSFS), num) < 0) {
		sys_path = NULL;
		r = -ENOMEM;
		goto fail;
	}
	if (read_sysfs_devnum(sys_path, &maj, &min) == 0) {
		slash = strrchr(node_path, '/');
		if (asprintf(&rm_path, "%.*s/tpmrm%ld", (int)(slash - node_path), node_path, num) < 0) {
			rm_path = NULL;
			r = -ENOMEM;
			goto fail;
		}
		r = vtpm_rules_add_node(rules, rm_path, NULL, maj, min);
		if (r < 0)
			goto fail;
		rules->nodes[r].which = VTPM_NODE_TPMRM + 1;
	} else {
		dbg(ctx, "no %s: TPM 1.2 or not registered, no tpmrm node", sys_path);
	}

	{
		char name[32];

		snprintf(name, sizeof(name), "tpm%ld", num);
		r = vtpm_rules_set_name(rules, name);
		if (r < 0)
			goto fail;
	}
	*out = rules;
	return 0;
fail:
	vtpm_rules_unref(rules);
	return r;
}

/* ---------------------------------------------------------- rendering */

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

/* json-c's constructors return NULL only when out of memory. */
#define JSON_ADD(obj, key, val)							\
	do {									\
		struct json_object *_v = (val);					\
		if (!_v || json_object_object_add(obj, key, _v) < 0) {		\
			json_object_put(_v);					\
			goto oom;						\
		}								\
	} while (0)

#define JSON_APPEND(arr, val)							\
	do {									\
		struct json_object *_v = (val);					\
		if (!_v || json_object_array_add(arr, _v) < 0) {		\
			json_object_put(_v);					\
			goto oom;						\
		}								\
	} while (0)

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

static struct json_object *cdi_device(const struct vtpm_rules *rules)
{
	struct json_object *dev = json_object_new_object();
	struct json_object *edits = NULL, *nodes = NULL;

	if (!dev)
		return NULL;
	JSON_ADD(dev, "name", json_object_new_string(rules->name));
	edits = json_object_new_object();
	JSON_ADD(dev, "containerEdits", edits);
	nodes = json_object_new_array();
	JSON_ADD(edits, "deviceNodes", nodes);
	for (unsigned int i = 0; i < rules->count; i++) {
		const struct rules_node *n = &rules->nodes[i];
		struct json_object *o = json_object_new_object();

		JSON_APPEND(nodes, o);
		JSON_ADD(o, "path", json_object_new_string(n->container_path));
		JSON_ADD(o, "hostPath", json_object_new_string(n->host_path));
		JSON_ADD(o, "type", json_object_new_string("c"));
		JSON_ADD(o, "major", json_object_new_int64(n->major));
		JSON_ADD(o, "minor", json_object_new_int64(n->minor));
		JSON_ADD(o, "permissions", json_object_new_string("rwm"));
		JSON_ADD(o, "fileMode", json_object_new_int64(rules->mode));
		JSON_ADD(o, "uid", json_object_new_int64(rules->uid));
		JSON_ADD(o, "gid", json_object_new_int64(rules->gid));
	}
	return dev;
oom:
	json_object_put(dev);
	return NULL;
}

static struct json_object *new_cdi_spec(const struct vtpm_rules *rules)
{
	struct json_object *spec = json_object_new_object();

	if (!spec)
		return NULL;
	JSON_ADD(spec, "cdiVersion", json_object_new_string(VTPM_CDI_VERSION));
	JSON_ADD(spec, "kind", json_object_new_string(rules->kind));
	JSON_ADD(spec, "devices", json_object_new_array());
	return spec;
oom:
	json_object_put(spec);
	return NULL;
}

static int json_to_text(struct json_object *obj, char **text)
{
	const char *s;

	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
						JSON_C_TO_STRING_SPACED |
						JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(text, "%s\n", s) < 0)
		return -ENOMEM;
	return 0;
}

static int check_renderable(const struct vtpm_rules *rules)
{
	if (rules->count == 0)
		return -ENODATA;
	return 0;
}

VTPM_EXPORT int vtpm_rules_format(const struct vtpm_rules *rules,
				  enum vtpm_rules_format format, char **text)
{
	struct json_object *obj = NULL;
	int r;

	r = check_renderable(rules);
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
	case VTPM_RULES_CDI: {
		struct json_object *dev;

		if (!rules->name)
			return -ENOENT;
		obj = new_cdi_spec(rules);
		if (!obj)
			return -ENOMEM;
		dev = cdi_device(rules);
		if (!dev || json_object_array_add(json_object_object_get(obj, "devices"), dev) < 0) {
			json_object_put(dev);
			json_object_put(obj);
			return -ENOMEM;
		}
		break;
	}
	default:
		return -EINVAL;
	}
	if (!obj)
		return -ENOMEM;
	r = json_to_text(obj, text);
	json_object_put(obj);
	return r;
}

/* Parse a CDI spec: a JSON object with a "devices" array. */
static int parse_cdi_spec(const char *spec, struct json_object **out)
{
	struct json_object *obj, *devices;

	obj = json_tokener_parse(spec);
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "devices", &devices) ||
	    !json_object_is_type(devices, json_type_array)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	*out = obj;
	return 0;
}

/* Index of device @name in @devices, or -1. */
static int find_cdi_device(struct json_object *devices, const char *name)
{
	size_t n = json_object_array_length(devices);

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(devices, i), *jn;

		if (json_object_object_get_ex(d, "name", &jn) &&
		    json_object_is_type(jn, json_type_string) &&
		    strcmp(json_object_get_string(jn), name) == 0)
			return (int)i;
	}
	return -1;
}

VTPM_EXPORT int vtpm_cdi_spec_merge(const struct vtpm_rules *rules, const char *spec, char **text)
{
	struct json_object *obj, *devices, *kind, *dev;
	int r, idx;

	r = check_renderable(rules);
	if (r < 0)
		return r;
	if (!rules->name)
		return -ENOENT;
	if (spec) {
		r = parse_cdi_spec(spec, &obj);
		if (r < 0)
			return r;
		if (!json_object_object_get_ex(obj, "kind", &kind) ||
		    !json_object_is_type(kind, json_type_string) ||
		    strcmp(json_object_get_string(kind), rules->kind) != 0) {
			json_object_put(obj);
			return -EXDEV;
		}
	} else {
		obj = new_cdi_spec(rules);
		if (!obj)
			return -ENOMEM;
	}
	devices = json_object_object_get(obj, "devices");
	dev = cdi_device(rules);
	if (!dev) {
		json_object_put(obj);
		return -ENOMEM;
	}
	idx = find_cdi_device(devices, rules->name);
	if (idx >= 0)
		r = json_object_array_put_idx(devices, (size_t)idx, dev);
	else
		r = json_object_array_add(devices, dev);
	if (r < 0) {
		json_object_put(dev);
		json_object_put(obj);
		return -ENOMEM;
	}
	r = json_to_text(obj, text);
	json_object_put(obj);
	return r;
}

VTPM_EXPORT int vtpm_cdi_spec_remove(const char *spec, const char *name, char **text)
{
	struct json_object *obj, *devices;
	int r, idx;

	if (!spec || !name)
		return -EINVAL;
	r = parse_cdi_spec(spec, &obj);
	if (r < 0)
		return r;
	devices = json_object_object_get(obj, "devices");
	idx = find_cdi_device(devices, name);
	if (idx < 0) {
		json_object_put(obj);
		return -ENOENT;
	}
	json_object_array_del_idx(devices, (size_t)idx, 1);
	if (json_object_array_length(devices) == 0) {
		*text = NULL;
		r = 0;
	} else {
		r = json_to_text(obj, text);
	}
	json_object_put(obj);
	return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules: the nodes of a vTPM, their owner, mode and names in the
 * container, and the constructors that find them for a device or a node
 * path.  rules-format.c renders them (cgroup v1, LXC, OCI), cdi.c edits CDI
 * specs with them.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "rules-internal.h"

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

struct vtpm_ctx *vtpm_rules_get_ctx(const struct vtpm_rules *rules)
{
	return rules->ctx;
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

/* The constructors' last step: name the rules "tpmN" and hand them out, or free them. */
static int name_and_hand_out(struct vtpm_rules *rules, unsigned long number, struct vtpm_rules **out)
{
	char name[32];
	int r;

	snprintf(name, sizeof(name), "tpm%lu", number);
	r = vtpm_rules_set_name(rules, name);
	if (r < 0) {
		vtpm_rules_unref(rules);
		return r;
	}
	*out = rules;
	return 0;
}

VTPM_EXPORT int vtpm_rules_new_from_device(struct vtpm_ctx *ctx, struct vtpm_device *dev,
					   struct vtpm_rules **out)
{
	static const enum vtpm_node nodes[] = { VTPM_NODE_TPM, VTPM_NODE_TPMRM };
	struct vtpm_rules *rules;
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
	return name_and_hand_out(rules, vtpm_device_get_number(dev), out);
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

VTPM_EXPORT int vtpm_rules_new_from_path(struct vtpm_ctx *ctx, const char *path,
					 struct vtpm_rules **out)
{
	_cleanup_free_ char *node_path = NULL, *rm_path = NULL, *sys_path = NULL;
	struct vtpm_rules *rules;
	dev_t rm_devnum;
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
	r = vtpm_sysfs_read_devnum(sys_path, &rm_devnum);
	if (r == 0) {
		slash = strrchr(node_path, '/');
		if (asprintf(&rm_path, "%.*s/tpmrm%ld", (int)(slash - node_path), node_path, num) < 0) {
			rm_path = NULL;
			r = -ENOMEM;
			goto fail;
		}
		r = vtpm_rules_add_node(rules, rm_path, NULL, major(rm_devnum), minor(rm_devnum));
		if (r < 0)
			goto fail;
		rules->nodes[r].which = VTPM_NODE_TPMRM + 1;
	} else if (r == -EAGAIN) {
		dbg(ctx, "no %s: TPM 1.2 or not registered, no tpmrm node", sys_path);
	} else {
		err(ctx, "cannot read the device number in %s: %s", sys_path,
		    r == -EIO ? "not MAJOR:MINOR" : strerror(-r));
		goto fail;
	}

	return name_and_hand_out(rules, (unsigned long)num, out);
fail:
	vtpm_rules_unref(rules);
	return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device rules: what a container stack must be told so that one container,
 * and nobody else, may use a vTPM's nodes.
 *
 * A struct vtpm_rules lists device nodes (a host node, the path it gets in
 * the container, its character-device number) plus the owner and mode the
 * container's copy gets.  It renders as cgroup v1 "devices.allow" lines,
 * LXC configuration lines, the OCI runtime-spec "linux.devices" and
 * "linux.resources.devices" entries, or a CDI spec.  The same object drives
 * node creation and cgroup changes in <vtpm/container.h>.
 *
 * Rules are plain data: they can be built from a struct vtpm_device, from a
 * device node another process created (by stat(2)), or field by field.
 *
 * Thread safety: as for every libvtpm object (see ctx.h).
 */
#ifndef VTPM_RULES_H
#define VTPM_RULES_H

#include <sys/types.h>

#include <vtpm/ctx.h>
#include <vtpm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtpm_rules;

/** VTPM_RULES_MAX_NODES - how many nodes one rules object holds. */
#define VTPM_RULES_MAX_NODES 8

/** VTPM_CDI_KIND_DEFAULT - the CDI kind vtpm_rules_new() starts with. */
#define VTPM_CDI_KIND_DEFAULT "libvtpm.org/vtpm"

/**
 * VTPM_CDI_VERSION - the cdiVersion of generated CDI specs: the lowest that
 * has every field used ("hostPath" in device nodes appeared in CDI 0.5.0).
 */
#define VTPM_CDI_VERSION "0.5.0"

/**
 * vtpm_rules_new - an empty rules object
 * @rules: on success, the new object with a reference count of one
 *
 * Starts with mode 0660, owner 0:0, CDI kind VTPM_CDI_KIND_DEFAULT, no
 * name and no nodes.
 *
 * Returns: 0 or -ENOMEM.
 */
int vtpm_rules_new(struct vtpm_ctx *ctx, struct vtpm_rules **rules);

/**
 * vtpm_rules_from_device - rules for the nodes of a device pair
 * @dev: a registered device (see vtpm_relay_wait_registered()); the rules
 *	log through its context
 * @rules: on success, the new object with a reference count of one
 *
 * Adds the tpm node and, for TPM 2, the tpmrm node, each with its host path
 * also as container path, and names the rules "tpmN".
 *
 * Returns: 0; -EINVAL for a NULL argument; -EAGAIN if the tpmrm node is not
 * registered yet; -ENOMEM.
 *
 * Since LIBVTPM_3.
 */
int vtpm_rules_from_device(struct vtpm_device *dev, struct vtpm_rules **rules);

/**
 * vtpm_rules_new_from_device - vtpm_rules_from_device(), logging through @ctx
 *
 * Deprecated: use vtpm_rules_from_device(), which takes the context from
 * @dev.  Returns as vtpm_rules_from_device().
 */
int vtpm_rules_new_from_device(struct vtpm_ctx *ctx, struct vtpm_device *dev,
			       struct vtpm_rules **rules);

/**
 * vtpm_rules_new_from_path - rules for an existing TPM device node
 * @path: "/dev/tpmN" (any path to a character device named tpmN), or just
 *	"N", meaning "<dev root>/tpmN" (see VTPM_PATH_DEV)
 *
 * The device number comes from stat(2) of the node.  The matching
 * resource-manager node is found through sysfs
 * ("<sysfs>/class/tpmrm/tpmrmN/dev") and added when it exists, with the
 * path "<dirname of @path>/tpmrmN".  The rules are named "tpmN".
 *
 * Returns: 0; -EINVAL if @path does not name a tpmN node; -ENOTTY if it is
 * not a character device; -ENOENT and other negative errnos from stat(2);
 * -EIO if the tpmrm node's sysfs attribute exists but does not read
 * "MAJOR:MINOR\n", other negative errnos from opening it; -ENOMEM.
 */
int vtpm_rules_new_from_path(struct vtpm_ctx *ctx, const char *path,
			     struct vtpm_rules **rules);

/** vtpm_rules_ref - take a reference; returns @rules. */
struct vtpm_rules *vtpm_rules_ref(struct vtpm_rules *rules);

/** vtpm_rules_unref - drop a reference, freeing with the last one.  Returns NULL. */
struct vtpm_rules *vtpm_rules_unref(struct vtpm_rules *rules);

/**
 * vtpm_rules_add_node - append a character-device node
 * @host_path: absolute path of the node on the host
 * @container_path: absolute path inside the container; NULL for @host_path
 *
 * Both strings are copied.
 *
 * Returns: the new node's index (>= 0); -EINVAL for a relative or empty
 * path, or one with a ".." component; -ENOSPC when VTPM_RULES_MAX_NODES
 * nodes exist; -ENOMEM.
 */
int vtpm_rules_add_node(struct vtpm_rules *rules, const char *host_path,
			const char *container_path, unsigned int major, unsigned int minor);

/** vtpm_rules_get_count - the number of nodes. */
unsigned int vtpm_rules_get_count(const struct vtpm_rules *rules);

/**
 * struct vtpm_rules_node - one node, as vtpm_rules_get_node() reports it
 * @host_path, @container_path: owned by the rules object, valid until the
 *	node is changed or the object freed
 */
struct vtpm_rules_node {
	const char *host_path;
	const char *container_path;
	unsigned int major;
	unsigned int minor;
};

/**
 * vtpm_rules_get_node - describe node @index
 *
 * Returns: 0; -ERANGE for an @index past the last node.
 */
int vtpm_rules_get_node(const struct vtpm_rules *rules, unsigned int index,
			struct vtpm_rules_node *node);

/**
 * vtpm_rules_set_container_path - where node @index appears in the container
 * @path: absolute, no ".." component; copied
 *
 * Returns: 0; -ERANGE for a bad @index; -EINVAL for a bad @path; -ENOMEM.
 */
int vtpm_rules_set_container_path(struct vtpm_rules *rules, unsigned int index,
				  const char *path);

/**
 * vtpm_rules_find_node - which index holds a node of the device pair
 * @node: VTPM_NODE_TPM or VTPM_NODE_TPMRM
 *
 * The rules made by vtpm_rules_from_device() or
 * vtpm_rules_new_from_path() know which node is which; a node appended with
 * vtpm_rules_add_node() is none of them.  Prefer this to assuming that the
 * tpm node is at index 0 and the tpmrm node at 1.
 *
 * Returns: the index (>= 0); -ENOENT if the rules hold no such node (the
 * tpmrm node of a TPM 1.2); -EINVAL for an unknown @node.
 */
int vtpm_rules_find_node(const struct vtpm_rules *rules, enum vtpm_node node);

/**
 * vtpm_rules_set_node_container_path - vtpm_rules_set_container_path() for
 * the node of the pair named by @node
 *
 * Returns: 0; -ENOENT as from vtpm_rules_find_node(); -EINVAL for an
 * unknown @node or a bad @path; -ENOMEM.
 */
int vtpm_rules_set_node_container_path(struct vtpm_rules *rules, enum vtpm_node node,
				       const char *path);

/**
 * vtpm_rules_set_owner - owner of the container's nodes (host uid/gid;
 * for a user-namespaced container pass the mapped host ids).
 */
void vtpm_rules_set_owner(struct vtpm_rules *rules, uid_t uid, gid_t gid);

/**
 * vtpm_rules_set_mode - permission bits of the container's nodes
 *
 * Returns: 0; -EINVAL if @mode has bits outside 07777.
 */
int vtpm_rules_set_mode(struct vtpm_rules *rules, mode_t mode);

/** vtpm_rules_get_owner - the owner set (0:0 by default). */
void vtpm_rules_get_owner(const struct vtpm_rules *rules, uid_t *uid, gid_t *gid);

/** vtpm_rules_get_mode - the permission bits set (0660 by default). */
mode_t vtpm_rules_get_mode(const struct vtpm_rules *rules);

/**
 * vtpm_rules_set_name - the device name in a CDI spec ("tpm0" by default
 * from the constructors that know the device)
 *
 * CDI allows letters, digits, '-', '_' and '.', beginning and ending with
 * a letter or digit, at most 63 characters.
 *
 * Returns: 0; -EINVAL for a name CDI would refuse; -ENOMEM.
 */
int vtpm_rules_set_name(struct vtpm_rules *rules, const char *name);

/** vtpm_rules_get_name - the name, owned by @rules; NULL when not set. */
const char *vtpm_rules_get_name(const struct vtpm_rules *rules);

/**
 * vtpm_rules_set_cdi_kind - the CDI kind, "vendor/class"
 * (VTPM_CDI_KIND_DEFAULT unless set)
 *
 * Returns: 0; -EINVAL for a kind without exactly one '/' or with characters
 * CDI does not allow; -ENOMEM.
 */
int vtpm_rules_set_cdi_kind(struct vtpm_rules *rules, const char *kind);

/** vtpm_rules_get_cdi_kind - the CDI kind, owned by @rules. */
const char *vtpm_rules_get_cdi_kind(const struct vtpm_rules *rules);

/**
 * enum vtpm_rules_format - text renderings of rules
 * @VTPM_RULES_CGROUP1: one "c MAJ:MIN rwm" line per node, ready to write to
 *	a cgroup v1 devices.allow file (one write per line)
 * @VTPM_RULES_LXC: LXC configuration: "lxc.cgroup2.devices.allow",
 *	"lxc.cgroup.devices.allow" and a bind "lxc.mount.entry" per node
 * @VTPM_RULES_OCI: a JSON object {"linux": {"devices": [...],
 *	"resources": {"devices": [...]}}} to merge into an OCI config.json
 * @VTPM_RULES_CDI: a whole CDI spec (JSON) with one device, named by
 *	vtpm_rules_set_name(), holding every node
 */
enum vtpm_rules_format {
	VTPM_RULES_CGROUP1 = 0,
	VTPM_RULES_LXC = 1,
	VTPM_RULES_OCI = 2,
	VTPM_RULES_CDI = 3,
};

/**
 * vtpm_rules_format - render @rules as text
 * @text: on success, a malloc()ed NUL-terminated string the caller frees;
 *	it ends with a newline
 *
 * Returns: 0; -EINVAL for an unknown @format; -ENODATA without nodes;
 * -ENOENT for VTPM_RULES_CDI without a name; -ENOMEM.
 */
int vtpm_rules_format(const struct vtpm_rules *rules, enum vtpm_rules_format format,
		      char **text);

/**
 * vtpm_cdi_spec_merge - add or replace the device of @rules in a CDI spec
 * @spec: an existing spec's JSON text, or NULL to start a new one
 * @text: on success, the merged spec, malloc()ed, for the caller to free
 *
 * A device of the same name is replaced, others are kept in order.
 *
 * Returns: 0; -EBADMSG if @spec is not a JSON object with a "devices"
 * array; -EXDEV if its "kind" differs from the rules' kind; -ENOENT
 * when @rules has no name; -ENODATA without nodes; -ENOMEM.
 */
int vtpm_cdi_spec_merge(const struct vtpm_rules *rules, const char *spec, char **text);

/**
 * vtpm_cdi_spec_remove - drop device @name from a CDI spec
 * @text: on success the remaining spec (malloc()ed), or NULL when no device
 *	is left, meaning the spec file should be deleted
 *
 * Returns: 0; -ENOENT if @spec has no such device; -EBADMSG for a spec
 * that is not a JSON object with a "devices" array; -ENOMEM.
 */
int vtpm_cdi_spec_remove(const char *spec, const char *name, char **text);

#ifdef __cplusplus
}
#endif

#endif

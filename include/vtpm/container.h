/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing a vTPM to a container: create its nodes in the container's file
 * system and allow them in the container's device cgroup.  Also parses the
 * OCI runtime state that hooks receive on stdin.
 *
 * Everything here takes its nodes, owner and mode from a struct vtpm_rules
 * (see <vtpm/rules.h>) and needs root (CAP_MKNOD, CAP_SYS_ADMIN,
 * CAP_SYS_CHROOT for setns, CAP_BPF or CAP_SYS_ADMIN for cgroup v2).
 *
 * Thread safety: as for every libvtpm object.  vtpm_nodes_create_pid()
 * forks; the child only makes system calls, so it is safe in a threaded
 * caller too.
 */
#ifndef VTPM_CONTAINER_H
#define VTPM_CONTAINER_H

#include <sys/types.h>

#include <vtpm/ctx.h>
#include <vtpm/rules.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------ nodes */

/**
 * Flags for the vtpm_nodes_create_*() functions.
 * @VTPM_NODES_REPLACE: replace whatever exists at a node's path (a file, a
 *	symlink, another device; not a directory).  Without it an existing
 *	node with the right device number is accepted (its owner and mode are
 *	reset) and anything else fails with -EEXIST.
 */
#define VTPM_NODES_REPLACE (1u << 0)

/**
 * vtpm_nodes_create_rootfs - mknod each node of @rules below a root directory
 * @rootfs: the container's root directory, as seen by the caller
 * @flags: 0 or VTPM_NODES_REPLACE
 *
 * Each node's container path is resolved below @rootfs without following
 * any symlink (openat2() with RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS, or a
 * component-by-component O_NOFOLLOW walk on kernels without openat2), so a
 * hostile rootfs cannot redirect the node to the host.  Missing parent
 * directories are created (0755, root-owned).  Nodes get the rules' mode
 * (umask is not applied) and owner.  On failure the nodes created so far
 * are removed again.
 *
 * Returns: 0; -ELOOP if a path component is a symlink; -EEXIST (see
 * VTPM_NODES_REPLACE); -ENOTDIR; -ENODATA for rules without nodes;
 * -EINVAL for bad @flags; or a negative errno from open(2), mknod(2) or
 * chown(2).
 */
int vtpm_nodes_create_rootfs(const struct vtpm_rules *rules, const char *rootfs,
			     unsigned int flags);

/**
 * vtpm_nodes_remove_rootfs - unlink the nodes of @rules below @rootfs
 *
 * Only character devices with the rules' device numbers are removed; a
 * missing node is not an error.
 *
 * Returns: 0; -ELOOP, -ENOTDIR as for creation; or a negative errno from
 * unlink(2).  Every node is tried; the first error is returned.
 */
int vtpm_nodes_remove_rootfs(const struct vtpm_rules *rules, const char *rootfs);

/**
 * vtpm_nodes_create_pid - create the nodes in the mount namespace of @pid
 * @rootfs: the container's root inside that namespace (an absolute path),
 *	or NULL for the process's own root directory.  Pass the rootfs path
 *	while the runtime has not yet pivoted into it, as in an OCI
 *	createRuntime hook ("<bundle>/<root.path>").
 * @flags: as for vtpm_nodes_create_rootfs()
 *
 * Forks a child that opens /proc/PID/root, joins the process's mount
 * namespace with setns(2) (which needs a single-threaded process, hence the
 * child) and then works as vtpm_nodes_create_rootfs().
 *
 * Returns: as vtpm_nodes_create_rootfs(); -ESRCH if @pid does not exist;
 * -EINVAL for @pid <= 0 or a relative @rootfs; -ECHILD if the child died
 * without reporting.
 */
int vtpm_nodes_create_pid(const struct vtpm_rules *rules, pid_t pid, const char *rootfs,
			  unsigned int flags);

/**
 * vtpm_nodes_remove_pid - vtpm_nodes_remove_rootfs() in the mount namespace
 * of @pid.
 *
 * Returns: as vtpm_nodes_remove_rootfs() and vtpm_nodes_create_pid().
 */
int vtpm_nodes_remove_pid(const struct vtpm_rules *rules, pid_t pid, const char *rootfs);

/* ------------------------------------------------------------ cgroups */

struct vtpm_cgroup;

/**
 * vtpm_cgroup_new_from_pid - the device cgroup @pid is in
 *
 * Reads /proc/PID/cgroup and /proc/self/mountinfo.  If a cgroup v1
 * hierarchy with the "devices" controller holds the process, that is used;
 * otherwise its cgroup v2 directory.
 *
 * Returns: 0; -ESRCH if @pid does not exist; -ENOMEDIUM if the process's
 * device hierarchy is not mounted here; -EINVAL for @pid <= 0; -ENOMEM.
 */
int vtpm_cgroup_new_from_pid(struct vtpm_ctx *ctx, pid_t pid, struct vtpm_cgroup **cg);

/**
 * vtpm_cgroup_new_from_path - a cgroup given by its directory
 * @path: a cgroup v2 directory, or a directory of a cgroup v1 hierarchy
 *	with the devices controller
 *
 * Returns: 0; -ENOTDIR / -ENOENT for a bad @path; -EMEDIUMTYPE if @path is
 * not in a cgroup file system; -ENOMEM.
 */
int vtpm_cgroup_new_from_path(struct vtpm_ctx *ctx, const char *path, struct vtpm_cgroup **cg);

/**
 * vtpm_cgroup_unref - free @cg.  This does not revoke what
 * vtpm_cgroup_allow() allowed; call vtpm_cgroup_revoke() first for that.
 * Returns NULL.
 */
struct vtpm_cgroup *vtpm_cgroup_unref(struct vtpm_cgroup *cg);

/** vtpm_cgroup_ref - take a reference; returns @cg. */
struct vtpm_cgroup *vtpm_cgroup_ref(struct vtpm_cgroup *cg);

/** vtpm_cgroup_get_version - 1 for a v1 devices hierarchy, 2 for cgroup v2. */
int vtpm_cgroup_get_version(const struct vtpm_cgroup *cg);

/** vtpm_cgroup_get_path - the cgroup's directory; owned by @cg. */
const char *vtpm_cgroup_get_path(const struct vtpm_cgroup *cg);

/**
 * vtpm_cgroup_enter - move the calling process (all its threads) into @cg
 *
 * For a serving process that should be charged to a container's CPU
 * limit: its own cgroup, or one beside it below the same parent.  A
 * runtime that removes the container's cgroup kills what is left in it,
 * the server included, before any poststop hook runs; a cgroup beside it
 * keeps the server until it is stopped.
 *
 * Returns: 0; -EINVAL for a NULL @cg; -EOPNOTSUPP for a cgroup v1 devices
 * directory (it accounts no CPU time); or a negative errno from writing
 * cgroup.procs (-EBUSY for a cgroup v2 directory whose controllers are
 * enabled for children: only leaves take processes).
 */
int vtpm_cgroup_enter(struct vtpm_cgroup *cg);

/**
 * vtpm_cgroup_allow - let the cgroup's processes use the nodes of @rules
 *
 * cgroup v1: writes each "c MAJ:MIN rwm" line to devices.allow.
 *
 * cgroup v2: device access is decided by BPF_PROG_TYPE_CGROUP_DEVICE
 * programs, and every program attached on the way to the root must allow
 * (the kernel ANDs their verdicts), so attaching one more program that
 * allows our device cannot lift the container's deny-by-default.  Instead
 * each device program attached to this very cgroup is replaced by a copy
 * with a prefix that allows our nodes and otherwise runs the original
 * instructions unchanged: the copy is built from the program's translated
 * instructions (BPF_OBJ_GET_INFO_BY_FD), which for the programs runc, crun,
 * LXC and systemd generate are plain loads, ALU, jumps and exits; jumps are
 * relative, so prepending code keeps them valid.  The copy replaces the
 * original atomically (BPF_F_ALLOW_MULTI | BPF_F_REPLACE, or a plain
 * re-attach for a cgroup in single-program mode).  The original programs
 * are kept open so vtpm_cgroup_revoke() can put them back.  A cgroup
 * without a device program of its own already allows the device as far
 * as it is concerned, and is left alone.  Programs attached to ancestor
 * cgroups are never touched.
 *
 * Call it once per @cg; a second call fails with -EALREADY.
 *
 * Returns: 0; -EALREADY; -ENODATA for rules without nodes;
 * -EOPNOTSUPP if an attached program calls helpers or uses maps (it cannot
 * be copied safely); -EPERM without the privilege; or a negative errno
 * from write(2) or bpf(2).  On failure nothing is changed.
 */
int vtpm_cgroup_allow(struct vtpm_cgroup *cg, const struct vtpm_rules *rules);

/**
 * vtpm_cgroup_revoke - undo vtpm_cgroup_allow()
 *
 * cgroup v1: writes the lines to devices.deny.  cgroup v2: puts the
 * original programs back in place of the copies.  If someone replaced a
 * copy in the meantime, that program is left alone.
 *
 * Returns: 0 (also when nothing was allowed); -ENOENT when the cgroup is
 * gone (there is nothing left to revoke then); or the first negative
 * errno from write(2) or bpf(2); every node and program is tried.
 */
int vtpm_cgroup_revoke(struct vtpm_cgroup *cg);

/* ------------------------------------------------------------ OCI hooks */

struct vtpm_oci_state;

/**
 * vtpm_oci_state_parse - parse the runtime state an OCI hook gets on stdin
 * @json: the text; need not be NUL-terminated
 * @len: its length
 * @state: on success, the parsed state; free with vtpm_oci_state_free()
 *
 * "ociVersion", "id" and "status" are required strings, "pid" (an integer
 * > 0) is required unless the status is "stopped" ("pid": 0, as crun gives
 * poststop hooks, counts as absent), "bundle" must be an absolute path when
 * present and "annotations" an object of strings.
 *
 * Returns: 0; -EBADMSG for text that is not such a JSON object (the
 * context logs which field is wrong); -ENOMEM.
 */
int vtpm_oci_state_parse(struct vtpm_ctx *ctx, const char *json, size_t len,
			 struct vtpm_oci_state **state);

/** vtpm_oci_state_free - release @state.  Returns NULL. */
struct vtpm_oci_state *vtpm_oci_state_free(struct vtpm_oci_state *state);

/** vtpm_oci_state_get_id - the container id; owned by @state. */
const char *vtpm_oci_state_get_id(const struct vtpm_oci_state *state);

/** vtpm_oci_state_get_status - "creating", "created", "running", "stopped"... */
const char *vtpm_oci_state_get_status(const struct vtpm_oci_state *state);

/** vtpm_oci_state_get_pid - the container's init pid; 0 if absent. */
pid_t vtpm_oci_state_get_pid(const struct vtpm_oci_state *state);

/** vtpm_oci_state_get_bundle - the bundle directory; NULL if absent. */
const char *vtpm_oci_state_get_bundle(const struct vtpm_oci_state *state);

/** vtpm_oci_state_get_annotation - the value of annotation @key, or NULL. */
const char *vtpm_oci_state_get_annotation(const struct vtpm_oci_state *state,
					  const char *key);

/**
 * vtpm_oci_bundle_get_rootfs - the container's root directory from the
 * bundle's config.json ("root.path", resolved against @bundle when
 * relative)
 * @rootfs: on success, a malloc()ed path for the caller to free
 *
 * Returns: 0; -EBADMSG if config.json is not JSON or lacks root.path;
 * a negative errno from reading it; -ENOMEM.
 */
int vtpm_oci_bundle_get_rootfs(struct vtpm_ctx *ctx, const char *bundle, char **rootfs);

#ifdef __cplusplus
}
#endif

#endif

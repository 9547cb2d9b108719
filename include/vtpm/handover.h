/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Handing a vTPM to a container, and taking it back.
 *
 * A struct vtpm_handover is one device pair given to one container: its
 * nodes created in the container's file system (by root directory, or in
 * the mount namespace of one of its processes) and allowed in its device
 * cgroup (v1 or v2).  vtpm_handover_new() does all of it or nothing;
 * vtpm_handover_revoke() undoes all of it, as often as it is called.  The
 * parts are the calls of <vtpm/container.h>; this object chains them in
 * the right order and remembers what to undo.
 *
 * A server that answers a container's TPM should run without privileges,
 * but taking the device back needs them.  vtpm_handover_guard() splits the
 * process: a child serves (confine it, see <vtpm/sandbox.h>), while the
 * parent, the warden, keeps the privileges, reads nothing the container
 * wrote, forwards SIGTERM, SIGINT and SIGHUP to the child and, once the
 * child is gone however it went (a SIGKILL or a seccomp kill included),
 * revokes the hand-over.
 *
 * Privileges: everything here needs root (CAP_MKNOD, CAP_SYS_ADMIN and
 * CAP_SYS_CHROOT for a target by pid, CAP_BPF or CAP_SYS_ADMIN for
 * cgroup v2).
 *
 * Threads and fork: a handover is used from one thread at a time, like
 * every libvtpm object.  vtpm_handover_new() and vtpm_handover_revoke()
 * fork a short-lived child for a target by pid (setns(2) needs a
 * single-threaded process); that child makes system calls only, so this is
 * safe in a threaded caller.  vtpm_handover_guard() refuses a process with
 * more than one thread (-EBUSY): the warden must receive the signals it
 * forwards, and fork() copies only the calling thread into the child that
 * serves.  The library installs no signal handler: the warden waits with
 * sigwaitinfo(2).
 */
#ifndef VTPM_HANDOVER_H
#define VTPM_HANDOVER_H

#include <stddef.h>
#include <sys/types.h>

#include <vtpm/ctx.h>
#include <vtpm/device.h>
#include <vtpm/rules.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtpm_handover;

/** VTPM_HANDOVER_TPM_PATH - where the tpm node appears unless told otherwise. */
#define VTPM_HANDOVER_TPM_PATH "/dev/tpm0"
/** VTPM_HANDOVER_TPMRM_PATH - where the tpmrm node appears unless told otherwise. */
#define VTPM_HANDOVER_TPMRM_PATH "/dev/tpmrm0"
/** VTPM_HANDOVER_MODE - the nodes' mode when @mode is 0. */
#define VTPM_HANDOVER_MODE 0660

/**
 * struct vtpm_handover_options - whom to give the device pair, and how
 * @size: sizeof(struct vtpm_handover_options), so the struct can grow
 * @rootfs: the container's root directory as the caller sees it; or NULL
 *	to target by @pid.  Exactly one of @rootfs and @pid is set.
 * @pid: a process of the container (its init): the nodes go into its
 *	mount namespace, and the cgroup access into its device cgroup unless
 *	@cgroup names one; 0 to target by @rootfs
 * @pid_rootfs: with @pid, the container's root inside that process's
 *	mount namespace while the runtime has not pivoted into it yet (an OCI
 *	createRuntime hook: the bundle's root.path, see
 *	vtpm_oci_bundle_get_rootfs()); NULL: the process's own root
 * @cgroup: a cgroup v2 directory, or a directory of a cgroup v1 hierarchy
 *	with the devices controller, to allow the nodes in; NULL: the device
 *	cgroup of @pid, or none for a target by @rootfs
 * @tpm_path: the tpm node's path in the container (absolute, no ".."
 *	component); NULL: VTPM_HANDOVER_TPM_PATH
 * @tpmrm_path: the same for the tpmrm node (TPM 2); NULL:
 *	VTPM_HANDOVER_TPMRM_PATH
 * @uid, @gid: owner of the nodes (host ids; for a user-namespaced
 *	container, the mapped host ids); 0 and 0 for root
 * @mode: permission bits of the nodes (at most 07777); 0 for
 *	VTPM_HANDOVER_MODE
 * @flags: 0, or VTPM_NODES_REPLACE (see vtpm_nodes_create_rootfs())
 */
struct vtpm_handover_options {
	size_t size;
	const char *rootfs;
	pid_t pid;
	const char *pid_rootfs;
	const char *cgroup;
	const char *tpm_path;
	const char *tpmrm_path;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	unsigned int flags;
};

/**
 * vtpm_handover_new - give the nodes of a device pair to a container
 * @dev: a registered device (see vtpm_relay_wait_registered()); the
 *	hand-over logs through its context
 * @opts: the target and the nodes' paths, owner and mode
 * @handover: on success, the hand-over with a reference count of one
 *
 * Creates the nodes in the container (vtpm_nodes_create_rootfs() or
 * vtpm_nodes_create_pid()), then allows them in the cgroup
 * (vtpm_cgroup_allow()).  A target by pid is pinned (pidfd_open(2), Linux
 * 5.3): vtpm_handover_revoke() never enters the mount namespace of another
 * process that reused the pid.  On failure, whatever was done is undone.
 *
 * Returns: 0; -EINVAL for bad @opts (no or two targets, @pid_rootfs
 * without @pid, a relative path, a bad @mode or @flags, a @size too small);
 * -EAGAIN if the tpmrm node is not registered yet; -ESRCH if @pid does not
 * exist; -ENOMEDIUM if its device cgroup is not mounted here; -ENOTDIR,
 * -ENOENT or -EMEDIUMTYPE for a bad @cgroup; -ELOOP if a symlink is on the
 * way to a node in the container; -EEXIST if another file is at a node's
 * path (see VTPM_NODES_REPLACE); -EOPNOTSUPP if the cgroup's device program
 * cannot be copied; -EPERM without the privileges; -ECHILD if the helper
 * child died; -ENOMEM; or another errno of the system calls named in
 * vtpm_nodes_create_rootfs(3) and vtpm_cgroup_allow(3).
 *
 * Since LIBVTPM_3.
 */
int vtpm_handover_new(struct vtpm_device *dev, const struct vtpm_handover_options *opts,
		      struct vtpm_handover **handover);

/**
 * vtpm_handover_new_from_rules - vtpm_handover_new() for the nodes of @rules
 * @rules: nodes of a device pair, for example from the device of another
 *	process (vtpm_rules_new_from_path()); not changed, not kept; the
 *	hand-over logs through their context
 *
 * The pair's nodes (see vtpm_rules_find_node()) get the paths of @opts;
 * a node added with vtpm_rules_add_node() keeps its container path.  The
 * owner and mode come from @opts, not from @rules.
 *
 * Returns: as vtpm_handover_new(); -ENODATA for rules without nodes.
 *
 * Since LIBVTPM_3.
 */
int vtpm_handover_new_from_rules(const struct vtpm_rules *rules,
				 const struct vtpm_handover_options *opts,
				 struct vtpm_handover **handover);

/**
 * vtpm_handover_revoke - take the device pair back from the container
 *
 * Revokes the cgroup access (vtpm_cgroup_revoke()), then removes the nodes
 * (only character devices with the pair's numbers).  A container that is
 * gone took both along: a removed cgroup or an exited target process
 * counts as done.  Each part that worked is not tried again: calling it a
 * second time returns 0, or retries only what failed.
 *
 * Returns: 0; -EPERM without the privileges; -ECHILD if the helper child
 * died; or the first other errno of vtpm_cgroup_revoke() and
 * vtpm_nodes_remove_rootfs(); every part is tried.
 *
 * Since LIBVTPM_3.
 */
int vtpm_handover_revoke(struct vtpm_handover *handover);

/** vtpm_handover_ref - take a reference; returns @handover. */
struct vtpm_handover *vtpm_handover_ref(struct vtpm_handover *handover);

/**
 * vtpm_handover_unref - drop a reference, freeing with the last one.
 * Like vtpm_cgroup_unref(), this does not take anything back: for a
 * runtime that removes the container (nodes and cgroup) itself, just
 * unref.  Returns NULL.
 */
struct vtpm_handover *vtpm_handover_unref(struct vtpm_handover *handover);

/**
 * vtpm_handover_get_cgroup_path - the cgroup directory the nodes were
 * allowed in; NULL if none.  Owned by @handover.
 */
const char *vtpm_handover_get_cgroup_path(const struct vtpm_handover *handover);

/**
 * struct vtpm_guard_options - what the warden lets go of
 * @size: sizeof(struct vtpm_guard_options)
 * @close_fds: descriptors the warden closes right after the fork, so it
 *	keeps no channel to the device or the TPM (the vTPM's server side,
 *	vtpm_device_get_fd(), above all: the kernel removes the device when
 *	the child, its last holder, exits); may be NULL
 * @n_close_fds: how many
 */
struct vtpm_guard_options {
	size_t size;
	const int *close_fds;
	size_t n_close_fds;
};

/**
 * vtpm_handover_guard - serve in a child; take the device back from here
 * @handover: what the warden revokes when the child is gone
 * @opts: NULL, or what the warden closes
 * @child_status: in the warden, the child's wait status (see waitpid(2))
 *
 * Forks.  The child returns 0 and goes on as the caller would: it should
 * confine itself (vtpm_sandbox_confine()) and serve.  It gets the caller's
 * signal mask and SIGCHLD action back, and SIGTERM if the warden dies
 * (PR_SET_PDEATHSIG).  Its copy of @handover lets go of its descriptors
 * and is revoked by the warden only: vtpm_handover_revoke() returns 0
 * there and does nothing; unref it as usual.
 *
 * The parent, the warden, waits: it blocks SIGTERM, SIGINT, SIGHUP and
 * SIGCHLD and takes them with sigwaitinfo(2), sends the first three on to
 * the child, and when the child has exited or was killed, reaps it,
 * revokes @handover and returns the child's pid, with the caller's signal
 * mask and SIGCHLD action restored.  vtpm_handover_revoke() tells whether
 * revoking worked (it returns 0 once all is done).  The warden should then clean up
 * what is its own (a pid file it holds, a temporary directory) and
 * _exit(2): the TPM's objects belong to the child, which has saved and
 * released them; freeing them here could write stale state.  stdio
 * streams are flushed before the fork.
 *
 * Returns: 0 in the child; in the warden once the child is gone, its pid
 * (> 0, no longer a process); or, in the caller when there is no child:
 * -EBUSY if the process has more than one thread; -EINVAL for a NULL @handover or @child_status, @opts with a
 * @size too small, or a @handover that is a guarded child's copy; -EAGAIN
 * or -ENOMEM from fork(2); or a negative errno from reading
 * /proc/self/task.
 *
 * Since LIBVTPM_3.
 */
int vtpm_handover_guard(struct vtpm_handover *handover, const struct vtpm_guard_options *opts,
			int *child_status);

#ifdef __cplusplus
}
#endif

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A vTPM device pair: the client character device the kernel creates
 * (/dev/tpmN, and /dev/tpmrmN for TPM 2) and the anonymous server-side file
 * descriptor through which the kernel hands over commands.
 *
 * Thread safety: as for every libvtpm object (see ctx.h).
 */
#ifndef VTPM_DEVICE_H
#define VTPM_DEVICE_H

#include <sys/types.h>

#include <vtpm/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * enum vtpm_version - the TPM family a device speaks
 */
enum vtpm_version {
	VTPM_VERSION_1_2 = 1,
	VTPM_VERSION_2 = 2,
};

/**
 * enum vtpm_node - the client device nodes of a pair
 * @VTPM_NODE_TPM:   /dev/tpmN, direct access (one opener at a time)
 * @VTPM_NODE_TPMRM: /dev/tpmrmN, the kernel's resource manager (TPM 2 only)
 */
enum vtpm_node {
	VTPM_NODE_TPM = 0,
	VTPM_NODE_TPMRM = 1,
};

struct vtpm_device;

/**
 * vtpm_device_new - create a device pair through the proxy control device
 * @version: VTPM_VERSION_1_2 or VTPM_VERSION_2
 * @dev: on success, the new device with a reference count of one
 *
 * Needs CAP_SYS_ADMIN.  The kernel registers the chip asynchronously and
 * only while someone answers the server fd: serve it with a relay and use
 * vtpm_relay_wait_registered() (or, in the caller's own event loop,
 * vtpm_device_monitor_new()) before handing the nodes to clients.  The
 * server fd is close-on-exec.
 *
 * Returns: 0;
 * -EINVAL for an unknown @version;
 * -ENOENT when the control device does not exist (tpm_vtpm_proxy not loaded);
 * -EPERM or -EACCES without the privilege to use it;
 * -EOPNOTSUPP when the kernel rejects the requested TPM version;
 * -ENOMEM; or a negative errno from open(2) or ioctl(2).
 */
int vtpm_device_new(struct vtpm_ctx *ctx, enum vtpm_version version,
		    struct vtpm_device **dev);

/** vtpm_device_ref - take a reference; returns @dev. */
struct vtpm_device *vtpm_device_ref(struct vtpm_device *dev);

/**
 * vtpm_device_unref - drop a reference; the last one closes the server fd,
 * upon which the kernel removes the client nodes.  Returns NULL.
 */
struct vtpm_device *vtpm_device_unref(struct vtpm_device *dev);

/** vtpm_device_get_version - the TPM family given at creation. */
enum vtpm_version vtpm_device_get_version(const struct vtpm_device *dev);

/** vtpm_device_get_number - N in /dev/tpmN. */
unsigned int vtpm_device_get_number(const struct vtpm_device *dev);

/**
 * vtpm_device_get_fd - the server-side fd; owned by @dev, do not close it.
 * Note that read(2) on it blocks even with O_NONBLOCK: poll first.
 */
int vtpm_device_get_fd(const struct vtpm_device *dev);

/**
 * vtpm_device_get_devnum - device number of a client node
 * @devnum: on success, the node's dev_t
 *
 * The tpm node's number comes from the kernel at creation.  The tpmrm node's
 * is read from sysfs (<sysfs>/class/tpmrm/tpmrmN/dev) and exists only once
 * the chip is registered.
 *
 * Returns: 0; -ENODEV for VTPM_NODE_TPMRM on a TPM 1.2 device;
 * -EAGAIN while the tpmrm node is not registered yet; -EINVAL for an unknown
 * @node; -EIO if sysfs holds something unparsable.
 */
int vtpm_device_get_devnum(struct vtpm_device *dev, enum vtpm_node node, dev_t *devnum);

/**
 * vtpm_device_get_path - where a client node lives: "<dev root>/tpmN" or
 * "<dev root>/tpmrmN".  Owned by @dev.  NULL for VTPM_NODE_TPMRM on TPM 1.2
 * or an unknown @node.
 */
const char *vtpm_device_get_path(const struct vtpm_device *dev, enum vtpm_node node);

/**
 * vtpm_device_is_registered - whether the kernel finished registering the
 * chip: its sysfs entries exist (for TPM 2 the tpmrm one too).
 *
 * Returns: 1 if registered, 0 if not yet, or a negative errno from stat(2).
 */
int vtpm_device_is_registered(const struct vtpm_device *dev);

struct vtpm_device_monitor;

/**
 * vtpm_device_monitor_new - registration as an event: an fd for the
 * caller's poll loop instead of calling vtpm_device_is_registered() on a
 * timer
 * @dev: referenced by the monitor
 * @monitor: on success, the new monitor with a reference count of one
 *
 * The monitor hears the kernel's uevents (a NETLINK_KOBJECT_UEVENT socket,
 * no privilege needed) and checks sysfs when one arrives.  Linux sends
 * them only to network namespaces of the initial user namespace; for
 * others, and when the socket cannot be had, a timer (1 s beside the socket, 100 ms
 * without it) stands in.  Someone must keep answering the device's
 * commands meanwhile: registration waits for them (vtpm_relay_dispatch()
 * in the same loop).
 *
 * Returns: 0; -ENOMEM; -EMFILE / -ENFILE; or a negative errno from
 * epoll_create1(2), timerfd_create(2) or epoll_ctl(2).
 */
int vtpm_device_monitor_new(struct vtpm_device *dev, struct vtpm_device_monitor **monitor);

/** vtpm_device_monitor_ref - take a reference; returns @monitor. */
struct vtpm_device_monitor *vtpm_device_monitor_ref(struct vtpm_device_monitor *monitor);

/** vtpm_device_monitor_unref - drop a reference; returns NULL. */
struct vtpm_device_monitor *vtpm_device_monitor_unref(struct vtpm_device_monitor *monitor);

/**
 * vtpm_device_monitor_get_fd - the fd to watch for POLLIN; owned by
 * @monitor.  It is readable at once after vtpm_device_monitor_new() (to
 * report a chip registered before), then whenever registration may have
 * progressed: call vtpm_device_monitor_dispatch() each time.
 */
int vtpm_device_monitor_get_fd(const struct vtpm_device_monitor *monitor);

/**
 * vtpm_device_monitor_dispatch - consume what made the fd readable and say
 * whether the chip is registered now; never blocks.  Once it returned 1
 * the fd stays quiet: stop watching it.
 *
 * Returns: 1 when registered (from then on always); 0 when not yet;
 * -EPIPE when the kernel gave up on the chip (registration failed and it
 * tore the device down); or a negative errno from stat(2) of sysfs.
 */
int vtpm_device_monitor_dispatch(struct vtpm_device_monitor *monitor);

#ifdef __cplusplus
}
#endif

#endif

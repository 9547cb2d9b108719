/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The relay: reads commands from a device's server fd, validates them,
 * answers the proxy driver's own commands (set-locality) itself, passes the
 * rest to a backend and writes the responses back.
 *
 * Only well-formed commands reach the backend: the header's length must
 * equal the bytes received and lie between 10 and VTPM_BUFFER_SIZE, and the
 * tag must be a command tag of the device's TPM family.  Anything else is
 * answered with a TPM error response by the relay, which stays up.
 *
 * Thread safety: as for every libvtpm object (see ctx.h); vtpm_relay_stop()
 * alone may be called from any thread or a signal handler.
 */
#ifndef VTPM_RELAY_H
#define VTPM_RELAY_H

#include <stdint.h>

#include <vtpm/backend.h>
#include <vtpm/ctx.h>
#include <vtpm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtpm_relay;

/**
 * vtpm_relay_new_from_device - bind a device to a backend
 * @dev: referenced by the relay, which logs through @dev's context
 * @backend: referenced by the relay; started here if it is not running
 * @relay: on success, the new relay with a reference count of one
 *
 * Returns: 0; -EINVAL for a NULL argument, or if the device and backend
 * speak different TPM families; the backend's error from
 * vtpm_backend_start(); -ENOMEM; -EMFILE or -ENFILE when no fd is left
 * for the relay's stop eventfd.
 *
 * Since LIBVTPM_3.
 */
int vtpm_relay_new_from_device(struct vtpm_device *dev, struct vtpm_backend *backend,
			       struct vtpm_relay **relay);

/**
 * vtpm_relay_new_from_fd - like vtpm_relay_new_from_device() for any fd
 * speaking the proxy protocol: one whole command per read(2), one whole
 * response per write(2) (for example a SOCK_SEQPACKET socket)
 * @backend: referenced by the relay, which logs through @backend's context
 * @fd: borrowed, as by every libvtpm call taking an fd (see libvtpm(3)):
 *	the relay keeps a duplicate (F_DUPFD_CLOEXEC) that it closes when
 *	freed, so the caller may close @fd right after the call, whatever it
 *	returned.  vtpm_relay_get_fd() gives the duplicate.
 *
 * Returns: as vtpm_relay_new_from_device(); -EBADF for a negative or
 * closed @fd; -EMFILE when no fd is left for the duplicate.
 *
 * Since LIBVTPM_3.
 */
int vtpm_relay_new_from_fd(struct vtpm_backend *backend, int fd, struct vtpm_relay **relay);

/**
 * vtpm_relay_new - vtpm_relay_new_from_device(), logging through @ctx
 *
 * Deprecated: use vtpm_relay_new_from_device(), which takes the context
 * from @dev.  Returns as vtpm_relay_new_from_device().
 */
int vtpm_relay_new(struct vtpm_ctx *ctx, struct vtpm_device *dev,
		   struct vtpm_backend *backend, struct vtpm_relay **relay);

/**
 * vtpm_relay_new_fd - like vtpm_relay_new_from_fd(), but @fd itself is
 * used: it stays owned by the caller and must outlive the relay
 *
 * Deprecated: use vtpm_relay_new_from_fd(), which follows the library's
 * one rule for fds (borrowed; the object keeps a duplicate).
 *
 * Returns: as vtpm_relay_new_from_device(), and -EBADF for a negative @fd.
 */
int vtpm_relay_new_fd(struct vtpm_ctx *ctx, int fd, struct vtpm_backend *backend,
		      struct vtpm_relay **relay);

struct vtpm_ctrl;

/**
 * vtpm_relay_new_from_ctrl - serve a virtual machine: a TPM with no device,
 * driven the way QEMU's tpm-emulator backend (and Cloud Hypervisor) drive
 * "swtpm socket" over its control channel
 * @ctrl: the control endpoint (see ctrl.h), whose backend the relay serves
 *	and whose context it logs through.  The backend is NOT started here:
 *	the client powers it on with CMD_INIT (a guest's firmware sends
 *	TPM2_Startup itself).  @ctrl is attached to the relay as by
 *	vtpm_relay_attach_ctrl().  It offers CMD_SET_DATAFD: the client
 *	passes one end of a stream socket with SCM_RIGHTS, and the relay
 *	serves TPM commands on it, framed by the size in their header.
 *
 * Until a data channel arrives the relay serves only the control endpoint;
 * when the data channel's peer goes away the relay closes it and waits for
 * the next CMD_SET_DATAFD, as swtpm does.  vtpm_relay_run() returns 0 after
 * CMD_SHUTDOWN or vtpm_relay_stop().  Commands on the data channel follow
 * the rules above; a header size outside 10..buffer size (VTPM_BUFFER_SIZE
 * or less after CMD_SET_BUFFERSIZE) gets the same error response as on a
 * proxy fd, and the bytes the peer had sent with it are dropped, since the
 * start of the next command is lost.  At most one command is buffered.
 * Commands while the TPM is powered off get a TPM failure response.
 *
 * Returns: 0; -EINVAL for a NULL argument; -EBUSY if @ctrl is attached
 * elsewhere; -ENOMEM; -EMFILE or -ENFILE when no fd is left for the
 * relay's stop eventfd.
 *
 * Since LIBVTPM_3.
 */
int vtpm_relay_new_from_ctrl(struct vtpm_ctrl *ctrl, struct vtpm_relay **relay);

/**
 * vtpm_relay_new_ctrl - vtpm_relay_new_from_ctrl() for @ctrl serving
 * @backend, logging through @ctx
 *
 * Deprecated: use vtpm_relay_new_from_ctrl(); @backend and @ctx are those
 * @ctrl already carries.
 *
 * Returns: as vtpm_relay_new_from_ctrl(), and -EINVAL for a @ctrl serving
 * another backend than @backend.
 */
int vtpm_relay_new_ctrl(struct vtpm_ctx *ctx, struct vtpm_backend *backend,
			struct vtpm_ctrl *ctrl, struct vtpm_relay **relay);

/** vtpm_relay_ref - take a reference; returns @relay. */
struct vtpm_relay *vtpm_relay_ref(struct vtpm_relay *relay);

/** vtpm_relay_unref - drop a reference; the backend keeps running.  Returns NULL. */
struct vtpm_relay *vtpm_relay_unref(struct vtpm_relay *relay);

/**
 * vtpm_relay_get_fd - the fd to watch for POLLIN in the caller's own event
 * loop; call vtpm_relay_dispatch() when it is readable.  POLLHUP means the
 * device is gone.  For vtpm_relay_new_from_ctrl(): the data channel, or -1
 * while there is none (it changes when the control endpoint is served).
 */
int vtpm_relay_get_fd(const struct vtpm_relay *relay);

/**
 * vtpm_relay_dispatch - serve one pending command, if any, without blocking
 *
 * Returns: 1 if a command was answered; 0 if none was pending; -EPIPE when
 * the peer is gone (the kernel removed the device, or the socket closed);
 * -EIO if the response could not be delivered; or a negative errno from
 * poll(2), read(2) or write(2) of the fd.
 * Malformed commands are answered and count as served (1).
 */
int vtpm_relay_dispatch(struct vtpm_relay *relay);

/**
 * vtpm_relay_run - serve commands until vtpm_relay_stop() or the peer goes
 *
 * After a second without a command it calls malloc_trim(3) once, so that
 * an idle TPM does not keep its peak scratch memory; a busy one never does.
 *
 * Returns: 0 after vtpm_relay_stop(); -EPIPE when the peer went away; or a
 * negative errno from poll(2) or vtpm_relay_dispatch().  EINTR is retried.
 */
int vtpm_relay_run(struct vtpm_relay *relay);

/**
 * vtpm_relay_stop - make vtpm_relay_run() return 0 soon
 *
 * Async-signal-safe and callable from any thread: a signal handler may call
 * it.  A stop requested before vtpm_relay_run() starts is kept.
 */
void vtpm_relay_stop(struct vtpm_relay *relay);

/**
 * vtpm_relay_wait_registered - serve commands until the kernel has
 * registered the device's chip (its nodes exist), or until @timeout_ms
 * passes (negative: no limit)
 *
 * Returns: 0 when registered; -ETIMEDOUT; -ENODEV for a relay made with
 * vtpm_relay_new_from_fd(); -EPIPE if the kernel gave up on the chip (it tears
 * the device down when registration fails); -ECANCELED after
 * vtpm_relay_stop(); or an error as from vtpm_relay_dispatch().
 */
int vtpm_relay_wait_registered(struct vtpm_relay *relay, int timeout_ms);

/**
 * vtpm_relay_attach_ctrl - serve a control endpoint from vtpm_relay_run()
 * and vtpm_relay_wait_registered() too, in the same loop
 * @ctrl: referenced by the relay; NULL detaches the current one.  Its
 *	SET_LOCALITY then sets the relay's locality, and its CMD_SHUTDOWN
 *	makes vtpm_relay_run() return 0.
 *
 * Returns: 0; -EINVAL if @ctrl serves a different backend; -EBUSY if
 * another endpoint is attached.
 */
int vtpm_relay_attach_ctrl(struct vtpm_relay *relay, struct vtpm_ctrl *ctrl);

/**
 * vtpm_relay_get_locality - the locality of the backend's next command, as
 * the proxy driver or a control client last set it (0 at start).
 */
uint8_t vtpm_relay_get_locality(const struct vtpm_relay *relay);

/**
 * struct vtpm_relay_stats - counters since the relay was made
 * @commands: commands answered, malformed ones included
 * @malformed: commands rejected by the relay's own checks
 * @backend_errors: commands the backend could not answer
 */
struct vtpm_relay_stats {
	uint64_t commands;
	uint64_t malformed;
	uint64_t backend_errors;
};

/** vtpm_relay_get_stats - copy the counters into @stats. */
void vtpm_relay_get_stats(const struct vtpm_relay *relay, struct vtpm_relay_stats *stats);

#ifdef __cplusplus
}
#endif

#endif

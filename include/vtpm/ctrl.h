/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control channel: swtpm's control protocol (the socket form of its
 * CMD_* commands, as swtpm_ioctl, QEMU and libvirt speak it) served for a
 * backend, and a client for it.
 *
 * A control endpoint (struct vtpm_ctrl) listens on a Unix socket (or, only
 * when the address says "unauthenticated-tcp:", on TCP, loopback only unless
 * asked otherwise) and serves one client at a time;
 * further clients wait in the listen backlog until the current one
 * disconnects, or has been idle between requests for the message timeout
 * (then the waiting client takes over).  It never blocks: every socket is non-blocking, a request
 * must arrive completely and a response be taken within the message timeout
 * (default VTPM_CTRL_TIMEOUT_MS) or the client is dropped.  Attach it to a
 * relay with vtpm_relay_attach_ctrl() to serve it from vtpm_relay_run(), or
 * poll vtpm_ctrl_get_fd() in your own loop.
 *
 * Commands and their mapping onto the backend:
 *   GET_CAPABILITY        the supported set (no hashing; SET_DATAFD only when
 *                         attached to a relay from vtpm_relay_new_from_ctrl())
 *   SET_DATAFD            take the data channel, a stream socket passed with
 *                         SCM_RIGHTS, for such a relay; one at a time
 *   INIT                  power on, or power-cycle a running TPM
 *   STOP                  power off (vtpm_backend_shutdown())
 *   SHUTDOWN              power off, and end vtpm_relay_run() (swtpm exits)
 *   SET_LOCALITY          the locality of later data-channel commands
 *   GET_TPMESTABLISHED, RESET_TPMESTABLISHED, STORE_VOLATILE, GET_INFO
 *                         through the backend's optional operations
 *   CANCEL_TPM_CMD        success: commands run synchronously, so none is
 *                         ever in flight when the request is read
 *   GET_STATEBLOB         also while stopped, if the backend can; encrypted
 *                         with the backend's state key (PTM_STATE_FLAG_ENCRYPTED
 *                         in the answer) unless PTM_STATE_FLAG_DECRYPTED is
 *                         asked for, as swtpm does
 *   SET_STATEBLOB         only while stopped; an empty blob is accepted and
 *                         changes nothing (swtpm_ioctl --save of an absent
 *                         blob writes an empty file); an encrypted blob needs
 *                         the backend's state key, a plain one is taken too
 *   GET_CONFIG            PTM_CONFIG_FLAG_FILE_KEY when the backend has a
 *                         state key; never a migration key
 *   SET_BUFFERSIZE        0 asks; otherwise (TPM stopped) sets the largest
 *                         command, clamped to minsize..VTPM_BUFFER_SIZE
 *                         (minsize: 2808 for TPM 2, 3072 for TPM 1.2, as
 *                         swtpm reports them)
 * SET_LOCALITY and RESET_TPMESTABLISHED take the locality in one byte, or
 * in the 4 bytes of the whole struct as QEMU sends them.
 * Anything else, and the hash commands, get TPM_BAD_ORDINAL; a malformed or
 * incomplete request gets TPM_BAD_PARAMETER.
 *
 * Thread safety: as for every libvtpm object (see ctx.h).
 */
#ifndef VTPM_CTRL_H
#define VTPM_CTRL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vtpm/backend.h>
#include <vtpm/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/** VTPM_CTRL_TIMEOUT_MS - default time for one request to arrive or one response to be read. */
#define VTPM_CTRL_TIMEOUT_MS 2000

/**
 * VTPM_UNAUTHENTICATED_TCP - the scheme of a TCP address,
 * "unauthenticated-tcp:HOST:PORT", for endpoints, clients and the swtpm
 * backend alike.  The protocol has no authentication: whoever reaches the
 * port can read the TPM's state (its seeds included), replace it or stop
 * the TPM, and whoever listens on the port a client names gets what the
 * client sends (a state import gives away the seeds).  On one host any
 * local user can do both, so TCP is taken only under this name; a plain
 * "tcp:HOST:PORT" is refused with -EPERM.  Unix sockets are the default:
 * the file system controls who connects, and a client checks who listens.
 */
#define VTPM_UNAUTHENTICATED_TCP "unauthenticated-tcp:"

/**
 * Flags of struct vtpm_ctrl_options.
 * @VTPM_CTRL_ALLOW_REMOTE: accept a TCP address that is not on the loopback
 *	interface.  The protocol has no authentication: anyone who reaches
 *	the port can read and replace the TPM's secrets.
 */
#define VTPM_CTRL_ALLOW_REMOTE (1u << 0)

/**
 * struct vtpm_ctrl_options - how to create the endpoint
 * @size: sizeof(struct vtpm_ctrl_options) as the caller compiled it
 * @mode: permissions of a Unix socket; 0 means 0600.  Must not grant
 *	write access to others (S_IWOTH).
 * @uid, @gid: owner of a Unix socket; (uid_t)-1 / (gid_t)-1 leave it
 * @flags: 0 or VTPM_CTRL_ALLOW_REMOTE
 */
struct vtpm_ctrl_options {
	size_t size;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	unsigned int flags;
};

struct vtpm_ctrl;

/**
 * vtpm_ctrl_new_from_address - listen for control clients
 * @backend: referenced by the endpoint, which logs through @backend's
 *	context
 * @address: "unix:PATH", an absolute PATH, or "unauthenticated-tcp:HOST:PORT"
 *	(HOST an IP literal or "localhost"; see VTPM_UNAUTHENTICATED_TCP)
 * @opts: NULL for the defaults
 * @ctrl: on success, the new endpoint with a reference count of one
 *
 * A stale Unix socket at PATH (one nobody listens on) is replaced; the
 * socket is removed again when the endpoint is freed.  The socket is owned
 * by the calling identity (or @opts' uid/gid) and never exists at PATH with
 * another mode or owner: it is bound in a private directory (mode 0700,
 * named ".vtpm-sock-*", beside PATH), set up there, and renamed into place;
 * the directory PATH is in must therefore be writable.  No path is ever
 * followed as a symlink to change a mode or owner.
 *
 * Returns: 0; -EINVAL for a bad @address, @opts or mode; -EPERM for
 * "tcp:HOST:PORT" (see VTPM_UNAUTHENTICATED_TCP), or a non-loopback TCP
 * address without VTPM_CTRL_ALLOW_REMOTE; -EEXIST if PATH exists and is not
 * a socket; -EADDRINUSE if someone listens there already, or a file
 * appeared there meanwhile; -ENAMETOOLONG; -ENOMEM; or a negative errno from
 * mkdtemp(3), socket(2), bind(2), listen(2), chmod(2), chown(2) or rename(2).
 */
int vtpm_ctrl_new_from_address(struct vtpm_backend *backend, const char *address,
			       const struct vtpm_ctrl_options *opts, struct vtpm_ctrl **ctrl);

/**
 * vtpm_ctrl_new_from_fd - serve one already connected stream socket (e.g.
 * one end of a socketpair), and nothing after its peer closes
 * @backend: referenced by the endpoint, which logs through @backend's
 *	context
 * @fd: borrowed, as by every libvtpm call taking an fd (see libvtpm(3)):
 *	the endpoint keeps a duplicate (F_DUPFD_CLOEXEC), closed when it is
 *	freed, so the caller may close @fd right after the call, whatever it
 *	returned.  The duplicate shares @fd's file status flags: the
 *	endpoint sets O_NONBLOCK on them.
 *
 * Returns: 0; -EINVAL for a NULL @backend or @ctrl; -EBADF for a negative
 * or closed @fd; -EMFILE or -ENFILE when no fd is left; -ENOMEM.
 *
 * Since LIBVTPM_3.
 */
int vtpm_ctrl_new_from_fd(struct vtpm_backend *backend, int fd, struct vtpm_ctrl **ctrl);

/**
 * vtpm_ctrl_new - vtpm_ctrl_new_from_address(), logging through @ctx
 *
 * Deprecated: use vtpm_ctrl_new_from_address(), which takes the context
 * from @backend.  Returns as vtpm_ctrl_new_from_address().
 */
int vtpm_ctrl_new(struct vtpm_ctx *ctx, struct vtpm_backend *backend, const char *address,
		  const struct vtpm_ctrl_options *opts, struct vtpm_ctrl **ctrl);

/**
 * vtpm_ctrl_new_fd - like vtpm_ctrl_new_from_fd(), but @fd itself is taken
 * over by the endpoint, which closes it, on failure too
 *
 * Deprecated: use vtpm_ctrl_new_from_fd(), which follows the library's one
 * rule for fds (borrowed; the object keeps a duplicate).
 *
 * Returns: 0; -EBADF for a negative @fd; -EINVAL for a NULL @backend;
 * -EMFILE or -ENFILE when no fd is left; -ENOMEM.
 */
int vtpm_ctrl_new_fd(struct vtpm_ctx *ctx, struct vtpm_backend *backend, int fd,
		     struct vtpm_ctrl **ctrl);

/** vtpm_ctrl_ref - take a reference; returns @ctrl. */
struct vtpm_ctrl *vtpm_ctrl_ref(struct vtpm_ctrl *ctrl);

/** vtpm_ctrl_unref - drop a reference; the last one closes the sockets.  Returns NULL. */
struct vtpm_ctrl *vtpm_ctrl_unref(struct vtpm_ctrl *ctrl);

/**
 * vtpm_ctrl_get_fd - one fd to watch for POLLIN in the caller's event loop
 * (an epoll fd covering the listening and the client socket); call
 * vtpm_ctrl_dispatch() when it is readable or vtpm_ctrl_get_timeout() passed.
 */
int vtpm_ctrl_get_fd(const struct vtpm_ctrl *ctrl);

/**
 * vtpm_ctrl_get_timeout - milliseconds until vtpm_ctrl_dispatch() must run
 * to enforce a message timeout, or -1 when nothing is pending
 */
int vtpm_ctrl_get_timeout(const struct vtpm_ctrl *ctrl);

/**
 * vtpm_ctrl_set_timeout - time a request may take to arrive, and a response
 * to be read (@timeout_ms > 0).  Returns 0 or -EINVAL.
 */
int vtpm_ctrl_set_timeout(struct vtpm_ctrl *ctrl, int timeout_ms);

/**
 * vtpm_ctrl_dispatch - accept, read, answer and write what is ready, and
 * drop a client whose message timed out; never blocks
 *
 * Returns: the number of requests answered (0 or more); -EPIPE for an
 * endpoint made with vtpm_ctrl_new_from_fd() whose peer is gone; or a negative
 * errno from epoll_wait(2).  Client errors are not errors of the endpoint.
 */
int vtpm_ctrl_dispatch(struct vtpm_ctrl *ctrl);

/**
 * vtpm_ctrl_shutdown_requested - 1 once a client sent CMD_SHUTDOWN, else 0.
 * An attached relay's vtpm_relay_run() then returns 0.
 */
int vtpm_ctrl_shutdown_requested(const struct vtpm_ctrl *ctrl);

/**
 * vtpm_ctrl_get_locality - the locality of the backend's next command, as a
 * client or the proxy driver last set it (0 at start).
 */
uint8_t vtpm_ctrl_get_locality(const struct vtpm_ctrl *ctrl);

/* ------------------------------------------------------------- client */

/**
 * Flags of vtpm_ctrl_client_init().
 * @VTPM_CTRL_INIT_DELETE_VOLATILE: delete saved volatile state once read
 *	(PTM_INIT_FLAG_DELETE_VOLATILE).
 */
#define VTPM_CTRL_INIT_DELETE_VOLATILE (1u << 0)

struct vtpm_ctrl_client;

/**
 * vtpm_ctrl_client_new - a client of a control endpoint (ours or swtpm's)
 * @address: as for vtpm_ctrl_new_from_address()
 * @timeout_ms: limit for connecting and for each command; <= 0 for
 *	VTPM_CTRL_TIMEOUT_MS
 *
 * Nothing is connected here: each command opens its own connection and
 * closes it when done, because swtpm serves one control client at a time
 * and lets every other wait for as long as one stays connected.  On a Unix
 * socket the server (SO_PEERCRED) must run as the caller's effective uid or
 * as root, unless the directory holding the socket is writable by its
 * owner alone and that owner is the server's uid, root or the caller (who
 * then decided what is at that path).  Otherwise someone else may have
 * taken the name over, and the command fails with -EPERM before a byte is
 * sent.  A TCP server cannot be checked so: see VTPM_UNAUTHENTICATED_TCP.
 *
 * Returns: 0; -EINVAL for a bad @address; -EPERM for "tcp:HOST:PORT";
 * -ENAMETOOLONG; -ENOMEM.
 */
int vtpm_ctrl_client_new(struct vtpm_ctx *ctx, const char *address, int timeout_ms,
			 struct vtpm_ctrl_client **client);

/** vtpm_ctrl_client_ref - take a reference; returns @client. */
struct vtpm_ctrl_client *vtpm_ctrl_client_ref(struct vtpm_ctrl_client *client);

/** vtpm_ctrl_client_unref - drop a reference; the last closes the connection.  Returns NULL. */
struct vtpm_ctrl_client *vtpm_ctrl_client_unref(struct vtpm_ctrl_client *client);

/*
 * The commands.  Each returns 0 on success; -EIO when the server answered
 * with a non-zero result (vtpm_ctrl_client_get_result() tells which);
 * -ETIMEDOUT; -EPIPE when the connection broke; -EPROTO for a malformed
 * response (every length the server sends is bounded: a GET_INFO text by
 * 64 KiB, a state blob by 1 MiB); -ECONNREFUSED / -ENOENT when nobody
 * listens at the address; -EPERM when a Unix socket's server runs as a
 * user not allowed above; -ENOMEM; or a negative errno from socket(2),
 * connect(2), send(2) or recv(2).
 */

/** vtpm_ctrl_client_get_result - the result code of the last answered command. */
uint32_t vtpm_ctrl_client_get_result(const struct vtpm_ctrl_client *client);

/** vtpm_ctrl_client_get_capability - the PTM_CAP_* bits the server supports. */
int vtpm_ctrl_client_get_capability(struct vtpm_ctrl_client *client, uint32_t *caps);

/** vtpm_ctrl_client_init - CMD_INIT: power on or power-cycle; @flags VTPM_CTRL_INIT_*. */
int vtpm_ctrl_client_init(struct vtpm_ctrl_client *client, unsigned int flags);

/** vtpm_ctrl_client_stop - CMD_STOP: power the TPM off. */
int vtpm_ctrl_client_stop(struct vtpm_ctrl_client *client);

/** vtpm_ctrl_client_shutdown - CMD_SHUTDOWN: power off and end the server. */
int vtpm_ctrl_client_shutdown(struct vtpm_ctrl_client *client);

/** vtpm_ctrl_client_set_locality - CMD_SET_LOCALITY (0..4). */
int vtpm_ctrl_client_set_locality(struct vtpm_ctrl_client *client, uint8_t locality);

/** vtpm_ctrl_client_get_established - CMD_GET_TPMESTABLISHED; @established 0 or 1. */
int vtpm_ctrl_client_get_established(struct vtpm_ctrl_client *client, int *established);

/** vtpm_ctrl_client_reset_established - CMD_RESET_TPMESTABLISHED from @locality (3 or 4). */
int vtpm_ctrl_client_reset_established(struct vtpm_ctrl_client *client, uint8_t locality);

/** vtpm_ctrl_client_cancel - CMD_CANCEL_TPM_CMD. */
int vtpm_ctrl_client_cancel(struct vtpm_ctrl_client *client);

/** vtpm_ctrl_client_store_volatile - CMD_STORE_VOLATILE. */
int vtpm_ctrl_client_store_volatile(struct vtpm_ctrl_client *client);

/**
 * vtpm_ctrl_client_get_info - CMD_GET_INFO: the JSON text TPMLIB_GetInfo()
 * gives for @flags (SWTPM_INFO_* bits), in a malloc()ed string.
 */
int vtpm_ctrl_client_get_info(struct vtpm_ctrl_client *client, uint64_t flags, char **info);

/**
 * vtpm_ctrl_client_get_state - CMD_GET_STATEBLOB: one state blob, unwrapped
 * to the TPM's own bytes (as vtpm_backend_get_state() gives them), in a
 * malloc()ed buffer.
 *
 * Returns: as above, and -ENOENT if the blob does not exist; -ENOTSUP if the
 * server hands out encrypted state; -EBADMSG for a damaged blob.
 */
int vtpm_ctrl_client_get_state(struct vtpm_ctrl_client *client, enum vtpm_state_type type,
			       uint8_t **blob, size_t *blob_len);

/**
 * vtpm_ctrl_client_set_state - CMD_SET_STATEBLOB: replace one state blob
 * (the TPM's own bytes; they are wrapped here).  The TPM must be stopped.
 *
 * Returns: as above, and -EFBIG beyond the protocol's 512 KiB.
 */
int vtpm_ctrl_client_set_state(struct vtpm_ctrl_client *client, enum vtpm_state_type type,
			       const uint8_t *blob, size_t blob_len);

#ifdef __cplusplus
}
#endif

#endif

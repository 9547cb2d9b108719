/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Socket addresses written as text ("unix:PATH", "tcp:HOST:PORT", or a bare
 * absolute path) and blocking transfers bounded by a deadline, for the
 * control channel and the swtpm backend.
 */
#ifndef VTPM_SOCKET_UTIL_H
#define VTPM_SOCKET_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

struct vtpm_ctx;

struct vtpm_sockaddr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Parse @address: "unix:PATH", an absolute PATH, or
 * VTPM_UNAUTHENTICATED_TCP "HOST:PORT".  HOST is an IPv4 or IPv6 literal
 * ("[::1]" or "::1") or "localhost".  Returns 0; -EPERM for a well-formed
 * "tcp:HOST:PORT" (TCP only under the name that says it is
 * unauthenticated); -EINVAL for anything else; -ENAMETOOLONG for a Unix
 * path that does not fit sockaddr_un.
 */
int vtpm_sockaddr_parse(const char *address, struct vtpm_sockaddr *sa);

/* The address of the Unix socket at @path (absolute or relative); errors as above. */
int vtpm_sockaddr_unix(const char *path, struct vtpm_sockaddr *sa);

/* Log why vtpm_sockaddr_parse() refused @address with @r; @what names its use. */
void vtpm_sockaddr_explain(struct vtpm_ctx *ctx, const char *what, const char *address, int r);

/* Whether @sa is a Unix socket, or a TCP address on the loopback interface. */
bool vtpm_sockaddr_is_unix(const struct vtpm_sockaddr *sa);
bool vtpm_sockaddr_is_loopback(const struct vtpm_sockaddr *sa);

/*
 * A listening Unix stream socket (close-on-exec, non-blocking) at @sa's
 * path with @mode and, unless -1, @uid/@gid, replacing what is there.  The
 * node never exists with another mode or owner at that path: it is bound in
 * a private directory beside it, set up there and renamed into place.
 */
int vtpm_socket_listen_unix(const struct vtpm_sockaddr *sa, mode_t mode, uid_t uid, gid_t gid,
			    int backlog);

/*
 * vtpm_socket_listen_unix() where an earlier server may have left its
 * socket: a socket nobody accepts connections on is replaced.  Returns the
 * fd; -EADDRINUSE when a server listens there; -EEXIST, leaving it alone,
 * when something that is not a socket (a symlink too) has the name; or an
 * error of vtpm_socket_listen_unix().  Refusals are logged through @ctx.
 */
int vtpm_socket_listen_unix_replace(struct vtpm_ctx *ctx, const struct vtpm_sockaddr *sa,
				    mode_t mode, uid_t uid, gid_t gid, int backlog);

/* A connected, close-on-exec, blocking stream socket; waits until @deadline. */
int vtpm_socket_connect(const struct vtpm_sockaddr *sa, int64_t deadline);

/*
 * Write or read exactly @len bytes before @deadline (vtpm_now_ms() clock).
 * Returns 0; -ETIMEDOUT; -EPIPE when the peer closed (read: before @len
 * bytes; *@got tells how many came, if @got is not NULL); another -errno.
 */
int vtpm_socket_write_all(int fd, const void *buf, size_t len, int64_t deadline);
int vtpm_socket_read_all(int fd, void *buf, size_t len, int64_t deadline, size_t *got);

/*
 * vtpm_socket_write_all() with @fd passed along (SCM_RIGHTS) with the
 * first bytes; @len must not be 0.
 */
int vtpm_socket_write_all_fd(int sock, const void *buf, size_t len, int fd, int64_t deadline);

/*
 * Descriptors one vtpm_socket_recv_keep_fd() takes: a request carries one;
 * room for a few more only so that extra ones arrive and can be closed
 * rather than leave MSG_CTRUNC guessing.
 */
#define VTPM_SOCKET_RECV_FDS_MAX 4

/*
 * recv(2) without waiting (MSG_DONTWAIT) that also takes descriptors passed
 * along (SCM_RIGHTS, close-on-exec): the first one is kept in *@kept_fd if
 * that is -1, every other one closed at once.  Returns what recvmsg(2)
 * does (-1 with errno set on failure).
 */
ssize_t vtpm_socket_recv_keep_fd(int sock, void *buf, size_t len, int *kept_fd);

#endif

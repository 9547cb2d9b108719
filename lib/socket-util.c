/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Socket addresses and deadline-bounded transfers; see socket-util.h. */
#include "config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "socket-util.h"
#include "vtpm-internal.h"

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

static int parse_tcp(const char *hostport, struct vtpm_sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h = hostport;
	size_t hlen;
	uint16_t port;

	colon = strrchr(hostport, ':');
	if (!colon || parse_port(colon + 1, &port) < 0)
		return -EINVAL;
	hlen = (size_t)(colon - hostport);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (strcmp(host, "localhost") == 0)
		strcpy(host, "127.0.0.1");

	memset(sa, 0, sizeof(*sa));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa->ss;

		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			return -EINVAL;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		sa->len = sizeof(*in6);
	} else {
		struct sockaddr_in *in4 = (struct sockaddr_in *)&sa->ss;

		if (inet_pton(AF_INET, host, &in4->sin_addr) != 1)
			return -EINVAL;
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		sa->len = sizeof(*in4);
	}
	return 0;
}

#define TCP_PREFIX "tcp:"

int vtpm_sockaddr_parse(const char *address, struct vtpm_sockaddr *sa)
{
	const char *path;
	int r;

	if (!address)
		return -EINVAL;
	if (strncmp(address, VTPM_UNAUTHENTICATED_TCP, strlen(VTPM_UNAUTHENTICATED_TCP)) == 0)
		return parse_tcp(address + strlen(VTPM_UNAUTHENTICATED_TCP), sa);
	/* Well-formed, but TCP is served and reached only when the name says what it lacks. */
	if (strncmp(address, TCP_PREFIX, strlen(TCP_PREFIX)) == 0) {
		r = parse_tcp(address + strlen(TCP_PREFIX), sa);
		return r < 0 ? r : -EPERM;
	}
	if (strncmp(address, "unix:", 5) == 0)
		path = address + 5;
	else if (address[0] == '/')
		path = address;
	else
		return -EINVAL;
	return vtpm_sockaddr_unix(path, sa);
}

int vtpm_sockaddr_unix(const char *path, struct vtpm_sockaddr *sa)
{
	struct sockaddr_un *un = (struct sockaddr_un *)&sa->ss;

	if (!*path)
		return -EINVAL;
	if (strlen(path) >= sizeof(un->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	sa->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	return 0;
}

void vtpm_sockaddr_explain(struct vtpm_ctx *ctx, const char *what, const char *address, int r)
{
	if (r == -EPERM)
		err(ctx, "%s %s: TCP has no authentication, so any local user who reaches the "
			 "port could read and replace the TPM's state, or pose as the server; use "
			 "a unix socket, or write %s%s to accept that",
		    what, address, VTPM_UNAUTHENTICATED_TCP, address + strlen(TCP_PREFIX));
	else if (r == -ENAMETOOLONG)
		err(ctx, "%s %s: the path is too long for a unix socket", what, address);
	else
		err(ctx, "%s '%s' is not an address (unix:PATH, an absolute PATH, or %sHOST:PORT)",
		    what, address ? address : "", VTPM_UNAUTHENTICATED_TCP);
}

bool vtpm_sockaddr_is_unix(const struct vtpm_sockaddr *sa)
{
	return sa->ss.ss_family == AF_UNIX;
}

bool vtpm_sockaddr_is_loopback(const struct vtpm_sockaddr *sa)
{
	if (sa->ss.ss_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)&sa->ss;

		/* 127.0.0.0/8 */
		return (ntohl(in4->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&sa->ss;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

static int remaining_ms(int64_t deadline)
{
	int64_t left = deadline - vtpm_now_ms();

	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int ms = remaining_ms(deadline);
		int r;

		if (ms == 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, ms);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r > 0)
			return 0;
	}
}

/*
 * Whether the peer of the connected Unix socket @fd may be trusted with
 * what we send: ourselves or root; or anyone, when the directory that
 * holds the socket is writable by its owner alone and that owner is the
 * peer, root or ourselves (who decided what is at that path: a server
 * that dropped to its own user, say).  Otherwise somebody may have taken
 * over the name, e.g. in a directory others may write to.
 */
static int check_unix_peer(int fd, const struct vtpm_sockaddr *sa)
{
	const char *path = ((const struct sockaddr_un *)&sa->ss)->sun_path;
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	const char *slash = strrchr(path, '/');
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct stat st;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (cred.uid == geteuid() || cred.uid == 0)
		return 0;
	if (!slash)
		strcpy(dir, ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	if (stat(dir, &st) < 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	if (st.st_uid == cred.uid || st.st_uid == 0 || st.st_uid == geteuid())
		return 0;
	return -EPERM;
}

int vtpm_socket_connect(const struct vtpm_sockaddr *sa, int64_t deadline)
{
	_cleanup_close_ int fd = -1;
	socklen_t len = sizeof(int);
	int r, soerr = 0;

	fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sa->ss, sa->len) < 0) {
		if (errno != EINPROGRESS && errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
			return -errno;
		if (soerr)
			return -soerr;
	}
	if (sa->ss.ss_family == AF_UNIX) {
		r = check_unix_peer(fd, sa);
		if (r < 0)
			return r;
	}
	/* Transfers wait with poll() and their own deadline. */
	return TAKE_FD(fd);
}

/* The private directory a socket is born in, beside its final path. */
#define PRIVATE_DIR_TEMPLATE ".vtpm-sock-XXXXXX"
#define PRIVATE_SOCKET_NAME "s"

int vtpm_socket_listen_unix(const struct vtpm_sockaddr *sa, mode_t mode, uid_t uid, gid_t gid,
			    int backlog)
{
	const char *path = ((const struct sockaddr_un *)&sa->ss)->sun_path;
	const char *slash = strrchr(path, '/');
	struct sockaddr_un tmp = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1, dir_fd = -1;
	char dir[PATH_MAX];
	int r;

	snprintf(dir, sizeof(dir), "%.*s" PRIVATE_DIR_TEMPLATE, slash ? (int)(slash - path + 1) : 0,
		 path);
	/* Mode 0700: until the rename nobody else can reach, or swap, the node. */
	if (!mkdtemp(dir))
		return -errno;
	if (strlen(dir) + 1 + strlen(PRIVATE_SOCKET_NAME) < sizeof(tmp.sun_path)) {
		snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s/" PRIVATE_SOCKET_NAME, dir);
	} else {
		/* A long path: reach the directory through its descriptor. */
		dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir_fd < 0) {
			r = -errno;
			goto out_rmdir;
		}
		snprintf(tmp.sun_path, sizeof(tmp.sun_path), "/proc/self/fd/%d/" PRIVATE_SOCKET_NAME,
			 dir_fd);
	}

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		r = -errno;
		goto out_rmdir;
	}
	/* bind() gives the node the socket inode's mode less the umask. */
	if (fchmod(fd, mode) < 0 || bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0) {
		r = -errno;
		goto out_rmdir;
	}
	/* Owner, and the bits the umask took, set where nobody can swap the node. */
	if (((uid != (uid_t)-1 || gid != (gid_t)-1) && lchown(tmp.sun_path, uid, gid) < 0) ||
	    chmod(tmp.sun_path, mode) < 0 || listen(fd, backlog) < 0) {
		r = -errno;
		goto out_unlink;
	}
	/* Into place; whatever appeared at @path meanwhile is not replaced. */
	if (renameat2(AT_FDCWD, tmp.sun_path, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
		r = errno == EEXIST ? -EADDRINUSE : -errno;
		goto out_unlink;
	}
	r = TAKE_FD(fd);
	goto out_rmdir;

out_unlink:
	unlink(tmp.sun_path);
out_rmdir:
	rmdir(dir);
	return r;
}

/* Whether someone accepts connections on the Unix socket at @sa. */
static bool unix_socket_is_live(const struct vtpm_sockaddr *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	return fd >= 0 && connect(fd, (const struct sockaddr *)&sa->ss, sa->len) == 0;
}

int vtpm_socket_listen_unix_replace(struct vtpm_ctx *ctx, const struct vtpm_sockaddr *sa,
				    mode_t mode, uid_t uid, gid_t gid, int backlog)
{
	const char *path = ((const struct sockaddr_un *)&sa->ss)->sun_path;
	struct stat st;

	/* lstat: a symlink is not a socket, whatever it points to. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			err(ctx, "%s exists and is not a socket: not replacing it", path);
			return -EEXIST;
		}
		if (unix_socket_is_live(sa)) {
			err(ctx, "%s is in use by a running server", path);
			return -EADDRINUSE;
		}
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
	} else if (errno != ENOENT) {
		return -errno;
	}
	/* Two servers that both found it stale: the rename lets one of them win. */
	return vtpm_socket_listen_unix(sa, mode, uid, gid, backlog);
}

int vtpm_socket_write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r = wait_fd(fd, POLLOUT, deadline);
				if (r < 0)
					return r;
				continue;
			}
			return errno == ECONNRESET ? -EPIPE : -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int vtpm_socket_write_all_fd(int sock, const void *buf, size_t len, int fd, int64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = {};
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	if (len == 0)
		return -EINVAL;	/* a descriptor needs at least one byte to ride on */
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	for (;;) {
		int r;

		n = sendmsg(sock, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return errno == ECONNRESET ? -EPIPE : -errno;
		r = wait_fd(sock, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	/* The descriptor went with the first bytes; the rest follow plainly. */
	return vtpm_socket_write_all(sock, (const uint8_t *)buf + n, len - (size_t)n, deadline);
}

ssize_t vtpm_socket_recv_keep_fd(int sock, void *buf, size_t len, int *kept_fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VTPM_SOCKET_RECV_FDS_MAX)];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	ssize_t n;

	n = recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		size_t nfds;

		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
		    cmsg->cmsg_len < CMSG_LEN(0))
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfds; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
			if (fd < 0)
				continue;
			if (*kept_fd < 0)
				*kept_fd = fd;
			else
				close(fd);
		}
	}
	/* MSG_CTRUNC: the kernel closed what did not fit. */
	return n;
}

int vtpm_socket_read_all(int fd, void *buf, size_t len, int64_t deadline, size_t *got)
{
	uint8_t *p = buf;
	size_t done = 0;
	int r = 0;

	while (done < len) {
		ssize_t n = recv(fd, p + done, len - done, MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				r = wait_fd(fd, POLLIN, deadline);
				if (r < 0)
					break;
				continue;
			}
			r = errno == ECONNRESET ? -EPIPE : -errno;
			break;
		}
		if (n == 0) {
			r = -EPIPE;
			break;
		}
		done += (size_t)n;
	}
	if (got)
		*got = done;
	return r;
}

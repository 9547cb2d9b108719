/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TCP port on 127.0.0.1 that nobody listens on, for tests that start a
 * server on loopback.  The kernel picks it; another process could take it
 * before the test binds it, which a test machine does not do in practice.
 */
#ifndef VTPM_TESTS_LOOPBACK_PORT_H
#define VTPM_TESTS_LOOPBACK_PORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

/* Two distinct free ports (both held while picking): 0, or -1 on failure. */
static inline int loopback_ports(uint16_t *a, uint16_t *b)
{
	uint16_t *want[2] = { a, b };
	int fds[2] = { -1, -1 }, r = 0;

	for (int i = 0; i < 2; i++) {
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(sin);

		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
		    getsockname(fds[i], (struct sockaddr *)&sin, &len) < 0) {
			r = -1;
			break;
		}
		*want[i] = ntohs(sin.sin_port);
	}
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

#endif

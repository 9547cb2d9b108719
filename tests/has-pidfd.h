/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whether pidfd_open(2) works here.  The manager watches its instances
 * through pidfds and refuses to start one without; valgrind does not know
 * the call, so tests that spawn instances skip under it.
 */
#ifndef VTPM_TESTS_HAS_PIDFD_H
#define VTPM_TESTS_HAS_PIDFD_H

#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

static inline bool has_pidfd(void)
{
	int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

#endif

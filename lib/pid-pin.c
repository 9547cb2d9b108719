/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A process named by its pid, pinned against pid reuse.  Opening
 * /proc/PID/root and /proc/PID/ns/mnt one after the other races with the
 * process exiting and its pid going to another: the two could then
 * describe different processes.  A pidfd (pidfd_open(2), Linux 5.3) names
 * the process itself, not the number: we take one first, enter the mount
 * namespace through it where the kernel allows (setns(2) on a pidfd, Linux
 * 5.8), and after each /proc/PID open check that the pinned process is
 * still alive, so the number still meant it.  Without pidfd_open there is
 * nothing to pin and the old race remains.
 */
#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "vtpm-internal.h"

int vtpm_pid_pin(pid_t pid, struct vtpm_pinned_pid *p)
{
	*p = (struct vtpm_pinned_pid){ .pid = pid, .pidfd = -1 };
	if (pid <= 0)
		return -EINVAL;
	p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (p->pidfd >= 0) {
		/* pidfd_open(2) gives no O_CLOEXEC flag; it sets it itself. */
		return 0;
	}
	if (errno == ESRCH)
		return -ESRCH;
	if (errno != ENOSYS)
		return -errno;
	/* An old kernel: at least say whether the pid exists now. */
	if (kill(pid, 0) < 0 && errno == ESRCH)
		return -ESRCH;
	return 0;
}

void vtpm_pid_unpin(struct vtpm_pinned_pid *p)
{
	if (p->pidfd >= 0)
		close(p->pidfd);
	p->pidfd = -1;
}

int vtpm_pid_check(const struct vtpm_pinned_pid *p)
{
	if (p->pidfd < 0)
		return 0;
	/* Signal 0 checks only that the process exists (pidfd_send_signal(2)). */
	if (syscall(SYS_pidfd_send_signal, p->pidfd, 0, NULL, 0) < 0)
		return errno == ESRCH ? -ESRCH : -errno;
	return 0;
}

int vtpm_pid_open(const struct vtpm_pinned_pid *p, const char *what, int flags)
{
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)p->pid, what);
	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	r = vtpm_pid_check(p);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

int vtpm_pid_setns_mnt(const struct vtpm_pinned_pid *p)
{
	int fd, r = 0;

	if (p->pidfd >= 0) {
		if (setns(p->pidfd, CLONE_NEWNS) == 0)
			return 0;
		/* EINVAL: a kernel before 5.8 takes no pidfd here. */
		if (errno != EINVAL)
			return errno == ESRCH ? -ESRCH : -errno;
	}
	fd = vtpm_pid_open(p, "ns/mnt", O_RDONLY);
	if (fd < 0)
		return fd;
	if (setns(fd, CLONE_NEWNS) < 0)
		r = -errno;
	close(fd);
	return r;
}

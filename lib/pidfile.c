/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pid files that cannot point at the wrong process.  A number in a file
 * outlives its process, and the kernel hands the number to the next one:
 * checking that the process runs the same program is not enough, since
 * every server of a host runs the same program.  So the server holds a
 * POSIX write lock on its pid file for its whole life.  fcntl(F_GETLK)
 * names the live holder (the kernel drops the lock when it exits), and a
 * pidfd opened on that pid is checked against the lock once more, so a
 * signal goes to the holder or to no one; the lock's release says when
 * the holder is gone.  POSIX locks rather than
 * flock(): they are not shared with fork()ed children, and F_GETLK tells
 * who holds them.
 */
#include "config.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "vtpm-internal.h"

/* Readable by whoever wants to know the pid, as daemons' pid files are. */
#define PIDFILE_MODE 0644
/* How often a stop looks whether the owner has let go of the lock. */
#define STOP_POLL_MS 10

/* The pid of the process holding a lock on @fd's file: 0 or -ESRCH. */
static int lock_holder(int fd, pid_t *pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	if (fcntl(fd, F_GETLK, &fl) < 0)
		return -errno;
	/* l_pid is 0 for a holder outside our pid namespace: not ours to stop. */
	if (fl.l_type == F_UNLCK || fl.l_pid <= 0)
		return -ESRCH;
	*pid = fl.l_pid;
	return 0;
}

/* Open @path and find its lock's holder. */
static int open_owner(const char *path, int *file_fd, pid_t *pid)
{
	_cleanup_close_ int fd = -1;
	int r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = lock_holder(fd, pid);
	if (r < 0)
		return r;
	*file_fd = TAKE_FD(fd);
	return 0;
}

VTPM_EXPORT int vtpm_pidfile_get_owner(struct vtpm_ctx *ctx, const char *path, pid_t *pid)
{
	_cleanup_close_ int fd = -1;

	if (!path || !pid)
		return -EINVAL;
	return open_owner(path, &fd, pid);
}

VTPM_EXPORT int vtpm_pidfile_write(struct vtpm_ctx *ctx, const char *path, int *fd_out)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	char buf[32];
	pid_t owner;
	int n, r;

	if (!path || !*path || !fd_out)
		return -EINVAL;
	r = vtpm_pidfile_get_owner(ctx, path, &owner);
	if (r == 0) {
		err(ctx, "%s belongs to the running process %ld", path, (long)owner);
		return -EBUSY;
	}
	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		err(ctx, "cannot create a pid file next to %s: %s", path, strerror(-r));
		return r;
	}
	/* Locked before it has its name: no one sees it unowned. */
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	errno = 0;
	if (fcntl(fd, F_SETLK, &fl) < 0 || fchmod(fd, PIDFILE_MODE) < 0 ||
	    write(fd, buf, (size_t)n) != n || rename(tmp, path) < 0) {
		r = errno ? -errno : -EIO;
		err(ctx, "cannot write pid file %s: %s", path, strerror(-r));
		unlink(tmp);
		return r;
	}
	*fd_out = TAKE_FD(fd);
	return 0;
}

/* Remove @path if it is still the file of @fd and no one holds it. */
static void remove_stale(const char *path, int fd)
{
	struct stat a, b;
	pid_t pid;

	if (lock_holder(fd, &pid) == -ESRCH && fstat(fd, &a) == 0 && lstat(path, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlink(path);
}

/*
 * SIGTERM to the holder of @fd's lock, @pid a moment ago.  Through a pidfd
 * checked against the lock after it was opened, the signal reaches the
 * holder or no one.  Without pidfd_open() (Linux before 5.3, valgrind) a
 * last look at the lock right before kill() has to do.
 */
static int signal_holder(struct vtpm_ctx *ctx, int fd, pid_t pid, const char *path)
{
	_cleanup_close_ int pidfd = -1;
	pid_t again;
	int r;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno != ENOSYS)
		return errno == ESRCH ? 0 : -errno; /* gone already */
	r = lock_holder(fd, &again);
	if (r == -ESRCH || (r == 0 && again != pid))
		return 0; /* it exited: nothing to stop */
	if (r < 0)
		return r;
	if (pidfd >= 0)
		r = (int)syscall(SYS_pidfd_send_signal, pidfd, SIGTERM, NULL, 0);
	else
		r = kill(pid, SIGTERM);
	if (r < 0 && errno != ESRCH) {
		r = -errno;
		err(ctx, "cannot signal %ld, the owner of %s: %s", (long)pid, path, strerror(-r));
		return r;
	}
	return 0;
}

VTPM_EXPORT int vtpm_pidfile_stop(struct vtpm_ctx *ctx, const char *path, int timeout_ms)
{
	_cleanup_close_ int fd = -1;
	int64_t deadline;
	pid_t pid;
	int r;

	if (!path || timeout_ms < 0)
		return -EINVAL;
	r = open_owner(path, &fd, &pid);
	if (r == -ENOENT)
		return 0;
	if (r == -ESRCH) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			remove_stale(path, fd);
		return 0;
	}
	if (r < 0)
		return r;
	r = signal_holder(ctx, fd, pid, path);
	if (r < 0)
		return r;
	/* The kernel drops the lock as the process exits: wait for that. */
	deadline = vtpm_now_ms() + timeout_ms;
	while (lock_holder(fd, &pid) == 0) {
		struct timespec ts = { 0, STOP_POLL_MS * 1000 * 1000 };

		if (vtpm_now_ms() >= deadline) {
			err(ctx, "%ld, the owner of %s, did not stop within %d ms", (long)pid, path,
			    timeout_ms);
			return -ETIMEDOUT;
		}
		nanosleep(&ts, NULL);
	}
	remove_stale(path, fd); /* it may have died without removing it */
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Dropping privileges and filtering system calls of a serving process. */
#include "config.h"

#include <cap-ng.h>
#include <dirent.h>
#include <grp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/prctl.h>

#include "vtpm-internal.h"

/*
 * The number of threads of this process, from /proc/self/task; negative
 * errno if that cannot be read.
 */
int vtpm_count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/*
 * Capabilities, no_new_privs and the bounding set belong to each thread,
 * and libcap-ng changes only the calling one: another thread would keep
 * them.  Refuse instead of confining part of the process.
 */
static int check_single_thread(struct vtpm_ctx *ctx)
{
	int n = vtpm_count_threads();

	if (n < 0) {
		err(ctx, "cannot count this process's threads (is /proc mounted?): %s",
		    strerror(-n));
		return n;
	}
	if (n > 1) {
		err(ctx, "this process has %d threads: drop privileges before starting any", n);
		return -EBUSY;
	}
	return 0;
}

static int switch_ids(struct vtpm_ctx *ctx, uid_t uid, gid_t gid)
{
	if (gid != (gid_t)-1) {
		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0) {
			err(ctx, "cannot switch to gid %u: %s", (unsigned int)gid, strerror(errno));
			return -EPERM;
		}
	}
	if (uid != (uid_t)-1 && setresuid(uid, uid, uid) < 0) {
		err(ctx, "cannot switch to uid %u: %s", (unsigned int)uid, strerror(errno));
		return -EPERM;
	}
	return 0;
}

VTPM_EXPORT int vtpm_sandbox_drop_privileges(struct vtpm_ctx *ctx, uid_t uid, gid_t gid)
{
	int r;

	r = check_single_thread(ctx);
	if (r < 0)
		return r;
	/*
	 * The bounding set first, while CAP_SETPCAP is held; a caller without
	 * it has no capability to lose there, and no_new_privs below keeps
	 * the set from mattering.
	 */
	if (capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP)) {
		capng_get_caps_process();
		capng_clear(CAPNG_SELECT_BOUNDS);
		if (capng_apply(CAPNG_SELECT_BOUNDS) < 0) {
			err(ctx, "cannot clear the capability bounding set");
			return -EIO;
		}
	}
	/* Then the ids, while CAP_SETUID/CAP_SETGID are still held. */
	r = switch_ids(ctx, uid, gid);
	if (r < 0)
		return r;

	capng_clear(CAPNG_SELECT_BOTH);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0) {
		err(ctx, "cannot drop capabilities");
		return -EIO;
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	capng_get_caps_process();
	if (capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
		err(ctx, "capabilities remain after dropping them");
		return -EIO;
	}
	return 0;
}

/* What serving needs: the relay loop, the libtpms backend and its OpenSSL. */
static const int allowed_syscalls[] = {
	/* I/O on descriptors already open */
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek), SCMP_SYS(close),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait),
	SCMP_SYS(epoll_ctl), SCMP_SYS(fcntl), SCMP_SYS(dup), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(getdents64),
	/* atomic state file replacement in the state directory */
	SCMP_SYS(openat), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat),
	SCMP_SYS(rmdir), SCMP_SYS(ftruncate),
	/* memory */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise), SCMP_SYS(mprotect),
	/* time, randomness, threads' locks */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(getrandom), SCMP_SYS(futex),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
	/* signals and leaving */
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(tgkill), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(restart_syscall),
	/* Harmless, and used by sanitizer runtimes on every no-return path. */
	SCMP_SYS(sigaltstack), SCMP_SYS(sched_yield),
};

/* Serving a socket that is already listening or connected. */
static const int accept_syscalls[] = {
	SCMP_SYS(accept4), SCMP_SYS(accept),
	SCMP_SYS(recvfrom), SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(shutdown), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
};

/* Making new connections: only a backend that reconnects to its emulator. */
static const int connect_syscalls[] = {
	SCMP_SYS(socket), SCMP_SYS(connect),
};

static int allow_all(scmp_filter_ctx filter, const int *syscalls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int r = seccomp_rule_add(filter, SCMP_ACT_ALLOW, syscalls[i], 0);

		/* A name this architecture lacks resolves negative: skip it. */
		if (r < 0 && syscalls[i] >= 0)
			return r;
	}
	return 0;
}

VTPM_EXPORT int vtpm_sandbox_apply_seccomp(struct vtpm_ctx *ctx, unsigned int flags)
{
	scmp_filter_ctx filter;
	uint32_t deny;
	int r;

	if (flags & ~(VTPM_SECCOMP_ALLOW_SOCKETS | VTPM_SECCOMP_LOG_ONLY |
		      VTPM_SECCOMP_ALLOW_ACCEPT))
		return -EINVAL;

	deny = flags & VTPM_SECCOMP_LOG_ONLY ? SCMP_ACT_ERRNO(EPERM) : SCMP_ACT_KILL_PROCESS;
	filter = seccomp_init(deny);
	if (!filter)
		return -ENOMEM;
	/*
	 * Every thread gets the filter (and no_new_privs with it), or the
	 * load fails: one thread left unfiltered would be a way out.
	 */
	r = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1);
	if (r == 0)
		r = allow_all(filter, allowed_syscalls, ARRAY_SIZE(allowed_syscalls));
	if (r == 0 && flags & (VTPM_SECCOMP_ALLOW_SOCKETS | VTPM_SECCOMP_ALLOW_ACCEPT))
		r = allow_all(filter, accept_syscalls, ARRAY_SIZE(accept_syscalls));
	if (r == 0 && flags & VTPM_SECCOMP_ALLOW_SOCKETS)
		r = allow_all(filter, connect_syscalls, ARRAY_SIZE(connect_syscalls));
	if (r == 0)
		r = seccomp_load(filter);
	seccomp_release(filter);
	if (r < 0)
		err(ctx, "cannot install the system call filter: %s", strerror(-r));
	return r;
}

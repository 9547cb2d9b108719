/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A pinned pid does not follow the number to another process: the pid of
 * a dead process is handed to a new one (through ns_last_pid, as CRIU
 * does), and every /proc/PID open and the namespace switch through the
 * old pin fail with -ESRCH instead of reaching the newcomer.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtpm-internal.h"

#define NS_LAST_PID "/proc/sys/kernel/ns_last_pid"

static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* A new process with pid @want, or -1 if another process took it first. */
static pid_t spawn_with_pid(pid_t want)
{
	char buf[32];
	int fd, n;
	pid_t pid;

	fd = open(NS_LAST_PID, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = snprintf(buf, sizeof(buf), "%ld", (long)want - 1);
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	close(fd);
	pid = spawn_sleeper();
	if (pid != want) {
		reap(pid);
		return -1;
	}
	return pid;
}

static void test_alive(void **state)
{
	struct vtpm_pinned_pid pin;
	pid_t pid = spawn_sleeper();
	int fd;

	assert_int_equal(vtpm_pid_pin(pid, &pin), 0);
	assert_int_equal(vtpm_pid_check(&pin), 0);
	fd = vtpm_pid_open(&pin, "root", O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	vtpm_pid_unpin(&pin);
	reap(pid);
	assert_int_equal(vtpm_pid_pin(pid, &pin), -ESRCH);
	assert_int_equal(vtpm_pid_pin(0, &pin), -EINVAL);
}

static void test_reused_pid(void **state)
{
	struct vtpm_pinned_pid pin;
	pid_t old, reused = -1;
	int fd;

	if (geteuid() != 0 || access(NS_LAST_PID, W_OK) < 0)
		skip();
	/* Another process may take the pid between reap and fork: retry. */
	for (int attempt = 0; attempt < 20 && reused < 0; attempt++) {
		old = spawn_sleeper();
		assert_int_equal(vtpm_pid_pin(old, &pin), 0);
		if (pin.pidfd < 0) {
			vtpm_pid_unpin(&pin);
			reap(old);
			skip(); /* no pidfd_open: nothing to pin */
		}
		reap(old);
		reused = spawn_with_pid(old);
		if (reused < 0)
			vtpm_pid_unpin(&pin);
	}
	if (reused < 0)
		skip();

	/* The number names a live process again, but not the pinned one. */
	assert_int_equal(kill(reused, 0), 0);
	assert_int_equal(vtpm_pid_check(&pin), -ESRCH);
	fd = vtpm_pid_open(&pin, "root", O_RDONLY | O_DIRECTORY);
	assert_int_equal(fd, -ESRCH);
	fd = vtpm_pid_open(&pin, "cgroup", O_RDONLY);
	assert_int_equal(fd, -ESRCH);
	assert_int_equal(vtpm_pid_setns_mnt(&pin), -ESRCH);
	vtpm_pid_unpin(&pin);
	reap(reused);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alive),
		cmocka_unit_test(test_reused_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

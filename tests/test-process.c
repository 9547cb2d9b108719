/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A serving process's signals and pid file through the public API: a
 * blocked or ignored SIGTERM from the parent is undone; a pid file names
 * only the live process that holds it, never one that reused its pid.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <vtpm/vtpm.h>

/* Generous: the host may be busy; a healthy stop takes milliseconds. */
#define STOP_TIMEOUT_MS 10000

struct fixture {
	struct vtpm_ctx *ctx;
	char dir[64];
	char path[96];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(vtpm_ctx_new(&f->ctx), 0);
	vtpm_ctx_set_log_priority(f->ctx, 0);
	strcpy(f->dir, "/tmp/test-process-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/server.pid", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	vtpm_ctx_unref(f->ctx);
	free(f);
	return 0;
}

static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	got_term = sig;
}

static void test_reset_signals(void **state)
{
	struct fixture *f = *state;
	struct sigaction sa = { .sa_handler = on_term }, old;
	sigset_t set, saved;

	/* What a runtime may leave: SIGTERM blocked (and pending), SIGUSR1
	 * blocked, SIGUSR2 and SIGHUP ignored. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &saved), 0);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGTERM, &sa, NULL), 0);
	raise(SIGTERM);
	assert_int_equal(got_term, 0);

	assert_int_equal(vtpm_process_reset_signals(f->ctx), 0);
	assert_int_equal(got_term, SIGTERM); /* the pending one, to our handler */
	assert_int_equal(sigprocmask(SIG_SETMASK, NULL, &set), 0);
	for (int sig = 1; sig < SIGRTMIN; sig++)
		if (sigismember(&set, sig))
			fail_msg("signal %d still blocked", sig);
	assert_int_equal(sigaction(SIGUSR2, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	assert_int_equal(sigaction(SIGHUP, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, SIG_DFL);
	assert_int_equal(sigaction(SIGTERM, NULL, &old), 0);
	assert_ptr_equal(old.sa_handler, on_term);

	signal(SIGTERM, SIG_DFL);
	sigprocmask(SIG_SETMASK, &saved, NULL);
}

/* A child that writes @path as its pid file, reports, and waits; with
 * @ignore_term it ignores SIGTERM.  Returns its pid once the file exists. */
static pid_t spawn_server(struct fixture *f, bool ignore_term)
{
	int ready[2], fd;
	char c;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test leaves no one behind */
		close(ready[0]);
		if (ignore_term)
			signal(SIGTERM, SIG_IGN);
		if (vtpm_pidfile_write(f->ctx, f->path, &fd) < 0)
			_exit(1);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static pid_t file_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	close(fd);
	return (pid_t)atol(buf);
}

static void test_pidfile_stop(void **state)
{
	struct fixture *f = *state;
	int fd, status;
	pid_t pid, owner;

	assert_int_equal(vtpm_pidfile_get_owner(f->ctx, f->path, &owner), -ENOENT);
	assert_int_equal(vtpm_pidfile_stop(f->ctx, f->path, STOP_TIMEOUT_MS), 0);

	pid = spawn_server(f, false);
	assert_int_equal(file_pid(f->path), pid);
	assert_int_equal(vtpm_pidfile_get_owner(f->ctx, f->path, &owner), 0);
	assert_int_equal(owner, pid);
	/* A second server for the same file is refused while the first lives. */
	assert_int_equal(vtpm_pidfile_write(f->ctx, f->path, &fd), -EBUSY);

	assert_int_equal(vtpm_pidfile_stop(f->ctx, f->path, STOP_TIMEOUT_MS), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	/* It died without removing its file: stop removed it as stale. */
	assert_int_equal(access(f->path, F_OK), -1);
}

/* A pid file whose number now belongs to another live process, as after
 * pid reuse: nothing is signalled, the stale file goes. */
static void test_pidfile_reused(void **state)
{
	struct fixture *f = *state;
	char buf[32];
	int fd, status;
	pid_t other, owner;

	other = fork();
	assert_true(other >= 0);
	if (other == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	snprintf(buf, sizeof(buf), "%ld\n", (long)other);
	assert_int_equal(write(fd, buf, strlen(buf)), (ssize_t)strlen(buf));
	close(fd);

	assert_int_equal(vtpm_pidfile_get_owner(f->ctx, f->path, &owner), -ESRCH);
	assert_int_equal(vtpm_pidfile_stop(f->ctx, f->path, STOP_TIMEOUT_MS), 0);
	assert_int_equal(waitpid(other, &status, WNOHANG), 0); /* still alive */
	assert_int_equal(access(f->path, F_OK), -1);

	/* A new server may take the name over. */
	assert_int_equal(vtpm_pidfile_write(f->ctx, f->path, &fd), 0);
	assert_int_equal(file_pid(f->path), getpid());
	close(fd);

	kill(other, SIGKILL);
	assert_int_equal(waitpid(other, &status, 0), other);
}

static void test_pidfile_timeout(void **state)
{
	struct fixture *f = *state;
	int status;
	pid_t pid = spawn_server(f, true);

	assert_int_equal(vtpm_pidfile_stop(f->ctx, f->path, 100), -ETIMEDOUT);
	assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
	assert_int_equal(access(f->path, F_OK), 0); /* still its file */
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(vtpm_pidfile_stop(f->ctx, f->path, STOP_TIMEOUT_MS), 0);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void test_pidfile_symlink(void **state)
{
	struct fixture *f = *state;
	char target[128];
	int fd;

	snprintf(target, sizeof(target), "%s/target", f->dir);
	assert_int_equal(symlink(target, f->path), 0);
	/* Replaced, not followed. */
	assert_int_equal(vtpm_pidfile_write(f->ctx, f->path, &fd), 0);
	close(fd);
	assert_int_equal(access(target, F_OK), -1);
	assert_int_equal(file_pid(f->path), getpid());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_signals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidfile_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidfile_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidfile_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pidfile_symlink, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How the manager makes its request socket: mode 0600 whatever the
 * process-wide umask is when bind(2) runs (another thread may change it at
 * any moment), nothing done through a symlink planted at its path, a stale
 * socket replaced and a live one left to its manager.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtpm-internal.h"

static char tmpdir[] = "/tmp/test-manager-socket-XXXXXX";
static char run[PATH_MAX - 64], sock[PATH_MAX];

/*
 * This program's bind() takes the place of libc's for the library linked
 * into it.  With @umask_race set it does, just before the real bind, what
 * another thread of the process may do at that instant: clear the umask.
 */
static bool umask_race;

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (umask_race)
		umask(0);
	return (int)syscall(SYS_bind, fd, addr, len);
}

static struct vtpm_manager *manager(struct vtpm_ctx **ctx)
{
	struct vtpm_manager_options o = {
		.size = sizeof(o), .run_dir = run, .state_dir = tmpdir,
		.flags = VTPM_MANAGER_NO_SPARES,
	};
	struct vtpm_manager *mgr;

	assert_int_equal(vtpm_ctx_new(ctx), 0);
	vtpm_ctx_set_log_priority(*ctx, LOG_EMERG);
	assert_int_equal(vtpm_manager_new(*ctx, &o, &mgr), 0);
	return mgr;
}

static void done(struct vtpm_manager *mgr, struct vtpm_ctx *ctx)
{
	vtpm_manager_unref(mgr);
	vtpm_ctx_unref(ctx);
}

static void test_umask_race(void **state)
{
	struct vtpm_manager *mgr;
	struct vtpm_ctx *ctx;
	struct stat st;
	mode_t old;

	mgr = manager(&ctx);
	old = umask(022);
	umask_race = true;
	assert_int_equal(vtpm_manager_listen(mgr, NULL), 0);
	umask_race = false;
	umask(old);
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	done(mgr, ctx);
	assert_int_equal(access(sock, F_OK), -1);
}

/* A symlink at the socket's path is refused, and neither it nor what it
 * points to is changed. */
static void test_symlink(void **state)
{
	char target[PATH_MAX];
	struct vtpm_manager *mgr;
	struct vtpm_ctx *ctx;
	struct stat st;
	int fd;

	snprintf(target, sizeof(target), "%s/target", tmpdir);
	fd = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	mgr = manager(&ctx);
	assert_int_equal(symlink(target, sock), 0);
	assert_int_equal(vtpm_manager_listen(mgr, NULL), -EEXIST);
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0644);

	/* A dangling one too. */
	assert_int_equal(unlink(target), 0);
	assert_int_equal(vtpm_manager_listen(mgr, NULL), -EEXIST);
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(access(target, F_OK), -1);
	done(mgr, ctx);
	assert_int_equal(unlink(sock), 0);
}

/* A socket nobody listens on is replaced; a second manager does not take
 * the first one's. */
static void test_stale_and_live(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vtpm_manager *mgr, *other;
	struct vtpm_ctx *ctx, *other_ctx;
	struct stat st;
	int fd;

	mgr = manager(&ctx);
	strcpy(sa.sun_path, sock);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(vtpm_manager_listen(mgr, NULL), 0);
	assert_int_equal(lstat(sock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	other = manager(&other_ctx);
	assert_int_equal(vtpm_manager_listen(other, NULL), -EADDRINUSE);
	done(other, other_ctx);
	/* Still the first manager's. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	done(mgr, ctx);
}

static int setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(run, sizeof(run), "%s/run", tmpdir);
	snprintf(sock, sizeof(sock), "%s/%s", run, VTPM_MANAGER_SOCKET);
	return 0;
}

static int teardown(void **state)
{
	rmdir(run);
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_umask_race),
		cmocka_unit_test(test_symlink),
		cmocka_unit_test(test_stale_and_live),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

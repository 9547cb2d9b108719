/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox in a child process: what serving needs still works, anything
 * else kills the process (or fails with EPERM in log-only mode), and no
 * capability survives.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tpm2-cmd.h"
#include "vtpm-internal.h"

/* Run @fn in a child; return its wait status. */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static struct vtpm_ctx *quiet_ctx(void)
{
	struct vtpm_ctx *ctx;

	if (vtpm_ctx_new(&ctx) < 0)
		_exit(100);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	return ctx;
}

/* Serving a real libtpms TPM works under the filter: the whole command
 * path, state writes included. */
static int serve_under_filter(void)
{
	char dir[] = "/tmp/test-sandbox-XXXXXX";
	struct vtpm_ctx *ctx = quiet_ctx();
	struct vtpm_backend *b;
	struct vtpm_relay *relay;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;
	int sv[2];

	if (!mkdtemp(dir) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 101;
	if (vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, dir, 0, &b) < 0 ||
	    vtpm_relay_new_fd(ctx, sv[0], b, &relay) < 0)
		return 102;
	if (vtpm_sandbox_apply_seccomp(ctx, 0) < 0)
		return 103;

	tpm2_startup(&c, TPM2_SU_CLEAR);
	for (int i = 0; i < 3; i++) {
		if (write(sv[1], c.b, c.len) != (ssize_t)c.len || vtpm_relay_dispatch(relay) != 1 ||
		    read(sv[1], resp, sizeof(resp)) < TPM_HEADER_SIZE || resp_rc(resp) != 0)
			return 104 + i;
		/* NV define writes the permanent state file: openat, fsync, rename. */
		if (i == 0)
			tpm2_nv_define(&c, 0x01500030, 8);
		else
			tpm2_get_random(&c, 32);
	}
	vtpm_relay_unref(relay);
	vtpm_backend_unref(b); /* saves volatile state: still allowed */
	vtpm_ctx_unref(ctx);
	return 0;
}

static void test_serving_works_under_filter(void **state)
{
	int status = in_child(serve_under_filter);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int forbidden_socket(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();

	if (vtpm_sandbox_apply_seccomp(ctx, 0) < 0)
		return 101;
	socket(AF_INET, SOCK_STREAM, 0);
	return 0; /* not reached: the filter kills */
}

static int forbidden_mknod(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();

	if (vtpm_sandbox_apply_seccomp(ctx, 0) < 0)
		return 101;
	mknodat(AT_FDCWD, "/tmp/should-not-exist", S_IFCHR | 0600, makedev(1, 3));
	return 0;
}

static int forbidden_exec(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();

	if (vtpm_sandbox_apply_seccomp(ctx, 0) < 0)
		return 101;
	execl("/bin/true", "true", (char *)NULL);
	return 0;
}

static void test_violations_kill(void **state)
{
	int (*fns[])(void) = { forbidden_socket, forbidden_mknod, forbidden_exec };

	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		int status = in_child(fns[i]);

		assert_true(WIFSIGNALED(status));
		assert_int_equal(WTERMSIG(status), SIGSYS);
	}
}

static int log_only_and_sockets(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	int fd;

	if (vtpm_sandbox_apply_seccomp(ctx, VTPM_SECCOMP_ALLOW_SOCKETS | VTPM_SECCOMP_LOG_ONLY) < 0)
		return 101;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 102;
	close(fd);
	if (execl("/bin/true", "true", (char *)NULL) == 0 || errno != EPERM)
		return 103;
	return 0;
}

static void test_log_only_and_sockets(void **state)
{
	int status = in_child(log_only_and_sockets);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int cap_line_is_zero(const char *key)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");
	int found = 0;

	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0)
			found = strcmp(line + strlen(key), "\t0000000000000000\n") == 0 ||
				strcmp(line + strlen(key), "\t0\n") == 0 ? 1 : -1;
	}
	if (f)
		fclose(f);
	return found;
}

static int drop_privileges(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	uid_t uid = getuid() == 0 ? 65534 : (uid_t)-1;
	gid_t gid = getuid() == 0 ? 65534 : (gid_t)-1;

	if (vtpm_sandbox_drop_privileges(ctx, uid, gid) < 0)
		return 101;
	if (cap_line_is_zero("CapEff:") != 1 || cap_line_is_zero("CapPrm:") != 1 ||
	    cap_line_is_zero("CapInh:") != 1 || cap_line_is_zero("CapAmb:") != 1)
		return 102;
	/* Only a privileged caller can, and so must, empty the bounding set. */
	if (uid != (uid_t)-1 && cap_line_is_zero("CapBnd:") != 1)
		return 106;
	if (cap_line_is_zero("NoNewPrivs:") != -1)
		return 103;
	if (uid != (uid_t)-1 && (getuid() != uid || geteuid() != uid || getgid() != gid))
		return 104;
	/* Without CAP_SETUID there is no way back. */
	if (uid != (uid_t)-1 && setuid(0) == 0)
		return 105;
	return 0;
}

static void test_drop_privileges(void **state)
{
	int status = in_child(drop_privileges);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_bad_flags(void **state)
{
	struct vtpm_ctx *ctx = quiet_ctx();

	assert_int_equal(vtpm_sandbox_apply_seccomp(ctx, 0x80), -EINVAL);
	vtpm_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serving_works_under_filter),
		cmocka_unit_test(test_violations_kill),
		cmocka_unit_test(test_log_only_and_sockets),
		cmocka_unit_test(test_drop_privileges),
		cmocka_unit_test(test_bad_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sandbox in a child process: what serving needs still works, anything
 * else kills the process (or fails with EPERM in log-only mode), and no
 * capability survives.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
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
	    vtpm_relay_new_from_fd(b, sv[0], &relay) < 0)
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

/* ---- threads ---- */

struct helper_thread {
	pthread_t thread;
	int go[2];		/* main -> helper: "try now" */
	int done[2];		/* helper -> main: the result */
	pid_t tid;
};

/* A thread that, when told, tries a socket() and reports how it went. */
static void *helper_main(void *arg)
{
	struct helper_thread *h = arg;
	char c;
	int result, fd;

	h->tid = (pid_t)syscall(SYS_gettid);
	if (write(h->done[1], "r", 1) != 1)
		return NULL;
	if (read(h->go[0], &c, 1) != 1)
		return NULL;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	result = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	if (write(h->done[1], &result, sizeof(result)) != sizeof(result))
		return NULL;
	return NULL;
}

static int start_helper(struct helper_thread *h)
{
	char c;

	if (pipe(h->go) < 0 || pipe(h->done) < 0 ||
	    pthread_create(&h->thread, NULL, helper_main, h) != 0 ||
	    read(h->done[0], &c, 1) != 1)
		return -1;
	return 0;
}

/* A line of /proc/self/task/@tid/status, e.g. "Seccomp:", as a number. */
static long task_status(pid_t tid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", (long)tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = strtol(line + strlen(key), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* The filter reaches a thread that existed before it was loaded. */
static int filter_covers_other_threads(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	struct helper_thread h;
	int result = -1;

	if (start_helper(&h) < 0)
		return 101;
	if (vtpm_sandbox_apply_seccomp(ctx, VTPM_SECCOMP_LOG_ONLY) < 0)
		return 102;
	if (task_status(h.tid, "Seccomp:") != 2 || task_status(h.tid, "NoNewPrivs:") != 1)
		return 103;
	if (write(h.go[1], "g", 1) != 1 || read(h.done[0], &result, sizeof(result)) != sizeof(result))
		return 104;
	if (result != EPERM)
		return 105;
	return 0;
}

static void test_filter_covers_threads(void **state)
{
	int status = in_child(filter_covers_other_threads);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Capabilities are per thread: dropping them with a second thread alive
 * would leave that one privileged, so it is refused. */
static int drop_refused_with_threads(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	struct vtpm_sandbox_options o = { .size = sizeof(o), .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct helper_thread h;

	if (start_helper(&h) < 0)
		return 101;
	if (vtpm_sandbox_drop_privileges(ctx, (uid_t)-1, (gid_t)-1) != -EBUSY)
		return 102;
	if (vtpm_sandbox_confine(ctx, &o, NULL) != -EBUSY)
		return 103;
	/* Nothing was dropped on the way. */
	if (getuid() == 0 && cap_line_is_zero("CapEff:") != -1)
		return 104;
	if (task_status(h.tid, "NoNewPrivs:") != 0)
		return 105;
	return 0;
}

static void test_drop_refused_with_threads(void **state)
{
	int status = in_child(drop_refused_with_threads);

	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the whole confinement ---- */

static bool have_landlock(void)
{
	return syscall(SYS_landlock_create_ruleset, NULL, 0, 1 /* VERSION */) > 0;
}

static char confine_dir[] = "/tmp/test-confine-XXXXXX";
/* Whether the kernel has Landlock, asked before confinement. */
static bool landlock_present;

/*
 * Serve as nobody, confined to the state directory: the TPM works and
 * saves; reading a root-only file, writing elsewhere (even to a directory
 * nobody may write) and reading another directory nobody owns all fail.
 */
static int confined_server(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	char state[PATH_MAX], other[PATH_MAX], file[PATH_MAX];
	struct vtpm_sandbox_options o = {
		.size = sizeof(o), .uid = 65534, .gid = 65534, .state_dir = state,
	};
	struct vtpm_backend *b;
	struct vtpm_relay *relay;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;
	int sv[2], abi = -1, fd;

	snprintf(state, sizeof(state), "%s/state", confine_dir);
	snprintf(other, sizeof(other), "%s/other/tpm2-00.permall", confine_dir);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 101;
	if (vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state, 0, &b) < 0 ||
	    vtpm_backend_start(b) < 0 || vtpm_relay_new_from_fd(b, sv[0], &relay) < 0)
		return 102;
	if (vtpm_sandbox_own_state_dir(ctx, state, 65534, 65534) < 0)
		return 103;
	if (vtpm_sandbox_confine(ctx, &o, &abi) < 0)
		return 104;
	/* No landlock_create_ruleset() from here: the filter kills it. */
	if (getuid() != 65534 || (landlock_present ? abi < 1 : abi != 0))
		return 105;

	/* A root-only file. */
	if (open("/etc/shadow", O_RDONLY | O_CLOEXEC) >= 0)
		return 110;
	/* Outside the state directory, even where nobody may write. */
	snprintf(file, sizeof(file), "%s/escape", confine_dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (landlock_present && fd >= 0)
		return 111;
	/* Another instance's state, owned by the same uid. */
	fd = open(other, O_RDONLY | O_CLOEXEC);
	if (landlock_present && fd >= 0)
		return 112;

	tpm2_startup(&c, TPM2_SU_CLEAR);
	if (write(sv[1], c.b, c.len) != (ssize_t)c.len || vtpm_relay_dispatch(relay) != 1 ||
	    read(sv[1], resp, sizeof(resp)) < TPM_HEADER_SIZE || resp_rc(resp) != 0)
		return 120;
	tpm2_nv_define(&c, 0x01500031, 8);
	if (write(sv[1], c.b, c.len) != (ssize_t)c.len || vtpm_relay_dispatch(relay) != 1 ||
	    read(sv[1], resp, sizeof(resp)) < TPM_HEADER_SIZE || resp_rc(resp) != 0)
		return 121;
	vtpm_relay_unref(relay);
	if (vtpm_backend_shutdown(b) < 0)
		return 122;
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
	/* Last: a new socket (the manager's, say) is out of reach. */
	socket(AF_UNIX, SOCK_STREAM, 0);
	return 0;
}

/* A TPM resumes from the volatile state the confined server saved. */
static int resume_saved(void)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	char state[PATH_MAX];
	struct vtpm_backend *b;
	struct vtpm_relay *relay;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;
	int sv[2];

	snprintf(state, sizeof(state), "%s/state", confine_dir);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		return 101;
	if (vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state, VTPM_LIBTPMS_RESUME, &b) < 0 ||
	    vtpm_backend_start(b) < 0 || vtpm_relay_new_from_fd(b, sv[0], &relay) < 0)
		return 102;
	/* Resumed, the TPM runs already: TPM_RC_INITIALIZE (TPM 2.0 Part 2,
	 * 6.6.3); a TPM that lost its state would want a Startup. */
	tpm2_startup(&c, TPM2_SU_STATE);
	if (write(sv[1], c.b, c.len) != (ssize_t)c.len || vtpm_relay_dispatch(relay) != 1 ||
	    read(sv[1], resp, sizeof(resp)) < TPM_HEADER_SIZE)
		return 103;
	if (resp_rc(resp) != 0x100) {
		fprintf(stderr, "Startup(STATE) after a confined save: 0x%x\n", resp_rc(resp));
		return 104;
	}
	vtpm_relay_unref(relay);
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
	return 0;
}

static void test_confine(void **state)
{
	char path[PATH_MAX];
	struct stat st;
	int status, fd;

	if (getuid() != 0)
		skip();
	landlock_present = have_landlock();
	assert_non_null(mkdtemp(confine_dir));
	/* World-writable like /tmp, so only Landlock stops a write there. */
	assert_int_equal(chmod(confine_dir, 0777), 0);
	snprintf(path, sizeof(path), "%s/state", confine_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/other", confine_dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/other/tpm2-00.permall", confine_dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chown(path, 65534, 65534), 0);
	snprintf(path, sizeof(path), "%s/other", confine_dir);
	assert_int_equal(chown(path, 65534, 65534), 0);

	status = in_child(confined_server);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);

	/* The state was saved by the serving uid. */
	snprintf(path, sizeof(path), "%s/state/tpm2-00.permall", confine_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	/* And the volatile state it saved resumes. */
	status = in_child(resume_saved);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	snprintf(path, sizeof(path), "%s/escape", confine_dir);
	if (landlock_present)
		assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/state", confine_dir);
	vtpm_remove_flat_dir(path);
	snprintf(path, sizeof(path), "%s/other", confine_dir);
	vtpm_remove_flat_dir(path);
	unlink(path);
	snprintf(path, sizeof(path), "%s/escape", confine_dir);
	unlink(path);
	rmdir(confine_dir);
}

/* ---- handing a state directory over ---- */

static void test_own_state_dir(void **state)
{
	char dir[] = "/tmp/test-own-XXXXXX", path[PATH_MAX];
	struct vtpm_ctx *ctx = quiet_ctx();
	struct stat st;
	int fd;

	if (getuid() != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* Nothing to do, or keep the owner. */
	assert_int_equal(vtpm_sandbox_own_state_dir(ctx, dir, (uid_t)-1, (gid_t)-1), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 0);

	/* A directory others may write is never handed over. */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(vtpm_sandbox_own_state_dir(ctx, dir, 65534, 65534), -EACCES);
	assert_int_equal(chmod(dir, 0700), 0);

	/* Nor one holding anything but TPM state. */
	snprintf(path, sizeof(path), "%s/passwd", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vtpm_sandbox_own_state_dir(ctx, dir, 65534, 65534), -EACCES);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	unlink(path);

	/* A private state directory is: it and its files. */
	assert_int_equal(vtpm_sandbox_own_state_dir(ctx, dir, 65534, 65534), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65534);
	/* Already owned: state the caller wrote since goes along. */
	snprintf(path, sizeof(path), "%s/tpm2-00.volatilestate", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vtpm_sandbox_own_state_dir(ctx, dir, 65534, 65534), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	/* Someone else's: refused. */
	assert_int_equal(vtpm_sandbox_own_state_dir(ctx, dir, 1, 1), -EACCES);

	vtpm_remove_flat_dir(dir);
	vtpm_ctx_unref(ctx);
}

static void test_default_user(void **state)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	uid_t uid;
	gid_t gid;

	assert_int_equal(vtpm_sandbox_get_default_user(ctx, &uid, &gid), 0);
	if (getuid() == 0) {
		assert_true(uid != 0 && uid != (uid_t)-1);
		assert_true(gid != (gid_t)-1);
	} else {
		assert_true(uid == (uid_t)-1 && gid == (gid_t)-1);
	}
	assert_int_equal(vtpm_sandbox_get_default_user(ctx, NULL, &gid), -EINVAL);
	vtpm_ctx_unref(ctx);
}

static void test_bad_flags(void **state)
{
	struct vtpm_ctx *ctx = quiet_ctx();
	struct vtpm_sandbox_options o = { .size = sizeof(o), .flags = 0x80 };

	assert_int_equal(vtpm_sandbox_apply_seccomp(ctx, 0x80), -EINVAL);
	assert_int_equal(vtpm_sandbox_confine(ctx, &o, NULL), -EINVAL);
	o.flags = 0;
	o.size = sizeof(size_t);
	assert_int_equal(vtpm_sandbox_confine(ctx, &o, NULL), -EINVAL);
	assert_int_equal(vtpm_sandbox_confine(ctx, NULL, NULL), -EINVAL);
	vtpm_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serving_works_under_filter),
		cmocka_unit_test(test_violations_kill),
		cmocka_unit_test(test_log_only_and_sockets),
		cmocka_unit_test(test_drop_privileges),
		cmocka_unit_test(test_filter_covers_threads),
		cmocka_unit_test(test_drop_refused_with_threads),
		cmocka_unit_test(test_confine),
		cmocka_unit_test(test_own_state_dir),
		cmocka_unit_test(test_default_user),
		cmocka_unit_test(test_bad_flags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

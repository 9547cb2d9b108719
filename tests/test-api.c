/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The API's common rules, through the public API with a real libtpms TPM:
 * a constructor that takes an fd borrows it (the object keeps a duplicate,
 * the caller's fd is never closed, on success or failure); a constructor
 * without a ctx logs through the context of the object it is given; the
 * deprecated forms keep their documented behaviour.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include <vtpm/vtpm.h>

/* TPM2_Startup(TPM_SU_CLEAR): TPM 2.0 Library Part 3, 9.3 */
static const uint8_t startup_cmd[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x44, 0x00, 0x00,
};
/* The control protocol's CMD_GET_CAPABILITY (swtpm's tpm_ioctl.h), big endian. */
static const uint8_t get_capability_cmd[] = { 0x00, 0x00, 0x00, 0x01 };

struct fixture {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	char dir[64];
	int logged; /* messages that reached the context's log function */
};

static void count_log(void *userdata, int priority, const char *file, int line,
		      const char *fn, const char *msg)
{
	((struct fixture *)userdata)->logged++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/test-api-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(vtpm_ctx_new(&f->ctx), 0);
	vtpm_ctx_set_log_priority(f->ctx, LOG_ERR);
	vtpm_ctx_set_log_msg_fn(f->ctx, count_log, f);
	assert_int_equal(vtpm_backend_new_libtpms(f->ctx, VTPM_VERSION_2, f->dir, 0, &f->backend), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	vtpm_backend_unref(f->backend);
	vtpm_ctx_unref(f->ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static int fd_is_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* A fd that is certainly closed: one just opened and closed again. */
static int closed_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	close(fd);
	return fd;
}

static void test_relay_from_fd_borrows(void **state)
{
	struct fixture *f = *state;
	struct vtpm_relay *relay;
	uint8_t resp[4096];
	int sv[2], fd;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_relay_new_from_fd(f->backend, sv[0], &relay), 0);
	fd = vtpm_relay_get_fd(relay);
	assert_true(fd >= 0);
	assert_int_not_equal(fd, sv[0]);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* The caller's fd is its own: closing it leaves the relay serving. */
	assert_int_equal(close(sv[0]), 0);
	assert_int_equal(write(sv[1], startup_cmd, sizeof(startup_cmd)), sizeof(startup_cmd));
	assert_int_equal(vtpm_relay_dispatch(relay), 1);
	assert_true(read(sv[1], resp, sizeof(resp)) >= 10);
	assert_int_equal(resp[0], 0x80);
	/* The relay's duplicate was the last one: freeing it ends the channel. */
	vtpm_relay_unref(relay);
	assert_int_equal(read(sv[1], resp, sizeof(resp)), 0);
	close(sv[1]);
}

static void test_relay_from_fd_failure_keeps_fd(void **state)
{
	struct fixture *f = *state;
	struct vtpm_relay *relay = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_relay_new_from_fd(NULL, sv[0], &relay), -EINVAL);
	assert_int_equal(vtpm_relay_new_from_fd(f->backend, sv[0], NULL), -EINVAL);
	assert_int_equal(vtpm_relay_new_from_fd(f->backend, -1, &relay), -EBADF);
	assert_int_equal(vtpm_relay_new_from_fd(f->backend, closed_fd(), &relay), -EBADF);
	assert_null(relay);
	assert_true(fd_is_open(sv[0]));
	close(sv[0]);
	close(sv[1]);
}

static void test_ctrl_from_fd_borrows(void **state)
{
	struct fixture *f = *state;
	struct vtpm_ctrl *ctrl;
	uint8_t resp[64];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, sv[0], &ctrl), 0);
	assert_int_equal(close(sv[0]), 0);
	assert_int_equal(write(sv[1], get_capability_cmd, sizeof(get_capability_cmd)), 4);
	assert_int_equal(vtpm_ctrl_dispatch(ctrl), 1);
	/* result (0) and the capability bits */
	assert_int_equal(read(sv[1], resp, sizeof(resp)), 8);
	assert_memory_equal(resp, "\0\0\0\0", 4);
	vtpm_ctrl_unref(ctrl);
	assert_int_equal(read(sv[1], resp, sizeof(resp)), 0);
	close(sv[1]);
}

static void test_ctrl_from_fd_failure_keeps_fd(void **state)
{
	struct fixture *f = *state;
	struct vtpm_ctrl *ctrl = NULL;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_from_fd(NULL, sv[0], &ctrl), -EINVAL);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, sv[0], NULL), -EINVAL);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, -1, &ctrl), -EBADF);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, closed_fd(), &ctrl), -EBADF);
	assert_null(ctrl);
	assert_true(fd_is_open(sv[0]));
	close(sv[0]);
	close(sv[1]);
}

/* The deprecated forms keep their rules: the relay uses the fd itself... */
static void test_deprecated_relay_new_fd(void **state)
{
	struct fixture *f = *state;
	struct vtpm_relay *relay;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_relay_new_fd(f->ctx, sv[0], f->backend, &relay), 0);
	assert_int_equal(vtpm_relay_get_fd(relay), sv[0]);
	vtpm_relay_unref(relay);
	assert_true(fd_is_open(sv[0]));
	assert_int_equal(vtpm_relay_new_fd(f->ctx, -1, f->backend, &relay), -EBADF);
	close(sv[0]);
	close(sv[1]);
}

/* ...and the endpoint takes its fd over, closing it even on failure. */
static void test_deprecated_ctrl_new_fd(void **state)
{
	struct fixture *f = *state;
	struct vtpm_ctrl *ctrl;
	uint8_t resp[8];
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_fd(f->ctx, NULL, sv[0], &ctrl), -EINVAL);
	assert_false(fd_is_open(sv[0]));
	assert_int_equal(read(sv[1], resp, sizeof(resp)), 0);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_fd(f->ctx, f->backend, sv[0], &ctrl), 0);
	vtpm_ctrl_unref(ctrl);
	assert_false(fd_is_open(sv[0]));
	close(sv[1]);
}

/* A constructor without a ctx logs through the context of its first argument. */
static void test_context_comes_from_object(void **state)
{
	struct fixture *f = *state;
	struct vtpm_ctx *other;
	struct vtpm_ctrl *ctrl;

	assert_int_equal(vtpm_ctx_new(&other), 0);
	vtpm_ctx_set_log_priority(other, LOG_EMERG);
	f->logged = 0;
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "tcp:127.0.0.1:1", NULL, &ctrl),
			 -EPERM);
	assert_true(f->logged > 0);
	/* The deprecated form logs through the context it is given. */
	f->logged = 0;
	assert_int_equal(vtpm_ctrl_new(other, f->backend, "tcp:127.0.0.1:1", NULL, &ctrl), -EPERM);
	assert_int_equal(f->logged, 0);
	vtpm_ctx_unref(other);
}

static void test_relay_from_ctrl(void **state)
{
	struct fixture *f = *state;
	struct vtpm_relay *relay, *second;
	struct vtpm_ctrl *ctrl;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, sv[0], &ctrl), 0);
	close(sv[0]);
	assert_int_equal(vtpm_relay_new_from_ctrl(NULL, &relay), -EINVAL);
	assert_int_equal(vtpm_relay_new_from_ctrl(ctrl, NULL), -EINVAL);
	assert_int_equal(vtpm_relay_new_from_ctrl(ctrl, &relay), 0);
	/* The backend is the endpoint's, and left off for the client's CMD_INIT. */
	assert_false(vtpm_backend_is_running(f->backend));
	assert_int_equal(vtpm_relay_get_fd(relay), -1);
	/* One relay per endpoint, by either form. */
	assert_int_equal(vtpm_relay_new_from_ctrl(ctrl, &second), -EBUSY);
	assert_int_equal(vtpm_relay_new_ctrl(f->ctx, f->backend, ctrl, &second), -EBUSY);
	vtpm_relay_unref(relay);
	vtpm_ctrl_unref(ctrl);
	close(sv[1]);
}

static void test_null_objects(void **state)
{
	struct vtpm_rules *rules = NULL;
	struct vtpm_state *st = NULL;
	struct vtpm_relay *relay = NULL;

	(void)state;
	assert_int_equal(vtpm_relay_new_from_device(NULL, NULL, &relay), -EINVAL);
	assert_int_equal(vtpm_rules_from_device(NULL, &rules), -EINVAL);
	assert_int_equal(vtpm_state_from_ctrl_client(NULL, VTPM_VERSION_2, &st), -EINVAL);
	assert_null(relay);
	assert_null(rules);
	assert_null(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_relay_from_fd_borrows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_from_fd_failure_keeps_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_from_fd_borrows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctrl_from_fd_failure_keeps_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deprecated_relay_new_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deprecated_ctrl_new_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_comes_from_object, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_from_ctrl, setup, teardown),
		cmocka_unit_test(test_null_objects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

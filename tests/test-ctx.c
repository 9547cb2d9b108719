/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context: paths, logging, reference counts; device errors without a driver. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtpm-internal.h"

static int logged;
static char last_message[256];

static void capture_log(struct vtpm_ctx *ctx, int priority, const char *file, int line,
			const char *fn, const char *format, va_list args)
{
	int *counter = vtpm_ctx_get_userdata(ctx);

	(*counter)++;
	vsnprintf(last_message, sizeof(last_message), format, args);
}

struct captured {
	int calls;
	int priority;
	char msg[VTPM_LOG_MSG_MAX + 16];
	size_t len;
};

static void capture_msg(void *userdata, int priority, const char *file, int line,
			const char *fn, const char *msg)
{
	struct captured *c = userdata;

	c->calls++;
	c->priority = priority;
	c->len = strlen(msg);
	assert_true(c->len < VTPM_LOG_MSG_MAX);
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
	assert_non_null(file);
	assert_true(line > 0);
	assert_non_null(fn);
}

/* The formatted form: own user data, bounded, and either setter wins. */
static void test_log_msg_fn(void **state)
{
	struct captured c = {}, old = {};
	char longest[VTPM_LOG_MSG_MAX * 2];
	struct vtpm_ctx *ctx;
	struct vtpm_device *dev;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_userdata(ctx, &old.calls);
	vtpm_ctx_set_log_msg_fn(ctx, capture_msg, &c);
	/* vtpm_ctx_set_userdata() is the caller's; the log function has its own. */
	assert_ptr_equal(vtpm_ctx_get_userdata(ctx), &old.calls);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_VTPMX, "/nonexistent/vtpmx"), 0);
	assert_int_equal(vtpm_device_new(ctx, VTPM_VERSION_2, &dev), -ENOENT);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.priority, LOG_ERR);
	assert_non_null(strstr(c.msg, "/nonexistent/vtpmx"));

	/* Below the priority nothing is formatted or passed. */
	vtpm_ctx_set_log_priority(ctx, LOG_ERR);
	info(ctx, "not %s", "passed");
	assert_int_equal(c.calls, 1);
	vtpm_ctx_set_log_priority(ctx, LOG_DEBUG);
	info(ctx, "number %d", 42);
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.priority, LOG_INFO);
	assert_string_equal(c.msg, "number 42");

	/* A message longer than the limit is cut, not lost. */
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	err(ctx, "%s", longest);
	assert_int_equal(c.calls, 3);
	assert_int_equal(c.len, VTPM_LOG_MSG_MAX - 1);

	/* The va_list form replaces it ... */
	logged = 0;
	vtpm_ctx_set_userdata(ctx, &logged);
	vtpm_ctx_set_log_fn(ctx, capture_log);
	err(ctx, "to the old form");
	assert_int_equal(logged, 1);
	assert_int_equal(c.calls, 3);
	assert_string_equal(last_message, "to the old form");
	/* ... and the other way round. */
	vtpm_ctx_set_log_msg_fn(ctx, capture_msg, &c);
	err(ctx, "to the new form");
	assert_int_equal(logged, 1);
	assert_int_equal(c.calls, 4);
	assert_string_equal(c.msg, "to the new form");
	vtpm_ctx_unref(ctx);
}

/* NULL restores stderr: a message then reaches file descriptor 2. */
static void test_log_msg_fn_reset(void **state)
{
	struct captured c = {};
	struct vtpm_ctx *ctx;
	char buf[256] = "";
	int pipefd[2], saved;
	ssize_t n;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_msg_fn(ctx, capture_msg, &c);
	vtpm_ctx_set_log_msg_fn(ctx, NULL, &c);
	assert_int_equal(pipe(pipefd), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(pipefd[1], STDERR_FILENO), STDERR_FILENO);
	err(ctx, "back on stderr");
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(pipefd[1]);
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	close(pipefd[0]);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "back on stderr"));
	assert_int_equal(c.calls, 0);
	vtpm_ctx_unref(ctx);
}

static void test_paths(void **state)
{
	struct vtpm_ctx *ctx;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_string_equal(vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX), "/dev/vtpmx");
	assert_string_equal(vtpm_ctx_get_path(ctx, VTPM_PATH_SYSFS), "/sys");
	assert_string_equal(vtpm_ctx_get_path(ctx, VTPM_PATH_DEV), "/dev");
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_DEV, "/tmp/dev"), 0);
	assert_string_equal(vtpm_ctx_get_path(ctx, VTPM_PATH_DEV), "/tmp/dev");
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_DEV, "relative"), -EINVAL);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_DEV, ""), -EINVAL);
	assert_int_equal(vtpm_ctx_set_path(ctx, 99, "/x"), -EINVAL);
	assert_null(vtpm_ctx_get_path(ctx, 99));
	assert_string_equal(vtpm_ctx_get_path(ctx, VTPM_PATH_DEV), "/tmp/dev");
	assert_null(vtpm_ctx_unref(ctx));
}

static void test_refcount(void **state)
{
	struct vtpm_ctx *ctx;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_ptr_equal(vtpm_ctx_ref(ctx), ctx);
	assert_null(vtpm_ctx_unref(ctx));
	/* Still alive: one reference left. */
	assert_string_equal(vtpm_ctx_get_path(ctx, VTPM_PATH_SYSFS), "/sys");
	assert_null(vtpm_ctx_unref(ctx));
	assert_null(vtpm_ctx_ref(NULL));
	assert_null(vtpm_ctx_unref(NULL));
}

static void test_log_priority_from_environment(void **state)
{
	struct vtpm_ctx *ctx;

	setenv("VTPM_LOG", "debug", 1);
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_ctx_get_log_priority(ctx), LOG_DEBUG);
	vtpm_ctx_unref(ctx);

	setenv("VTPM_LOG", "6", 1);
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_ctx_get_log_priority(ctx), LOG_INFO);
	vtpm_ctx_unref(ctx);

	setenv("VTPM_LOG", "loud", 1);
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_ctx_get_log_priority(ctx), LOG_ERR);
	vtpm_ctx_unref(ctx);
	unsetenv("VTPM_LOG");

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, 99);
	assert_int_equal(vtpm_ctx_get_log_priority(ctx), LOG_DEBUG);
	vtpm_ctx_set_log_priority(ctx, -4);
	assert_int_equal(vtpm_ctx_get_log_priority(ctx), LOG_EMERG);
	vtpm_ctx_unref(ctx);
}

static void test_missing_driver_is_reported(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_device *dev;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_userdata(ctx, &logged);
	vtpm_ctx_set_log_fn(ctx, capture_log);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_VTPMX, "/nonexistent/vtpmx"), 0);
	assert_int_equal(vtpm_device_new(ctx, VTPM_VERSION_2, &dev), -ENOENT);
	assert_int_equal(logged, 1);
	assert_non_null(strstr(last_message, "/nonexistent/vtpmx"));

	/* Not a vtpmx: the ioctl is refused. */
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_VTPMX, "/dev/null"), 0);
	assert_int_equal(vtpm_device_new(ctx, VTPM_VERSION_2, &dev), -EOPNOTSUPP);
	assert_int_equal(vtpm_device_new(ctx, 5, &dev), -EINVAL);
	vtpm_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_refcount),
		cmocka_unit_test(test_log_priority_from_environment),
		cmocka_unit_test(test_missing_driver_is_reported),
		cmocka_unit_test(test_log_msg_fn),
		cmocka_unit_test(test_log_msg_fn_reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

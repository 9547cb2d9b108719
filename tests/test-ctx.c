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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

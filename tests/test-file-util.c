/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The shared file helpers (shared/file-util.c) that have no other test. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "file-util.h"

static void assert_dir_mode(const char *path, mode_t mode)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
}

static void test_mkdir_p(void **state)
{
	char root[] = "/tmp/test-file-util-XXXXXX", p[256], q[256], *long_path;
	mode_t old_umask = umask(0);
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(root));

	/* Every missing level, the last with the mode asked for. */
	snprintf(p, sizeof(p), "%s/a/b/c", root);
	assert_int_equal(vtpm_mkdir_p(p, 0700), 0);
	assert_dir_mode(p, 0700);
	snprintf(q, sizeof(q), "%s/a/b", root);
	assert_dir_mode(q, 0755);
	/* Existing directories are fine, and keep their mode. */
	assert_int_equal(vtpm_mkdir_p(p, 0750), 0);
	assert_dir_mode(p, 0700);
	/* A trailing slash names the same directory. */
	snprintf(q, sizeof(q), "%s/a/b/c/", root);
	assert_int_equal(vtpm_mkdir_p(q, 0700), 0);

	/* A file in the way: the failing mkdir's errno. */
	snprintf(q, sizeof(q), "%s/file", root);
	f = fopen(q, "w");
	assert_non_null(f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/file/d", root);
	assert_int_equal(vtpm_mkdir_p(p, 0700), -ENOTDIR);
	assert_int_equal(vtpm_mkdir_p(q, 0700), -ENOTDIR);

	long_path = malloc(PATH_MAX + 1);
	assert_non_null(long_path);
	memset(long_path, 'x', PATH_MAX);
	long_path[0] = '/';
	long_path[PATH_MAX] = '\0';
	assert_int_equal(vtpm_mkdir_p(long_path, 0700), -ENAMETOOLONG);
	free(long_path);

	snprintf(p, sizeof(p), "rm -rf %s", root);
	assert_int_equal(system(p), 0);
	umask(old_umask);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mkdir_p),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

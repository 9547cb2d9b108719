/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The serving identity: "USER[:GROUP]" as vtpm_sandbox_parse_user() reads
 * it against this system's user database, and the manager options that
 * carry it (never root, never half set, never past the caller's struct).
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtpm-internal.h"

static struct vtpm_ctx *ctx;

static int parse(const char *spec, uid_t *uid, gid_t *gid)
{
	*uid = (uid_t)-7;
	*gid = (gid_t)-7;
	return vtpm_sandbox_parse_user(ctx, spec, uid, gid);
}

/* An account other than root's, and a uid that has none. */
static const struct passwd *some_account(void)
{
	const struct passwd *pw = getpwnam("nobody");

	if (!pw || pw->pw_uid == 0 || pw->pw_gid == 0)
		return NULL;
	return pw;
}

static uid_t free_uid(void)
{
	for (uid_t u = 4242; u < 5000; u++)
		if (!getpwuid(u))
			return u;
	return 0;
}

static void test_names_and_numbers(void **state)
{
	const struct passwd *pw = some_account();
	const struct group *gr;
	char spec[64];
	uid_t uid;
	gid_t gid;

	if (!pw)
		skip();
	uid_t pw_uid = pw->pw_uid;
	gid_t pw_gid = pw->pw_gid;

	/* A name: its uid and primary group. */
	assert_int_equal(parse("nobody", &uid, &gid), 0);
	assert_int_equal(uid, pw_uid);
	assert_int_equal(gid, pw_gid);
	/* Its uid as a number: the same, through the account. */
	snprintf(spec, sizeof(spec), "%u", (unsigned int)pw_uid);
	assert_int_equal(parse(spec, &uid, &gid), 0);
	assert_int_equal(uid, pw_uid);
	assert_int_equal(gid, pw_gid);
	/* An explicit group, by number and by name. */
	assert_int_equal(parse("nobody:4243", &uid, &gid), 0);
	assert_int_equal(uid, pw_uid);
	assert_int_equal(gid, 4243);
	gr = getgrgid(pw_gid);
	if (gr) {
		snprintf(spec, sizeof(spec), "nobody:%s", gr->gr_name);
		assert_int_equal(parse(spec, &uid, &gid), 0);
		assert_int_equal(gid, pw_gid);
	}
}

static void test_numbers_without_account(void **state)
{
	uid_t u = free_uid(), uid;
	char spec[64];
	gid_t gid;

	assert_true(u != 0);
	/* uid and gid given: no account needed. */
	snprintf(spec, sizeof(spec), "%u:%u", (unsigned int)u, (unsigned int)u + 1);
	assert_int_equal(parse(spec, &uid, &gid), 0);
	assert_int_equal(uid, u);
	assert_int_equal(gid, u + 1);
	/* A bare uid without an account has no group to take. */
	snprintf(spec, sizeof(spec), "%u", (unsigned int)u);
	assert_int_equal(parse(spec, &uid, &gid), -EINVAL);
	assert_int_equal(uid, (uid_t)-7);
}

static void test_refused(void **state)
{
	uid_t uid;
	gid_t gid;

	/* Root's ids, however written. */
	assert_int_equal(parse("root", &uid, &gid), -EPERM);
	assert_int_equal(parse("0:4243", &uid, &gid), -EPERM);
	assert_int_equal(parse("4242:0", &uid, &gid), -EPERM);
	assert_int_equal(parse("4242:root", &uid, &gid), -EPERM);
	assert_int_equal(uid, (uid_t)-7);
	assert_int_equal(gid, (gid_t)-7);
	/* Malformed. */
	assert_int_equal(parse("", &uid, &gid), -EINVAL);
	assert_int_equal(parse(":4243", &uid, &gid), -EINVAL);
	assert_int_equal(parse("4242:", &uid, &gid), -EINVAL);
	assert_int_equal(parse("-1:4243", &uid, &gid), -ENOENT);
	assert_int_equal(parse("4294967295:4243", &uid, &gid), -ENOENT);
	assert_int_equal(parse("99999999999999999999:1", &uid, &gid), -ENOENT);
	/* Unknown names. */
	assert_int_equal(parse("no-such-user-vtpm", &uid, &gid), -ENOENT);
	assert_int_equal(parse("4242:no-such-group-vtpm", &uid, &gid), -ENOENT);
	assert_int_equal(vtpm_sandbox_parse_user(ctx, NULL, &uid, &gid), -EINVAL);
	assert_int_equal(vtpm_sandbox_parse_user(ctx, "4242:1", NULL, &gid), -EINVAL);
}

/* The manager's identity options: both or neither, never with
 * VTPM_MANAGER_NO_SANDBOX, and nothing read past the caller's @size. */
static void test_manager_options(void **state)
{
	char tmpdir[] = "/tmp/test-identity-XXXXXX", run[PATH_MAX];
	struct vtpm_manager_options old, o = { .size = sizeof(o) };
	struct vtpm_manager *mgr;

	assert_non_null(mkdtemp(tmpdir));
	snprintf(run, sizeof(run), "%s/run", tmpdir);
	o.run_dir = run;
	o.state_dir = tmpdir;
	o.flags = VTPM_MANAGER_NO_SPARES;

	o.uid = 4242;
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), -EINVAL);
	o.uid = 0;
	o.gid = 4242;
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), -EINVAL);
	o.uid = 4242;
	o.flags |= VTPM_MANAGER_NO_SANDBOX;
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), -EINVAL);
	o.flags &= ~VTPM_MANAGER_NO_SANDBOX;
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), 0);
	vtpm_manager_unref(mgr);

	/* A caller built before the identity fields: what follows its
	 * struct (here, a half-set identity) is not read. */
	old = (struct vtpm_manager_options){
		.size = offsetof(struct vtpm_manager_options, uid), .run_dir = run,
		.state_dir = tmpdir, .flags = VTPM_MANAGER_NO_SPARES, .uid = 4242,
	};
	assert_int_equal(vtpm_manager_new(ctx, &old, &mgr), 0);
	vtpm_manager_unref(mgr);
	rmdir(run);
	assert_int_equal(rmdir(tmpdir), 0);
}

static int setup(void **state)
{
	if (vtpm_ctx_new(&ctx) < 0)
		return -1;
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	return 0;
}

static int teardown(void **state)
{
	vtpm_ctx_unref(ctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_numbers),
		cmocka_unit_test(test_numbers_without_account),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_manager_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

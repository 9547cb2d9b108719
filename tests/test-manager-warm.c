/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The warm path's decision (vtpm_manager_client_try_create()) on each
 * kind of answer a manager gives, and on none, and an instance's nodes
 * as container rules.  Against a real manager: test-manager-client.c and
 * the VM scenarios container-warm.vm and container-lxc-warm.vm.
 */
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

#include <vtpm/manager.h>
#include <vtpm/rules.h>

#include "fake-manager.h"

static char tmpdir[] = "/tmp/test-manager-warm-XXXXXX";

/* A TPM 2 with both nodes, a TPM 1.2 with its one node, one without a device. */
#define DESC(name, version, nodes) "{\"ok\":true,\"instance\":{\"name\":\"" name "\"," \
	"\"status\":\"running\",\"pid\":123,\"version\":\"" version "\"," \
	"\"backend\":\"libtpms\",\"state_dir\":\"/var/lib/vtpm/" name "\"," \
	"\"runtime_dir\":\"/run/vtpm/" name "\",\"ctrl\":\"unix:/run/vtpm/" name "/ctrl.sock\"," \
	"\"restarts\":0," nodes "}}\n"
#define NODES_2 "\"tpm\":{\"path\":\"/dev/tpm3\",\"major\":10,\"minor\":224}," \
	"\"tpmrm\":{\"path\":\"/dev/tpmrm3\",\"major\":253,\"minor\":65539}"
#define NODES_12 "\"tpm\":{\"path\":\"/dev/tpm4\",\"major\":250,\"minor\":4},\"tpmrm\":null"
#define NODES_NONE "\"tpm\":null,\"tpmrm\":null"
#define ERROR(name, num, msg) "{\"ok\":false,\"error\":\"" name "\",\"errno\":" #num \
	",\"message\":\"" msg "\"}\n"

static void expect_node(const struct vtpm_rules *rules, unsigned int i, const char *path,
			unsigned int major, unsigned int minor)
{
	struct vtpm_rules_node n;

	assert_int_equal(vtpm_rules_get_node(rules, i, &n), 0);
	assert_string_equal(n.host_path, path);
	assert_string_equal(n.container_path, path);
	assert_int_equal(n.major, major);
	assert_int_equal(n.minor, minor);
}

static void test_try_create(void **state)
{
	struct fake f = { .answers = {
		DESC("a", "2.0", NODES_2),
		DESC("a", "1.2", NODES_12),
		DESC("a", "2.0", NODES_NONE),
		ERROR("EEXIST", 17, "instance a exists"),
		ERROR("EBUSY", 16, "state directory in use"),
		ERROR("EACCES", 13, "state directory not readable"),
		ERROR("ENOENT", 2, "no /dev/vtpmx"),
		NULL,
	}, .n = 8 };
	struct vtpm_instance_options io = { .size = sizeof(io), .state_dir = "/srv/a" };
	struct vtpm_manager_client *client;
	struct vtpm_instance_info *info;
	struct vtpm_rules *rules;
	enum vtpm_served_by by;
	struct vtpm_ctx *ctx;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	fake_start(&f, tmpdir);
	client = fake_client_for(ctx, f.path);

	/* Served: the instance's nodes make the container's rules. */
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), 0);
	assert_int_equal(by, VTPM_SERVED_BY_MANAGER);
	assert_string_equal(vtpm_instance_info_get_name(info), "a");
	assert_int_equal(vtpm_rules_new(ctx, &rules), 0);
	assert_int_equal(vtpm_instance_info_add_rules(info, rules), 0);
	assert_int_equal(vtpm_rules_get_count(rules), 2);
	expect_node(rules, 0, "/dev/tpm3", 10, 224);
	expect_node(rules, 1, "/dev/tpmrm3", 253, 65539);
	assert_int_equal(vtpm_rules_find_node(rules, VTPM_NODE_TPMRM), 1);
	vtpm_rules_unref(rules);
	vtpm_instance_info_unref(info);

	/* A TPM 1.2 has its tpm node only. */
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), 0);
	assert_int_equal(vtpm_rules_new(ctx, &rules), 0);
	assert_int_equal(vtpm_instance_info_add_rules(info, rules), 0);
	assert_int_equal(vtpm_rules_get_count(rules), 1);
	expect_node(rules, 0, "/dev/tpm4", 250, 4);
	vtpm_rules_unref(rules);
	vtpm_instance_info_unref(info);

	/* Without a device there is nothing to allow. */
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), 0);
	assert_int_equal(vtpm_rules_new(ctx, &rules), 0);
	assert_int_equal(vtpm_instance_info_add_rules(info, rules), -ENODEV);
	assert_int_equal(vtpm_rules_get_count(rules), 0);
	vtpm_rules_unref(rules);
	vtpm_instance_info_unref(info);

	/* Someone else's instance of the name: serve it ourselves. */
	by = VTPM_SERVED_BY_MANAGER;
	info = (struct vtpm_instance_info *)&by;
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), 0);
	assert_int_equal(by, VTPM_SERVED_STANDALONE);
	assert_null(info);

	/* The manager answered but could not start it: that is a failure,
	 * also for the errors that, from the socket, mean "may not use it". */
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), -EBUSY);
	assert_null(info);
	assert_string_equal(vtpm_manager_client_get_message(client), "state directory in use");
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), -EACCES);
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), -ENOENT);
	/* Something listens but does not answer: not a manager to trust, nor
	 * proof that none runs. */
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), -EPROTO);
	fake_stop(&f);

	/* Nobody listens any more: standalone. */
	by = VTPM_SERVED_BY_MANAGER;
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, &info), 0);
	assert_int_equal(by, VTPM_SERVED_STANDALONE);
	assert_null(info);

	/* Bad arguments, checked before anything is sent. */
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, NULL, &info), -EINVAL);
	assert_int_equal(vtpm_manager_client_try_create(client, "a", &io, &by, NULL), -EINVAL);
	assert_int_equal(vtpm_manager_client_try_create(client, "../a", &io, &by, &info), -EINVAL);
	vtpm_manager_client_unref(client);
	vtpm_ctx_unref(ctx);
}

/* A socket path where nothing ever was. */
static void test_no_socket(void **state)
{
	struct vtpm_manager_client *client;
	struct vtpm_instance_info *info;
	enum vtpm_served_by by = VTPM_SERVED_BY_MANAGER;
	struct vtpm_ctx *ctx;
	char path[PATH_MAX];

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	snprintf(path, sizeof(path), "%s/none/vtpmd.sock", tmpdir);
	client = fake_client_for(ctx, path);
	assert_int_equal(vtpm_manager_client_try_create(client, "a", NULL, &by, &info), 0);
	assert_int_equal(by, VTPM_SERVED_STANDALONE);
	assert_null(info);
	vtpm_manager_client_unref(client);
	vtpm_ctx_unref(ctx);
}

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_try_create),
		cmocka_unit_test(test_no_socket),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

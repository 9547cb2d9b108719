/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's typed client: requests as the manager parses them, the
 * answer parser on good and hostile answers, the calls against a fake
 * manager that answers what a test tells it, and against a real manager
 * in this process (without a driver, so its instances fail to start).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-manager.h"
#include "manager-internal.h"
#include "vtpm-internal.h"

static char tmpdir[] = "/tmp/test-manager-client-XXXXXX";

#define DESC_A "{\"name\":\"a\",\"status\":\"running\",\"pid\":123,\"version\":\"2.0\"," \
	"\"backend\":\"libtpms\",\"state_dir\":\"/var/lib/vtpm/a\",\"runtime_dir\":\"/run/vtpm/a\"," \
	"\"ctrl\":\"unix:/run/vtpm/a/ctrl.sock\",\"restarts\":2," \
	"\"tpm\":{\"path\":\"/dev/tpm0\",\"major\":10,\"minor\":224}," \
	"\"tpmrm\":{\"path\":\"/dev/tpmrm0\",\"major\":253,\"minor\":65536}}"
#define DESC_B "{\"name\":\"b\",\"status\":\"failed\",\"pid\":0,\"version\":\"1.2\"," \
	"\"backend\":\"libtpms\",\"state_dir\":\"/srv/b\",\"runtime_dir\":\"/run/vtpm/b\"," \
	"\"ctrl\":\"unix:/run/vtpm/b/ctrl.sock\",\"restarts\":5,\"tpm\":null,\"tpmrm\":null}"

static int parse_reply(const char *text, enum vtpm_mgr_op op, struct vtpm_mgr_reply *reply)
{
	return vtpm_mgr_reply_parse(text, strlen(text), op, "a", reply);
}

/* What the client sends is what the manager's parser reads. */
static void test_request_format(void **state)
{
	struct vtpm_mgr_request req = { .op = VTPM_MGR_OP_CREATE, .name = "web-1",
					.version = VTPM_VERSION_1_2, .state_dir = "/srv/tpm",
					.resume = true };
	struct vtpm_mgr_request back;
	char *text;

	assert_int_equal(vtpm_mgr_request_format(&req, &text), 0);
	assert_int_equal(vtpm_mgr_request_parse(text, strlen(text), &back), 0);
	assert_memory_equal(&req, &back, sizeof(req));
	free(text);

	for (enum vtpm_mgr_op op = VTPM_MGR_OP_DESTROY; op <= VTPM_MGR_OP_LIST; op++) {
		req = (struct vtpm_mgr_request){ .op = op };
		if (op != VTPM_MGR_OP_LIST)
			strcpy(req.name, "x");
		assert_int_equal(vtpm_mgr_request_format(&req, &text), 0);
		assert_int_equal(vtpm_mgr_request_parse(text, strlen(text), &back), 0);
		assert_memory_equal(&req, &back, sizeof(req));
		free(text);
	}
	req = (struct vtpm_mgr_request){ .op = VTPM_MGR_OP_STATUS, .name = "../x" };
	assert_int_equal(vtpm_mgr_request_format(&req, &text), -EINVAL);
	req.op = 99;
	assert_int_equal(vtpm_mgr_request_format(&req, &text), -EINVAL);
}

static void test_reply_instance(void **state)
{
	struct vtpm_mgr_reply reply;
	const struct vtpm_instance_info *info;
	const char *path;
	dev_t devnum;

	assert_int_equal(parse_reply("{\"ok\":true,\"instance\":" DESC_A "}\n",
				     VTPM_MGR_OP_CREATE, &reply), 0);
	assert_int_equal(reply.error, 0);
	assert_null(reply.list);
	info = reply.info;
	assert_non_null(info);
	assert_string_equal(vtpm_instance_info_get_name(info), "a");
	assert_int_equal(vtpm_instance_info_get_status(info), VTPM_INSTANCE_RUNNING);
	assert_int_equal(vtpm_instance_info_get_pid(info), 123);
	assert_int_equal(vtpm_instance_info_get_version(info), VTPM_VERSION_2);
	assert_string_equal(vtpm_instance_info_get_state_dir(info), "/var/lib/vtpm/a");
	assert_string_equal(vtpm_instance_info_get_runtime_dir(info), "/run/vtpm/a");
	assert_string_equal(vtpm_instance_info_get_ctrl_address(info), "unix:/run/vtpm/a/ctrl.sock");
	assert_int_equal(vtpm_instance_info_get_restarts(info), 2);
	assert_int_equal(vtpm_instance_info_get_node(info, VTPM_NODE_TPM, &path, &devnum), 0);
	assert_string_equal(path, "/dev/tpm0");
	assert_int_equal(major(devnum), 10);
	assert_int_equal(minor(devnum), 224);
	assert_int_equal(vtpm_instance_info_get_node(info, VTPM_NODE_TPMRM, &path, &devnum), 0);
	assert_string_equal(path, "/dev/tpmrm0");
	assert_int_equal(major(devnum), 253);
	assert_int_equal(minor(devnum), 65536);
	assert_int_equal(vtpm_instance_info_get_node(info, VTPM_NODE_TPMRM, NULL, NULL), 0);
	assert_int_equal(vtpm_instance_info_get_node(info, 2, &path, &devnum), -EINVAL);
	vtpm_mgr_reply_clear(&reply);
	assert_null(reply.info);

	/* The list, oldest first, and a TPM 1.2 without a device. */
	assert_int_equal(parse_reply("{\"ok\":true,\"instances\":[" DESC_A "," DESC_B "]}",
				     VTPM_MGR_OP_LIST, &reply), 0);
	assert_non_null(reply.list);
	assert_int_equal(vtpm_instance_list_get_count(reply.list), 2);
	info = vtpm_instance_list_get(reply.list, 1);
	assert_string_equal(vtpm_instance_info_get_name(info), "b");
	assert_int_equal(vtpm_instance_info_get_status(info), VTPM_INSTANCE_FAILED);
	assert_int_equal(vtpm_instance_info_get_version(info), VTPM_VERSION_1_2);
	assert_int_equal(vtpm_instance_info_get_pid(info), 0);
	assert_int_equal(vtpm_instance_info_get_node(info, VTPM_NODE_TPM, &path, NULL), -ENODEV);
	assert_int_equal(vtpm_instance_info_get_node(info, VTPM_NODE_TPMRM, &path, NULL), -ENODEV);
	assert_null(vtpm_instance_list_get(reply.list, 2));
	/* An item outlives its list with a reference of its own. */
	vtpm_instance_info_ref((struct vtpm_instance_info *)info);
	vtpm_mgr_reply_clear(&reply);
	assert_string_equal(vtpm_instance_info_get_state_dir(info), "/srv/b");
	vtpm_instance_info_unref((struct vtpm_instance_info *)info);

	assert_int_equal(parse_reply("{\"ok\":true,\"instances\":[]}", VTPM_MGR_OP_LIST, &reply), 0);
	assert_int_equal(vtpm_instance_list_get_count(reply.list), 0);
	vtpm_mgr_reply_clear(&reply);
	assert_int_equal(parse_reply("{\"ok\":true}", VTPM_MGR_OP_DESTROY, &reply), 0);
	assert_null(reply.info);
	assert_null(reply.list);
}

static void test_reply_error(void **state)
{
	struct vtpm_mgr_reply reply;

	assert_int_equal(parse_reply("{\"ok\":false,\"error\":\"EEXIST\",\"errno\":17,"
				     "\"message\":\"taken\"}", VTPM_MGR_OP_CREATE, &reply), 0);
	assert_int_equal(reply.error, -EEXIST);
	assert_string_equal(reply.message, "taken");
	assert_null(reply.info);
	/* The name counts, not the number; the message is optional. */
	assert_int_equal(parse_reply("{\"ok\":false,\"error\":\"ENOENT\",\"errno\":99}",
				     VTPM_MGR_OP_STATUS, &reply), 0);
	assert_int_equal(reply.error, -ENOENT);
	assert_string_equal(reply.message, "");
	/* A message is kept printable and bounded. */
	{
		char text[4 * VTPM_MANAGER_MESSAGE_MAX];
		int n = snprintf(text, sizeof(text),
				 "{\"ok\":false,\"error\":\"EIO\",\"message\":\"a\\u001b[2Jb\\n");

		memset(text + n, 'x', 2 * VTPM_MANAGER_MESSAGE_MAX);
		strcpy(text + n + 2 * VTPM_MANAGER_MESSAGE_MAX, "\"}");
		assert_int_equal(parse_reply(text, VTPM_MGR_OP_LIST, &reply), 0);
		assert_int_equal(reply.error, -EIO);
		assert_int_equal(strlen(reply.message), VTPM_MANAGER_MESSAGE_MAX - 1);
		assert_memory_equal(reply.message, "a?[2Jb?x", 8);
	}
}

/* Answers that break the protocol are -EPROTO and leave nothing behind. */
static void test_reply_hostile(void **state)
{
	static const struct {
		enum vtpm_mgr_op op;
		const char *text;
	} bad[] = {
		{ VTPM_MGR_OP_LIST, "" },
		{ VTPM_MGR_OP_LIST, "\n" },
		{ VTPM_MGR_OP_LIST, "not json" },
		{ VTPM_MGR_OP_LIST, "[]" },
		{ VTPM_MGR_OP_LIST, "{\"ok\":true,\"instances\":[]} {}" },
		{ VTPM_MGR_OP_DESTROY, "{\"ok\":1}" },
		{ VTPM_MGR_OP_DESTROY, "{\"ok\":\"true\"}" },
		{ VTPM_MGR_OP_DESTROY, "{}" },
		{ VTPM_MGR_OP_DESTROY, "{\"ok\":false}" },
		{ VTPM_MGR_OP_DESTROY, "{\"ok\":false,\"error\":\"EWHATEVER\"}" },
		{ VTPM_MGR_OP_DESTROY, "{\"ok\":false,\"error\":17}" },
		{ VTPM_MGR_OP_DESTROY, "{\"ok\":false,\"error\":\"EIO\",\"message\":[]}" },
		{ VTPM_MGR_OP_STATUS, "{\"ok\":true}" },
		{ VTPM_MGR_OP_STATUS, "{\"ok\":true,\"instance\":null}" },
		{ VTPM_MGR_OP_STATUS, "{\"ok\":true,\"instance\":\"a\"}" },
		{ VTPM_MGR_OP_LIST, "{\"ok\":true,\"instances\":{}}" },
		{ VTPM_MGR_OP_LIST, "{\"ok\":true,\"instances\":[1]}" },
		{ VTPM_MGR_OP_LIST, "{\"ok\":true,\"instances\":[" DESC_A ",null]}" },
		{ VTPM_MGR_OP_LIST, "{\"ok\":true}" },
	};
	/* Descriptions that parse but must not reach a caller. */
	static const struct {
		const char *from, *to;
	} twists[] = {
		{ "\"name\":\"a\"", "\"name\":\"b\"" },		/* about another instance */
		{ "\"name\":\"a\"", "\"name\":\"../a\"" },
		{ "\"/var/lib/vtpm/a\"", "\"var/lib\"" },
		{ "\"/var/lib/vtpm/a\"", "\"/var/../etc\"" },
		{ "\"/run/vtpm/a\"", "\"/run/vtpm/a/..\"" },
		{ "\"/dev/tpm0\"", "\"tpm0\"" },
		{ "\"major\":253", "\"major\":4096" },
		{ "\"minor\":65536", "\"minor\":1048576" },
		{ "\"minor\":224", "\"minor\":-1" },
		{ "\"pid\":123", "\"pid\":-5" },
		{ "\"pid\":123", "\"pid\":2147483648" },
		{ "\"pid\":123", "\"pid\":\"123\"" },
		{ "\"status\":\"running\"", "\"status\":\"dancing\"" },
		{ "\"version\":\"2.0\"", "\"version\":\"1.2\"" },	/* 1.2 with a tpmrm */
		{ "\"version\":\"2.0\"", "\"version\":3" },
		{ "\"tpm\":{\"path\":\"/dev/tpm0\",\"major\":10,\"minor\":224}", "\"tpm\":null" },
		{ "\"restarts\":2", "\"restarts\":2.5" },
	};
	struct vtpm_mgr_reply reply;
	char text[4096];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse_reply(bad[i].text, bad[i].op, &reply), -EPROTO);
		assert_null(reply.info);
		assert_null(reply.list);
		assert_int_equal(reply.error, 0);
	}
	for (size_t i = 0; i < ARRAY_SIZE(twists); i++) {
		const char *desc = DESC_A;
		const char *at = strstr(desc, twists[i].from);

		assert_non_null(at);
		snprintf(text, sizeof(text), "{\"ok\":true,\"instance\":%.*s%s%s}",
			 (int)(at - desc), desc, twists[i].to, at + strlen(twists[i].from));
		assert_int_equal(parse_reply(text, VTPM_MGR_OP_STATUS, &reply), -EPROTO);
		assert_null(reply.info);
		/* In a list too (apart from the other name, fine there). */
		if (i == 0)
			continue;
		snprintf(text, sizeof(text), "{\"ok\":true,\"instances\":[%.*s%s%s]}",
			 (int)(at - desc), desc, twists[i].to, at + strlen(twists[i].from));
		assert_int_equal(parse_reply(text, VTPM_MGR_OP_LIST, &reply), -EPROTO);
		assert_null(reply.list);
	}
	/* A NUL inside, and one byte over the limit. */
	assert_int_equal(vtpm_mgr_reply_parse("{\"ok\":true}\0x", 13, VTPM_MGR_OP_DESTROY, "a",
					      &reply), -EPROTO);
	assert_int_equal(vtpm_mgr_reply_parse("{}", VTPM_MGR_REPLY_MAX + 1, VTPM_MGR_OP_DESTROY,
					      "a", &reply), -EMSGSIZE);
}

/* More instances than a list may hold. */
static void test_reply_list_bound(void **state)
{
	static const char item[] = "1,";
	size_t n = VTPM_MANAGER_LIST_MAX + 1;
	size_t size = 64 + n * (sizeof(item) - 1);
	struct vtpm_mgr_reply reply;
	char *text = malloc(size), *p;

	assert_non_null(text);
	p = text + sprintf(text, "{\"ok\":true,\"instances\":[");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s", item);
	strcpy(p - 1, "]}");
	assert_int_equal(parse_reply(text, VTPM_MGR_OP_LIST, &reply), -EPROTO);
	assert_null(reply.list);
	free(text);
}

static void test_client_fake(void **state)
{
	struct fake f = { .answers = {
		"{\"ok\":true,\"instance\":" DESC_A "}\n",
		"{\"ok\":false,\"error\":\"EBUSY\",\"errno\":16,\"message\":\"in use\"}\n",
		"{\"ok\":true,\"instances\":[" DESC_A "," DESC_B "]}\n",
		"{\"ok\":true}\n",
		"{\"ok\":true,\"instance\":" DESC_B "}\n",
		"{\"ok\":tru",
		NULL,
	}, .n = 7 };
	struct vtpm_instance_options io = { .size = sizeof(io), .version = VTPM_VERSION_2,
					    .state_dir = "/srv/tpm/a",
					    .backend_flags = VTPM_LIBTPMS_RESUME };
	struct vtpm_manager_client *client;
	struct vtpm_instance_info *info;
	struct vtpm_instance_list *list;
	struct vtpm_ctx *ctx;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	fake_start(&f, tmpdir);
	client = fake_client_for(ctx, f.path);

	assert_int_equal(vtpm_manager_client_create(client, "a", &io, &info), 0);
	assert_string_equal(vtpm_instance_info_get_name(info), "a");
	assert_string_equal(vtpm_manager_client_get_message(client), "");
	vtpm_instance_info_unref(info);

	assert_int_equal(vtpm_manager_client_restart(client, "a", &info), -EBUSY);
	assert_string_equal(vtpm_manager_client_get_message(client), "in use");

	assert_int_equal(vtpm_manager_client_list(client, &list), 0);
	assert_string_equal(vtpm_manager_client_get_message(client), "");
	assert_int_equal(vtpm_instance_list_get_count(list), 2);
	vtpm_instance_list_unref(list);

	assert_int_equal(vtpm_manager_client_destroy(client, "a"), 0);
	/* An answer about another instance than asked. */
	assert_int_equal(vtpm_manager_client_status(client, "a", &info), -EPROTO);
	/* Cut short, or no answer at all. */
	assert_int_equal(vtpm_manager_client_status(client, "a", &info), -EPROTO);
	assert_int_equal(vtpm_manager_client_list(client, &list), -EPROTO);
	fake_stop(&f);

	/* What it sent, read by the manager's own parser. */
	{
		struct vtpm_mgr_request req;

		assert_int_equal(vtpm_mgr_request_parse(f.requests[0], strlen(f.requests[0]), &req), 0);
		assert_int_equal(req.op, VTPM_MGR_OP_CREATE);
		assert_string_equal(req.name, "a");
		assert_int_equal(req.version, VTPM_VERSION_2);
		assert_string_equal(req.state_dir, "/srv/tpm/a");
		assert_true(req.resume);
		assert_int_equal(vtpm_mgr_request_parse(f.requests[3], strlen(f.requests[3]), &req), 0);
		assert_int_equal(req.op, VTPM_MGR_OP_DESTROY);
	}

	/* Nobody listens any more. */
	assert_int_equal(vtpm_manager_client_list(client, &list), -ECONNREFUSED);
	vtpm_manager_client_unref(client);
	vtpm_ctx_unref(ctx);
}

/* Bad arguments fail before anything is sent. */
static void test_client_arguments(void **state)
{
	struct vtpm_manager_client_options o = { .size = sizeof(o) };
	struct vtpm_instance_options io = { .size = sizeof(io) };
	struct vtpm_manager_client *client;
	struct vtpm_ctx *ctx;
	char longpath[200];

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	o.socket_path = "relative.sock";
	assert_int_equal(vtpm_manager_client_new(ctx, &o, &client), -EINVAL);
	o.socket_path = NULL;
	o.timeout_ms = -1;
	assert_int_equal(vtpm_manager_client_new(ctx, &o, &client), -EINVAL);
	o.timeout_ms = 0;
	o.size = 4;
	assert_int_equal(vtpm_manager_client_new(ctx, &o, &client), -EINVAL);
	memset(longpath, 'x', sizeof(longpath));
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	o.size = sizeof(o);
	o.socket_path = longpath;
	assert_int_equal(vtpm_manager_client_new(ctx, &o, &client), -ENAMETOOLONG);
	assert_int_equal(vtpm_manager_client_new(ctx, NULL, &client), 0);
	assert_ptr_equal(vtpm_manager_client_ref(client), client);
	vtpm_manager_client_unref(client);

	assert_int_equal(vtpm_manager_client_create(client, "../a", NULL, NULL), -EINVAL);
	assert_int_equal(vtpm_manager_client_create(client, NULL, NULL, NULL), -EINVAL);
	io.version = 3;
	assert_int_equal(vtpm_manager_client_create(client, "a", &io, NULL), -EINVAL);
	io.version = 0;
	io.backend_flags = 1u << 5;
	assert_int_equal(vtpm_manager_client_create(client, "a", &io, NULL), -EINVAL);
	io.backend_flags = 0;
	io.state_dir = "relative";
	assert_int_equal(vtpm_manager_client_create(client, "a", &io, NULL), -EINVAL);
	io.state_dir = NULL;
	io.size = 2;
	assert_int_equal(vtpm_manager_client_create(client, "a", &io, NULL), -EINVAL);
	assert_int_equal(vtpm_manager_client_destroy(client, ""), -EINVAL);
	assert_int_equal(vtpm_manager_client_restart(client, "a b", NULL), -EINVAL);
	assert_int_equal(vtpm_manager_client_status(client, "a", NULL), -EINVAL);
	vtpm_manager_client_unref(client);
	vtpm_ctx_unref(ctx);
}

/* ---- against a real manager (no driver: its instances fail to start) ---- */

struct server {
	struct vtpm_manager *mgr;
	pthread_t thread;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	vtpm_manager_run(s->mgr);
	return NULL;
}

static void remove_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_client_real_manager(void **state)
{
	struct vtpm_manager_options o = { .size = sizeof(o), .flags = VTPM_MANAGER_NO_SPARES };
	char run[PATH_MAX - 64], st[PATH_MAX - 64], sock[PATH_MAX];
	struct vtpm_manager_client *client;
	struct vtpm_instance_info *info = NULL;
	struct vtpm_instance_list *list;
	struct vtpm_ctx *ctx;
	struct server s;
	int r;

	snprintf(run, sizeof(run), "%s/run", tmpdir);
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	snprintf(sock, sizeof(sock), "%s/%s", run, VTPM_MANAGER_SOCKET);
	o.run_dir = run;
	o.state_dir = st;
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_VTPMX, "/nonexistent/vtpmx"), 0);
	client = fake_client_for(ctx, sock);

	/* Before the manager listens. */
	assert_int_equal(vtpm_manager_client_list(client, &list), -ECONNREFUSED);

	assert_int_equal(vtpm_manager_new(ctx, &o, &s.mgr), 0);
	assert_int_equal(vtpm_manager_listen(s.mgr, NULL), 0);
	assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);

	assert_int_equal(vtpm_manager_client_list(client, &list), 0);
	assert_int_equal(vtpm_instance_list_get_count(list), 0);
	vtpm_instance_list_unref(list);
	assert_int_equal(vtpm_manager_client_status(client, "x", &info), -ENOENT);
	assert_string_equal(vtpm_manager_client_get_message(client), "no such instance");
	assert_int_equal(vtpm_manager_client_destroy(client, "x"), -ENOENT);
	assert_int_equal(vtpm_manager_client_restart(client, "x", &info), -ENOENT);
	/* The instance cannot open the driver: its error comes back typed
	 * (-EIO where the manager cannot watch it, without pidfd_open(2)
	 * as under valgrind). */
	r = vtpm_manager_client_create(client, "a", NULL, &info);
	assert_true(r == -ENOENT || r == -EIO);
	assert_null(info);
	assert_int_not_equal(strlen(vtpm_manager_client_get_message(client)), 0);
	/* The warm path does not paper over that with a server of its own. */
	{
		enum vtpm_served_by by;

		r = vtpm_manager_client_try_create(client, "b", NULL, &by, &info);
		assert_true(r == -ENOENT || r == -EIO);
		assert_null(info);
	}

	vtpm_manager_stop(s.mgr);
	pthread_join(s.thread, NULL);
	for (int i = 0; i < 1500 && vtpm_manager_get_count(s.mgr); i++) {
		poll(NULL, 0, 20);
		vtpm_manager_dispatch(s.mgr);
	}
	vtpm_manager_unref(s.mgr);
	/* The manager removed its socket: nobody to ask. */
	assert_int_equal(vtpm_manager_client_list(client, &list), -ECONNREFUSED);
	vtpm_manager_client_unref(client);
	vtpm_ctx_unref(ctx);
	remove_tree(st);
	remove_tree(run);
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
		cmocka_unit_test(test_request_format),
		cmocka_unit_test(test_reply_instance),
		cmocka_unit_test(test_reply_error),
		cmocka_unit_test(test_reply_hostile),
		cmocka_unit_test(test_reply_list_bound),
		cmocka_unit_test(test_client_fake),
		cmocka_unit_test(test_client_arguments),
		cmocka_unit_test(test_client_real_manager),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instance manager's pieces that need no kernel: request parsing, the
 * instance description's JSON round trip, restart rate limiting on a fake
 * clock, runtime directories, which creates may take a spare TPM, and the
 * request protocol end to end against a manager without a driver (its
 * spares are real libtpms TPMs).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "has-pidfd.h"
#include "manager-internal.h"
#include "vtpm-internal.h"

static int parse(const char *text, struct vtpm_mgr_request *req)
{
	return vtpm_mgr_request_parse(text, strlen(text), req);
}

static void test_names(void **state)
{
	char longest[VTPM_MANAGER_NAME_MAX + 2];

	assert_true(vtpm_mgr_name_is_valid("a"));
	assert_true(vtpm_mgr_name_is_valid("web-01_x.y"));
	assert_false(vtpm_mgr_name_is_valid(""));
	assert_false(vtpm_mgr_name_is_valid("-a"));
	assert_false(vtpm_mgr_name_is_valid(".."));
	assert_false(vtpm_mgr_name_is_valid("a/b"));
	assert_false(vtpm_mgr_name_is_valid("a b"));
	memset(longest, 'x', sizeof(longest));
	longest[VTPM_MANAGER_NAME_MAX] = '\0';
	assert_true(vtpm_mgr_name_is_valid(longest));
	longest[VTPM_MANAGER_NAME_MAX] = 'x';
	longest[VTPM_MANAGER_NAME_MAX + 1] = '\0';
	assert_false(vtpm_mgr_name_is_valid(longest));
}

static void test_request_parse(void **state)
{
	struct vtpm_mgr_request req;

	assert_int_equal(parse("{\"op\":\"list\"}\n", &req), 0);
	assert_int_equal(req.op, VTPM_MGR_OP_LIST);
	assert_string_equal(req.name, "");

	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"a1\"}", &req), 0);
	assert_int_equal(req.op, VTPM_MGR_OP_CREATE);
	assert_string_equal(req.name, "a1");
	assert_int_equal(req.version, 0);
	assert_string_equal(req.state_dir, "");
	assert_false(req.resume);

	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"b\",\"version\":\"1.2\","
			       "\"state_dir\":\"/var/lib/x\",\"resume\":true}", &req), 0);
	assert_int_equal(req.version, VTPM_VERSION_1_2);
	assert_string_equal(req.state_dir, "/var/lib/x");
	assert_true(req.resume);
	assert_string_equal(req.socket, "");

	/* A virtual machine's instance: an absolute, plain socket path. */
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"vm\",\"socket\":\"/run/vm/tpm.sock\"}",
			       &req), 0);
	assert_string_equal(req.socket, "/run/vm/tpm.sock");
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"vm\",\"socket\":\"tpm.sock\"}", &req),
			 -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"vm\",\"socket\":\"/a/../b\"}", &req),
			 -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"vm\",\"socket\":5}", &req), -EINVAL);

	assert_int_equal(parse("{\"op\":\"destroy\",\"name\":\"a\"}", &req), 0);
	assert_int_equal(req.op, VTPM_MGR_OP_DESTROY);
	assert_int_equal(parse("{\"op\":\"restart\",\"name\":\"a\"}", &req), 0);
	assert_int_equal(req.op, VTPM_MGR_OP_RESTART);
	assert_int_equal(parse("{\"op\":\"status\",\"name\":\"a\"}", &req), 0);
	assert_int_equal(req.op, VTPM_MGR_OP_STATUS);
}

static void test_request_errors(void **state)
{
	struct vtpm_mgr_request req;
	char *big;

	assert_int_equal(parse("", &req), -EBADMSG);
	assert_int_equal(parse("\n", &req), -EBADMSG);
	assert_int_equal(parse("[1]", &req), -EBADMSG);
	assert_int_equal(parse("{\"op\":\"list\"", &req), -EBADMSG);
	assert_int_equal(parse("{\"op\":\"list\"} {}", &req), -EBADMSG);
	assert_int_equal(vtpm_mgr_request_parse("{\"op\":\"list\"}\0x", 15, &req), -EBADMSG);
	assert_int_equal(parse("{}", &req), -EINVAL);
	assert_int_equal(parse("{\"op\":7}", &req), -EINVAL);
	assert_int_equal(parse("{\"op\":\"format-disk\"}", &req), -EOPNOTSUPP);
	assert_int_equal(parse("{\"op\":\"create\"}", &req), -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"../x\"}", &req), -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"a\",\"version\":\"3\"}", &req), -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"a\",\"state_dir\":\"rel\"}", &req), -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"a\",\"state_dir\":\"/a/../b\"}", &req),
			 -EINVAL);
	assert_int_equal(parse("{\"op\":\"create\",\"name\":\"a\",\"resume\":1}", &req), -EINVAL);

	big = malloc(VTPM_MANAGER_REQUEST_MAX + 2);
	assert_non_null(big);
	memset(big, ' ', VTPM_MANAGER_REQUEST_MAX + 1);
	assert_int_equal(vtpm_mgr_request_parse(big, VTPM_MANAGER_REQUEST_MAX + 1, &req), -EMSGSIZE);
	free(big);
}

static void sample_desc(struct vtpm_mgr_desc *d)
{
	*d = (struct vtpm_mgr_desc){ .status = VTPM_INSTANCE_RUNNING, .pid = 4242,
				     .version = VTPM_VERSION_2, .restarts = 3 };
	strcpy(d->name, "web-1");
	strcpy(d->state_dir, "/var/lib/vtpm/web-1");
	strcpy(d->runtime_dir, "/run/vtpm/web-1");
	d->tpm = (struct vtpm_mgr_node){ .present = true, .major = 10, .minor = 224 };
	strcpy(d->tpm.path, "/dev/tpm0");
	d->tpmrm = (struct vtpm_mgr_node){ .present = true, .major = 253, .minor = 65536 };
	strcpy(d->tpmrm.path, "/dev/tpmrm0");
}

static void test_desc_round_trip(void **state)
{
	struct vtpm_mgr_desc d, back;
	struct json_object *o, *v;
	char *json;

	sample_desc(&d);
	assert_int_equal(vtpm_mgr_desc_to_json(&d, &json), 0);
	/* Checked by parsing, not by comparing strings. */
	o = json_tokener_parse(json);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "status", &v));
	assert_string_equal(json_object_get_string(v), "running");
	assert_true(json_object_object_get_ex(o, "ctrl", &v));
	assert_string_equal(json_object_get_string(v), "unix:/run/vtpm/web-1/ctrl.sock");
	assert_true(json_object_object_get_ex(o, "backend", &v));
	assert_string_equal(json_object_get_string(v), "libtpms");
	assert_true(json_object_object_get_ex(o, "version", &v));
	assert_string_equal(json_object_get_string(v), "2.0");
	json_object_put(o);

	assert_int_equal(vtpm_mgr_desc_from_json(json, &back), 0);
	assert_memory_equal(&d, &back, sizeof(d));
	free(json);

	/* Without a device: null nodes, and back. */
	d.tpm.present = d.tpmrm.present = false;
	memset(d.tpm.path, 0, sizeof(d.tpm.path));
	memset(d.tpmrm.path, 0, sizeof(d.tpmrm.path));
	d.tpm.major = d.tpm.minor = d.tpmrm.major = d.tpmrm.minor = 0;
	d.status = VTPM_INSTANCE_FAILED;
	d.pid = 0;
	assert_int_equal(vtpm_mgr_desc_to_json(&d, &json), 0);
	o = json_tokener_parse(json);
	assert_true(json_object_object_get_ex(o, "tpm", &v));
	assert_null(v);
	json_object_put(o);
	assert_int_equal(vtpm_mgr_desc_from_json(json, &back), 0);
	assert_memory_equal(&d, &back, sizeof(d));
	free(json);

	/* Serving a virtual machine: its socket, and the control channel on it. */
	snprintf(d.socket, sizeof(d.socket), "/run/vm/tpm.sock");
	d.status = VTPM_INSTANCE_RUNNING;
	d.pid = 42;
	assert_int_equal(vtpm_mgr_desc_to_json(&d, &json), 0);
	o = json_tokener_parse(json);
	assert_true(json_object_object_get_ex(o, "socket", &v));
	assert_string_equal(json_object_get_string(v), "/run/vm/tpm.sock");
	assert_true(json_object_object_get_ex(o, "ctrl", &v));
	assert_string_equal(json_object_get_string(v), "unix:/run/vm/tpm.sock");
	json_object_put(o);
	assert_int_equal(vtpm_mgr_desc_from_json(json, &back), 0);
	assert_memory_equal(&d, &back, sizeof(d));
	free(json);

	assert_int_equal(vtpm_mgr_desc_from_json("nope", &back), -EBADMSG);
	assert_int_equal(vtpm_mgr_desc_from_json("{\"name\":\"a\"}", &back), -EINVAL);
}

static void test_error_response(void **state)
{
	struct json_object *o, *v;
	char *text = vtpm_mgr_error_response(-EEXIST, "taken");

	o = json_tokener_parse(text);
	assert_true(json_object_object_get_ex(o, "ok", &v));
	assert_false(json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(o, "error", &v));
	assert_string_equal(json_object_get_string(v), "EEXIST");
	assert_true(json_object_object_get_ex(o, "errno", &v));
	assert_int_equal(json_object_get_int(v), EEXIST);
	json_object_put(o);
	free(text);
}

static void test_restart_backoff(void **state)
{
	struct vtpm_restart_limit rl;
	int64_t now = 1000000;

	vtpm_restart_limit_init(&rl, 5, 60000);
	/* Quick deaths double the delay. */
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), 100);
	now += 200;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), 200);
	now += 300;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), 400);
	now += 500;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), 800);
	now += 900;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), 1600);
	/* The sixth within 60 s: give up. */
	now += 1700;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), -1);

	/* After a reset (restart by request) it starts over. */
	vtpm_restart_limit_reset(&rl);
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 10), 100);
}

static void test_restart_window(void **state)
{
	struct vtpm_restart_limit rl;
	int64_t now = 0;

	vtpm_restart_limit_init(&rl, 2, 10000);
	assert_true(vtpm_restart_limit_record(&rl, now, now) > 0);
	now += 1000;
	assert_true(vtpm_restart_limit_record(&rl, now, now) > 0);
	/* The first death slid out of the window: a third is still allowed. */
	now += 9500;
	assert_true(vtpm_restart_limit_record(&rl, now, now) > 0);
	now += 100;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now), -1);

	/* A death after a long healthy run resets the backoff. */
	vtpm_restart_limit_init(&rl, 5, 10000);
	for (int i = 0; i < 4; i++) {
		now += 100;
		vtpm_restart_limit_record(&rl, now, now - 5);
	}
	now += 20000;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now - 15000), 100);

	/* The delay is capped. */
	vtpm_restart_limit_init(&rl, 64, 1000000);
	for (int i = 0; i < 20; i++) {
		now += 1;
		vtpm_restart_limit_record(&rl, now, now);
	}
	now += 1;
	assert_int_equal(vtpm_restart_limit_record(&rl, now, now), VTPM_RESTART_DELAY_MAX_MS);
}

static char tmpdir[] = "/tmp/test-manager-XXXXXX";

static void test_rundir(void **state)
{
	struct vtpm_mgr_desc d, back;
	char path[PATH_MAX];
	uint8_t *data;
	size_t len;
	int fd;

	assert_int_equal(vtpm_rundir_create(tmpdir, "../x"), -EINVAL);
	fd = vtpm_rundir_create(tmpdir, "web-1");
	assert_true(fd >= 0);
	assert_int_equal(vtpm_rundir_write_pid(fd, 1234), 0);
	assert_int_equal(vtpm_read_file(fd, VTPM_RUNDIR_PID, 64, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(data, "1234\n", 5);
	free(data);

	sample_desc(&d);
	assert_int_equal(vtpm_rundir_write_desc(fd, &d), 0);
	assert_int_equal(vtpm_read_file(fd, VTPM_RUNDIR_DESC, 65536, &data, &len), 0);
	assert_true(len > 0 && data[len - 1] == '\n');
	data[len - 1] = '\0';
	assert_int_equal(vtpm_mgr_desc_from_json((char *)data, &back), 0);
	assert_memory_equal(&d, &back, sizeof(d));
	free(data);
	close(fd);

	/* Reusing a directory clears what a dead run left. */
	fd = vtpm_rundir_create(tmpdir, "web-1");
	assert_true(fd >= 0);
	assert_int_equal(faccessat(fd, VTPM_RUNDIR_PID, F_OK, 0), -1);
	assert_int_equal(vtpm_rundir_write_pid(fd, 1), 0);
	close(fd);

	assert_int_equal(vtpm_rundir_remove(tmpdir, "web-1"), 0);
	snprintf(path, sizeof(path), "%s/web-1", tmpdir);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(vtpm_rundir_remove(tmpdir, "web-1"), 0);

	/* A foreign file keeps the directory. */
	fd = vtpm_rundir_create(tmpdir, "b");
	close(openat(fd, "foreign", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_int_equal(vtpm_rundir_remove(tmpdir, "b"), -ENOTEMPTY);
	unlinkat(fd, "foreign", 0);
	close(fd);
	assert_int_equal(vtpm_rundir_remove(tmpdir, "b"), 0);

	/* A symlink is not followed. */
	snprintf(path, sizeof(path), "%s/link", tmpdir);
	assert_int_equal(symlink("/", path), 0);
	assert_int_equal(vtpm_rundir_create(tmpdir, "link"), -ENOTDIR);
	unlink(path);
}

/* What a new manager reads to take over an instance: the description, and
 * a pidfd only for the process that serves the control socket. */
static void test_rundir_inspect(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vtpm_mgr_desc d, back;
	int fd, pidfd, sync[2], lfd;
	pid_t child;
	char c;

	sample_desc(&d);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), -ENOENT);
	fd = vtpm_rundir_create(tmpdir, "web-1");
	assert_true(fd >= 0);

	/* A child listening on ctrl.sock plays the instance. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/web-1/%s", tmpdir, VTPM_RUNDIR_CTRL);
	assert_int_equal(pipe(sync), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4) < 0)
			_exit(1);
		close(sync[0]);
		close(sync[1]); /* ready */
		pause();
		_exit(0);
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &c, 1), 0);
	close(sync[0]);

	d.pid = child;
	assert_int_equal(vtpm_rundir_write_desc(fd, &d), 0);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), 0);
	assert_int_equal(back.pid, child);
	assert_string_equal(back.tpm.path, "/dev/tpm0");
	if (has_pidfd())
		assert_true(pidfd >= 0);
	else
		assert_int_equal(pidfd, -1); /* valgrind: no takeover without a pidfd */
	if (pidfd >= 0)
		close(pidfd);

	/* A live process that is not the one serving (a reused pid): no pidfd. */
	d.pid = getpid();
	assert_int_equal(vtpm_rundir_write_desc(fd, &d), 0);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), 0);
	assert_int_equal(pidfd, -1);

	/* The instance gone: the description still, no pidfd. */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	d.pid = child;
	assert_int_equal(vtpm_rundir_write_desc(fd, &d), 0);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), 0);
	assert_int_equal(pidfd, -1);
	assert_int_equal(back.status, VTPM_INSTANCE_RUNNING);

	/* Descriptions that cannot be trusted. */
	strcpy(d.name, "other");
	assert_int_equal(vtpm_rundir_write_desc(fd, &d), 0);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), -EBADMSG);
	assert_int_equal(vtpm_write_file_atomic(fd, VTPM_RUNDIR_DESC, "{\"name\":\"web-1\"}", 17), 0);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), -EBADMSG);
	assert_int_equal(vtpm_write_file_atomic(fd, VTPM_RUNDIR_DESC, "", 0), 0);
	assert_int_equal(vtpm_rundir_inspect(tmpdir, "web-1", &back, &pidfd), -EBADMSG);
	assert_int_equal(pidfd, -1);

	unlinkat(fd, VTPM_RUNDIR_CTRL, 0);
	close(fd);
	assert_int_equal(vtpm_rundir_remove(tmpdir, "web-1"), 0);
}

/* ---- spares ---- */

static void test_spare_can_adopt(void **state)
{
	char dir[PATH_MAX - 32], file[PATH_MAX];
	struct vtpm_instance_spec spec = {
		.name = "a", .version = VTPM_VERSION_2, .state_dir = dir,
	};

	snprintf(dir, sizeof(dir), "%s/adopt", tmpdir);
	snprintf(file, sizeof(file), "%s/tpm2-00.permall", dir);
	assert_true(vtpm_spare_can_adopt(&spec)); /* absent */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_true(vtpm_spare_can_adopt(&spec)); /* empty */
	spec.version = VTPM_VERSION_1_2;
	assert_false(vtpm_spare_can_adopt(&spec));
	spec.version = VTPM_VERSION_2;
	spec.backend_flags = VTPM_LIBTPMS_RESUME;
	assert_false(vtpm_spare_can_adopt(&spec));
	spec.backend_flags = 0;
	close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	assert_false(vtpm_spare_can_adopt(&spec)); /* existing state */
	unlink(file);
	/* A spare's TPM runs; a virtual machine's waits for CMD_INIT. */
	spec.vm_socket = "/run/vm/tpm.sock";
	assert_false(vtpm_spare_can_adopt(&spec));
	spec.vm_socket = NULL;
	/* Its state is written, in plain: no manufacture on request, no key. */
	{
		struct vtpm_manufacture_options m = { .size = sizeof(m), .flags = VTPM_MANUFACTURE_EK };
		struct vtpm_state_key *key;
		struct vtpm_ctx *ctx;
		uint8_t bytes[16] = { 1 };

		spec.manufacture = &m;
		assert_false(vtpm_spare_can_adopt(&spec));
		spec.manufacture = NULL;
		assert_int_equal(vtpm_ctx_new(&ctx), 0);
		assert_int_equal(vtpm_state_key_new(ctx, bytes, sizeof(bytes), &key), 0);
		spec.key = key;
		assert_false(vtpm_spare_can_adopt(&spec));
		spec.key = NULL;
		assert_true(vtpm_spare_can_adopt(&spec));
		vtpm_state_key_unref(key);
		vtpm_ctx_unref(ctx);
	}
	rmdir(dir);
}

/* Entries of @dir whose name starts with ".spare-". */
static int count_spares(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += !strncmp(de->d_name, ".spare-", 7);
	if (d)
		closedir(d);
	return n;
}

/* Wait until @dir holds @want spares (a spare makes its directory when
 * forked, so this is about scheduling only). */
static int wait_spares(const char *dir, int want)
{
	int n = count_spares(dir);

	for (int i = 0; i < 1500 && n != want; i++) {
		poll(NULL, 0, 20);
		n = count_spares(dir);
	}
	return n;
}

/* With VTPM_MANAGER_NO_SPARES none is kept; either way, listening removes
 * the scratch directories of a manager that was killed. */
static void test_no_spares(void **state)
{
	struct vtpm_manager_options o = { .size = sizeof(o), .flags = VTPM_MANAGER_NO_SPARES };
	char run[PATH_MAX - 64], st[PATH_MAX - 64], stale[PATH_MAX], file[PATH_MAX + 16];
	struct vtpm_manager *mgr;
	struct vtpm_ctx *ctx;

	snprintf(run, sizeof(run), "%s/run", tmpdir);
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	snprintf(stale, sizeof(stale), "%s/.spare-dead01", st);
	snprintf(file, sizeof(file), "%s/tpm2-00.permall", stale);
	assert_int_equal(mkdir(st, 0700), 0);
	assert_int_equal(mkdir(stale, 0700), 0);
	close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
	o.run_dir = run;
	o.state_dir = st;
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), 0);
	assert_int_equal(vtpm_manager_listen(mgr, NULL), 0);
	assert_int_equal(access(stale, F_OK), -1);
	poll(NULL, 0, 100);
	assert_int_equal(count_spares(st), 0);
	vtpm_manager_unref(mgr);
	vtpm_ctx_unref(ctx);

	/* A flag this version does not know. */
	o.flags = 1u << 7;
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), -EINVAL);
	vtpm_ctx_unref(ctx);
	rmdir(st);
	rmdir(run);
}

/* Releasing hands instances over and retires the spares. */
static void test_release(void **state)
{
	struct vtpm_manager_options o = { .size = sizeof(o) };
	char run[PATH_MAX - 64], st[PATH_MAX - 64];
	struct vtpm_manager *mgr;
	struct vtpm_ctx *ctx;

	snprintf(run, sizeof(run), "%s/run", tmpdir);
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	o.run_dir = run;
	o.state_dir = st;
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	assert_int_equal(vtpm_manager_new(ctx, &o, &mgr), 0);
	assert_int_equal(vtpm_manager_listen(mgr, NULL), 0);
	assert_int_equal(wait_spares(st, 2), 2);
	assert_int_equal(vtpm_manager_release(mgr), 0);
	assert_int_equal(count_spares(st), 0);
	assert_int_equal(vtpm_manager_get_count(mgr), 0);
	vtpm_manager_unref(mgr);
	vtpm_ctx_unref(ctx);
	rmdir(st);
	rmdir(run);
}

/* ---- the protocol end to end, against a manager with no driver ---- */

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

static char *request(const char *sock, const char *req)
{
	struct vtpm_ctx *ctx;
	char *resp = NULL;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_manager_request(ctx, sock, req, 5000, &resp), 0);
	vtpm_ctx_unref(ctx);
	return resp;
}

static void test_protocol(void **state)
{
	struct vtpm_manager_options o = { .size = sizeof(o) };
	char run[PATH_MAX - 64], st[PATH_MAX], sock[PATH_MAX];
	struct json_object *a, *v;
	struct vtpm_ctx *ctx;
	struct server s;
	char *resp;

	snprintf(run, sizeof(run), "%s/run", tmpdir);
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	snprintf(sock, sizeof(sock), "%s/%s", run, VTPM_MANAGER_SOCKET);
	o.run_dir = run;
	o.state_dir = st;
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	/* No driver here: every instance fails to start. */
	assert_int_equal(vtpm_ctx_set_path(ctx, VTPM_PATH_VTPMX, "/nonexistent/vtpmx"), 0);

	o.run_dir = "relative";
	assert_int_equal(vtpm_manager_new(ctx, &o, &s.mgr), -EINVAL);
	o.run_dir = run;
	assert_int_equal(vtpm_manager_new(ctx, &o, &s.mgr), 0);
	assert_int_equal(vtpm_manager_listen(s.mgr, NULL), 0);
	assert_int_equal(vtpm_manager_listen(s.mgr, NULL), -EBUSY);
	assert_int_equal(vtpm_manager_create(s.mgr, "../x", NULL), -EINVAL);
	assert_int_equal(vtpm_manager_destroy(s.mgr, "none"), -ENOENT);
	assert_int_equal(vtpm_manager_get_timeout(s.mgr), -1);
	/* Listening starts the spares. */
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	assert_int_equal(wait_spares(st, 2), 2);
	assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);

	resp = request(sock, "{\"op\":\"list\"}");
	a = json_tokener_parse(resp);
	assert_true(json_object_object_get_ex(a, "ok", &v) && json_object_get_boolean(v));
	assert_true(json_object_object_get_ex(a, "instances", &v));
	assert_int_equal(json_object_array_length(v), 0);
	json_object_put(a);
	free(resp);

	resp = request(sock, "{\"op\":\"status\",\"name\":\"x\"}");
	a = json_tokener_parse(resp);
	assert_true(json_object_object_get_ex(a, "error", &v));
	assert_string_equal(json_object_get_string(v), "ENOENT");
	json_object_put(a);
	free(resp);

	resp = request(sock, "not json");
	a = json_tokener_parse(resp);
	assert_true(json_object_object_get_ex(a, "error", &v));
	assert_string_equal(json_object_get_string(v), "EBADMSG");
	json_object_put(a);
	free(resp);

	/* A create is answered once the instance has failed; it is forgotten. */
	resp = request(sock, "{\"op\":\"create\",\"name\":\"a\"}");
	a = json_tokener_parse(resp);
	assert_true(json_object_object_get_ex(a, "ok", &v));
	assert_false(json_object_get_boolean(v));
	json_object_put(a);
	free(resp);
	/* Its state directory was made below the state root. */
	snprintf(st, sizeof(st), "%s/state/a", tmpdir);
	assert_int_equal(access(st, F_OK), 0);
	/* The create took a spare, which was replaced. */
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	assert_int_equal(wait_spares(st, 2), 2);
	snprintf(st, sizeof(st), "%s/state/a", tmpdir);

	vtpm_manager_stop(s.mgr);
	pthread_join(s.thread, NULL);
	for (int i = 0; i < 1500 && vtpm_manager_get_count(s.mgr); i++) {
		poll(NULL, 0, 20);
		vtpm_manager_dispatch(s.mgr);
	}
	assert_int_equal(vtpm_manager_get_count(s.mgr), 0);
	vtpm_manager_unref(s.mgr);
	assert_int_equal(access(sock, F_OK), -1);
	/* Retired spares leave nothing behind. */
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	assert_int_equal(count_spares(st), 0);
	snprintf(st, sizeof(st), "%s/state/a", tmpdir);
	vtpm_ctx_unref(ctx);
	/* The instance's TPM may have manufactured its state before failing. */
	{
		DIR *d = opendir(st);
		struct dirent *de;

		while (d && (de = readdir(d)))
			unlinkat(dirfd(d), de->d_name, 0);
		if (d)
			closedir(d);
	}
	rmdir(st);
	snprintf(st, sizeof(st), "%s/state", tmpdir);
	rmdir(st);
	rmdir(run);
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
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_request_errors),
		cmocka_unit_test(test_desc_round_trip),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_restart_backoff),
		cmocka_unit_test(test_restart_window),
		cmocka_unit_test(test_rundir),
		cmocka_unit_test(test_rundir_inspect),
		cmocka_unit_test(test_spare_can_adopt),
		cmocka_unit_test(test_no_spares),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_protocol),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

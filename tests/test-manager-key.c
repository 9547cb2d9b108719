/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's encrypted and manufactured instances: the request members
 * for them, the key's way as a descriptor, and a real manager in this
 * process serving virtual machines' instances (no driver needed) with a
 * key and with manufacture: wrong and missing keys refused before the
 * state is touched, the key kept for a restart, never shown, the EK
 * certificate in the state afterwards.
 */
#include "config.h"

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
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "has-pidfd.h"
#include "manager-internal.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"

static char tmpdir[] = "/tmp/test-manager-key-XXXXXX";

static const uint8_t key_bytes[32] = {
	0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
	0xcd, 0xef, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b,
	0x3c, 0x2d, 0x1e, 0x0f,
};
/* How the key would look if it leaked into JSON text. */
#define KEY_HEX_PREFIX "1032547698badcfe"

/* "manufacture" and "key" go through format and parse unchanged. */
static void test_request_members(void **state)
{
	struct vtpm_manufacture_options m = {
		.size = sizeof(m), .flags = VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_LOCK_NV |
					    VTPM_MANUFACTURE_PLATFORM_CERT,
		.pcr_banks = VTPM_PCR_BANK_SHA1 | VTPM_PCR_BANK_SHA384, .ca_dir = "/var/lib/vtpm/ca",
	}, got;
	struct vtpm_mgr_request req = { .op = VTPM_MGR_OP_CREATE, .name = "enc", .key = true };
	struct vtpm_mgr_request back;
	char *text;

	assert_int_equal(vtpm_mgr_request_set_manufacture(&req, &m), 0);
	assert_int_equal(vtpm_mgr_request_format(&req, &text), 0);
	assert_non_null(strstr(text, "\"pcr_banks\":\"sha1,sha384\""));
	assert_int_equal(vtpm_mgr_request_parse(text, strlen(text), &back), 0);
	free(text);
	assert_true(back.key);
	assert_true(back.manufacture);
	vtpm_mgr_request_get_manufacture(&back, &got);
	assert_int_equal(got.flags, m.flags);
	assert_int_equal(got.pcr_banks, m.pcr_banks);
	assert_string_equal(got.ca_dir, m.ca_dir);
	assert_null(got.ca_key);
	assert_null(got.ca_cert);

	/* Relative or unsafe CA paths and unknown flags are refused on both sides. */
	m.ca_dir = "ca";
	assert_int_equal(vtpm_mgr_request_set_manufacture(&req, &m), -EINVAL);
	m.ca_dir = "/a/../b";
	assert_int_equal(vtpm_mgr_request_set_manufacture(&req, &m), -EINVAL);
	m.ca_dir = NULL;
	m.flags = 1u << 20;
	assert_int_equal(vtpm_mgr_request_set_manufacture(&req, &m), -EINVAL);

	static const char *const bad[] = {
		"{\"op\":\"create\",\"name\":\"a\",\"manufacture\":true}",
		"{\"op\":\"create\",\"name\":\"a\",\"manufacture\":{\"create_ek\":1}}",
		"{\"op\":\"create\",\"name\":\"a\",\"manufacture\":{\"pcr_banks\":\"md5\"}}",
		"{\"op\":\"create\",\"name\":\"a\",\"manufacture\":{\"pcr_banks\":7}}",
		"{\"op\":\"create\",\"name\":\"a\",\"manufacture\":{\"ca_key\":\"k.pem\"}}",
		"{\"op\":\"create\",\"name\":\"a\",\"key\":\"00112233\"}",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(vtpm_mgr_request_parse(bad[i], strlen(bad[i]), &back), -EINVAL);
}

/* The key's descriptor: a sealed memfd out, only a key-sized file in. */
static void test_key_fd(void **state)
{
	struct vtpm_state_key *key, *back;
	struct vtpm_ctx *ctx;
	int fd, p[2];

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	assert_int_equal(vtpm_state_key_new(ctx, key_bytes, 32, &key), 0);
	fd = vtpm_mgr_key_to_fd(key);
	assert_true(fd >= 0);
	/* Sealed: the manager reads what the client wrote, nothing else. */
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(vtpm_mgr_key_from_fd(ctx, fd, &back), 0);
	assert_int_equal(vtpm_state_key_size(back), 32);
	assert_memory_equal(vtpm_state_key_bytes(back), key_bytes, 32);
	vtpm_state_key_unref(back);
	close(fd);

	/* A pipe could make the manager wait: refused without reading. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(vtpm_mgr_key_from_fd(ctx, p[0], &back), -EINVAL);
	close(p[0]);
	close(p[1]);
	/* A file of any other size. */
	fd = memfd_create("k", MFD_CLOEXEC);
	assert_int_equal(write(fd, key_bytes, 31), 31);
	assert_int_equal(vtpm_mgr_key_from_fd(ctx, fd, &back), -EINVAL);
	assert_int_equal(write(fd, key_bytes, 2), 2);
	assert_int_equal(vtpm_mgr_key_from_fd(ctx, fd, &back), -EINVAL);
	close(fd);
	vtpm_state_key_unref(key);
	vtpm_ctx_unref(ctx);
}

/* ---- a real manager ---- */

struct server {
	struct vtpm_manager *mgr;
	pthread_t thread;
	struct vtpm_manager_client *client;
	struct vtpm_ctx *ctx;
	char run[256], states[256];
};

static void *serve(void *arg)
{
	struct server *s = arg;

	vtpm_manager_run(s->mgr);
	return NULL;
}

static void server_start(struct server *s)
{
	struct vtpm_manager_options o = {
		.size = sizeof(o), .flags = VTPM_MANAGER_NO_SPARES | VTPM_MANAGER_NO_SANDBOX,
	};
	struct vtpm_manager_client_options co = { .size = sizeof(co), .timeout_ms = 120000 };
	char sock[PATH_MAX];

	snprintf(s->run, sizeof(s->run), "%s/run", tmpdir);
	snprintf(s->states, sizeof(s->states), "%s/states", tmpdir);
	snprintf(sock, sizeof(sock), "%s/%s", s->run, VTPM_MANAGER_SOCKET);
	o.run_dir = s->run;
	o.state_dir = s->states;
	assert_int_equal(vtpm_ctx_new(&s->ctx), 0);
	vtpm_ctx_set_log_priority(s->ctx, LOG_EMERG);
	assert_int_equal(vtpm_ctx_set_path(s->ctx, VTPM_PATH_VTPMX, "/nonexistent/vtpmx"), 0);
	assert_int_equal(vtpm_manager_new(s->ctx, &o, &s->mgr), 0);
	assert_int_equal(vtpm_manager_listen(s->mgr, NULL), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
	co.socket_path = sock;
	assert_int_equal(vtpm_manager_client_new(s->ctx, &co, &s->client), 0);
}

static void server_stop(struct server *s)
{
	char cmd[PATH_MAX + 16];

	vtpm_manager_stop(s->mgr);
	pthread_join(s->thread, NULL);
	vtpm_manager_unref(s->mgr);
	vtpm_manager_client_unref(s->client);
	vtpm_ctx_unref(s->ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", s->run, s->states);
	assert_int_equal(system(cmd), 0);
}

/* Write a TPM 2's state into @dir, encrypted with @key (or plain). */
static void make_state(struct vtpm_ctx *ctx, const char *dir, struct vtpm_state_key *key)
{
	struct vtpm_libtpms_options lo = {
		.size = sizeof(lo), .version = VTPM_VERSION_2, .state_dir = dir, .key = key,
	};
	struct vtpm_backend *b;

	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(vtpm_backend_new_libtpms_opts(ctx, &lo, &b), 0);
	assert_int_equal(vtpm_backend_startup(b, 0, NULL), 0);
	assert_int_equal(vtpm_backend_shutdown(b), 0);
	vtpm_backend_unref(b);
}

static void test_encrypted_instance(void **state)
{
	struct vtpm_instance_options io = { .size = sizeof(io) };
	struct vtpm_state_key *key, *wrong;
	struct vtpm_instance_info *info = NULL;
	struct server s = {};
	char dir[512], sock[512], mgr_sock[512], req[PATH_MAX];
	char *json = NULL;
	uint8_t other[32];
	pid_t pid;
	int r;

	if (!has_pidfd())
		skip();
	server_start(&s);
	snprintf(dir, sizeof(dir), "%s/enc", s.states);
	snprintf(sock, sizeof(sock), "%s/enc.sock", tmpdir);
	snprintf(mgr_sock, sizeof(mgr_sock), "%s/%s", s.run, VTPM_MANAGER_SOCKET);
	assert_int_equal(vtpm_state_key_new(s.ctx, key_bytes, 32, &key), 0);
	memcpy(other, key_bytes, 32);
	other[31] ^= 1;
	assert_int_equal(vtpm_state_key_new(s.ctx, other, 32, &wrong), 0);
	assert_int_equal(mkdir(s.states, 0700), 0);
	make_state(s.ctx, dir, key);

	io.state_dir = dir;
	io.socket = sock;
	/* No key, a wrong key: refused by name, before anything serves. */
	assert_int_equal(vtpm_manager_client_create(s.client, "enc", &io, &info), -ENOKEY);
	assert_null(info);
	assert_string_equal(vtpm_manager_client_get_message(s.client),
			    "the state is encrypted: the instance needs its key");
	io.key = wrong;
	assert_int_equal(vtpm_manager_client_create(s.client, "enc", &io, &info), -EKEYREJECTED);
	assert_int_equal(access(sock, F_OK), -1);
	/* "key": true without a descriptor is a bad request. */
	snprintf(req, sizeof(req), "{\"op\":\"create\",\"name\":\"enc\",\"state_dir\":\"%s\","
		 "\"socket\":\"%s\",\"key\":true}", dir, sock);
	assert_int_equal(vtpm_manager_request(s.ctx, mgr_sock, req, 0, &json), 0);
	assert_non_null(strstr(json, "\"EINVAL\""));
	free(json);

	/* The right key: served, described as encrypted, the key nowhere. */
	io.key = key;
	assert_int_equal(vtpm_manager_client_create(s.client, "enc", &io, &info), 0);
	pid = vtpm_instance_info_get_pid(info);
	vtpm_instance_info_unref(info);
	snprintf(req, sizeof(req), "{\"op\":\"status\",\"name\":\"enc\"}");
	assert_int_equal(vtpm_manager_request(s.ctx, mgr_sock, req, 0, &json), 0);
	assert_non_null(strstr(json, "\"encrypted\":true"));
	assert_null(strcasestr(json, KEY_HEX_PREFIX));
	free(json);
	assert_int_equal(vtpm_manager_request(s.ctx, mgr_sock, "{\"op\":\"list\"}", 0, &json), 0);
	assert_null(strcasestr(json, KEY_HEX_PREFIX));
	free(json);

	/* It dies; the manager starts it again on its encrypted state. */
	assert_int_equal(kill(pid, SIGKILL), 0);
	r = -1;
	for (int i = 0; i < 3000; i++) {
		enum vtpm_instance_status st;
		pid_t now;

		poll(NULL, 0, 20);
		if (vtpm_manager_client_status(s.client, "enc", &info) < 0)
			continue;
		st = vtpm_instance_info_get_status(info);
		now = vtpm_instance_info_get_pid(info);
		r = vtpm_instance_info_get_restarts(info);
		vtpm_instance_info_unref(info);
		if (st == VTPM_INSTANCE_RUNNING && now != pid && now > 0)
			break;
		assert_int_not_equal(st, VTPM_INSTANCE_FAILED);
		r = -1;
	}
	assert_int_equal(r, 1);
	assert_int_equal(vtpm_manager_client_destroy(s.client, "enc"), 0);

	vtpm_state_key_unref(wrong);
	vtpm_state_key_unref(key);
	server_stop(&s);
}

/* Manufacture through the manager: the EK certificate is in the state. */
static void test_manufactured_instance(void **state)
{
	struct vtpm_manufacture_options m = {
		.size = sizeof(m), .flags = VTPM_MANUFACTURE_EK_CERT,
	};
	struct vtpm_instance_options io = { .size = sizeof(io), .manufacture = &m };
	struct vtpm_instance_info *info = NULL;
	struct vtpm_backend *b;
	struct server s = {};
	char dir[512], ca[512], sock[512], addr[520];
	uint8_t *der;
	size_t len;

	if (!has_pidfd())
		skip();
	server_start(&s);
	snprintf(dir, sizeof(dir), "%s/mf", s.states);
	snprintf(ca, sizeof(ca), "%s/ca", tmpdir);
	snprintf(sock, sizeof(sock), "%s/mf.sock", tmpdir);
	m.ca_dir = ca;
	io.socket = sock;
	io.state_dir = dir;
	assert_int_equal(mkdir(s.states, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	/* Manufacture is for a TPM 2. */
	io.version = VTPM_VERSION_1_2;
	assert_int_equal(vtpm_manager_client_create(s.client, "mf", &io, &info), -EINVAL);
	io.version = 0;
	assert_int_equal(vtpm_manager_client_create(s.client, "mf", &io, &info), 0);
	/* A virtual machine's instance: its control channel is its socket. */
	snprintf(addr, sizeof(addr), "unix:%s", sock);
	assert_string_equal(vtpm_instance_info_get_ctrl_address(info), addr);
	vtpm_instance_info_unref(info);
	assert_int_equal(vtpm_manager_client_destroy(s.client, "mf"), 0);

	assert_int_equal(vtpm_backend_new_libtpms(s.ctx, VTPM_VERSION_2, dir, 0, &b), 0);
	assert_int_equal(vtpm_backend_start(b), 0);
	assert_int_equal(vtpm_ek_cert_read(b, VTPM_EK_RSA2048, 0, &der, &len), 0);
	assert_true(len > 500);
	free(der);
	assert_int_equal(vtpm_ek_cert_read(b, VTPM_EK_ECC_NIST_P256, 0, &der, &len), 0);
	free(der);
	vtpm_backend_shutdown(b);
	vtpm_backend_unref(b);
	vtpm_remove_flat_dir(ca);
	server_stop(&s);
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
		cmocka_unit_test(test_request_members),
		cmocka_unit_test(test_key_fd),
		cmocka_unit_test(test_encrypted_instance),
		cmocka_unit_test(test_manufactured_instance),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

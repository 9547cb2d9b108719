/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The swtpm backend against a real "swtpm socket" process: TPM 2 commands
 * through our relay, locality, state export and import, reconnecting after
 * swtpm restarts, and the timeout when swtpm hangs; on Unix sockets and on
 * loopback TCP.  Skipped (77) when swtpm
 * is not installed.
 */
#include "config.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "loopback-port.h"
#include "tpm2-cmd.h"
#include "vtpm-internal.h"

#define NV_INDEX 0x01500030

static char dir[] = "/tmp/test-swtpm-XXXXXX";
static char data_addr[160], ctrl_addr[160], data_path[128], ctrl_path[128], tpmstate[160];
static uint16_t data_port, ctrl_port; /* swtpm on TCP when not 0 */
static pid_t swtpm_pid = -1;

struct tpm {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	struct vtpm_relay *relay;
	int sv[2];
};

static void stop_swtpm(void)
{
	if (swtpm_pid > 0) {
		kill(swtpm_pid, SIGCONT);
		kill(swtpm_pid, SIGKILL);
		waitpid(swtpm_pid, NULL, 0);
		swtpm_pid = -1;
	}
	unlink(data_path);
	unlink(ctrl_path);
}

/* Whether something accepts connections on 127.0.0.1:@port. */
static bool tcp_listening(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static bool swtpm_listening(void)
{
	if (data_port)
		return tcp_listening(ctrl_port) && tcp_listening(data_port);
	return access(ctrl_path, F_OK) == 0 && access(data_path, F_OK) == 0;
}

/* Start "swtpm socket" on our two Unix sockets, or on loopback TCP when
 * the ports are set; @flags for --flags or NULL. */
static void start_swtpm(const char *flags)
{
	char server[200], ctrl[200];

	if (data_port) {
		snprintf(server, sizeof(server), "type=tcp,bindaddr=127.0.0.1,port=%u", data_port);
		snprintf(ctrl, sizeof(ctrl), "type=tcp,bindaddr=127.0.0.1,port=%u", ctrl_port);
	} else {
		snprintf(server, sizeof(server), "type=unixio,path=%s", data_path);
		snprintf(ctrl, sizeof(ctrl), "type=unixio,path=%s", ctrl_path);
	}
	swtpm_pid = fork();
	assert_true(swtpm_pid >= 0);
	if (swtpm_pid == 0) {
		const char *argv[] = { "swtpm", "socket", "--tpm2", "--tpmstate", tpmstate,
				       "--server", server, "--ctrl", ctrl,
				       flags ? "--flags" : NULL, flags, NULL };

		execvp("swtpm", (char **)argv);
		_exit(127);
	}
	for (int i = 0; i < 500; i++) {
		if (swtpm_listening())
			return;
		usleep(10 * 1000);
	}
	fail_msg("swtpm did not create its sockets");
}

static void tpm_open(struct tpm *t, int timeout_ms)
{
	assert_int_equal(vtpm_ctx_new(&t->ctx), 0);
	vtpm_ctx_set_log_priority(t->ctx, LOG_CRIT);
	assert_int_equal(vtpm_backend_new_swtpm(t->ctx, VTPM_VERSION_2, data_addr, ctrl_addr,
						timeout_ms, &t->backend), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, t->sv), 0);
	assert_int_equal(vtpm_relay_new_from_fd(t->backend, t->sv[0], &t->relay), 0);
}

static void tpm_close(struct tpm *t)
{
	t->relay = vtpm_relay_unref(t->relay);
	t->backend = vtpm_backend_unref(t->backend);
	t->ctx = vtpm_ctx_unref(t->ctx);
	close(t->sv[0]);
	close(t->sv[1]);
}

static size_t transact(struct tpm *t, const struct cmdbuf *c, uint8_t *resp)
{
	ssize_t n;

	assert_int_equal(write(t->sv[1], c->b, c->len), (ssize_t)c->len);
	assert_int_equal(vtpm_relay_dispatch(t->relay), 1);
	n = read(t->sv[1], resp, VTPM_BUFFER_SIZE);
	assert_true(n >= TPM_HEADER_SIZE);
	return (size_t)n;
}

static uint32_t run(struct tpm *t, const struct cmdbuf *c)
{
	uint8_t resp[VTPM_BUFFER_SIZE];

	transact(t, c, resp);
	return resp_rc(resp);
}

static void set_locality(struct tpm *t, uint8_t locality)
{
	struct cmdbuf c;

	cmd_begin(&c, TPM2_ST_NO_SESSIONS, VTPM_CC_SET_LOCALITY);
	cmd_u8(&c, locality);
	cmd_end(&c);
	assert_int_equal(run(t, &c), 0);
}

static int setup(void **state)
{
	if (system("command -v swtpm >/dev/null 2>&1") != 0) {
		fprintf(stderr, "swtpm is not installed: skipping\n");
		exit(77);
	}
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(dir));
	snprintf(data_path, sizeof(data_path), "%s/data.sock", dir);
	snprintf(ctrl_path, sizeof(ctrl_path), "%s/ctrl.sock", dir);
	snprintf(data_addr, sizeof(data_addr), "unix:%s", data_path);
	snprintf(ctrl_addr, sizeof(ctrl_addr), "unix:%s", ctrl_path);
	snprintf(tpmstate, sizeof(tpmstate), "dir=%s", dir);
	data_port = ctrl_port = 0;
	return 0;
}

/* The same, with swtpm on loopback TCP. */
static int setup_tcp(void **state)
{
	setup(state);
	assert_int_equal(loopback_ports(&data_port, &ctrl_port), 0);
	snprintf(data_addr, sizeof(data_addr), "unauthenticated-tcp:127.0.0.1:%u", data_port);
	snprintf(ctrl_addr, sizeof(ctrl_addr), "unauthenticated-tcp:127.0.0.1:%u", ctrl_port);
	return 0;
}

static int teardown(void **state)
{
	struct dirent *de;
	DIR *d;

	stop_swtpm();
	d = opendir(dir);
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	return 0;
}

static void test_commands_through_relay(void **state)
{
	static const uint8_t zeros[32];
	static const char secret[] = "stored in swtpm";
	uint8_t resp[VTPM_BUFFER_SIZE];
	const uint8_t *data;
	struct vtpm_ctrl_client *client;
	struct cmdbuf c;
	struct tpm t;
	uint16_t size;
	char *info = NULL;
	size_t n;

	/* No not-need-init: starting the backend must send CMD_INIT. */
	start_swtpm(NULL);
	tpm_open(&t, 0);
	assert_true(vtpm_backend_is_running(t.backend));

	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(run(&t, &c), 0);
	tpm2_get_random(&c, 16);
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(n, TPM_HEADER_SIZE + 2 + 16);

	/* PCR 16 may be extended from locality 0; the locality goes to swtpm. */
	set_locality(&t, 0);
	tpm2_pcr_extend_sha256(&c, 16, zeros);
	assert_int_equal(run(&t, &c), 0);
	tpm2_pcr_read_sha256(&c, 16);
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_non_null(tpm2_pcr_read_digest(resp, n));
	/* PCR 17 belongs to locality 4 (PC Client profile): refused at 0, fine at 4. */
	tpm2_pcr_extend_sha256(&c, 17, zeros);
	assert_int_not_equal(run(&t, &c), 0);
	set_locality(&t, 4);
	tpm2_pcr_extend_sha256(&c, 17, zeros);
	assert_int_equal(run(&t, &c), 0);
	set_locality(&t, 0);

	tpm2_nv_define(&c, NV_INDEX, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_write(&c, NV_INDEX, secret, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_read(&c, NV_INDEX, sizeof(secret));
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	data = tpm2_nv_read_data(resp, n, &size);
	assert_non_null(data);
	assert_memory_equal(data, secret, sizeof(secret));

	/* Our control client speaks swtpm's own endpoint too. */
	assert_int_equal(vtpm_ctrl_client_new(t.ctx, ctrl_addr, 30000, &client), 0);
	assert_int_equal(vtpm_ctrl_client_get_info(client, 1, &info), 0);
	assert_non_null(strstr(info, "\"family\":\"2.0\""));
	free(info);
	vtpm_ctrl_client_unref(client);

	/* Backend shutdown stops swtpm's TPM but leaves the process. */
	assert_int_equal(vtpm_backend_shutdown(t.backend), 0);
	tpm2_get_random(&c, 8);
	assert_int_equal(run(&t, &c), TPM2_RC_FAILURE);
	assert_int_equal(kill(swtpm_pid, 0), 0);
	/* And starting again re-initialises it: permanent state kept. */
	assert_int_equal(vtpm_backend_start(t.backend), 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_read(&c, NV_INDEX, sizeof(secret));
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	tpm_close(&t);
}

static void test_state_export_import(void **state)
{
	static const char secret[] = "migrates via swtpm";
	static const uint8_t zeros[32];
	uint8_t resp[VTPM_BUFFER_SIZE], pcr[32];
	struct vtpm_state *st = NULL;
	const uint8_t *data;
	uint8_t *blob;
	size_t n, len;
	struct cmdbuf c;
	struct tpm t;
	uint16_t size;
	char path[200];

	start_swtpm("not-need-init,startup-clear");
	tpm_open(&t, 0);
	tpm2_nv_define(&c, NV_INDEX, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_write(&c, NV_INDEX, secret, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_pcr_extend_sha256(&c, 16, zeros);
	assert_int_equal(run(&t, &c), 0);
	tpm2_pcr_read_sha256(&c, 16);
	n = transact(&t, &c, resp);
	data = tpm2_pcr_read_digest(resp, n);
	assert_non_null(data);
	memcpy(pcr, data, 32);

	/* Export through the backend into a state file... */
	assert_int_equal(vtpm_state_from_backend(t.backend, &st), 0);
	assert_int_equal(vtpm_state_get_blob(st, VTPM_STATE_PERMANENT, &data, &len), 0);
	assert_int_equal(vtpm_state_get_blob(st, VTPM_STATE_VOLATILE, &data, &len), 0);
	snprintf(path, sizeof(path), "%s/export.state", dir);
	assert_int_equal(vtpm_state_write_file(st, path), 0);
	st = vtpm_state_unref(st);
	tpm_close(&t);

	/* ...wipe swtpm's state, start a fresh swtpm... */
	stop_swtpm();
	snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
	assert_int_equal(unlink(path), 0);
	start_swtpm(NULL);

	/* ...and import: swtpm takes state only while stopped. */
	tpm_open(&t, 0);
	snprintf(path, sizeof(path), "%s/export.state", dir);
	assert_int_equal(vtpm_state_read_file(t.ctx, path, &st), 0);
	assert_int_equal(vtpm_state_to_backend(st, t.backend), -EBUSY);
	assert_int_equal(vtpm_backend_shutdown(t.backend), 0);
	assert_int_equal(vtpm_backend_get_state(t.backend, VTPM_STATE_PERMANENT, &blob, &len), -ENXIO);
	assert_int_equal(vtpm_state_to_backend(st, t.backend), 0);
	st = vtpm_state_unref(st);
	assert_int_equal(vtpm_backend_start(t.backend), 0);

	/* The volatile state resumed: same PCR, no Startup; NV is back. */
	tpm2_pcr_read_sha256(&c, 16);
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_memory_equal(tpm2_pcr_read_digest(resp, n), pcr, 32);
	tpm2_nv_read(&c, NV_INDEX, sizeof(secret));
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	data = tpm2_nv_read_data(resp, n, &size);
	assert_non_null(data);
	assert_memory_equal(data, secret, sizeof(secret));
	tpm_close(&t);
}

#define HANG_TIMEOUT_MS 5000

static void test_reconnect_and_timeout(void **state)
{
	struct cmdbuf c;
	struct tpm t;
	int64_t t0;

	start_swtpm("not-need-init,startup-clear");
	/* The timeout also bounds the commands that must succeed, right after
	 * swtpm restarts or resumes: wide, so that a loaded runner keeps them
	 * within it. */
	tpm_open(&t, HANG_TIMEOUT_MS);
	tpm2_get_random(&c, 8);
	assert_int_equal(run(&t, &c), 0);

	/* swtpm restarts: the stale connections are replaced once, silently. */
	stop_swtpm();
	start_swtpm("not-need-init,startup-clear");
	assert_int_equal(run(&t, &c), 0);
	set_locality(&t, 1);
	assert_int_equal(run(&t, &c), 0);

	/* swtpm hangs: a TPM failure after the timeout, not a hang of ours. */
	kill(swtpm_pid, SIGSTOP);
	t0 = vtpm_now_ms();
	set_locality(&t, 0); /* the next command must talk to swtpm's control channel too */
	assert_int_equal(run(&t, &c), TPM2_RC_FAILURE);
	/* It waited for the timeout, and a hang is all the upper bound catches:
	 * a loaded runner may take long, never forever. */
	assert_true(vtpm_now_ms() - t0 >= HANG_TIMEOUT_MS - 1);
	assert_true(vtpm_now_ms() - t0 < 6 * HANG_TIMEOUT_MS);
	kill(swtpm_pid, SIGCONT);
	/* It recovers: the late response went to a closed connection. */
	assert_int_equal(run(&t, &c), 0);

	/* swtpm gone: TPM failure, and the relay lives on. */
	stop_swtpm();
	assert_int_equal(run(&t, &c), TPM2_RC_FAILURE);
	assert_int_equal(run(&t, &c), TPM2_RC_FAILURE);
	tpm_close(&t);
}

static void test_bad_arguments(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_backend *b;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	assert_int_equal(vtpm_backend_new_swtpm(ctx, 3, data_addr, ctrl_addr, 0, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new_swtpm(ctx, VTPM_VERSION_2, "nowhere", ctrl_addr, 0, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new_swtpm(ctx, VTPM_VERSION_2, data_addr, "tcp:host", 0, &b), -EINVAL);
	/* Nobody listens: start fails, cleanly. */
	assert_int_equal(vtpm_backend_new_swtpm(ctx, VTPM_VERSION_2, data_addr, ctrl_addr, 0, &b), 0);
	assert_true(vtpm_backend_start(b) < 0);
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commands_through_relay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_export_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_and_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commands_through_relay, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_and_timeout, setup_tcp, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

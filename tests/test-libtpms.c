/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libtpms backend running real TPM 2 commands through a relay, and its
 * state surviving a restart.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "state-dir.h"
#include "tpm2-cmd.h"
#include "vtpm-internal.h"

#define NV_INDEX 0x01500016
#define TEST_PCR 16
/* A static PCR, saved by TPM2_Shutdown(STATE) (PC Client PTP, PCR attributes). */
#define SAVED_PCR 8

/* SHA-256(32 zero bytes || 32 zero bytes): PCR 16 after one extend by zeros. */
static const uint8_t pcr_after_zero_extend[32] = {
	0xf5, 0xa5, 0xfd, 0x42, 0xd1, 0x6a, 0x20, 0x30, 0x27, 0x98, 0xef, 0x6e, 0xd3, 0x09, 0x97, 0x9b,
	0x43, 0x00, 0x3d, 0x23, 0x20, 0xd9, 0xf0, 0xe8, 0xea, 0x98, 0x31, 0xa9, 0x27, 0x59, 0xfb, 0x4b,
};

struct tpm {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	struct vtpm_relay *relay;
	int sv[2];
};

static char state_dir[] = "/tmp/test-libtpms-XXXXXX";

static void tpm_open(struct tpm *t, unsigned int flags)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, t->sv), 0);
	assert_int_equal(vtpm_ctx_new(&t->ctx), 0);
	assert_int_equal(vtpm_backend_new_libtpms(t->ctx, VTPM_VERSION_2, state_dir, flags, &t->backend), 0);
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

static void read_pcr_n(struct tpm *t, uint32_t index, uint8_t out[32])
{
	uint8_t resp[VTPM_BUFFER_SIZE];
	const uint8_t *digest;
	struct cmdbuf c;
	size_t n;

	tpm2_pcr_read_sha256(&c, index);
	n = transact(t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	digest = tpm2_pcr_read_digest(resp, n);
	assert_non_null(digest);
	memcpy(out, digest, 32);
}

static void read_pcr(struct tpm *t, uint8_t out[32])
{
	read_pcr_n(t, TEST_PCR, out);
}

static int setup(void **state)
{
	memcpy(state_dir + strlen(state_dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(state_dir));
	return 0;
}

static int teardown(void **state)
{
	struct dirent *de;
	DIR *d = opendir(state_dir);

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' || de->d_name[1] == 'l')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(state_dir);
	return 0;
}

static void test_commands_and_persistence(void **state)
{
	static const uint8_t zeros[32];
	static const char secret[] = "kept across restarts";
	uint8_t resp[VTPM_BUFFER_SIZE], pcr[32];
	const uint8_t *data;
	struct cmdbuf c;
	struct tpm t;
	uint16_t size;
	char path[256];
	size_t n;

	tpm_open(&t, 0);

	/* Before Startup the TPM says so. */
	tpm2_get_random(&c, 16);
	assert_int_equal(run(&t, &c), TPM2_RC_INITIALIZE);

	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(run(&t, &c), 0);

	tpm2_get_random(&c, 16);
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(n, TPM_HEADER_SIZE + 2 + 16);
	assert_int_equal(get_be16(resp + TPM_HEADER_SIZE), 16);

	read_pcr(&t, pcr);
	assert_memory_equal(pcr, zeros, 32);
	tpm2_pcr_extend_sha256(&c, TEST_PCR, zeros);
	assert_int_equal(run(&t, &c), 0);
	read_pcr(&t, pcr);
	assert_memory_equal(pcr, pcr_after_zero_extend, 32);

	tpm2_nv_define(&c, NV_INDEX, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_write(&c, NV_INDEX, secret, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);

	tpm_close(&t);

	/* A fresh power-on: NV kept, PCRs reset. */
	tpm_open(&t, 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_read(&c, NV_INDEX, sizeof(secret));
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	data = tpm2_nv_read_data(resp, n, &size);
	assert_non_null(data);
	assert_int_equal(size, sizeof(secret));
	assert_memory_equal(data, secret, sizeof(secret));
	read_pcr(&t, pcr);
	assert_memory_equal(pcr, zeros, 32);

	/* Extend again and stop cleanly: the volatile state is saved... */
	tpm2_pcr_extend_sha256(&c, TEST_PCR, zeros);
	assert_int_equal(run(&t, &c), 0);
	tpm_close(&t);

	/* ...and resuming brings the PCR back without a Startup. */
	snprintf(path, sizeof(path), "%s/tpm2-00.volatilestate", state_dir);
	assert_int_equal(access(path, R_OK), 0);
	tpm_open(&t, VTPM_LIBTPMS_RESUME);
	read_pcr(&t, pcr);
	assert_memory_equal(pcr, pcr_after_zero_extend, 32);
	/* The saved volatile state is consumed: a crash now cannot resume it. */
	assert_int_equal(access(path, F_OK), -1);
	tpm_close(&t);
}

static void test_state_dir_is_locked(void **state)
{
	struct vtpm_state_dir *sd;
	struct vtpm_backend *second;
	struct tpm t;

	tpm_open(&t, 0);
	assert_int_equal(vtpm_state_dir_open(t.ctx, state_dir, VTPM_VERSION_2, &sd), 0);
	assert_int_equal(vtpm_state_dir_lock(sd), -EBUSY);
	/* libtpms is global: one backend per process. */
	assert_int_equal(vtpm_backend_new_libtpms(t.ctx, VTPM_VERSION_2, state_dir, 0, &second), -EBUSY);
	tpm_close(&t);
	assert_int_equal(vtpm_state_dir_lock(sd), 0);
	vtpm_state_dir_free(sd);
}

static void test_state_export_import(void **state)
{
	static const char secret[] = "migrates";
	uint8_t *perm = NULL, *vol = NULL, resp[VTPM_BUFFER_SIZE], pcr[32];
	size_t perm_len, vol_len, n;
	const uint8_t *data;
	struct cmdbuf c;
	struct tpm t;
	uint16_t size;

	tpm_open(&t, 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_define(&c, NV_INDEX + 1, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_nv_write(&c, NV_INDEX + 1, secret, sizeof(secret));
	assert_int_equal(run(&t, &c), 0);
	tpm2_pcr_extend_sha256(&c, TEST_PCR, (const uint8_t[32]){ 0 });
	assert_int_equal(run(&t, &c), 0);

	assert_int_equal(vtpm_backend_get_state(t.backend, VTPM_STATE_PERMANENT, &perm, &perm_len), 0);
	assert_int_equal(vtpm_backend_get_state(t.backend, VTPM_STATE_VOLATILE, &vol, &vol_len), 0);
	assert_true(perm_len > 1000);
	assert_true(vol_len > 100);
	tpm_close(&t);

	/* Wipe the directory, then import into a TPM that is off. */
	teardown(NULL);
	setup(NULL);
	assert_int_equal(vtpm_ctx_new(&t.ctx), 0);
	assert_int_equal(vtpm_backend_new_libtpms(t.ctx, VTPM_VERSION_2, state_dir, 0, &t.backend), 0);
	assert_int_equal(vtpm_backend_set_state(t.backend, VTPM_STATE_PERMANENT, perm, perm_len), 0);
	assert_int_equal(vtpm_backend_set_state(t.backend, VTPM_STATE_VOLATILE, vol, vol_len), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, t.sv), 0);
	assert_int_equal(vtpm_relay_new_from_fd(t.backend, t.sv[0], &t.relay), 0);

	read_pcr(&t, pcr);
	assert_memory_equal(pcr, pcr_after_zero_extend, 32);
	tpm2_nv_read(&c, NV_INDEX + 1, sizeof(secret));
	n = transact(&t, &c, resp);
	assert_int_equal(resp_rc(resp), 0);
	data = tpm2_nv_read_data(resp, n, &size);
	assert_non_null(data);
	assert_memory_equal(data, secret, sizeof(secret));
	tpm_close(&t);
	free(perm);
	free(vol);
}

static void test_damaged_state_refuses_to_start(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_backend *b;
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tpm2-00.permall", state_dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not a TPM state blob", f);
	fclose(f);

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0, &b), 0);
	assert_int_equal(vtpm_backend_start(b), -EIO);
	assert_false(vtpm_backend_is_running(b));
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
	unlink(path);
}

static void test_bad_arguments(void **state)
{
	struct vtpm_ctx *ctx;
	struct vtpm_backend *b;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, 7, state_dir, 0, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, "", 0, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0x80, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, "/nonexistent/dir", 0, &b), -ENOENT);
	vtpm_ctx_unref(ctx);
}

static void test_tpm12_starts(void **state)
{
	/* TPM_Startup(ST_CLEAR): TPM 1.2 Main Part 3, 3.2 (ordinal 0x99). */
	static const uint8_t startup[] = { 0x00, 0xc1, 0, 0, 0, 12, 0, 0, 0, 0x99, 0, 1 };
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct vtpm_ctx *ctx;
	struct vtpm_backend *b;
	struct vtpm_relay *r;
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_1_2, state_dir, 0, &b), 0);
	assert_int_equal(vtpm_relay_new_from_fd(b, sv[0], &r), 0);
	assert_int_equal(write(sv[1], startup, sizeof(startup)), sizeof(startup));
	assert_int_equal(vtpm_relay_dispatch(r), 1);
	assert_int_equal(read(sv[1], resp, sizeof(resp)), TPM_HEADER_SIZE);
	assert_int_equal(get_be16(resp), TPM12_TAG_RSP_COMMAND);
	assert_int_equal(resp_rc(resp), 0);
	vtpm_relay_unref(r);
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(access("/tmp", F_OK), 0);
}

/* What the kernel sends first when it registers a TPM 2 chip. */
static uint32_t kernel_self_test(struct tpm *t)
{
	struct cmdbuf c;

	cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_SELF_TEST);
	cmd_u8(&c, 0);
	cmd_end(&c);
	return run(t, &c);
}

static void test_startup_before_the_kernel(void **state)
{
	static const uint8_t zeros[32];
	uint8_t pcr[32];
	struct cmdbuf c;
	struct tpm t;
	uint32_t rc = 1;

	tpm_open(&t, 0);
	assert_int_equal(vtpm_backend_startup(t.backend, 0, &rc), 0);
	assert_int_equal(rc, 0);
	/* The kernel's self test passes, so it never sends Startup... */
	assert_int_equal(kernel_self_test(&t), 0);
	/* ...and a client's repeated Startup gets what tools accept. */
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(run(&t, &c), TPM2_RC_INITIALIZE);
	/* Starting a started TPM is no error either. */
	assert_int_equal(vtpm_backend_startup(t.backend, 0, &rc), 0);
	assert_int_equal(vtpm_backend_startup(t.backend, 0x8, &rc), -EINVAL);

	tpm2_pcr_extend_sha256(&c, TEST_PCR, zeros);
	assert_int_equal(run(&t, &c), 0);
	/* PCR 16 is not kept by Shutdown(STATE); the static ones are. */
	tpm2_pcr_extend_sha256(&c, SAVED_PCR, zeros);
	assert_int_equal(run(&t, &c), 0);
	tpm_close(&t);

	/* Resuming the saved volatile state: the TPM is running already. */
	tpm_open(&t, VTPM_LIBTPMS_RESUME);
	assert_int_equal(vtpm_backend_startup(t.backend, VTPM_STARTUP_STATE, &rc), 0);
	read_pcr(&t, pcr);
	assert_memory_equal(pcr, pcr_after_zero_extend, 32);

	/* TPM2_Shutdown(STATE), then a start without the snapshot: STATE resumes. */
	tpm2_shutdown(&c, TPM2_SU_STATE);
	assert_int_equal(run(&t, &c), 0);
	tpm_close(&t);
	tpm_open(&t, 0);
	assert_int_equal(vtpm_backend_startup(t.backend, VTPM_STARTUP_STATE, &rc), 0);
	read_pcr_n(&t, SAVED_PCR, pcr);
	assert_memory_equal(pcr, pcr_after_zero_extend, 32);
	tpm_close(&t);

	/* Nothing saved to resume: a fresh start, PCRs reset. */
	tpm_open(&t, 0);
	assert_int_equal(vtpm_backend_startup(t.backend, VTPM_STARTUP_STATE, &rc), 0);
	read_pcr_n(&t, SAVED_PCR, pcr);
	assert_memory_equal(pcr, zeros, 32);
	tpm_close(&t);
}

/* An emulator that fails every command, as a TPM in failure mode does. */
static int failing_start(void *data)
{
	return 0;
}

static int failing_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			   uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	*resp_len = vtpm_wire_build_response(VTPM_VERSION_2, TPM2_RC_FAILURE, resp);
	return 0;
}

static void test_startup_failure_is_reported(void **state)
{
	static const struct vtpm_backend_ops ops = {
		.size = sizeof(ops),
		.start = failing_start,
		.process = failing_process,
		.shutdown = failing_start,
	};
	struct vtpm_ctx *ctx;
	struct vtpm_backend *b;
	uint32_t rc = 0;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	assert_int_equal(vtpm_backend_new(ctx, VTPM_VERSION_2, &ops, NULL, &b), 0);
	assert_int_equal(vtpm_backend_startup(b, 0, &rc), -EPROTO);
	assert_int_equal(rc, TPM2_RC_FAILURE);
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
}

static void test_tpm12_startup(void **state)
{
	/* TPM_SaveState (TPM 1.2 Main Part 3, 3.3) and TPM_GetRandom (13.6). */
	static const uint8_t save_state[] = { 0x00, 0xc1, 0, 0, 0, 10, 0, 0, 0, 0x98 };
	static const uint8_t get_random[] = { 0x00, 0xc1, 0, 0, 0, 14, 0, 0, 0, 0x46, 0, 0, 0, 8 };
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct vtpm_ctx *ctx;
	struct vtpm_backend *b;
	uint32_t rc = 1;
	size_t len;

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_1_2, state_dir, 0, &b), 0);
	/* ST_STATE with nothing saved would put a TPM 1.2 into failure mode. */
	assert_int_equal(vtpm_backend_startup(b, VTPM_STARTUP_STATE, &rc), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(vtpm_backend_process(b, get_random, sizeof(get_random), 0, resp,
					      sizeof(resp), &len), 0);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(vtpm_backend_process(b, save_state, sizeof(save_state), 0, resp,
					      sizeof(resp), &len), 0);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(vtpm_backend_shutdown(b), 0);
	/* With a TPM_SaveState blob, ST_STATE resumes it. */
	assert_int_equal(vtpm_backend_startup(b, VTPM_STARTUP_STATE, &rc), 0);
	assert_int_equal(vtpm_backend_process(b, get_random, sizeof(get_random), 0, resp,
					      sizeof(resp), &len), 0);
	assert_int_equal(resp_rc(resp), 0);
	/* Started already: accepted. */
	assert_int_equal(vtpm_backend_startup(b, 0, &rc), 0);
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
}

/* A TPM 2 manufactured in state_dir, and its permanent blob file's bytes. */
static void make_tpm2(uint8_t **perm_file, size_t *perm_len)
{
	char path[256];
	struct tpm t;
	FILE *f;

	tpm_open(&t, 0);
	assert_int_equal(vtpm_backend_startup(t.backend, 0, NULL), 0);
	tpm_close(&t);
	snprintf(path, sizeof(path), "%s/tpm2-00.permall", state_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	*perm_file = malloc(1 << 20);
	*perm_len = fread(*perm_file, 1, 1 << 20, f);
	fclose(f);
	assert_true(*perm_len > 1000);
}

static void assert_permall_is(const uint8_t *want, size_t want_len)
{
	uint8_t *got = malloc(1 << 20);
	char path[256];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tpm2-00.permall", state_dir);
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(got, 1, 1 << 20, f);
	fclose(f);
	assert_int_equal(len, want_len);
	assert_memory_equal(got, want, want_len);
	free(got);
}

/* The state the directory's TPM exports, with its permanent blob cut or changed. */
static struct vtpm_state *damaged_state(struct vtpm_ctx *ctx, bool truncate)
{
	struct vtpm_backend *b;
	struct vtpm_state *st, *bad;
	const uint8_t *perm;
	uint8_t *copy;
	size_t len;

	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0, &b), 0);
	assert_int_equal(vtpm_state_from_backend(b, &st), 0);
	vtpm_backend_unref(b);
	assert_int_equal(vtpm_state_get_blob(st, VTPM_STATE_PERMANENT, &perm, &len), 0);
	copy = malloc(len);
	memcpy(copy, perm, len);
	if (truncate)
		len /= 2;
	else
		memset(copy + 16, 0xff, 64);
	assert_int_equal(vtpm_state_new(ctx, VTPM_VERSION_2, &bad), 0);
	assert_int_equal(vtpm_state_set_blob(bad, VTPM_STATE_PERMANENT, copy, len), 0);
	free(copy);
	vtpm_state_unref(st);
	return bad;
}

static void test_import_keeps_identity(void **state)
{
	struct vtpm_state *st, *other;
	struct vtpm_backend *b;
	struct vtpm_ctx *ctx;
	const uint8_t *perm;
	uint8_t *before;
	size_t before_len, len;
	uint32_t rc;
	char file[300];

	make_tpm2(&before, &before_len);
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);

	/* A TPM 1.2 state into a TPM 2's directory: refused before anything. */
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0, &b), 0);
	assert_int_equal(vtpm_state_from_backend(b, &st), 0);
	vtpm_backend_unref(b);
	assert_int_equal(vtpm_state_get_blob(st, VTPM_STATE_PERMANENT, &perm, &len), 0);
	assert_int_equal(vtpm_state_new(ctx, VTPM_VERSION_1_2, &other), 0);
	assert_int_equal(vtpm_state_set_blob(other, VTPM_STATE_PERMANENT, perm, len), 0);
	assert_int_equal(vtpm_state_import_dir(other, state_dir, NULL, &rc), -EINVAL);
	assert_permall_is(before, before_len);
	vtpm_state_unref(other);

	/* Damaged content under a valid file checksum: refused, nothing changed. */
	for (int truncate = 0; truncate <= 1; truncate++) {
		struct vtpm_state *bad = damaged_state(ctx, truncate), *read_back;
		int r;

		snprintf(file, sizeof(file), "%s.state", state_dir);
		assert_int_equal(vtpm_state_write_file(bad, file), 0);
		assert_int_equal(vtpm_state_read_file(ctx, file, &read_back), 0);
		unlink(file);
		r = vtpm_state_import_dir(read_back, state_dir, NULL, &rc);
		assert_true(r == -EIO || r == -EPROTO);
		assert_permall_is(before, before_len);
		/* Without the check before: the failed start rolls back. */
		assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0, &b), 0);
		r = vtpm_state_import_backend(read_back, b, &rc);
		assert_true(r == -EIO || r == -EPROTO);
		vtpm_backend_unref(b);
		assert_permall_is(before, before_len);
		vtpm_state_unref(read_back);
		vtpm_state_unref(bad);
	}

	/* The TPM still starts, and a good state imports. */
	assert_int_equal(vtpm_state_check(st, &rc), 0);
	assert_int_equal(vtpm_state_import_dir(st, state_dir, NULL, &rc), 0);
	assert_int_equal(vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0, &b), 0);
	assert_int_equal(vtpm_backend_startup(b, 0, &rc), 0);
	vtpm_backend_unref(b);
	vtpm_state_unref(st);
	vtpm_ctx_unref(ctx);
	free(before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commands_and_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir_is_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_export_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_state_refuses_to_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tpm12_starts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_startup_before_the_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_startup_failure_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tpm12_startup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_import_keeps_identity, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

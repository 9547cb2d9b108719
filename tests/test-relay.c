/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The relay over a SOCK_SEQPACKET socketpair (one message per command, as
 * the proxy fd behaves) with a scripted fake backend.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tpm2-cmd.h"
#include "vtpm-internal.h"

enum fake_mode { FAKE_OK, FAKE_FAIL, FAKE_BAD_RESPONSE, FAKE_HUGE_RESPONSE };

struct fake {
	enum vtpm_version version;
	enum fake_mode mode;
	int calls;
	uint8_t last_locality;
	size_t last_len;
	int started, shutdowns;
};

static int fake_start(void *data)
{
	((struct fake *)data)->started++;
	return 0;
}

static int fake_shutdown(void *data)
{
	((struct fake *)data)->shutdowns++;
	return 0;
}

static int fake_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	struct fake *f = data;

	f->calls++;
	f->last_locality = locality;
	f->last_len = cmd_len;
	switch (f->mode) {
	case FAKE_FAIL:
		return -EIO;
	case FAKE_BAD_RESPONSE:
		/* header claims 20 bytes, 10 delivered */
		vtpm_wire_build_response(f->version, 0, resp);
		put_be32(resp + 2, 20);
		*resp_len = TPM_HEADER_SIZE;
		return 0;
	case FAKE_HUGE_RESPONSE:
		*resp_len = resp_size + 1;
		return 0;
	case FAKE_OK:
		break;
	}
	*resp_len = vtpm_wire_build_response(f->version, 0, resp);
	return 0;
}

static const struct vtpm_backend_ops fake_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = fake_start,
	.process = fake_process,
	.shutdown = fake_shutdown,
};

struct fixture {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	struct vtpm_relay *relay;
	struct fake fake;
	int sv[2];
};

static int setup_version(void **state, enum vtpm_version version)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	fx->fake.version = version;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fx->sv), 0);
	assert_int_equal(vtpm_ctx_new(&fx->ctx), 0);
	vtpm_ctx_set_log_priority(fx->ctx, LOG_CRIT); /* errors are expected here */
	assert_int_equal(vtpm_backend_new(fx->ctx, version, &fake_ops, &fx->fake, &fx->backend), 0);
	assert_int_equal(vtpm_relay_new_from_fd(fx->backend, fx->sv[0], &fx->relay), 0);
	/* The relay keeps its own duplicate. */
	close(fx->sv[0]);
	fx->sv[0] = -1;
	assert_int_equal(fx->fake.started, 1);
	*state = fx;
	return 0;
}

static int setup_tpm2(void **state)
{
	return setup_version(state, VTPM_VERSION_2);
}

static int setup_tpm12(void **state)
{
	return setup_version(state, VTPM_VERSION_1_2);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	vtpm_relay_unref(fx->relay);
	vtpm_backend_unref(fx->backend);
	assert_int_equal(fx->fake.shutdowns, 1);
	vtpm_ctx_unref(fx->ctx);
	if (fx->sv[0] >= 0)
		close(fx->sv[0]);
	if (fx->sv[1] >= 0)
		close(fx->sv[1]);
	free(fx);
	return 0;
}

/* Send @len bytes as one message, let the relay serve it, return the response length. */
static size_t roundtrip(struct fixture *fx, const void *cmd, size_t len, uint8_t *resp)
{
	ssize_t n;

	assert_int_equal(write(fx->sv[1], cmd, len), (ssize_t)len);
	assert_int_equal(vtpm_relay_dispatch(fx->relay), 1);
	n = read(fx->sv[1], resp, VTPM_BUFFER_SIZE);
	assert_true(n >= TPM_HEADER_SIZE);
	assert_int_equal(get_be32(resp + 2), n);
	return (size_t)n;
}

static void set_locality_cmd(struct cmdbuf *c, uint16_t tag, uint8_t locality)
{
	cmd_begin(c, tag, VTPM_CC_SET_LOCALITY);
	cmd_u8(c, locality);
	cmd_end(c);
}

static void test_set_locality_is_answered_by_relay(void **state)
{
	struct fixture *fx = *state;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;

	/* The kernel sends it with TPM2_ST_SESSIONS. */
	set_locality_cmd(&c, TPM2_ST_SESSIONS, 3);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(fx->fake.calls, 0);
	assert_int_equal(vtpm_relay_get_locality(fx->relay), 3);

	tpm2_get_random(&c, 8);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(fx->fake.calls, 1);
	assert_int_equal(fx->fake.last_locality, 3);
}

static void test_set_locality_rejects_bad_values(void **state)
{
	struct fixture *fx = *state;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;

	set_locality_cmd(&c, TPM2_ST_SESSIONS, VTPM_LOCALITY_MAX + 1);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_LOCALITY);
	assert_int_equal(vtpm_relay_get_locality(fx->relay), 0);

	/* Two payload bytes instead of one. */
	cmd_begin(&c, TPM2_ST_SESSIONS, VTPM_CC_SET_LOCALITY);
	cmd_u16(&c, 0x0101);
	cmd_end(&c);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_LOCALITY);
	assert_int_equal(fx->fake.calls, 0);
}

static void test_malformed_commands_never_reach_backend(void **state)
{
	struct fixture *fx = *state;
	uint8_t resp[VTPM_BUFFER_SIZE], big[VTPM_BUFFER_SIZE + 100];
	struct vtpm_relay_stats stats;
	struct cmdbuf c;

	/* Length header says more than was sent. */
	tpm2_get_random(&c, 8);
	put_be32(c.b + 2, (uint32_t)c.len + 5);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);
	assert_int_equal(get_be16(resp), TPM2_ST_NO_SESSIONS);

	/* ... and less. */
	put_be32(c.b + 2, (uint32_t)c.len - 1);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);

	/* Shorter than a header. */
	roundtrip(fx, "\x80\x01\x00\x00\x00\x05", 6, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);

	/* A single byte. */
	roundtrip(fx, "\xff", 1, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);

	/* Not a TPM 2 command tag. */
	tpm2_get_random(&c, 8);
	put_be16(c.b, TPM12_TAG_RQU_COMMAND);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_BAD_TAG);

	/* Larger than the proxy buffer, with a matching header. */
	memset(big, 0, sizeof(big));
	put_be16(big, TPM2_ST_NO_SESSIONS);
	put_be32(big + 2, sizeof(big));
	roundtrip(fx, big, sizeof(big), resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);

	assert_int_equal(fx->fake.calls, 0);

	/* The relay is still in business. */
	tpm2_get_random(&c, 8);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(fx->fake.calls, 1);
	assert_int_equal(fx->fake.last_len, c.len);

	vtpm_relay_get_stats(fx->relay, &stats);
	assert_int_equal(stats.commands, 7);
	assert_int_equal(stats.malformed, 6);
	assert_int_equal(stats.backend_errors, 0);
}

static void test_largest_command_is_accepted(void **state)
{
	struct fixture *fx = *state;
	uint8_t resp[VTPM_BUFFER_SIZE], cmd[VTPM_BUFFER_SIZE];

	memset(cmd, 0, sizeof(cmd));
	put_be16(cmd, TPM2_ST_NO_SESSIONS);
	put_be32(cmd + 2, sizeof(cmd));
	roundtrip(fx, cmd, sizeof(cmd), resp);
	assert_int_equal(resp_rc(resp), 0);
	assert_int_equal(fx->fake.last_len, VTPM_BUFFER_SIZE);
}

static void test_backend_failures_become_tpm_failures(void **state)
{
	struct fixture *fx = *state;
	static const enum fake_mode modes[] = { FAKE_FAIL, FAKE_BAD_RESPONSE, FAKE_HUGE_RESPONSE };
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct vtpm_relay_stats stats;
	struct cmdbuf c;

	tpm2_get_random(&c, 8);
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
		fx->fake.mode = modes[i];
		assert_int_equal(roundtrip(fx, c.b, c.len, resp), TPM_HEADER_SIZE);
		assert_int_equal(resp_rc(resp), TPM2_RC_FAILURE);
	}
	vtpm_relay_get_stats(fx->relay, &stats);
	assert_int_equal(stats.backend_errors, 3);
}

static void test_tpm12_error_forms(void **state)
{
	struct fixture *fx = *state;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;

	set_locality_cmd(&c, TPM12_TAG_RQU_COMMAND, 0);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(get_be16(resp), TPM12_TAG_RSP_COMMAND);
	assert_int_equal(resp_rc(resp), 0);

	/* A TPM 2 tag is wrong on a TPM 1.2. */
	tpm2_get_random(&c, 8);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(get_be16(resp), TPM12_TAG_RSP_COMMAND);
	assert_int_equal(resp_rc(resp), TPM12_BADTAG);

	put_be16(c.b, TPM12_TAG_RQU_COMMAND);
	put_be32(c.b + 2, 99);
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM12_BAD_PARAM_SIZE);

	put_be32(c.b + 2, (uint32_t)c.len);
	fx->fake.mode = FAKE_FAIL;
	roundtrip(fx, c.b, c.len, resp);
	assert_int_equal(resp_rc(resp), TPM12_FAIL);
}

static void test_dispatch_without_command(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(vtpm_relay_dispatch(fx->relay), 0);
	assert_true(vtpm_relay_get_fd(fx->relay) >= 0);
}

static void test_peer_gone(void **state)
{
	struct fixture *fx = *state;

	close(fx->sv[1]);
	fx->sv[1] = -1;
	assert_int_equal(vtpm_relay_dispatch(fx->relay), -EPIPE);
	assert_int_equal(vtpm_relay_run(fx->relay), -EPIPE);
}

static void test_stop_before_run(void **state)
{
	struct fixture *fx = *state;

	vtpm_relay_stop(fx->relay);
	assert_int_equal(vtpm_relay_run(fx->relay), 0);
}

static void *client_thread(void *arg)
{
	struct fixture *fx = arg;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;

	tpm2_get_random(&c, 8);
	for (int i = 0; i < 100; i++) {
		if (write(fx->sv[1], c.b, c.len) != (ssize_t)c.len)
			return (void *)1;
		if (read(fx->sv[1], resp, sizeof(resp)) != TPM_HEADER_SIZE)
			return (void *)1;
	}
	vtpm_relay_stop(fx->relay);
	return NULL;
}

static void test_run_serves_until_stopped(void **state)
{
	struct fixture *fx = *state;
	pthread_t t;
	void *result;

	assert_int_equal(pthread_create(&t, NULL, client_thread, fx), 0);
	assert_int_equal(vtpm_relay_run(fx->relay), 0);
	assert_int_equal(pthread_join(t, &result), 0);
	assert_null(result);
	assert_int_equal(fx->fake.calls, 100);
}

static void test_wait_registered_needs_device(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(vtpm_relay_wait_registered(fx->relay, 0), -ENODEV);
}

static void test_version_mismatch(void **state)
{
	struct fixture *fx = *state;
	struct vtpm_backend *other;
	struct vtpm_relay *relay;
	struct fake f = { .version = VTPM_VERSION_1_2 };

	assert_int_equal(vtpm_backend_new(fx->ctx, VTPM_VERSION_1_2, &fake_ops, &f, &other), 0);
	/* Without a device there is nothing to mismatch: the fd form accepts it. */
	assert_int_equal(vtpm_relay_new_fd(fx->ctx, -1, other, &relay), -EBADF);
	vtpm_backend_unref(other);
}

static void test_backend_ops_validation(void **state)
{
	struct fixture *fx = *state;
	struct vtpm_backend_ops ops = fake_ops;
	struct vtpm_backend *b;

	ops.process = NULL;
	assert_int_equal(vtpm_backend_new(fx->ctx, VTPM_VERSION_2, &ops, NULL, &b), -EINVAL);
	ops = fake_ops;
	ops.size = offsetof(struct vtpm_backend_ops, reset);
	assert_int_equal(vtpm_backend_new(fx->ctx, VTPM_VERSION_2, &ops, NULL, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new(fx->ctx, 3, &fake_ops, NULL, &b), -EINVAL);
	assert_int_equal(vtpm_backend_new(NULL, VTPM_VERSION_2, NULL, NULL, &b), -EINVAL);
}

static void test_backend_power_state(void **state)
{
	struct fixture *fx = *state;
	uint8_t *blob;
	size_t len;

	assert_true(vtpm_backend_is_running(fx->backend));
	/* No reset op: shutdown + start stand in. */
	assert_int_equal(vtpm_backend_reset(fx->backend), 0);
	assert_int_equal(fx->fake.started, 2);
	assert_int_equal(fx->fake.shutdowns, 1);
	assert_int_equal(vtpm_backend_get_state(fx->backend, VTPM_STATE_PERMANENT, &blob, &len), -ENOTSUP);
	assert_int_equal(vtpm_backend_set_state(fx->backend, VTPM_STATE_PERMANENT, (const uint8_t *)"x", 1), -EBUSY);
	assert_int_equal(vtpm_backend_shutdown(fx->backend), 0);
	assert_false(vtpm_backend_is_running(fx->backend));
	assert_int_equal(vtpm_backend_reset(fx->backend), -ENXIO);
	assert_int_equal(vtpm_backend_set_state(fx->backend, VTPM_STATE_PERMANENT, (const uint8_t *)"x", 1), -ENOTSUP);
	assert_int_equal(vtpm_backend_set_state(fx->backend, 42, (const uint8_t *)"x", 1), -EINVAL);
	/* Commands to a TPM that is off fail as TPM failures. */
	{
		uint8_t resp[VTPM_BUFFER_SIZE];
		struct cmdbuf c;

		tpm2_get_random(&c, 8);
		roundtrip(fx, c.b, c.len, resp);
		assert_int_equal(resp_rc(resp), TPM2_RC_FAILURE);
	}
	assert_int_equal(vtpm_backend_start(fx->backend), 0);
	fx->fake.shutdowns = 0; /* teardown expects exactly one more */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_set_locality_is_answered_by_relay, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_set_locality_rejects_bad_values, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_malformed_commands_never_reach_backend, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_largest_command_is_accepted, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_backend_failures_become_tpm_failures, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_tpm12_error_forms, setup_tpm12, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_without_command, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_peer_gone, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_stop_before_run, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_run_serves_until_stopped, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_wait_registered_needs_device, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_version_mismatch, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_backend_ops_validation, setup_tpm2, teardown),
		cmocka_unit_test_setup_teardown(test_backend_power_state, setup_tpm2, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Serving a virtual machine (vtpm_relay_new_from_ctrl()): the data channel that
 * CMD_SET_DATAFD passes over the control socket, and the framing of TPM
 * commands on that stream (split, coalesced, oversize, garbage), against an
 * in-process libtpms TPM.  The test plays QEMU's tpm-emulator backend.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrl-proto.h"
#include "tpm2-cmd.h"
#include "vtpm-internal.h"

static char state_dir[] = "/tmp/test-datafd-XXXXXX";

struct fx {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	struct vtpm_ctrl *ctrl;
	struct vtpm_relay *relay;
	int cfd; /* our end of the control channel */
	int dfd; /* our end of the data channel, once passed */
};

static void remove_dir(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
	rmdir(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	int sv[2];

	memcpy(state_dir + strlen(state_dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(state_dir));
	assert_int_equal(vtpm_ctx_new(&f->ctx), 0);
	vtpm_ctx_set_log_priority(f->ctx, LOG_CRIT);
	assert_int_equal(vtpm_backend_new_libtpms(f->ctx, VTPM_VERSION_2, state_dir, 0, &f->backend), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, sv[0], &f->ctrl), 0);
	close(sv[0]); /* the endpoint keeps its own duplicate */
	f->cfd = sv[1];
	f->dfd = -1;
	assert_int_equal(vtpm_relay_new_from_ctrl(f->ctrl, &f->relay), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vtpm_relay_unref(f->relay);
	vtpm_ctrl_unref(f->ctrl);
	vtpm_backend_shutdown(f->backend);
	vtpm_backend_unref(f->backend);
	vtpm_ctx_unref(f->ctx);
	close(f->cfd);
	if (f->dfd >= 0)
		close(f->dfd);
	free(f);
	remove_dir(state_dir);
	return 0;
}

/* Read exactly @len bytes within 2 s, dispatching @ctrl meanwhile. */
static void read_exact(struct fx *f, int fd, uint8_t *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		vtpm_ctrl_dispatch(f->ctrl);
		if (poll(&pfd, 1, 30000) != 1)
			fail_msg("no answer after %zu of %zu bytes", got, len);
		n = read(fd, buf + got, len - got);
		assert_true(n > 0);
		got += (size_t)n;
	}
}

/* Nothing more to read on @fd right now. */
static void assert_nothing_more(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	assert_int_equal(poll(&pfd, 1, 50), 0);
}

/* A control request with @nfds descriptors attached; returns the result. */
static uint32_t ctrl_with_fds(struct fx *f, uint32_t cmd, const void *body, size_t body_len,
			      const int *fds, size_t nfds, size_t resp_len)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} control = { 0 };
	uint8_t req[64], resp[64];
	struct iovec iov = { .iov_base = req, .iov_len = PTM_CMD_SIZE + body_len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	assert_true(nfds <= 8 && body_len <= sizeof(req) - PTM_CMD_SIZE);
	put_be32(req, cmd);
	if (body_len)
		memcpy(req + PTM_CMD_SIZE, body, body_len);
	if (nfds) {
		struct cmsghdr *cmsg;

		msg.msg_control = control.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * nfds);
	}
	assert_int_equal(sendmsg(f->cfd, &msg, 0), (ssize_t)iov.iov_len);
	read_exact(f, f->cfd, resp, resp_len);
	assert_nothing_more(f->cfd);
	return get_be32(resp);
}

static uint32_t ctrl_simple(struct fx *f, uint32_t cmd, const void *body, size_t body_len)
{
	return ctrl_with_fds(f, cmd, body, body_len, NULL, 0, PTM_RES_SIZE_BYTES);
}

/* QEMU's SET_DATAFD: one end of a stream socketpair, the other kept. */
static uint32_t pass_data_channel(struct fx *f)
{
	int sv[2];
	uint32_t res;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	res = ctrl_with_fds(f, PTM_CMD_SET_DATAFD, NULL, 0, &sv[1], 1, PTM_RES_SIZE_BYTES);
	close(sv[1]);
	if (res == PTM_RES_SUCCESS)
		f->dfd = sv[0];
	else
		close(sv[0]);
	return res;
}

static void power_on(struct fx *f)
{
	uint8_t init[PTM_INIT_REQ_SIZE] = { 0 };

	assert_int_equal(ctrl_simple(f, PTM_CMD_INIT, init, sizeof(init)), 0);
}

/* Serve the relay until a response of @len bytes (from its header) is read. */
static size_t read_response(struct fx *f, uint8_t *resp)
{
	struct pollfd pfd = { .fd = f->dfd, .events = POLLIN };
	size_t got = 0, want = TPM_HEADER_SIZE;

	while (got < want) {
		ssize_t n;

		vtpm_relay_dispatch(f->relay);
		if (poll(&pfd, 1, 0) != 1)
			continue;
		n = read(f->dfd, resp + got, want - got);
		assert_true(n > 0);
		got += (size_t)n;
		if (got == TPM_HEADER_SIZE)
			want = get_be32(resp + 2);
	}
	return got;
}

static void test_capabilities_and_datafd(void **state)
{
	struct fx *f = *state;
	uint8_t resp[8];
	int sv[2], pfd[2];

	/* The capabilities QEMU requires for TPM 2 are all there. */
	put_be32(resp, PTM_CMD_GET_CAPABILITY);
	assert_int_equal(write(f->cfd, resp, 4), 4);
	read_exact(f, f->cfd, resp, 8);
	{
		uint32_t want = PTM_CAP_INIT | PTM_CAP_SHUTDOWN | PTM_CAP_GET_TPMESTABLISHED |
				PTM_CAP_SET_LOCALITY | PTM_CAP_RESET_TPMESTABLISHED |
				PTM_CAP_SET_DATAFD | PTM_CAP_STOP | PTM_CAP_SET_BUFFERSIZE |
				PTM_CAP_GET_STATEBLOB | PTM_CAP_SET_STATEBLOB | PTM_CAP_CANCEL_TPM_CMD;

		assert_int_equal(get_be32(resp + 4) & want, want);
	}

	/* No descriptor with it: TPM_BAD_PARAMETER, as swtpm answers. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_DATAFD, NULL, 0), PTM_RES_BAD_PARAMETER);
	assert_int_equal(vtpm_relay_get_fd(f->relay), -1);

	/* Not a socket: refused, and closed (no leak: the pipe's reader sees EOF). */
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(ctrl_with_fds(f, PTM_CMD_SET_DATAFD, NULL, 0, &pfd[1], 1, 4),
			 PTM_RES_BAD_PARAMETER);
	close(pfd[1]);
	assert_int_equal(read(pfd[0], resp, 1), 0);
	close(pfd[0]);

	/* A descriptor sent with another request is closed, not kept. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(ctrl_with_fds(f, PTM_CMD_GET_CONFIG, NULL, 0, &sv[1], 1, 8), 0);
	close(sv[1]);
	assert_int_equal(read(sv[0], resp, 1), 0);
	close(sv[0]);

	/* Several at once: the first is the channel, the rest are closed. */
	{
		int a[2], b[2], fds[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a), 0);
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
		fds[0] = a[1];
		fds[1] = b[1];
		assert_int_equal(ctrl_with_fds(f, PTM_CMD_SET_DATAFD, NULL, 0, fds, 2, 4), 0);
		close(a[1]);
		close(b[1]);
		assert_int_equal(read(b[0], resp, 1), 0);
		close(b[0]);
		f->dfd = a[0];
		assert_true(vtpm_relay_get_fd(f->relay) >= 0);
	}

	/* One data channel at a time (swtpm: TPM_IOERROR). */
	{
		int keep = f->dfd;

		assert_int_equal(pass_data_channel(f), PTM_RES_IOERROR);
		f->dfd = keep;
	}
}

static void test_framing(void **state)
{
	struct fx *f = *state;
	uint8_t resp[VTPM_BUFFER_SIZE], two[64] = { 0 };
	struct cmdbuf c, s;

	assert_int_equal(pass_data_channel(f), 0);

	/* Before CMD_INIT the TPM is off: swtpm's failure response, in TPM 2's tag. */
	tpm2_get_random(&c, 8);
	assert_int_equal(write(f->dfd, c.b, c.len), (ssize_t)c.len);
	assert_int_equal(read_response(f, resp), TPM_HEADER_SIZE);
	assert_int_equal(get_be16(resp), 0x8001);
	assert_int_equal(resp_rc(resp), TPM2_RC_FAILURE);

	/* After it, nothing was started for us: the guest sends TPM2_Startup. */
	power_on(f);
	tpm2_get_random(&c, 8);
	assert_int_equal(write(f->dfd, c.b, c.len), (ssize_t)c.len);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_INITIALIZE);
	tpm2_startup(&s, TPM2_SU_CLEAR);
	assert_int_equal(write(f->dfd, s.b, s.len), (ssize_t)s.len);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), 0);

	/* Split: byte by byte, the header's size frames it. */
	for (size_t i = 0; i < c.len; i++) {
		assert_int_equal(write(f->dfd, c.b + i, 1), 1);
		assert_int_equal(vtpm_relay_dispatch(f->relay), i + 1 == c.len ? 1 : 0);
	}
	assert_int_equal(read(f->dfd, resp, sizeof(resp)), TPM_HEADER_SIZE + 2 + 8);
	assert_int_equal(resp_rc(resp), 0);

	/* Coalesced: two commands in one write are two answers, in order. */
	memcpy(two, c.b, c.len);
	tpm2_get_random(&s, 16);
	memcpy(two + c.len, s.b, s.len);
	assert_int_equal(write(f->dfd, two, c.len + s.len), (ssize_t)(c.len + s.len));
	assert_int_equal(read_response(f, resp), TPM_HEADER_SIZE + 2 + 8);
	assert_int_equal(read_response(f, resp), TPM_HEADER_SIZE + 2 + 16);
	assert_nothing_more(f->dfd);

	/* A bad tag with a good size: answered, and framing holds. */
	memcpy(two, c.b, c.len);
	put_be16(two, 0x1234);
	memcpy(two + c.len, c.b, c.len);
	assert_int_equal(write(f->dfd, two, 2 * c.len), (ssize_t)(2 * c.len));
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_BAD_TAG);
	assert_int_equal(read_response(f, resp), TPM_HEADER_SIZE + 2 + 8);

	/* Oversize: the proxy fd's answer; what came with it is dropped. */
	memcpy(two, c.b, c.len);
	put_be32(two + 2, VTPM_BUFFER_SIZE + 1);
	assert_int_equal(write(f->dfd, two, 40), 40);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);
	assert_nothing_more(f->dfd);
	assert_int_equal(vtpm_relay_dispatch(f->relay), 0);

	/* Garbage: a size below a header's; then a good command works again. */
	memset(two, 0xff, 20);
	put_be32(two + 2, 3);
	assert_int_equal(write(f->dfd, two, 20), 20);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_BAD_TAG);
	assert_nothing_more(f->dfd);
	assert_int_equal(write(f->dfd, c.b, c.len), (ssize_t)c.len);
	assert_int_equal(read_response(f, resp), TPM_HEADER_SIZE + 2 + 8);
	assert_int_equal(resp_rc(resp), 0);
}

static void test_buffer_size(void **state)
{
	struct fx *f = *state;
	uint8_t req[4], resp[16], big[3000] = { 0 };

	assert_int_equal(pass_data_channel(f), 0);
	power_on(f);

	/* Asking works while running; setting does not (swtpm: BAD_ORDINAL). */
	put_be32(req, 0);
	assert_int_equal(ctrl_with_fds(f, PTM_CMD_SET_BUFFERSIZE, req, 4, NULL, 0, 16), 0);
	put_be32(req, 3000);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_BUFFERSIZE, req, 4), PTM_RES_BAD_ORDINAL);

	assert_int_equal(ctrl_simple(f, PTM_CMD_STOP, NULL, 0), 0);
	/* Below libtpms's minimum: the minimum, as swtpm reports it. */
	put_be32(req, 100);
	put_be32(big, PTM_CMD_SET_BUFFERSIZE);
	memcpy(big + 4, req, 4);
	assert_int_equal(write(f->cfd, big, 8), 8);
	read_exact(f, f->cfd, resp, 16);
	assert_int_equal(get_be32(resp), 0);
	assert_int_equal(get_be32(resp + 4), 2808);
	assert_int_equal(get_be32(resp + 8), 2808);
	assert_int_equal(get_be32(resp + 12), VTPM_BUFFER_SIZE);
	/* Above the maximum: the maximum. */
	put_be32(big + 4, 1u << 20);
	assert_int_equal(write(f->cfd, big, 8), 8);
	read_exact(f, f->cfd, resp, 16);
	assert_int_equal(get_be32(resp + 4), VTPM_BUFFER_SIZE);
	/* 3000 it is; a 3001-byte command is then too large. */
	put_be32(big + 4, 3000);
	assert_int_equal(write(f->cfd, big, 8), 8);
	read_exact(f, f->cfd, resp, 16);
	assert_int_equal(get_be32(resp + 4), 3000);
	power_on(f);
	put_be16(big, 0x8001);
	put_be32(big + 2, 3001);
	put_be32(big + 6, 0x17b);
	assert_int_equal(write(f->dfd, big, 10), 10);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), TPM2_RC_COMMAND_SIZE);
}

static void test_channel_lifecycle(void **state)
{
	struct fx *f = *state;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct cmdbuf c;

	assert_int_equal(pass_data_channel(f), 0);
	power_on(f);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(write(f->dfd, c.b, c.len), (ssize_t)c.len);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), 0);

	/* The peer leaves in the middle of a command: the channel closes, the relay stays. */
	assert_int_equal(write(f->dfd, c.b, 4), 4);
	close(f->dfd);
	f->dfd = -1;
	assert_int_equal(vtpm_relay_dispatch(f->relay), 0); /* the 4 bytes */
	assert_int_equal(vtpm_relay_dispatch(f->relay), -EPIPE);
	assert_int_equal(vtpm_relay_get_fd(f->relay), -1);
	assert_int_equal(vtpm_relay_dispatch(f->relay), 0);

	/* Another QEMU hands over another channel; the TPM kept running. */
	assert_int_equal(pass_data_channel(f), 0);
	tpm2_get_random(&c, 8);
	assert_int_equal(write(f->dfd, c.b, c.len), (ssize_t)c.len);
	read_response(f, resp);
	assert_int_equal(resp_rc(resp), 0);

	/* SHUTDOWN ends vtpm_relay_run(), as it ends swtpm. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_SHUTDOWN, NULL, 0), 0);
	assert_int_equal(vtpm_relay_run(f->relay), 0);
	assert_false(vtpm_backend_is_running(f->backend));
}

static void test_api(void **state)
{
	struct fx *f = *state;
	struct vtpm_relay *relay;

	assert_int_equal(vtpm_relay_new_ctrl(f->ctx, NULL, f->ctrl, &relay), -EINVAL);
	assert_int_equal(vtpm_relay_new_ctrl(f->ctx, f->backend, NULL, &relay), -EINVAL);
	/* The endpoint serves one relay. */
	assert_int_equal(vtpm_relay_new_ctrl(f->ctx, f->backend, f->ctrl, &relay), -EBUSY);
	/* Not started: CMD_INIT does that. */
	assert_false(vtpm_backend_is_running(f->backend));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_api, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capabilities_and_datafd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_lifecycle, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

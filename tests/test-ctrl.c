/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control endpoint: every command, malformed and partial requests,
 * timeouts, the Unix socket's permissions and the one-client rule, against
 * an in-process libtpms TPM whose relay runs over a socketpair.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctrl-proto.h"
#include "swtpm-blob.h"
#include "loopback-port.h"
#include "tpm2-cmd.h"
#include "vtpm-internal.h"

static char state_dir[] = "/tmp/test-ctrl-XXXXXX";

struct fx {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
	struct vtpm_relay *relay;
	struct vtpm_ctrl *ctrl;
	int data[2]; /* relay's end, test's end */
	int cfd;     /* test's end of the control socketpair */
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

/* The state key of setup_with_key(): 32 bytes of 0x5a. */
static const uint8_t fx_key[32] = {
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
};

static int setup_backend(void **state, bool with_key)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct vtpm_state_key *key = NULL;
	int sv[2];

	memcpy(state_dir + strlen(state_dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(state_dir));
	assert_int_equal(vtpm_ctx_new(&f->ctx), 0);
	vtpm_ctx_set_log_priority(f->ctx, LOG_CRIT);
	if (with_key) {
		struct vtpm_libtpms_options o = {
			.size = sizeof(o), .version = VTPM_VERSION_2, .state_dir = state_dir,
		};

		assert_int_equal(vtpm_state_key_new(f->ctx, fx_key, sizeof(fx_key), &key), 0);
		o.key = key;
		assert_int_equal(vtpm_backend_new_libtpms_opts(f->ctx, &o, &f->backend), 0);
		vtpm_state_key_unref(key);
	} else {
		assert_int_equal(vtpm_backend_new_libtpms(f->ctx, VTPM_VERSION_2, state_dir, 0, &f->backend), 0);
	}
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, f->data), 0);
	assert_int_equal(vtpm_relay_new_from_fd(f->backend, f->data[0], &f->relay), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_ctrl_new_from_fd(f->backend, sv[0], &f->ctrl), 0);
	close(sv[0]); /* the endpoint keeps its own duplicate */
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, f->ctrl), 0);
	f->cfd = sv[1];
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_backend(state, false);
}

static int setup_with_key(void **state)
{
	return setup_backend(state, true);
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vtpm_ctrl_unref(f->ctrl);
	vtpm_relay_unref(f->relay);
	vtpm_backend_unref(f->backend);
	vtpm_ctx_unref(f->ctx);
	close(f->data[0]);
	close(f->data[1]);
	if (f->cfd >= 0)
		close(f->cfd);
	free(f);
	remove_dir(state_dir);
	return 0;
}

/*
 * Read what the endpoint answered, waiting up to FIRST_BYTE_MS for the
 * first byte (a bound only a hang reaches, even on a loaded runner);
 * with @ctrl, dispatch it meanwhile so that long responses flow.
 */
#define FIRST_BYTE_MS 30000

static size_t read_resp_from(struct vtpm_ctrl *ctrl, int fd, uint8_t *buf, size_t size)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < size && poll(&pfd, 1, got ? 50 : FIRST_BYTE_MS) == 1) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (ctrl)
			vtpm_ctrl_dispatch(ctrl);
	}
	return got;
}

static size_t read_resp(int fd, uint8_t *buf, size_t size)
{
	return read_resp_from(NULL, fd, buf, size);
}

/* Send a request (code + body), dispatch, return the response length. */
static size_t ctrl_req(struct fx *f, uint32_t cmd, const void *body, size_t body_len,
		       uint8_t *resp, size_t resp_size)
{
	uint8_t buf[PTM_CMD_SIZE + PTM_SETSTATE_REQ_HEADER_SIZE + 65536];

	assert_true(body_len <= sizeof(buf) - PTM_CMD_SIZE);
	put_be32(buf, cmd);
	if (body_len)
		memcpy(buf + PTM_CMD_SIZE, body, body_len);
	assert_int_equal(write(f->cfd, buf, PTM_CMD_SIZE + body_len), (ssize_t)(PTM_CMD_SIZE + body_len));
	assert_true(vtpm_ctrl_dispatch(f->ctrl) >= 1);
	return read_resp_from(f->ctrl, f->cfd, resp, resp_size);
}

static uint32_t ctrl_simple(struct fx *f, uint32_t cmd, const void *body, size_t body_len)
{
	uint8_t resp[64];

	assert_int_equal(ctrl_req(f, cmd, body, body_len, resp, sizeof(resp)), 4);
	return get_be32(resp);
}

static uint32_t data_cmd(struct fx *f, const struct cmdbuf *c)
{
	uint8_t resp[VTPM_BUFFER_SIZE];

	assert_int_equal(write(f->data[1], c->b, c->len), (ssize_t)c->len);
	assert_int_equal(vtpm_relay_dispatch(f->relay), 1);
	assert_true(read(f->data[1], resp, sizeof(resp)) >= TPM_HEADER_SIZE);
	return resp_rc(resp);
}

static void test_capability_and_config(void **state)
{
	struct fx *f = *state;
	uint8_t resp[64];
	uint32_t caps, zero = 0;

	assert_int_equal(ctrl_req(f, PTM_CMD_GET_CAPABILITY, NULL, 0, resp, sizeof(resp)), 8);
	assert_int_equal(get_be32(resp), 0);
	caps = get_be32(resp + 4);
	assert_true(caps & PTM_CAP_INIT);
	assert_true(caps & PTM_CAP_GET_STATEBLOB);
	assert_true(caps & PTM_CAP_SET_STATEBLOB);
	assert_true(caps & PTM_CAP_GET_INFO);
	assert_false(caps & PTM_CAP_HASHING);
	assert_false(caps & PTM_CAP_SET_DATAFD);

	assert_int_equal(ctrl_req(f, PTM_CMD_GET_CONFIG, NULL, 0, resp, sizeof(resp)), 8);
	assert_int_equal(get_be32(resp), 0);
	assert_int_equal(get_be32(resp + 4), 0);

	/* Querying the buffer size works while running; setting does not. */
	assert_int_equal(ctrl_req(f, PTM_CMD_SET_BUFFERSIZE, &zero, 4, resp, sizeof(resp)), 16);
	assert_int_equal(get_be32(resp), 0);
	assert_int_equal(get_be32(resp + 4), VTPM_BUFFER_SIZE);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_BUFFERSIZE, (uint8_t[]){ 0, 0, 4, 0 }, 4),
			 PTM_RES_BAD_ORDINAL);
}

static void test_every_command(void **state)
{
	struct fx *f = *state;
	uint8_t resp[4096], info_req[PTM_GETINFO_REQ_SIZE] = { 0 }, loc;
	uint8_t init_req[4] = { 0, 0, 0, PTM_INIT_FLAG_DELETE_VOLATILE };
	uint8_t get_req[PTM_GETSTATE_REQ_SIZE] = { 0 };
	struct cmdbuf c;
	size_t n;

	/* The relay started the TPM; INIT power-cycles it. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_INIT, init_req, sizeof(init_req)), 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(data_cmd(f, &c), 0);

	assert_int_equal(ctrl_req(f, PTM_CMD_GET_TPMESTABLISHED, NULL, 0, resp, sizeof(resp)), 8);
	assert_int_equal(get_be32(resp), 0);
	assert_true(resp[4] == 0 || resp[4] == 1);

	loc = 3;
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_LOCALITY, &loc, 1), 0);
	assert_int_equal(vtpm_relay_get_locality(f->relay), 3);
	assert_int_equal(vtpm_ctrl_get_locality(f->ctrl), 3);
	loc = 5;
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_LOCALITY, &loc, 1), PTM_RES_BAD_LOCALITY);
	assert_int_equal(vtpm_relay_get_locality(f->relay), 3);

	/* Only localities 3 and 4 may reset the established flag. */
	loc = 3;
	assert_int_equal(ctrl_simple(f, PTM_CMD_RESET_TPMESTABLISHED, &loc, 1), 0);
	loc = 0;
	assert_int_equal(ctrl_simple(f, PTM_CMD_RESET_TPMESTABLISHED, &loc, 1), PTM_RES_BAD_LOCALITY);
	loc = 9;
	assert_int_equal(ctrl_simple(f, PTM_CMD_RESET_TPMESTABLISHED, &loc, 1), PTM_RES_BAD_LOCALITY);

	assert_int_equal(ctrl_simple(f, PTM_CMD_CANCEL_TPM_CMD, NULL, 0), 0);
	assert_int_equal(ctrl_simple(f, PTM_CMD_STORE_VOLATILE, NULL, 0), 0);

	/* GET_INFO: TPMSpecification, as JSON with its NUL. */
	info_req[7] = 1;
	n = ctrl_req(f, PTM_CMD_GET_INFO, info_req, sizeof(info_req), resp, sizeof(resp));
	assert_true(n > PTM_GETINFO_RESP_HEADER_SIZE);
	assert_int_equal(get_be32(resp), 0);
	assert_int_equal(get_be32(resp + 8), n - PTM_GETINFO_RESP_HEADER_SIZE);
	assert_int_equal(resp[n - 1], '\0');
	assert_non_null(strstr((char *)resp + PTM_GETINFO_RESP_HEADER_SIZE, "\"family\":\"2.0\""));
	/* An offset past the end is a bad parameter. */
	put_be32(info_req + 8, 100000);
	assert_int_equal(ctrl_simple(f, PTM_CMD_GET_INFO, info_req, sizeof(info_req)), PTM_RES_BAD_PARAMETER);

	/* Unknown blob type. */
	put_be32(get_req + 4, 7);
	assert_int_equal(ctrl_req(f, PTM_CMD_GET_STATEBLOB, get_req, sizeof(get_req), resp, sizeof(resp)),
			 PTM_GETSTATE_RESP_HEADER_SIZE);
	assert_int_equal(get_be32(resp), PTM_RES_BAD_PARAMETER);

	/* Absent savestate: TPM_RETRY with nothing, as swtpm does. */
	put_be32(get_req + 4, PTM_BLOB_TYPE_SAVESTATE);
	assert_int_equal(ctrl_req(f, PTM_CMD_GET_STATEBLOB, get_req, sizeof(get_req), resp, sizeof(resp)),
			 PTM_GETSTATE_RESP_HEADER_SIZE);
	assert_int_equal(get_be32(resp), PTM_RES_RETRY);
	assert_int_equal(get_be32(resp + 8), 0);

	/* While running SET_STATEBLOB is refused. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, (uint8_t[12]){ 0, 0, 0, 0, 0, 0, 0, 1 }, 12),
			 PTM_RES_BAD_ORDINAL);

	/* STOP: data commands fail, CANCEL and friends are refused. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_STOP, NULL, 0), 0);
	assert_false(vtpm_backend_is_running(f->backend));
	tpm2_get_random(&c, 8);
	assert_int_equal(data_cmd(f, &c), TPM2_RC_FAILURE);
	assert_int_equal(ctrl_simple(f, PTM_CMD_CANCEL_TPM_CMD, NULL, 0), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_GET_TPMESTABLISHED, NULL, 0), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_STORE_VOLATILE, NULL, 0), PTM_RES_BAD_ORDINAL);

	/* INIT brings it back. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_INIT, init_req, sizeof(init_req)), 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(data_cmd(f, &c), 0);

	/* SHUTDOWN powers off and asks the relay loop to end. */
	assert_false(vtpm_ctrl_shutdown_requested(f->ctrl));
	assert_int_equal(ctrl_simple(f, PTM_CMD_SHUTDOWN, NULL, 0), 0);
	assert_true(vtpm_ctrl_shutdown_requested(f->ctrl));
	assert_false(vtpm_backend_is_running(f->backend));
	assert_int_equal(vtpm_relay_run(f->relay), 0);
}

/* Fetch a whole blob through the protocol; returns its wrapped length. */
static size_t get_blob(struct fx *f, uint32_t type, uint8_t *buf, size_t size)
{
	uint8_t req[PTM_GETSTATE_REQ_SIZE] = { 0 };
	size_t n;

	put_be32(req + 4, type);
	n = ctrl_req(f, PTM_CMD_GET_STATEBLOB, req, sizeof(req), buf, size);
	assert_true(n >= PTM_GETSTATE_RESP_HEADER_SIZE);
	assert_int_equal(get_be32(buf), 0);
	assert_int_equal(get_be32(buf + 12), n - PTM_GETSTATE_RESP_HEADER_SIZE);
	return n - PTM_GETSTATE_RESP_HEADER_SIZE;
}

static void test_stateblob_round_trip(void **state)
{
	static const char secret[] = "through the control channel";
	static uint8_t perm[1 << 20], vol[1 << 20], setreq[PTM_SETSTATE_REQ_HEADER_SIZE + 65536];
	uint8_t resp[VTPM_BUFFER_SIZE];
	size_t perm_len, vol_len, n;
	const uint8_t *data;
	uint8_t *inner;
	size_t inner_len;
	struct fx *f = *state;
	struct cmdbuf c;
	uint16_t size;

	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(data_cmd(f, &c), 0);
	tpm2_nv_define(&c, 0x01500020, sizeof(secret));
	assert_int_equal(data_cmd(f, &c), 0);
	tpm2_nv_write(&c, 0x01500020, secret, sizeof(secret));
	assert_int_equal(data_cmd(f, &c), 0);

	perm_len = get_blob(f, PTM_BLOB_TYPE_PERMANENT, perm, sizeof(perm));
	vol_len = get_blob(f, PTM_BLOB_TYPE_VOLATILE, vol, sizeof(vol));
	/* swtpm's wrapping: header version 2, migration data inside. */
	assert_int_equal(perm[PTM_GETSTATE_RESP_HEADER_SIZE], SWTPM_BLOB_VERSION);
	assert_int_equal(vtpm_ctrl_blob_decode(NULL, false, perm + 16, perm_len, &inner, &inner_len), 0);
	assert_true(inner_len > 1000);
	free(inner);
	/* A chunk from an offset is the tail. */
	{
		uint8_t req[PTM_GETSTATE_REQ_SIZE] = { 0 };

		put_be32(req + 4, PTM_BLOB_TYPE_PERMANENT);
		put_be32(req + 8, 100);
		n = ctrl_req(f, PTM_CMD_GET_STATEBLOB, req, sizeof(req), resp, sizeof(resp));
		assert_int_equal(get_be32(resp + 8), perm_len - 100);
		assert_memory_equal(resp + 16, perm + 16 + 100, n - 16);
	}

	/* Wipe the TPM, then put the state back while it is stopped. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_STOP, NULL, 0), 0);
	{
		/* Empty the directory (the backend holds it open). */
		struct dirent *de;
		DIR *d = opendir(state_dir);

		assert_non_null(d);
		while ((de = readdir(d)))
			if (strncmp(de->d_name, "tpm2-", 5) == 0)
				assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
		closedir(d);
	}

	assert_true(perm_len <= sizeof(setreq) - 12);
	put_be32(setreq, 0);
	put_be32(setreq + 4, PTM_BLOB_TYPE_PERMANENT);
	put_be32(setreq + 8, (uint32_t)perm_len);
	memcpy(setreq + 12, perm + 16, perm_len);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + perm_len), 0);
	put_be32(setreq + 4, PTM_BLOB_TYPE_VOLATILE);
	put_be32(setreq + 8, (uint32_t)vol_len);
	memcpy(setreq + 12, vol + 16, vol_len);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + vol_len), 0);
	/* An empty blob is accepted and changes nothing. */
	put_be32(setreq + 4, PTM_BLOB_TYPE_SAVESTATE);
	put_be32(setreq + 8, 0);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12), 0);
	/* A damaged one is refused. */
	put_be32(setreq + 4, PTM_BLOB_TYPE_PERMANENT);
	put_be32(setreq + 8, 20);
	memset(setreq + 12, 0xa5, 20);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + 20), PTM_RES_BAD_PARAMETER);
	/* An encrypted one too. */
	put_be32(setreq, PTM_STATE_FLAG_ENCRYPTED);
	memcpy(setreq + 12, perm + 16, 20);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + 20), PTM_RES_BAD_PARAMETER);

	/* INIT resumes the volatile state: no Startup needed, NV is back. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_INIT, (uint8_t[4]){ 0, 0, 0, 1 }, 4), 0);
	tpm2_nv_read(&c, 0x01500020, sizeof(secret));
	assert_int_equal(write(f->data[1], c.b, c.len), (ssize_t)c.len);
	assert_int_equal(vtpm_relay_dispatch(f->relay), 1);
	n = (size_t)read(f->data[1], resp, sizeof(resp));
	assert_int_equal(resp_rc(resp), 0);
	data = tpm2_nv_read_data(resp, n, &size);
	assert_non_null(data);
	assert_memory_equal(data, secret, sizeof(secret));
}

static void test_unknown_and_unsupported(void **state)
{
	struct fx *f = *state;
	uint8_t resp[64];

	assert_int_equal(ctrl_simple(f, 0, NULL, 0), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, 0xdeadbeef, NULL, 0), PTM_RES_BAD_ORDINAL);
	/* An unknown command's trailing bytes are dropped, not parsed as commands. */
	assert_int_equal(ctrl_req(f, 0x77, "garbage!", 8, resp, sizeof(resp)), 4);
	assert_int_equal(get_be32(resp), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_HASH_START, NULL, 0), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_HASH_DATA, (uint8_t[6]){ 0, 0, 0, 2, 'h', 'i' }, 6),
			 PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_HASH_END, NULL, 0), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_DATAFD, NULL, 0), PTM_RES_BAD_ORDINAL);
	assert_int_equal(ctrl_simple(f, PTM_CMD_LOCK_STORAGE, (uint8_t[4]){ 0 }, 4), PTM_RES_BAD_ORDINAL);
	/* And the endpoint still works. */
	assert_int_equal(ctrl_req(f, PTM_CMD_GET_CAPABILITY, NULL, 0, resp, sizeof(resp)), 8);
}

/*
 * Every request size of tpm_ioctl.h as vtpm_ctrl_request_size() frames it,
 * from the command code alone and with the length fields in.
 */
static void test_request_sizes(void **state)
{
	static const struct {
		uint32_t cmd;
		size_t min, max;
	} fixed_sizes[] = {
		{ PTM_CMD_GET_CAPABILITY, 4, 4 },
		{ PTM_CMD_INIT, 8, 8 },
		{ PTM_CMD_SHUTDOWN, 4, 4 },
		{ PTM_CMD_GET_TPMESTABLISHED, 4, 4 },
		{ PTM_CMD_SET_LOCALITY, 5, 8 },
		{ PTM_CMD_HASH_START, 4, 4 },
		{ PTM_CMD_HASH_END, 4, 4 },
		{ PTM_CMD_CANCEL_TPM_CMD, 4, 4 },
		{ PTM_CMD_STORE_VOLATILE, 4, 4 },
		{ PTM_CMD_RESET_TPMESTABLISHED, 5, 8 },
		{ PTM_CMD_GET_STATEBLOB, 16, 16 },
		{ PTM_CMD_STOP, 4, 4 },
		{ PTM_CMD_GET_CONFIG, 4, 4 },
		{ PTM_CMD_SET_DATAFD, 4, 4 },
		{ PTM_CMD_SET_BUFFERSIZE, 8, 8 },
		{ PTM_CMD_GET_INFO, 20, 20 },
		{ PTM_CMD_LOCK_STORAGE, 8, 8 },
		{ 0x7fffffff, 4, 4 },
	};
	uint8_t in[16] = { 0 };
	size_t min, max;

	(void)state;
	/* Less than a code: read the code. */
	assert_int_equal(vtpm_ctrl_request_size(in, 2, &min, &max), 0);
	assert_int_equal(min, 4);
	assert_int_equal(max, 4);
	for (size_t i = 0; i < ARRAY_SIZE(fixed_sizes); i++) {
		put_be32(in, fixed_sizes[i].cmd);
		assert_int_equal(vtpm_ctrl_request_size(in, 4, &min, &max), 0);
		assert_int_equal(min, fixed_sizes[i].min);
		assert_int_equal(max, fixed_sizes[i].max);
	}

	/* HASH_DATA: the length field, then that much data up to 4096. */
	put_be32(in, PTM_CMD_HASH_DATA);
	assert_int_equal(vtpm_ctrl_request_size(in, 4, &min, &max), 0);
	assert_int_equal(max, 8);
	put_be32(in + 4, 4096);
	assert_int_equal(vtpm_ctrl_request_size(in, 8, &min, &max), 0);
	assert_int_equal(min, 8 + 4096);
	assert_int_equal(max, 8 + 4096);
	put_be32(in + 4, 4097);
	assert_int_equal(vtpm_ctrl_request_size(in, 8, &min, &max), -EMSGSIZE);

	/* SET_STATEBLOB: a 12-byte header whose last field is the length. */
	put_be32(in, PTM_CMD_SET_STATEBLOB);
	assert_int_equal(vtpm_ctrl_request_size(in, 10, &min, &max), 0);
	assert_int_equal(max, 16);
	put_be32(in + 12, 1000);
	assert_int_equal(vtpm_ctrl_request_size(in, 16, &min, &max), 0);
	assert_int_equal(min, 16 + 1000);
	assert_int_equal(max, 16 + 1000);
	put_be32(in + 12, 512 * 1024 + 1);
	assert_int_equal(vtpm_ctrl_request_size(in, 16, &min, &max), -EMSGSIZE);
}

/* Send @req_len bytes of @cmd as one write; the response must be exactly @resp_len bytes. */
static uint32_t ctrl_exact(struct fx *f, uint32_t cmd, const void *body, size_t body_len, size_t resp_len)
{
	uint8_t resp[8192];
	size_t n = ctrl_req(f, cmd, body, body_len, resp, sizeof(resp));

	assert_int_equal(n, resp_len);
	return get_be32(resp);
}

/*
 * QEMU's tpm_emulator.c: each request with the sizes it sends, and exactly
 * the response size it reads, in the order of a boot, a migration and a
 * power-off.  Framing must survive every step: a request of the wrong size
 * would shift the next one (SET_LOCALITY's padding read as a command code).
 */
static void test_qemu_sizes(void **state)
{
	struct fx *f = *state;
	uint8_t zero4[4] = { 0 }, bufsize[4], loc[4] = { 0, 0xaa, 0xbb, 0xcc };
	uint8_t init[4] = { 0 }, get_req[PTM_GETSTATE_REQ_SIZE] = { 0 };
	uint8_t resp[8192];
	size_t n;

	assert_int_equal(ctrl_exact(f, PTM_CMD_GET_CAPABILITY, NULL, 0, 8), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_STOP, NULL, 0, 4), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_SET_BUFFERSIZE, zero4, 4, 16), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_STOP, NULL, 0, 4), 0);
	put_be32(bufsize, 4096);
	assert_int_equal(ctrl_exact(f, PTM_CMD_SET_BUFFERSIZE, bufsize, 4, 16), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_INIT, init, 4, 4), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_GET_TPMESTABLISHED, NULL, 0, 8), 0);

	/* sizeof(ptm_loc): the locality and 3 bytes of padding (garbage here). */
	loc[0] = 3;
	assert_int_equal(ctrl_exact(f, PTM_CMD_SET_LOCALITY, loc, 4, 4), 0);
	assert_int_equal(vtpm_relay_get_locality(f->relay), 3);
	assert_int_equal(ctrl_exact(f, PTM_CMD_RESET_TPMESTABLISHED, loc, 4, 4), 0);
	/* What the padding used to corrupt: the next requests. */
	assert_int_equal(ctrl_exact(f, PTM_CMD_GET_TPMESTABLISHED, NULL, 0, 8), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_CANCEL_TPM_CMD, NULL, 0, 4), 0);
	loc[0] = 0;
	assert_int_equal(ctrl_exact(f, PTM_CMD_SET_LOCALITY, loc, 4, 4), 0);
	assert_int_equal(vtpm_relay_get_locality(f->relay), 0);

	/* swtpm_ioctl sends the one byte of u.req alone: also one request. */
	loc[0] = 2;
	assert_int_equal(ctrl_exact(f, PTM_CMD_SET_LOCALITY, loc, 1, 4), 0);
	assert_int_equal(vtpm_relay_get_locality(f->relay), 2);
	assert_int_equal(ctrl_exact(f, PTM_CMD_GET_CONFIG, NULL, 0, 8), 0);

	/* Outgoing migration: offsetof(ptm_getstate, u.resp.data), then totlength bytes. */
	put_be32(get_req, PTM_STATE_FLAG_DECRYPTED);
	put_be32(get_req + 4, PTM_BLOB_TYPE_PERMANENT);
	n = ctrl_req(f, PTM_CMD_GET_STATEBLOB, get_req, sizeof(get_req), resp, sizeof(resp));
	assert_true(n > PTM_GETSTATE_RESP_HEADER_SIZE);
	assert_int_equal(get_be32(resp), 0);
	assert_int_equal(get_be32(resp + 8), get_be32(resp + 12));
	assert_int_equal(n, PTM_GETSTATE_RESP_HEADER_SIZE + get_be32(resp + 8));

	/* Incoming: STOP, the blob (header, then body in a second write), INIT(DELETE_VOLATILE). */
	assert_int_equal(ctrl_exact(f, PTM_CMD_STOP, NULL, 0, 4), 0);
	{
		uint8_t hdr[PTM_CMD_SIZE + PTM_SETSTATE_REQ_HEADER_SIZE];
		const uint8_t *blob = resp + PTM_GETSTATE_RESP_HEADER_SIZE;
		uint32_t blob_len = get_be32(resp + 8);
		uint8_t res[8];

		put_be32(hdr, PTM_CMD_SET_STATEBLOB);
		put_be32(hdr + 4, 0);
		put_be32(hdr + 8, PTM_BLOB_TYPE_PERMANENT);
		put_be32(hdr + 12, blob_len);
		assert_int_equal(write(f->cfd, hdr, sizeof(hdr)), sizeof(hdr));
		assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 0);
		assert_int_equal(write(f->cfd, blob, blob_len), (ssize_t)blob_len);
		assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 1);
		assert_int_equal(read_resp(f->cfd, res, sizeof(res)), 4);
		assert_int_equal(get_be32(res), 0);
	}
	put_be32(init, PTM_INIT_FLAG_DELETE_VOLATILE);
	assert_int_equal(ctrl_exact(f, PTM_CMD_INIT, init, 4, 4), 0);
	assert_int_equal(ctrl_exact(f, PTM_CMD_SHUTDOWN, NULL, 0, 4), 0);
	assert_int_equal(vtpm_ctrl_shutdown_requested(f->ctrl), 1);
}

static void test_short_and_partial(void **state)
{
	struct fx *f = *state;
	uint8_t resp[64], init[] = { 0, 0, 0, PTM_CMD_INIT, 0, 0, 0, 0 };

	assert_int_equal(vtpm_ctrl_set_timeout(f->ctrl, 0), -EINVAL);
	assert_int_equal(vtpm_ctrl_set_timeout(f->ctrl, 50), 0);
	assert_int_equal(vtpm_ctrl_get_timeout(f->ctrl), -1);

	/* Half a command code, then silence: TPM_BAD_PARAMETER after the timeout. */
	assert_int_equal(write(f->cfd, "\0\0", 2), 2);
	assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 0);
	assert_true(vtpm_ctrl_get_timeout(f->ctrl) >= 0);
	usleep(70 * 1000);
	assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 0);
	assert_int_equal(read_resp(f->cfd, resp, sizeof(resp)), 4);
	assert_int_equal(get_be32(resp), PTM_RES_BAD_PARAMETER);

	/* INIT without its whole flags field: the same. */
	assert_int_equal(write(f->cfd, init, 6), 6);
	assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 0);
	usleep(70 * 1000);
	vtpm_ctrl_dispatch(f->ctrl);
	assert_int_equal(read_resp(f->cfd, resp, sizeof(resp)), 4);
	assert_int_equal(get_be32(resp), PTM_RES_BAD_PARAMETER);

	/* A request trickling in byte by byte within the timeout is fine; the
	 * timeout is wide here so that a slow runner does not expire it. */
	assert_int_equal(vtpm_ctrl_set_timeout(f->ctrl, 30000), 0);
	for (size_t i = 0; i < sizeof(init); i++) {
		assert_int_equal(write(f->cfd, init + i, 1), 1);
		assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), i + 1 == sizeof(init) ? 1 : 0);
	}
	assert_int_equal(read_resp(f->cfd, resp, sizeof(resp)), 4);
	assert_int_equal(get_be32(resp), 0);

	/* Two requests in one write are two answers. */
	{
		uint8_t two[8] = { 0, 0, 0, PTM_CMD_GET_CONFIG, 0, 0, 0, PTM_CMD_GET_CAPABILITY };

		assert_int_equal(write(f->cfd, two, sizeof(two)), sizeof(two));
		assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 2);
		assert_int_equal(read_resp(f->cfd, resp, sizeof(resp)), 16);
	}

	/* A blob length beyond the protocol: refused, and the client dropped. */
	{
		uint8_t big[16] = { 0, 0, 0, PTM_CMD_SET_STATEBLOB, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff };

		vtpm_backend_shutdown(f->backend);
		assert_int_equal(write(f->cfd, big, sizeof(big)), sizeof(big));
		assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 1);
		assert_int_equal(read_resp(f->cfd, resp, sizeof(resp)), 4);
		assert_int_equal(get_be32(resp), PTM_RES_BAD_PARAMETER);
		assert_int_equal(read(f->cfd, resp, sizeof(resp)), 0); /* closed */
		assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), -EPIPE);
	}
}

static void test_disconnect_mid_request(void **state)
{
	struct fx *f = *state;

	assert_int_equal(write(f->cfd, "\0\0\0\x0d\0\0", 6), 6);
	assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), 0);
	close(f->cfd);
	f->cfd = -1;
	assert_int_equal(vtpm_ctrl_dispatch(f->ctrl), -EPIPE);
	assert_int_equal(vtpm_ctrl_get_timeout(f->ctrl), -1);
}

/* ------------------------------------------------------ a listening endpoint */

static char sock_path[108];

/*
 * Every bind(2) in this program passes through here (the library is linked
 * in statically), so a test sees a socket node the moment it exists, and
 * can play a local user who swaps the node at @swap_path for a symlink.
 */
static struct {
	bool armed;
	bool seen;
	mode_t mode, dir_mode;
	uid_t uid;
	char swap_path[108];
	char swap_target[128];
} bind_watch;

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	int r = (int)syscall(SYS_bind, fd, sa, len);
	char dir[sizeof(un->sun_path)];
	struct stat st;

	if (r < 0 || !bind_watch.armed || sa->sa_family != AF_UNIX)
		return r;
	bind_watch.armed = false;
	if (lstat(un->sun_path, &st) == 0) {
		bind_watch.seen = true;
		bind_watch.mode = st.st_mode & 07777;
		bind_watch.uid = st.st_uid;
	}
	snprintf(dir, sizeof(dir), "%s", un->sun_path);
	*strrchr(dir, '/') = '\0';
	if (stat(dir, &st) == 0)
		bind_watch.dir_mode = st.st_mode & 07777;
	if (bind_watch.swap_path[0]) {
		unlink(bind_watch.swap_path);
		if (symlink(bind_watch.swap_target, bind_watch.swap_path) < 0)
			fprintf(stderr, "symlink: %m\n");
	}
	return r;
}

/* The socket is 0600 and ours from the moment it exists, whatever the umask. */
static void test_unix_socket_born_private(void **state)
{
	struct fx *f = *state;
	struct vtpm_ctrl *c;
	struct stat st;
	char addr[128];
	mode_t old = umask(0);

	snprintf(sock_path, sizeof(sock_path), "%s/ctrl.sock", state_dir);
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);
	bind_watch = (typeof(bind_watch)){ .armed = true };
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c), 0);
	umask(old);
	assert_true(bind_watch.seen);
	assert_int_equal(bind_watch.mode, 0600);
	assert_int_equal(bind_watch.uid, geteuid());
	/* ...and born where nobody else could reach it. */
	assert_int_equal(bind_watch.dir_mode, 0700);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	vtpm_ctrl_unref(c);
}

/*
 * A local user who may write the socket's directory swaps the new node for
 * a symlink to a file of ours: nothing follows it to change the file's mode.
 */
static void test_unix_socket_no_chmod_through_symlink(void **state)
{
	struct vtpm_ctrl_options o = { .size = sizeof(o), .mode = 0660, .uid = (uid_t)-1,
				       .gid = (gid_t)-1 };
	struct fx *f = *state;
	struct vtpm_ctrl *c = NULL;
	char victim[128], addr[128];
	struct stat st;
	int fd, r;

	snprintf(sock_path, sizeof(sock_path), "%s/ctrl.sock", state_dir);
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);
	snprintf(victim, sizeof(victim), "%s/secret", state_dir);
	fd = open(victim, O_CREAT | O_WRONLY | O_CLOEXEC, 0400);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(chmod(victim, 0400), 0);

	bind_watch = (typeof(bind_watch)){ .armed = true };
	strcpy(bind_watch.swap_path, sock_path);
	strcpy(bind_watch.swap_target, victim);
	r = vtpm_ctrl_new_from_address(f->backend, addr, &o, &c);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0400);
	/* The name was taken meanwhile: not replaced, and no socket served there. */
	assert_int_equal(r, -EADDRINUSE);
	assert_null(c);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unlink(sock_path);
	unlink(victim);
}


static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void test_unix_socket_rules(void **state)
{
	struct fx *f = *state;
	struct vtpm_ctrl_options o = { .size = sizeof(o), .uid = (uid_t)-1, .gid = (gid_t)-1 };
	struct vtpm_ctrl *c, *c2;
	struct stat st;
	char addr[128];
	int fd;

	snprintf(sock_path, sizeof(sock_path), "%s/ctrl.sock", state_dir);
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);

	/* Default: 0600. */
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c), 0);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	/* Someone listens there: not replaced. */
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c2), -EADDRINUSE);
	vtpm_ctrl_unref(c);
	assert_int_equal(lstat(sock_path, &st), -1);

	/* A given mode; a stale socket is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, sock_path);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	o.mode = 0660;
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, sock_path, &o, &c), 0);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	vtpm_ctrl_unref(c);

	/* Never world-writable, never over a non-socket. */
	o.mode = 0666;
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, &o, &c), -EINVAL);
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c), -EEXIST);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(sock_path);

	/* Addresses. */
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "relative/path", NULL, &c), -EINVAL);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "unauthenticated-tcp:10.1.2.3:2322",
				       NULL, &c), -EPERM);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "unauthenticated-tcp:127.0.0.1:99999",
				       NULL, &c), -EINVAL);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "unauthenticated-tcp:127.0.0.1:0x10",
				       NULL, &c), -EINVAL);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "tcp:127.0.0.1:0x10", NULL, &c), -EINVAL);
}

/* TCP has no authentication: taken only under the name that says so. */
static void test_tcp_needs_opt_in(void **state)
{
	struct fx *f = *state;
	struct vtpm_ctrl_client *client = NULL;
	struct vtpm_backend *b = NULL;
	struct vtpm_ctrl *c = NULL;
	uint16_t port, unused;
	char addr[64];
	int probe;

	assert_int_equal(loopback_ports(&port, &unused), 0);
	snprintf(addr, sizeof(addr), "tcp:127.0.0.1:%u", port);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c), -EPERM);
	assert_null(c);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, "tcp:[::1]:2322", NULL, &c), -EPERM);
	/* Nothing listens there. */
	probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	{
		struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		assert_int_equal(connect(probe, (struct sockaddr *)&sin, sizeof(sin)), -1);
	}
	close(probe);
	/* Clients and the swtpm backend follow the same rule. */
	assert_int_equal(vtpm_ctrl_client_new(f->ctx, addr, 0, &client), -EPERM);
	assert_null(client);
	assert_int_equal(vtpm_backend_new_swtpm(f->ctx, VTPM_VERSION_2, addr,
						"unix:/nonexistent", 0, &b), -EPERM);
	assert_int_equal(vtpm_backend_new_swtpm(f->ctx, VTPM_VERSION_2, "unix:/nonexistent",
						addr, 0, &b), -EPERM);
	assert_null(b);
}

/* A server that took over a socket's name runs as somebody else: refused. */
static void test_client_checks_unix_peer(void **state)
{
	struct fx *f = *state;
	struct vtpm_ctrl_client *client;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[64], addr[160];
	const uid_t nobody = 65534;
	uint32_t caps;
	int ready[2], done[2];
	pid_t pid;
	char c;

	if (geteuid() != 0)
		skip(); /* needs a second identity */
	snprintf(dir, sizeof(dir), "%s/shared", state_dir);
	assert_int_equal(mkdir(dir, 0777), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(chmod(state_dir, 0755), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/ctrl.sock", dir);
	snprintf(addr, sizeof(addr), "unix:%s", sa.sun_path);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	assert_int_equal(pipe2(done, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd;

		close(ready[0]);
		close(done[1]);
		if (setgid(nobody) < 0 || setuid(nobody) < 0)
			_exit(1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (syscall(SYS_bind, fd, &sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		/* Accepts nothing; the backlog takes the connections. */
		if (read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);

	assert_int_equal(vtpm_ctrl_client_new(f->ctx, addr, 300, &client), 0);
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), -EPERM);
	/* Writable by root alone: root put that server there (one that dropped
	 * to its own user, say), so it is trusted. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), -ETIMEDOUT);
	/* Writable by its group: anyone in it could have swapped the socket. */
	assert_int_equal(chmod(dir, 0775), 0);
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), -EPERM);
	/* The directory's owner decides what is in it: its server is trusted. */
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chown(dir, nobody, (gid_t)-1), 0);
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), -ETIMEDOUT);
	vtpm_ctrl_client_unref(client);

	close(done[1]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	unlink(sa.sun_path);
	rmdir(dir);
}

struct runner {
	struct vtpm_relay *relay;
	int r;
};

static void *run_relay(void *arg)
{
	struct runner *run = arg;

	run->r = vtpm_relay_run(run->relay);
	return NULL;
}

static void test_stuck_client_blocks_nothing(void **state)
{
	struct fx *f = *state;
	struct vtpm_ctrl_client *client;
	struct vtpm_ctrl *c;
	struct runner run = { .relay = f->relay };
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct pollfd pfd = { .fd = f->data[1], .events = POLLIN };
	struct cmdbuf cmd;
	pthread_t thread;
	char addr[128];
	uint32_t caps = 0;
	int stuck, idle;

	snprintf(sock_path, sizeof(sock_path), "%s/ctrl.sock", state_dir);
	snprintf(addr, sizeof(addr), "unix:%s", sock_path);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, NULL), 0);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c), 0);
	/* Long enough that the data channel, however slow the runner, is served
	 * well before it expires: the stuck request is still pending then. */
	assert_int_equal(vtpm_ctrl_set_timeout(c, 5000), 0);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, c), 0);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, f->ctrl), -EBUSY);
	assert_int_equal(pthread_create(&thread, NULL, run_relay, &run), 0);

	/* A client that sends half a request and then nothing... */
	stuck = connect_unix(sock_path);
	assert_int_equal(write(stuck, "\0\0", 2), 2);
	usleep(20 * 1000); /* lets the relay take the half request first */

	/* ...does not hold up the data channel: the answer comes while the
	 * stuck client is still unanswered (a blocked relay answers it first,
	 * at its timeout, or never). */
	tpm2_startup(&cmd, TPM2_SU_CLEAR);
	assert_int_equal(write(f->data[1], cmd.b, cmd.len), (ssize_t)cmd.len);
	assert_int_equal(poll(&pfd, 1, 30000), 1);
	assert_true(read(f->data[1], resp, sizeof(resp)) >= TPM_HEADER_SIZE);
	assert_int_equal(poll(&(struct pollfd){ .fd = stuck, .events = POLLIN }, 1, 0), 0);

	/* It is answered once the timeout passes, and stays connected but idle. */
	assert_int_equal(read_resp(stuck, resp, 4), 4);
	assert_int_equal(get_be32(resp), PTM_RES_BAD_PARAMETER);

	/* A second client waits, then takes over from the idle one. */
	assert_int_equal(vtpm_ctrl_client_new(f->ctx, addr, 30000, &client), 0);
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), 0);
	assert_true(caps & PTM_CAP_INIT);
	assert_int_equal(read(stuck, resp, sizeof(resp)), 0); /* dropped */
	close(stuck);

	/* The library client holds no connection between commands. */
	idle = connect_unix(sock_path);
	assert_int_equal(write(idle, (uint8_t[4]){ 0, 0, 0, PTM_CMD_GET_CONFIG }, 4), 4);
	assert_int_equal(read_resp(idle, resp, 8), 8);
	assert_int_equal(get_be32(resp), 0);
	/* A client that stays connected idle gives way to the library client. */
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), 0);
	close(idle);

	assert_int_equal(vtpm_ctrl_client_shutdown(client), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(run.r, 0);
	vtpm_ctrl_client_unref(client);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, NULL), 0);
	vtpm_ctrl_unref(c);
}

/* The endpoint on loopback TCP, as swtpm's --ctrl type=tcp: bound to the
 * address asked for, serving our client alongside the data channel. */
static void test_tcp_endpoint(void **state)
{
	struct fx *f = *state;
	struct vtpm_ctrl_client *client;
	struct runner run = { .relay = f->relay };
	struct sockaddr_in sin;
	struct vtpm_ctrl *c, *c2;
	struct cmdbuf cmd;
	pthread_t thread;
	char addr[64], *info = NULL;
	uint16_t port, unused;
	uint32_t caps = 0;
	int probe;

	assert_int_equal(loopback_ports(&port, &unused), 0);
	snprintf(addr, sizeof(addr), "unauthenticated-tcp:127.0.0.1:%u", port);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, NULL), 0);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c), 0);
	assert_int_equal(vtpm_ctrl_new_from_address(f->backend, addr, NULL, &c2), -EADDRINUSE);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, c), 0);

	/* Bound to the address given, not to every address: 127.0.0.2 is
	 * loopback too, and refused. */
	probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sin = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1) };
	assert_int_equal(connect(probe, (struct sockaddr *)&sin, sizeof(sin)), -1);
	assert_int_equal(errno, ECONNREFUSED);
	close(probe);

	assert_int_equal(pthread_create(&thread, NULL, run_relay, &run), 0);
	assert_int_equal(vtpm_ctrl_client_new(f->ctx, addr, 30000, &client), 0);
	assert_int_equal(vtpm_ctrl_client_get_capability(client, &caps), 0);
	assert_true(caps & PTM_CAP_GET_INFO);
	assert_int_equal(vtpm_ctrl_client_init(client, 0), 0);
	tpm2_startup(&cmd, TPM2_SU_CLEAR);
	assert_int_equal(write(f->data[1], cmd.b, cmd.len), (ssize_t)cmd.len);
	{
		uint8_t resp[VTPM_BUFFER_SIZE];
		struct pollfd pfd = { .fd = f->data[1], .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 30000), 1);
		assert_true(read(f->data[1], resp, sizeof(resp)) >= TPM_HEADER_SIZE);
		assert_int_equal(resp_rc(resp), 0);
	}
	assert_int_equal(vtpm_ctrl_client_set_locality(client, 3), 0);
	assert_int_equal(vtpm_ctrl_client_get_info(client, 1, &info), 0);
	assert_non_null(strstr(info, "\"family\":\"2.0\""));
	free(info);
	assert_int_equal(vtpm_ctrl_client_shutdown(client), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(run.r, 0);
	vtpm_ctrl_client_unref(client);
	assert_int_equal(vtpm_relay_attach_ctrl(f->relay, NULL), 0);
	vtpm_ctrl_unref(c);
}

/* ------------------------------------------------------ a lying server */

/* A server that accepts one client, reads its request, answers @resp. */
struct fake_server {
	int listen_fd;
	const uint8_t *resp;
	size_t resp_len;
};

static void *serve_once(void *arg)
{
	struct fake_server *s = arg;
	uint8_t req[64];
	int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (read(fd, req, sizeof(req)) > 0 && write(fd, s->resp, s->resp_len) < 0)
		fprintf(stderr, "fake server: write: %m\n");
	close(fd);
	return NULL;
}

/*
 * GET_INFO with a total length of 0xffffffff: once allocated as total + 1
 * in 32 bits, i.e. malloc(0), then filled with 3 KiB the server chose.
 */
static void test_client_bounds_info_length(void **state)
{
	static uint8_t resp[PTM_GETINFO_RESP_HEADER_SIZE + PTM_GETINFO_MAX];
	struct fake_server srv = { .resp = resp, .resp_len = sizeof(resp) };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct fx *f = *state;
	struct vtpm_ctrl_client *client;
	char addr[128], *info = NULL;
	pthread_t thread;

	memset(resp, 'A', sizeof(resp));
	put_be32(resp, PTM_RES_SUCCESS);
	put_be32(resp + 4, 0xffffffffu);
	put_be32(resp + 8, PTM_GETINFO_MAX);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/lying.sock", state_dir);
	snprintf(addr, sizeof(addr), "unix:%s", sa.sun_path);
	srv.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(srv.listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(srv.listen_fd, 1), 0);
	assert_int_equal(pthread_create(&thread, NULL, serve_once, &srv), 0);

	assert_int_equal(vtpm_ctrl_client_new(f->ctx, addr, 2000, &client), 0);
	assert_int_equal(vtpm_ctrl_client_get_info(client, 1, &info), -EPROTO);
	assert_null(info);
	assert_int_equal(pthread_join(thread, NULL), 0);

	/* Just over the bound, and a chunk longer than the protocol's. */
	put_be32(resp + 4, 64 * 1024 + 1);
	assert_int_equal(pthread_create(&thread, NULL, serve_once, &srv), 0);
	assert_int_equal(vtpm_ctrl_client_get_info(client, 1, &info), -EPROTO);
	assert_int_equal(pthread_join(thread, NULL), 0);
	put_be32(resp + 4, 2 * PTM_GETINFO_MAX);
	put_be32(resp + 8, PTM_GETINFO_MAX + 1);
	assert_int_equal(pthread_create(&thread, NULL, serve_once, &srv), 0);
	assert_int_equal(vtpm_ctrl_client_get_info(client, 1, &info), -EPROTO);
	assert_int_equal(pthread_join(thread, NULL), 0);

	vtpm_ctrl_client_unref(client);
	close(srv.listen_fd);
}

/* A backend with a state key: swtpm's GET_CONFIG bit and encrypted blobs. */
static void test_stateblob_encrypted(void **state)
{
	static uint8_t enc[1 << 20], plain[1 << 20], setreq[PTM_SETSTATE_REQ_HEADER_SIZE + 65536];
	uint8_t resp[64], req[PTM_GETSTATE_REQ_SIZE] = { 0 }, other_bytes[32] = { 1 };
	struct vtpm_state_key *key, *other;
	uint8_t *a, *b, *rewrapped;
	size_t enc_len, plain_len, a_len, b_len, rewrapped_len, n;
	struct fx *f = *state;
	struct cmdbuf c;

	assert_int_equal(vtpm_state_key_new(f->ctx, fx_key, sizeof(fx_key), &key), 0);
	assert_int_equal(vtpm_state_key_new(f->ctx, other_bytes, sizeof(other_bytes), &other), 0);
	assert_int_equal(ctrl_req(f, PTM_CMD_GET_CONFIG, NULL, 0, resp, sizeof(resp)), 8);
	assert_int_equal(get_be32(resp + 4), PTM_CONFIG_FLAG_FILE_KEY);

	assert_int_equal(ctrl_simple(f, PTM_CMD_INIT, (uint8_t[4]){ 0 }, 4), 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(write(f->data[1], c.b, c.len), (ssize_t)c.len);
	assert_int_equal(vtpm_relay_dispatch(f->relay), 1);
	assert_true(read_resp(f->data[1], resp, sizeof(resp)) >= TPM_HEADER_SIZE);

	/* Without PTM_STATE_FLAG_DECRYPTED: encrypted with the state key, and said so. */
	put_be32(req + 4, PTM_BLOB_TYPE_PERMANENT);
	n = ctrl_req(f, PTM_CMD_GET_STATEBLOB, req, sizeof(req), enc, sizeof(enc));
	assert_true(n > PTM_GETSTATE_RESP_HEADER_SIZE);
	assert_int_equal(get_be32(enc), 0);
	assert_int_equal(get_be32(enc + 4), PTM_STATE_FLAG_ENCRYPTED);
	enc_len = n - PTM_GETSTATE_RESP_HEADER_SIZE;
	assert_int_equal(get_be16(enc + 16 + 4), SWTPM_BLOB_FLAG_MIGRATION_DATA |
			 SWTPM_BLOB_FLAG_ENCRYPTED | SWTPM_BLOB_FLAG_ENCRYPTED_256BIT_KEY);
	/* With it: in clear, as before. */
	put_be32(req, PTM_STATE_FLAG_DECRYPTED);
	n = ctrl_req(f, PTM_CMD_GET_STATEBLOB, req, sizeof(req), plain, sizeof(plain));
	assert_int_equal(get_be32(plain + 4), 0);
	plain_len = n - PTM_GETSTATE_RESP_HEADER_SIZE;

	assert_int_equal(vtpm_ctrl_blob_decode(NULL, true, enc + 16, enc_len, &a, &a_len), -ENOKEY);
	assert_int_equal(vtpm_ctrl_blob_decode(other, true, enc + 16, enc_len, &a, &a_len), -EKEYREJECTED);
	assert_int_equal(vtpm_ctrl_blob_decode(key, true, enc + 16, enc_len, &a, &a_len), 0);
	assert_int_equal(vtpm_ctrl_blob_decode(NULL, false, plain + 16, plain_len, &b, &b_len), 0);
	assert_int_equal(a_len, b_len);
	assert_memory_equal(a, b, a_len);

	/* SET_STATEBLOB takes the encrypted blob back, and refuses one under another key. */
	assert_int_equal(ctrl_simple(f, PTM_CMD_STOP, NULL, 0), 0);
	assert_true(enc_len <= 65536);
	put_be32(setreq, PTM_STATE_FLAG_ENCRYPTED);
	put_be32(setreq + 4, PTM_BLOB_TYPE_PERMANENT);
	put_be32(setreq + 8, (uint32_t)enc_len);
	memcpy(setreq + 12, enc + 16, enc_len);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + enc_len), 0);
	assert_int_equal(vtpm_ctrl_blob_encode(other, a, a_len, &rewrapped, &rewrapped_len), 0);
	assert_true(rewrapped_len <= 65536);
	put_be32(setreq + 8, (uint32_t)rewrapped_len);
	memcpy(setreq + 12, rewrapped, rewrapped_len);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + rewrapped_len),
			 PTM_RES_BAD_PARAMETER);
	/* A plain blob is taken too, as swtpm lets state be upgraded to encryption. */
	put_be32(setreq, 0);
	put_be32(setreq + 8, (uint32_t)plain_len);
	memcpy(setreq + 12, plain + 16, plain_len);
	assert_int_equal(ctrl_simple(f, PTM_CMD_SET_STATEBLOB, setreq, 12 + plain_len), 0);
	assert_int_equal(ctrl_simple(f, PTM_CMD_INIT, (uint8_t[4]){ 0 }, 4), 0);

	free(a);
	free(b);
	free(rewrapped);
	vtpm_state_key_unref(key);
	vtpm_state_key_unref(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_capability_and_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stateblob_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stateblob_encrypted, setup_with_key, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_and_unsupported, setup, teardown),
		cmocka_unit_test(test_request_sizes),
		cmocka_unit_test_setup_teardown(test_qemu_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_and_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect_mid_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stuck_client_blocks_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_endpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_bounds_info_length, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket_born_private, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket_no_chmod_through_symlink, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tcp_needs_opt_in, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_checks_unix_peer, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

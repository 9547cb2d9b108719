/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The state file: round trip, and refusal of every truncation, every single
 * bit flip, an unknown format version and inconsistent tables.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vtpm-internal.h"
#include "wire.h"

static char dir[] = "/tmp/test-state-file-XXXXXX";
static char path[256];
static struct vtpm_ctx *ctx;

static const uint8_t perm[] = "permanent state: seeds and NV indices";
static const uint8_t vol[] = "volatile: PCRs";
static const uint8_t save[] = "savestate";

/* CRC-32C bit by bit: an independent check of the library's table version. */
static uint32_t crc32c_ref(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffff;

	while (len--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = (crc >> 1) ^ (crc & 1 ? 0x82f63b78 : 0);
	}
	return ~crc;
}

static void write_raw(const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static size_t read_raw(uint8_t *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size);
	close(fd);
	assert_true(n > 0);
	return (size_t)n;
}

static int try_read(void)
{
	struct vtpm_state *s = NULL;
	int r = vtpm_state_read_file(ctx, path, &s);

	vtpm_state_unref(s);
	return r;
}

static int setup(void **state)
{
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/tpm.state", dir);
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	vtpm_ctx_unref(ctx);
	return 0;
}

/* A state file with all three blobs at @path; returns its bytes. */
static size_t make_file(uint8_t *buf, size_t size)
{
	struct vtpm_state *s;

	assert_int_equal(vtpm_state_new(ctx, VTPM_VERSION_2, &s), 0);
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_PERMANENT, perm, sizeof(perm)), 0);
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_VOLATILE, vol, sizeof(vol)), 0);
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_SAVESTATE, save, sizeof(save)), 0);
	assert_int_equal(vtpm_state_write_file(s, path), 0);
	vtpm_state_unref(s);
	return read_raw(buf, size);
}

static void test_round_trip(void **state)
{
	uint8_t buf[1024];
	struct vtpm_state *s;
	const uint8_t *data;
	struct stat st;
	size_t len, n;

	n = make_file(buf, sizeof(buf));
	assert_int_equal(n, 24 + 3 * 8 + sizeof(perm) + sizeof(vol) + sizeof(save) + 4);
	assert_memory_equal(buf, "VTPMSTAT", 8);
	assert_int_equal(get_be32(buf + 8), VTPM_STATE_FORMAT_VERSION);
	assert_int_equal(get_be32(buf + 12), 2);
	assert_int_equal(get_be32(buf + 16), 3);
	assert_int_equal(get_be32(buf + n - 4), crc32c_ref(buf, n - 4));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(vtpm_state_read_file(ctx, path, &s), 0);
	assert_int_equal(vtpm_state_get_version(s), VTPM_VERSION_2);
	assert_int_equal(vtpm_state_get_blob(s, VTPM_STATE_PERMANENT, &data, &len), 0);
	assert_int_equal(len, sizeof(perm));
	assert_memory_equal(data, perm, len);
	assert_int_equal(vtpm_state_get_blob(s, VTPM_STATE_VOLATILE, &data, &len), 0);
	assert_memory_equal(data, vol, sizeof(vol));
	assert_int_equal(vtpm_state_get_blob(s, VTPM_STATE_SAVESTATE, &data, &len), 0);
	assert_memory_equal(data, save, sizeof(save));

	/* Removing a blob; rewriting replaces the file atomically. */
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_SAVESTATE, NULL, 0), 0);
	assert_int_equal(vtpm_state_get_blob(s, VTPM_STATE_SAVESTATE, &data, &len), -ENOENT);
	assert_int_equal(vtpm_state_set_blob(s, 9, perm, 1), -EINVAL);
	assert_int_equal(vtpm_state_write_file(s, path), 0);
	vtpm_state_unref(s);
	assert_int_equal(vtpm_state_read_file(ctx, path, &s), 0);
	assert_int_equal(vtpm_state_get_blob(s, VTPM_STATE_SAVESTATE, &data, &len), -ENOENT);
	vtpm_state_unref(s);

	/* Without a permanent blob there is nothing to write. */
	assert_int_equal(vtpm_state_new(ctx, VTPM_VERSION_1_2, &s), 0);
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_VOLATILE, vol, sizeof(vol)), 0);
	assert_int_equal(vtpm_state_write_file(s, path), -EINVAL);
	vtpm_state_unref(s);
	assert_int_equal(vtpm_state_new(ctx, 5, &s), -EINVAL);
}

static void test_every_truncation(void **state)
{
	uint8_t buf[1024];
	size_t n = make_file(buf, sizeof(buf));

	for (size_t len = 0; len < n; len++) {
		write_raw(buf, len);
		assert_int_equal(try_read(), -EBADMSG);
	}
	/* Trailing garbage is damage too. */
	buf[n] = 0;
	write_raw(buf, n + 1);
	assert_int_equal(try_read(), -EBADMSG);
}

static void test_every_bit_flip(void **state)
{
	uint8_t buf[1024];
	size_t n = make_file(buf, sizeof(buf));

	for (size_t bit = 0; bit < n * 8; bit++) {
		int r;

		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		write_raw(buf, n);
		r = try_read();
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != -EBADMSG && r != -EPROTONOSUPPORT)
			fail_msg("bit %zu flipped: read returned %d", bit, r);
	}
	write_raw(buf, n);
	assert_int_equal(try_read(), 0);
}

/* Rewrite the checksum after a deliberate change. */
static void reseal(uint8_t *buf, size_t n)
{
	put_be32(buf + n - 4, crc32c_ref(buf, n - 4));
}

static void test_wrong_version_and_tables(void **state)
{
	uint8_t buf[1024], copy[1024];
	size_t n = make_file(buf, sizeof(buf));

	memcpy(copy, buf, n);
	put_be32(copy + 8, 2);
	reseal(copy, n);
	write_raw(copy, n);
	assert_int_equal(try_read(), -EPROTONOSUPPORT);

	memcpy(copy, buf, n);
	memcpy(copy, "VTPMSTAX", 8);
	reseal(copy, n);
	write_raw(copy, n);
	assert_int_equal(try_read(), -EBADMSG);

	/* TPM family 3 */
	memcpy(copy, buf, n);
	put_be32(copy + 12, 3);
	reseal(copy, n);
	write_raw(copy, n);
	assert_int_equal(try_read(), -EBADMSG);

	/* The same type twice. */
	memcpy(copy, buf, n);
	put_be32(copy + 24 + 8, VTPM_STATE_PERMANENT);
	reseal(copy, n);
	write_raw(copy, n);
	assert_int_equal(try_read(), -EBADMSG);

	/* Lengths that do not add up. */
	memcpy(copy, buf, n);
	put_be32(copy + 24 + 4, sizeof(perm) - 1);
	reseal(copy, n);
	write_raw(copy, n);
	assert_int_equal(try_read(), -EBADMSG);

	/* A count beyond the table. */
	memcpy(copy, buf, n);
	put_be32(copy + 16, 0x40000000);
	reseal(copy, n);
	write_raw(copy, n);
	assert_int_equal(try_read(), -EBADMSG);

	/* No such file; not a regular file. */
	unlink(path);
	assert_int_equal(try_read(), -ENOENT);
	assert_int_equal(vtpm_state_read_file(ctx, "/dev/null", &(struct vtpm_state *){ NULL }), -EBADMSG);
}

/* Blobs encrypted with a state key: the key opens them, nothing else does. */
static void test_encrypted(void **state)
{
	uint8_t bytes[32], buf[4096];
	struct vtpm_state_key *key, *other;
	struct vtpm_state *s, *back = NULL;
	const uint8_t *data;
	size_t len, n;

	memset(bytes, 0x11, sizeof(bytes));
	assert_int_equal(vtpm_state_key_new(ctx, bytes, 16, &key), 0);
	memset(bytes, 0x22, sizeof(bytes));
	assert_int_equal(vtpm_state_key_new(ctx, bytes, 16, &other), 0);
	assert_int_equal(vtpm_state_new(ctx, VTPM_VERSION_2, &s), 0);
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_PERMANENT, perm, sizeof(perm)), 0);
	assert_int_equal(vtpm_state_set_blob(s, VTPM_STATE_VOLATILE, vol, sizeof(vol)), 0);
	assert_int_equal(vtpm_state_write_file_with_key(s, path, key), 0);
	vtpm_state_unref(s);

	n = read_raw(buf, sizeof(buf));
	assert_int_equal(get_be32(buf + 20), 1);
	assert_null(memmem(buf, n, perm, sizeof(perm) - 1));
	assert_int_equal(try_read(), -ENOKEY);
	assert_int_equal(vtpm_state_read_file_with_key(ctx, path, other, &back), -EKEYREJECTED);
	assert_null(back);
	assert_int_equal(vtpm_state_read_file_with_key(ctx, path, key, &back), 0);
	assert_int_equal(vtpm_state_get_blob(back, VTPM_STATE_PERMANENT, &data, &len), 0);
	assert_int_equal(len, sizeof(perm));
	assert_memory_equal(data, perm, len);
	assert_int_equal(vtpm_state_get_blob(back, VTPM_STATE_VOLATILE, &data, &len), 0);
	assert_memory_equal(data, vol, sizeof(vol));
	back = vtpm_state_unref(back);

	/* Tampering that keeps the checksum right: the HMAC notices. */
	buf[24 + 2 * 8 + 40] ^= 1;
	put_be32(buf + n - 4, crc32c_ref(buf, n - 4));
	write_raw(buf, n);
	assert_int_equal(vtpm_state_read_file_with_key(ctx, path, key, &back), -EKEYREJECTED);
	/* An unknown flag: refused. */
	buf[24 + 2 * 8 + 40] ^= 1;
	put_be32(buf + 20, 3);
	put_be32(buf + n - 4, crc32c_ref(buf, n - 4));
	write_raw(buf, n);
	assert_int_equal(vtpm_state_read_file_with_key(ctx, path, key, &back), -EBADMSG);

	/* A plain file reads with a key given too. */
	make_file(buf, sizeof(buf));
	assert_int_equal(vtpm_state_read_file_with_key(ctx, path, key, &back), 0);
	vtpm_state_unref(back);
	vtpm_state_key_unref(key);
	vtpm_state_key_unref(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_every_bit_flip),
		cmocka_unit_test(test_wrong_version_and_tables),
		cmocka_unit_test(test_encrypted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

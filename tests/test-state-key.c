/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Encrypted state at rest in swtpm's format: the key options, the blob
 * encryption (round trip, wrong and missing key, damage, truncation), state
 * files that swtpm_setup encrypted (tests/data), and a libtpms TPM that
 * starts on them, or refuses before it starts.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "state-dir.h"
#include "swtpm-blob.h"
#include "tpm2-cmd.h"
#include "vtpm-internal.h"

/*
 * The fixtures, made by swtpm 0.7 with
 *	swtpm_setup --tpm2 --tpmstate DIR --keyfile K [--cipher aes-256-cbc]
 *	swtpm_setup --tpm2 --tpmstate DIR --pwdfile P --cipher aes-256-cbc
 * with K holding FIXTURE_KEY_HEX (its first 32 digits for AES-128) and P
 * holding FIXTURE_PASSPHRASE.
 */
#define FIXTURE_KEY_HEX "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define FIXTURE_PASSPHRASE "correct horse battery staple\n"

/* PBKDF2-HMAC-SHA512(FIXTURE_PASSPHRASE, "swtpm", 1000), and SHA-512 of it. */
static const char pbkdf2_256[] = "a1d3850e5a1805f07bc139ea1ef5b740ba5d20229e06e7318691d73e56ae1dee";
static const char sha512_256[] = "b3bf1950a302702ce2661a76c1c69f9d0abb92ad61b65f4c96a09b683d7d2f16";

static char dir[] = "/tmp/test-state-key-XXXXXX";
static struct vtpm_ctx *ctx;

static int setup(void **state)
{
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	return 0;
}

static int teardown(void **state)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			assert_int_equal(unlinkat(dirfd(d), de->d_name, 0), 0);
	closedir(d);
	assert_int_equal(rmdir(dir), 0);
	ctx = vtpm_ctx_unref(ctx);
	return 0;
}

static void write_text(const char *name, const void *data, size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Options naming a file in dir: "%s/%s" in @fmt stands for it. */
static int key_from(const char *fmt, const char *name, struct vtpm_state_key **key)
{
	char path[256], opts[512];
	const char *at = strstr(fmt, "%s/%s");

	assert_non_null(at);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(opts, sizeof(opts), "%.*s%s%s", (int)(at - fmt), fmt, path, at + 5);
	return vtpm_state_key_new_from_options(ctx, opts, key);
}

static void hex_to_bytes(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
}

static void assert_key(struct vtpm_state_key *key, const char *hex)
{
	uint8_t want[32];
	size_t n = strlen(hex) / 2;

	hex_to_bytes(hex, want, n);
	assert_int_equal(vtpm_state_key_get_bits(key), n * 8);
	assert_memory_equal(vtpm_state_key_bytes(key), want, n);
	vtpm_state_key_unref(key);
}

static void test_key_options(void **state)
{
	struct vtpm_state_key *key = NULL;
	char path[256];
	int fd;

	write_text("k128", "0x000102030405060708090a0b0c0d0e0f\n", 35);
	assert_int_equal(key_from("file=%s/%s", "k128", &key), 0);
	assert_key(key, "000102030405060708090a0b0c0d0e0f");
	write_text("k256", FIXTURE_KEY_HEX "\n", 65);
	assert_int_equal(key_from("file=%s/%s,mode=aes-256-cbc", "k256", &key), 0);
	assert_key(key, FIXTURE_KEY_HEX);
	/* The mode decides the size the hex key must have. */
	assert_int_equal(key_from("file=%s/%s", "k256", &key), -EBADMSG);
	assert_int_equal(key_from("file=%s/%s,mode=aes-256-cbc", "k128", &key), -EBADMSG);
	write_text("bad", "00010203040506070809QQ0b0c0d0e0f", 32);
	assert_int_equal(key_from("file=%s/%s", "bad", &key), -EBADMSG);
	write_text("long", "00000000000000000000000000000000000000000000000000000000000000000000000", 71);
	assert_int_equal(key_from("file=%s/%s", "long", &key), -EFBIG);

	write_text("bin", "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f", 16);
	assert_int_equal(key_from("file=%s/%s,format=binary", "bin", &key), 0);
	assert_key(key, "101112131415161718191a1b1c1d1e1f");

	write_text("pw", FIXTURE_PASSPHRASE, strlen(FIXTURE_PASSPHRASE));
	assert_int_equal(key_from("pwdfile=%s/%s,mode=aes-256-cbc", "pw", &key), 0);
	assert_key(key, pbkdf2_256);
	assert_int_equal(key_from("pwdfile=%s/%s", "pw", &key), 0);
	assert_key(key, "a1d3850e5a1805f07bc139ea1ef5b740");
	assert_int_equal(key_from("pwdfile=%s/%s,kdf=sha512,mode=aes-256-cbc", "pw", &key), 0);
	assert_key(key, sha512_256);

	/* A descriptor is read to its end and left open. */
	snprintf(path, sizeof(path), "%s/pw", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "pwdfd=%d,kdf=pbkdf2,mode=aes-256-cbc", fd);
	assert_int_equal(vtpm_state_key_new_from_options(ctx, path, &key), 0);
	assert_key(key, pbkdf2_256);
	assert_int_not_equal(fcntl(fd, F_GETFD), -1);
	close(fd);

	/* remove=true deletes the file once it has been read. */
	assert_int_equal(key_from("file=%s/%s,remove=true", "k128", &key), 0);
	vtpm_state_key_unref(key);
	snprintf(path, sizeof(path), "%s/k128", dir);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(key_from("file=%s/%s", "missing", &key), -ENOENT);
	assert_int_equal(key_from("file=%s/%s,kdf=md5,pwdfile=x", "pw", &key), -EINVAL);
	assert_int_equal(key_from("pwdfile=%s/%s,kdf=md5", "pw", &key), -EINVAL);
	assert_int_equal(key_from("pwdfile=%s/%s,mode=aes-512-cbc", "pw", &key), -EINVAL);
	assert_int_equal(key_from("pwdfile=%s/%s,colour=blue", "pw", &key), -EINVAL);
	assert_int_equal(vtpm_state_key_new_from_options(ctx, "mode=aes-cbc", &key), -EINVAL);
	assert_int_equal(vtpm_state_key_new_from_options(ctx, "fd=-1", &key), -EINVAL);
	assert_int_equal(vtpm_state_key_new_from_options(ctx, "", &key), -EINVAL);
	assert_int_equal(vtpm_state_key_new(ctx, (const uint8_t *)"short", 5, &key), -EINVAL);
}

static struct vtpm_state_key *make_key(size_t len, uint8_t fill)
{
	struct vtpm_state_key *key;
	uint8_t bytes[32];

	memset(bytes, fill, sizeof(bytes));
	assert_int_equal(vtpm_state_key_new(ctx, bytes, len, &key), 0);
	return key;
}

static void test_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 31, 32, 33, 4096 };
	uint8_t payload[4096];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	for (size_t k = 16; k <= 32; k += 16) {
		struct vtpm_state_key *key = make_key(k, 0xa5);

		for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
			uint8_t *file, *again, *data;
			size_t file_len, again_len, len;

			assert_int_equal(vtpm_swtpm_file_encode(key, payload, sizes[i], &file, &file_len), 0);
			/* Header, ciphertext padded to the key length, HMAC, IV as long as the key. */
			assert_int_equal(file_len, 10 + 3 * 6 + (sizes[i] / k + 1) * k + 32 + k);
			assert_int_equal(get_be16(file + 4), k == 32 ? 0x09 : 0x01);
			assert_int_equal(vtpm_swtpm_file_decode(key, file, file_len, &data, &len), 0);
			assert_int_equal(len, sizes[i]);
			assert_memory_equal(data, payload, len);
			/* A fresh IV every time: the same state never encrypts the same. */
			assert_int_equal(vtpm_swtpm_file_encode(key, payload, sizes[i], &again, &again_len), 0);
			assert_int_equal(again_len, file_len);
			assert_memory_not_equal(again + 10, file + 10, file_len - 10);
			free(file);
			free(again);
			free(data);
		}
		vtpm_state_key_unref(key);
	}
}

static void test_wrong_and_missing_key(void **state)
{
	struct vtpm_state_key *key = make_key(16, 1), *other = make_key(16, 2), *big = make_key(32, 1);
	uint8_t *file, *plain, *data = NULL;
	size_t file_len, plain_len, len;

	assert_int_equal(vtpm_swtpm_file_encode(key, (const uint8_t *)"secret", 6, &file, &file_len), 0);
	assert_int_equal(vtpm_swtpm_file_decode(other, file, file_len, &data, &len), -EKEYREJECTED);
	assert_int_equal(vtpm_swtpm_file_decode(big, file, file_len, &data, &len), -EKEYREJECTED);
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -ENOKEY);
	assert_null(data);

	/* Plain state where a key is expected: refused like swtpm does. */
	assert_int_equal(vtpm_swtpm_file_encode(NULL, (const uint8_t *)"secret", 6, &plain, &plain_len), 0);
	assert_int_equal(vtpm_swtpm_file_decode(key, plain, plain_len, &data, &len), -EMEDIUMTYPE);

	free(file);
	free(plain);
	vtpm_state_key_unref(key);
	vtpm_state_key_unref(other);
	vtpm_state_key_unref(big);
}

static void test_damage_and_truncation(void **state)
{
	struct vtpm_state_key *key = make_key(32, 3);
	uint8_t payload[100], *file, *data = NULL;
	size_t file_len, len;

	memset(payload, 'x', sizeof(payload));
	assert_int_equal(vtpm_swtpm_file_encode(key, payload, sizeof(payload), &file, &file_len), 0);

	/* Any flipped bit past the header: the HMAC or the framing notices. */
	for (size_t i = 10; i < file_len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			int r;

			file[i] ^= (uint8_t)(1u << bit);
			r = vtpm_swtpm_file_decode(key, file, file_len, &data, &len);
			assert_true(r == -EKEYREJECTED || r == -EBADMSG);
			file[i] ^= (uint8_t)(1u << bit);
		}
	}
	/* Truncated anywhere: the total length no longer matches. */
	for (size_t cut = 0; cut < file_len; cut++)
		assert_int_equal(vtpm_swtpm_file_decode(key, file, cut, &data, &len), -EBADMSG);
	/* A consistent header over records cut short. */
	put_be32(file + 6, (uint32_t)(file_len - 40));
	assert_int_equal(vtpm_swtpm_file_decode(key, file, file_len - 40, &data, &len), -EBADMSG);
	put_be32(file + 6, (uint32_t)file_len);
	/* A migration key, or swtpm's version 1 files: not misread. */
	file[5] |= SWTPM_BLOB_FLAG_MIGRATION_ENCRYPTED;
	assert_int_equal(vtpm_swtpm_file_decode(key, file, file_len, &data, &len), -ENOTSUP);
	file[5] &= (uint8_t)~SWTPM_BLOB_FLAG_MIGRATION_ENCRYPTED;
	file[0] = 1;
	assert_int_equal(vtpm_swtpm_file_decode(key, file, file_len, &data, &len), -ENOTSUP);
	file[0] = 2;

	assert_null(data);
	assert_int_equal(vtpm_swtpm_file_decode(key, file, file_len, &data, &len), 0);
	free(data);
	free(file);
	vtpm_state_key_unref(key);
}

static void copy_fixture(const char *name)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char path[512];

	snprintf(path, sizeof(path), "%s/tests/data/%s", TEST_SRCDIR, name);
	assert_int_equal(vtpm_read_file(AT_FDCWD, path, 1 << 20, &buf, &len), 0);
	write_text("tpm2-00.permall", buf, len);
	free(buf);
}

static void file_contents(const char *name, uint8_t **buf, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(vtpm_read_file(AT_FDCWD, path, 1 << 20, buf, len), 0);
}

/* Start a TPM on the state in dir with @key, and run TPM2_Startup on it. */
static int start_on(struct vtpm_state_key *key)
{
	const struct vtpm_libtpms_options o = {
		.size = sizeof(o), .version = VTPM_VERSION_2, .state_dir = dir, .key = key,
	};
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct vtpm_backend *b;
	struct vtpm_relay *relay;
	struct cmdbuf c;
	int sv[2], r;

	r = vtpm_backend_new_libtpms_opts(ctx, &o, &b);
	if (r < 0)
		return r;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vtpm_relay_new_from_fd(b, sv[0], &relay), 0);
	assert_int_equal(vtpm_backend_start(b), 0);
	tpm2_startup(&c, TPM2_SU_CLEAR);
	assert_int_equal(write(sv[1], c.b, c.len), (ssize_t)c.len);
	assert_int_equal(vtpm_relay_dispatch(relay), 1);
	assert_true(read(sv[1], resp, sizeof(resp)) >= TPM_HEADER_SIZE);
	assert_int_equal(resp_rc(resp), 0);
	vtpm_relay_unref(relay);
	assert_int_equal(vtpm_backend_shutdown(b), 0);
	vtpm_backend_unref(b);
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void check_fixture(const char *fixture, const char *opts, const char *wrong_opts)
{
	struct vtpm_state_key *key = NULL, *wrong = NULL;
	uint8_t *before, *after, *file, *data;
	size_t before_len, after_len, file_len, len;

	copy_fixture(fixture);
	assert_int_equal(key_from(opts, "secret", &key), 0);
	assert_int_equal(key_from(wrong_opts, "secret", &wrong), 0);
	file_contents("tpm2-00.permall", &before, &before_len);

	/* Missing or wrong key: refused before the TPM exists, nothing written. */
	assert_int_equal(start_on(NULL), -ENOKEY);
	assert_int_equal(start_on(wrong), -EKEYREJECTED);
	file_contents("tpm2-00.permall", &after, &after_len);
	assert_int_equal(after_len, before_len);
	assert_memory_equal(after, before, before_len);
	free(after);

	/* The right key: libtpms runs on swtpm's state, and writes it back encrypted. */
	assert_int_equal(start_on(key), 0);
	file_contents("tpm2-00.permall", &file, &file_len);
	assert_int_equal(file[5] & SWTPM_BLOB_FLAG_ENCRYPTED, SWTPM_BLOB_FLAG_ENCRYPTED);
	assert_int_equal(vtpm_swtpm_file_decode(key, file, file_len, &data, &len), 0);
	assert_int_equal(vtpm_swtpm_file_decode(wrong, file, file_len, &data, &len), -EKEYREJECTED);
	free(data);
	free(file);
	free(before);
	vtpm_state_key_unref(key);
	vtpm_state_key_unref(wrong);
}

static void test_swtpm_keyfile_aes128(void **state)
{
	write_text("secret", FIXTURE_KEY_HEX, 32);
	check_fixture("swtpm-aes128-keyfile.permall", "file=%s/%s",
		      "file=%s/%s,mode=aes-256-cbc,format=binary");
}

static void test_swtpm_keyfile_aes256(void **state)
{
	write_text("secret", FIXTURE_KEY_HEX, 64);
	check_fixture("swtpm-aes256-keyfile.permall", "file=%s/%s,mode=aes-256-cbc",
		      "pwdfile=%s/%s,mode=aes-256-cbc");
}

static void test_swtpm_pwdfile_pbkdf2(void **state)
{
	write_text("secret", FIXTURE_PASSPHRASE, strlen(FIXTURE_PASSPHRASE));
	check_fixture("swtpm-aes256-pbkdf2.permall", "pwdfile=%s/%s,mode=aes-256-cbc",
		      "pwdfile=%s/%s,mode=aes-256-cbc,kdf=sha512");
}

static void test_plain_state_with_key(void **state)
{
	struct vtpm_state_key *key = make_key(16, 9);

	/* A fresh directory takes a key; plain state does not. */
	assert_int_equal(start_on(NULL), 0);
	assert_int_equal(start_on(key), -EMEDIUMTYPE);
	assert_int_equal(start_on(NULL), 0);
	vtpm_state_key_unref(key);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_options, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_and_missing_key, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage_and_truncation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swtpm_keyfile_aes128, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swtpm_keyfile_aes256, setup, teardown),
		cmocka_unit_test_setup_teardown(test_swtpm_pwdfile_pbkdf2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_state_with_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

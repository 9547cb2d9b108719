/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* State files: swtpm's blob framing, atomic replacement, locking. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "state-dir.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"
#include "wire.h"

static char dir[] = "/tmp/test-state-dir-XXXXXX";

static int count_entries(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_blob_roundtrip(void **state)
{
	static const uint8_t payload[] = "state bytes";
	uint8_t *file, *data;
	size_t file_len, len;

	assert_int_equal(vtpm_swtpm_file_encode(NULL, payload, sizeof(payload), &file, &file_len), 0);
	assert_int_equal(file_len, 10 + 6 + sizeof(payload));
	assert_int_equal(file[0], 2);		      /* header version */
	assert_int_equal(get_be32(file + 6), file_len); /* total length */
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), 0);
	assert_int_equal(len, sizeof(payload));
	assert_memory_equal(data, payload, len);
	free(data);
	free(file);
}

static void test_blob_rejects_damage(void **state)
{
	static const uint8_t payload[16];
	uint8_t *file, *data = NULL;
	size_t file_len, len;

	assert_int_equal(vtpm_swtpm_file_encode(NULL, payload, sizeof(payload), &file, &file_len), 0);

	/* Truncated anywhere: the total length no longer matches. */
	for (size_t cut = 0; cut < file_len; cut++)
		assert_int_equal(vtpm_swtpm_file_decode(NULL, file, cut, &data, &len), -EBADMSG);

	/* Record length beyond the end. */
	put_be32(file + 12, 17);
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -EBADMSG);
	put_be32(file + 12, 0xffffffff);
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -EBADMSG);
	put_be32(file + 12, 16);

	/* No data record. */
	put_be16(file + 10, 3);
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -EBADMSG);
	put_be16(file + 10, 1);

	/* A future format we cannot read, a wrong header size. */
	file[1] = 3;
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -EBADMSG);
	file[1] = 1;
	put_be16(file + 2, 12);
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -EBADMSG);
	put_be16(file + 2, 10);

	/* Encrypted by swtpm: refused for want of a key, not misread. */
	put_be16(file + 4, 1);
	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), -ENOKEY);
	put_be16(file + 4, 0);

	assert_int_equal(vtpm_swtpm_file_decode(NULL, file, file_len, &data, &len), 0);
	free(data);
	free(file);
}

static void test_store_load_remove(void **state)
{
	struct vtpm_state_dir *sd;
	struct vtpm_ctx *ctx;
	uint8_t *data;
	size_t len;
	char path[256];

	assert_non_null(mkdtemp(dir));
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	assert_int_equal(vtpm_state_dir_open(ctx, dir, VTPM_VERSION_2, &sd), 0);
	assert_int_equal(vtpm_state_dir_lock(sd), 0);

	/* A leftover temporary file from a crash disappears on the next lock. */
	vtpm_state_dir_unlock(sd);
	snprintf(path, sizeof(path), "%s/tpm2-00.permall.tmp.1f2e3d", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600));
	assert_int_equal(vtpm_state_dir_lock(sd), 0);
	assert_int_equal(access(path, F_OK), -1);

	assert_int_equal(vtpm_state_dir_load(sd, "permall", &data, &len), -ENOENT);
	assert_int_equal(vtpm_state_dir_store(sd, "permall", (const uint8_t *)"one", 3), 0);
	assert_int_equal(vtpm_state_dir_store(sd, "permall", (const uint8_t *)"two!", 4), 0);
	assert_int_equal(vtpm_state_dir_load(sd, "permall", &data, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "two!", 4);
	free(data);

	/* swtpm's file name; the lock file; no temporary file left. */
	snprintf(path, sizeof(path), "%s/tpm2-00.permall", dir);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(count_entries(), 2);

	/* A file that is not a blob. */
	FILE *f = fopen(path, "w");
	fputs("garbage", f);
	fclose(f);
	assert_int_equal(vtpm_state_dir_load(sd, "permall", &data, &len), -EBADMSG);

	assert_int_equal(vtpm_state_dir_remove(sd, "permall"), 0);
	assert_int_equal(vtpm_state_dir_remove(sd, "permall"), -ENOENT);

	vtpm_state_dir_free(sd);
	vtpm_ctx_unref(ctx);
	unlink(path);
	snprintf(path, sizeof(path), "%s/.lock", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_tpm12_names_and_missing_dir(void **state)
{
	struct vtpm_state_dir *sd;
	struct vtpm_ctx *ctx;
	char path[256];

	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, LOG_CRIT);
	assert_int_equal(vtpm_state_dir_open(ctx, "/nonexistent", VTPM_VERSION_1_2, &sd), -ENOENT);
	assert_int_equal(vtpm_state_dir_open(ctx, "/etc/passwd", VTPM_VERSION_1_2, &sd), -ENOTDIR);

	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vtpm_state_dir_open(ctx, dir, VTPM_VERSION_1_2, &sd), 0);
	assert_int_equal(vtpm_state_dir_lock(sd), 0);
	assert_int_equal(vtpm_state_dir_store(sd, "permall", (const uint8_t *)"x", 1), 0);
	snprintf(path, sizeof(path), "%s/tpm-00.permall", dir);
	assert_int_equal(access(path, R_OK), 0);
	unlink(path);
	vtpm_state_dir_free(sd);
	snprintf(path, sizeof(path), "%s/.lock", dir);
	unlink(path);
	rmdir(dir);
	vtpm_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blob_roundtrip),
		cmocka_unit_test(test_blob_rejects_damage),
		cmocka_unit_test(test_store_load_remove),
		cmocka_unit_test(test_tpm12_names_and_missing_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

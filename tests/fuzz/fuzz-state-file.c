/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for state-file import (vtpm_state_read_file(), the
 * format of "vtpmctl state --save/--load"), fed through a temporary file
 * by its path, as a user hands it to the CLI (the reader refuses symlinks,
 * so a memfd's /proc/self/fd path would not do).
 * Each input is read with a fixed state key as well (vtpm_state_read_file_
 * with_key(); the corpus holds a file encrypted with it).
 * Invariants: an accepted file round-trips: written again and re-read it
 * yields the same blobs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vtpm-internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vtpm_ctx *ctx;
static struct vtpm_state_key *key; /* bytes 0x00..0x0f */
static int in_fd;
/* tmpfs: the writer fsyncs every file, which a disk makes slow. */
static char in_path[] = "/dev/shm/fuzz-state-in-XXXXXX";
static char out_path[] = "/dev/shm/fuzz-state-file-XXXXXX";

static const enum vtpm_state_type types[] = {
	VTPM_STATE_PERMANENT, VTPM_STATE_VOLATILE, VTPM_STATE_SAVESTATE,
};

static void die(const char *what)
{
	fprintf(stderr, "fuzz-state-file: %s\n", what);
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	if (vtpm_state_key_new(ctx, (const uint8_t[16]){ 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 },
			       16, &key) < 0)
		die("key");
	in_fd = mkstemp(in_path);
	if (in_fd < 0)
		die("mkstemp");
	fd = mkstemp(out_path);
	if (fd < 0)
		die("mkstemp");
	close(fd);
	return 0;
}

static void same_blobs(const struct vtpm_state *a, const struct vtpm_state *b)
{
	if (vtpm_state_get_version(a) != vtpm_state_get_version(b))
		die("version changed in a round trip");
	for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
		const uint8_t *pa, *pb;
		size_t la, lb;
		int ra = vtpm_state_get_blob(a, types[i], &pa, &la);
		int rb = vtpm_state_get_blob(b, types[i], &pb, &lb);

		if (ra != rb || (ra == 0 && (la != lb || memcmp(pa, pb, la) != 0)))
			die("a blob changed in a round trip");
	}
}

static void round_trip(const struct vtpm_state_key *k)
{
	struct vtpm_state *state, *again;

	if (vtpm_state_read_file_with_key(ctx, in_path, k, &state) < 0)
		return;
	if (vtpm_state_write_file_with_key(state, out_path, k) < 0)
		die("cannot write back an accepted state");
	if (vtpm_state_read_file_with_key(ctx, out_path, k, &again) < 0)
		die("cannot re-read a state just written");
	same_blobs(state, again);
	vtpm_state_unref(again);
	vtpm_state_unref(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (ftruncate(in_fd, 0) < 0 || pwrite(in_fd, data, size, 0) != (ssize_t)size)
		die("input write");
	round_trip(NULL);
	round_trip(key);
	return 0;
}

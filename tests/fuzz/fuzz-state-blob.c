/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for state files read from disk: swtpm's blob header and
 * tag-length-value records, plain and encrypted.  Each input is decoded
 * without a key and with a fixed one (the seed corpus holds blobs that key
 * encrypted); whatever decodes must encode and decode back to the same
 * bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "state-dir.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"

/* The corpus key: bytes 0x00..0x1f; its first half is the AES-128 key. */
static const uint8_t fuzz_key[32] = {
	0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
	0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct vtpm_state_key *key, const uint8_t *data, size_t size)
{
	uint8_t *payload = NULL, *file = NULL, *again = NULL;
	size_t len = 0, file_len = 0, again_len = 0;

	if (vtpm_swtpm_file_decode(key, data, size, &payload, &len) < 0)
		return;
	if (len > size)
		abort();
	if (vtpm_swtpm_file_encode(key, payload, len, &file, &file_len) < 0)
		abort();
	if (vtpm_swtpm_file_decode(key, file, file_len, &again, &again_len) < 0 || again_len != len ||
	    memcmp(again, payload, len) != 0)
		abort();
	free(payload);
	free(file);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vtpm_state_key *key128, *key256;
	static struct vtpm_ctx *ctx;

	if (!ctx && (vtpm_ctx_new(&ctx) < 0 || vtpm_state_key_new(ctx, fuzz_key, 16, &key128) < 0 ||
		     vtpm_state_key_new(ctx, fuzz_key, 32, &key256) < 0))
		abort();
	round_trip(NULL, data, size);
	round_trip(key128, data, size);
	round_trip(key256, data, size);
	return 0;
}

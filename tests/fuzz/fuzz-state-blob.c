/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for state files read from disk: swtpm's blob framing.
 * A decoded payload must lie inside the input; re-encoding it must decode
 * to the same bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "state-dir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *payload, *again;
	size_t len, again_len, file_len;
	uint8_t *file;

	if (vtpm_blob_decode(data, size, &payload, &len) < 0)
		return 0;
	if (payload < data || payload + len > data + size)
		abort();
	if (vtpm_blob_encode(payload, len, &file, &file_len) < 0)
		abort();
	if (vtpm_blob_decode(file, file_len, &again, &again_len) < 0 || again_len != len ||
	    memcmp(again, payload, len) != 0)
		abort();
	free(file);
	return 0;
}

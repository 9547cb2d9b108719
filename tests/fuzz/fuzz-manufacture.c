/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the TPM answers manufacture reads: a backend that
 * answers each command with the next piece of the input (two bytes of
 * length, then the response), under vtpm_manufacture() and
 * vtpm_ek_cert_read().  Whatever the answers, both must return.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vtpm/vtpm.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *p;
	size_t left;
};

static int feed_start(void *data)
{
	return 0;
}

static int feed_shutdown(void *data)
{
	return 0;
}

static int feed_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	struct feed *f = data;
	size_t n;

	if (f->left < 2)
		return -EIO;
	n = get_be16(f->p);
	f->p += 2;
	f->left -= 2;
	if (n > f->left)
		n = f->left;
	if (n > resp_size)
		n = resp_size;
	memcpy(resp, f->p, n);
	f->p += n;
	f->left -= n;
	*resp_len = n;
	return 0;
}

static const struct vtpm_backend_ops feed_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = feed_start,
	.process = feed_process,
	.shutdown = feed_shutdown,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vtpm_manufacture_options o = {
		.size = sizeof(o),
		.flags = VTPM_MANUFACTURE_EK | VTPM_MANUFACTURE_LOCK_NV,
		.pcr_banks = VTPM_PCR_BANK_SHA1,
	};
	struct feed f = { data, size };
	struct vtpm_backend *b;
	struct vtpm_ctx *ctx;
	uint8_t *cert = NULL;
	size_t len = 0;

	if (vtpm_ctx_new(&ctx) < 0)
		abort();
	vtpm_ctx_set_log_priority(ctx, 0);
	if (vtpm_backend_new(ctx, VTPM_VERSION_2, &feed_ops, &f, &b) < 0 ||
	    vtpm_backend_start(b) < 0)
		abort();
	vtpm_manufacture(b, &o);
	if (vtpm_ek_cert_read(b, VTPM_EK_RSA2048, VTPM_EK_CERT_PEM, &cert, &len) == 0 &&
	    strlen((char *)cert) != len)
		abort();
	free(cert);
	vtpm_backend_unref(b);
	vtpm_ctx_unref(ctx);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building the library's own TPM 2 commands and reading their answers. */
#include "config.h"

#include <string.h>
#include <time.h>

#include "tpm2-cmd.h"
#include "vtpm-internal.h"

/* How often a "try again" answer is retried, and the pause in between. */
#define TPM2_RETRIES 50
#define TPM2_RETRY_PAUSE_MS 20

static bool room(struct tpm2_cmd *c, size_t n)
{
	if (c->overflow || n > sizeof(c->buf) - c->len) {
		c->overflow = true;
		return false;
	}
	return true;
}

void tpm2_cmd_begin(struct tpm2_cmd *c, uint16_t tag, uint32_t cc)
{
	c->len = 0;
	c->overflow = false;
	tpm2_cmd_u16(c, tag);
	tpm2_cmd_u32(c, 0); /* the size, filled in by tpm2_transact() */
	tpm2_cmd_u32(c, cc);
}

void tpm2_cmd_u8(struct tpm2_cmd *c, uint8_t v)
{
	if (room(c, 1))
		c->buf[c->len++] = v;
}

void tpm2_cmd_u16(struct tpm2_cmd *c, uint16_t v)
{
	if (!room(c, 2))
		return;
	put_be16(c->buf + c->len, v);
	c->len += 2;
}

void tpm2_cmd_u32(struct tpm2_cmd *c, uint32_t v)
{
	if (!room(c, 4))
		return;
	put_be32(c->buf + c->len, v);
	c->len += 4;
}

void tpm2_cmd_bytes(struct tpm2_cmd *c, const void *p, size_t n)
{
	if (!room(c, n))
		return;
	if (n)
		memcpy(c->buf + c->len, p, n);
	c->len += n;
}

void tpm2_cmd_tpm2b(struct tpm2_cmd *c, const void *p, size_t n)
{
	if (n > UINT16_MAX) {
		c->overflow = true;
		return;
	}
	tpm2_cmd_u16(c, (uint16_t)n);
	tpm2_cmd_bytes(c, p, n);
}

void tpm2_cmd_pw_session(struct tpm2_cmd *c)
{
	tpm2_cmd_u32(c, 9);	      /* authorizationSize: the one session below */
	tpm2_cmd_u32(c, TPM2_RS_PW);  /* sessionHandle */
	tpm2_cmd_u16(c, 0);	      /* nonceCaller: empty */
	tpm2_cmd_u8(c, 0);	      /* sessionAttributes */
	tpm2_cmd_u16(c, 0);	      /* hmac: the empty password */
}

void tpm2_rsp_init(struct tpm2_rsp *r, const uint8_t *p, size_t len)
{
	*r = (struct tpm2_rsp){ .p = p, .len = len };
}

const uint8_t *tpm2_rsp_bytes(struct tpm2_rsp *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

uint8_t tpm2_rsp_u8(struct tpm2_rsp *r)
{
	const uint8_t *p = tpm2_rsp_bytes(r, 1);

	return p ? p[0] : 0;
}

uint16_t tpm2_rsp_u16(struct tpm2_rsp *r)
{
	const uint8_t *p = tpm2_rsp_bytes(r, 2);

	return p ? get_be16(p) : 0;
}

uint32_t tpm2_rsp_u32(struct tpm2_rsp *r)
{
	const uint8_t *p = tpm2_rsp_bytes(r, 4);

	return p ? get_be32(p) : 0;
}

const uint8_t *tpm2_rsp_tpm2b(struct tpm2_rsp *r, size_t max, size_t *n)
{
	uint16_t len = tpm2_rsp_u16(r);

	*n = 0;
	if (r->bad || len > max) {
		r->bad = true;
		return NULL;
	}
	*n = len;
	return tpm2_rsp_bytes(r, len);
}

static bool rc_says_retry(uint32_t rc)
{
	return rc == TPM2_RC_RETRY || rc == TPM2_RC_YIELDED || rc == TPM2_RC_TESTING;
}

int tpm2_transact(struct vtpm_backend *backend, struct tpm2_cmd *c, uint8_t *resp,
		  size_t resp_size, uint32_t *rc, struct tpm2_rsp *r)
{
	const struct timespec pause = { 0, TPM2_RETRY_PAUSE_MS * 1000000L };
	struct tpm_header hdr;
	size_t len = 0;
	int ret;

	if (c->overflow || c->len < TPM_HEADER_SIZE)
		return -E2BIG;
	put_be32(c->buf + 2, (uint32_t)c->len);
	for (int i = 0;; i++) {
		ret = vtpm_backend_process(backend, c->buf, c->len, 0, resp, resp_size, &len);
		if (ret < 0)
			return ret;
		if (!vtpm_wire_response_is_valid(VTPM_VERSION_2, resp, len, resp_size) ||
		    !vtpm_wire_parse_header(resp, len, &hdr))
			return -EBADMSG;
		if (!rc_says_retry(hdr.code) || i == TPM2_RETRIES)
			break;
		nanosleep(&pause, NULL);
	}
	*rc = hdr.code;
	tpm2_rsp_init(r, resp + TPM_HEADER_SIZE, len - TPM_HEADER_SIZE);
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Builders for the handful of TPM 2 commands the tests send, straight from
 * TPM 2.0 Library Part 3 (Commands).  Header-only: each test takes what it
 * uses.
 */
#ifndef TESTS_TPM2_CMD_H
#define TESTS_TPM2_CMD_H

#include <stdint.h>
#include <string.h>

#include "wire.h"

#define TPM2_CC_NV_DEFINE_SPACE 0x0000012a
#define TPM2_CC_NV_WRITE 0x00000137
#define TPM2_CC_NV_READ 0x0000014e
#define TPM2_CC_PCR_READ 0x0000017e
#define TPM2_CC_PCR_EXTEND 0x00000182
#define TPM2_RS_PW 0x40000009
#define TPM2_RH_OWNER 0x40000001
#define TPM2_ALG_SHA256 0x000b
/* TPMA_NV_OWNERWRITE | AUTHWRITE | OWNERREAD | AUTHREAD | NO_DA: no
 * dictionary-attack bookkeeping, which makes libtpms 0.9 answer the first
 * use with TPM_RC_RETRY. */
#define TPM2_NV_ATTRS 0x02060006u

struct cmdbuf {
	uint8_t b[4096];
	size_t len;
};

static inline void cmd_u8(struct cmdbuf *c, uint8_t v)
{
	c->b[c->len++] = v;
}

static inline void cmd_u16(struct cmdbuf *c, uint16_t v)
{
	put_be16(c->b + c->len, v);
	c->len += 2;
}

static inline void cmd_u32(struct cmdbuf *c, uint32_t v)
{
	put_be32(c->b + c->len, v);
	c->len += 4;
}

static inline void cmd_bytes(struct cmdbuf *c, const void *p, size_t n)
{
	memcpy(c->b + c->len, p, n);
	c->len += n;
}

static inline void cmd_begin(struct cmdbuf *c, uint16_t tag, uint32_t cc)
{
	c->len = 0;
	cmd_u16(c, tag);
	cmd_u32(c, 0); /* size, patched by cmd_end() */
	cmd_u32(c, cc);
}

static inline void cmd_end(struct cmdbuf *c)
{
	put_be32(c->b + 2, (uint32_t)c->len);
}

/* An empty password session: the authorisation area of Part 1, 19.6.5. */
static inline void cmd_pw_session(struct cmdbuf *c)
{
	cmd_u32(c, 9); /* authorizationSize */
	cmd_u32(c, TPM2_RS_PW);
	cmd_u16(c, 0); /* nonce */
	cmd_u8(c, 0);  /* sessionAttributes */
	cmd_u16(c, 0); /* hmac */
}

static inline void tpm2_startup(struct cmdbuf *c, uint16_t type)
{
	cmd_begin(c, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	cmd_u16(c, type);
	cmd_end(c);
}

static inline void tpm2_shutdown(struct cmdbuf *c, uint16_t type)
{
	cmd_begin(c, TPM2_ST_NO_SESSIONS, TPM2_CC_SHUTDOWN);
	cmd_u16(c, type);
	cmd_end(c);
}

static inline void tpm2_get_random(struct cmdbuf *c, uint16_t bytes)
{
	cmd_begin(c, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_RANDOM);
	cmd_u16(c, bytes);
	cmd_end(c);
}

static inline void tpm2_pcr_extend_sha256(struct cmdbuf *c, uint32_t pcr, const uint8_t digest[32])
{
	cmd_begin(c, TPM2_ST_SESSIONS, TPM2_CC_PCR_EXTEND);
	cmd_u32(c, pcr);
	cmd_pw_session(c);
	cmd_u32(c, 1); /* TPML_DIGEST_VALUES.count */
	cmd_u16(c, TPM2_ALG_SHA256);
	cmd_bytes(c, digest, 32);
	cmd_end(c);
}

static inline void tpm2_pcr_read_sha256(struct cmdbuf *c, uint32_t pcr)
{
	cmd_begin(c, TPM2_ST_NO_SESSIONS, TPM2_CC_PCR_READ);
	cmd_u32(c, 1); /* TPML_PCR_SELECTION.count */
	cmd_u16(c, TPM2_ALG_SHA256);
	cmd_u8(c, 3); /* sizeofSelect */
	cmd_u8(c, pcr < 8 ? 1u << pcr : 0);
	cmd_u8(c, pcr >= 8 && pcr < 16 ? 1u << (pcr - 8) : 0);
	cmd_u8(c, pcr >= 16 ? 1u << (pcr - 16) : 0);
	cmd_end(c);
}

/* The SHA-256 digest in a PCR_Read response for one selected PCR. */
static inline const uint8_t *tpm2_pcr_read_digest(const uint8_t *resp, size_t len)
{
	/* header, updateCounter, selection (4 + 2 + 1 + 3), digest count, size */
	size_t off = TPM_HEADER_SIZE + 4 + 10 + 4;

	if (len < off + 2 + 32 || get_be16(resp + off) != 32)
		return NULL;
	return resp + off + 2;
}

static inline void tpm2_nv_define(struct cmdbuf *c, uint32_t index, uint16_t size)
{
	cmd_begin(c, TPM2_ST_SESSIONS, TPM2_CC_NV_DEFINE_SPACE);
	cmd_u32(c, TPM2_RH_OWNER);
	cmd_pw_session(c);
	cmd_u16(c, 0);	/* auth */
	cmd_u16(c, 14); /* TPM2B_NV_PUBLIC.size */
	cmd_u32(c, index);
	cmd_u16(c, TPM2_ALG_SHA256);
	cmd_u32(c, TPM2_NV_ATTRS);
	cmd_u16(c, 0); /* authPolicy */
	cmd_u16(c, size);
	cmd_end(c);
}

static inline void tpm2_nv_write(struct cmdbuf *c, uint32_t index, const void *data, uint16_t len)
{
	cmd_begin(c, TPM2_ST_SESSIONS, TPM2_CC_NV_WRITE);
	cmd_u32(c, index); /* authHandle: the index itself */
	cmd_u32(c, index);
	cmd_pw_session(c);
	cmd_u16(c, len);
	cmd_bytes(c, data, len);
	cmd_u16(c, 0); /* offset */
	cmd_end(c);
}

static inline void tpm2_nv_read(struct cmdbuf *c, uint32_t index, uint16_t len)
{
	cmd_begin(c, TPM2_ST_SESSIONS, TPM2_CC_NV_READ);
	cmd_u32(c, index);
	cmd_u32(c, index);
	cmd_pw_session(c);
	cmd_u16(c, len);
	cmd_u16(c, 0); /* offset */
	cmd_end(c);
}

/* The data of an NV_Read response (after parameterSize), or NULL. */
static inline const uint8_t *tpm2_nv_read_data(const uint8_t *resp, size_t len, uint16_t *size)
{
	size_t off = TPM_HEADER_SIZE + 4;

	if (len < off + 2)
		return NULL;
	*size = get_be16(resp + off);
	if (len < off + 2 + *size)
		return NULL;
	return resp + off + 2;
}

static inline uint32_t resp_rc(const uint8_t *resp)
{
	return get_be32(resp + 6);
}

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NV indices for manufacture: defined and written through the platform
 * hierarchy (as a platform manufacturer does, with its empty password at
 * this stage of a TPM's life), read back with the index's own empty
 * authorisation (TPMA_NV_AUTHREAD), which needs no hierarchy password.
 * TPM 2.0 Library Part 3 (Commands), 31 Non-volatile Storage.
 */
#include "config.h"

#include <string.h>

#include "manufacture-internal.h"
#include "vtpm-internal.h"

/* Part 2, 13.5 TPMS_NV_PUBLIC: the largest authPolicy is a SHA-512 digest. */
#define NV_POLICY_MAX 64

static int command_failed(struct vtpm_backend *b, const char *what, uint32_t index, uint32_t rc)
{
	err(vtpm_backend_get_ctx(b), "%s of NV index 0x%08x failed: TPM error 0x%03x", what, index, rc);
	return -EIO;
}

int tpm2_nv_read_public(struct vtpm_backend *b, uint32_t index, uint32_t *attrs, uint16_t *size)
{
	struct tpm2_cmd c;
	struct tpm2_rsp r;
	uint8_t resp[VTPM_BUFFER_SIZE];
	size_t pub_size, policy_len, end;
	uint32_t rc;
	int ret;

	tpm2_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_NV_READ_PUBLIC);
	tpm2_cmd_u32(&c, index);
	ret = tpm2_transact(b, &c, resp, sizeof(resp), &rc, &r);
	if (ret < 0)
		return ret;
	if (tpm2_rc_is_handle(rc))
		return -ENOENT;
	if (rc != TPM2_RC_SUCCESS)
		return command_failed(b, "TPM2_NV_ReadPublic", index, rc);

	pub_size = tpm2_rsp_u16(&r);
	if (r.bad || pub_size > r.len - r.off)
		return -EBADMSG;
	end = r.off + pub_size;
	if (tpm2_rsp_u32(&r) != index)
		return -EBADMSG;
	tpm2_rsp_u16(&r); /* nameAlg */
	*attrs = tpm2_rsp_u32(&r);
	tpm2_rsp_tpm2b(&r, NV_POLICY_MAX, &policy_len);
	*size = tpm2_rsp_u16(&r);
	if (r.bad || r.off != end)
		return -EBADMSG;
	return 0;
}

/* Handles of an NV command authorised by the platform hierarchy. */
static void begin_platform(struct tpm2_cmd *c, uint32_t cc, uint32_t index)
{
	tpm2_cmd_begin(c, TPM2_ST_SESSIONS, cc);
	tpm2_cmd_u32(c, TPM2_RH_PLATFORM);
	tpm2_cmd_u32(c, index);
	tpm2_cmd_pw_session(c);
}

int tpm2_nv_define_write(struct vtpm_backend *b, uint32_t index, uint32_t attrs,
			 const uint8_t *data, size_t len, size_t chunk)
{
	struct tpm2_cmd c;
	struct tpm2_rsp r;
	uint8_t resp[VTPM_BUFFER_SIZE];
	uint32_t rc;
	int ret;

	if (len == 0 || len > UINT16_MAX || chunk == 0)
		return -EINVAL;

	tpm2_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_DEFINE_SPACE);
	tpm2_cmd_u32(&c, TPM2_RH_PLATFORM);
	tpm2_cmd_pw_session(&c);
	tpm2_cmd_u16(&c, 0);		/* auth: empty */
	tpm2_cmd_u16(&c, 14);		/* TPM2B_NV_PUBLIC size: the fields below */
	tpm2_cmd_u32(&c, index);
	tpm2_cmd_u16(&c, TPM2_ALG_SHA256);
	tpm2_cmd_u32(&c, attrs);
	tpm2_cmd_u16(&c, 0);		/* authPolicy: none */
	tpm2_cmd_u16(&c, (uint16_t)len);
	ret = tpm2_transact(b, &c, resp, sizeof(resp), &rc, &r);
	if (ret < 0)
		return ret;
	if (rc != TPM2_RC_SUCCESS)
		return command_failed(b, "TPM2_NV_DefineSpace", index, rc);

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		begin_platform(&c, TPM2_CC_NV_WRITE, index);
		tpm2_cmd_tpm2b(&c, data + off, n);
		tpm2_cmd_u16(&c, (uint16_t)off);
		ret = tpm2_transact(b, &c, resp, sizeof(resp), &rc, &r);
		if (ret < 0)
			return ret;
		if (rc != TPM2_RC_SUCCESS)
			return command_failed(b, "TPM2_NV_Write", index, rc);
	}
	return 0;
}

int tpm2_nv_write_lock(struct vtpm_backend *b, uint32_t index)
{
	struct tpm2_cmd c;
	struct tpm2_rsp r;
	uint8_t resp[VTPM_BUFFER_SIZE];
	uint32_t rc;
	int ret;

	begin_platform(&c, TPM2_CC_NV_WRITE_LOCK, index);
	ret = tpm2_transact(b, &c, resp, sizeof(resp), &rc, &r);
	if (ret < 0)
		return ret;
	if (rc != TPM2_RC_SUCCESS)
		return command_failed(b, "TPM2_NV_WriteLock", index, rc);
	return 0;
}

int tpm2_nv_read_all(struct vtpm_backend *b, uint32_t index, size_t chunk,
		     uint8_t **data, size_t *len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct tpm2_cmd c;
	struct tpm2_rsp r;
	uint32_t attrs, rc;
	uint16_t size;
	int ret;

	if (chunk == 0)
		return -EINVAL;
	ret = tpm2_nv_read_public(b, index, &attrs, &size);
	if (ret < 0)
		return ret;
	if (!(attrs & TPMA_NV_AUTHREAD))
		return -EACCES;
	buf = malloc(size ? size : 1);
	if (!buf)
		return -ENOMEM;

	for (size_t off = 0; off < size;) {
		uint16_t want = (uint16_t)(size - off < chunk ? size - off : chunk);
		const uint8_t *p;
		size_t n;

		tpm2_cmd_begin(&c, TPM2_ST_SESSIONS, TPM2_CC_NV_READ);
		tpm2_cmd_u32(&c, index); /* authHandle: the index itself */
		tpm2_cmd_u32(&c, index);
		tpm2_cmd_pw_session(&c);
		tpm2_cmd_u16(&c, want);
		tpm2_cmd_u16(&c, (uint16_t)off);
		ret = tpm2_transact(b, &c, resp, sizeof(resp), &rc, &r);
		if (ret < 0)
			return ret;
		if (rc != TPM2_RC_SUCCESS)
			return command_failed(b, "TPM2_NV_Read", index, rc);
		tpm2_rsp_u32(&r); /* parameterSize */
		p = tpm2_rsp_tpm2b(&r, want, &n);
		if (!p || n != want)
			return -EBADMSG;
		memcpy(buf + off, p, n);
		off += n;
	}
	*data = TAKE_PTR(buf);
	*len = size;
	return 0;
}

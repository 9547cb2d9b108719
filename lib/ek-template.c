/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The TCG default EK templates (TCG EK Credential Profile for TPM Family
 * 2.0, templates L-1 for RSA 2048 and L-2 for ECC NIST P-256), and reading
 * back the public key the TPM derived from one.
 *
 * The answer is checked field by field against the template: a key made
 * from anything else is not the EK a verifier will derive, and certifying
 * it would give a certificate that attests nothing.
 */
#include "config.h"

#include <string.h>

#include "manufacture-internal.h"
#include "vtpm-internal.h"

/*
 * TPMA_OBJECT of both templates (Part 2, 8.3): fixedTPM, fixedParent,
 * sensitiveDataOrigin, adminWithPolicy, restricted, decrypt.
 */
#define EK_OBJECT_ATTRIBUTES 0x000300b2u

/* The profile's default EK policy: TPM2_PolicySecret(TPM_RH_ENDORSEMENT), SHA-256. */
static const uint8_t ek_policy_sha256[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc, 0x8d, 0x46, 0xa5, 0xd7, 0x24,
	0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52, 0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

/* AES-128 in CFB mode: the templates' symmetric algorithm for the storage use. */
#define EK_SYM_KEY_BITS 128
#define EK_RSA_KEY_BITS 2048

/* The parameters and unique field (zeros) of a template: TPMT_PUBLIC after authPolicy. */
static void append_params(struct tpm2_cmd *c, enum vtpm_ek_type type)
{
	static const uint8_t zeros[EK_RSA2048_BYTES];

	tpm2_cmd_u16(c, TPM2_ALG_AES);
	tpm2_cmd_u16(c, EK_SYM_KEY_BITS);
	tpm2_cmd_u16(c, TPM2_ALG_CFB);
	tpm2_cmd_u16(c, TPM2_ALG_NULL);	/* scheme */
	if (type == VTPM_EK_RSA2048) {
		tpm2_cmd_u16(c, EK_RSA_KEY_BITS);
		tpm2_cmd_u32(c, 0);		/* exponent: the default, 65537 */
		tpm2_cmd_tpm2b(c, zeros, EK_RSA2048_BYTES);
	} else {
		tpm2_cmd_u16(c, TPM2_ECC_NIST_P256);
		tpm2_cmd_u16(c, TPM2_ALG_NULL);	/* kdf */
		tpm2_cmd_tpm2b(c, zeros, EK_ECC_P256_BYTES);
		tpm2_cmd_tpm2b(c, zeros, EK_ECC_P256_BYTES);
	}
}

void ek_template_append(struct tpm2_cmd *c, enum vtpm_ek_type type)
{
	size_t size_at = c->len;

	tpm2_cmd_u16(c, 0); /* TPM2B_PUBLIC size, set below */
	tpm2_cmd_u16(c, type == VTPM_EK_RSA2048 ? TPM2_ALG_RSA : TPM2_ALG_ECC);
	tpm2_cmd_u16(c, TPM2_ALG_SHA256);
	tpm2_cmd_u32(c, EK_OBJECT_ATTRIBUTES);
	tpm2_cmd_tpm2b(c, ek_policy_sha256, sizeof(ek_policy_sha256));
	append_params(c, type);
	if (!c->overflow)
		put_be16(c->buf + size_at, (uint16_t)(c->len - size_at - 2));
}

static bool read_expect16(struct tpm2_rsp *r, uint16_t v)
{
	return tpm2_rsp_u16(r) == v && !r->bad;
}

static bool read_coordinate(struct tpm2_rsp *r, uint8_t *out, size_t want)
{
	size_t n;
	const uint8_t *p = tpm2_rsp_tpm2b(r, want, &n);

	if (!p || n != want)
		return false;
	memcpy(out, p, n);
	return true;
}

int ek_public_parse(struct tpm2_rsp *r, enum vtpm_ek_type type, struct ek_public *pub)
{
	size_t size, policy_len, end;
	const uint8_t *policy;
	bool ok;

	size = tpm2_rsp_u16(r);
	if (r->bad || size > r->len - r->off)
		return -EBADMSG;
	end = r->off + size;

	ok = read_expect16(r, type == VTPM_EK_RSA2048 ? TPM2_ALG_RSA : TPM2_ALG_ECC) &&
	     read_expect16(r, TPM2_ALG_SHA256) &&
	     tpm2_rsp_u32(r) == EK_OBJECT_ATTRIBUTES;
	policy = tpm2_rsp_tpm2b(r, sizeof(ek_policy_sha256), &policy_len);
	ok = ok && policy && policy_len == sizeof(ek_policy_sha256) &&
	     memcmp(policy, ek_policy_sha256, policy_len) == 0 &&
	     read_expect16(r, TPM2_ALG_AES) && read_expect16(r, EK_SYM_KEY_BITS) &&
	     read_expect16(r, TPM2_ALG_CFB) && read_expect16(r, TPM2_ALG_NULL);
	if (!ok)
		return -EBADMSG;

	*pub = (struct ek_public){ .type = type };
	if (type == VTPM_EK_RSA2048) {
		uint32_t exponent;

		ok = read_expect16(r, EK_RSA_KEY_BITS);
		exponent = tpm2_rsp_u32(r);
		/* 0 is the default exponent; the TPM may also spell it out. */
		ok = ok && (exponent == 0 || exponent == 65537) &&
		     read_coordinate(r, pub->n, EK_RSA2048_BYTES);
	} else {
		ok = read_expect16(r, TPM2_ECC_NIST_P256) && read_expect16(r, TPM2_ALG_NULL) &&
		     read_coordinate(r, pub->x, EK_ECC_P256_BYTES) &&
		     read_coordinate(r, pub->y, EK_ECC_P256_BYTES);
	}
	if (!ok || r->bad || r->off != end)
		return -EBADMSG;
	return 0;
}

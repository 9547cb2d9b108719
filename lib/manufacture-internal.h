/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the manufacture files share: EK public keys, the CA, certificates, NV. */
#ifndef VTPM_MANUFACTURE_INTERNAL_H
#define VTPM_MANUFACTURE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <vtpm/manufacture.h>

#include "tpm2-cmd.h"

/* TCG EK Credential Profile for TPM Family 2.0, EK certificate NV indices (low range). */
#define EK_NV_INDEX_RSA2048_CERT 0x01c00002
#define EK_NV_INDEX_ECC_P256_CERT 0x01c0000a

/*
 * The endorsement keys' persistent handles: TCG TPM v2.0 Provisioning
 * Guidance (RSA EK 0x81010001) and the TCG Registry of Reserved TPM 2.0
 * Handles and Localities (ECC P-256 EK 0x81010002).  Newer swtpm_setup
 * puts the P-256 EK at 0x8101000a; a TPM that has one there keeps it.
 */
#define EK_HANDLE_RSA2048 0x81010001
#define EK_HANDLE_ECC_P256 0x81010002

/* RSA 2048 modulus; ECC P-256 coordinate. */
#define EK_RSA2048_BYTES 256
#define EK_ECC_P256_BYTES 32

/* The public part of an endorsement key, as the TPM derived it. */
struct ek_public {
	enum vtpm_ek_type type;
	uint8_t n[EK_RSA2048_BYTES];	/* RSA modulus, exponent 65537 */
	uint8_t x[EK_ECC_P256_BYTES], y[EK_ECC_P256_BYTES];
};

/* ---- ek-template.c ---- */

/* Append the TPM2B_PUBLIC of the TCG default template for @type. */
void ek_template_append(struct tpm2_cmd *c, enum vtpm_ek_type type);

/*
 * Read a TPM2B_PUBLIC (as in CreatePrimary's and ReadPublic's answers)
 * that must be a key of @type made from its default template.  Returns 0,
 * or -EBADMSG for anything else.
 */
int ek_public_parse(struct tpm2_rsp *r, enum vtpm_ek_type type, struct ek_public *pub);

/* ---- ca.c ---- */

struct vtpm_ca;

/* The local CA in @dir, created on first use. */
int vtpm_ca_open_dir(struct vtpm_ctx *ctx, const char *dir, struct vtpm_ca **ca);
/* A CA from PEM files. */
int vtpm_ca_load(struct vtpm_ctx *ctx, const char *key_path, const char *cert_path,
		 struct vtpm_ca **ca);
void vtpm_ca_free(struct vtpm_ca *ca);

/* ---- ek-cert.c ---- */

/* TPM manufacturer, model and firmware version for the certificate. */
struct tpm_identity {
	uint32_t manufacturer;	/* TPM_PT_MANUFACTURER */
	char model[17];		/* TPM_PT_VENDOR_STRING_1..4, trimmed */
	uint32_t firmware[2];	/* TPM_PT_FIRMWARE_VERSION_1, _2 */
};

/* A DER EK certificate for @pub, signed by @ca. */
int ek_cert_build(struct vtpm_ctx *ctx, struct vtpm_ca *ca, const struct ek_public *pub,
		  const struct tpm_identity *id, uint8_t **der, size_t *der_len);

/* DER to PEM, NUL-terminated. */
int ek_cert_to_pem(const uint8_t *der, size_t der_len, uint8_t **pem, size_t *pem_len);

/* ---- tpm2-nv.c: NV indices through the platform hierarchy ---- */

/* -ENOENT if @index is not defined; else 0 and its attributes and size. */
int tpm2_nv_read_public(struct vtpm_backend *b, uint32_t index, uint32_t *attrs,
			uint16_t *size);
/* Define @index and write @data to it, @chunk bytes per command. */
int tpm2_nv_define_write(struct vtpm_backend *b, uint32_t index, uint32_t attrs,
			 const uint8_t *data, size_t len, size_t chunk);
int tpm2_nv_write_lock(struct vtpm_backend *b, uint32_t index);
/* Read all of @index into a malloc()ed buffer. */
int tpm2_nv_read_all(struct vtpm_backend *b, uint32_t index, size_t chunk,
		     uint8_t **data, size_t *len);

#endif

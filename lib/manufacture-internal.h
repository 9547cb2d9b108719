/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the manufacture files share: EK public keys, the CA, certificates, NV. */
#ifndef VTPM_MANUFACTURE_INTERNAL_H
#define VTPM_MANUFACTURE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtpm/manufacture.h>

#include "tpm2-cmd.h"

/* TCG EK Credential Profile for TPM Family 2.0, EK certificate NV indices (low range). */
#define EK_NV_INDEX_RSA2048_CERT 0x01c00002
#define EK_NV_INDEX_ECC_P256_CERT 0x01c0000a
/*
 * TCG PC Client Platform TPM Profile (and its Registry of Reserved TPM 2.0
 * Handles): the platform certificate's NV index, where swtpm_setup
 * --create-platform-cert writes it.
 */
#define PLATFORM_NV_INDEX_CERT 0x01c08000

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

/*
 * The certificates manufacture writes: an EK certificate (TCG EK
 * Credential Profile), or the platform certificate swtpm_setup
 * --create-platform-cert writes, for the RSA EK's key (swtpm_cert --type
 * platform --tpm2).
 */
enum tcg_cert_type {
	TCG_CERT_EK,
	TCG_CERT_PLATFORM,
};

/* A DER certificate of @type for @pub, signed by @ca. */
int ek_cert_build(struct vtpm_ctx *ctx, struct vtpm_ca *ca, enum tcg_cert_type type,
		  const struct ek_public *pub, const struct tpm_identity *id, uint8_t **der,
		  size_t *der_len);

/* DER to PEM, NUL-terminated. */
int ek_cert_to_pem(const uint8_t *der, size_t der_len, uint8_t **pem, size_t *pem_len);

/* ---- manufacture.c: one manufacture's TPM commands ---- */

struct mfg {
	struct vtpm_backend *b;
	struct vtpm_ctx *ctx;
	bool started_here;	/* this call sent TPM2_Startup */
	bool power_cycled;	/* this call power-cycled the TPM */
	size_t nv_chunk;
	struct tpm_identity id;
	struct tpm2_cmd c;
	uint8_t resp[VTPM_BUFFER_SIZE];
};

/* Send m->c; a TPM error is logged with @what and becomes -EIO. */
int mfg_run(struct mfg *m, const char *what, struct tpm2_rsp *r);

/* ---- pcr-banks.c ---- */

#define VTPM_PCR_BANKS_ALL (VTPM_PCR_BANK_SHA1 | VTPM_PCR_BANK_SHA256 | \
			    VTPM_PCR_BANK_SHA384 | VTPM_PCR_BANK_SHA512)

/* Activate exactly @want (all PCRs of each), deactivate every other bank;
 * *@changed when the allocation changed (it takes effect at a power cycle). */
int mfg_pcr_allocate(struct mfg *m, unsigned int want, bool *changed);

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

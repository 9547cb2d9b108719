/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manufacture: give a TPM 2 the identity a real part leaves the factory
 * with.  Endorsement keys from the TCG default templates, made persistent;
 * EK certificates signed by a CA the operator controls, in the NV indices
 * where attestation software looks; the PCR banks chosen; optionally the
 * certificates locked against replacement.
 *
 * Thread safety: as for every libvtpm call (see ctx.h); it drives the
 * backend, which no other thread may use meanwhile.
 */
#ifndef VTPM_MANUFACTURE_H
#define VTPM_MANUFACTURE_H

#include <stddef.h>
#include <stdint.h>

#include <vtpm/backend.h>
#include <vtpm/ctx.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Flags of struct vtpm_manufacture_options.
 * @VTPM_MANUFACTURE_EK: create the RSA 2048 and ECC NIST P-256 endorsement
 *	keys from the default templates of the TCG EK Credential Profile
 *	(templates L-1 and L-2, low range) and make them persistent at the
 *	handles of the TCG provisioning guidance: 0x81010001 (RSA) and
 *	0x81010002 (ECC).
 * @VTPM_MANUFACTURE_EK_CERT: also certify both keys (implies
 *	@VTPM_MANUFACTURE_EK).  The X.509 v3 certificates follow the TCG EK
 *	Credential Profile and go to NV indices 0x01c00002 (RSA) and
 *	0x01c0000a (ECC), defined by the platform hierarchy with the
 *	attributes swtpm_setup uses: PPWRITE, PPREAD, OWNERREAD, AUTHREAD,
 *	NO_DA, PLATFORMCREATE and WRITEDEFINE.
 * @VTPM_MANUFACTURE_LOCK_NV: lock the certificate indices with
 *	TPM2_NV_WriteLock (as swtpm_setup --lock-nvram): with WRITEDEFINE the
 *	lock lasts until the index is deleted, so software inside the TPM's
 *	user cannot replace a certificate.
 */
#define VTPM_MANUFACTURE_EK (1u << 0)
#define VTPM_MANUFACTURE_EK_CERT (1u << 1)
#define VTPM_MANUFACTURE_LOCK_NV (1u << 2)
/*
 * @VTPM_MANUFACTURE_PLATFORM_CERT: also a platform certificate for the RSA
 *	EK's key (implies @VTPM_MANUFACTURE_EK; needs a CA as EK_CERT does),
 *	as swtpm_setup --create-platform-cert writes it: X.509 v3 with the
 *	platform's manufacturer "libvtpm", model "vTPM" and version (the
 *	library's) in a critical subject alternative name under the TCG
 *	platform attribute OIDs (2.23.133.5.1.1, .4, .5) and the extended
 *	key usage 2.23.133.8.2, in NV index 0x01c08000 with the attributes
 *	of the EK certificates (and locked with them).  Since LIBVTPM_3.
 */
#define VTPM_MANUFACTURE_PLATFORM_CERT (1u << 3)

/**
 * PCR banks, for struct vtpm_manufacture_options.pcr_banks.
 * VTPM_PCR_BANKS_DEFAULT is swtpm_setup's default (sha256 only).
 */
#define VTPM_PCR_BANK_SHA1 (1u << 0)
#define VTPM_PCR_BANK_SHA256 (1u << 1)
#define VTPM_PCR_BANK_SHA384 (1u << 2)
#define VTPM_PCR_BANK_SHA512 (1u << 3)
#define VTPM_PCR_BANKS_DEFAULT VTPM_PCR_BANK_SHA256

/**
 * struct vtpm_manufacture_options - what vtpm_manufacture() does
 * @size: sizeof(struct vtpm_manufacture_options) as the caller compiled it
 * @flags: VTPM_MANUFACTURE_*
 * @pcr_banks: VTPM_PCR_BANK_* to leave active, all others deactivated
 *	(TPM2_PCR_Allocate).  0 means VTPM_PCR_BANKS_DEFAULT when this call
 *	creates the endorsement keys (a new part) and "leave them as they
 *	are" otherwise.
 * @ca_dir: a local CA: the directory holding "ca-key.pem" (mode 0600)
 *	and "ca-cert.pem".  Both are created on first use, under a lock and
 *	by atomic rename, so concurrent manufactures share one CA; then
 *	reused for every TPM.  The directory is created (mode 0700) if it
 *	is missing.
 * @ca_key: instead of @ca_dir, the CA's private key (PEM, unencrypted)...
 * @ca_cert: ...and its certificate (PEM).
 *
 * Certificates (EK or platform) need exactly one CA: @ca_dir, or @ca_key
 * with @ca_cert.
 */
struct vtpm_manufacture_options {
	size_t size;
	unsigned int flags;
	unsigned int pcr_banks;
	const char *ca_dir;
	const char *ca_key;
	const char *ca_cert;
};

/**
 * vtpm_manufacture - manufacture a running TPM 2
 * @backend: a started TPM 2 backend, not yet serving clients
 * @opts: what to do
 *
 * Starts the TPM (TPM2_Startup) unless it already is and does what @opts
 * asks; a changed PCR allocation takes effect through an orderly
 * TPM2_Shutdown and a power cycle.  A TPM this call started or
 * power-cycled is left started and self-tested (TPM2_SelfTest), as
 * firmware hands a TPM over: the kernel's start-up commands, which time
 * out quickly, then find nothing slow to do.
 *
 * Idempotent: an endorsement key whose persistent handle is taken, or a
 * certificate whose NV index exists, is kept as it is, so a TPM
 * manufactured earlier (by libvtpm or by swtpm_setup) keeps its identity;
 * a TPM that lacks certificates gets them.
 *
 * Returns: 1 if the TPM was changed; 0 if it already had everything asked
 * for; -EINVAL for bad @opts or a TPM 1.2; -ENXIO if @backend is not
 * running; -EIO if the TPM refused a command (the log says which);
 * -EBADMSG for a malformed TPM answer; -ENOENT / -EACCES / -EKEYREJECTED
 * for an unusable CA (missing files, no permission, key and certificate
 * that do not match); -ENOMEM.
 */
int vtpm_manufacture(struct vtpm_backend *backend, const struct vtpm_manufacture_options *opts);

/**
 * vtpm_pcr_banks_parse - read a comma-separated bank list such as "sha1,sha256"
 * @list: names from sha1, sha256, sha384, sha512
 * @banks: on success, the VTPM_PCR_BANK_* bits
 *
 * Returns: 0; -EINVAL for an unknown name or an empty list.
 */
int vtpm_pcr_banks_parse(const char *list, unsigned int *banks);

/**
 * enum vtpm_ek_type - the endorsement keys vtpm_manufacture() creates
 * @VTPM_EK_RSA2048: RSA 2048, certificate at NV index 0x01c00002
 * @VTPM_EK_ECC_NIST_P256: ECC NIST P-256, certificate at NV index 0x01c0000a
 */
enum vtpm_ek_type {
	VTPM_EK_RSA2048 = 1,
	VTPM_EK_ECC_NIST_P256 = 2,
};

/** VTPM_EK_CERT_PEM - flag of vtpm_ek_cert_read(): PEM instead of DER. */
#define VTPM_EK_CERT_PEM (1u << 0)

/**
 * vtpm_ek_cert_read - read an EK certificate from a TPM's NV memory
 * @backend: a started TPM 2 backend
 * @type: which certificate
 * @flags: 0 or VTPM_EK_CERT_PEM
 * @cert: on success, a malloc()ed buffer the caller frees: the DER
 *	certificate, or with VTPM_EK_CERT_PEM its PEM text (NUL-terminated,
 *	the NUL not counted in @cert_len)
 *
 * Starts the TPM (TPM2_Startup) if it is not, and then shuts it down
 * orderly and power-cycles it again, so it is left as it was found.  The
 * backend must not serve clients meanwhile.
 *
 * Returns: 0; -ENOENT if the TPM has no such certificate; -EBADMSG if the
 * index does not hold a DER certificate; -EINVAL; -ENXIO if @backend is not
 * running; -EIO; -ENOMEM.
 */
int vtpm_ek_cert_read(struct vtpm_backend *backend, enum vtpm_ek_type type,
		      unsigned int flags, uint8_t **cert, size_t *cert_len);

#ifdef __cplusplus
}
#endif

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manufacture on a real libtpms TPM: the EK certificates are parsed back
 * with libcrypto and every field the TCG EK Credential Profile asks for is
 * checked (the platform certificate's too); the keys match what the TPM holds; the local CA is made once,
 * even by racing processes; PCR banks and NV locks are as asked.
 */
#include "config.h"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ca-internal.h"
#include "manufacture-internal.h"
#include "vtpm-internal.h"

static char top[] = "/tmp/test-manufacture-XXXXXX";
static char state_dir[PATH_MAX], ca_dir[PATH_MAX];

struct tpm {
	struct vtpm_ctx *ctx;
	struct vtpm_backend *backend;
};

static void tpm_open(struct tpm *t, const char *dir)
{
	assert_int_equal(vtpm_ctx_new(&t->ctx), 0);
	vtpm_ctx_set_log_priority(t->ctx, 0);
	assert_int_equal(vtpm_backend_new_libtpms(t->ctx, VTPM_VERSION_2, dir, 0, &t->backend), 0);
	assert_int_equal(vtpm_backend_start(t->backend), 0);
}

static void tpm_close(struct tpm *t)
{
	t->backend = vtpm_backend_unref(t->backend);
	t->ctx = vtpm_ctx_unref(t->ctx);
}

static void fresh_dir(char *path, const char *name)
{
	snprintf(path, PATH_MAX, "%s/%s", top, name);
	vtpm_remove_flat_dir(path);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* Send one command; returns the TPM's code and leaves the reader after the header. */
static uint32_t send(struct tpm *t, struct tpm2_cmd *c, uint8_t *resp, struct tpm2_rsp *r)
{
	uint32_t rc;

	assert_int_equal(tpm2_transact(t->backend, c, resp, VTPM_BUFFER_SIZE, &rc, r), 0);
	return rc;
}

/* Manufacture leaves the TPM started, as firmware would. */
static void check_started(struct tpm *t)
{
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct tpm2_cmd c;
	struct tpm2_rsp r;

	tpm2_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	tpm2_cmd_u16(&c, TPM2_SU_CLEAR);
	assert_int_equal(send(t, &c, resp, &r), TPM2_RC_INITIALIZE);
}

/* The public key at a persistent EK handle, as an EVP_PKEY. */
static EVP_PKEY *persistent_key(struct tpm *t, uint32_t handle, enum vtpm_ek_type type)
{
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct ek_public pub;
	struct tpm2_cmd c;
	struct tpm2_rsp r;
	OSSL_PARAM params[3];
	uint8_t point[65], n_le[256];
	EVP_PKEY_CTX *pctx;
	EVP_PKEY *pkey = NULL;
	unsigned int e = 65537;

	tpm2_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_READ_PUBLIC);
	tpm2_cmd_u32(&c, handle);
	assert_int_equal(send(t, &c, resp, &r), TPM2_RC_SUCCESS);
	assert_int_equal(ek_public_parse(&r, type, &pub), 0);

	if (type == VTPM_EK_RSA2048) {
		/* OSSL_PARAM carries big numbers in native (little-endian) order. */
		for (int i = 0; i < 256; i++)
			n_le[i] = pub.n[255 - i];
		params[0] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_RSA_N, n_le, sizeof(n_le));
		params[1] = OSSL_PARAM_construct_uint(OSSL_PKEY_PARAM_RSA_E, &e);
	} else {
		point[0] = 4;
		memcpy(point + 1, pub.x, 32);
		memcpy(point + 33, pub.y, 32);
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
		params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	}
	params[2] = OSSL_PARAM_construct_end();
	pctx = EVP_PKEY_CTX_new_from_name(NULL, type == VTPM_EK_RSA2048 ? "RSA" : "EC", NULL);
	assert_non_null(pctx);
	assert_true(EVP_PKEY_fromdata_init(pctx) > 0);
	assert_true(EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0);
	EVP_PKEY_CTX_free(pctx);
	return pkey;
}

static X509 *read_pem_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

static void check_dirname_attr(const X509_NAME *dn, int index, const char *oid, const char *prefix)
{
	const X509_NAME_ENTRY *e = X509_NAME_get_entry(dn, index);
	char buf[64];
	const ASN1_STRING *s;

	assert_non_null(e);
	OBJ_obj2txt(buf, sizeof(buf), X509_NAME_ENTRY_get_object(e), 1);
	assert_string_equal(buf, oid);
	s = X509_NAME_ENTRY_get_data(e);
	assert_int_equal(ASN1_STRING_type(s), V_ASN1_UTF8STRING);
	assert_true(ASN1_STRING_length(s) > 0);
	if (prefix)
		assert_memory_equal(ASN1_STRING_get0_data(s), prefix, strlen(prefix));
}

/*
 * What EK and platform certificates share, parsed back from DER: X.509 v3,
 * issued and signed by @ca, for @key, an empty subject, a critical subject
 * alternative name of one directoryName holding the attributes @oids in
 * this order (values beginning with @prefixes, where not NULL), and the
 * one extended key usage @eku.  Returns the certificate.
 */
static X509 *check_tcg_cert(const uint8_t *der, size_t len, X509 *ca, EVP_PKEY *key,
			    const char *const oids[3], const char *const prefixes[3],
			    const char *eku_oid)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	EXTENDED_KEY_USAGE *eku;
	GENERAL_NAMES *san;
	const GENERAL_NAME *gn;
	char oid[64];
	int crit;

	assert_non_null(x);
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(ca)), 0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(ca)), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(x), key), 1);
	assert_int_equal(X509_NAME_entry_count(X509_get_subject_name(x)), 0);

	san = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_non_null(san);
	assert_int_equal(crit, 1);
	assert_int_equal(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	assert_int_equal(gn->type, GEN_DIRNAME);
	assert_int_equal(X509_NAME_entry_count(gn->d.directoryName), 3);
	for (int i = 0; i < 3; i++)
		check_dirname_attr(gn->d.directoryName, i, oids[i], prefixes[i]);
	GENERAL_NAMES_free(san);

	eku = X509_get_ext_d2i(x, NID_ext_key_usage, &crit, NULL);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	OBJ_obj2txt(oid, sizeof(oid), sk_ASN1_OBJECT_value(eku, 0), 1);
	assert_string_equal(oid, eku_oid);
	EXTENDED_KEY_USAGE_free(eku);
	return x;
}

/* Every field of the EK Credential Profile. */
static void check_cert(const uint8_t *der, size_t len, X509 *ca, EVP_PKEY *ek, bool rsa)
{
	/* The TPM's manufacturer, model, version; libtpms is IBM's
	 * (TPM_PT_MANUFACTURER "IBM"); tcg-kp-EKCertificate. */
	static const char *const oids[3] = { "2.23.133.2.1", "2.23.133.2.2", "2.23.133.2.3" };
	static const char *const prefixes[3] = { "id:49424D00", NULL, "id:" };
	X509 *x = check_tcg_cert(der, len, ca, ek, oids, prefixes, "2.23.133.8.1");
	BASIC_CONSTRAINTS *bc;
	CERTIFICATEPOLICIES *pol;
	AUTHORITY_KEYID *akid;
	const ASN1_OCTET_STRING *ski;
	int crit;

	/* Key usage: critical; keyEncipherment for RSA, keyAgreement for ECC. */
	assert_int_equal(X509_get_extension_flags(x) & EXFLAG_KUSAGE, EXFLAG_KUSAGE);
	assert_int_equal(X509_get_key_usage(x), rsa ? KU_KEY_ENCIPHERMENT : KU_KEY_AGREEMENT);
	assert_int_equal(X509_EXTENSION_get_critical(X509_get_ext(x,
				X509_get_ext_by_NID(x, NID_key_usage, -1))), 1);

	/* Basic constraints: critical, not a CA. */
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);

	/* A certificate policy with the TCG user notice. */
	pol = X509_get_ext_d2i(x, NID_certificate_policies, &crit, NULL);
	assert_non_null(pol);
	assert_int_equal(crit, 0);
	assert_int_equal(sk_POLICYINFO_num(pol), 1);
	CERTIFICATEPOLICIES_free(pol);

	/* Authority key identifier: the CA's subject key identifier. */
	akid = X509_get_ext_d2i(x, NID_authority_key_identifier, &crit, NULL);
	ski = X509_get0_subject_key_id(ca);
	assert_non_null(akid);
	assert_non_null(akid->keyid);
	assert_non_null(ski);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid->keyid, ski), 0);
	AUTHORITY_KEYID_free(akid);

	X509_free(x);
}

/* A certificate index of @len bytes with swtpm_setup's attributes, write-locked. */
static void check_locked_cert_index(struct tpm *t, uint32_t index, size_t len)
{
	uint32_t attrs;
	uint16_t size;

	assert_int_equal(tpm2_nv_read_public(t->backend, index, &attrs, &size), 0);
	assert_int_equal(size, len);
	assert_int_equal(attrs & ~TPMA_NV_WRITELOCKED & ~0x20000000u /* WRITTEN */,
			 TPMA_NV_PLATFORMCREATE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD |
			 TPMA_NV_PPREAD | TPMA_NV_PPWRITE | TPMA_NV_NO_DA | TPMA_NV_WRITEDEFINE);
	assert_true(attrs & TPMA_NV_WRITELOCKED);
}

static void read_cert(struct tpm *t, enum vtpm_ek_type type, uint8_t **der, size_t *len)
{
	assert_int_equal(vtpm_ek_cert_read(t->backend, type, 0, der, len), 0);
}

/* The active PCR banks, as VTPM_PCR_BANK_* bits. */
static unsigned int active_banks(struct tpm *t)
{
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct tpm2_cmd c;
	struct tpm2_rsp r;
	unsigned int banks = 0;
	uint32_t count;

	tpm2_cmd_begin(&c, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2_cmd_u32(&c, TPM2_CAP_PCRS);
	tpm2_cmd_u32(&c, 0);
	tpm2_cmd_u32(&c, 1);
	assert_int_equal(send(t, &c, resp, &r), TPM2_RC_SUCCESS);
	tpm2_rsp_u8(&r);
	tpm2_rsp_u32(&r);
	count = tpm2_rsp_u32(&r);
	for (uint32_t i = 0; i < count; i++) {
		uint16_t alg = tpm2_rsp_u16(&r);
		uint8_t n = tpm2_rsp_u8(&r);
		const uint8_t *sel = tpm2_rsp_bytes(&r, n);
		bool on = false;

		assert_non_null(sel);
		for (int j = 0; j < n; j++)
			on |= sel[j] != 0;
		if (!on)
			continue;
		banks |= alg == TPM2_ALG_SHA1 ? VTPM_PCR_BANK_SHA1 :
			 alg == TPM2_ALG_SHA256 ? VTPM_PCR_BANK_SHA256 :
			 alg == TPM2_ALG_SHA384 ? VTPM_PCR_BANK_SHA384 :
			 alg == TPM2_ALG_SHA512 ? VTPM_PCR_BANK_SHA512 : 0x100;
	}
	return banks;
}

static void test_ek_certificates(void **unused)
{
	struct vtpm_manufacture_options o = {
		.size = sizeof(o),
		.flags = VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_LOCK_NV,
		.ca_dir = ca_dir,
	};
	uint8_t *rsa = NULL, *ecc = NULL, *again = NULL;
	size_t rsa_len = 0, ecc_len = 0, again_len = 0;
	char path[PATH_MAX + 32];
	EVP_PKEY *rsa_key, *ecc_key;
	struct stat st;
	struct tpm t;
	X509 *ca;

	fresh_dir(state_dir, "state");
	vtpm_remove_flat_dir(ca_dir);
	tpm_open(&t, state_dir);
	assert_int_equal(vtpm_manufacture(t.backend, &o), 1);

	/* The local CA: key 0600, certificate beside it. */
	snprintf(path, sizeof(path), "%s/ca-key.pem", ca_dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/ca-cert.pem", ca_dir);
	ca = read_pem_cert(path);

	read_cert(&t, VTPM_EK_RSA2048, &rsa, &rsa_len);
	read_cert(&t, VTPM_EK_ECC_NIST_P256, &ecc, &ecc_len);

	check_started(&t);
	rsa_key = persistent_key(&t, EK_HANDLE_RSA2048, VTPM_EK_RSA2048);
	ecc_key = persistent_key(&t, EK_HANDLE_ECC_P256, VTPM_EK_ECC_NIST_P256);
	check_cert(rsa, rsa_len, ca, rsa_key, true);
	check_cert(ecc, ecc_len, ca, ecc_key, false);

	/* The profile's NV attributes, locked for good. */
	check_locked_cert_index(&t, EK_NV_INDEX_RSA2048_CERT, rsa_len);
	/* swtpm_setup's default bank set. */
	assert_int_equal(active_banks(&t), VTPM_PCR_BANK_SHA256);

	/* Again: nothing to do, the certificate stays as it was. */
	assert_int_equal(vtpm_manufacture(t.backend, &o), 0);
	read_cert(&t, VTPM_EK_RSA2048, &again, &again_len);
	assert_int_equal(again_len, rsa_len);
	assert_memory_equal(again, rsa, rsa_len);
	tpm_close(&t);

	/* It all survives a restart from the state directory. */
	tpm_open(&t, state_dir);
	free(again);
	assert_int_equal(vtpm_ek_cert_read(t.backend, VTPM_EK_RSA2048, VTPM_EK_CERT_PEM, &again,
					   &again_len), 0);
	assert_memory_equal(again, "-----BEGIN CERTIFICATE-----", 27);
	assert_int_equal(strlen((char *)again), again_len);
	tpm_close(&t);

	free(rsa);
	free(ecc);
	free(again);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ecc_key);
	X509_free(ca);
}

/* A platform certificate alone: for the RSA EK, fields as swtpm_cert's. */
static void test_platform_certificate(void **unused)
{
	/* The platform's manufacturer, model, version; tcg-kp-PlatformAttributeCertificate. */
	static const char *const oids[3] = { "2.23.133.5.1.1", "2.23.133.5.1.4", "2.23.133.5.1.5" };
	static const char *const values[3] = { "libvtpm", "vTPM", PACKAGE_VERSION };
	struct vtpm_manufacture_options o = {
		.size = sizeof(o), .ca_dir = ca_dir,
		.flags = VTPM_MANUFACTURE_PLATFORM_CERT | VTPM_MANUFACTURE_LOCK_NV,
	};
	uint8_t *der = NULL, *ek_der = NULL;
	size_t len = 0, ek_len = 0;
	char path[PATH_MAX + 32];
	EVP_PKEY *rsa_key;
	struct tpm t;
	X509 *ca, *x;

	fresh_dir(state_dir, "platform");
	tpm_open(&t, state_dir);
	assert_int_equal(vtpm_manufacture(t.backend, &o), 1);
	snprintf(path, sizeof(path), "%s/ca-cert.pem", ca_dir);
	ca = read_pem_cert(path);
	/* No EK certificate was asked for. */
	assert_int_equal(vtpm_ek_cert_read(t.backend, VTPM_EK_RSA2048, 0, &ek_der, &ek_len), -ENOENT);
	assert_int_equal(tpm2_nv_read_all(t.backend, PLATFORM_NV_INDEX_CERT, 512, &der, &len), 0);
	rsa_key = persistent_key(&t, EK_HANDLE_RSA2048, VTPM_EK_RSA2048);
	x = check_tcg_cert(der, len, ca, rsa_key, oids, values, "2.23.133.8.2");
	/* No policy, not a CA, an RSA EK's key usage. */
	assert_int_equal(X509_get_ext_by_NID(x, NID_certificate_policies, -1), -1);
	assert_int_equal(X509_get_key_usage(x), KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_check_ca(x), 0);

	/* The EK certificates' NV attributes, locked with them. */
	check_locked_cert_index(&t, PLATFORM_NV_INDEX_CERT, len);
	/* Again: kept. */
	assert_int_equal(vtpm_manufacture(t.backend, &o), 0);
	tpm_close(&t);

	X509_free(x);
	X509_free(ca);
	EVP_PKEY_free(rsa_key);
	free(der);
}

static void test_pcr_banks(void **unused)
{
	struct vtpm_manufacture_options o = {
		.size = sizeof(o),
		.pcr_banks = VTPM_PCR_BANK_SHA1 | VTPM_PCR_BANK_SHA384 | VTPM_PCR_BANK_SHA512,
	};
	struct tpm t;

	fresh_dir(state_dir, "banks");
	tpm_open(&t, state_dir);
	assert_int_equal(vtpm_manufacture(t.backend, &o), 1);
	check_started(&t);
	assert_int_equal(active_banks(&t), o.pcr_banks);
	/* Already so: unchanged, and no certificate was asked for. */
	assert_int_equal(vtpm_manufacture(t.backend, &o), 0);
	assert_int_equal(tpm2_nv_read_public(t.backend, EK_NV_INDEX_RSA2048_CERT,
					     &(uint32_t){0}, &(uint16_t){0}), -ENOENT);
	tpm_close(&t);
}

static void test_user_ca(void **unused)
{
	char key[PATH_MAX + 32], cert[PATH_MAX + 32], other[PATH_MAX + 32];
	struct vtpm_manufacture_options o = {
		.size = sizeof(o),
		.flags = VTPM_MANUFACTURE_EK_CERT,
		.ca_key = key,
		.ca_cert = cert,
	};
	char other_dir[PATH_MAX];
	struct vtpm_ca *ca;
	struct vtpm_ctx *ctx;
	uint8_t *der = NULL;
	size_t len = 0;
	struct tpm t;

	/* A second local CA provides a key that does not match. */
	snprintf(key, sizeof(key), "%s/ca-key.pem", ca_dir);
	snprintf(cert, sizeof(cert), "%s/ca-cert.pem", ca_dir);
	fresh_dir(other_dir, "other-ca");
	assert_int_equal(vtpm_ctx_new(&ctx), 0);
	vtpm_ctx_set_log_priority(ctx, 0);
	assert_int_equal(vtpm_ca_open_dir(ctx, ca_dir, &ca), 0);
	vtpm_ca_free(ca);
	assert_int_equal(vtpm_ca_open_dir(ctx, other_dir, &ca), 0);
	vtpm_ca_free(ca);
	vtpm_ctx_unref(ctx);
	snprintf(other, sizeof(other), "%s/ca-key.pem", other_dir);

	fresh_dir(state_dir, "user-ca");
	tpm_open(&t, state_dir);
	o.ca_key = other;
	assert_int_equal(vtpm_manufacture(t.backend, &o), -EKEYREJECTED);
	o.ca_key = "/nonexistent/key.pem";
	assert_int_equal(vtpm_manufacture(t.backend, &o), -ENOENT);
	/* Nothing was written by the failures. */
	assert_int_equal(vtpm_ek_cert_read(t.backend, VTPM_EK_RSA2048, 0, &der, &len), -ENOENT);
	o.ca_key = key;
	assert_int_equal(vtpm_manufacture(t.backend, &o), 1);
	read_cert(&t, VTPM_EK_ECC_NIST_P256, &der, &len);
	check_started(&t);
	{
		X509 *x = read_pem_cert(cert);
		EVP_PKEY *k = persistent_key(&t, EK_HANDLE_ECC_P256, VTPM_EK_ECC_NIST_P256);

		check_cert(der, len, x, k, false);
		EVP_PKEY_free(k);
		X509_free(x);
	}
	free(der);
	tpm_close(&t);
}

/* Processes meeting an empty CA directory at once end up with one CA. */
static void test_ca_race(void **unused)
{
	enum { RACERS = 4 };
	char dir[PATH_MAX], path[PATH_MAX + 32];
	pid_t pids[RACERS];
	X509 *first = NULL;

	snprintf(dir, sizeof(dir), "%s/race-ca", top);
	vtpm_remove_flat_dir(dir);
	for (int i = 0; i < RACERS; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vtpm_ctx *ctx;
			struct vtpm_ca *ca;
			FILE *f;

			if (vtpm_ctx_new(&ctx) < 0 || vtpm_ca_open_dir(ctx, dir, &ca) < 0)
				_exit(1);
			snprintf(path, sizeof(path), "%s/cert-%d.pem", top, i);
			f = fopen(path, "w");
			if (!f || !PEM_write_X509(f, ca->cert))
				_exit(1);
			fclose(f);
			_exit(0);
		}
	}
	for (int i = 0; i < RACERS; i++) {
		int status;

		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i < RACERS; i++) {
		X509 *x;

		snprintf(path, sizeof(path), "%s/cert-%d.pem", top, i);
		x = read_pem_cert(path);
		unlink(path);
		if (!first)
			first = x;
		else {
			assert_int_equal(X509_cmp(first, x), 0);
			X509_free(x);
		}
	}
	X509_free(first);
	vtpm_remove_flat_dir(dir);
}

static void test_bad_options(void **unused)
{
	struct vtpm_manufacture_options o = { .size = sizeof(o), .flags = VTPM_MANUFACTURE_EK_CERT };
	unsigned int banks = 0;
	struct tpm t;

	assert_int_equal(vtpm_pcr_banks_parse("sha1,sha256", &banks), 0);
	assert_int_equal(banks, VTPM_PCR_BANK_SHA1 | VTPM_PCR_BANK_SHA256);
	assert_int_equal(vtpm_pcr_banks_parse("sha512", &banks), 0);
	assert_int_equal(banks, VTPM_PCR_BANK_SHA512);
	assert_int_equal(vtpm_pcr_banks_parse("", &banks), -EINVAL);
	assert_int_equal(vtpm_pcr_banks_parse("sha1,", &banks), -EINVAL);
	assert_int_equal(vtpm_pcr_banks_parse("sha1,,sha256", &banks), -EINVAL);
	assert_int_equal(vtpm_pcr_banks_parse("md5", &banks), -EINVAL);
	assert_int_equal(vtpm_pcr_banks_parse("sha2566", &banks), -EINVAL);

	fresh_dir(state_dir, "bad");
	tpm_open(&t, state_dir);
	/* Certificates need exactly one CA. */
	assert_int_equal(vtpm_manufacture(t.backend, &o), -EINVAL);
	o.ca_dir = ca_dir;
	o.ca_key = "k";
	assert_int_equal(vtpm_manufacture(t.backend, &o), -EINVAL);
	o = (struct vtpm_manufacture_options){ .size = 4 };
	assert_int_equal(vtpm_manufacture(t.backend, &o), -EINVAL);
	o = (struct vtpm_manufacture_options){ .size = sizeof(o), .flags = 1u << 20 };
	assert_int_equal(vtpm_manufacture(t.backend, &o), -EINVAL);
	o = (struct vtpm_manufacture_options){ .size = sizeof(o), .pcr_banks = 1u << 20 };
	assert_int_equal(vtpm_manufacture(t.backend, &o), -EINVAL);
	assert_int_equal(vtpm_ek_cert_read(t.backend, 7, 0, &(uint8_t *){NULL}, &(size_t){0}), -EINVAL);
	vtpm_backend_shutdown(t.backend);
	o = (struct vtpm_manufacture_options){ .size = sizeof(o), .flags = VTPM_MANUFACTURE_EK };
	assert_int_equal(vtpm_manufacture(t.backend, &o), -ENXIO);
	tpm_close(&t);
}

static int setup(void **unused)
{
	if (!mkdtemp(top))
		return -1;
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", top);
	return 0;
}

static int teardown(void **unused)
{
	char path[PATH_MAX + 32];

	for (const char *const *n = (const char *const[]){ "state", "banks", "user-ca", "bad",
							   "other-ca", "ca", NULL }; *n; n++) {
		snprintf(path, sizeof(path), "%s/%s", top, *n);
		vtpm_remove_flat_dir(path);
	}
	vtpm_remove_flat_dir(top);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ek_certificates),
		cmocka_unit_test(test_platform_certificate),
		cmocka_unit_test(test_pcr_banks),
		cmocka_unit_test(test_user_ca),
		cmocka_unit_test(test_ca_race),
		cmocka_unit_test(test_bad_options),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

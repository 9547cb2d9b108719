/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * EK certificates as the TCG EK Credential Profile for TPM Family 2.0
 * describes them: X.509 v3, an empty subject with a critical subject
 * alternative name naming the TPM (manufacturer, model, version under the
 * TCG attribute OIDs), key usage by key type, the EK certificate extended
 * key usage, a certificate policy, no CA, and the issuer's key identifier.
 * The platform certificate is built the same way, naming the platform
 * instead of the TPM.  Everything ASN.1 is OpenSSL's.
 */
#include "config.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "ca-internal.h"
#include "manufacture-internal.h"
#include "vtpm-internal.h"

/* TCG EK Credential Profile: tcg-at-tpmManufacturer, -tpmModel, -tpmVersion. */
#define OID_TPM_MANUFACTURER "2.23.133.2.1"
#define OID_TPM_MODEL "2.23.133.2.2"
#define OID_TPM_VERSION "2.23.133.2.3"
/* The same profile: tcg-kp-EKCertificate. */
#define OID_EK_CERTIFICATE "2.23.133.8.1"
/*
 * TCG Platform Attribute Credential Profile: tcg-at-platformManufacturerStr,
 * -platformModel, -platformVersion (2.23.133.5.1.1, .4, .5), and
 * tcg-kp-PlatformAttributeCertificate (2.23.133.8.2); the attributes
 * swtpm_cert --type platform --tpm2 puts in a platform certificate.
 */
#define OID_PLATFORM_MANUFACTURER "2.23.133.5.1.1"
#define OID_PLATFORM_MODEL "2.23.133.5.1.4"
#define OID_PLATFORM_VERSION "2.23.133.5.1.5"
#define OID_PLATFORM_CERTIFICATE "2.23.133.8.2"
/* The platform a libvtpm TPM belongs to, as its platform certificate names it. */
#define PLATFORM_MANUFACTURER "libvtpm"
#define PLATFORM_MODEL "vTPM"
#define PLATFORM_VERSION PACKAGE_VERSION
/* Its certificate policy's user notice, as in the TCG credential profiles. */
#define EK_POLICY_NOTICE "TCG Trusted Platform Endorsement"
/* RFC 8017, A.1.1: EKs use the default public exponent (Part 2, 12.2.3.5). */
#define EK_RSA_EXPONENT 65537
/* SEC 1, 2.3.3: an uncompressed point is 0x04 || x || y. */
#define EC_POINT_UNCOMPRESSED 0x04

static EVP_PKEY *ek_pkey(const struct ek_public *pub)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *n = NULL, *e = NULL;
	uint8_t point[1 + 2 * EK_ECC_P256_BYTES];
	int ok;

	if (!bld)
		return NULL;
	if (pub->type == VTPM_EK_RSA2048) {
		n = BN_bin2bn(pub->n, EK_RSA2048_BYTES, NULL);
		e = BN_new();
		ok = n && e && BN_set_word(e, EK_RSA_EXPONENT) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) &&
		     OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
	} else {
		point[0] = EC_POINT_UNCOMPRESSED;
		memcpy(point + 1, pub->x, EK_ECC_P256_BYTES);
		memcpy(point + 1 + EK_ECC_P256_BYTES, pub->y, EK_ECC_P256_BYTES);
		ok = OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
		     OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
	}
	if (ok)
		params = OSSL_PARAM_BLD_to_param(bld);
	if (params)
		pctx = EVP_PKEY_CTX_new_from_name(NULL, pub->type == VTPM_EK_RSA2048 ? "RSA" : "EC", NULL);
	if (!pctx || EVP_PKEY_fromdata_init(pctx) <= 0 ||
	    EVP_PKEY_fromdata(pctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

static bool add_rdn(X509_NAME *dn, const char *oid, const char *value)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	bool ok = obj && X509_NAME_add_entry_by_OBJ(dn, obj, MBSTRING_UTF8,
						    (const unsigned char *)value, -1, -1, 0);

	ASN1_OBJECT_free(obj);
	return ok;
}

/*
 * The TPM (or for a platform certificate, the platform) as a
 * directoryName, each attribute its own RDN, in the profile's order.
 */
static int add_san(X509 *x, enum tcg_cert_type type, const struct tpm_identity *id)
{
	char manufacturer[16], version[16];
	GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	X509_NAME *dn = X509_NAME_new();
	int ok;

	snprintf(manufacturer, sizeof(manufacturer), "id:%08X", id->manufacturer);
	snprintf(version, sizeof(version), "id:%08X", id->firmware[0]);
	ok = names && gn && dn;
	if (ok && type == TCG_CERT_PLATFORM)
		ok = add_rdn(dn, OID_PLATFORM_MANUFACTURER, PLATFORM_MANUFACTURER) &&
		     add_rdn(dn, OID_PLATFORM_MODEL, PLATFORM_MODEL) &&
		     add_rdn(dn, OID_PLATFORM_VERSION, PLATFORM_VERSION);
	else if (ok)
		ok = add_rdn(dn, OID_TPM_MANUFACTURER, manufacturer) &&
		     add_rdn(dn, OID_TPM_MODEL, id->model) &&
		     add_rdn(dn, OID_TPM_VERSION, version);
	if (ok) {
		GENERAL_NAME_set0_value(gn, GEN_DIRNAME, dn);
		dn = NULL;
		ok = sk_GENERAL_NAME_push(names, gn) > 0;
		if (ok)
			gn = NULL;
	}
	/* Critical: the subject is empty (RFC 5280, 4.2.1.6). */
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, names, 1, X509V3_ADD_DEFAULT) == 1;
	X509_NAME_free(dn);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(names);
	return ok ? 0 : -ENOMEM;
}

/* anyPolicy with the TCG user notice (RFC 5280, 4.2.1.4). */
static int add_policy(X509 *x)
{
	CERTIFICATEPOLICIES *policies = sk_POLICYINFO_new_null();
	POLICYINFO *pi = POLICYINFO_new();
	POLICYQUALINFO *q = POLICYQUALINFO_new();
	int ok = policies && pi && q;

	if (ok) {
		pi->policyid = OBJ_nid2obj(NID_any_policy);
		q->pqualid = OBJ_nid2obj(NID_id_qt_unotice);
		q->d.usernotice = USERNOTICE_new();
		pi->qualifiers = sk_POLICYQUALINFO_new_null();
		ok = q->d.usernotice && pi->qualifiers &&
		     (q->d.usernotice->exptext = ASN1_UTF8STRING_new()) &&
		     ASN1_STRING_set(q->d.usernotice->exptext, EK_POLICY_NOTICE, -1) &&
		     sk_POLICYQUALINFO_push(pi->qualifiers, q) > 0;
		if (ok)
			q = NULL;
		ok = ok && sk_POLICYINFO_push(policies, pi) > 0;
		if (ok)
			pi = NULL;
	}
	ok = ok && X509_add1_ext_i2d(x, NID_certificate_policies, policies, 0, X509V3_ADD_DEFAULT) == 1;
	POLICYQUALINFO_free(q);
	POLICYINFO_free(pi);
	CERTIFICATEPOLICIES_free(policies);
	return ok ? 0 : -ENOMEM;
}

static int fill_cert(X509 *x, struct vtpm_ca *ca, EVP_PKEY *pkey, enum tcg_cert_type type,
		     const struct ek_public *pub, const struct tpm_identity *id)
{
	int r;

	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    !X509_set_pubkey(x, pkey))
		return -ENOMEM;
	r = vtpm_x509_set_serial(x);
	if (r == 0)
		r = vtpm_x509_set_validity(x);
	if (r == 0)
		r = add_san(x, type, id);
	if (r == 0)
		r = vtpm_x509_add_ext(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE");
	/* swtpm's platform certificates carry no policy. */
	if (r == 0 && type == TCG_CERT_EK)
		r = add_policy(x);
	if (r == 0)
		r = vtpm_x509_add_ext(x, ca->cert, NID_authority_key_identifier, "keyid:always");
	/* An EK decrypts (RSA) or agrees on keys (ECC); it never signs. */
	if (r == 0)
		r = vtpm_x509_add_ext(x, ca->cert, NID_key_usage,
				      pub->type == VTPM_EK_RSA2048 ? "critical,keyEncipherment" :
								     "critical,keyAgreement");
	if (r == 0)
		r = vtpm_x509_add_ext(x, ca->cert, NID_ext_key_usage,
				      type == TCG_CERT_PLATFORM ? OID_PLATFORM_CERTIFICATE :
								  OID_EK_CERTIFICATE);
	if (r < 0)
		return r;
	return X509_sign(x, ca->key, EVP_sha256()) > 0 ? 0 : -EIO;
}

int ek_cert_build(struct vtpm_ctx *ctx, struct vtpm_ca *ca, enum tcg_cert_type type,
		  const struct ek_public *pub, const struct tpm_identity *id, uint8_t **der,
		  size_t *der_len)
{
	EVP_PKEY *pkey = ek_pkey(pub);
	X509 *x = X509_new();
	unsigned char *out = NULL;
	int len = -1, r = -ENOMEM;

	if (pkey && x)
		r = fill_cert(x, ca, pkey, type, pub, id);
	if (r == 0)
		len = i2d_X509(x, &out);
	EVP_PKEY_free(pkey);
	X509_free(x);
	if (r < 0 || len <= 0) {
		err(ctx, "cannot build the %s certificate: %s",
		    type == TCG_CERT_PLATFORM ? "platform" : "EK", r == -EIO ?
		    "the CA key cannot sign" : "out of memory");
		return r < 0 ? r : -ENOMEM;
	}
	/* OpenSSL's allocation, handed over as the library's own. */
	*der = malloc((size_t)len);
	if (!*der) {
		OPENSSL_free(out);
		return -ENOMEM;
	}
	memcpy(*der, out, (size_t)len);
	OPENSSL_free(out);
	*der_len = (size_t)len;
	return 0;
}

int ek_cert_to_pem(const uint8_t *der, size_t der_len, uint8_t **pem, size_t *pem_len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	BIO *bio;
	char *data;
	long n;
	int r = -ENOMEM;

	if (!x || p != der + der_len) {
		X509_free(x);
		return -EBADMSG;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio && PEM_write_bio_X509(bio, x) && (n = BIO_get_mem_data(bio, &data)) > 0 &&
	    (*pem = malloc((size_t)n + 1))) {
		memcpy(*pem, data, (size_t)n);
		(*pem)[n] = 0;
		*pem_len = (size_t)n;
		r = 0;
	}
	BIO_free(bio);
	X509_free(x);
	return r;
}

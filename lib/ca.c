/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The CA that signs EK certificates: one the operator gives (PEM key and
 * certificate), or a local one kept in a directory and made on first use.
 *
 * The local CA is shared by every TPM of a host, so several manufactures
 * may meet an empty directory at once.  They serialise on a lock file;
 * the key (0600) and then the certificate appear by atomic rename, and a
 * reader takes the CA only when both are there, so nobody ever signs with
 * a key whose certificate was never written.
 */
#include "config.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ca-internal.h"
#include "manufacture-internal.h"
#include "vtpm-internal.h"

#define CA_KEY_FILE "ca-key.pem"
#define CA_CERT_FILE "ca-cert.pem"
#define CA_LOCK_FILE ".lock"
/* PEM files of a CA are a few kilobytes; refuse anything absurd. */
#define CA_FILE_MAX (64 * 1024)
/* RFC 5280, 4.1.2.2: serial numbers up to 20 octets, positive. */
#define SERIAL_BITS 159
/* RFC 5280, 4.1.2.5: "no well-defined expiration date". */
#define NOT_AFTER_FOREVER "99991231235959Z"

void vtpm_ca_free(struct vtpm_ca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

int vtpm_x509_set_serial(X509 *x)
{
	BIGNUM *bn = BN_new();
	int ok = bn && BN_rand(bn, SERIAL_BITS, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
		 BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));

	BN_free(bn);
	return ok ? 0 : -ENOMEM;
}

int vtpm_x509_set_validity(X509 *x)
{
	return X509_gmtime_adj(X509_getm_notBefore(x), 0) &&
	       ASN1_TIME_set_string(X509_getm_notAfter(x), NOT_AFTER_FOREVER) ? 0 : -ENOMEM;
}

int vtpm_x509_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return -ENOMEM;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

/* A new self-signed CA: ECDSA P-256, the name and extensions of RFC 5280 4.2.1. */
static int ca_generate(struct vtpm_ca *ca)
{
	X509_NAME *name;
	int r;

	ca->key = EVP_EC_gen("P-256");
	ca->cert = X509_new();
	if (!ca->key || !ca->cert)
		return -ENOMEM;
	name = X509_get_subject_name(ca->cert);
	if (!X509_set_version(ca->cert, X509_VERSION_3) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)"libvtpm", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)"libvtpm local EK CA", -1, -1, 0) ||
	    !X509_set_issuer_name(ca->cert, name) ||
	    !X509_set_pubkey(ca->cert, ca->key))
		return -ENOMEM;
	r = vtpm_x509_set_serial(ca->cert);
	if (r == 0)
		r = vtpm_x509_set_validity(ca->cert);
	if (r == 0)
		r = vtpm_x509_add_ext(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
	if (r == 0)
		r = vtpm_x509_add_ext(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign");
	if (r == 0)
		r = vtpm_x509_add_ext(ca->cert, ca->cert, NID_subject_key_identifier, "hash");
	if (r == 0)
		r = vtpm_x509_add_ext(ca->cert, ca->cert, NID_authority_key_identifier, "keyid:always");
	if (r < 0)
		return r;
	return X509_sign(ca->cert, ca->key, EVP_sha256()) > 0 ? 0 : -ENOMEM;
}

/* PEM text of the key (or, with @key NULL, of @cert) into a malloc()ed buffer. */
static int to_pem(EVP_PKEY *key, X509 *cert, char **out, size_t *len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int ok;

	if (!bio)
		return -ENOMEM;
	ok = key ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) :
		   PEM_write_bio_X509(bio, cert);
	n = BIO_get_mem_data(bio, &p);
	if (!ok || n <= 0 || !(*out = malloc((size_t)n))) {
		BIO_free(bio);
		return -ENOMEM;
	}
	memcpy(*out, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_cleanse(p, (size_t)n);
	BIO_free(bio);
	return 0;
}

static int ca_store(int dir_fd, struct vtpm_ca *ca)
{
	_cleanup_free_ char *key_pem = NULL, *cert_pem = NULL;
	size_t key_len = 0, cert_len = 0;
	int r;

	r = to_pem(ca->key, NULL, &key_pem, &key_len);
	if (r == 0)
		r = to_pem(NULL, ca->cert, &cert_pem, &cert_len);
	/* The key first: a certificate is only ever beside its key. */
	if (r == 0)
		r = vtpm_write_file_atomic_mode(dir_fd, CA_KEY_FILE, key_pem, key_len, 0600);
	if (key_pem)
		OPENSSL_cleanse(key_pem, key_len);
	if (r == 0)
		r = vtpm_write_file_atomic_mode(dir_fd, CA_CERT_FILE, cert_pem, cert_len, 0644);
	return r;
}

/* Read PEM from @dir_fd/@name: a key if @key, else a certificate. */
static int read_pem(struct vtpm_ctx *ctx, int dir_fd, const char *name, EVP_PKEY **key, X509 **cert)
{
	_cleanup_free_ uint8_t *data = NULL;
	size_t len = 0;
	BIO *bio;
	int r;

	r = vtpm_read_file(dir_fd, name, CA_FILE_MAX, &data, &len);
	if (r < 0)
		return r;
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return -ENOMEM;
	if (key)
		*key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	else
		*cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key)
		OPENSSL_cleanse(data, len);
	if (key ? !*key : !*cert) {
		err(ctx, "%s is not a PEM %s (an encrypted key is not supported)", name,
		    key ? "private key" : "certificate");
		return -EBADMSG;
	}
	return 0;
}

static int ca_check(struct vtpm_ctx *ctx, struct vtpm_ca *ca, const char *what)
{
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		err(ctx, "the CA key does not belong to the CA certificate %s", what);
		return -EKEYREJECTED;
	}
	if (X509_check_ca(ca->cert) == 0)
		warn(ctx, "the CA certificate %s is not marked as a CA", what);
	return 0;
}

static int ca_read(struct vtpm_ctx *ctx, int dir_fd, const char *key_name, const char *cert_name,
		   struct vtpm_ca *ca)
{
	int r = read_pem(ctx, dir_fd, key_name, &ca->key, NULL);

	if (r == 0)
		r = read_pem(ctx, dir_fd, cert_name, NULL, &ca->cert);
	if (r == 0)
		r = ca_check(ctx, ca, cert_name);
	return r;
}

int vtpm_ca_load(struct vtpm_ctx *ctx, const char *key_path, const char *cert_path,
		 struct vtpm_ca **out)
{
	struct vtpm_ca *ca = calloc(1, sizeof(*ca));
	int r;

	if (!ca)
		return -ENOMEM;
	r = ca_read(ctx, AT_FDCWD, key_path, cert_path, ca);
	if (r < 0) {
		if (r != -EBADMSG && r != -EKEYREJECTED)
			err(ctx, "cannot read the CA %s, %s: %s", key_path, cert_path, strerror(-r));
		vtpm_ca_free(ca);
		return r;
	}
	*out = ca;
	return 0;
}

int vtpm_ca_open_dir(struct vtpm_ctx *ctx, const char *dir, struct vtpm_ca **out)
{
	_cleanup_close_ int dir_fd = -1, lock_fd = -1;
	struct vtpm_ca *ca;
	int r;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0)
		return -errno;
	lock_fd = openat(dir_fd, CA_LOCK_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) < 0)
		return -errno;

	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return -ENOMEM;
	r = ca_read(ctx, dir_fd, CA_KEY_FILE, CA_CERT_FILE, ca);
	if (r == -ENOENT) {
		EVP_PKEY_free(ca->key);
		X509_free(ca->cert);
		*ca = (struct vtpm_ca){};
		/* Only an empty CA is made anew: half a CA is the operator's to fix. */
		if (faccessat(dir_fd, CA_KEY_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0 ||
		    faccessat(dir_fd, CA_CERT_FILE, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			err(ctx, "the CA in %s has only one of %s and %s", dir, CA_KEY_FILE, CA_CERT_FILE);
			r = -ENOENT;
		} else {
			info(ctx, "creating a local CA in %s", dir);
			r = ca_generate(ca);
			if (r == 0)
				r = ca_store(dir_fd, ca);
		}
	}
	if (r < 0) {
		vtpm_ca_free(ca);
		return r;
	}
	*out = ca;
	return 0;
}

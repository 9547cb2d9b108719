/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * OpenSSL's tables, built once in a process that forks TPMs.
 *
 * OpenSSL 3 builds its configuration, its error strings and, on the first
 * fetch of each algorithm, the provider's method tables on the heap: about
 * 150 kB per process that starts a TPM with libtpms.  Built in the manager
 * before it forks its instances, the pages stay shared with every child
 * that only reads them instead of being written once per TPM.  Random
 * generators are not touched: each process seeds its own after the fork.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "vtpm-internal.h"

static void md_seen(EVP_MD *md, void *arg) {}
static void cipher_seen(EVP_CIPHER *cipher, void *arg) {}
static void keymgmt_seen(EVP_KEYMGMT *keymgmt, void *arg) {}
static void signature_seen(EVP_SIGNATURE *signature, void *arg) {}
static void keyexch_seen(EVP_KEYEXCH *keyexch, void *arg) {}
static void asym_cipher_seen(EVP_ASYM_CIPHER *cipher, void *arg) {}
static void mac_seen(EVP_MAC *mac, void *arg) {}
static void kdf_seen(EVP_KDF *kdf, void *arg) {}

void vtpm_crypto_preload(struct vtpm_ctx *ctx)
{
	if (!OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG | OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
				 OPENSSL_INIT_ADD_ALL_CIPHERS | OPENSSL_INIT_ADD_ALL_DIGESTS, NULL)) {
		/* Each instance then initialises OpenSSL itself, as it would anyway. */
		dbg(ctx, "OpenSSL did not initialise ahead of the instances");
		return;
	}
	/* Walking every algorithm of every operation fetches and caches it. */
	EVP_MD_do_all_provided(NULL, md_seen, NULL);
	EVP_CIPHER_do_all_provided(NULL, cipher_seen, NULL);
	EVP_KEYMGMT_do_all_provided(NULL, keymgmt_seen, NULL);
	EVP_SIGNATURE_do_all_provided(NULL, signature_seen, NULL);
	EVP_KEYEXCH_do_all_provided(NULL, keyexch_seen, NULL);
	EVP_ASYM_CIPHER_do_all_provided(NULL, asym_cipher_seen, NULL);
	EVP_MAC_do_all_provided(NULL, mac_seen, NULL);
	EVP_KDF_do_all_provided(NULL, kdf_seen, NULL);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * swtpm's state blob framing and its encryption; the format is described in
 * swtpm-blob.h.  The cipher and the MAC are libcrypto's; only the framing
 * and swtpm's padding rule (to the key length, not to the AES block) are
 * written here, so that blobs move between swtpm and libvtpm unchanged.
 */
#include "config.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "state-dir.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"
#include "wire.h"

/* AES-CBC chains with one block of IV whatever the key length. */
#define AES_BLOCK_SIZE 16

int vtpm_swtpm_blob_check(const uint8_t *blob, size_t len, uint8_t *version, uint16_t *flags)
{
	/* The checks of swtpm's SWTPM_NVRAM_CheckHeader(). */
	if (len < SWTPM_BLOB_HEADER_SIZE || get_be32(blob + 6) != len ||
	    get_be16(blob + 2) != SWTPM_BLOB_HEADER_SIZE || blob[1] > SWTPM_BLOB_VERSION)
		return -EBADMSG;
	*version = blob[0];
	*flags = get_be16(blob + 4);
	return 0;
}

void vtpm_swtpm_blob_put_header(uint8_t *buf, uint16_t flags, size_t total)
{
	buf[0] = SWTPM_BLOB_VERSION;
	buf[1] = SWTPM_BLOB_MIN_VERSION;
	put_be16(buf + 2, SWTPM_BLOB_HEADER_SIZE);
	put_be16(buf + 4, flags);
	put_be32(buf + 6, (uint32_t)total);
}

int vtpm_swtpm_tlv_find(const uint8_t *buf, size_t len, uint16_t tag,
			const uint8_t **val, size_t *val_len)
{
	size_t off = 0;

	while (len - off >= SWTPM_TLV_HEADER_SIZE) {
		uint16_t t = get_be16(buf + off);
		uint32_t l = get_be32(buf + off + 2);

		off += SWTPM_TLV_HEADER_SIZE;
		if (l > len - off)
			return -EBADMSG;
		if (t == tag) {
			*val = buf + off;
			*val_len = l;
			return 0;
		}
		off += l;
	}
	return -ENOENT;
}

static uint8_t *put_record(uint8_t *p, uint16_t tag, const uint8_t *val, size_t len)
{
	put_be16(p, tag);
	put_be32(p + 2, (uint32_t)len);
	if (len)
		memcpy(p + SWTPM_TLV_HEADER_SIZE, val, len);
	return p + SWTPM_TLV_HEADER_SIZE + len;
}

static const EVP_CIPHER *cipher_for(size_t key_len)
{
	return key_len == SWTPM_AES256_KEY_SIZE ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
}

/* HMAC-SHA256 of @a then @b, keyed with @key (SWTPM_HMAC()). */
static int hmac(const struct vtpm_state_key *key, const uint8_t *a, size_t a_len,
		const uint8_t *b, size_t b_len, uint8_t md[SWTPM_HMAC_SIZE])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	size_t md_len = 0;
	int ok;

	ok = ctx && EVP_MAC_init(ctx, vtpm_state_key_bytes(key), vtpm_state_key_size(key), params) &&
	     EVP_MAC_update(ctx, a, a_len) && (!b_len || EVP_MAC_update(ctx, b, b_len)) &&
	     EVP_MAC_final(ctx, md, &md_len, SWTPM_HMAC_SIZE) && md_len == SWTPM_HMAC_SIZE;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

/* AES-CBC without libcrypto's padding: swtpm pads itself (see the header). */
static int cbc(const struct vtpm_state_key *key, bool encrypt, const uint8_t iv[AES_BLOCK_SIZE],
	       const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int n1 = 0, n2 = 0, ok;

	ok = ctx && len <= INT32_MAX &&
	     EVP_CipherInit_ex(ctx, cipher_for(vtpm_state_key_size(key)), NULL,
			       vtpm_state_key_bytes(key), iv, encrypt) == 1 &&
	     EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	     EVP_CipherUpdate(ctx, out, &n1, in, (int)len) == 1 &&
	     EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1 && (size_t)n1 + (size_t)n2 == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -EIO;
}

static int seal(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
		uint8_t **out, size_t *out_len)
{
	size_t key_len = vtpm_state_key_size(key);
	size_t pad = key_len - len % key_len, ct_len = len + pad;
	size_t total = 3 * SWTPM_TLV_HEADER_SIZE + ct_len + SWTPM_HMAC_SIZE + key_len;
	uint8_t iv[SWTPM_AES256_KEY_SIZE], md[SWTPM_HMAC_SIZE];
	_cleanup_free_ uint8_t *padded = NULL, *ct = NULL;
	uint8_t *buf, *p;
	int r;

	padded = malloc(ct_len);
	ct = malloc(ct_len);
	if (!padded || !ct)
		return -ENOMEM;
	if (RAND_bytes(iv, (int)key_len) != 1)
		return -EIO;
	memcpy(padded, data, len);
	memset(padded + len, (int)pad, pad);
	r = cbc(key, true, iv, padded, ct_len, ct);
	OPENSSL_cleanse(padded, ct_len);
	if (r == 0)
		r = hmac(key, ct, ct_len, iv, key_len, md);
	if (r < 0)
		return r;

	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	/* The order swtpm writes them in. */
	p = put_record(buf, SWTPM_TAG_ENCRYPTED_DATA, ct, ct_len);
	p = put_record(p, SWTPM_TAG_HMAC, md, sizeof(md));
	put_record(p, SWTPM_TAG_IVEC_ENCRYPTED_DATA, iv, key_len);
	*out = buf;
	*out_len = total;
	return 0;
}

int vtpm_swtpm_records_seal(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
			    uint8_t **out, size_t *out_len, uint16_t *flags)
{
	uint8_t *buf;

	if (len > VTPM_STATE_FILE_MAX)
		return -EFBIG;
	if (key) {
		*flags = SWTPM_BLOB_FLAG_ENCRYPTED;
		if (vtpm_state_key_size(key) == SWTPM_AES256_KEY_SIZE)
			*flags |= SWTPM_BLOB_FLAG_ENCRYPTED_256BIT_KEY;
		return seal(key, data, len, out, out_len);
	}
	buf = malloc(SWTPM_TLV_HEADER_SIZE + len);
	if (!buf)
		return -ENOMEM;
	put_record(buf, SWTPM_TAG_DATA, data, len);
	*flags = 0;
	*out = buf;
	*out_len = SWTPM_TLV_HEADER_SIZE + len;
	return 0;
}

static int copy_out(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	*out = copy;
	*out_len = len;
	return 0;
}

/* Mirrors SWTPM_NVRAM_DecryptData() for header version 2 and the state key. */
static int unseal(const struct vtpm_state_key *key, uint16_t flags, const uint8_t *records,
		  size_t len, uint8_t **out, size_t *out_len)
{
	size_t key_len = vtpm_state_key_size(key), ct_len, mac_len, iv_len = 0, pad;
	size_t want = flags & SWTPM_BLOB_FLAG_ENCRYPTED_256BIT_KEY ? SWTPM_AES256_KEY_SIZE :
								      SWTPM_AES128_KEY_SIZE;
	const uint8_t *ct, *mac, *iv = NULL;
	uint8_t iv_block[AES_BLOCK_SIZE] = { 0 }, md[SWTPM_HMAC_SIZE];
	uint8_t *plain;
	int r;

	if (key_len != want)
		return -EKEYREJECTED;
	if (vtpm_swtpm_tlv_find(records, len, SWTPM_TAG_HMAC, &mac, &mac_len) < 0 ||
	    vtpm_swtpm_tlv_find(records, len, SWTPM_TAG_ENCRYPTED_DATA, &ct, &ct_len) < 0 ||
	    mac_len < SWTPM_HMAC_SIZE)
		return -EBADMSG;
	/* No IV record: an old swtpm used a zero IV and left it out of the HMAC. */
	r = vtpm_swtpm_tlv_find(records, len, SWTPM_TAG_IVEC_ENCRYPTED_DATA, &iv, &iv_len);
	if (r == -EBADMSG || (r == 0 && iv_len < AES_BLOCK_SIZE))
		return -EBADMSG;
	if (r == 0)
		memcpy(iv_block, iv, AES_BLOCK_SIZE);
	else
		iv_len = 0;

	r = hmac(key, ct, ct_len, iv, iv_len, md);
	if (r < 0)
		return r;
	if (CRYPTO_memcmp(md, mac, SWTPM_HMAC_SIZE) != 0)
		return -EKEYREJECTED;
	/* Authentic from here: what follows catches a writer's bugs, not an attacker. */
	if (ct_len < key_len || ct_len % AES_BLOCK_SIZE)
		return -EBADMSG;
	plain = malloc(ct_len);
	if (!plain)
		return -ENOMEM;
	r = cbc(key, false, iv_block, ct, ct_len, plain);
	pad = r == 0 ? plain[ct_len - 1] : 0;
	if (r == 0 && (pad == 0 || pad > key_len))
		r = -EBADMSG;
	for (size_t i = ct_len - pad; r == 0 && i < ct_len; i++)
		if (plain[i] != pad)
			r = -EBADMSG;
	if (r < 0) {
		OPENSSL_cleanse(plain, ct_len);
		free(plain);
		return r;
	}
	*out = plain;
	*out_len = ct_len - pad;
	return 0;
}

int vtpm_swtpm_records_open(const struct vtpm_state_key *key, uint16_t flags,
			    const uint8_t *records, size_t len, uint8_t **out, size_t *out_len)
{
	const uint8_t *data;
	size_t data_len;
	int r;

	if (flags & SWTPM_BLOB_FLAG_ENCRYPTED) {
		if (!key)
			return -ENOKEY;
		return unseal(key, flags, records, len, out, out_len);
	}
	if (key)
		return -EMEDIUMTYPE;
	r = vtpm_swtpm_tlv_find(records, len, SWTPM_TAG_DATA, &data, &data_len);
	if (r < 0)
		return -EBADMSG;
	return copy_out(data, data_len, out, out_len);
}

int vtpm_swtpm_file_encode(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
			   uint8_t **file, size_t *file_len)
{
	_cleanup_free_ uint8_t *records = NULL;
	size_t records_len = 0;
	uint16_t flags = 0;
	uint8_t *buf;
	int r;

	r = vtpm_swtpm_records_seal(key, data, len, &records, &records_len, &flags);
	if (r < 0)
		return r;
	buf = malloc(SWTPM_BLOB_HEADER_SIZE + records_len);
	if (!buf) {
		OPENSSL_cleanse(records, records_len);
		return -ENOMEM;
	}
	vtpm_swtpm_blob_put_header(buf, flags, SWTPM_BLOB_HEADER_SIZE + records_len);
	memcpy(buf + SWTPM_BLOB_HEADER_SIZE, records, records_len);
	OPENSSL_cleanse(records, records_len);
	*file = buf;
	*file_len = SWTPM_BLOB_HEADER_SIZE + records_len;
	return 0;
}

int vtpm_swtpm_file_decode(const struct vtpm_state_key *key, const uint8_t *file, size_t file_len,
			   uint8_t **data, size_t *len)
{
	uint8_t version;
	uint16_t flags;
	int r;

	r = vtpm_swtpm_blob_check(file, file_len, &version, &flags);
	if (r < 0)
		return r;
	/* Version 1 (a hash instead of an HMAC) and migration keys: not written by swtpm today. */
	if (version < SWTPM_BLOB_VERSION || (flags & SWTPM_BLOB_FLAG_MIGRATION_ENCRYPTED))
		return -ENOTSUP;
	return vtpm_swtpm_records_open(key, flags, file + SWTPM_BLOB_HEADER_SIZE,
				       file_len - SWTPM_BLOB_HEADER_SIZE, data, len);
}

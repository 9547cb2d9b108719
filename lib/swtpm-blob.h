/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * swtpm's framing of a TPM state blob, in its state files and on its control
 * channel, plain or encrypted with a state key (swtpm src/swtpm/
 * swtpm_nvstore.c, tlv.h, swtpm_aes.c).  All integers are big-endian.
 *
 *	header	version u8 (2), min_version u8 (1), hdrsize be16 (10),
 *		flags be16 (SWTPM_BLOB_FLAG_*), totlen be32 (whole blob)
 *	records	tag be16, length be32, value; in any order, first one counts
 *
 * Plain, the state bytes are the value of a TAG_DATA record.  Encrypted
 * (flag ENCRYPTED, plus ENCRYPTED_256BIT_KEY for a 32-byte key), three
 * records replace it:
 *	TAG_ENCRYPTED_DATA	AES-CBC of the bytes, with the key, the first
 *				16 bytes of the IV, and padding to a multiple
 *				of the key length (each pad byte holds the pad
 *				length, 1..key length; a whole block if aligned)
 *	TAG_HMAC		HMAC-SHA256, keyed with the same key, of the
 *				ciphertext followed by the whole IV record
 *	TAG_IVEC_ENCRYPTED_DATA	random IV as long as the key
 * A control-channel blob has flag MIGRATION_DATA and wraps those records in
 * one TAG_MIGRATION_DATA record.  The header stays in clear text.
 */
#ifndef VTPM_SWTPM_BLOB_H
#define VTPM_SWTPM_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vtpm_state_key;

#define SWTPM_BLOB_HEADER_SIZE 10
#define SWTPM_BLOB_VERSION 2
#define SWTPM_BLOB_MIN_VERSION 1

/* swtpm_nvstore.c: flags of the blob header. */
#define SWTPM_BLOB_FLAG_ENCRYPTED 0x01
#define SWTPM_BLOB_FLAG_MIGRATION_ENCRYPTED 0x02
#define SWTPM_BLOB_FLAG_MIGRATION_DATA 0x04
#define SWTPM_BLOB_FLAG_ENCRYPTED_256BIT_KEY 0x08
#define SWTPM_BLOB_FLAG_MIGRATION_256BIT_KEY 0x10

/* tlv.h: record header and tags. */
#define SWTPM_TLV_HEADER_SIZE 6
#define SWTPM_TAG_DATA 1
#define SWTPM_TAG_ENCRYPTED_DATA 2
#define SWTPM_TAG_HMAC 3
#define SWTPM_TAG_MIGRATION_DATA 4
#define SWTPM_TAG_ENCRYPTED_MIGRATION_DATA 5
#define SWTPM_TAG_IVEC_ENCRYPTED_DATA 6
#define SWTPM_TAG_IVEC_ENCRYPTED_MIGRATION_DATA 7

/* Key sizes swtpm knows (swtpm_aes.h), and the HMAC's. */
#define SWTPM_AES128_KEY_SIZE 16
#define SWTPM_AES256_KEY_SIZE 32
#define SWTPM_HMAC_SIZE 32

/*
 * Check a blob's header against its length: -EBADMSG if it is not one, or
 * needs a newer format.  Gives the header version and flags.
 */
int vtpm_swtpm_blob_check(const uint8_t *blob, size_t len, uint8_t *version, uint16_t *flags);

/* Write a header for a blob of @total bytes (the caller checked it fits 32 bits). */
void vtpm_swtpm_blob_put_header(uint8_t *buf, uint16_t flags, size_t total);

/*
 * The value of the first record tagged @tag in @buf, pointing into it.
 * -ENOENT if there is none before the records end; -EBADMSG if a record
 * runs past @len.
 */
int vtpm_swtpm_tlv_find(const uint8_t *buf, size_t len, uint16_t tag,
			const uint8_t **val, size_t *val_len);

/*
 * The records that carry @len state bytes: one TAG_DATA record without a
 * key, the three encrypted records with one.  @out is malloc()ed; *@flags
 * gets the header flags they need (ENCRYPTED, ENCRYPTED_256BIT_KEY).
 * Returns 0; -EFBIG beyond 16 MiB; -ENOMEM; -EIO if libcrypto fails.
 */
int vtpm_swtpm_records_seal(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
			    uint8_t **out, size_t *out_len, uint16_t *flags);

/*
 * The state bytes from records made by vtpm_swtpm_records_seal(), checked
 * and decrypted when @flags say ENCRYPTED; @out is malloc()ed (wiped and
 * freed by the caller).  Returns 0; -ENOKEY for encrypted records without a
 * key; -EKEYREJECTED when the key does not open them (other length, HMAC
 * mismatch: a wrong key or damaged ciphertext); -EMEDIUMTYPE for plain
 * records when a key is given (swtpm refuses them too: nobody may swap
 * chosen state in); -EBADMSG for missing or malformed records; -ENOMEM;
 * -EIO if libcrypto fails.
 */
int vtpm_swtpm_records_open(const struct vtpm_state_key *key, uint16_t flags,
			    const uint8_t *records, size_t len, uint8_t **out, size_t *out_len);

/* A state file of a state directory: header and records. */
int vtpm_swtpm_file_encode(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
			   uint8_t **file, size_t *file_len);
int vtpm_swtpm_file_decode(const struct vtpm_state_key *key, const uint8_t *file, size_t file_len,
			   uint8_t **data, size_t *len);

/* The key's bytes, for this file and the control channel's config. */
size_t vtpm_state_key_size(const struct vtpm_state_key *key);
const uint8_t *vtpm_state_key_bytes(const struct vtpm_state_key *key);

#endif

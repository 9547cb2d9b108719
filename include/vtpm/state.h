/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TPM's state as one object and one file: the permanent blob plus, when
 * present, the volatile and savestate blobs, for export, backup and
 * migration between hosts and between backends.
 *
 * The file ("libvtpm state file", format 1; all integers big-endian):
 *	 0  8  magic "VTPMSTAT"
 *	 8  4  format version, 1
 *	12  4  TPM family: 1 (TPM 1.2) or 2 (TPM 2)
 *	16  4  number of blobs N, 1..3
 *	20  4  flags: 0, or 1 when the blobs are encrypted (readers that
 *	       know no flags refuse the file)
 *	24 8N  per blob: type (enum vtpm_state_type), length (> 0)
 *	   ..  the blobs' bytes, in table order
 *	end 4  CRC-32C (Castagnoli) of everything before it
 * The blobs are the TPM's own bytes, as vtpm_backend_get_state() gives
 * them; encrypted (flag 1), each is a state file of swtpm's format
 * encrypted with a struct vtpm_state_key, as "swtpm --key" writes
 * "tpm2-00.permall".  The checksum detects damage, not tampering: protect
 * a plain file like the TPM's secrets it holds (it is written with mode
 * 0600); the HMAC of an encrypted one detects tampering too.
 *
 * Thread safety: as for every libvtpm object (see ctx.h).
 */
#ifndef VTPM_STATE_H
#define VTPM_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <vtpm/backend.h>
#include <vtpm/ctrl.h>
#include <vtpm/ctx.h>
#include <vtpm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** VTPM_STATE_FORMAT_VERSION - the state file format this library writes and reads. */
#define VTPM_STATE_FORMAT_VERSION 1

struct vtpm_state;

/**
 * struct vtpm_state_key - the AES key that encrypts state at rest
 *
 * State encrypted with it is in swtpm's format (swtpm --key): AES-CBC
 * with a random IV, and an HMAC-SHA256 keyed with the same key over the
 * ciphertext and IV, so a state directory moves between swtpm and libvtpm
 * in both directions.  The key object wipes its bytes when freed.
 */
struct vtpm_state_key;

/**
 * vtpm_state_key_new - a state key from its bytes
 * @bytes: 16 bytes (AES-128-CBC) or 32 bytes (AES-256-CBC); copied, so
 *	the caller wipes its own copy
 * Returns: 0; -EINVAL for another length; -ENOMEM.
 */
int vtpm_state_key_new(struct vtpm_ctx *ctx, const uint8_t *bytes, size_t len,
		       struct vtpm_state_key **key);

/**
 * vtpm_state_key_new_from_options - a state key from swtpm's --key syntax
 * @options: "file=PATH" or "fd=N" for a key file (format=hex, the default:
 *	32 or 64 hex digits, "0x" allowed; format=binary: the raw bytes), or
 *	"pwdfile=PATH" or "pwdfd=N" for a passphrase file (the whole file,
 *	a final newline included; kdf=pbkdf2, the default: PBKDF2-HMAC-SHA512
 *	with salt "swtpm" and 1000 iterations; kdf=sha512: SHA-512 of it),
 *	with ",mode=aes-128-cbc" (the default; "aes-cbc" is the same) or
 *	",mode=aes-256-cbc" for the key size, and ",remove=true" to delete
 *	the file once read.  A descriptor is read to its end and left open.
 *
 * The same options give the same key as swtpm's.
 * Returns: 0; -EINVAL for bad options (logged); -EBADMSG for a key file
 * that holds no key of the mode's size; -EFBIG for a key file over 67
 * bytes or a passphrase file over 64 KiB; -ENOMEM; -EIO if libcrypto
 * fails; or a negative errno from opening or reading the file.  Nothing
 * logged contains key material.
 */
int vtpm_state_key_new_from_options(struct vtpm_ctx *ctx, const char *options,
				    struct vtpm_state_key **key);

/** vtpm_state_key_ref - take a reference; returns @key. */
struct vtpm_state_key *vtpm_state_key_ref(struct vtpm_state_key *key);

/** vtpm_state_key_unref - drop a reference; the last one wipes and frees the key.  Returns NULL. */
struct vtpm_state_key *vtpm_state_key_unref(struct vtpm_state_key *key);

/** vtpm_state_key_get_bits - the key size: 128 or 256. */
unsigned int vtpm_state_key_get_bits(const struct vtpm_state_key *key);

/**
 * vtpm_state_new - an empty state for a TPM family
 * Returns: 0; -EINVAL for an unknown @version; -ENOMEM.
 */
int vtpm_state_new(struct vtpm_ctx *ctx, enum vtpm_version version, struct vtpm_state **state);

/** vtpm_state_ref - take a reference; returns @state. */
struct vtpm_state *vtpm_state_ref(struct vtpm_state *state);

/** vtpm_state_unref - drop a reference, freeing with the last one.  Returns NULL. */
struct vtpm_state *vtpm_state_unref(struct vtpm_state *state);

/** vtpm_state_get_version - the TPM family the state belongs to. */
enum vtpm_version vtpm_state_get_version(const struct vtpm_state *state);

/**
 * vtpm_state_set_blob - store a copy of one blob; @len 0 removes it
 * Returns: 0; -EINVAL for an unknown @type; -EFBIG beyond 16 MiB; -ENOMEM.
 */
int vtpm_state_set_blob(struct vtpm_state *state, enum vtpm_state_type type,
			const uint8_t *data, size_t len);

/**
 * vtpm_state_get_blob - look at one blob; @data stays owned by @state and
 * valid until the blob is replaced or @state freed
 * Returns: 0; -ENOENT if absent; -EINVAL for an unknown @type.
 */
int vtpm_state_get_blob(const struct vtpm_state *state, enum vtpm_state_type type,
			const uint8_t **data, size_t *len);

/**
 * vtpm_state_write_file - write the state file at @path atomically (a
 * temporary file in the same directory renamed over @path, both synced),
 * with mode 0600
 * Returns: 0; -EINVAL without a permanent blob; or a negative errno from
 * creating, writing, syncing or renaming the file.
 */
int vtpm_state_write_file(const struct vtpm_state *state, const char *path);

/**
 * vtpm_state_write_file_with_key - vtpm_state_write_file(), the blobs
 * encrypted with @key (plain when @key is NULL)
 * Returns: as vtpm_state_write_file(), and -EIO if libcrypto fails.
 */
int vtpm_state_write_file_with_key(const struct vtpm_state *state, const char *path,
				   const struct vtpm_state_key *key);

/**
 * vtpm_state_read_file - read and check a state file
 * @state: on success, a new state with a reference count of one
 * Returns: 0; -EBADMSG for a file that is not a state file, or is truncated
 * or damaged (bad checksum, inconsistent lengths); -EPROTONOSUPPORT for a
 * format version this library does not know; -EFBIG for a file over
 * 16 MiB; -ENOMEM; or a negative errno from opening or reading it.
 * Each failure is also logged with the reason.
 */
int vtpm_state_read_file(struct vtpm_ctx *ctx, const char *path, struct vtpm_state **state);

/**
 * vtpm_state_read_file_with_key - vtpm_state_read_file() for a file that
 * may be encrypted: an encrypted one is opened with @key, a plain one is
 * read as it is
 * Returns: as vtpm_state_read_file(), and -ENOKEY for an encrypted file
 * when @key is NULL (vtpm_state_read_file() says the same);
 * -EKEYREJECTED if @key does not open it (a wrong key, the other key size,
 * or tampering).
 */
int vtpm_state_read_file_with_key(struct vtpm_ctx *ctx, const char *path,
				  const struct vtpm_state_key *key, struct vtpm_state **state);

/**
 * vtpm_state_from_backend - export a backend's state: the permanent blob
 * (required), and the volatile and savestate blobs when they exist
 * Returns: 0; the error of vtpm_backend_get_state() for the permanent blob
 * or any error other than -ENOENT for the others; -ENOMEM.
 */
int vtpm_state_from_backend(struct vtpm_backend *backend, struct vtpm_state **state);

/**
 * vtpm_state_to_backend - import into a backend that is powered off; the
 * next vtpm_backend_start() uses it (a volatile blob is resumed once)
 * Returns: 0; -EINVAL if the TPM families differ; -EBUSY while it runs; or
 * the error of vtpm_backend_set_state().
 */
int vtpm_state_to_backend(const struct vtpm_state *state, struct vtpm_backend *backend);

/**
 * vtpm_state_from_ctrl_client - export through a control channel (the TPM
 * keeps running; swtpm hands out state only while it runs)
 * @client: the channel; the state belongs to its context
 * @version: the TPM family behind the channel, or 0 to ask it (CMD_GET_INFO)
 * Returns: 0; -EINVAL for a NULL @client or @state; -EPROTO if @version is
 * 0 and the answer does not tell; or an error of vtpm_ctrl_client_get_info()
 * and vtpm_ctrl_client_get_state().
 *
 * Since LIBVTPM_3.
 */
int vtpm_state_from_ctrl_client(struct vtpm_ctrl_client *client, enum vtpm_version version,
				struct vtpm_state **state);

/**
 * vtpm_state_from_ctrl - vtpm_state_from_ctrl_client(), the state
 * belonging to @ctx
 *
 * Deprecated: use vtpm_state_from_ctrl_client(), which takes the context
 * from @client.  Returns as vtpm_state_from_ctrl_client().
 */
int vtpm_state_from_ctrl(struct vtpm_ctx *ctx, struct vtpm_ctrl_client *client,
			 enum vtpm_version version, struct vtpm_state **state);

/**
 * vtpm_state_to_ctrl - import through a control channel: CMD_STOP, one
 * CMD_SET_STATEBLOB per blob, then CMD_INIT, so the TPM runs on the
 * imported state (a volatile blob resumes the TPM where it was exported).
 * Returns: 0, or an error of the vtpm_ctrl_client_*() calls.
 */
int vtpm_state_to_ctrl(const struct vtpm_state *state, struct vtpm_ctrl_client *client);

/**
 * vtpm_state_check - whether a TPM starts on @state: it is loaded into a
 * scratch libtpms TPM (in a temporary directory under $TMPDIR or /tmp,
 * removed afterwards) and started up as vtpm_backend_startup() does
 * @tpm_rc: if not NULL, the TPM return code of a failed start-up, or 0
 *
 * Returns: 0; -EIO if libtpms refuses the state (damaged content, even
 * under a valid file checksum, or from an incompatible version); -EPROTO
 * if the TPM fails its start-up on it; -EBUSY if this process already runs
 * a libtpms TPM; or a negative errno from the temporary directory.
 */
int vtpm_state_check(const struct vtpm_state *state, uint32_t *tpm_rc);

/**
 * vtpm_state_import_backend - replace the state of a backend that is off,
 * keeping the old one unless the TPM starts up on the new one
 * @tpm_rc: as for vtpm_state_check()
 *
 * The old blobs are read first; the new ones are stored and the TPM is
 * powered on (vtpm_backend_start(), not started up, so the permanent blob
 * stays as imported) and off again, which saves a volatile blob.  If the
 * power-on fails, the old blobs are stored back; blobs the old state
 * lacked are not removed then.  Check the state first with
 * vtpm_state_check() where a start-up failure matters.
 *
 * Returns: 0; -EINVAL if the TPM families differ (nothing is changed);
 * -EBUSY while the backend runs; the error of vtpm_backend_start() (-EIO:
 * libtpms refuses the state) after the old state was restored; or another
 * negative errno.
 */
int vtpm_state_import_backend(const struct vtpm_state *state, struct vtpm_backend *backend,
			      uint32_t *tpm_rc);

/**
 * vtpm_state_import_dir - import @state into the state directory of a TPM
 * that is not running, as "vtpmctl state import --state-dir" does
 *
 * @key: NULL for plain state files, or the key the directory's state is
 *	encrypted with (see struct vtpm_libtpms_options)
 *
 * Refuses a directory that holds the other family's TPM, then checks the
 * state with vtpm_state_check() before the directory is touched, then
 * opens the directory as vtpm_backend_new_libtpms_opts() does (its present
 * state must open with @key) and imports with vtpm_state_import_backend().
 * The process must not run a libtpms TPM.
 *
 * Returns: 0; -EINVAL for a directory of the other TPM family; the errors
 * of vtpm_state_check(), vtpm_backend_new_libtpms_opts() (-ENOKEY,
 * -EKEYREJECTED, ...) and vtpm_state_import_backend() (-EBUSY also when
 * the directory is in use).
 */
int vtpm_state_import_dir(const struct vtpm_state *state, const char *state_dir,
			  struct vtpm_state_key *key, uint32_t *tpm_rc);

/**
 * vtpm_state_import_ctrl - import through a control channel without
 * risking the TPM's identity
 *
 * Asks the TPM's family (CMD_GET_INFO) and refuses another one; checks the
 * state with vtpm_state_check() in this process; exports the running
 * TPM's current state; then imports as vtpm_state_to_ctrl() does, and if
 * the TPM refuses the new state, imports the old one again.
 *
 * Returns: 0; -EINVAL if the families differ; the errors of
 * vtpm_state_check(); an error of exporting the current state (the TPM
 * must be running); or of vtpm_state_to_ctrl() (-EIO: the TPM refused the
 * state and runs on its previous one again).
 */
int vtpm_state_import_ctrl(const struct vtpm_state *state, struct vtpm_ctrl_client *client,
			   uint32_t *tpm_rc);

#ifdef __cplusplus
}
#endif

#endif

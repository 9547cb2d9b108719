/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TPM state directory in swtpm's layout: one file per state blob, named
 * "tpm2-00.<blob>" (TPM 2) or "tpm-00.<blob>" (TPM 1.2), each a blob header
 * followed by tag-length-value records (plain or encrypted, see
 * swtpm-blob.h), and a ".lock" file.  Sharing the
 * layout lets a state directory move between swtpm and libvtpm.
 */
#ifndef VTPM_STATE_DIR_H
#define VTPM_STATE_DIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtpm/device.h>

/* libtpms' blob names (libtpms/tpm_nvfilename.h). */
#define VTPM_BLOB_PERMANENT "permall"
#define VTPM_BLOB_VOLATILE "volatilestate"
#define VTPM_BLOB_SAVESTATE "savestate"

/* Largest state file accepted: TPM 2 permanent state is about 130 KiB. */
#define VTPM_STATE_FILE_MAX (16u << 20)

struct vtpm_ctx;
struct vtpm_state_dir;
struct vtpm_state_key;

int vtpm_state_dir_open(struct vtpm_ctx *ctx, const char *path, enum vtpm_version version,
			struct vtpm_state_dir **sd);
void vtpm_state_dir_free(struct vtpm_state_dir *sd);

/* Take the directory's lock (-EBUSY if another owner has it) and remove
 * temporary files a crash may have left. */
int vtpm_state_dir_lock(struct vtpm_state_dir *sd);
void vtpm_state_dir_unlock(struct vtpm_state_dir *sd);
bool vtpm_state_dir_is_locked(const struct vtpm_state_dir *sd);

/*
 * Encrypt what is stored with @key and expect what is loaded to be
 * encrypted with it (NULL: plain state); takes a reference.
 */
void vtpm_state_dir_set_key(struct vtpm_state_dir *sd, struct vtpm_state_key *key);

/*
 * Load a blob, decrypted; @data is malloc()ed.  -ENOENT if absent; the
 * errors of vtpm_swtpm_file_decode() (swtpm-blob.h), each logged.
 */
int vtpm_state_dir_load(struct vtpm_state_dir *sd, const char *blob, uint8_t **data, size_t *len);
int vtpm_state_dir_store(struct vtpm_state_dir *sd, const char *blob, const uint8_t *data, size_t len);
/* -ENOENT if absent. */
int vtpm_state_dir_remove(struct vtpm_state_dir *sd, const char *blob);

/*
 * Load every blob that exists and drop it: whether the state opens with
 * the key given (or none), before anything depends on it.  0, or the
 * first error of vtpm_state_dir_load().
 */
int vtpm_state_dir_check(struct vtpm_state_dir *sd);

#endif

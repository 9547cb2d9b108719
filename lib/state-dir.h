/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A TPM state directory in swtpm's layout: one file per state blob, named
 * "tpm2-00.<blob>" (TPM 2) or "tpm-00.<blob>" (TPM 1.2), each a blob header
 * followed by tag-length-value records, and a ".lock" file.  Sharing the
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

int vtpm_state_dir_open(struct vtpm_ctx *ctx, const char *path, enum vtpm_version version,
			struct vtpm_state_dir **sd);
void vtpm_state_dir_free(struct vtpm_state_dir *sd);

/* Take the directory's lock (-EBUSY if another owner has it) and remove
 * temporary files a crash may have left. */
int vtpm_state_dir_lock(struct vtpm_state_dir *sd);
void vtpm_state_dir_unlock(struct vtpm_state_dir *sd);
bool vtpm_state_dir_is_locked(const struct vtpm_state_dir *sd);

/* -ENOENT if absent; -EBADMSG if not a blob file; -ENOTSUP if encrypted. */
int vtpm_state_dir_load(struct vtpm_state_dir *sd, const char *blob, uint8_t **data, size_t *len);
int vtpm_state_dir_store(struct vtpm_state_dir *sd, const char *blob, const uint8_t *data, size_t len);
/* -ENOENT if absent. */
int vtpm_state_dir_remove(struct vtpm_state_dir *sd, const char *blob);

/* Blob file framing, exposed for tests and the state-file tools. */
int vtpm_blob_decode(const uint8_t *file, size_t file_len, const uint8_t **data, size_t *len);
int vtpm_blob_encode(const uint8_t *data, size_t len, uint8_t **file, size_t *file_len);

#endif

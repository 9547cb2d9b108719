/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * swtpm's control channel protocol on a stream socket, shared by our control
 * endpoint (ctrl.c) and our client of it (ctrl-client.c, backend-swtpm.c).
 *
 * Source of every fact here: swtpm's include/swtpm/tpm_ioctl.h (the CMD_*
 * numbers and the ptm_* request/response structs), src/swtpm/ctrlchannel.c
 * (how a socket server frames them) and src/swtpm/swtpm_nvstore.c (the blob
 * format of CMD_GET_STATEBLOB / CMD_SET_STATEBLOB).
 *
 * On a socket a request is the command code (be32) followed by the "req"
 * half of the command's struct; the response is the "resp" half alone.  All
 * integers are big-endian; the layouts below are byte offsets, not C structs.
 * Unlike the CUSE ioctl interface, a state blob travels in one go: the
 * GET_STATEBLOB response header is followed by the whole blob (from the
 * requested offset), and a SET_STATEBLOB request header is followed by
 * exactly "length" blob bytes.
 */
#ifndef VTPM_CTRL_PROTO_H
#define VTPM_CTRL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vtpm_state_key;

/* tpm_ioctl.h: "Commands used by the non-CUSE TPMs". */
#define PTM_CMD_GET_CAPABILITY 0x01
#define PTM_CMD_INIT 0x02
#define PTM_CMD_SHUTDOWN 0x03
#define PTM_CMD_GET_TPMESTABLISHED 0x04
#define PTM_CMD_SET_LOCALITY 0x05
#define PTM_CMD_HASH_START 0x06
#define PTM_CMD_HASH_DATA 0x07
#define PTM_CMD_HASH_END 0x08
#define PTM_CMD_CANCEL_TPM_CMD 0x09
#define PTM_CMD_STORE_VOLATILE 0x0a
#define PTM_CMD_RESET_TPMESTABLISHED 0x0b
#define PTM_CMD_GET_STATEBLOB 0x0c
#define PTM_CMD_SET_STATEBLOB 0x0d
#define PTM_CMD_STOP 0x0e
#define PTM_CMD_GET_CONFIG 0x0f
#define PTM_CMD_SET_DATAFD 0x10
#define PTM_CMD_SET_BUFFERSIZE 0x11
#define PTM_CMD_GET_INFO 0x12
#define PTM_CMD_LOCK_STORAGE 0x13

/* tpm_ioctl.h: capability bits of PTM_GET_CAPABILITY. */
#define PTM_CAP_INIT (1u << 0)
#define PTM_CAP_SHUTDOWN (1u << 1)
#define PTM_CAP_GET_TPMESTABLISHED (1u << 2)
#define PTM_CAP_SET_LOCALITY (1u << 3)
#define PTM_CAP_HASHING (1u << 4)
#define PTM_CAP_CANCEL_TPM_CMD (1u << 5)
#define PTM_CAP_STORE_VOLATILE (1u << 6)
#define PTM_CAP_RESET_TPMESTABLISHED (1u << 7)
#define PTM_CAP_GET_STATEBLOB (1u << 8)
#define PTM_CAP_SET_STATEBLOB (1u << 9)
#define PTM_CAP_STOP (1u << 10)
#define PTM_CAP_GET_CONFIG (1u << 11)
#define PTM_CAP_SET_DATAFD (1u << 12)
#define PTM_CAP_SET_BUFFERSIZE (1u << 13)
#define PTM_CAP_GET_INFO (1u << 14)
#define PTM_CAP_SEND_COMMAND_HEADER (1u << 15)
#define PTM_CAP_LOCK_STORAGE (1u << 16)

/* tpm_ioctl.h: PTM_INIT_FLAG_DELETE_VOLATILE. */
#define PTM_INIT_FLAG_DELETE_VOLATILE (1u << 0)
/* tpm_ioctl.h: state_flags of PTM_GET/SET_STATEBLOB. */
#define PTM_STATE_FLAG_DECRYPTED 1u
#define PTM_STATE_FLAG_ENCRYPTED 2u
/* tpm_ioctl.h: flags of PTM_GET_CONFIG's answer. */
#define PTM_CONFIG_FLAG_FILE_KEY 0x1u
#define PTM_CONFIG_FLAG_MIGRATION_KEY 0x2u
/* tpm_ioctl.h: PTM_BLOB_TYPE_* (same values as enum vtpm_state_type). */
#define PTM_BLOB_TYPE_PERMANENT 1
#define PTM_BLOB_TYPE_VOLATILE 2
#define PTM_BLOB_TYPE_SAVESTATE 3

/*
 * Results are TPM 1.2 return codes, whatever the TPM family
 * (libtpms/tpm_error.h; TPM Main Part 2, 16).
 */
#define PTM_RES_SUCCESS 0x00
#define PTM_RES_BAD_PARAMETER 0x03
#define PTM_RES_FAIL 0x09
#define PTM_RES_BAD_ORDINAL 0x0a
#define PTM_RES_SIZE 0x17
#define PTM_RES_IOERROR 0x1f
#define PTM_RES_BAD_LOCALITY 0x3d
/* TPM_RETRY (TPM_NON_FATAL + 0): swtpm's answer for a blob that does not exist. */
#define PTM_RES_NON_FATAL 0x800
#define PTM_RES_RETRY 0x800

/* The command code in front of every request. */
#define PTM_CMD_SIZE 4
/* Every response starts with the result (ptm_res, be32). */
#define PTM_RES_SIZE_BYTES 4

/*
 * Request and response sizes: the "req"/"resp" halves of tpm_ioctl.h's
 * structs as a C compiler lays them out (ctrl-proto.c checks each against a
 * copy of the layout with a static assertion).
 *
 * SET_LOCALITY and RESET_TPMESTABLISHED are special: their request is one
 * byte (ptm_loc.u.req, ptm_reset_est.u.req, what swtpm_ioctl sends), but
 * QEMU's tpm_emulator.c sends sizeof() of the whole union, 4 bytes, the
 * locality followed by 3 bytes of padding.  swtpm takes whatever came in
 * one read; see vtpm_ctrl_request_size() for how a stream frames them.
 */
#define PTM_INIT_REQ_SIZE 4		 /* init_flags */
#define PTM_LOC_REQ_MIN 1		 /* loc */
#define PTM_LOC_REQ_SIZE 4		 /* sizeof(ptm_loc): loc, then padding */
#define PTM_RESET_EST_REQ_MIN 1		 /* loc */
#define PTM_RESET_EST_REQ_SIZE 4	 /* sizeof(ptm_reset_est): loc, then padding */
#define PTM_HDATA_REQ_HEADER_SIZE 4	 /* length, then data */
#define PTM_HDATA_MAX 4096		 /* ptm_hdata.u.req.data */
#define PTM_SETBUFSIZE_REQ_SIZE 4	 /* buffersize */
#define PTM_LOCKSTORAGE_REQ_SIZE 4	 /* retries */
#define PTM_GETINFO_REQ_SIZE 16		 /* flags (be64), offset, pad */
#define PTM_GETSTATE_REQ_SIZE 12	 /* state_flags, type, offset */
#define PTM_SETSTATE_REQ_HEADER_SIZE 12 /* state_flags, type, length, then data */

#define PTM_CAP_RESP_SIZE 8	     /* result, caps (QEMU reads it as one be64) */
#define PTM_EST_RESP_SIZE 8	     /* result, bit, pad[3] */
#define PTM_GETCONFIG_RESP_SIZE 8    /* result, flags */
#define PTM_SETBUFSIZE_RESP_SIZE 16  /* result, buffersize, minsize, maxsize */
#define PTM_GETINFO_RESP_HEADER_SIZE 12 /* result, totlength, length, then buffer */
#define PTM_GETINFO_MAX 3072	     /* PTM_GETINFO_SIZE */
#define PTM_GETSTATE_RESP_HEADER_SIZE 16 /* result, state_flags, totlength, length, data */

/* Largest blob swtpm accepts in SET_STATEBLOB (ctrlchannel.c). */
#define PTM_STATE_BLOB_MAX (512u * 1024)

/*
 * The blob format on the control channel (swtpm_nvstore.c, see
 * swtpm-blob.h): the blob header with flag MIGRATION_DATA, then a
 * TAG_MIGRATION_DATA record holding the records of a state file: a TAG_DATA
 * record, or with a state key the encrypted records (and flag ENCRYPTED).
 * Header version 1 carries the plain bytes directly.
 */

/*
 * The size of the request that starts at @in, as far as its first @len
 * bytes tell: a request is complete once @max bytes are in, or once @min
 * are in and the client sent nothing more with them (it ended its write
 * there; only SET_LOCALITY and RESET_TPMESTABLISHED have @min < @max).
 * Until the command code or a length field is in, the sizes cover just as
 * much as is needed to read it.  Unknown commands are the code alone.
 * Returns 0, or -EMSGSIZE for a length field beyond what the protocol allows.
 */
int vtpm_ctrl_request_size(const uint8_t *in, size_t len, size_t *min, size_t *max);

/*
 * Wrap a TPM state blob for the control channel, encrypted with @key unless
 * it is NULL.  Returns 0 with a malloc()ed buffer; -ENOMEM; -EFBIG; -EIO if
 * libcrypto fails.
 */
int vtpm_ctrl_blob_encode(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
			  uint8_t **out, size_t *out_len);

/*
 * The TPM state bytes of a control-channel blob, malloc()ed (wipe and free
 * them).  @encrypted: the request's PTM_STATE_FLAG_ENCRYPTED; the header's
 * ENCRYPTED flag counts as well.  Encrypted blobs need @key; plain ones are
 * taken with or without it.  Returns 0; -EBADMSG for a damaged or
 * unknown-version blob; -ENOKEY for an encrypted blob without @key;
 * -EKEYREJECTED if @key does not open it; -ENOTSUP for a migration key or
 * version-1 encryption; -ENOMEM.
 */
int vtpm_ctrl_blob_decode(const struct vtpm_state_key *key, bool encrypted, const uint8_t *blob,
			  size_t len, uint8_t **data, size_t *data_len);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The library's own TPM 2 commands (manufacture, reading certificates):
 * a bounded command builder, a bounded response reader, and one call that
 * sends a command through a backend.  The relay never uses these: it
 * passes its clients' bytes on untouched.
 */
#ifndef VTPM_TPM2_CMD_H
#define VTPM_TPM2_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtpm/backend.h>

#include "wire.h"

/* TPM 2.0 Library Part 2 (Structures), 6.5.2 TPM_CC. */
#define TPM2_CC_NV_UNDEFINE_SPACE 0x00000122
#define TPM2_CC_EVICT_CONTROL 0x00000120
#define TPM2_CC_NV_DEFINE_SPACE 0x0000012a
#define TPM2_CC_PCR_ALLOCATE 0x0000012b
#define TPM2_CC_CREATE_PRIMARY 0x00000131
#define TPM2_CC_NV_WRITE 0x00000137
#define TPM2_CC_NV_WRITE_LOCK 0x00000138
#define TPM2_CC_NV_READ 0x0000014e
#define TPM2_CC_FLUSH_CONTEXT 0x00000165
#define TPM2_CC_NV_READ_PUBLIC 0x00000169
#define TPM2_CC_READ_PUBLIC 0x00000173
#define TPM2_CC_GET_CAPABILITY 0x0000017a

/* Part 2, 7.4 TPM_RH: permanent handles. */
#define TPM2_RH_OWNER 0x40000001
#define TPM2_RS_PW 0x40000009
#define TPM2_RH_ENDORSEMENT 0x4000000b
#define TPM2_RH_PLATFORM 0x4000000c

/* Part 2, 6.3 TPM_ALG_ID. */
#define TPM2_ALG_RSA 0x0001
#define TPM2_ALG_SHA1 0x0004
#define TPM2_ALG_AES 0x0006
#define TPM2_ALG_SHA256 0x000b
#define TPM2_ALG_SHA384 0x000c
#define TPM2_ALG_SHA512 0x000d
#define TPM2_ALG_NULL 0x0010
#define TPM2_ALG_ECC 0x0023
#define TPM2_ALG_CFB 0x0043

/* Part 2, 6.4 TPM_ECC_CURVE. */
#define TPM2_ECC_NIST_P256 0x0003

/* Part 2, 6.12 TPM_CAP and 6.13 TPM_PT. */
#define TPM2_CAP_PCRS 0x00000005
#define TPM2_CAP_TPM_PROPERTIES 0x00000006
#define TPM2_PT_MANUFACTURER 0x00000105
#define TPM2_PT_VENDOR_STRING_1 0x00000106
#define TPM2_PT_VENDOR_STRING_4 0x00000109
#define TPM2_PT_FIRMWARE_VERSION_1 0x0000010b
#define TPM2_PT_NV_BUFFER_MAX 0x0000012c

/* Part 2, 13.4 TPMA_NV. */
#define TPMA_NV_PPWRITE 0x00000001u
#define TPMA_NV_WRITELOCKED 0x00000800u
#define TPMA_NV_WRITEDEFINE 0x00002000u
#define TPMA_NV_PPREAD 0x00010000u
#define TPMA_NV_OWNERREAD 0x00020000u
#define TPMA_NV_AUTHREAD 0x00040000u
#define TPMA_NV_NO_DA 0x02000000u
#define TPMA_NV_PLATFORMCREATE 0x40000000u

/* Part 2, 6.6.3 (see wire.h for the format-one layout). */
#define TPM2_RC_HANDLE 0x08b
#define TPM2_RC_NV_LOCKED 0x148
#define TPM2_RC_NV_DEFINED 0x14c
#define TPM2_RC_YIELDED 0x908

/* Whether @rc says "no object / index at that handle" (whichever handle). */
static inline bool tpm2_rc_is_handle(uint32_t rc)
{
	return (rc & TPM2_RC_FMT1_ERROR_MASK) == TPM2_RC_HANDLE;
}

struct tpm2_cmd {
	uint8_t buf[VTPM_BUFFER_SIZE];
	size_t len;
	bool overflow; /* something did not fit: the command is not sent */
};

void tpm2_cmd_begin(struct tpm2_cmd *c, uint16_t tag, uint32_t cc);
void tpm2_cmd_u8(struct tpm2_cmd *c, uint8_t v);
void tpm2_cmd_u16(struct tpm2_cmd *c, uint16_t v);
void tpm2_cmd_u32(struct tpm2_cmd *c, uint32_t v);
void tpm2_cmd_bytes(struct tpm2_cmd *c, const void *p, size_t n);
/* A TPM2B: two bytes of length, then the bytes. */
void tpm2_cmd_tpm2b(struct tpm2_cmd *c, const void *p, size_t n);
/* The authorisation area with one empty password session (Part 1, 19.6.5). */
void tpm2_cmd_pw_session(struct tpm2_cmd *c);

/* Reads a response; any read past the end sets @bad and yields zeros. */
struct tpm2_rsp {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
};

void tpm2_rsp_init(struct tpm2_rsp *r, const uint8_t *p, size_t len);
uint8_t tpm2_rsp_u8(struct tpm2_rsp *r);
uint16_t tpm2_rsp_u16(struct tpm2_rsp *r);
uint32_t tpm2_rsp_u32(struct tpm2_rsp *r);
/* Points *@p at the next @n bytes; NULL and @bad if they are not there. */
const uint8_t *tpm2_rsp_bytes(struct tpm2_rsp *r, size_t n);
/* A TPM2B of at most @max bytes: its length into *@n. */
const uint8_t *tpm2_rsp_tpm2b(struct tpm2_rsp *r, size_t max, size_t *n);

/*
 * Send @c through @backend and wait for its answer.  TPM_RC_RETRY,
 * YIELDED and TESTING are retried a few times, as Part 1 (Architecture)
 * asks of a caller.  On success *@rc holds the TPM's return code and @r
 * reads the response after its header (for TPM_ST_SESSIONS commands, the
 * caller reads the parameter size itself).
 *
 * Returns: 0; -E2BIG for a command that overflowed; -EBADMSG for a
 * response that is not framed as one; or the backend's negative errno.
 */
int tpm2_transact(struct vtpm_backend *backend, struct tpm2_cmd *c, uint8_t *resp,
		  size_t resp_size, uint32_t *rc, struct tpm2_rsp *r);

#endif

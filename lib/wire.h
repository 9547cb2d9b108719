/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM command and response framing shared by TPM 1.2 and TPM 2: the 10-byte
 * header (tag, size, code), both big-endian, and the codes the relay needs.
 */
#ifndef VTPM_WIRE_H
#define VTPM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vtpm/device.h>

/* Both families: tag (2), size (4), ordinal / return code (4). */
#define TPM_HEADER_SIZE 10

/* TPM 2.0 Library Part 2 (Structures), 6.9 TPM_ST. */
#define TPM2_ST_NO_SESSIONS 0x8001
#define TPM2_ST_SESSIONS 0x8002

/* TPM 2.0 Library Part 2 (Structures), 6.6 TPM_RC. */
#define TPM2_RC_SUCCESS 0x000
#define TPM2_RC_BAD_TAG 0x01e
#define TPM2_RC_INITIALIZE 0x100
#define TPM2_RC_FAILURE 0x101
#define TPM2_RC_LOCALITY 0x107
#define TPM2_RC_COMMAND_SIZE 0x142
#define TPM2_RC_CANCELED 0x909
#define TPM2_RC_TESTING 0x90a
#define TPM2_RC_RETRY 0x922
/* Format-one parameter errors: bit 7 set, the error number in bits 0..5. */
#define TPM2_RC_FMT1 0x080
#define TPM2_RC_VALUE 0x084
#define TPM2_RC_FMT1_ERROR_MASK 0x0bf

/* TPM 2.0 Library Part 2 (Structures), 6.5.2 TPM_CC. */
#define TPM2_CC_SELF_TEST 0x00000143
#define TPM2_CC_STARTUP 0x00000144
#define TPM2_CC_SHUTDOWN 0x00000145
#define TPM2_CC_GET_RANDOM 0x0000017b

/* TPM 2.0 Library Part 2 (Structures), 6.8 TPM_SU. */
#define TPM2_SU_CLEAR 0x0000
#define TPM2_SU_STATE 0x0001

/* TPM 2.0 Library Part 2 (Structures), 6.3 TPMI_YES_NO. */
#define TPM2_NO 0

/* TPM Main Part 2 (TPM 1.2 Structures), 6 TPM_TAG. */
#define TPM12_TAG_RQU_COMMAND 0x00c1
#define TPM12_TAG_RQU_AUTH1_COMMAND 0x00c2
#define TPM12_TAG_RQU_AUTH2_COMMAND 0x00c3
#define TPM12_TAG_RSP_COMMAND 0x00c4

/* TPM Main Part 2 (TPM 1.2 Structures), 17 ordinals. */
#define TPM12_ORD_STARTUP 0x00000099

/* TPM Main Part 2 (TPM 1.2 Structures), 16 return codes. */
#define TPM12_FAIL 0x09
#define TPM12_BAD_PARAM_SIZE 0x19
#define TPM12_BADTAG 0x1e
#define TPM12_INVALID_POSTINIT 0x26
#define TPM12_BAD_LOCALITY 0x3d

/* TPM Main Part 2 (TPM 1.2 Structures), 17 ordinals. */
#define TPM12_ORD_CONTINUE_SELF_TEST 0x00000053
#define TPM12_ORD_STARTUP 0x00000099

/* TPM Main Part 2 (TPM 1.2 Structures), 4.5 TPM_STARTUP_TYPE. */
#define TPM12_ST_CLEAR 0x0001
#define TPM12_ST_STATE 0x0002

/*
 * The proxy driver's own command that tells the emulator the locality of the
 * following commands; same ordinal for both families, one byte of payload
 * (include/uapi/linux/vtpm_proxy.h: TPM2_CC_SET_LOCALITY, TPM_ORD_SET_LOCALITY).
 */
#define VTPM_CC_SET_LOCALITY 0x20001000
#define VTPM_SET_LOCALITY_SIZE (TPM_HEADER_SIZE + 1)
/* TPM 2 localities 0..4 (PC Client Platform TPM Profile); 1.2 has the same. */
#define VTPM_LOCALITY_MAX 4

struct tpm_header {
	uint16_t tag;
	uint32_t size;
	uint32_t code; /* ordinal in commands, return code in responses */
};

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = (v >> 16) & 0xff;
	p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}

/* Decode the header of @buf; false if @len is shorter than a header. */
bool vtpm_wire_parse_header(const uint8_t *buf, size_t len, struct tpm_header *hdr);

/*
 * Check a command as received: a complete header, header size equal to @len,
 * @len no more than @max, a command tag of @version.  Returns 0 when it may
 * go to a backend, otherwise the TPM return code to answer it with.
 */
uint32_t vtpm_wire_check_command(enum vtpm_version version, const uint8_t *buf,
				 size_t len, size_t max);

/* Whether a backend's response is framed correctly (size, length, tag). */
bool vtpm_wire_response_is_valid(enum vtpm_version version, const uint8_t *buf,
				 size_t len, size_t max);

/*
 * Write a header-only response carrying @rc into @buf (TPM_HEADER_SIZE
 * bytes).  Returns its length.
 */
size_t vtpm_wire_build_response(enum vtpm_version version, uint32_t rc, uint8_t *buf);

/* The return code for "the emulator failed" in @version. */
uint32_t vtpm_wire_rc_failure(enum vtpm_version version);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Framing checks and relay-generated responses; see wire.h. */
#include "config.h"

#include "wire.h"

bool vtpm_wire_parse_header(const uint8_t *buf, size_t len, struct tpm_header *hdr)
{
	if (len < TPM_HEADER_SIZE)
		return false;
	hdr->tag = get_be16(buf);
	hdr->size = get_be32(buf + 2);
	hdr->code = get_be32(buf + 6);
	return true;
}

static bool is_command_tag(enum vtpm_version version, uint16_t tag)
{
	if (version == VTPM_VERSION_2)
		return tag == TPM2_ST_NO_SESSIONS || tag == TPM2_ST_SESSIONS;
	return tag == TPM12_TAG_RQU_COMMAND || tag == TPM12_TAG_RQU_AUTH1_COMMAND ||
	       tag == TPM12_TAG_RQU_AUTH2_COMMAND;
}

uint32_t vtpm_wire_check_command(enum vtpm_version version, const uint8_t *buf,
				 size_t len, size_t max)
{
	uint32_t size_rc = version == VTPM_VERSION_2 ? TPM2_RC_COMMAND_SIZE : TPM12_BAD_PARAM_SIZE;
	struct tpm_header hdr;

	if (len > max || !vtpm_wire_parse_header(buf, len, &hdr))
		return size_rc;
	if (!is_command_tag(version, hdr.tag))
		return version == VTPM_VERSION_2 ? TPM2_RC_BAD_TAG : TPM12_BADTAG;
	if (hdr.size != len)
		return size_rc;
	return 0;
}

bool vtpm_wire_response_is_valid(enum vtpm_version version, const uint8_t *buf,
				 size_t len, size_t max)
{
	struct tpm_header hdr;

	if (len > max || !vtpm_wire_parse_header(buf, len, &hdr) || hdr.size != len)
		return false;
	if (version == VTPM_VERSION_2)
		return hdr.tag == TPM2_ST_NO_SESSIONS || hdr.tag == TPM2_ST_SESSIONS;
	/* TPM 1.2 responses: TPM12_TAG_RSP_COMMAND, _AUTH1 (0xc5), _AUTH2 (0xc6). */
	return hdr.tag >= TPM12_TAG_RSP_COMMAND && hdr.tag <= TPM12_TAG_RSP_COMMAND + 2;
}

size_t vtpm_wire_build_response(enum vtpm_version version, uint32_t rc, uint8_t *buf)
{
	put_be16(buf, version == VTPM_VERSION_2 ? TPM2_ST_NO_SESSIONS : TPM12_TAG_RSP_COMMAND);
	put_be32(buf + 2, TPM_HEADER_SIZE);
	put_be32(buf + 6, rc);
	return TPM_HEADER_SIZE;
}

uint32_t vtpm_wire_rc_failure(enum vtpm_version version)
{
	return version == VTPM_VERSION_2 ? TPM2_RC_FAILURE : TPM12_FAIL;
}

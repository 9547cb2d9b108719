/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Framing checks: every way a command can be malformed, both TPM families. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "wire.h"

static void header(uint8_t *b, uint16_t tag, uint32_t size, uint32_t code)
{
	put_be16(b, tag);
	put_be32(b + 2, size);
	put_be32(b + 6, code);
}

static void test_check_command_tpm2(void **state)
{
	uint8_t b[64] = { 0 };

	header(b, TPM2_ST_NO_SESSIONS, 12, TPM2_CC_GET_RANDOM);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 12, 4096), 0);
	header(b, TPM2_ST_SESSIONS, 12, TPM2_CC_GET_RANDOM);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 12, 4096), 0);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 11, 4096), TPM2_RC_COMMAND_SIZE);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 13, 4096), TPM2_RC_COMMAND_SIZE);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 12, 11), TPM2_RC_COMMAND_SIZE);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 9, 4096), TPM2_RC_COMMAND_SIZE);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 0, 4096), TPM2_RC_COMMAND_SIZE);
	header(b, 0x8003, 12, TPM2_CC_GET_RANDOM);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 12, 4096), TPM2_RC_BAD_TAG);
	/* A header-only command is well-formed; the TPM judges its contents. */
	header(b, TPM2_ST_NO_SESSIONS, 10, 0);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 10, 4096), 0);
	/* Sizes that would overflow a naive signed check. */
	header(b, TPM2_ST_NO_SESSIONS, 0xffffffff, 0);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_2, b, 10, 4096), TPM2_RC_COMMAND_SIZE);
}

static void test_check_command_tpm12(void **state)
{
	uint8_t b[64] = { 0 };

	for (uint16_t tag = TPM12_TAG_RQU_COMMAND; tag <= TPM12_TAG_RQU_AUTH2_COMMAND; tag++) {
		header(b, tag, 14, 0x46);
		assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_1_2, b, 14, 4096), 0);
	}
	header(b, TPM12_TAG_RSP_COMMAND, 14, 0x46);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_1_2, b, 14, 4096), TPM12_BADTAG);
	header(b, TPM12_TAG_RQU_COMMAND, 15, 0x46);
	assert_int_equal(vtpm_wire_check_command(VTPM_VERSION_1_2, b, 14, 4096), TPM12_BAD_PARAM_SIZE);
}

static void test_responses(void **state)
{
	uint8_t b[TPM_HEADER_SIZE];
	struct tpm_header h;

	assert_int_equal(vtpm_wire_build_response(VTPM_VERSION_2, TPM2_RC_FAILURE, b), TPM_HEADER_SIZE);
	assert_true(vtpm_wire_parse_header(b, sizeof(b), &h));
	assert_int_equal(h.tag, TPM2_ST_NO_SESSIONS);
	assert_int_equal(h.size, TPM_HEADER_SIZE);
	assert_int_equal(h.code, TPM2_RC_FAILURE);
	assert_true(vtpm_wire_response_is_valid(VTPM_VERSION_2, b, sizeof(b), 4096));
	assert_false(vtpm_wire_response_is_valid(VTPM_VERSION_1_2, b, sizeof(b), 4096));
	assert_false(vtpm_wire_response_is_valid(VTPM_VERSION_2, b, sizeof(b) - 1, 4096));
	assert_false(vtpm_wire_response_is_valid(VTPM_VERSION_2, b, sizeof(b), 9));

	vtpm_wire_build_response(VTPM_VERSION_1_2, vtpm_wire_rc_failure(VTPM_VERSION_1_2), b);
	assert_true(vtpm_wire_parse_header(b, sizeof(b), &h));
	assert_int_equal(h.tag, TPM12_TAG_RSP_COMMAND);
	assert_int_equal(h.code, TPM12_FAIL);
	assert_true(vtpm_wire_response_is_valid(VTPM_VERSION_1_2, b, sizeof(b), 4096));
	assert_false(vtpm_wire_parse_header(b, TPM_HEADER_SIZE - 1, &h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_command_tpm2),
		cmocka_unit_test(test_check_command_tpm12),
		cmocka_unit_test(test_responses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

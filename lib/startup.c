/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Starting a TPM the way platform firmware does, before anyone else sees it.
 *
 * A powered-on TPM answers nothing but Startup until it is started.  Behind
 * the proxy driver the kernel does that itself while it registers the chip
 * (drivers/char/tpm/tpm2-cmd.c: tpm2_auto_startup() sends TPM2_SelfTest,
 * and TPM2_Startup only when the self test answers TPM_RC_INITIALIZE;
 * tpm1-cmd.c: tpm1_auto_startup() likewise for TPM 1.2), but with fixed
 * time limits per command.  libtpms runs its self test inside those
 * commands, which takes tens of milliseconds natively and seconds on a
 * loaded or emulated CPU: the kernel then gives up and removes the device.
 * Started here, before the device exists, the TPM answers the kernel's
 * self test at once and the kernel never sends Startup.
 *
 * A TPM that is already running (it resumed a volatile-state snapshot, or
 * an external emulator kept running) answers Startup with TPM_RC_INITIALIZE
 * / TPM_INVALID_POSTINIT; that is no failure here.
 */
#include "config.h"

#include <string.h>

#include "vtpm-internal.h"
#include "wire.h"

/* Header plus a 2-byte startup type (TPM 2.0 Part 3, 9.3; TPM 1.2 Part 3, 3.1). */
#define STARTUP_CMD_SIZE (TPM_HEADER_SIZE + 2)
/* Header plus TPMI_YES_NO fullTest (TPM 2.0 Part 3, 10.2). */
#define TPM2_SELF_TEST_CMD_SIZE (TPM_HEADER_SIZE + 1)

/* Send one command; its TPM return code into *@rc. */
static int transact(struct vtpm_backend *backend, const uint8_t *cmd, size_t len, uint32_t *rc)
{
	enum vtpm_version version = vtpm_backend_get_version(backend);
	uint8_t resp[VTPM_BUFFER_SIZE];
	struct tpm_header hdr;
	size_t resp_len = 0;
	int r;

	r = vtpm_backend_process(backend, cmd, len, 0, resp, sizeof(resp), &resp_len);
	if (r < 0)
		return r;
	if (!vtpm_wire_response_is_valid(version, resp, resp_len, sizeof(resp)) ||
	    !vtpm_wire_parse_header(resp, resp_len, &hdr))
		return -EBADMSG;
	*rc = hdr.code;
	return 0;
}

static size_t build(uint8_t *buf, uint16_t tag, uint32_t code, size_t len)
{
	put_be16(buf, tag);
	put_be32(buf + 2, (uint32_t)len);
	put_be32(buf + 6, code);
	return len;
}

static int tpm2_startup(struct vtpm_backend *backend, uint16_t type, uint32_t *rc)
{
	uint8_t cmd[STARTUP_CMD_SIZE];

	build(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP, sizeof(cmd));
	put_be16(cmd + TPM_HEADER_SIZE, type);
	return transact(backend, cmd, sizeof(cmd), rc);
}

static int startup_tpm2(struct vtpm_backend *backend, unsigned int flags, uint32_t *rc)
{
	uint8_t cmd[TPM2_SELF_TEST_CMD_SIZE];
	int r;

	r = tpm2_startup(backend, flags & VTPM_STARTUP_STATE ? TPM2_SU_STATE : TPM2_SU_CLEAR, rc);
	if (r < 0)
		return r;
	/*
	 * Nothing was saved with TPM2_Shutdown(STATE): the TPM refuses the
	 * type as a bad value (Part 3, 9.3.1) and stays usable; a fresh
	 * start is all there is to resume.
	 */
	if (flags & VTPM_STARTUP_STATE && (*rc & TPM2_RC_FMT1_ERROR_MASK) == TPM2_RC_VALUE) {
		r = tpm2_startup(backend, TPM2_SU_CLEAR, rc);
		if (r < 0)
			return r;
	}
	if (*rc != TPM2_RC_SUCCESS && *rc != TPM2_RC_INITIALIZE)
		return -EPROTO;

	/*
	 * fullTest=NO tests every algorithm not yet tested (Part 3, 10.2.1):
	 * all of them after a power-on, so no later command pays for one, and
	 * none after a resumed snapshot, where YES would test all again.
	 */
	build(cmd, TPM2_ST_NO_SESSIONS, TPM2_CC_SELF_TEST, sizeof(cmd));
	cmd[TPM_HEADER_SIZE] = TPM2_NO;
	r = transact(backend, cmd, sizeof(cmd), rc);
	if (r < 0)
		return r;
	/* TESTING: a TPM that tests in the background (Part 3, 10.2.1). */
	if (*rc != TPM2_RC_SUCCESS && *rc != TPM2_RC_TESTING)
		return -EPROTO;
	*rc = TPM2_RC_SUCCESS;
	return 0;
}

static int startup_tpm12(struct vtpm_backend *backend, unsigned int flags, uint32_t *rc)
{
	uint8_t cmd[STARTUP_CMD_SIZE];
	uint16_t type = TPM12_ST_CLEAR;
	uint8_t *saved = NULL;
	size_t saved_len;
	int r;

	/*
	 * TPM_Startup(ST_STATE) without a TPM_SaveState blob sends a TPM 1.2
	 * into failure mode (TPM 1.2 Part 3, 3.1), so ask only when one exists.
	 */
	if (flags & VTPM_STARTUP_STATE &&
	    vtpm_backend_get_state(backend, VTPM_STATE_SAVESTATE, &saved, &saved_len) == 0)
		type = TPM12_ST_STATE;
	free(saved);

	build(cmd, TPM12_TAG_RQU_COMMAND, TPM12_ORD_STARTUP, sizeof(cmd));
	put_be16(cmd + TPM_HEADER_SIZE, type);
	r = transact(backend, cmd, sizeof(cmd), rc);
	if (r < 0)
		return r;
	if (*rc != 0 && *rc != TPM12_INVALID_POSTINIT)
		return -EPROTO;

	build(cmd, TPM12_TAG_RQU_COMMAND, TPM12_ORD_CONTINUE_SELF_TEST, TPM_HEADER_SIZE);
	r = transact(backend, cmd, TPM_HEADER_SIZE, rc);
	if (r < 0)
		return r;
	return *rc ? -EPROTO : 0;
}

VTPM_EXPORT int vtpm_backend_startup(struct vtpm_backend *backend, unsigned int flags,
				     uint32_t *tpm_rc)
{
	struct vtpm_ctx *ctx;
	uint32_t rc = 0;
	int r;

	if (!backend || (flags & ~VTPM_STARTUP_STATE))
		return -EINVAL;
	ctx = vtpm_backend_get_ctx(backend);
	r = vtpm_backend_start(backend);
	if (r < 0)
		return r;
	if (vtpm_backend_get_version(backend) == VTPM_VERSION_2)
		r = startup_tpm2(backend, flags, &rc);
	else
		r = startup_tpm12(backend, flags, &rc);
	if (tpm_rc)
		*tpm_rc = rc;
	if (r == -EPROTO)
		err(ctx, "the TPM failed its start-up with return code 0x%x", rc);
	else if (r < 0)
		err(ctx, "the TPM did not answer its start-up: %s", strerror(-r));
	else
		dbg(ctx, "TPM started up");
	return r;
}

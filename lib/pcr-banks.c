/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCR banks: their names as users write them, and TPM2_PCR_Allocate to
 * leave exactly the chosen ones active at manufacture (Part 3, 22.5).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "manufacture-internal.h"
#include "vtpm-internal.h"

/* Part 2, 10.6 TPMS_PCR_SELECTION: PCR_SELECT_MAX is at most 32 octets. */
#define PCR_SELECT_MAX 32
/* More banks than any TPM has (Part 2, 6.3 lists the hash algorithms). */
#define PCR_BANKS_MAX 16

static const struct {
	const char *name;
	unsigned int bit;
	uint16_t alg;
} pcr_banks[] = {
	{ "sha1", VTPM_PCR_BANK_SHA1, TPM2_ALG_SHA1 },
	{ "sha256", VTPM_PCR_BANK_SHA256, TPM2_ALG_SHA256 },
	{ "sha384", VTPM_PCR_BANK_SHA384, TPM2_ALG_SHA384 },
	{ "sha512", VTPM_PCR_BANK_SHA512, TPM2_ALG_SHA512 },
};

VTPM_EXPORT int vtpm_pcr_banks_parse(const char *list, unsigned int *banks)
{
	unsigned int out = 0;
	const char *p = list;

	if (!list || !*list)
		return -EINVAL;
	while (*p) {
		size_t n = strcspn(p, ",");
		size_t i;

		for (i = 0; i < ARRAY_SIZE(pcr_banks); i++)
			if (strlen(pcr_banks[i].name) == n && strncmp(p, pcr_banks[i].name, n) == 0)
				break;
		if (i == ARRAY_SIZE(pcr_banks))
			return -EINVAL;
		out |= pcr_banks[i].bit;
		p += n;
		if (*p == ',' && !*++p)
			return -EINVAL;
	}
	*banks = out;
	return 0;
}

int vtpm_pcr_banks_format(unsigned int banks, char *buf, size_t size)
{
	size_t len = 0;

	if (!banks || banks & ~VTPM_PCR_BANKS_ALL || size == 0)
		return -EINVAL;
	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(pcr_banks); i++) {
		int n;

		if (!(banks & pcr_banks[i].bit))
			continue;
		n = snprintf(buf + len, size - len, "%s%s", len ? "," : "", pcr_banks[i].name);
		if (n < 0 || (size_t)n >= size - len)
			return -ENOSPC;
		len += (size_t)n;
	}
	return 0;
}

struct pcr_bank {
	uint16_t alg;
	uint8_t size_of_select;
	bool active;
};

/* TPM2_GetCapability(TPM_CAP_PCRS): the banks the TPM has and which are on. */
static int pcr_read_banks(struct mfg *m, struct pcr_bank *banks, size_t *n)
{
	struct tpm2_rsp r;
	uint32_t count;
	int ret;

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2_cmd_u32(&m->c, TPM2_CAP_PCRS);
	tpm2_cmd_u32(&m->c, 0);
	tpm2_cmd_u32(&m->c, 1);
	ret = mfg_run(m, "TPM2_GetCapability(PCRS)", &r);
	if (ret < 0)
		return ret;
	tpm2_rsp_u8(&r);
	tpm2_rsp_u32(&r);
	count = tpm2_rsp_u32(&r);
	if (count > PCR_BANKS_MAX)
		return -EBADMSG;
	for (uint32_t i = 0; i < count; i++) {
		const uint8_t *sel;

		banks[i].alg = tpm2_rsp_u16(&r);
		banks[i].size_of_select = tpm2_rsp_u8(&r);
		if (banks[i].size_of_select > PCR_SELECT_MAX)
			return -EBADMSG;
		sel = tpm2_rsp_bytes(&r, banks[i].size_of_select);
		if (!sel)
			return -EBADMSG;
		banks[i].active = false;
		for (size_t j = 0; j < banks[i].size_of_select; j++)
			banks[i].active |= sel[j] != 0;
	}
	*n = count;
	return r.bad ? -EBADMSG : 0;
}

static unsigned int bank_bit(uint16_t alg)
{
	for (size_t i = 0; i < ARRAY_SIZE(pcr_banks); i++)
		if (pcr_banks[i].alg == alg)
			return pcr_banks[i].bit;
	return 0;
}

/* Activate exactly @want (all PCRs of each), deactivate every other bank. */
int mfg_pcr_allocate(struct mfg *m, unsigned int want, bool *changed)
{
	struct pcr_bank banks[PCR_BANKS_MAX];
	unsigned int have = 0, active = 0;
	bool other_active = false;
	struct tpm2_rsp r;
	size_t n = 0;
	int ret;

	ret = pcr_read_banks(m, banks, &n);
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < n; i++) {
		have |= bank_bit(banks[i].alg);
		if (banks[i].active && bank_bit(banks[i].alg))
			active |= bank_bit(banks[i].alg);
		else if (banks[i].active)
			other_active = true;
	}
	if (want & ~have) {
		for (size_t i = 0; i < ARRAY_SIZE(pcr_banks); i++)
			if (want & ~have & pcr_banks[i].bit)
				err(m->ctx, "this TPM has no %s PCR bank", pcr_banks[i].name);
		return -EINVAL;
	}
	if (active == want && !other_active)
		return 0;

	tpm2_cmd_begin(&m->c, TPM2_ST_SESSIONS, TPM2_CC_PCR_ALLOCATE);
	tpm2_cmd_u32(&m->c, TPM2_RH_PLATFORM);
	tpm2_cmd_pw_session(&m->c);
	tpm2_cmd_u32(&m->c, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		uint8_t sel = want & bank_bit(banks[i].alg) ? 0xff : 0x00;

		tpm2_cmd_u16(&m->c, banks[i].alg);
		tpm2_cmd_u8(&m->c, banks[i].size_of_select);
		for (size_t j = 0; j < banks[i].size_of_select; j++)
			tpm2_cmd_u8(&m->c, sel);
	}
	ret = mfg_run(m, "TPM2_PCR_Allocate", &r);
	if (ret < 0)
		return ret;
	tpm2_rsp_u32(&r);	/* parameterSize */
	if (tpm2_rsp_u8(&r) != 1 || r.bad) {
		err(m->ctx, "the TPM refused the PCR allocation");
		return -EIO;
	}
	*changed = true;
	return 0;
}

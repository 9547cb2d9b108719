/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Manufacture of a TPM 2: endorsement keys, their certificates, PCR banks,
 * NV locks; done with TPM commands through the backend, before the TPM
 * serves anyone.
 *
 * Every step first asks whether it is done already (a persistent EK, a
 * defined certificate index, the banks as wanted) and keeps what it
 * finds, so manufacturing twice changes nothing and a TPM made by
 * swtpm_setup keeps its identity.  A TPM this call started or restarted is
 * left started and self-tested, as firmware hands a TPM over.
 */
#include "config.h"

#include <string.h>

#include "ca-internal.h"
#include "manufacture-internal.h"
#include "vtpm-internal.h"

/*
 * The EK certificate indices' attributes, as swtpm_setup defines them:
 * written by the platform (PPWRITE, PLATFORMCREATE), readable by platform,
 * owner and anyone with the index's empty auth, no dictionary-attack
 * lockout, and WRITEDEFINE so that TPM2_NV_WriteLock can make them
 * permanent.
 */
#define EK_CERT_NV_ATTRS (TPMA_NV_PLATFORMCREATE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD | \
			  TPMA_NV_PPREAD | TPMA_NV_PPWRITE | TPMA_NV_NO_DA | TPMA_NV_WRITEDEFINE)

/* Part 2, 10.6 TPMS_PCR_SELECTION: PCR_SELECT_MAX is at most 32 octets. */
#define PCR_SELECT_MAX 32
/* More banks than any TPM has (Part 2, 6.3 lists the hash algorithms). */
#define PCR_BANKS_MAX 16
/* A small TPM's NV buffer; used when it does not report TPM_PT_NV_BUFFER_MAX. */
#define NV_CHUNK_FALLBACK 512

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
#define PCR_BANKS_ALL (VTPM_PCR_BANK_SHA1 | VTPM_PCR_BANK_SHA256 | \
		       VTPM_PCR_BANK_SHA384 | VTPM_PCR_BANK_SHA512)

static const struct ek_kind {
	enum vtpm_ek_type type;
	const char *name;
	uint32_t handle;
	uint32_t nv_index;
} ek_kinds[] = {
	{ VTPM_EK_RSA2048, "RSA 2048", EK_HANDLE_RSA2048, EK_NV_INDEX_RSA2048_CERT },
	{ VTPM_EK_ECC_NIST_P256, "ECC NIST P-256", EK_HANDLE_ECC_P256, EK_NV_INDEX_ECC_P256_CERT },
};

struct mfg {
	struct vtpm_backend *b;
	struct vtpm_ctx *ctx;
	bool started_here;	/* this call sent TPM2_Startup */
	bool power_cycled;	/* this call power-cycled the TPM */
	size_t nv_chunk;
	struct tpm_identity id;
	struct tpm2_cmd c;
	uint8_t resp[VTPM_BUFFER_SIZE];
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

	if (!banks || banks & ~PCR_BANKS_ALL || size == 0)
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

/* Send m->c; a TPM error is logged with @what and becomes -EIO. */
static int run(struct mfg *m, const char *what, struct tpm2_rsp *r)
{
	uint32_t rc;
	int ret = tpm2_transact(m->b, &m->c, m->resp, sizeof(m->resp), &rc, r);

	if (ret < 0) {
		err(m->ctx, "%s: %s", what, strerror(-ret));
		return ret;
	}
	if (rc != TPM2_RC_SUCCESS) {
		err(m->ctx, "%s failed: TPM error 0x%03x", what, rc);
		return -EIO;
	}
	return 0;
}

/* TPM2_Startup(CLEAR) unless the TPM already runs. */
static int startup(struct mfg *m)
{
	struct tpm2_rsp r;
	uint32_t rc;
	int ret;

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	tpm2_cmd_u16(&m->c, TPM2_SU_CLEAR);
	ret = tpm2_transact(m->b, &m->c, m->resp, sizeof(m->resp), &rc, &r);
	if (ret < 0)
		return ret;
	if (rc == TPM2_RC_INITIALIZE)
		return 0;
	if (rc != TPM2_RC_SUCCESS) {
		err(m->ctx, "TPM2_Startup failed: TPM error 0x%03x", rc);
		return -EIO;
	}
	m->started_here = true;
	return 0;
}

/*
 * An orderly TPM2_Shutdown and a power cycle: applies a new PCR
 * allocation; the TPM then waits for TPM2_Startup.
 */
static int power_cycle(struct mfg *m)
{
	struct tpm2_rsp r;
	int ret;

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_SHUTDOWN);
	tpm2_cmd_u16(&m->c, TPM2_SU_CLEAR);
	ret = run(m, "TPM2_Shutdown", &r);
	if (ret < 0)
		return ret;
	ret = vtpm_backend_reset(m->b);
	if (ret < 0)
		err(m->ctx, "cannot power-cycle the TPM: %s", strerror(-ret));
	m->power_cycled = true;
	return ret;
}

/*
 * Leave the TPM started and self-tested, as a TPM is when firmware hands
 * it over: the kernel's start-up commands then find nothing slow to do.
 * TPM2_Startup and a full TPM2_SelfTest take long on a loaded emulated
 * host, longer than the kernel waits for them (drivers/char/tpm/tpm.h:
 * TPM2_DURATION_MEDIUM, 750 ms, for TPM2_Startup).
 */
static int start_and_test(struct mfg *m)
{
	struct tpm2_rsp r;
	int ret;

	if (m->power_cycled) {
		tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
		tpm2_cmd_u16(&m->c, TPM2_SU_CLEAR);
		ret = run(m, "TPM2_Startup", &r);
		if (ret < 0)
			return ret;
	}
	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_SELF_TEST);
	tpm2_cmd_u8(&m->c, 1); /* fullTest: YES */
	return run(m, "TPM2_SelfTest", &r);
}

/* Copy the printable vendor string bytes of @v into the model name. */
static void model_append(struct tpm_identity *id, uint32_t v)
{
	size_t len = strlen(id->model);

	for (int shift = 24; shift >= 0 && len + 1 < sizeof(id->model); shift -= 8) {
		char ch = (char)((v >> shift) & 0xff);

		if (ch >= 0x20 && ch < 0x7f)
			id->model[len++] = ch;
	}
	id->model[len] = 0;
}

/* The TPM's manufacturer, model and version, and its NV buffer size. */
static int read_properties(struct mfg *m)
{
	struct tpm2_rsp r;
	uint32_t count;
	size_t len;
	int ret;

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	tpm2_cmd_u32(&m->c, TPM2_CAP_TPM_PROPERTIES);
	tpm2_cmd_u32(&m->c, TPM2_PT_MANUFACTURER);
	tpm2_cmd_u32(&m->c, TPM2_PT_NV_BUFFER_MAX - TPM2_PT_MANUFACTURER + 1);
	ret = run(m, "TPM2_GetCapability(TPM_PROPERTIES)", &r);
	if (ret < 0)
		return ret;
	tpm2_rsp_u8(&r);	/* moreData */
	tpm2_rsp_u32(&r);	/* capability */
	count = tpm2_rsp_u32(&r);
	m->id = (struct tpm_identity){};
	m->nv_chunk = NV_CHUNK_FALLBACK;
	for (uint32_t i = 0; i < count && !r.bad; i++) {
		uint32_t pt = tpm2_rsp_u32(&r), v = tpm2_rsp_u32(&r);

		if (r.bad)
			break;
		if (pt == TPM2_PT_MANUFACTURER)
			m->id.manufacturer = v;
		else if (pt >= TPM2_PT_VENDOR_STRING_1 && pt <= TPM2_PT_VENDOR_STRING_4)
			model_append(&m->id, v);
		else if (pt == TPM2_PT_FIRMWARE_VERSION_1)
			m->id.firmware[0] = v;
		else if (pt == TPM2_PT_FIRMWARE_VERSION_1 + 1)
			m->id.firmware[1] = v;
		else if (pt == TPM2_PT_NV_BUFFER_MAX && v > 0)
			m->nv_chunk = v;
	}
	if (r.bad)
		return -EBADMSG;
	/* The TPM's NV buffer must also fit our command buffer. */
	len = VTPM_BUFFER_SIZE - 64;
	if (m->nv_chunk > len)
		m->nv_chunk = len;
	/* Trailing blanks of the vendor strings are padding. */
	for (len = strlen(m->id.model); len > 0 && m->id.model[len - 1] == ' '; len--)
		m->id.model[len - 1] = 0;
	if (!m->id.model[0])
		strcpy(m->id.model, "unknown");
	return 0;
}

/* TPM2_ReadPublic of a persistent handle: -ENOENT if nothing is there. */
static int read_persistent(struct mfg *m, const struct ek_kind *k, struct ek_public *pub)
{
	struct tpm2_rsp r;
	uint32_t rc;
	int ret;

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_READ_PUBLIC);
	tpm2_cmd_u32(&m->c, k->handle);
	ret = tpm2_transact(m->b, &m->c, m->resp, sizeof(m->resp), &rc, &r);
	if (ret < 0)
		return ret;
	if (tpm2_rc_is_handle(rc))
		return -ENOENT;
	if (rc != TPM2_RC_SUCCESS) {
		err(m->ctx, "TPM2_ReadPublic(0x%08x) failed: TPM error 0x%03x", k->handle, rc);
		return -EIO;
	}
	/* Any other key at the EK's handle is not ours to judge: report it. */
	return ek_public_parse(&r, k->type, pub) < 0 ? -EEXIST : 0;
}

/*
 * Derive the EK from the template (the same key every time: it comes from
 * the endorsement seed), and make it persistent unless its handle is taken.
 */
static int ek_create(struct mfg *m, const struct ek_kind *k, struct ek_public *pub, bool *made)
{
	int64_t t0 = vtpm_now_ms();
	struct ek_public there;
	struct tpm2_rsp r;
	uint32_t handle;
	int ret, flush;

	tpm2_cmd_begin(&m->c, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	tpm2_cmd_u32(&m->c, TPM2_RH_ENDORSEMENT);
	tpm2_cmd_pw_session(&m->c);
	tpm2_cmd_u16(&m->c, 4);	/* inSensitive: */
	tpm2_cmd_u16(&m->c, 0);	/*   userAuth empty */
	tpm2_cmd_u16(&m->c, 0);	/*   data empty */
	ek_template_append(&m->c, k->type);
	tpm2_cmd_u16(&m->c, 0);	/* outsideInfo */
	tpm2_cmd_u32(&m->c, 0);	/* creationPCR: none */
	ret = run(m, "TPM2_CreatePrimary(EK)", &r);
	if (ret < 0)
		return ret;
	info(m->ctx, "%s EK derived in %lld ms", k->name, (long long)(vtpm_now_ms() - t0));
	handle = tpm2_rsp_u32(&r);
	tpm2_rsp_u32(&r);	/* parameterSize */
	ret = ek_public_parse(&r, k->type, pub);
	if (ret < 0) {
		err(m->ctx, "the TPM's %s EK does not match its template", k->name);
		/* Still flushed below. */
	}

	if (ret == 0) {
		ret = read_persistent(m, k, &there);
		if (ret == 0 && memcmp(&there, pub, sizeof(there)) != 0)
			ret = -EEXIST;
		if (ret == -EEXIST) {
			warn(m->ctx, "handle 0x%08x holds another key than the %s EK; kept",
			     k->handle, k->name);
			ret = 0;
		} else if (ret == -ENOENT) {
			tpm2_cmd_begin(&m->c, TPM2_ST_SESSIONS, TPM2_CC_EVICT_CONTROL);
			tpm2_cmd_u32(&m->c, TPM2_RH_OWNER);
			tpm2_cmd_u32(&m->c, handle);
			tpm2_cmd_pw_session(&m->c);
			tpm2_cmd_u32(&m->c, k->handle);
			ret = run(m, "TPM2_EvictControl(EK)", &r);
			if (ret == 0) {
				info(m->ctx, "%s EK made persistent at 0x%08x", k->name, k->handle);
				*made = true;
			}
		}
	}

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH_CONTEXT);
	tpm2_cmd_u32(&m->c, handle);
	flush = run(m, "TPM2_FlushContext", &r);
	return ret < 0 ? ret : flush;
}

static int ek_certify(struct mfg *m, const struct ek_kind *k, const struct ek_public *pub,
		      struct vtpm_ca *ca, bool *made)
{
	_cleanup_free_ uint8_t *der = NULL;
	int64_t t0 = vtpm_now_ms();
	size_t der_len = 0;
	uint32_t attrs;
	uint16_t size;
	int ret;

	ret = tpm2_nv_read_public(m->b, k->nv_index, &attrs, &size);
	if (ret == 0)
		return 0;	/* a certificate is there: kept */
	if (ret != -ENOENT)
		return ret;
	ret = ek_cert_build(m->ctx, ca, pub, &m->id, &der, &der_len);
	if (ret < 0)
		return ret;
	ret = tpm2_nv_define_write(m->b, k->nv_index, EK_CERT_NV_ATTRS, der, der_len, m->nv_chunk);
	if (ret < 0)
		return ret;
	info(m->ctx, "%s EK certificate (%zu bytes) signed and written to NV index 0x%08x in %lld ms",
	     k->name, der_len, k->nv_index, (long long)(vtpm_now_ms() - t0));
	*made = true;
	return 0;
}

static int nv_lock(struct mfg *m, const struct ek_kind *k, bool *made)
{
	uint32_t attrs;
	uint16_t size;
	int ret = tpm2_nv_read_public(m->b, k->nv_index, &attrs, &size);

	if (ret == -ENOENT || (ret == 0 && attrs & TPMA_NV_WRITELOCKED))
		return 0;
	if (ret < 0)
		return ret;
	if (!(attrs & TPMA_NV_WRITEDEFINE) || !(attrs & TPMA_NV_PPWRITE)) {
		warn(m->ctx, "NV index 0x%08x cannot be locked for good (no WRITEDEFINE/PPWRITE)",
		     k->nv_index);
		return 0;
	}
	ret = tpm2_nv_write_lock(m->b, k->nv_index);
	if (ret == 0)
		*made = true;
	return ret;
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
	ret = run(m, "TPM2_GetCapability(PCRS)", &r);
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
static int pcr_allocate(struct mfg *m, unsigned int want, bool *changed)
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
	ret = run(m, "TPM2_PCR_Allocate", &r);
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

static int check_options(const struct vtpm_manufacture_options *o)
{
	unsigned int known = VTPM_MANUFACTURE_EK | VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_LOCK_NV;
	bool user_ca = o->ca_key || o->ca_cert;

	if (o->size < offsetof(struct vtpm_manufacture_options, ca_cert) + sizeof(o->ca_cert))
		return -EINVAL;
	if (o->flags & ~known || o->pcr_banks & ~PCR_BANKS_ALL)
		return -EINVAL;
	if (o->flags & VTPM_MANUFACTURE_EK_CERT &&
	    (o->ca_dir ? user_ca : !(o->ca_key && o->ca_cert)))
		return -EINVAL;
	return 0;
}

static int manufacture(struct mfg *m, const struct vtpm_manufacture_options *o,
		       struct vtpm_ca *ca, bool *changed)
{
	unsigned int flags = o->flags, banks = o->pcr_banks;
	bool pcr_changed = false;
	size_t eks_made = 0;
	int ret;

	if (flags & VTPM_MANUFACTURE_EK_CERT)
		flags |= VTPM_MANUFACTURE_EK;
	ret = read_properties(m);
	for (size_t i = 0; ret == 0 && flags & VTPM_MANUFACTURE_EK && i < ARRAY_SIZE(ek_kinds); i++) {
		struct ek_public pub;
		bool made = false;

		ret = ek_create(m, &ek_kinds[i], &pub, &made);
		eks_made += made;
		if (ret == 0 && ca)
			ret = ek_certify(m, &ek_kinds[i], &pub, ca, changed);
	}
	if (eks_made)
		*changed = true;
	/* A new part (no EK before) gets swtpm_setup's banks; a made one keeps its own. */
	if (ret == 0 && !banks && eks_made == ARRAY_SIZE(ek_kinds))
		banks = VTPM_PCR_BANKS_DEFAULT;
	if (ret == 0 && banks)
		ret = pcr_allocate(m, banks, &pcr_changed);
	if (pcr_changed)
		*changed = true;
	for (size_t i = 0; ret == 0 && flags & VTPM_MANUFACTURE_LOCK_NV && i < ARRAY_SIZE(ek_kinds); i++)
		ret = nv_lock(m, &ek_kinds[i], changed);
	if (ret == 0 && pcr_changed)
		ret = power_cycle(m);
	if (ret == 0 && (m->started_here || m->power_cycled))
		ret = start_and_test(m);
	return ret;
}

/* The session of one call for @backend; free() it. */
static struct mfg *mfg_new(struct vtpm_backend *backend)
{
	struct mfg *m = calloc(1, sizeof(*m));

	if (m) {
		m->b = backend;
		m->ctx = vtpm_backend_get_ctx(backend);
	}
	return m;
}

VTPM_EXPORT int vtpm_manufacture(struct vtpm_backend *backend,
				 const struct vtpm_manufacture_options *opts)
{
	int64_t t0 = vtpm_now_ms();
	struct vtpm_ca *ca = NULL;
	bool changed = false;
	struct mfg *m;
	int ret;

	if (!backend || !opts || check_options(opts) < 0 ||
	    vtpm_backend_get_version(backend) != VTPM_VERSION_2)
		return -EINVAL;
	if (!vtpm_backend_is_running(backend))
		return -ENXIO;
	m = mfg_new(backend);
	if (!m)
		return -ENOMEM;

	/* The CA first: an unusable one leaves the TPM untouched. */
	if (opts->flags & VTPM_MANUFACTURE_EK_CERT) {
		ret = opts->ca_dir ? vtpm_ca_open_dir(m->ctx, opts->ca_dir, &ca) :
				     vtpm_ca_load(m->ctx, opts->ca_key, opts->ca_cert, &ca);
		if (ret < 0) {
			if (opts->ca_dir && ret != -EBADMSG && ret != -EKEYREJECTED)
				err(m->ctx, "cannot use the CA directory %s: %s", opts->ca_dir,
				    strerror(-ret));
			free(m);
			return ret;
		}
	}
	ret = startup(m);
	if (ret == 0)
		ret = manufacture(m, opts, ca, &changed);
	vtpm_ca_free(ca);
	if (ret == 0)
		info(m->ctx, "manufacture %s in %lld ms", changed ? "done" : "had nothing to do",
		     (long long)(vtpm_now_ms() - t0));
	free(m);
	if (ret < 0)
		return ret;
	return changed ? 1 : 0;
}

VTPM_EXPORT int vtpm_ek_cert_read(struct vtpm_backend *backend, enum vtpm_ek_type type,
				  unsigned int flags, uint8_t **cert, size_t *cert_len)
{
	_cleanup_free_ uint8_t *der = NULL;
	uint8_t *pem = NULL;
	size_t der_len = 0, pem_len = 0;
	const struct ek_kind *k = NULL;
	struct mfg *m;
	int ret, ret2 = 0;

	for (size_t i = 0; i < ARRAY_SIZE(ek_kinds); i++)
		if (ek_kinds[i].type == type)
			k = &ek_kinds[i];
	if (!backend || !k || flags & ~VTPM_EK_CERT_PEM || !cert || !cert_len ||
	    vtpm_backend_get_version(backend) != VTPM_VERSION_2)
		return -EINVAL;
	if (!vtpm_backend_is_running(backend))
		return -ENXIO;
	m = mfg_new(backend);
	if (!m)
		return -ENOMEM;
	ret = startup(m);
	if (ret == 0)
		ret = read_properties(m);
	if (ret == 0)
		ret = tpm2_nv_read_all(backend, k->nv_index, m->nv_chunk, &der, &der_len);
	if (m->started_here)
		ret2 = power_cycle(m);
	free(m);
	if (ret == 0)
		ret = ret2;
	if (ret < 0)
		return ret;
	/* Checks that it is one DER certificate, in either case. */
	ret = ek_cert_to_pem(der, der_len, &pem, &pem_len);
	if (ret < 0)
		return ret;
	if (flags & VTPM_EK_CERT_PEM) {
		*cert = pem;
		*cert_len = pem_len;
	} else {
		free(pem);
		*cert = TAKE_PTR(der);
		*cert_len = der_len;
	}
	return 0;
}

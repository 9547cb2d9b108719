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

/* A small TPM's NV buffer; used when it does not report TPM_PT_NV_BUFFER_MAX. */
#define NV_CHUNK_FALLBACK 512

static const struct ek_kind {
	enum vtpm_ek_type type;
	const char *name;
	uint32_t handle;
	uint32_t nv_index;
} ek_kinds[] = {
	{ VTPM_EK_RSA2048, "RSA 2048", EK_HANDLE_RSA2048, EK_NV_INDEX_RSA2048_CERT },
	{ VTPM_EK_ECC_NIST_P256, "ECC NIST P-256", EK_HANDLE_ECC_P256, EK_NV_INDEX_ECC_P256_CERT },
};

int mfg_run(struct mfg *m, const char *what, struct tpm2_rsp *r)
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
	ret = mfg_run(m, "TPM2_Shutdown", &r);
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
		ret = mfg_run(m, "TPM2_Startup", &r);
		if (ret < 0)
			return ret;
	}
	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_SELF_TEST);
	tpm2_cmd_u8(&m->c, 1); /* fullTest: YES */
	return mfg_run(m, "TPM2_SelfTest", &r);
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
	ret = mfg_run(m, "TPM2_GetCapability(TPM_PROPERTIES)", &r);
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
	ret = mfg_run(m, "TPM2_CreatePrimary(EK)", &r);
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
			ret = mfg_run(m, "TPM2_EvictControl(EK)", &r);
			if (ret == 0) {
				info(m->ctx, "%s EK made persistent at 0x%08x", k->name, k->handle);
				*made = true;
			}
		}
	}

	tpm2_cmd_begin(&m->c, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH_CONTEXT);
	tpm2_cmd_u32(&m->c, handle);
	flush = mfg_run(m, "TPM2_FlushContext", &r);
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
	ret = ek_cert_build(m->ctx, ca, TCG_CERT_EK, pub, &m->id, &der, &der_len);
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

/* The platform certificate for the RSA EK, as swtpm_setup --create-platform-cert. */
static int platform_certify(struct mfg *m, const struct ek_public *pub, struct vtpm_ca *ca,
			    bool *made)
{
	_cleanup_free_ uint8_t *der = NULL;
	size_t der_len = 0;
	uint32_t attrs;
	uint16_t size;
	int ret;

	ret = tpm2_nv_read_public(m->b, PLATFORM_NV_INDEX_CERT, &attrs, &size);
	if (ret == 0)
		return 0;	/* one is there: kept */
	if (ret != -ENOENT)
		return ret;
	ret = ek_cert_build(m->ctx, ca, TCG_CERT_PLATFORM, pub, &m->id, &der, &der_len);
	if (ret == 0)
		ret = tpm2_nv_define_write(m->b, PLATFORM_NV_INDEX_CERT, EK_CERT_NV_ATTRS, der,
					   der_len, m->nv_chunk);
	if (ret < 0)
		return ret;
	info(m->ctx, "platform certificate (%zu bytes) written to NV index 0x%08x", der_len,
	     PLATFORM_NV_INDEX_CERT);
	*made = true;
	return 0;
}

static int nv_lock(struct mfg *m, uint32_t index, bool *made)
{
	uint32_t attrs;
	uint16_t size;
	int ret = tpm2_nv_read_public(m->b, index, &attrs, &size);

	if (ret == -ENOENT || (ret == 0 && attrs & TPMA_NV_WRITELOCKED))
		return 0;
	if (ret < 0)
		return ret;
	if (!(attrs & TPMA_NV_WRITEDEFINE) || !(attrs & TPMA_NV_PPWRITE)) {
		warn(m->ctx, "NV index 0x%08x cannot be locked for good (no WRITEDEFINE/PPWRITE)",
		     index);
		return 0;
	}
	ret = tpm2_nv_write_lock(m->b, index);
	if (ret == 0)
		*made = true;
	return ret;
}

static int check_options(const struct vtpm_manufacture_options *o)
{
	unsigned int known = VTPM_MANUFACTURE_EK | VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_LOCK_NV |
			     VTPM_MANUFACTURE_PLATFORM_CERT;
	bool user_ca = o->ca_key || o->ca_cert;

	if (o->size < offsetof(struct vtpm_manufacture_options, ca_cert) + sizeof(o->ca_cert))
		return -EINVAL;
	if (o->flags & ~known || o->pcr_banks & ~VTPM_PCR_BANKS_ALL)
		return -EINVAL;
	if (o->flags & (VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_PLATFORM_CERT) &&
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

	if (flags & (VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_PLATFORM_CERT))
		flags |= VTPM_MANUFACTURE_EK;
	ret = read_properties(m);
	for (size_t i = 0; ret == 0 && flags & VTPM_MANUFACTURE_EK && i < ARRAY_SIZE(ek_kinds); i++) {
		struct ek_public pub;
		bool made = false;

		ret = ek_create(m, &ek_kinds[i], &pub, &made);
		eks_made += made;
		if (ret == 0 && flags & VTPM_MANUFACTURE_EK_CERT)
			ret = ek_certify(m, &ek_kinds[i], &pub, ca, changed);
		if (ret == 0 && flags & VTPM_MANUFACTURE_PLATFORM_CERT &&
		    ek_kinds[i].type == VTPM_EK_RSA2048)
			ret = platform_certify(m, &pub, ca, changed);
	}
	if (eks_made)
		*changed = true;
	/* A new part (no EK before) gets swtpm_setup's banks; a made one keeps its own. */
	if (ret == 0 && !banks && eks_made == ARRAY_SIZE(ek_kinds))
		banks = VTPM_PCR_BANKS_DEFAULT;
	if (ret == 0 && banks)
		ret = mfg_pcr_allocate(m, banks, &pcr_changed);
	if (pcr_changed)
		*changed = true;
	for (size_t i = 0; ret == 0 && flags & VTPM_MANUFACTURE_LOCK_NV && i < ARRAY_SIZE(ek_kinds); i++)
		ret = nv_lock(m, ek_kinds[i].nv_index, changed);
	if (ret == 0 && flags & VTPM_MANUFACTURE_LOCK_NV)
		ret = nv_lock(m, PLATFORM_NV_INDEX_CERT, changed);
	if (ret == 0 && pcr_changed)
		ret = power_cycle(m);
	if (ret == 0 && (m->started_here || m->power_cycled))
		ret = start_and_test(m);
	return ret;
}

/*
 * The session of one call for @backend (free() it), after the checks both
 * calls make: -EINVAL without a TPM 2 backend or with @args_ok false,
 * -ENXIO if the TPM is not running, -ENOMEM.
 */
static int mfg_new(struct vtpm_backend *backend, bool args_ok, struct mfg **out)
{
	struct mfg *m;

	if (!backend || !args_ok || vtpm_backend_get_version(backend) != VTPM_VERSION_2)
		return -EINVAL;
	if (!vtpm_backend_is_running(backend))
		return -ENXIO;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->b = backend;
	m->ctx = vtpm_backend_get_ctx(backend);
	*out = m;
	return 0;
}

VTPM_EXPORT int vtpm_manufacture(struct vtpm_backend *backend,
				 const struct vtpm_manufacture_options *opts)
{
	int64_t t0 = vtpm_now_ms();
	struct vtpm_ca *ca = NULL;
	bool changed = false;
	struct mfg *m;
	int ret;

	ret = mfg_new(backend, opts && check_options(opts) == 0, &m);
	if (ret < 0)
		return ret;

	/* The CA first: an unusable one leaves the TPM untouched. */
	if (opts->flags & (VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_PLATFORM_CERT)) {
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
	ret = mfg_new(backend, k && !(flags & ~VTPM_EK_CERT_PEM) && cert && cert_len, &m);
	if (ret < 0)
		return ret;
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

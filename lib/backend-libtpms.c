/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The libtpms backend: a TPM 1.2 or TPM 2 emulated in this process, its
 * state kept in a directory.
 *
 * libtpms holds its TPM in global variables and calls back without a user
 * pointer, so the one running instance is reachable through a process-wide
 * pointer, and a second instance is refused.
 */
#include "config.h"

#include <libtpms/tpm_error.h>
#include <libtpms/tpm_library.h>
#include <libtpms/tpm_nvfilename.h>
#include <libtpms/tpm_tis.h>
#include <fcntl.h>
#include <string.h>
#include <syslog.h>

#include "state-dir.h"
#include "vtpm-internal.h"
#include "wire.h"

struct libtpms_backend {
	struct vtpm_ctx *ctx;
	enum vtpm_version version;
	struct vtpm_state_dir *state_dir;
	bool resume;	       /* load saved volatile state at the next start */
	bool started;	       /* TPM_Startup succeeded (or was resumed) since power-on */
	uint8_t locality;      /* of the command being processed */
	unsigned char *respbuf; /* libtpms' response buffer, kept across calls */
	uint32_t respbuf_size;
	uint8_t cmdbuf[VTPM_BUFFER_SIZE];
};

/* The instance libtpms' callbacks act on; at most one per process. */
static struct libtpms_backend *instance;

static TPM_RESULT cb_nvram_init(void)
{
	return TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_loaddata(unsigned char **data, uint32_t *length,
				    uint32_t tpm_number, const char *name)
{
	uint8_t *buf;
	size_t len;
	int r;

	if (strcmp(name, TPM_VOLATILESTATE_NAME) == 0 && !instance->resume)
		return TPM_RETRY;
	r = vtpm_state_dir_load(instance->state_dir, name, &buf, &len);
	/* TPM_RETRY tells libtpms "no such blob": a fresh TPM. */
	if (r == -ENOENT)
		return TPM_RETRY;
	if (r < 0)
		return TPM_FAIL;
	if (strcmp(name, TPM_VOLATILESTATE_NAME) == 0)
		instance->started = true;
	*data = buf;
	*length = (uint32_t)len;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_storedata(const unsigned char *data, uint32_t length,
				     uint32_t tpm_number, const char *name)
{
	return vtpm_state_dir_store(instance->state_dir, name, data, length) < 0 ?
	       TPM_FAIL : TPM_SUCCESS;
}

static TPM_RESULT cb_nvram_deletename(uint32_t tpm_number, const char *name, TPM_BOOL must_exist)
{
	int r = vtpm_state_dir_remove(instance->state_dir, name);

	if (r == -ENOENT && !must_exist)
		return TPM_SUCCESS;
	return r < 0 ? TPM_FAIL : TPM_SUCCESS;
}

static TPM_RESULT cb_io_init(void)
{
	return TPM_SUCCESS;
}

static TPM_RESULT cb_io_getlocality(TPM_MODIFIER_INDICATOR *locality, uint32_t tpm_number)
{
	*locality = instance->locality;
	return TPM_SUCCESS;
}

static TPM_RESULT cb_io_getphysicalpresence(TPM_BOOL *present, uint32_t tpm_number)
{
	*present = FALSE;
	return TPM_SUCCESS;
}

static struct libtpms_callbacks callbacks = {
	.sizeOfStruct = sizeof(struct libtpms_callbacks),
	.tpm_nvram_init = cb_nvram_init,
	.tpm_nvram_loaddata = cb_nvram_loaddata,
	.tpm_nvram_storedata = cb_nvram_storedata,
	.tpm_nvram_deletename = cb_nvram_deletename,
	.tpm_io_init = cb_io_init,
	.tpm_io_getlocality = cb_io_getlocality,
	.tpm_io_getphysicalpresence = cb_io_getphysicalpresence,
};

/* Power on; the state directory is locked by the caller. */
static int power_on(struct libtpms_backend *b)
{
	TPM_RESULT rc;
	int r;

	rc = TPMLIB_ChooseTPMVersion(b->version == VTPM_VERSION_2 ?
				     TPMLIB_TPM_VERSION_2 : TPMLIB_TPM_VERSION_1_2);
	if (rc == TPM_SUCCESS)
		rc = TPMLIB_RegisterCallbacks(&callbacks);
	if (rc != TPM_SUCCESS) {
		err(b->ctx, "libtpms refused its set-up: 0x%x", rc);
		return -EIO;
	}
	/* Responses must fit the proxy driver's buffer. */
	TPMLIB_SetBufferSize(VTPM_BUFFER_SIZE, NULL, NULL);

	b->started = false; /* until a start-up, or resumed state (cb_nvram_loaddata) */
	rc = TPMLIB_MainInit();
	if (rc != TPM_SUCCESS) {
		/* Releases libtpms' version lock, or no later start could succeed. */
		TPMLIB_Terminate();
		err(b->ctx, "libtpms could not start the TPM (0x%x): state damaged or incompatible?", rc);
		return -EIO;
	}

	/* Saved volatile state is good for one start only. */
	r = vtpm_state_dir_remove(b->state_dir, VTPM_BLOB_VOLATILE);
	if (r < 0 && r != -ENOENT) {
		TPMLIB_Terminate();
		return r;
	}
	b->resume = false;
	return 0;
}

static int libtpms_start(void *data)
{
	struct libtpms_backend *b = data;
	int r;

	r = vtpm_state_dir_lock(b->state_dir);
	if (r < 0)
		return r;
	r = power_on(b);
	if (r < 0)
		vtpm_state_dir_unlock(b->state_dir);
	return r;
}

/* Whether @cmd was a TPM_Startup / TPM2_Startup that succeeded. */
static bool is_successful_startup(enum vtpm_version version, const uint8_t *cmd, size_t cmd_len,
				  const uint8_t *resp, size_t resp_len)
{
	struct tpm_header c, r;

	if (!vtpm_wire_parse_header(cmd, cmd_len, &c) || !vtpm_wire_parse_header(resp, resp_len, &r))
		return false;
	return r.code == 0 &&
	       c.code == (version == VTPM_VERSION_2 ? TPM2_CC_STARTUP : TPM12_ORD_STARTUP);
}

static int libtpms_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			   uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	struct libtpms_backend *b = data;
	uint32_t len = 0;
	TPM_RESULT rc;

	if (cmd_len > sizeof(b->cmdbuf))
		return -EMSGSIZE;
	/* TPMLIB_Process() takes a non-const command: give it our copy. */
	memcpy(b->cmdbuf, cmd, cmd_len);
	b->locality = locality;
	rc = TPMLIB_Process(&b->respbuf, &len, &b->respbuf_size, b->cmdbuf, (uint32_t)cmd_len);
	if (rc != TPM_SUCCESS)
		return -EIO;
	if (len > resp_size)
		return -EMSGSIZE;
	memcpy(resp, b->respbuf, len);
	*resp_len = len;
	if (is_successful_startup(b->version, cmd, cmd_len, resp, len))
		b->started = true;
	return 0;
}

static int save_volatile(struct libtpms_backend *b)
{
	unsigned char *buf = NULL;
	uint32_t len = 0;
	int r;

	if (TPMLIB_VolatileAll_Store(&buf, &len) != TPM_SUCCESS)
		return -EIO;
	r = vtpm_state_dir_store(b->state_dir, VTPM_BLOB_VOLATILE, buf, len);
	free(buf);
	return r;
}

static int libtpms_shutdown(void *data)
{
	struct libtpms_backend *b = data;
	int r = 0;

	/*
	 * A TPM that was never started has no volatile state worth resuming:
	 * swtpm would resume it as started, with the PCR allocation of the
	 * last start rather than the one TPM2_PCR_Allocate set.
	 */
	if (b->started)
		r = save_volatile(b);
	if (r < 0)
		err(b->ctx, "could not save the volatile state: %s", strerror(-r));
	TPMLIB_Terminate();
	vtpm_state_dir_unlock(b->state_dir);
	return r;
}

static int libtpms_reset(void *data)
{
	struct libtpms_backend *b = data;

	/* A power cycle: volatile state is dropped, not saved. */
	TPMLIB_Terminate();
	b->resume = false;
	return power_on(b);
}

static const char *blob_name(enum vtpm_state_type type)
{
	switch (type) {
	case VTPM_STATE_PERMANENT:
		return VTPM_BLOB_PERMANENT;
	case VTPM_STATE_VOLATILE:
		return VTPM_BLOB_VOLATILE;
	case VTPM_STATE_SAVESTATE:
		return VTPM_BLOB_SAVESTATE;
	}
	return NULL;
}

static int libtpms_get_state(void *data, enum vtpm_state_type type, uint8_t **blob, size_t *len)
{
	struct libtpms_backend *b = data;
	unsigned char *buf = NULL;
	uint32_t buf_len = 0;

	/* A running TPM's volatile state lives only in memory. */
	if (type == VTPM_STATE_VOLATILE && vtpm_state_dir_is_locked(b->state_dir)) {
		if (TPMLIB_VolatileAll_Store(&buf, &buf_len) != TPM_SUCCESS)
			return -EIO;
		*blob = buf;
		*len = buf_len;
		return 0;
	}
	/* Everything else libtpms writes through to the directory at once. */
	return vtpm_state_dir_load(b->state_dir, blob_name(type), blob, len);
}

static int libtpms_set_state(void *data, enum vtpm_state_type type, const uint8_t *blob, size_t len)
{
	struct libtpms_backend *b = data;
	int r;

	r = vtpm_state_dir_lock(b->state_dir);
	if (r < 0)
		return r;
	r = vtpm_state_dir_store(b->state_dir, blob_name(type), blob, len);
	vtpm_state_dir_unlock(b->state_dir);
	if (r == 0 && type == VTPM_STATE_VOLATILE)
		b->resume = true;
	return r;
}

static int libtpms_get_info(void *data, uint64_t flags, char **info)
{
	/* libtpms ignores flags it does not know. */
	char *s = TPMLIB_GetInfo((enum TPMLIB_InfoFlags)flags);

	if (!s)
		return -ENOMEM;
	*info = s;
	return 0;
}

static int libtpms_get_established(void *data, int *established)
{
	TPM_BOOL bit = FALSE;

	if (TPM_IO_TpmEstablished_Get(&bit) != TPM_SUCCESS)
		return -EIO;
	*established = bit ? 1 : 0;
	return 0;
}

static int libtpms_reset_established(void *data, uint8_t locality)
{
	struct libtpms_backend *b = data;
	uint8_t saved = b->locality;
	TPM_RESULT rc;

	/* libtpms asks cb_io_getlocality() whether the caller may. */
	b->locality = locality;
	rc = TPM_IO_TpmEstablished_Reset();
	b->locality = saved;
	if (rc == TPM_BAD_LOCALITY)
		return -EPERM;
	return rc == TPM_SUCCESS ? 0 : -EIO;
}

static int libtpms_store_volatile(void *data)
{
	return save_volatile(data);
}

static void libtpms_free(void *data)
{
	struct libtpms_backend *b = data;

	vtpm_state_dir_free(b->state_dir);
	free(b->respbuf);
	vtpm_ctx_unref(b->ctx);
	__atomic_store_n(&instance, NULL, __ATOMIC_RELEASE);
	free(b);
}

static const struct vtpm_backend_ops libtpms_ops = {
	.size = sizeof(struct vtpm_backend_ops),
	.start = libtpms_start,
	.process = libtpms_process,
	.reset = libtpms_reset,
	.shutdown = libtpms_shutdown,
	.get_state = libtpms_get_state,
	.set_state = libtpms_set_state,
	.free = libtpms_free,
	.get_info = libtpms_get_info,
	.get_established = libtpms_get_established,
	.reset_established = libtpms_reset_established,
	.store_volatile = libtpms_store_volatile,
};

/*
 * libtpms prints its own errors ("Entering failure mode ...") to stderr
 * unless given another fd.  A context that logs no errors (a CLI that
 * explains failures in one line of its own) wants them quiet too.  Decided
 * here, before any sandbox, since it needs an open.
 */
static void route_libtpms_errors(struct vtpm_ctx *ctx)
{
	static int null_fd = -1;

	if (vtpm_ctx_get_log_priority(ctx) >= LOG_ERR) {
		TPMLIB_SetDebugFD(-1);
		return;
	}
	if (null_fd < 0)
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd >= 0)
		TPMLIB_SetDebugFD(null_fd);
}

/* The constructor; @check reads the state present before it returns. */
static int new_libtpms(struct vtpm_ctx *ctx, const struct vtpm_libtpms_options *o, bool check,
		       struct vtpm_backend **backend)
{
	struct libtpms_backend *b, *expected = NULL;
	int r;

	if ((o->version != VTPM_VERSION_1_2 && o->version != VTPM_VERSION_2) ||
	    (o->flags & ~VTPM_LIBTPMS_RESUME) || !o->state_dir || !*o->state_dir)
		return -EINVAL;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	if (!__atomic_compare_exchange_n(&instance, &expected, b, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free(b);
		err(ctx, "this process already runs a libtpms TPM; use one process per TPM");
		return -EBUSY;
	}
	b->ctx = vtpm_ctx_ref(ctx);
	b->version = o->version;
	b->resume = o->flags & VTPM_LIBTPMS_RESUME;
	route_libtpms_errors(ctx);

	r = vtpm_state_dir_open(ctx, o->state_dir, o->version, &b->state_dir);
	if (r < 0)
		goto fail;
	vtpm_state_dir_set_key(b->state_dir, o->key);
	if (check) {
		r = vtpm_state_dir_check(b->state_dir);
		if (r < 0)
			goto fail;
	}
	r = vtpm_backend_new(ctx, o->version, &libtpms_ops, b, backend);
	if (r < 0)
		goto fail;
	vtpm_backend_set_key(*backend, o->key);
	return 0;

fail:
	libtpms_free(b);
	return r;
}

VTPM_EXPORT int vtpm_backend_new_libtpms(struct vtpm_ctx *ctx, enum vtpm_version version,
					 const char *state_dir, unsigned int flags,
					 struct vtpm_backend **backend)
{
	const struct vtpm_libtpms_options o = {
		.size = sizeof(o), .version = version, .state_dir = state_dir, .flags = flags,
	};

	return new_libtpms(ctx, &o, false, backend);
}

VTPM_EXPORT int vtpm_backend_new_libtpms_opts(struct vtpm_ctx *ctx, const struct vtpm_libtpms_options *opts,
					      struct vtpm_backend **backend)
{
	struct vtpm_libtpms_options o = { .size = sizeof(o) };

	/* Older callers know a prefix of the struct; the rest stays zero. */
	if (!opts || opts->size < offsetof(struct vtpm_libtpms_options, flags) + sizeof(opts->flags))
		return -EINVAL;
	memcpy(&o, opts, opts->size < sizeof(o) ? opts->size : sizeof(o));
	return new_libtpms(ctx, &o, true, backend);
}

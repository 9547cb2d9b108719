/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * swtpm's control protocol: how requests are framed on a stream, and the
 * state blob wrapping; see ctrl-proto.h.
 */
#include "config.h"

#include <string.h>

#include <openssl/crypto.h>

#include "ctrl-proto.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"
#include "wire.h"

/* A blob type on the wire is the public enum's value, passed as it is. */
_Static_assert(PTM_BLOB_TYPE_PERMANENT == VTPM_STATE_PERMANENT, "blob type differs");
_Static_assert(PTM_BLOB_TYPE_VOLATILE == VTPM_STATE_VOLATILE, "blob type differs");
_Static_assert(PTM_BLOB_TYPE_SAVESTATE == VTPM_STATE_SAVESTATE, "blob type differs");

/*
 * The layouts of tpm_ioctl.h's request and response halves, restated so the
 * compiler checks the sizes above: a client such as QEMU sends sizeof() of
 * these (or of their whole union), and expects that many bytes back.
 */
struct ptm_init_layout {
	union {
		struct { uint32_t init_flags; } req;
		struct { uint32_t tpm_result; } resp;
	} u;
};
struct ptm_loc_layout {
	union {
		struct { uint8_t loc; } req;
		struct { uint32_t tpm_result; } resp;
	} u;
};
struct ptm_cap_resp_layout { uint32_t tpm_result, caps; };
struct ptm_est_resp_layout { uint32_t tpm_result; uint8_t bit, pad[3]; };
struct ptm_getstate_req_layout { uint32_t state_flags, type, offset; };
struct ptm_getstate_resp_layout { uint32_t tpm_result, state_flags, totlength, length; };
struct ptm_setstate_req_layout { uint32_t state_flags, type, length; };
struct ptm_getconfig_resp_layout { uint32_t tpm_result, flags; };
struct ptm_setbufsize_req_layout { uint32_t buffersize; };
struct ptm_setbufsize_resp_layout { uint32_t tpm_result, buffersize, minsize, maxsize; };
struct ptm_getinfo_req_layout { uint64_t flags; uint32_t offset, pad; };
struct ptm_getinfo_resp_layout { uint32_t tpm_result, totlength, length; };
struct ptm_lockstorage_req_layout { uint32_t retries; };
struct ptm_hdata_req_layout { uint32_t length; uint8_t data[PTM_HDATA_MAX]; };

_Static_assert(sizeof(uint32_t) == PTM_CMD_SIZE, "command code");
_Static_assert(sizeof(uint32_t) == PTM_RES_SIZE_BYTES, "ptm_res");
_Static_assert(sizeof(struct ptm_init_layout) == PTM_INIT_REQ_SIZE, "ptm_init");
_Static_assert(sizeof(((struct ptm_loc_layout *)0)->u.req) == PTM_LOC_REQ_MIN, "ptm_loc.u.req");
_Static_assert(sizeof(struct ptm_loc_layout) == PTM_LOC_REQ_SIZE, "ptm_loc");
/* ptm_reset_est has the same layout as ptm_loc. */
_Static_assert(PTM_RESET_EST_REQ_MIN == PTM_LOC_REQ_MIN, "ptm_reset_est.u.req");
_Static_assert(PTM_RESET_EST_REQ_SIZE == PTM_LOC_REQ_SIZE, "ptm_reset_est");
_Static_assert(sizeof(struct ptm_cap_resp_layout) == PTM_CAP_RESP_SIZE, "ptm_cap_n");
_Static_assert(sizeof(struct ptm_est_resp_layout) == PTM_EST_RESP_SIZE, "ptm_est");
_Static_assert(sizeof(struct ptm_getstate_req_layout) == PTM_GETSTATE_REQ_SIZE, "ptm_getstate.u.req");
_Static_assert(sizeof(struct ptm_getstate_resp_layout) == PTM_GETSTATE_RESP_HEADER_SIZE,
	      "offsetof(ptm_getstate, u.resp.data)");
_Static_assert(sizeof(struct ptm_setstate_req_layout) == PTM_SETSTATE_REQ_HEADER_SIZE,
	      "offsetof(ptm_setstate, u.req.data)");
_Static_assert(sizeof(struct ptm_getconfig_resp_layout) == PTM_GETCONFIG_RESP_SIZE, "ptm_getconfig");
_Static_assert(sizeof(struct ptm_setbufsize_req_layout) == PTM_SETBUFSIZE_REQ_SIZE,
	      "ptm_setbuffersize.u.req");
_Static_assert(sizeof(struct ptm_setbufsize_resp_layout) == PTM_SETBUFSIZE_RESP_SIZE,
	      "ptm_setbuffersize.u.resp");
_Static_assert(sizeof(struct ptm_getinfo_req_layout) == PTM_GETINFO_REQ_SIZE, "ptm_getinfo.u.req");
_Static_assert(sizeof(struct ptm_getinfo_resp_layout) == PTM_GETINFO_RESP_HEADER_SIZE,
	      "offsetof(ptm_getinfo, u.resp.buffer)");
_Static_assert(sizeof(struct ptm_lockstorage_req_layout) == PTM_LOCKSTORAGE_REQ_SIZE, "ptm_lockstorage");
_Static_assert(offsetof(struct ptm_hdata_req_layout, data) == PTM_HDATA_REQ_HEADER_SIZE,
	      "offsetof(ptm_hdata, u.req.data)");

/* A request whose size is fixed by its command: @body bytes after the code. */
static int fixed(size_t body, size_t *min, size_t *max)
{
	*min = *max = PTM_CMD_SIZE + body;
	return 0;
}

/* A request with a length field at @len_off (after the code) telling how much follows @header. */
static int with_length(const uint8_t *in, size_t len, size_t header, size_t len_off, uint32_t limit,
		       size_t *min, size_t *max)
{
	uint32_t payload;

	fixed(header, min, max);
	if (len < *min)
		return 0;
	payload = get_be32(in + PTM_CMD_SIZE + len_off);
	if (payload > limit)
		return -EMSGSIZE;
	*min = *max = PTM_CMD_SIZE + header + payload;
	return 0;
}

int vtpm_ctrl_request_size(const uint8_t *in, size_t len, size_t *min, size_t *max)
{
	if (len < PTM_CMD_SIZE)
		return fixed(0, min, max);
	switch (get_be32(in)) {
	case PTM_CMD_INIT:
		return fixed(PTM_INIT_REQ_SIZE, min, max);
	case PTM_CMD_SET_LOCALITY:
		fixed(PTM_LOC_REQ_SIZE, min, max);
		*min = PTM_CMD_SIZE + PTM_LOC_REQ_MIN;
		return 0;
	case PTM_CMD_RESET_TPMESTABLISHED:
		fixed(PTM_RESET_EST_REQ_SIZE, min, max);
		*min = PTM_CMD_SIZE + PTM_RESET_EST_REQ_MIN;
		return 0;
	case PTM_CMD_SET_BUFFERSIZE:
		return fixed(PTM_SETBUFSIZE_REQ_SIZE, min, max);
	case PTM_CMD_LOCK_STORAGE:
		return fixed(PTM_LOCKSTORAGE_REQ_SIZE, min, max);
	case PTM_CMD_GET_INFO:
		return fixed(PTM_GETINFO_REQ_SIZE, min, max);
	case PTM_CMD_GET_STATEBLOB:
		return fixed(PTM_GETSTATE_REQ_SIZE, min, max);
	case PTM_CMD_HASH_DATA:
		return with_length(in, len, PTM_HDATA_REQ_HEADER_SIZE, 0, PTM_HDATA_MAX, min, max);
	case PTM_CMD_SET_STATEBLOB:
		return with_length(in, len, PTM_SETSTATE_REQ_HEADER_SIZE, 8, PTM_STATE_BLOB_MAX,
				   min, max);
	default:
		/*
		 * No payload (GET_CAPABILITY, SHUTDOWN, STOP, SET_DATAFD, ...),
		 * or unknown: the code is all we can frame.
		 */
		return fixed(0, min, max);
	}
}

int vtpm_ctrl_blob_encode(const struct vtpm_state_key *key, const uint8_t *data, size_t len,
			  uint8_t **out, size_t *out_len)
{
	_cleanup_free_ uint8_t *records = NULL;
	size_t records_len = 0, total;
	uint16_t flags = 0;
	uint8_t *buf, *p;
	int r;

	if (len > PTM_STATE_BLOB_MAX)
		return -EFBIG;
	r = vtpm_swtpm_records_seal(key, data, len, &records, &records_len, &flags);
	if (r < 0)
		return r;
	total = SWTPM_BLOB_HEADER_SIZE + SWTPM_TLV_HEADER_SIZE + records_len;
	buf = malloc(total);
	if (buf) {
		/* The header stays in clear text, flags and all (SWTPM_NVRAM_GetStateBlob()). */
		vtpm_swtpm_blob_put_header(buf, flags | SWTPM_BLOB_FLAG_MIGRATION_DATA, total);
		p = buf + SWTPM_BLOB_HEADER_SIZE;
		put_be16(p, SWTPM_TAG_MIGRATION_DATA);
		put_be32(p + 2, (uint32_t)records_len);
		memcpy(p + SWTPM_TLV_HEADER_SIZE, records, records_len);
	}
	OPENSSL_cleanse(records, records_len);
	if (!buf)
		return -ENOMEM;
	*out = buf;
	*out_len = total;
	return 0;
}

int vtpm_ctrl_blob_decode(const struct vtpm_state_key *key, bool encrypted, const uint8_t *blob,
			  size_t len, uint8_t **data, size_t *data_len)
{
	const uint8_t *mig;
	size_t mig_len;
	uint8_t version;
	uint16_t flags;
	int r;

	r = vtpm_swtpm_blob_check(blob, len, &version, &flags);
	if (r < 0)
		return r;
	/* A migration key, and swtpm's version-1 encryption, are not supported. */
	if (flags & SWTPM_BLOB_FLAG_MIGRATION_ENCRYPTED)
		return -ENOTSUP;
	encrypted = encrypted || (flags & SWTPM_BLOB_FLAG_ENCRYPTED);
	blob += SWTPM_BLOB_HEADER_SIZE;
	len -= SWTPM_BLOB_HEADER_SIZE;
	if (version < SWTPM_BLOB_VERSION) {
		uint8_t *copy;

		if (encrypted)
			return -ENOTSUP;
		/* Version 1: the bytes follow the header as they are. */
		copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, blob, len);
		*data = copy;
		*data_len = len;
		return 0;
	}
	r = vtpm_swtpm_tlv_find(blob, len, SWTPM_TAG_MIGRATION_DATA, &mig, &mig_len);
	if (r < 0)
		return -EBADMSG;
	/* Plain blobs are taken with a key too: swtpm lets state be upgraded to encryption. */
	if (!encrypted)
		key = NULL;
	return vtpm_swtpm_records_open(key, encrypted ? flags | SWTPM_BLOB_FLAG_ENCRYPTED : 0,
				       mig, mig_len, data, data_len);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The state blob wrapping of swtpm's control channel; see ctrl-proto.h. */
#include "config.h"

#include <string.h>

#include "ctrl-proto.h"
#include "vtpm-internal.h"
#include "wire.h"

/* A blob type on the wire is the public enum's value, passed as it is. */
_Static_assert(PTM_BLOB_TYPE_PERMANENT == VTPM_STATE_PERMANENT, "blob type differs");
_Static_assert(PTM_BLOB_TYPE_VOLATILE == VTPM_STATE_VOLATILE, "blob type differs");
_Static_assert(PTM_BLOB_TYPE_SAVESTATE == VTPM_STATE_SAVESTATE, "blob type differs");

int vtpm_ctrl_blob_encode(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
	size_t total = SWTPM_BLOB_HEADER_SIZE + 2 * SWTPM_TLV_HEADER_SIZE + len;
	uint8_t *buf, *p;

	if (len > PTM_STATE_BLOB_MAX)
		return -EFBIG;
	buf = malloc(total);
	if (!buf)
		return -ENOMEM;
	p = buf;
	p[0] = SWTPM_BLOB_VERSION;
	p[1] = SWTPM_BLOB_MIN_VERSION;
	put_be16(p + 2, SWTPM_BLOB_HEADER_SIZE);
	put_be16(p + 4, SWTPM_BLOB_FLAG_MIGRATION_DATA);
	put_be32(p + 6, (uint32_t)total);
	p += SWTPM_BLOB_HEADER_SIZE;
	put_be16(p, SWTPM_TAG_MIGRATION_DATA);
	put_be32(p + 2, (uint32_t)(SWTPM_TLV_HEADER_SIZE + len));
	p += SWTPM_TLV_HEADER_SIZE;
	put_be16(p, SWTPM_TAG_DATA);
	put_be32(p + 2, (uint32_t)len);
	p += SWTPM_TLV_HEADER_SIZE;
	if (len)
		memcpy(p, data, len);
	*out = buf;
	*out_len = total;
	return 0;
}

/* The value of the first record tagged @tag in @buf (swtpm's tlv_data_find_tag). */
static int find_tag(const uint8_t *buf, size_t len, uint16_t tag, const uint8_t **val, size_t *val_len)
{
	size_t off = 0;

	while (len - off >= SWTPM_TLV_HEADER_SIZE) {
		uint16_t t = get_be16(buf + off);
		uint32_t l = get_be32(buf + off + 2);

		off += SWTPM_TLV_HEADER_SIZE;
		if (l > len - off)
			return -EBADMSG;
		if (t == tag) {
			*val = buf + off;
			*val_len = l;
			return 0;
		}
		off += l;
	}
	return -EBADMSG;
}

int vtpm_ctrl_blob_decode(const uint8_t *blob, size_t len, const uint8_t **data, size_t *data_len)
{
	const uint8_t *mig;
	size_t mig_len;
	uint8_t version;
	uint16_t flags;
	int r;

	if (len < SWTPM_BLOB_HEADER_SIZE || get_be32(blob + 6) != len ||
	    get_be16(blob + 2) != SWTPM_BLOB_HEADER_SIZE || blob[1] > SWTPM_BLOB_VERSION)
		return -EBADMSG;
	version = blob[0];
	flags = get_be16(blob + 4);
	if (flags & (SWTPM_BLOB_FLAG_ENCRYPTED | SWTPM_BLOB_FLAG_MIGRATION_ENCRYPTED))
		return -ENOTSUP;

	blob += SWTPM_BLOB_HEADER_SIZE;
	len -= SWTPM_BLOB_HEADER_SIZE;
	if (version == 1) {
		/* Version 1: the bytes follow the header as they are. */
		*data = blob;
		*data_len = len;
		return 0;
	}
	r = find_tag(blob, len, SWTPM_TAG_MIGRATION_DATA, &mig, &mig_len);
	if (r < 0)
		return r;
	return find_tag(mig, mig_len, SWTPM_TAG_DATA, data, data_len);
}

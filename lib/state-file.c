/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * TPM state as an object and as a single file; the format is documented in
 * include/vtpm/state.h.
 *
 * The checksum is CRC-32C: it catches truncation and bit rot, which is its
 * job (the file is a backup and migration format, not a security boundary:
 * whoever can write it could recompute any unkeyed hash as well), and it
 * needs no new dependency.
 */
#include "config.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "state-dir.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"
#include "wire.h"

#define STATE_MAGIC "VTPMSTAT"
#define STATE_MAGIC_SIZE 8
#define STATE_HEADER_SIZE 24 /* magic, format, family, count, flags */
#define STATE_ENTRY_SIZE 8   /* type, length */
#define STATE_CRC_SIZE 4
#define STATE_TYPES 3	     /* permanent, volatile, savestate */
/* Header flag: each blob is a swtpm blob file encrypted with a state key. */
#define STATE_FLAG_ENCRYPTED 1u

struct vtpm_state {
	int refcount;
	struct vtpm_ctx *ctx;
	enum vtpm_version version;
	uint8_t *blob[STATE_TYPES + 1]; /* indexed by enum vtpm_state_type */
	size_t len[STATE_TYPES + 1];
};

/* CRC-32C, reflected polynomial 0x82f63b78 (RFC 3720, B.4), four bits at a time. */
static const uint32_t crc32c_nibble[16] = {
	0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
	0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

static uint32_t crc32c(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffff;

	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
		crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
	}
	return crc ^ 0xffffffff;
}

static bool type_is_valid(enum vtpm_state_type type)
{
	return type == VTPM_STATE_PERMANENT || type == VTPM_STATE_VOLATILE ||
	       type == VTPM_STATE_SAVESTATE;
}

VTPM_EXPORT int vtpm_state_new(struct vtpm_ctx *ctx, enum vtpm_version version, struct vtpm_state **out)
{
	struct vtpm_state *state;

	if (version != VTPM_VERSION_1_2 && version != VTPM_VERSION_2)
		return -EINVAL;
	state = calloc(1, sizeof(*state));
	if (!state)
		return -ENOMEM;
	state->refcount = 1;
	state->ctx = vtpm_ctx_ref(ctx);
	state->version = version;
	*out = state;
	return 0;
}

VTPM_EXPORT struct vtpm_state *vtpm_state_ref(struct vtpm_state *state)
{
	if (state)
		state->refcount++;
	return state;
}

VTPM_EXPORT struct vtpm_state *vtpm_state_unref(struct vtpm_state *state)
{
	if (!state || --state->refcount > 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(state->blob); i++) {
		/* State is secret: do not leave it in freed memory. */
		if (state->blob[i])
			explicit_bzero(state->blob[i], state->len[i]);
		free(state->blob[i]);
	}
	vtpm_ctx_unref(state->ctx);
	free(state);
	return NULL;
}

VTPM_EXPORT enum vtpm_version vtpm_state_get_version(const struct vtpm_state *state)
{
	return state->version;
}

VTPM_EXPORT int vtpm_state_set_blob(struct vtpm_state *state, enum vtpm_state_type type,
				    const uint8_t *data, size_t len)
{
	uint8_t *copy = NULL;

	if (!type_is_valid(type) || (len && !data))
		return -EINVAL;
	if (len > VTPM_STATE_FILE_MAX)
		return -EFBIG;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	if (state->blob[type])
		explicit_bzero(state->blob[type], state->len[type]);
	free(state->blob[type]);
	state->blob[type] = copy;
	state->len[type] = len;
	return 0;
}

VTPM_EXPORT int vtpm_state_get_blob(const struct vtpm_state *state, enum vtpm_state_type type,
				    const uint8_t **data, size_t *len)
{
	if (!type_is_valid(type))
		return -EINVAL;
	if (!state->blob[type])
		return -ENOENT;
	*data = state->blob[type];
	*len = state->len[type];
	return 0;
}

/* ------------------------------------------------------------ the file */

/* The blobs as stored: the TPM's bytes, or swtpm's encrypted blob files. */
static int seal_blobs(const struct vtpm_state *state, const struct vtpm_state_key *key,
		      uint8_t *out[STATE_TYPES + 1], size_t out_len[STATE_TYPES + 1])
{
	for (int t = 1; t <= STATE_TYPES; t++) {
		int r;

		if (!state->blob[t])
			continue;
		if (!key) {
			out[t] = state->blob[t];
			out_len[t] = state->len[t];
			continue;
		}
		r = vtpm_swtpm_file_encode(key, state->blob[t], state->len[t], &out[t], &out_len[t]);
		if (r < 0)
			return r;
	}
	return 0;
}

static int encode(const struct vtpm_state *state, const struct vtpm_state_key *key,
		  uint8_t **out, size_t *out_len)
{
	uint8_t *stored[STATE_TYPES + 1] = { NULL };
	size_t stored_len[STATE_TYPES + 1] = { 0 };
	size_t count = 0, total = STATE_HEADER_SIZE + STATE_CRC_SIZE;
	uint8_t *buf = NULL, *table, *data;
	int r;

	r = seal_blobs(state, key, stored, stored_len);
	if (r < 0)
		goto out;
	for (int t = 1; t <= STATE_TYPES; t++) {
		if (!stored[t])
			continue;
		count++;
		total += STATE_ENTRY_SIZE + stored_len[t];
	}
	buf = malloc(total);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(buf, STATE_MAGIC, STATE_MAGIC_SIZE);
	put_be32(buf + 8, VTPM_STATE_FORMAT_VERSION);
	put_be32(buf + 12, (uint32_t)state->version);
	put_be32(buf + 16, (uint32_t)count);
	put_be32(buf + 20, key ? STATE_FLAG_ENCRYPTED : 0);
	table = buf + STATE_HEADER_SIZE;
	data = table + count * STATE_ENTRY_SIZE;
	for (int t = 1; t <= STATE_TYPES; t++) {
		if (!stored[t])
			continue;
		put_be32(table, (uint32_t)t);
		put_be32(table + 4, (uint32_t)stored_len[t]);
		table += STATE_ENTRY_SIZE;
		memcpy(data, stored[t], stored_len[t]);
		data += stored_len[t];
	}
	put_be32(data, crc32c(buf, total - STATE_CRC_SIZE));
	*out = buf;
	*out_len = total;
out:
	for (int t = 1; key && t <= STATE_TYPES; t++) {
		if (stored[t])
			OPENSSL_cleanse(stored[t], stored_len[t]);
		free(stored[t]);
	}
	return r;
}

VTPM_EXPORT int vtpm_state_write_file_with_key(const struct vtpm_state *state, const char *path,
					       const struct vtpm_state_key *key)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !*path)
		return -EINVAL;
	if (!state->blob[VTPM_STATE_PERMANENT]) {
		err(state->ctx, "a state without its permanent blob cannot be written");
		return -EINVAL;
	}
	r = encode(state, key, &buf, &len);
	if (r < 0)
		return r;
	r = vtpm_write_file_atomic_path(path, buf, len, 0600);
	OPENSSL_cleanse(buf, len);
	if (r < 0)
		err(state->ctx, "cannot write state file %s: %s", path, strerror(-r));
	return r;
}

VTPM_EXPORT int vtpm_state_write_file(const struct vtpm_state *state, const char *path)
{
	return vtpm_state_write_file_with_key(state, path, NULL);
}

/* Check and decode a whole file into @state; logs why it refuses. */
static int decode(struct vtpm_ctx *ctx, const char *path, const struct vtpm_state_key *key,
		  const uint8_t *buf, size_t len, struct vtpm_state **out)
{
	struct vtpm_state *state = NULL;
	uint32_t format, family, count, flags, seen = 0;
	const uint8_t *table, *data, *end;
	int r;

	if (len < STATE_MAGIC_SIZE || memcmp(buf, STATE_MAGIC, STATE_MAGIC_SIZE) != 0) {
		err(ctx, "%s is not a libvtpm state file", path);
		return -EBADMSG;
	}
	if (len < STATE_HEADER_SIZE + STATE_ENTRY_SIZE + STATE_CRC_SIZE) {
		err(ctx, "%s is truncated (%zu bytes)", path, len);
		return -EBADMSG;
	}
	if (crc32c(buf, len - STATE_CRC_SIZE) != get_be32(buf + len - STATE_CRC_SIZE)) {
		err(ctx, "%s is damaged or truncated: checksum mismatch", path);
		return -EBADMSG;
	}
	format = get_be32(buf + 8);
	if (format != VTPM_STATE_FORMAT_VERSION) {
		err(ctx, "%s has state file format %u; this libvtpm reads format %u only",
		    path, format, VTPM_STATE_FORMAT_VERSION);
		return -EPROTONOSUPPORT;
	}
	family = get_be32(buf + 12);
	count = get_be32(buf + 16);
	flags = get_be32(buf + 20);
	if ((family != VTPM_VERSION_1_2 && family != VTPM_VERSION_2) || count == 0 ||
	    count > STATE_TYPES || (flags & ~STATE_FLAG_ENCRYPTED) ||
	    (len - STATE_HEADER_SIZE - STATE_CRC_SIZE) / STATE_ENTRY_SIZE < count) {
		err(ctx, "%s has an inconsistent header", path);
		return -EBADMSG;
	}

	if ((flags & STATE_FLAG_ENCRYPTED) && !key) {
		err(ctx, "%s is encrypted: it needs its key", path);
		return -ENOKEY;
	}

	r = vtpm_state_new(ctx, (enum vtpm_version)family, &state);
	if (r < 0)
		return r;
	table = buf + STATE_HEADER_SIZE;
	data = table + (size_t)count * STATE_ENTRY_SIZE;
	end = buf + len - STATE_CRC_SIZE;
	for (uint32_t i = 0; i < count; i++, table += STATE_ENTRY_SIZE) {
		uint32_t type = get_be32(table), blob_len = get_be32(table + 4);

		if (!type_is_valid((enum vtpm_state_type)type) || (seen & (1u << type)) ||
		    blob_len == 0 || blob_len > (size_t)(end - data)) {
			err(ctx, "%s has an inconsistent blob table", path);
			r = -EBADMSG;
			goto fail;
		}
		seen |= 1u << type;
		if (flags & STATE_FLAG_ENCRYPTED) {
			uint8_t *plain = NULL;
			size_t plain_len = 0;

			r = vtpm_swtpm_file_decode(key, data, blob_len, &plain, &plain_len);
			if (r == 0 && plain_len == 0)
				r = -EBADMSG;
			if (r == 0)
				r = vtpm_state_set_blob(state, (enum vtpm_state_type)type, plain, plain_len);
			if (plain)
				OPENSSL_cleanse(plain, plain_len);
			free(plain);
			if (r == -EKEYREJECTED || r == -EBADMSG)
				err(ctx, "%s: the key does not open it (a wrong key, or damage)", path);
		} else {
			r = vtpm_state_set_blob(state, (enum vtpm_state_type)type, data, blob_len);
		}
		if (r < 0)
			goto fail;
		data += blob_len;
	}
	if (data != end || !(seen & (1u << VTPM_STATE_PERMANENT))) {
		err(ctx, "%s: %s", path, data != end ? "blob lengths do not add up" :
						       "no permanent blob");
		r = -EBADMSG;
		goto fail;
	}
	*out = state;
	return 0;

fail:
	vtpm_state_unref(state);
	return r;
}

VTPM_EXPORT int vtpm_state_read_file_with_key(struct vtpm_ctx *ctx, const char *path,
					      const struct vtpm_state_key *key, struct vtpm_state **out)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!path || !*path)
		return -EINVAL;
	r = vtpm_read_file(AT_FDCWD, path, VTPM_STATE_FILE_MAX, &buf, &len);
	if (r < 0) {
		err(ctx, "cannot read state file %s: %s", path,
		    r == -EBADMSG ? "not a regular file" : strerror(-r));
		return r;
	}
	r = decode(ctx, path, key, buf, len, out);
	OPENSSL_cleanse(buf, len);
	return r;
}

VTPM_EXPORT int vtpm_state_read_file(struct vtpm_ctx *ctx, const char *path, struct vtpm_state **out)
{
	return vtpm_state_read_file_with_key(ctx, path, NULL, out);
}

/* ------------------------------------------------------------ transfers */

/* Where a state's blobs come from: a backend or a control channel. */
typedef int (*get_blob_fn)(void *source, enum vtpm_state_type type, uint8_t **blob, size_t *len);

static int get_from_backend(void *backend, enum vtpm_state_type type, uint8_t **blob, size_t *len)
{
	return vtpm_backend_get_state(backend, type, blob, len);
}

static int get_from_ctrl(void *client, enum vtpm_state_type type, uint8_t **blob, size_t *len)
{
	return vtpm_ctrl_client_get_state(client, type, blob, len);
}

/* A state of every blob @get finds in @source; only the permanent one must exist. */
static int collect(struct vtpm_ctx *ctx, enum vtpm_version version, get_blob_fn get, void *source,
		   struct vtpm_state **out)
{
	struct vtpm_state *state = NULL;
	int r;

	r = vtpm_state_new(ctx, version, &state);
	if (r < 0)
		return r;
	for (int t = 1; t <= STATE_TYPES; t++) {
		uint8_t *blob = NULL;
		size_t len = 0;

		r = get(source, (enum vtpm_state_type)t, &blob, &len);
		if (r == -ENOENT && t != VTPM_STATE_PERMANENT)
			continue;
		if (r == 0 && len)
			r = vtpm_state_set_blob(state, (enum vtpm_state_type)t, blob, len);
		if (blob)
			explicit_bzero(blob, len);
		free(blob);
		if (r < 0) {
			err(ctx, "exporting state blob %d failed: %s", t, strerror(-r));
			vtpm_state_unref(state);
			return r;
		}
	}
	*out = state;
	return 0;
}

VTPM_EXPORT int vtpm_state_from_backend(struct vtpm_backend *backend, struct vtpm_state **out)
{
	return collect(vtpm_backend_get_ctx(backend), vtpm_backend_get_version(backend),
		       get_from_backend, backend, out);
}

VTPM_EXPORT int vtpm_state_to_backend(const struct vtpm_state *state, struct vtpm_backend *backend)
{
	int r;

	if (vtpm_backend_get_version(backend) != state->version)
		return -EINVAL;
	if (vtpm_backend_is_running(backend))
		return -EBUSY;
	for (int t = 1; t <= STATE_TYPES; t++) {
		if (!state->blob[t])
			continue;
		r = vtpm_backend_set_state(backend, (enum vtpm_state_type)t, state->blob[t], state->len[t]);
		if (r < 0)
			return r;
	}
	return 0;
}

struct vtpm_ctx *vtpm_state_get_ctx(const struct vtpm_state *state)
{
	return state->ctx;
}

/* The TPM family from CMD_GET_INFO's TPMSpecification object. */
int vtpm_state_ask_version(struct vtpm_ctrl_client *client, enum vtpm_version *version)
{
	/* swtpm's SWTPM_INFO_TPMSPECIFICATION (tpm_ioctl.h). */
	const uint64_t info_tpm_specification = 1;
	_cleanup_free_ char *info = NULL;
	int r;

	r = vtpm_ctrl_client_get_info(client, info_tpm_specification, &info);
	if (r < 0)
		return r;
	/* libtpms: {"TPMSpecification":{"family":"2.0",...}} */
	if (strstr(info, "\"family\":\"2.0\""))
		*version = VTPM_VERSION_2;
	else if (strstr(info, "\"family\":\"1.2\""))
		*version = VTPM_VERSION_1_2;
	else
		return -EPROTO;
	return 0;
}

VTPM_EXPORT int vtpm_state_from_ctrl_client(struct vtpm_ctrl_client *client,
					    enum vtpm_version version, struct vtpm_state **state)
{
	if (!client || !state)
		return -EINVAL;
	return vtpm_state_from_ctrl(vtpm_ctrl_client_get_ctx(client), client, version, state);
}

VTPM_EXPORT int vtpm_state_from_ctrl(struct vtpm_ctx *ctx, struct vtpm_ctrl_client *client,
				     enum vtpm_version version, struct vtpm_state **out)
{
	int r;

	if (!version) {
		r = vtpm_state_ask_version(client, &version);
		if (r < 0) {
			err(ctx, "cannot tell the TPM family through the control channel: %s",
			    strerror(-r));
			return r;
		}
	}
	return collect(ctx, version, get_from_ctrl, client, out);
}

VTPM_EXPORT int vtpm_state_to_ctrl(const struct vtpm_state *state, struct vtpm_ctrl_client *client)
{
	int r;

	r = vtpm_ctrl_client_stop(client);
	for (int t = 1; r == 0 && t <= STATE_TYPES; t++)
		if (state->blob[t])
			r = vtpm_ctrl_client_set_state(client, (enum vtpm_state_type)t,
						       state->blob[t], state->len[t]);
	if (r == 0)
		r = vtpm_ctrl_client_init(client, VTPM_CTRL_INIT_DELETE_VOLATILE);
	if (r < 0)
		err(state->ctx, "importing the state through the control channel failed: %s%s",
		    strerror(-r), r == -EIO ? " (the TPM refused it)" : "");
	return r;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The generic backend object: an ops table, its data, and the TPM's state
 * that both channels to it share: power, the locality of the next command
 * (set by the proxy driver's command on the data channel, or by
 * CMD_SET_LOCALITY on the control channel) and the buffer size
 * (CMD_SET_BUFFERSIZE).
 */
#include "config.h"

#include <string.h>

#include "vtpm-internal.h"

struct vtpm_backend {
	int refcount;
	struct vtpm_ctx *ctx;
	enum vtpm_version version;
	struct vtpm_backend_ops ops;
	void *data;
	bool running;
	uint8_t locality;
	size_t buffer_size;
	struct vtpm_state_key *key; /* what encrypts its state at rest, or NULL */
};

VTPM_EXPORT int vtpm_backend_new(struct vtpm_ctx *ctx, enum vtpm_version version,
				 const struct vtpm_backend_ops *ops, void *data,
				 struct vtpm_backend **out)
{
	struct vtpm_backend *backend;

	if (version != VTPM_VERSION_1_2 && version != VTPM_VERSION_2)
		return -EINVAL;
	/* Older callers know a prefix of the table; newer fields stay NULL. */
	if (!ops || ops->size < offsetof(struct vtpm_backend_ops, free) + sizeof(ops->free))
		return -EINVAL;

	backend = calloc(1, sizeof(*backend));
	if (!backend)
		return -ENOMEM;
	memcpy(&backend->ops, ops, ops->size < sizeof(backend->ops) ? ops->size : sizeof(backend->ops));
	backend->ops.size = ops->size < sizeof(backend->ops) ? ops->size : sizeof(backend->ops);
	if (!backend->ops.start || !backend->ops.process || !backend->ops.shutdown) {
		free(backend);
		return -EINVAL;
	}
	backend->refcount = 1;
	backend->ctx = vtpm_ctx_ref(ctx);
	backend->version = version;
	backend->data = data;
	backend->buffer_size = VTPM_BUFFER_SIZE;
	*out = backend;
	return 0;
}

VTPM_EXPORT struct vtpm_backend *vtpm_backend_ref(struct vtpm_backend *backend)
{
	if (backend)
		backend->refcount++;
	return backend;
}

VTPM_EXPORT struct vtpm_backend *vtpm_backend_unref(struct vtpm_backend *backend)
{
	int r;

	if (!backend || --backend->refcount > 0)
		return NULL;
	r = vtpm_backend_shutdown(backend);
	if (r < 0)
		err(backend->ctx, "shutting the TPM down failed: %s", strerror(-r));
	if (backend->ops.free)
		backend->ops.free(backend->data);
	vtpm_state_key_unref(backend->key);
	vtpm_ctx_unref(backend->ctx);
	free(backend);
	return NULL;
}

VTPM_EXPORT enum vtpm_version vtpm_backend_get_version(const struct vtpm_backend *backend)
{
	return backend->version;
}

VTPM_EXPORT int vtpm_backend_start(struct vtpm_backend *backend)
{
	int r;

	if (backend->running)
		return 0;
	r = backend->ops.start(backend->data);
	if (r < 0)
		return r;
	backend->running = true;
	return 0;
}

VTPM_EXPORT int vtpm_backend_shutdown(struct vtpm_backend *backend)
{
	if (!backend->running)
		return 0;
	/* Off even if saving failed: the TPM cannot be half running. */
	backend->running = false;
	return backend->ops.shutdown(backend->data);
}

VTPM_EXPORT int vtpm_backend_is_running(const struct vtpm_backend *backend)
{
	return backend->running;
}

VTPM_EXPORT int vtpm_backend_reset(struct vtpm_backend *backend)
{
	int r;

	if (!backend->running)
		return -ENXIO;
	if (backend->ops.reset)
		return backend->ops.reset(backend->data);
	r = vtpm_backend_shutdown(backend);
	if (r < 0)
		return r;
	return vtpm_backend_start(backend);
}

static bool state_type_is_valid(enum vtpm_state_type type)
{
	return type == VTPM_STATE_PERMANENT || type == VTPM_STATE_VOLATILE ||
	       type == VTPM_STATE_SAVESTATE;
}

VTPM_EXPORT int vtpm_backend_get_state(struct vtpm_backend *backend, enum vtpm_state_type type,
				       uint8_t **blob, size_t *blob_len)
{
	if (!state_type_is_valid(type))
		return -EINVAL;
	if (!backend->ops.get_state)
		return -ENOTSUP;
	return backend->ops.get_state(backend->data, type, blob, blob_len);
}

VTPM_EXPORT int vtpm_backend_set_state(struct vtpm_backend *backend, enum vtpm_state_type type,
				       const uint8_t *blob, size_t blob_len)
{
	if (!state_type_is_valid(type) || !blob || blob_len == 0)
		return -EINVAL;
	if (backend->running)
		return -EBUSY;
	if (!backend->ops.set_state)
		return -ENOTSUP;
	return backend->ops.set_state(backend->data, type, blob, blob_len);
}

int vtpm_backend_process(struct vtpm_backend *backend, const uint8_t *cmd,
			 size_t cmd_len, uint8_t locality, uint8_t *resp,
			 size_t resp_size, size_t *resp_len)
{
	if (!backend->running)
		return -ENXIO;
	return backend->ops.process(backend->data, cmd, cmd_len, locality, resp,
				    resp_size, resp_len);
}

/* The optional operations: -ENOTSUP where the backend lacks them. */
#define HAS_OP(b, op) \
	((b)->ops.size >= offsetof(struct vtpm_backend_ops, op) + sizeof((b)->ops.op) && (b)->ops.op)

int vtpm_backend_get_info(struct vtpm_backend *backend, uint64_t flags, char **info)
{
	if (!HAS_OP(backend, get_info))
		return -ENOTSUP;
	return backend->ops.get_info(backend->data, flags, info);
}

int vtpm_backend_get_established(struct vtpm_backend *backend, int *established)
{
	if (!backend->running)
		return -ENXIO;
	if (!HAS_OP(backend, get_established))
		return -ENOTSUP;
	return backend->ops.get_established(backend->data, established);
}

int vtpm_backend_reset_established(struct vtpm_backend *backend, uint8_t locality)
{
	if (!backend->running)
		return -ENXIO;
	if (!HAS_OP(backend, reset_established))
		return -ENOTSUP;
	return backend->ops.reset_established(backend->data, locality);
}

int vtpm_backend_store_volatile(struct vtpm_backend *backend)
{
	if (!backend->running)
		return -ENXIO;
	if (!HAS_OP(backend, store_volatile))
		return -ENOTSUP;
	return backend->ops.store_volatile(backend->data);
}

void *vtpm_backend_get_data(const struct vtpm_backend *backend)
{
	return backend->data;
}

struct vtpm_ctx *vtpm_backend_get_ctx(const struct vtpm_backend *backend)
{
	return backend->ctx;
}

void vtpm_backend_set_key(struct vtpm_backend *backend, struct vtpm_state_key *key)
{
	vtpm_state_key_unref(backend->key);
	backend->key = vtpm_state_key_ref(key);
}

struct vtpm_state_key *vtpm_backend_get_key(const struct vtpm_backend *backend)
{
	return backend->key;
}

void vtpm_backend_set_locality(struct vtpm_backend *backend, uint8_t locality)
{
	backend->locality = locality;
}

uint8_t vtpm_backend_get_locality(const struct vtpm_backend *backend)
{
	return backend->locality;
}

void vtpm_backend_set_buffer_size(struct vtpm_backend *backend, size_t size)
{
	backend->buffer_size = size < VTPM_BUFFER_SIZE ? size : VTPM_BUFFER_SIZE;
}

size_t vtpm_backend_get_buffer_size(const struct vtpm_backend *backend)
{
	return backend->buffer_size;
}

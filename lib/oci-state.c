/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The OCI runtime state a hook reads on stdin (runtime-spec runtime.md,
 * "State"; schema/state-schema.json) and the bundle's root path
 * (config.md, "Root").
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "vtpm-internal.h"

/* config.json files are small; refuse anything absurd. */
#define CONFIG_JSON_MAX (4u << 20)

struct vtpm_oci_state {
	struct json_object *root;
	const char *id;
	const char *status;
	const char *bundle;
	struct json_object *annotations;
	pid_t pid;
};

/* Whether the JSON string @v holds a NUL ("\u0000"), which would cut it as a C string. */
static bool string_has_nul(struct json_object *v)
{
	return strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v);
}

/* A string member; NULL if absent, not a string, or holding a NUL. */
static const char *get_string(struct json_object *obj, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string) ||
	    string_has_nul(v))
		return NULL;
	return json_object_get_string(v);
}

/* Parse exactly one JSON value filling @len bytes (trailing whitespace allowed). */
static struct json_object *parse_json(const char *text, size_t len, const char **why)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	*why = "out of memory";
	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (!obj) {
		enum json_tokener_error e = json_tokener_get_error(tok);

		*why = e == json_tokener_continue ? "unexpected end of input" :
						     json_tokener_error_desc(e);
	} else {
		end = json_tokener_get_parse_end(tok);
		while (end < len && strchr(" \t\r\n", text[end]) && text[end])
			end++;
		if (end < len) {
			*why = "trailing data after the JSON value";
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	return obj;
}

VTPM_EXPORT int vtpm_oci_state_parse(struct vtpm_ctx *ctx, const char *json, size_t len,
				     struct vtpm_oci_state **out)
{
	struct vtpm_oci_state *st;
	struct json_object *root, *v;
	const char *bad = NULL;

	if (!json || len == 0 || len > CONFIG_JSON_MAX) {
		err(ctx, "OCI state: empty input");
		return -EBADMSG;
	}
	root = parse_json(json, len, &bad);
	if (!root) {
		err(ctx, "OCI state: not valid JSON: %s", bad);
		return -EBADMSG;
	}
	bad = NULL;
	if (!json_object_is_type(root, json_type_object)) {
		err(ctx, "OCI state: not a JSON object");
		json_object_put(root);
		return -EBADMSG;
	}

	st = calloc(1, sizeof(*st));
	if (!st) {
		json_object_put(root);
		return -ENOMEM;
	}
	st->root = root;
	st->id = get_string(root, "id");
	st->status = get_string(root, "status");
	st->bundle = get_string(root, "bundle");

	if (!get_string(root, "ociVersion"))
		bad = "\"ociVersion\" (a string) is missing";
	else if (json_object_object_get_ex(root, "id", &v) && json_object_is_type(v, json_type_string) &&
		 string_has_nul(v))
		bad = "\"id\" must not contain a NUL character";
	else if (!st->id || !*st->id)
		bad = "\"id\" (a non-empty string) is missing";
	else if (strchr(st->id, '/') || strcmp(st->id, ".") == 0 || strcmp(st->id, "..") == 0)
		bad = "\"id\" must not contain '/' or be '.' or '..'";
	else if (!st->status)
		bad = "\"status\" (a string) is missing";
	else if (json_object_object_get_ex(root, "bundle", &v) && (!st->bundle || st->bundle[0] != '/'))
		bad = "\"bundle\" must be an absolute path";
	else if (json_object_object_get_ex(root, "annotations", &v) &&
		 !json_object_is_type(v, json_type_object))
		bad = "\"annotations\" must be an object";
	if (!bad && json_object_object_get_ex(root, "annotations", &v)) {
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (!json_object_is_type(val, json_type_string) || string_has_nul(val))
				bad = "\"annotations\" values must be strings without NUL";
		}
		st->annotations = v;
	}
	if (!bad && json_object_object_get_ex(root, "pid", &v)) {
		int64_t pid;

		errno = 0;
		pid = json_object_get_int64(v);
		/* crun gives poststop hooks "pid": 0 for the process that is
		 * gone: the same as no pid at all. */
		if (!json_object_is_type(v, json_type_int) || errno || pid < 0 || pid > INT32_MAX)
			bad = "\"pid\" must be a positive integer";
		else
			st->pid = (pid_t)pid;
	}
	if (!bad && st->pid == 0 && strcmp(st->status, "stopped") != 0)
		bad = "\"pid\" is missing";
	if (bad) {
		err(ctx, "OCI state: %s", bad);
		vtpm_oci_state_free(st);
		return -EBADMSG;
	}
	*out = st;
	return 0;
}

VTPM_EXPORT struct vtpm_oci_state *vtpm_oci_state_free(struct vtpm_oci_state *state)
{
	if (state) {
		json_object_put(state->root);
		free(state);
	}
	return NULL;
}

VTPM_EXPORT const char *vtpm_oci_state_get_id(const struct vtpm_oci_state *state)
{
	return state->id;
}

VTPM_EXPORT const char *vtpm_oci_state_get_status(const struct vtpm_oci_state *state)
{
	return state->status;
}

VTPM_EXPORT pid_t vtpm_oci_state_get_pid(const struct vtpm_oci_state *state)
{
	return state->pid;
}

VTPM_EXPORT const char *vtpm_oci_state_get_bundle(const struct vtpm_oci_state *state)
{
	return state->bundle;
}

VTPM_EXPORT const char *vtpm_oci_state_get_annotation(const struct vtpm_oci_state *state,
						      const char *key)
{
	if (!state->annotations || !key)
		return NULL;
	return get_string(state->annotations, key);
}

VTPM_EXPORT int vtpm_oci_bundle_get_rootfs(struct vtpm_ctx *ctx, const char *bundle,
					   char **rootfs)
{
	_cleanup_close_ int dirfd = -1;
	_cleanup_free_ uint8_t *data = NULL;
	struct json_object *cfg, *root;
	const char *path, *why;
	size_t len;
	int r;

	if (!bundle || bundle[0] != '/')
		return -EINVAL;
	dirfd = open(bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	r = vtpm_read_file(dirfd, "config.json", CONFIG_JSON_MAX, &data, &len);
	if (r < 0) {
		err(ctx, "cannot read %s/config.json: %s", bundle, strerror(-r));
		return r;
	}
	cfg = parse_json((const char *)data, len, &why);
	if (!cfg || !json_object_object_get_ex(cfg, "root", &root) ||
	    !(path = get_string(root, "path")) || !*path) {
		err(ctx, "%s/config.json has no root.path", bundle);
		json_object_put(cfg);
		return -EBADMSG;
	}
	if (path[0] == '/')
		r = asprintf(rootfs, "%s", path);
	else
		r = asprintf(rootfs, "%s/%s", bundle, path);
	json_object_put(cfg);
	return r < 0 ? -ENOMEM : 0;
}

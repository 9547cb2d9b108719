/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager's wire formats: requests on its socket, and the instance
 * description (instance.json, and what status and list answer).  Both are
 * JSON through json-c; the protocol is documented in <vtpm/manager.h>.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "json-util.h"
#include "manager-internal.h"
#include "vtpm-internal.h"

bool vtpm_mgr_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > VTPM_MANAGER_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("-_.", c)))
			return false;
	}
	return true;
}

static const struct {
	const char *name;
	enum vtpm_mgr_op op;
	bool needs_name;
} ops[] = {
	{ "create", VTPM_MGR_OP_CREATE, true },
	{ "destroy", VTPM_MGR_OP_DESTROY, true },
	{ "restart", VTPM_MGR_OP_RESTART, true },
	{ "status", VTPM_MGR_OP_STATUS, true },
	{ "list", VTPM_MGR_OP_LIST, false },
};

/* A string member: 1 when present, 0 when absent, -EINVAL for a non-string. */
static int get_string(struct json_object *obj, const char *key, const char **value)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return -EINVAL;
	*value = json_object_get_string(v);
	return 1;
}

static int parse_version(const char *s, enum vtpm_version *version)
{
	if (strcmp(s, "2.0") == 0 || strcmp(s, "2") == 0)
		*version = VTPM_VERSION_2;
	else if (strcmp(s, "1.2") == 0)
		*version = VTPM_VERSION_1_2;
	else
		return -EINVAL;
	return 0;
}

/* The booleans of "manufacture" and the flags they stand for. */
static const struct {
	const char *name;
	unsigned int flag;
} mf_flags[] = {
	{ "create_ek", VTPM_MANUFACTURE_EK },
	{ "create_ek_cert", VTPM_MANUFACTURE_EK_CERT },
	{ "lock_nvram", VTPM_MANUFACTURE_LOCK_NV },
	{ "create_platform_cert", VTPM_MANUFACTURE_PLATFORM_CERT },
};
#define MF_FLAGS_ALL (VTPM_MANUFACTURE_EK | VTPM_MANUFACTURE_EK_CERT | VTPM_MANUFACTURE_LOCK_NV | \
		      VTPM_MANUFACTURE_PLATFORM_CERT)

/* An absolute, plain path member into @dst: as get_string(), and -EINVAL
 * for a path that is not safe or does not fit. */
static int get_path(struct json_object *obj, const char *key, char *dst, size_t size)
{
	const char *s;
	int r = get_string(obj, key, &s);

	if (r <= 0)
		return r;
	if (!vtpm_path_is_safe(s) || strlen(s) >= size)
		return -EINVAL;
	strcpy(dst, s);
	return 1;
}

static int parse_manufacture(struct json_object *m, struct vtpm_mgr_request *req)
{
	struct json_object *v;
	const char *banks;
	int r;

	if (!json_object_is_type(m, json_type_object))
		return -EINVAL;
	req->manufacture = true;
	for (size_t i = 0; i < ARRAY_SIZE(mf_flags); i++) {
		if (!json_object_object_get_ex(m, mf_flags[i].name, &v))
			continue;
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		if (json_object_get_boolean(v))
			req->mf_flags |= mf_flags[i].flag;
	}
	r = get_string(m, "pcr_banks", &banks);
	if (r < 0 || (r > 0 && vtpm_pcr_banks_parse(banks, &req->pcr_banks) < 0))
		return -EINVAL;
	if (get_path(m, "ca_dir", req->ca_dir, sizeof(req->ca_dir)) < 0 ||
	    get_path(m, "ca_key", req->ca_key, sizeof(req->ca_key)) < 0 ||
	    get_path(m, "ca_cert", req->ca_cert, sizeof(req->ca_cert)) < 0)
		return -EINVAL;
	return 0;
}

void vtpm_mgr_request_get_manufacture(const struct vtpm_mgr_request *req,
				      struct vtpm_manufacture_options *o)
{
	*o = (struct vtpm_manufacture_options){
		.size = sizeof(*o), .flags = req->mf_flags, .pcr_banks = req->pcr_banks,
		.ca_dir = req->ca_dir[0] ? req->ca_dir : NULL,
		.ca_key = req->ca_key[0] ? req->ca_key : NULL,
		.ca_cert = req->ca_cert[0] ? req->ca_cert : NULL,
	};
}

static int set_path(char *dst, size_t size, const char *path)
{
	if (!path)
		return 0;
	if (!vtpm_path_is_safe(path) || strlen(path) >= size)
		return -EINVAL;
	strcpy(dst, path);
	return 0;
}

int vtpm_mgr_request_set_manufacture(struct vtpm_mgr_request *req,
				     const struct vtpm_manufacture_options *o)
{
	if (o->flags & ~MF_FLAGS_ALL)
		return -EINVAL;
	req->manufacture = true;
	req->mf_flags = o->flags;
	req->pcr_banks = o->pcr_banks;
	if (set_path(req->ca_dir, sizeof(req->ca_dir), o->ca_dir) < 0 ||
	    set_path(req->ca_key, sizeof(req->ca_key), o->ca_key) < 0 ||
	    set_path(req->ca_cert, sizeof(req->ca_cert), o->ca_cert) < 0)
		return -EINVAL;
	return 0;
}

static int parse_create(struct json_object *obj, struct vtpm_mgr_request *req)
{
	struct json_object *v;
	const char *s;
	int r;

	r = get_string(obj, "version", &s);
	if (r < 0 || (r > 0 && parse_version(s, &req->version) < 0))
		return -EINVAL;
	if (get_path(obj, "state_dir", req->state_dir, sizeof(req->state_dir)) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "resume", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		req->resume = json_object_get_boolean(v);
	}
	if (get_path(obj, "socket", req->socket, sizeof(req->socket)) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "manufacture", &v) && parse_manufacture(v, req) < 0)
		return -EINVAL;
	if (json_object_object_get_ex(obj, "key", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		req->key = json_object_get_boolean(v);
	}
	return 0;
}

int vtpm_mgr_request_parse(const char *text, size_t len, struct vtpm_mgr_request *req)
{
	struct json_tokener *tok;
	struct json_object *obj;
	const char *op, *name;
	int r = -EOPNOTSUPP;

	*req = (struct vtpm_mgr_request){};
	if (len > VTPM_MANAGER_REQUEST_MAX)
		return -EMSGSIZE;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (len == 0 || memchr(text, '\0', len))
		return -EBADMSG;

	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	obj = json_tokener_parse_ex(tok, text, (int)len);
	/* The whole text must be one object, nothing after it. */
	if (!obj || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		json_tokener_free(tok);
		return -EBADMSG;
	}
	json_tokener_free(tok);

	if (get_string(obj, "op", &op) <= 0) {
		r = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (strcmp(op, ops[i].name) != 0)
			continue;
		req->op = ops[i].op;
		r = 0;
		if (ops[i].needs_name) {
			if (get_string(obj, "name", &name) <= 0 || !vtpm_mgr_name_is_valid(name)) {
				r = -EINVAL;
				goto out;
			}
			strcpy(req->name, name);
		}
		if (req->op == VTPM_MGR_OP_CREATE)
			r = parse_create(obj, req);
		break;
	}
out:
	json_object_put(obj);
	return r;
}


/* Add "manufacture" to @o: 0, -EINVAL for bad banks, -ENOMEM. */
static int format_manufacture(struct json_object *o, const struct vtpm_mgr_request *req)
{
	struct json_object *m = json_object_new_object();
	char banks[64];
	const struct {
		const char *key;
		const char *value;
	} paths[] = {
		{ "ca_dir", req->ca_dir }, { "ca_key", req->ca_key }, { "ca_cert", req->ca_cert },
	};

	if (!m)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(mf_flags); i++)
		if (req->mf_flags & mf_flags[i].flag)
			JSON_ADD(m, mf_flags[i].name, json_object_new_boolean(1));
	if (req->pcr_banks) {
		if (vtpm_pcr_banks_format(req->pcr_banks, banks, sizeof(banks)) < 0) {
			json_object_put(m);
			return -EINVAL;
		}
		JSON_ADD(m, "pcr_banks", json_object_new_string(banks));
	}
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++)
		if (paths[i].value[0])
			JSON_ADD(m, paths[i].key, json_object_new_string(paths[i].value));
	if (json_object_object_add(o, "manufacture", m) < 0)
		goto oom;
	return 0;
oom:
	json_object_put(m);
	return -ENOMEM;
}

int vtpm_mgr_request_format(const struct vtpm_mgr_request *req, char **text)
{
	struct json_object *o = json_object_new_object();
	const char *op = NULL;
	bool needs_name = false;

	*text = NULL;
	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		if (ops[i].op == req->op) {
			op = ops[i].name;
			needs_name = ops[i].needs_name;
		}
	}
	if (!op || (needs_name && !vtpm_mgr_name_is_valid(req->name))) {
		json_object_put(o);
		return -EINVAL;
	}
	JSON_ADD(o, "op", json_object_new_string(op));
	if (needs_name)
		JSON_ADD(o, "name", json_object_new_string(req->name));
	if (req->op == VTPM_MGR_OP_CREATE) {
		if (req->version)
			JSON_ADD(o, "version", json_object_new_string(
					  req->version == VTPM_VERSION_1_2 ? "1.2" : "2.0"));
		if (req->state_dir[0])
			JSON_ADD(o, "state_dir", json_object_new_string(req->state_dir));
		if (req->resume)
			JSON_ADD(o, "resume", json_object_new_boolean(1));
		if (req->socket[0])
			JSON_ADD(o, "socket", json_object_new_string(req->socket));
		if (req->manufacture && format_manufacture(o, req) < 0)
			goto oom;
		if (req->key)
			JSON_ADD(o, "key", json_object_new_boolean(1));
	}
	*text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return *text ? 0 : -ENOMEM;
oom:
	json_object_put(o);
	return -ENOMEM;
}

static struct json_object *node_to_json(const struct vtpm_mgr_node *n)
{
	struct json_object *o;

	if (!n->present)
		return NULL;
	o = json_object_new_object();
	if (!o)
		return NULL;
	JSON_ADD(o, "path", json_object_new_string(n->path));
	JSON_ADD(o, "major", json_object_new_int64(n->major));
	JSON_ADD(o, "minor", json_object_new_int64(n->minor));
	return o;
oom:
	json_object_put(o);
	return NULL;
}

int vtpm_mgr_desc_to_json(const struct vtpm_mgr_desc *d, char **json)
{
	struct json_object *o = json_object_new_object();
	struct json_object *node;
	char ctrl[PATH_MAX + 16];

	if (!o)
		return -ENOMEM;
	/* A virtual machine's instance has its control channel on its socket. */
	if (d->socket[0])
		snprintf(ctrl, sizeof(ctrl), "unix:%s", d->socket);
	else
		snprintf(ctrl, sizeof(ctrl), "unix:%s/%s", d->runtime_dir, VTPM_RUNDIR_CTRL);
	JSON_ADD(o, "name", json_object_new_string(d->name));
	JSON_ADD(o, "status", json_object_new_string(vtpm_instance_status_to_string(d->status) ?: "unknown"));
	JSON_ADD(o, "pid", json_object_new_int64(d->pid));
	JSON_ADD(o, "version", json_object_new_string(d->version == VTPM_VERSION_1_2 ? "1.2" : "2.0"));
	JSON_ADD(o, "backend", json_object_new_string("libtpms"));
	JSON_ADD(o, "state_dir", json_object_new_string(d->state_dir));
	JSON_ADD(o, "runtime_dir", json_object_new_string(d->runtime_dir));
	JSON_ADD(o, "ctrl", json_object_new_string(ctrl));
	JSON_ADD(o, "restarts", json_object_new_int64(d->restarts));
	if (d->socket[0])
		JSON_ADD(o, "socket", json_object_new_string(d->socket));
	/* That there is a key; never the key. */
	if (d->encrypted)
		JSON_ADD(o, "encrypted", json_object_new_boolean(1));
	/* null, not absent, while there is no device. */
	node = node_to_json(&d->tpm);
	if (d->tpm.present && !node)
		goto oom;
	json_object_object_add(o, "tpm", node);
	node = node_to_json(&d->tpmrm);
	if (d->tpmrm.present && !node)
		goto oom;
	json_object_object_add(o, "tpmrm", node);

	*json = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return *json ? 0 : -ENOMEM;
oom:
	json_object_put(o);
	return -ENOMEM;
}

static int copy_string(struct json_object *o, const char *key, char *dst, size_t size)
{
	const char *s;

	if (get_string(o, key, &s) <= 0 || strlen(s) >= size)
		return -EINVAL;
	strcpy(dst, s);
	return 0;
}

static int get_uint(struct json_object *o, const char *key, int64_t max, int64_t *value)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -EINVAL;
	*value = json_object_get_int64(v);
	return *value < 0 || *value > max ? -EINVAL : 0;
}

static int node_from_json(struct json_object *o, const char *key, struct vtpm_mgr_node *n)
{
	struct json_object *v;
	int64_t major, minor;

	*n = (struct vtpm_mgr_node){};
	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_object) ||
	    copy_string(v, "path", n->path, sizeof(n->path)) < 0 ||
	    get_uint(v, "major", UINT32_MAX, &major) < 0 ||
	    get_uint(v, "minor", UINT32_MAX, &minor) < 0)
		return -EINVAL;
	n->major = (unsigned int)major;
	n->minor = (unsigned int)minor;
	n->present = true;
	return 0;
}

int vtpm_mgr_desc_from_object(struct json_object *o, struct vtpm_mgr_desc *d)
{
	struct json_object *v;
	const char *s;
	int64_t pid, restarts;

	*d = (struct vtpm_mgr_desc){};
	if (!json_object_is_type(o, json_type_object))
		return -EBADMSG;
	if (copy_string(o, "name", d->name, sizeof(d->name)) < 0 ||
	    !vtpm_mgr_name_is_valid(d->name) ||
	    copy_string(o, "state_dir", d->state_dir, sizeof(d->state_dir)) < 0 ||
	    copy_string(o, "runtime_dir", d->runtime_dir, sizeof(d->runtime_dir)) < 0 ||
	    get_uint(o, "pid", INT32_MAX, &pid) < 0 ||
	    get_uint(o, "restarts", UINT32_MAX, &restarts) < 0 ||
	    get_string(o, "version", &s) <= 0 || parse_version(s, &d->version) < 0 ||
	    node_from_json(o, "tpm", &d->tpm) < 0 ||
	    node_from_json(o, "tpmrm", &d->tpmrm) < 0 ||
	    get_string(o, "status", &s) <= 0)
		return -EINVAL;
	for (int st = VTPM_INSTANCE_STARTING; st <= VTPM_INSTANCE_STOPPING; st++)
		if (strcmp(s, vtpm_instance_status_to_string(st)) == 0)
			d->status = st;
	if (!d->status)
		return -EINVAL;
	d->pid = (pid_t)pid;
	d->restarts = (unsigned int)restarts;
	if (json_object_object_get_ex(o, "encrypted", &v)) {
		if (!json_object_is_type(v, json_type_boolean))
			return -EINVAL;
		d->encrypted = json_object_get_boolean(v);
	}
	/* Only an instance that serves a virtual machine has one. */
	if (json_object_object_get_ex(o, "socket", NULL) &&
	    (copy_string(o, "socket", d->socket, sizeof(d->socket)) < 0 ||
	     !vtpm_path_is_safe(d->socket)))
		return -EINVAL;
	return 0;
}

int vtpm_mgr_desc_from_json(const char *json, struct vtpm_mgr_desc *d)
{
	struct json_object *o = json_tokener_parse(json);
	int r;

	r = vtpm_mgr_desc_from_object(o, d);
	json_object_put(o);
	return r;
}

/* The errors a manager names in its answers; any other is sent as EIO. */
static const struct {
	const char *name;
	int error;
} errnos[] = {
	{ "ENOENT", ENOENT }, { "EEXIST", EEXIST }, { "EINVAL", EINVAL },
	{ "EBUSY", EBUSY }, { "EBADMSG", EBADMSG }, { "EMSGSIZE", EMSGSIZE },
	{ "EOPNOTSUPP", EOPNOTSUPP }, { "ETIMEDOUT", ETIMEDOUT }, { "ENOMEM", ENOMEM },
	{ "EAGAIN", EAGAIN }, { "EPERM", EPERM }, { "EACCES", EACCES },
	{ "ENODEV", ENODEV }, { "EIO", EIO }, { "ECHILD", ECHILD },
	{ "ECANCELED", ECANCELED }, { "ENOKEY", ENOKEY }, { "EKEYREJECTED", EKEYREJECTED },
};

static const char *errno_name(int e)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (errnos[i].error == e)
			return errnos[i].name;
	return "EIO";
}

int vtpm_mgr_errno_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(errnos); i++)
		if (strcmp(errnos[i].name, name) == 0)
			return errnos[i].error;
	return 0;
}

char *vtpm_mgr_error_response(int error, const char *message)
{
	struct json_object *o = json_object_new_object();
	char *text = NULL;

	if (error < 0)
		error = -error;
	if (!o)
		return NULL;
	JSON_ADD(o, "ok", json_object_new_boolean(0));
	JSON_ADD(o, "error", json_object_new_string(errno_name(error)));
	JSON_ADD(o, "errno", json_object_new_int(error));
	JSON_ADD(o, "message", json_object_new_string(message ?: strerror(error)));
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							JSON_C_TO_STRING_NOSLASHESCAPE));
oom:
	json_object_put(o);
	return text;
}

VTPM_EXPORT const char *vtpm_instance_status_to_string(enum vtpm_instance_status status)
{
	switch (status) {
	case VTPM_INSTANCE_STARTING: return "starting";
	case VTPM_INSTANCE_RUNNING: return "running";
	case VTPM_INSTANCE_RESTARTING: return "restarting";
	case VTPM_INSTANCE_FAILED: return "failed";
	case VTPM_INSTANCE_STOPPING: return "stopping";
	}
	return NULL;
}

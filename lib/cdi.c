/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * CDI specs: a device of the rules written into a spec, merged with the
 * devices a spec holds already, or removed from it.
 *
 * Format: container-device-interface SPEC.md; "hostPath" in deviceNodes
 * needs cdiVersion 0.5.0.
 */
#include "config.h"

#include <string.h>

#include "json-util.h"
#include "rules-internal.h"

static struct json_object *cdi_device(const struct vtpm_rules *rules)
{
	struct json_object *dev = json_object_new_object();
	struct json_object *edits = NULL, *nodes = NULL;

	if (!dev)
		return NULL;
	JSON_ADD(dev, "name", json_object_new_string(rules->name));
	edits = json_object_new_object();
	JSON_ADD(dev, "containerEdits", edits);
	nodes = json_object_new_array();
	JSON_ADD(edits, "deviceNodes", nodes);
	for (unsigned int i = 0; i < rules->count; i++) {
		const struct rules_node *n = &rules->nodes[i];
		struct json_object *o = json_object_new_object();

		JSON_APPEND(nodes, o);
		JSON_ADD(o, "path", json_object_new_string(n->container_path));
		JSON_ADD(o, "hostPath", json_object_new_string(n->host_path));
		JSON_ADD(o, "type", json_object_new_string("c"));
		JSON_ADD(o, "major", json_object_new_int64(n->major));
		JSON_ADD(o, "minor", json_object_new_int64(n->minor));
		JSON_ADD(o, "permissions", json_object_new_string("rwm"));
		JSON_ADD(o, "fileMode", json_object_new_int64(rules->mode));
		JSON_ADD(o, "uid", json_object_new_int64(rules->uid));
		JSON_ADD(o, "gid", json_object_new_int64(rules->gid));
	}
	return dev;
oom:
	json_object_put(dev);
	return NULL;
}

static struct json_object *new_cdi_spec(const struct vtpm_rules *rules)
{
	struct json_object *spec = json_object_new_object();

	if (!spec)
		return NULL;
	JSON_ADD(spec, "cdiVersion", json_object_new_string(VTPM_CDI_VERSION));
	JSON_ADD(spec, "kind", json_object_new_string(rules->kind));
	JSON_ADD(spec, "devices", json_object_new_array());
	return spec;
oom:
	json_object_put(spec);
	return NULL;
}

/* Parse a CDI spec: a JSON object with a "devices" array. */
static int parse_cdi_spec(const char *spec, struct json_object **out)
{
	struct json_object *obj, *devices;

	obj = json_tokener_parse(spec);
	if (!obj || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "devices", &devices) ||
	    !json_object_is_type(devices, json_type_array)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	*out = obj;
	return 0;
}

/* Index of device @name in @devices, or -1. */
static int find_cdi_device(struct json_object *devices, const char *name)
{
	size_t n = json_object_array_length(devices);

	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_array_get_idx(devices, i), *jn;

		if (json_object_object_get_ex(d, "name", &jn) &&
		    json_object_is_type(jn, json_type_string) &&
		    strcmp(json_object_get_string(jn), name) == 0)
			return (int)i;
	}
	return -1;
}

VTPM_EXPORT int vtpm_cdi_spec_merge(const struct vtpm_rules *rules, const char *spec, char **text)
{
	struct json_object *obj, *devices, *kind, *dev;
	int r, idx;

	r = vtpm_rules_check_renderable(rules);
	if (r < 0)
		return r;
	if (!rules->name)
		return -ENOENT;
	if (spec) {
		r = parse_cdi_spec(spec, &obj);
		if (r < 0)
			return r;
		if (!json_object_object_get_ex(obj, "kind", &kind) ||
		    !json_object_is_type(kind, json_type_string) ||
		    strcmp(json_object_get_string(kind), rules->kind) != 0) {
			json_object_put(obj);
			return -EXDEV;
		}
	} else {
		obj = new_cdi_spec(rules);
		if (!obj)
			return -ENOMEM;
	}
	devices = json_object_object_get(obj, "devices");
	dev = cdi_device(rules);
	if (!dev) {
		json_object_put(obj);
		return -ENOMEM;
	}
	idx = find_cdi_device(devices, rules->name);
	if (idx >= 0)
		r = json_object_array_put_idx(devices, (size_t)idx, dev);
	else
		r = json_object_array_add(devices, dev);
	if (r < 0) {
		json_object_put(dev);
		json_object_put(obj);
		return -ENOMEM;
	}
	r = vtpm_json_to_text(obj, text);
	json_object_put(obj);
	return r;
}

VTPM_EXPORT int vtpm_cdi_spec_remove(const char *spec, const char *name, char **text)
{
	struct json_object *obj, *devices;
	int r, idx;

	if (!spec || !name)
		return -EINVAL;
	r = parse_cdi_spec(spec, &obj);
	if (r < 0)
		return r;
	devices = json_object_object_get(obj, "devices");
	idx = find_cdi_device(devices, name);
	if (idx < 0) {
		json_object_put(obj);
		return -ENOENT;
	}
	json_object_array_del_idx(devices, (size_t)idx, 1);
	if (json_object_array_length(devices) == 0) {
		*text = NULL;
		r = 0;
	} else {
		r = vtpm_json_to_text(obj, text);
	}
	json_object_put(obj);
	return r;
}

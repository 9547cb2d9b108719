/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building JSON with json-c: what the library's JSON writers share. */
#ifndef VTPM_JSON_UTIL_H
#define VTPM_JSON_UTIL_H

#include <json-c/json.h>

/* json-c's constructors return NULL only when out of memory. */
#define JSON_ADD(obj, key, val)							\
	do {									\
		struct json_object *_v = (val);					\
		if (!_v || json_object_object_add(obj, key, _v) < 0) {		\
			json_object_put(_v);					\
			goto oom;						\
		}								\
	} while (0)

#define JSON_APPEND(arr, val)							\
	do {									\
		struct json_object *_v = (val);					\
		if (!_v || json_object_array_add(arr, _v) < 0) {		\
			json_object_put(_v);					\
			goto oom;						\
		}								\
	} while (0)

/*
 * @obj as indented text with a final newline, in a malloc()ed string.
 * Returns 0 or -ENOMEM.
 */
int vtpm_json_to_text(struct json_object *obj, char **text);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Building JSON with json-c; see json-util.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>

#include "json-util.h"

int vtpm_json_to_text(struct json_object *obj, char **text)
{
	const char *s;

	s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
						JSON_C_TO_STRING_SPACED |
						JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!s || asprintf(text, "%s\n", s) < 0)
		return -ENOMEM;
	return 0;
}

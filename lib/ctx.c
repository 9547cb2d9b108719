/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The library context: reference count, logging, redirectable paths. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vtpm-internal.h"

static const char *const default_paths[] = {
	[VTPM_PATH_VTPMX] = "/dev/vtpmx",
	[VTPM_PATH_SYSFS] = "/sys",
	[VTPM_PATH_DEV] = "/dev",
};

struct vtpm_ctx {
	int refcount;
	int log_priority;
	vtpm_log_fn log_fn;
	vtpm_log_msg_fn log_msg_fn;	/* when set, instead of log_fn */
	void *log_msg_userdata;
	void *userdata;
	char *paths[ARRAY_SIZE(default_paths)];
};

static void log_stderr(struct vtpm_ctx *ctx, int priority, const char *file,
		       int line, const char *fn, const char *format, va_list args)
{
	fprintf(stderr, "libvtpm: ");
	if (priority >= LOG_DEBUG)
		fprintf(stderr, "%s: ", fn);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

/* Format into a bounded buffer on the stack: logging never allocates, so it
 * works when memory is short, and a message is cut rather than lost. */
static void log_formatted(struct vtpm_ctx *ctx, int priority, const char *file,
			  int line, const char *fn, const char *format, va_list args)
{
	char msg[VTPM_LOG_MSG_MAX];

	if (vsnprintf(msg, sizeof(msg), format, args) < 0)
		snprintf(msg, sizeof(msg), "(unformattable message: %s)", format);
	ctx->log_msg_fn(ctx->log_msg_userdata, priority, file, line, fn, msg);
}

void vtpm_log(struct vtpm_ctx *ctx, int priority, const char *file, int line,
	      const char *fn, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	if (ctx->log_msg_fn)
		log_formatted(ctx, priority, file, line, fn, format, args);
	else
		ctx->log_fn(ctx, priority, file, line, fn, format, args);
	va_end(args);
}

static int log_priority_from_string(const char *s)
{
	static const struct {
		const char *name;
		int priority;
	} names[] = {
		{ "err", LOG_ERR }, { "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "notice", LOG_NOTICE }, { "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	char *end;
	long n;

	if (isdigit((unsigned char)s[0])) {
		n = strtol(s, &end, 10);
		if (*end == '\0' && n >= LOG_EMERG && n <= LOG_DEBUG)
			return (int)n;
		return -1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (strcmp(s, names[i].name) == 0)
			return names[i].priority;
	return -1;
}

VTPM_EXPORT int vtpm_ctx_new(struct vtpm_ctx **ctx)
{
	struct vtpm_ctx *c;
	const char *env;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->refcount = 1;
	c->log_fn = log_stderr;
	c->log_priority = LOG_ERR;
	env = secure_getenv("VTPM_LOG");
	if (env && log_priority_from_string(env) >= 0)
		c->log_priority = log_priority_from_string(env);
	*ctx = c;
	return 0;
}

VTPM_EXPORT struct vtpm_ctx *vtpm_ctx_ref(struct vtpm_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

VTPM_EXPORT struct vtpm_ctx *vtpm_ctx_unref(struct vtpm_ctx *ctx)
{
	if (!ctx || --ctx->refcount > 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(ctx->paths); i++)
		free(ctx->paths[i]);
	free(ctx);
	return NULL;
}

VTPM_EXPORT void vtpm_ctx_set_log_fn(struct vtpm_ctx *ctx, vtpm_log_fn log_fn)
{
	ctx->log_fn = log_fn ? log_fn : log_stderr;
	ctx->log_msg_fn = NULL;
	ctx->log_msg_userdata = NULL;
}

VTPM_EXPORT void vtpm_ctx_set_log_msg_fn(struct vtpm_ctx *ctx, vtpm_log_msg_fn log_fn,
					 void *userdata)
{
	ctx->log_fn = log_stderr;
	ctx->log_msg_fn = log_fn;
	ctx->log_msg_userdata = log_fn ? userdata : NULL;
}

VTPM_EXPORT int vtpm_ctx_get_log_priority(const struct vtpm_ctx *ctx)
{
	return ctx->log_priority;
}

VTPM_EXPORT void vtpm_ctx_set_log_priority(struct vtpm_ctx *ctx, int priority)
{
	if (priority < LOG_EMERG)
		priority = LOG_EMERG;
	if (priority > LOG_DEBUG)
		priority = LOG_DEBUG;
	ctx->log_priority = priority;
}

VTPM_EXPORT void vtpm_ctx_set_userdata(struct vtpm_ctx *ctx, void *userdata)
{
	ctx->userdata = userdata;
}

VTPM_EXPORT void *vtpm_ctx_get_userdata(const struct vtpm_ctx *ctx)
{
	return ctx->userdata;
}

VTPM_EXPORT int vtpm_ctx_set_path(struct vtpm_ctx *ctx, enum vtpm_path which, const char *path)
{
	char *copy;

	if ((unsigned int)which >= ARRAY_SIZE(default_paths) || !path || path[0] != '/')
		return -EINVAL;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	free(ctx->paths[which]);
	ctx->paths[which] = copy;
	return 0;
}

VTPM_EXPORT const char *vtpm_ctx_get_path(const struct vtpm_ctx *ctx, enum vtpm_path which)
{
	if ((unsigned int)which >= ARRAY_SIZE(default_paths))
		return NULL;
	return ctx->paths[which] ? ctx->paths[which] : default_paths[which];
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the library's files share and its users never see. */
#ifndef VTPM_INTERNAL_H
#define VTPM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include <vtpm/vtpm.h>

#include "macro.h"

/* ---- logging (ctx.c) ---- */

void vtpm_log(struct vtpm_ctx *ctx, int priority, const char *file, int line,
	      const char *fn, const char *format, ...) _printf_(6, 7);

#define vtpm_log_cond(ctx, prio, ...)						\
	do {									\
		if (vtpm_ctx_get_log_priority(ctx) >= (prio))			\
			vtpm_log(ctx, prio, __FILE__, __LINE__, __func__, __VA_ARGS__); \
	} while (0)

#ifdef ENABLE_DEBUG_LOG
#define dbg(ctx, ...) vtpm_log_cond(ctx, LOG_DEBUG, __VA_ARGS__)
#else
#define dbg(ctx, ...) do { if (0) vtpm_log(ctx, LOG_DEBUG, "", 0, "", __VA_ARGS__); } while (0)
#endif
#define info(ctx, ...) vtpm_log_cond(ctx, LOG_INFO, __VA_ARGS__)
#define warn(ctx, ...) vtpm_log_cond(ctx, LOG_WARNING, __VA_ARGS__)
#define err(ctx, ...) vtpm_log_cond(ctx, LOG_ERR, __VA_ARGS__)

/* ---- backend.c: what the relay needs beyond the public calls ---- */

int vtpm_backend_process(struct vtpm_backend *backend, const uint8_t *cmd,
			 size_t cmd_len, uint8_t locality, uint8_t *resp,
			 size_t resp_size, size_t *resp_len);

/* ---- time.c ---- */

/* Monotonic milliseconds. */
int64_t vtpm_now_ms(void);

/* ---- file-atomic.c ---- */

/*
 * Replace @dir_fd/@name with @data in one step: write a temporary file in
 * the same directory, fsync it, rename it over @name, fsync the directory.
 * A crash leaves either the old or the new content, never a mix.
 */
int vtpm_write_file_atomic(int dir_fd, const char *name, const void *data, size_t len);

/* Read a whole regular file (at most @max bytes) into a malloc()ed buffer. */
int vtpm_read_file(int dir_fd, const char *name, size_t max, uint8_t **data, size_t *len);

#endif

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvtpm library context: logging and the filesystem paths the library
 * touches.  Every other libvtpm object belongs to one context.
 *
 * Thread safety: a context and the objects made from it may be used from one
 * thread at a time; taking or dropping a reference (_ref, _unref) is a use.
 * An object made from objects of several contexts (a relay from a device
 * and a backend) ties them together: use them all from one thread at a
 * time.  Distinct contexts never share state and may be used from
 * different threads concurrently.  The exceptions, callable from any thread
 * (and from a signal handler) while another uses the object, are
 * vtpm_relay_stop() and vtpm_manager_stop().  The log function runs in the
 * thread that made the call which logs.  The library keeps no global state
 * and installs no signal handlers; libtpms does keep global state, so one
 * process runs one libtpms backend at a time (see backend.h).
 *
 * Processes: the instance manager forks without exec to run each instance
 * (see manager.h): run it in a process of its own, not in a threaded
 * embedder; its client calls (vtpm_manager_client_*()) never fork.
 * vtpm_nodes_create_pid() and vtpm_nodes_remove_pid() fork a child that
 * only makes system calls, safe in a threaded process.  Nothing else forks
 * or starts threads.
 */
#ifndef VTPM_CTX_H
#define VTPM_CTX_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vtpm_ctx;

/**
 * vtpm_ctx_new - create a library context
 * @ctx: on success, the new context with a reference count of one
 *
 * The log priority starts at LOG_ERR (syslog levels) and messages go to
 * stderr.  The environment variable VTPM_LOG ("err", "info", "debug" or a
 * number) raises it; it is read with secure_getenv(), so it is ignored in
 * set-uid programs.
 *
 * Returns: 0, or -ENOMEM.
 */
int vtpm_ctx_new(struct vtpm_ctx **ctx);

/** vtpm_ctx_ref - take a reference; returns @ctx. */
struct vtpm_ctx *vtpm_ctx_ref(struct vtpm_ctx *ctx);

/**
 * vtpm_ctx_unref - drop a reference, freeing the context with the last one
 *
 * Returns: NULL, so callers may write "ctx = vtpm_ctx_unref(ctx);".
 */
struct vtpm_ctx *vtpm_ctx_unref(struct vtpm_ctx *ctx);

/**
 * vtpm_log_fn - receives every log message at or above the log priority
 * @priority: a syslog priority (LOG_ERR, LOG_INFO, LOG_DEBUG, ...)
 * @format, @args: printf-style message, ending without a newline
 */
typedef void (*vtpm_log_fn)(struct vtpm_ctx *ctx, int priority,
			    const char *file, int line, const char *fn,
			    const char *format, va_list args);

/**
 * vtpm_ctx_set_log_fn - replace the log function; NULL restores stderr.
 * It replaces a function set with vtpm_ctx_set_log_msg_fn() too.
 */
void vtpm_ctx_set_log_fn(struct vtpm_ctx *ctx, vtpm_log_fn log_fn);

/** VTPM_LOG_MSG_MAX - longest message a vtpm_log_msg_fn receives, in bytes. */
#define VTPM_LOG_MSG_MAX 4096

/**
 * vtpm_log_msg_fn - receives every log message, already formatted
 * @userdata: the pointer given to vtpm_ctx_set_log_msg_fn()
 * @priority: a syslog priority (LOG_ERR, LOG_INFO, LOG_DEBUG, ...)
 * @file, @line, @fn: where in libvtpm the message comes from
 * @msg: the message, without a trailing newline, at most
 *	VTPM_LOG_MSG_MAX - 1 bytes (longer ones are cut); valid only during
 *	the call
 *
 * For bindings that cannot take a va_list (cgo, ctypes, Rust without
 * nightly): the same messages as vtpm_log_fn, formatted by the library.
 */
typedef void (*vtpm_log_msg_fn)(void *userdata, int priority, const char *file,
				int line, const char *fn, const char *msg);

/**
 * vtpm_ctx_set_log_msg_fn - send log messages to @log_fn, formatted
 * @log_fn: NULL restores stderr
 * @userdata: passed to every call of @log_fn; independent of
 *	vtpm_ctx_set_userdata()
 *
 * It replaces a function set with vtpm_ctx_set_log_fn(), and the other way
 * round: the last one set receives the messages.
 */
void vtpm_ctx_set_log_msg_fn(struct vtpm_ctx *ctx, vtpm_log_msg_fn log_fn, void *userdata);

/** vtpm_ctx_get_log_priority - the current syslog priority threshold. */
int vtpm_ctx_get_log_priority(const struct vtpm_ctx *ctx);

/** vtpm_ctx_set_log_priority - log messages up to @priority (LOG_EMERG..LOG_DEBUG). */
void vtpm_ctx_set_log_priority(struct vtpm_ctx *ctx, int priority);

/** vtpm_ctx_set_userdata - attach a caller pointer, e.g. for the log function. */
void vtpm_ctx_set_userdata(struct vtpm_ctx *ctx, void *userdata);

/** vtpm_ctx_get_userdata - the pointer given to vtpm_ctx_set_userdata(). */
void *vtpm_ctx_get_userdata(const struct vtpm_ctx *ctx);

/**
 * enum vtpm_path - filesystem locations the library uses
 * @VTPM_PATH_VTPMX: the proxy control device (default "/dev/vtpmx")
 * @VTPM_PATH_SYSFS: the sysfs mount (default "/sys")
 * @VTPM_PATH_DEV:   the directory holding device nodes (default "/dev")
 */
enum vtpm_path {
	VTPM_PATH_VTPMX = 0,
	VTPM_PATH_SYSFS = 1,
	VTPM_PATH_DEV = 2,
};

/**
 * vtpm_ctx_set_path - redirect one of the paths, e.g. for tests
 * @path: an absolute path; it is copied
 *
 * Returns: 0, -EINVAL for an unknown @which or a relative or empty @path,
 * -ENOMEM.
 */
int vtpm_ctx_set_path(struct vtpm_ctx *ctx, enum vtpm_path which, const char *path);

/** vtpm_ctx_get_path - the current path; owned by @ctx, NULL for an unknown @which. */
const char *vtpm_ctx_get_path(const struct vtpm_ctx *ctx, enum vtpm_path which);

#ifdef __cplusplus
}
#endif

#endif

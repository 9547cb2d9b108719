/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the library's files share and its users never see. */
#ifndef VTPM_INTERNAL_H
#define VTPM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

#include <vtpm/vtpm.h>

#include "file-util.h"
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

/* ---- device.c ---- */

/* The context the device was made with (not referenced). */
struct vtpm_ctx *vtpm_device_get_ctx(const struct vtpm_device *dev);
/*
 * The device number in a sysfs "dev" attribute at @path, which must read
 * exactly "MAJOR:MINOR\n".  Returns 0; -EAGAIN if it does not exist (the
 * device is not registered yet); -EIO if it reads anything else; other
 * negative errnos from fopen(3).
 */
int vtpm_sysfs_read_devnum(const char *path, dev_t *devnum);

/* ---- backend.c: what the relay needs beyond the public calls ---- */

int vtpm_backend_process(struct vtpm_backend *backend, const uint8_t *cmd,
			 size_t cmd_len, uint8_t locality, uint8_t *resp,
			 size_t resp_size, size_t *resp_len);

/* The data pointer the backend was made with. */
void *vtpm_backend_get_data(const struct vtpm_backend *backend);

/* The context the backend was made with (not referenced). */
struct vtpm_ctx *vtpm_backend_get_ctx(const struct vtpm_backend *backend);

/*
 * The key that encrypts the backend's state at rest (NULL: none), for the
 * control channel's GET_CONFIG and state blobs; set takes a reference.
 */
void vtpm_backend_set_key(struct vtpm_backend *backend, struct vtpm_state_key *key);
struct vtpm_state_key *vtpm_backend_get_key(const struct vtpm_backend *backend);

/* The optional operations (-ENOTSUP without them, -ENXIO when not running). */
int vtpm_backend_get_info(struct vtpm_backend *backend, uint64_t flags, char **info);
int vtpm_backend_get_established(struct vtpm_backend *backend, int *established);
int vtpm_backend_reset_established(struct vtpm_backend *backend, uint8_t locality);
int vtpm_backend_store_volatile(struct vtpm_backend *backend);

/*
 * The locality of the commands to come (0 at first), and the largest
 * command taken (VTPM_BUFFER_SIZE at first; set clamps it to that), shared
 * by the data channel (relay.c) and the control channel (ctrl-commands.c).
 */
void vtpm_backend_set_locality(struct vtpm_backend *backend, uint8_t locality);
uint8_t vtpm_backend_get_locality(const struct vtpm_backend *backend);
void vtpm_backend_set_buffer_size(struct vtpm_backend *backend, size_t size);
size_t vtpm_backend_get_buffer_size(const struct vtpm_backend *backend);

/* ---- crypto-preload.c ---- */

/* Build OpenSSL's tables now, for processes forked afterwards to share. */
void vtpm_crypto_preload(struct vtpm_ctx *ctx);

/* ---- manufacture.c ---- */

/* VTPM_PCR_BANK_* bits as vtpm_pcr_banks_parse() reads them ("sha1,sha256"):
 * 0; -EINVAL for no or unknown bits; -ENOSPC when @size is too small. */
int vtpm_pcr_banks_format(unsigned int banks, char *buf, size_t size);

/* ---- state-file.c: for state-import.c ---- */

/* The context the state was made with (not referenced). */
struct vtpm_ctx *vtpm_state_get_ctx(const struct vtpm_state *state);
/* The TPM family behind a control channel, from CMD_GET_INFO. */
int vtpm_state_ask_version(struct vtpm_ctrl_client *client, enum vtpm_version *version);

/* ---- relay.c: for tests ---- */

/*
 * Hand a vtpm_relay_new_ctrl() relay the data channel @fd (taken over on
 * success); what CMD_SET_DATAFD does.  -ENOTSUP for another relay; -EBUSY
 * if it has one.
 */
int vtpm_relay_set_data_fd(struct vtpm_relay *relay, int fd);

/* ---- ctrl.c: for the relay that serves an endpoint in its loop ---- */

/*
 * Tell @ctrl that @server serves it (NULL: nobody does), and who takes the
 * data channel of CMD_SET_DATAFD: @take_data_fd(@server, fd) takes the
 * descriptor over and returns 0, or returns -EBUSY when a data channel is
 * connected already or another negative errno, leaving it to the caller.
 * NULL: SET_DATAFD is not offered.
 */
void vtpm_ctrl_set_server(struct vtpm_ctrl *ctrl, void *server,
			  int (*take_data_fd)(void *server, int fd));
void *vtpm_ctrl_get_server(const struct vtpm_ctrl *ctrl);
struct vtpm_backend *vtpm_ctrl_get_backend(const struct vtpm_ctrl *ctrl);
/* The context @ctrl was made with (not referenced). */
struct vtpm_ctx *vtpm_ctrl_get_ctx(const struct vtpm_ctrl *ctrl);

/* ---- ctrl-client.c: for fuzz targets and tests ---- */

/*
 * Make the next command of @client use @fd (a connected stream socket,
 * taken over and closed after that command) instead of connecting to its
 * address.  Returns 0 or -EBADF.
 */
int vtpm_ctrl_client_adopt_fd(struct vtpm_ctrl_client *client, int fd);
/* The context @client was made with (not referenced). */
struct vtpm_ctx *vtpm_ctrl_client_get_ctx(const struct vtpm_ctrl_client *client);

/* ---- backend-swtpm.c: for fuzz targets and tests ---- */

/*
 * Make the swtpm backend @backend use @data_fd for its data channel (kept
 * until it fails) and @ctrl_fd for its next control command, instead of
 * connecting; -1 leaves either alone.  Both are taken over.
 */
void vtpm_backend_swtpm_adopt_fds(struct vtpm_backend *backend, int data_fd, int ctrl_fd);
/* ---- sandbox.c ---- */

/* Threads of this process (from /proc/self/task), or a negative errno. */
int vtpm_count_threads(void);

/* ---- landlock.c ---- */

/*
 * Limit this thread's file access to the directory @state_dir_fd (opened
 * O_PATH; -1: no files at all).
 * Returns the Landlock ABI version in force (> 0); -EOPNOTSUPP if the
 * kernel has no Landlock or it is disabled; other negative errno values.
 */
int vtpm_landlock_restrict(struct vtpm_ctx *ctx, int state_dir_fd);

/* ---- pid-pin.c: a process named by pid, pinned against pid reuse ---- */

struct vtpm_pinned_pid {
	pid_t pid;
	int pidfd;	/* -1 on a kernel without pidfd_open(2) */
};

/* Pin @pid (pidfd_open); -ESRCH if there is no such process. */
int vtpm_pid_pin(pid_t pid, struct vtpm_pinned_pid *p);
void vtpm_pid_unpin(struct vtpm_pinned_pid *p);
/* 0 while the pinned process lives; -ESRCH once it is gone. */
int vtpm_pid_check(const struct vtpm_pinned_pid *p);
/* Open /proc/PID/@what (O_CLOEXEC added), then check the pin: an fd, or
 * -ESRCH if the pid no longer names the pinned process. */
int vtpm_pid_open(const struct vtpm_pinned_pid *p, const char *what, int flags);
/* Join the pinned process's mount namespace (through the pidfd where the
 * kernel allows, Linux 5.8; else /proc/PID/ns/mnt and a check). */
int vtpm_pid_setns_mnt(const struct vtpm_pinned_pid *p);

/* ---- nodes.c: for handover.c ---- */

/* A container's root directory, known again after the runtime pivoted. */
struct vtpm_nodes_root {
	dev_t dev;
	ino_t ino;
};

/*
 * Create the nodes of @rules below @rootfs (NULL: the root) in the mount
 * namespace of the pinned process, as vtpm_nodes_create_pid() does, and
 * record that directory in @root (may be NULL).  With @remove, remove
 * them again below the directory @root records (NULL: @rootfs), be it
 * still @rootfs or, once the runtime pivoted into it, the process's root;
 * -ENOENT if it is neither.  -ESRCH once that process is gone.
 */
int vtpm_nodes_run_pinned(const struct vtpm_rules *rules, const struct vtpm_pinned_pid *pin,
			  const char *rootfs, unsigned int flags, bool remove,
			  struct vtpm_nodes_root *root);

/* ---- time.c ---- */

/* Monotonic milliseconds. */
int64_t vtpm_now_ms(void);

/* ---- rules.c ---- */

/* The context the rules were made with (not referenced). */
struct vtpm_ctx *vtpm_rules_get_ctx(const struct vtpm_rules *rules);

/* An absolute path below "/" without ".." components, shorter than PATH_MAX. */
bool vtpm_path_is_safe(const char *path);
/* Record that node @index is the pair's @node, for vtpm_rules_find_node(). */
void vtpm_rules_mark_node(struct vtpm_rules *rules, unsigned int index, enum vtpm_node node);

#endif

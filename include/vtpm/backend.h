/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Emulator backends: what answers the TPM commands a relay receives.
 *
 * A backend is a table of operations plus a private pointer.  libvtpm ships
 * a libtpms backend (in-process TPM 1.2 and TPM 2); callers may supply their
 * own ops to plug in any other emulator.
 *
 * Thread safety: as for every libvtpm object (see ctx.h).  libtpms keeps
 * its TPM in process-global memory: one process runs at most one libtpms
 * backend (or vtpm_state_check()) at a time, whatever the contexts.
 */
#ifndef VTPM_BACKEND_H
#define VTPM_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <vtpm/ctx.h>
#include <vtpm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** VTPM_BUFFER_SIZE - largest command or response on the wire (the kernel's TPM_BUFSIZE). */
#define VTPM_BUFFER_SIZE 4096

/**
 * enum vtpm_state_type - the state blobs of a TPM
 * @VTPM_STATE_PERMANENT: NV memory: seeds, NV indices, persistent objects
 * @VTPM_STATE_VOLATILE:  RAM state: PCRs, sessions, loaded objects
 * @VTPM_STATE_SAVESTATE: what TPM2_Shutdown(STATE) / TPM_SaveState stored
 */
enum vtpm_state_type {
	VTPM_STATE_PERMANENT = 1,
	VTPM_STATE_VOLATILE = 2,
	VTPM_STATE_SAVESTATE = 3,
};

/**
 * struct vtpm_backend_ops - what an emulator implements
 * @size: sizeof(struct vtpm_backend_ops) as the caller compiled it, so the
 *	table can grow without breaking old callers
 * @start: power the TPM on.  Called before the first command and after
 *	@shutdown.  Returns 0 or a negative errno.
 * @process: execute one command.  @cmd is a whole, length-checked command
 *	(its header length equals @cmd_len).  Write the response to @resp
 *	(at most @resp_size bytes) and its length to @resp_len.  Return 0, or
 *	a negative errno if no response could be produced at all: the relay
 *	then answers the client with a TPM failure code itself.
 * @reset: power-cycle: volatile state is lost, permanent state kept.  May
 *	be NULL (then @shutdown followed by @start is used).
 * @shutdown: power off cleanly, saving volatile state where the backend
 *	persists state.  Returns 0 or a negative errno.
 * @get_state: hand out a state blob in a malloc()ed buffer that the caller
 *	frees.  -ENOENT if that blob does not exist.  May be NULL (-ENOTSUP).
 * @set_state: replace a state blob; only called while powered off.  May be
 *	NULL (-ENOTSUP).
 * @free: release @data.  May be NULL.
 *
 * Optional operations for the control channel (see ctrl.h); each may be
 * NULL, and tables with a @size that ends before them are fine:
 * @get_info: a malloc()ed JSON string describing the implementation for
 *	swtpm's SWTPM_INFO_* @flags (as TPMLIB_GetInfo()).
 * @get_established: the TPM-established flag (0 or 1) into @established.
 * @reset_established: clear that flag, as a command from @locality would;
 *	-EPERM if @locality may not.
 * @store_volatile: write the volatile state where the next start with
 *	resume would find it.
 */
struct vtpm_backend_ops {
	size_t size;
	int (*start)(void *data);
	int (*process)(void *data, const uint8_t *cmd, size_t cmd_len,
		       uint8_t locality, uint8_t *resp, size_t resp_size,
		       size_t *resp_len);
	int (*reset)(void *data);
	int (*shutdown)(void *data);
	int (*get_state)(void *data, enum vtpm_state_type type,
			 uint8_t **blob, size_t *blob_len);
	int (*set_state)(void *data, enum vtpm_state_type type,
			 const uint8_t *blob, size_t blob_len);
	void (*free)(void *data);
	int (*get_info)(void *data, uint64_t flags, char **info);
	int (*get_established)(void *data, int *established);
	int (*reset_established)(void *data, uint8_t locality);
	int (*store_volatile)(void *data);
};

struct vtpm_backend;

/**
 * vtpm_backend_new - wrap caller-supplied operations as a backend
 * @version: the TPM family the emulator speaks
 * @ops: copied; @ops->size tells how much of it the caller knows
 * @data: passed to every operation; released through @ops->free
 * @backend: on success, the new backend with a reference count of one
 *
 * Returns: 0; -EINVAL if @ops lacks start, process or shutdown, or for an
 * unknown @version; -ENOMEM (then @data is not freed).
 */
int vtpm_backend_new(struct vtpm_ctx *ctx, enum vtpm_version version,
		     const struct vtpm_backend_ops *ops, void *data,
		     struct vtpm_backend **backend);

/**
 * Flags for vtpm_backend_new_libtpms().
 * @VTPM_LIBTPMS_RESUME: on start, restore the volatile state that the last
 *	clean shutdown saved (like resuming from suspend: PCRs and loaded
 *	objects survive).  Without it every start is a fresh power-on and
 *	only permanent state survives.  The saved volatile state is consumed
 *	either way, so a later crash never resumes stale state.  Shutdown
 *	saves volatile state only for a TPM that was started (TPM_Startup, or
 *	resumed) since power-on: one never started has none worth resuming.
 */
#define VTPM_LIBTPMS_RESUME (1u << 0)

/**
 * vtpm_backend_new_libtpms - an in-process libtpms TPM with state in a directory
 * @version: VTPM_VERSION_1_2 or VTPM_VERSION_2
 * @state_dir: existing directory for the state files; it is locked while the
 *	backend runs, so two TPMs never share it.  The file layout is swtpm's
 *	("tpm2-00.permall", ...), unencrypted, so a state directory can move
 *	between swtpm and libvtpm.
 * @flags: 0 or VTPM_LIBTPMS_RESUME
 *
 * libtpms keeps its TPM in process-global memory, so a process can run only
 * one libtpms backend at a time: run one process per TPM.
 *
 * Returns: 0; -EINVAL for a bad @version, @flags or empty @state_dir;
 * -EBUSY if this process already has a libtpms backend;
 * -ENOTDIR / -ENOENT / -EACCES for an unusable @state_dir; -ENOMEM.
 * Locking the directory happens at start (see vtpm_backend_start()).
 */
int vtpm_backend_new_libtpms(struct vtpm_ctx *ctx, enum vtpm_version version,
			     const char *state_dir, unsigned int flags,
			     struct vtpm_backend **backend);

struct vtpm_state_key;

/**
 * struct vtpm_libtpms_options - a libtpms backend, as vtpm_backend_new_libtpms_opts() makes it
 * @size: sizeof(struct vtpm_libtpms_options) as the caller compiled it
 * @version: VTPM_VERSION_1_2 or VTPM_VERSION_2
 * @state_dir: existing directory for the state files, as for
 *	vtpm_backend_new_libtpms()
 * @flags: 0 or VTPM_LIBTPMS_RESUME
 * @key: NULL for plain state files; else every state file is written
 *	encrypted with this key in swtpm's format (the files of "swtpm
 *	--key ..."), and every one read must be encrypted with it.  The
 *	backend takes a reference.
 */
struct vtpm_libtpms_options {
	size_t size;
	enum vtpm_version version;
	const char *state_dir;
	unsigned int flags;
	struct vtpm_state_key *key;
};

/**
 * vtpm_backend_new_libtpms_opts - vtpm_backend_new_libtpms() with options,
 * which also checks the state already in the directory
 *
 * Every state file present is read, and decrypted with @opts->key, before
 * this returns: a missing or wrong key fails here, before any device or
 * start depends on it, and nothing in the directory is changed.
 *
 * Returns: 0; the errors of vtpm_backend_new_libtpms(); -EINVAL for a
 * @opts->size too small; -ENOKEY if the state is encrypted and @opts->key
 * is NULL; -EKEYREJECTED if the key does not open it (a wrong key, the
 * other AES key size, or a damaged file: the HMAC does not match);
 * -EMEDIUMTYPE if @opts->key is given but the state is not encrypted;
 * -EBADMSG for a file that is no state blob or a damaged one; -ENOTSUP
 * for an encryption this library cannot read (swtpm's migration key or
 * its version 1 files).  Each failure is logged with the file's name.
 */
int vtpm_backend_new_libtpms_opts(struct vtpm_ctx *ctx, const struct vtpm_libtpms_options *opts,
				  struct vtpm_backend **backend);

/**
 * vtpm_backend_new_swtpm - drive an external "swtpm socket" process
 * @version: the TPM family swtpm was started for (--tpm2 or not)
 * @data_address: swtpm's data channel (--server type=unixio,path=P is
 *	"unix:P"; --server type=tcp,port=N is "unauthenticated-tcp:127.0.0.1:N",
 *	see VTPM_UNAUTHENTICATED_TCP in ctrl.h); it carries plain TPM commands
 * @ctrl_address: swtpm's control channel (--ctrl ...), same notation
 * @timeout_ms: limit for one command, its response included (TPM 2 key
 *	generation can take seconds); <= 0 for VTPM_SWTPM_TIMEOUT_MS
 *
 * start sends CMD_INIT unless swtpm's TPM already runs (so a swtpm started
 * with --flags not-need-init keeps its state); shutdown sends CMD_STOP and
 * leaves the swtpm process running; reset is CMD_INIT; get_state and
 * set_state use CMD_GET_STATEBLOB / CMD_SET_STATEBLOB (swtpm hands out
 * state only while running and takes it only while stopped).  The locality
 * is passed with CMD_SET_LOCALITY whenever it changes.  A connection that
 * swtpm closed is reopened once per command; a command that times out or
 * fails again gets a TPM failure response from the relay.
 *
 * Prefer Unix sockets: every connection, reconnections included, checks
 * the process listening as vtpm_ctrl_client_new() describes (the caller's
 * effective uid, root, or a directory only a trusted owner can write; else
 * the command fails and the relay answers with a TPM failure).  A TCP port has no such owner: once
 * swtpm exits, any local user can listen on it and receive the TPM commands
 * (and answer them), which is why TCP needs the "unauthenticated-tcp:"
 * scheme.  Every response's length is checked against the caller's buffer
 * before it is read.
 *
 * Returns: 0; -EINVAL for a bad @version or address; -EPERM for a
 * "tcp:HOST:PORT" address; -ENAMETOOLONG; -ENOMEM.
 * Nothing is connected before vtpm_backend_start().
 */
int vtpm_backend_new_swtpm(struct vtpm_ctx *ctx, enum vtpm_version version,
			   const char *data_address, const char *ctrl_address,
			   int timeout_ms, struct vtpm_backend **backend);

/**
 * VTPM_SWTPM_TIMEOUT_MS - default per-command limit of the swtpm backend.
 *
 * The kernel waits for a TPM 2.0 response at most its per-command duration
 * (drivers/char/tpm/tpm.h: TPM2_DURATION_DEFAULT 120 s for most commands,
 * TPM2_DURATION_LONG_LONG 300 s for key creation) and then fails the
 * client's write with ETIME.  Staying below 120 s means a hung swtpm gets
 * the client a TPM failure response from the relay rather than a kernel
 * timeout, while RSA key generation under emulation still fits.  The relay
 * runs in one thread and cannot preempt a backend: an own backend's
 * @process must return within the same bound.
 */
#define VTPM_SWTPM_TIMEOUT_MS 60000

/** vtpm_backend_ref - take a reference; returns @backend. */
struct vtpm_backend *vtpm_backend_ref(struct vtpm_backend *backend);

/**
 * vtpm_backend_unref - drop a reference.  The last one shuts a running TPM
 * down cleanly (saving state) and frees it.  Returns NULL.
 */
struct vtpm_backend *vtpm_backend_unref(struct vtpm_backend *backend);

/** vtpm_backend_get_version - the TPM family of the backend. */
enum vtpm_version vtpm_backend_get_version(const struct vtpm_backend *backend);

/**
 * vtpm_backend_start - power the TPM on; a no-op if it is running.
 *
 * For libtpms: locks the state directory and loads the state.
 *
 * Returns: 0; -EBUSY if the state directory is locked by another process;
 * -EIO if libtpms refuses the state (damaged or from an incompatible
 * version); -EBADMSG for a state file that is not in swtpm's blob format;
 * -ENOKEY for an encrypted state and no key; -EKEYREJECTED when the key
 * does not open it; -EMEDIUMTYPE for a plain state and a key; -ENOTSUP for
 * an encryption this library cannot read; -ENOMEM; or a negative errno from
 * open(2), fcntl(2) or read(2) of the state directory and its files.
 */
int vtpm_backend_start(struct vtpm_backend *backend);

/**
 * Flags for vtpm_backend_startup().
 * @VTPM_STARTUP_STATE: resume rather than start fresh: TPM2_Startup(STATE)
 *	(a TPM 2 that holds no state from TPM2_Shutdown(STATE) is then
 *	started with CLEAR), or for TPM 1.2 TPM_Startup(ST_STATE) when a
 *	TPM_SaveState blob exists (else ST_CLEAR).  Pair it with
 *	VTPM_LIBTPMS_RESUME.
 */
#define VTPM_STARTUP_STATE (1u << 0)

/**
 * vtpm_backend_startup - power the TPM on and start it, as firmware would
 * @flags: 0 (TPM2_Startup(CLEAR) / TPM_Startup(ST_CLEAR)) or VTPM_STARTUP_STATE
 * @tpm_rc: if not NULL, receives the TPM return code of the command that
 *	failed, or 0
 *
 * Starts the backend if it is off (vtpm_backend_start()), then sends the
 * start-up command and the self test (TPM2_SelfTest of what is untested, or
 * TPM_ContinueSelfTest for TPM 1.2) through it.  A TPM that is running
 * already (it resumed saved volatile state, or an external emulator kept
 * running) answers Startup with TPM_RC_INITIALIZE / TPM_INVALID_POSTINIT,
 * which is accepted.
 *
 * Call it before vtpm_device_new() whenever the TPM is served through the
 * proxy driver: the kernel starts an unstarted TPM itself while it
 * registers the chip, under time limits (750 ms for TPM2_Startup, 2 s for
 * the self test) that a loaded host misses, and then removes the device.
 * A started TPM answers the kernel's registration commands at once, and a
 * failing one is found before any device exists.  Do not call it where the
 * client brings its own firmware (a VM's firmware sends Startup itself).
 *
 * Returns: 0; -EPROTO if the TPM answered with an error (see @tpm_rc);
 * -EBADMSG for a malformed response; -EINVAL for unknown @flags; an error
 * of vtpm_backend_start(); or the backend's negative errno.  The backend
 * stays running after an error; shut it down or unref it.
 */
int vtpm_backend_startup(struct vtpm_backend *backend, unsigned int flags, uint32_t *tpm_rc);

/**
 * vtpm_backend_shutdown - power the TPM off cleanly and save its state.
 * A no-op if it is not running.  Returns 0 or a negative errno.
 */
int vtpm_backend_shutdown(struct vtpm_backend *backend);

/** vtpm_backend_is_running - 1 between a successful start and shutdown, else 0. */
int vtpm_backend_is_running(const struct vtpm_backend *backend);

/**
 * vtpm_backend_reset - power-cycle the TPM: volatile state lost, permanent kept.
 * Returns: 0; -ENXIO if not running; or the backend's negative errno.
 */
int vtpm_backend_reset(struct vtpm_backend *backend);

/**
 * vtpm_backend_get_state - copy out one state blob
 * @blob: on success, a malloc()ed buffer the caller frees
 *
 * For libtpms: the permanent blob is taken from the running TPM, or from
 * the state directory when it is not running; the volatile blob from a
 * running TPM only.
 *
 * Returns: 0; -ENOENT if the blob does not exist; -ENOTSUP if the backend
 * cannot export state; -EINVAL for an unknown @type; -ENOMEM.
 */
int vtpm_backend_get_state(struct vtpm_backend *backend, enum vtpm_state_type type,
			   uint8_t **blob, size_t *blob_len);

/**
 * vtpm_backend_set_state - replace one state blob; the TPM must be off.
 *
 * For libtpms the blob is written atomically to the state directory and
 * used at the next start (a volatile blob is then resumed once).
 *
 * Returns: 0; -EBUSY while running; -ENOTSUP if the backend cannot import
 * state; -EINVAL for an unknown @type or empty blob; or a negative errno
 * from writing it.
 */
int vtpm_backend_set_state(struct vtpm_backend *backend, enum vtpm_state_type type,
			   const uint8_t *blob, size_t blob_len);

#ifdef __cplusplus
}
#endif

#endif

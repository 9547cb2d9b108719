/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The instance manager: a supervisor that runs many named vTPMs, one
 * process each.
 *
 * libtpms keeps its TPM in process-global memory, so every instance is its
 * own process.  The manager forks each one from itself: the libraries are
 * loaded and relocated once in the manager (which never starts a TPM), so
 * code and read-only data stay shared and an instance starts without an
 * exec.  An instance process creates its device pair, starts its TPM on its
 * state directory, serves swtpm's control protocol on a socket in its
 * runtime directory, reports readiness to the manager, then gives up every
 * capability and confines itself with seccomp before serving commands.
 *
 * Runtime directory of an instance, "<run dir>/<name>/" (run dir default
 * VTPM_MANAGER_RUN_DIR):
 *	pid		the serving process's PID
 *	ctrl.sock	its control socket (see <vtpm/ctrl.h>), mode 0600
 *	instance.json	its description, replaced atomically whenever it changes:
 *	  { "name": "a", "status": "running", "pid": 123, "version": "2.0",
 *	    "backend": "libtpms", "state_dir": "/var/lib/vtpm/a",
 *	    "runtime_dir": "/run/vtpm/a", "ctrl": "unix:/run/vtpm/a/ctrl.sock",
 *	    "restarts": 0,
 *	    "tpm": { "path": "/dev/tpm0", "major": 10, "minor": 224 },
 *	    "tpmrm": { "path": "/dev/tpmrm0", "major": 253, "minor": 65536 } }
 *	  ("tpm"/"tpmrm" are null while the instance has no device, "tpmrm"
 *	  always for TPM 1.2; "status" is one of the names of enum
 *	  vtpm_instance_status).
 *
 * When an instance dies without being asked to, the manager logs it and
 * starts it again on the same state directory, after a delay that doubles
 * with each quick death (100 ms up to 10 s).  More than the burst of deaths
 * (default 5) within the interval (default 60 s) marks it "failed": it
 * stays down, and its runtime directory stays for inspection, until it is
 * restarted or destroyed by request.
 *
 * A serving instance outlives its manager if the manager dies (only a
 * clean vtpm_manager_shutdown() or unref stops them), and the next manager
 * to listen on the same run dir takes it over: the instance keeps its
 * process and device, so a container keeps its nodes.
 *
 * Request protocol of the manager's socket (vtpm_manager_listen()): a Unix
 * stream socket, mode 0600.  A client connects, sends one JSON object
 * (ended by a newline or by shutting down its sending side; at most
 * VTPM_MANAGER_REQUEST_MAX bytes), and reads one JSON object back, after
 * which the manager closes the connection.  Requests:
 *	{"op": "create", "name": N}	optional: "version": "2.0" | "1.2",
 *					"state_dir": DIR, "resume": true,
 *					"socket": PATH, "manufacture": M,
 *					"key": true; answered once the
 *					device is ready
 *	{"op": "destroy", "name": N}	clean stop (state saved), device and
 *					runtime directory removed
 *	{"op": "restart", "name": N}	clean stop, then start again (also
 *					brings a "failed" instance back)
 *	{"op": "status", "name": N}
 *	{"op": "list"}
 * M is an object of the members "create_ek", "create_ek_cert",
 * "lock_nvram", "create_platform_cert" (booleans, the VTPM_MANUFACTURE_*
 * flags), "pcr_banks" (a
 * list as for vtpm_pcr_banks_parse()), "ca_dir", "ca_key", "ca_cert"
 * (absolute paths).  "key": true says that the request's first bytes carry
 * a descriptor (SCM_RIGHTS) of a memfd or regular file that holds the
 * state key's 16 or 32 bytes and nothing else; the manager reads it from
 * offset 0 and closes it.  A descriptor sent without "key": true is closed
 * unread.  An instance with a key is described with "encrypted": true.
 * Responses: {"ok": true, "instance": DESCRIPTION} (create, restart,
 * status), {"ok": true, "instances": [DESCRIPTION, ...]} (list),
 * {"ok": true} (destroy), or {"ok": false, "error": "EEXIST",
 * "errno": 17, "message": "..."} where "error" is the errno name of the
 * documented failure of the matching vtpm_manager_*() call.
 *
 * Thread safety: as for every libvtpm object (see ctx.h); vtpm_manager_stop()
 * may be called from any thread or a signal handler.  The manager reaps
 * only the children it forked (through pidfds): it needs no SIGCHLD
 * handler, but the caller must not set SIGCHLD to SIG_IGN.
 *
 * Fork without exec: vtpm_manager_create(), vtpm_manager_restart(),
 * vtpm_manager_listen() (spares, take-over) and vtpm_manager_dispatch()
 * (restarts, spares) fork(2) the calling process and run the instance in
 * the child without exec.  The child has one thread and a copy of the
 * caller's memory; it closes every descriptor but stdio and its own at
 * once, and calls the context's log function.  So run the manager in a
 * process of its own (as "vtpmctl daemon" does): not in a process whose
 * other threads may hold locks across the fork, nor with a log function
 * that cannot run in a forked child (a Go or Python runtime's).  Embedders
 * that only want instances use the client calls below, which never fork.
 */
#ifndef VTPM_MANAGER_H
#define VTPM_MANAGER_H

#include <stddef.h>
#include <sys/types.h>

#include <vtpm/ctx.h>
#include <vtpm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** VTPM_MANAGER_RUN_DIR - default root of the runtime directories. */
#define VTPM_MANAGER_RUN_DIR "/run/vtpm"
/** VTPM_MANAGER_STATE_DIR - default root of the instances' state directories. */
#define VTPM_MANAGER_STATE_DIR "/var/lib/vtpm"
/** VTPM_MANAGER_SOCKET - name of the manager's socket in the run dir. */
#define VTPM_MANAGER_SOCKET "vtpmd.sock"
/** VTPM_MANAGER_REQUEST_MAX - largest request accepted, in bytes. */
#define VTPM_MANAGER_REQUEST_MAX 65536
/** VTPM_MANAGER_NAME_MAX - longest instance name. */
#define VTPM_MANAGER_NAME_MAX 64

/**
 * enum vtpm_instance_status - where an instance is in its life
 * @VTPM_INSTANCE_STARTING: forked, its device not yet registered ("starting")
 * @VTPM_INSTANCE_RUNNING: serving ("running")
 * @VTPM_INSTANCE_RESTARTING: died, waiting for its restart ("restarting")
 * @VTPM_INSTANCE_FAILED: died too often, given up ("failed")
 * @VTPM_INSTANCE_STOPPING: asked to stop, not yet gone ("stopping")
 */
enum vtpm_instance_status {
	VTPM_INSTANCE_STARTING = 1,
	VTPM_INSTANCE_RUNNING = 2,
	VTPM_INSTANCE_RESTARTING = 3,
	VTPM_INSTANCE_FAILED = 4,
	VTPM_INSTANCE_STOPPING = 5,
};

/**
 * Flags of struct vtpm_manager_options.
 * @VTPM_MANAGER_NO_SANDBOX: instances keep their capabilities and run
 *	without a seccomp filter (for debugging only).
 */
#define VTPM_MANAGER_NO_SANDBOX (1u << 0)
/*
 * @VTPM_MANAGER_NO_SPARES: keep no spare instances.  By default, once
 * listening, the manager keeps two TPM 2 processes that have manufactured
 * and self-tested a TPM ahead of any request; a create for a new state
 * directory takes one, skipping most of a start.
 */
#define VTPM_MANAGER_NO_SPARES (1u << 1)

/**
 * struct vtpm_manager_options - how the manager works
 * @size: sizeof(struct vtpm_manager_options) as the caller compiled it
 * @run_dir: root of the runtime directories; NULL for VTPM_MANAGER_RUN_DIR
 * @state_dir: root of default state directories ("<state_dir>/<name>");
 *	NULL for VTPM_MANAGER_STATE_DIR
 * @restart_burst: deaths tolerated within @restart_interval_ms; 0 for 5
 * @restart_interval_ms: 0 for 60000
 * @flags: 0 or VTPM_MANAGER_NO_SANDBOX, VTPM_MANAGER_NO_SPARES
 * @uid, @gid: the identity every instance serves as once confined; both
 *	0 for the default, vtpm_sandbox_get_default_user() (tss, else
 *	nobody; a manager that is not root keeps its own).  Root's ids are
 *	never a serving identity (VTPM_MANAGER_NO_SANDBOX keeps the
 *	manager's).  Since LIBVTPM_3; a @size that ends before @gid means 0.
 */
struct vtpm_manager_options {
	size_t size;
	const char *run_dir;
	const char *state_dir;
	unsigned int restart_burst;
	unsigned int restart_interval_ms;
	unsigned int flags;
	uid_t uid;
	gid_t gid;
};

/**
 * struct vtpm_instance_options - one instance
 * @size: sizeof(struct vtpm_instance_options) as the caller compiled it
 * @version: 0 or VTPM_VERSION_2 for a TPM 2, VTPM_VERSION_1_2
 * @state_dir: an absolute path; NULL for "<state root>/<name>", created
 *	(mode 0700) when missing
 * @backend_flags: 0 or VTPM_LIBTPMS_RESUME (see <vtpm/backend.h>)
 * @socket: NULL for a vTPM device; else an absolute path where the
 *	instance serves a virtual machine instead, with no device, as
 *	vtpm_relay_new_from_ctrl() does (QEMU's tpm-emulator connects there).
 *	A restarted instance listens there again, on its state.  Since
 *	LIBVTPM_2; a @size that ends before it means NULL.
 * @manufacture: NULL, or what vtpm_manufacture() does to the TPM 2 at
 *	the instance's first start, before its device exists (see
 *	<vtpm/manufacture.h>; the CA paths must be absolute and are opened
 *	by the manager's instance process, as the manager's user).  Restarts
 *	serve the state as it is then.  An instance that asks for it never
 *	gets a spare's prepared TPM.  Copied.  Since LIBVTPM_3; a @size that
 *	ends before it means NULL.
 * @key: NULL for plain state, or the key the state is encrypted with at
 *	rest (see <vtpm/state.h>); existing state must open with it, new
 *	state is written with it.  The manager keeps a reference for the
 *	instance's life, so a restarted instance serves its state again.  A
 *	client (vtpm_manager_client_create()) hands the key's bytes to the
 *	manager in a memfd passed with SCM_RIGHTS, never in the request's
 *	text; neither the key nor its bytes appear in a log or a
 *	description ("encrypted": true says there is one).  A manager that
 *	took an encrypted instance over from another does not know its key:
 *	if the instance's process ends, it is marked "failed".  Not for a
 *	spare's TPM.  Since LIBVTPM_3; a @size that ends before it means NULL.
 */
struct vtpm_instance_options {
	size_t size;
	enum vtpm_version version;
	const char *state_dir;
	unsigned int backend_flags;
	const char *socket;
	const struct vtpm_manufacture_options *manufacture;
	struct vtpm_state_key *key;
};

struct vtpm_manager;
struct vtpm_manufacture_options;
struct vtpm_state_key;

/**
 * vtpm_manager_new - a manager without instances
 * @opts: NULL for the defaults; the strings are copied
 * @mgr: on success, the new manager with a reference count of one
 *
 * The run dir is created (mode 0755) when missing.  OpenSSL is
 * initialised in the calling process and every algorithm of its providers
 * fetched, once, so that the instances it forks share those tables
 * instead of building a copy each.
 *
 * Returns: 0; -EINVAL for bad @opts or relative paths, or only one of
 * @opts' @uid and @gid set, or either with VTPM_MANAGER_NO_SANDBOX;
 * -ENOENT when the default identity is wanted and neither tss nor nobody
 * exists; -ENOMEM; or a negative errno from creating the run dir or the
 * epoll instance.
 */
int vtpm_manager_new(struct vtpm_ctx *ctx, const struct vtpm_manager_options *opts,
		     struct vtpm_manager **mgr);

/** vtpm_manager_ref - take a reference; returns @mgr. */
struct vtpm_manager *vtpm_manager_ref(struct vtpm_manager *mgr);

/**
 * vtpm_manager_unref - drop a reference; the last one stops every instance
 * as vtpm_manager_shutdown() does and frees the manager.  Returns NULL.
 */
struct vtpm_manager *vtpm_manager_unref(struct vtpm_manager *mgr);

/**
 * vtpm_manager_listen - serve the request protocol on a Unix socket
 * @path: NULL for "<run dir>/" VTPM_MANAGER_SOCKET
 *
 * The socket has mode 0600 and the caller's owner from the moment it has
 * its name (made in a private directory and renamed into place; the
 * umask plays no part).  A stale socket nobody listens on is replaced;
 * anything else at @path is left alone.  The socket is removed when the
 * manager is freed.  Then the instances an earlier manager left in the
 * run dir are taken over: each one still serving (the process listening on
 * its ctrl.sock is the pid its instance.json names) is watched again as it
 * runs; one whose process is gone is restarted on its state directory;
 * one marked "failed" stays so.  Directories without a readable
 * instance.json are removed.
 *
 * Returns: 0; -EBUSY if already listening; -EADDRINUSE if another manager
 * listens at @path; -EEXIST if something that is not a socket (a symbolic
 * link too) is at @path; -ENAMETOOLONG; or a negative errno from
 * socket(2), bind(2), listen(2), rename(2).
 */
int vtpm_manager_listen(struct vtpm_manager *mgr, const char *path);

/**
 * vtpm_manager_get_fd - an fd to poll for POLLIN in the caller's loop; call
 * vtpm_manager_dispatch() when it is readable or vtpm_manager_get_timeout()
 * has passed.
 */
int vtpm_manager_get_fd(const struct vtpm_manager *mgr);

/** vtpm_manager_get_timeout - ms until a restart is due, or -1 for none. */
int vtpm_manager_get_timeout(const struct vtpm_manager *mgr);

/**
 * vtpm_manager_dispatch - handle what is ready without blocking: requests,
 * instances that became ready or died, restarts that are due
 *
 * Returns: 0; or a negative errno from epoll_wait(2).  Problems of single
 * instances and clients are logged, not returned.
 */
int vtpm_manager_dispatch(struct vtpm_manager *mgr);

/**
 * vtpm_manager_run - dispatch until vtpm_manager_stop()
 *
 * Returns: 0 after vtpm_manager_stop(); or an error of
 * vtpm_manager_dispatch() or poll(2).  The instances keep running.
 */
int vtpm_manager_run(struct vtpm_manager *mgr);

/**
 * vtpm_manager_stop - make vtpm_manager_run() return soon.
 * Async-signal-safe: a signal handler may call it.
 */
void vtpm_manager_stop(struct vtpm_manager *mgr);

/**
 * vtpm_manager_shutdown - stop every instance cleanly (SIGTERM: state is
 * saved), waiting up to 10 s before SIGKILL, and remove their runtime
 * directories.  Returns 0 or -ETIMEDOUT if an instance had to be killed.
 */
int vtpm_manager_shutdown(struct vtpm_manager *mgr);

/**
 * vtpm_manager_release - let every instance go without stopping it, for a
 * successor: spares are retired, the manager forgets its instances but
 * leaves them serving and their runtime directories in place, and the next
 * manager to listen on the run dir takes them over (see
 * vtpm_manager_listen()).  For a daemon that re-executes itself, e.g.
 * after an upgrade, without the containers losing their TPMs.  The manager
 * then has no instances; unref frees it.  Returns 0.
 */
int vtpm_manager_release(struct vtpm_manager *mgr);

/**
 * vtpm_manager_create - start an instance
 * @name: 1 to VTPM_MANAGER_NAME_MAX letters, digits, '-', '_' or '.',
 *	beginning with a letter or digit
 * @opts: NULL for a TPM 2 in "<state root>/<name>"
 *
 * Forks the instance and returns; it is VTPM_INSTANCE_STARTING until its
 * device is registered (seen by vtpm_manager_dispatch()).
 *
 * Returns: 0; -EINVAL for a bad @name or @opts (a relative CA path, a
 * manufacture or a key for a TPM 1.2); -EEXIST if an instance of
 * that name exists; -EBUSY if another instance uses that state directory;
 * -ENOMEM; or a negative errno from creating the directories or fork(2).
 */
int vtpm_manager_create(struct vtpm_manager *mgr, const char *name,
			const struct vtpm_instance_options *opts);

/**
 * vtpm_manager_destroy - stop an instance cleanly and forget it
 *
 * Sends SIGTERM and waits (up to 10 s, then SIGKILL) until the process is
 * gone, so its state is saved and its device removed on return; then
 * removes its runtime directory.  The state directory is kept.
 *
 * Returns: 0; -ENOENT if there is no such instance; -ETIMEDOUT if it had
 * to be killed (it is forgotten anyway).
 */
int vtpm_manager_destroy(struct vtpm_manager *mgr, const char *name);

/**
 * vtpm_manager_restart - stop an instance cleanly and start it again on the
 * same state directory; also revives a "failed" one and resets its count
 *
 * Returns: 0; -ENOENT; -ENOKEY for an encrypted instance taken over from
 * another manager (its key is unknown here: destroy it and create it
 * again with its key); or an error as from vtpm_manager_create().
 */
int vtpm_manager_restart(struct vtpm_manager *mgr, const char *name);

/** vtpm_manager_get_count - the number of instances. */
unsigned int vtpm_manager_get_count(const struct vtpm_manager *mgr);

/**
 * vtpm_manager_describe - an instance's description (the instance.json
 * document) in a malloc()ed string the caller frees
 *
 * Returns: 0; -ENOENT; -ENOMEM.
 */
int vtpm_manager_describe(struct vtpm_manager *mgr, const char *name, char **json);

/**
 * vtpm_manager_get_status - an instance's status and serving PID (0 when
 * it has no process)
 *
 * Returns: 0; -ENOENT.
 */
int vtpm_manager_get_status(struct vtpm_manager *mgr, const char *name,
			    enum vtpm_instance_status *status, pid_t *pid);

/** vtpm_instance_status_to_string - "running", ...; NULL for an unknown value. */
const char *vtpm_instance_status_to_string(enum vtpm_instance_status status);

/* ------------------------------------------------------------- client */

/**
 * vtpm_manager_request - send one request to a manager and read its answer
 * @socket_path: NULL for VTPM_MANAGER_RUN_DIR "/" VTPM_MANAGER_SOCKET
 * @request: the request's JSON text (see above)
 * @timeout_ms: for the whole exchange; <= 0 for 60 s (a first start
 *	manufactures the TPM, which takes long under emulation)
 * @response: on success, the response's JSON text, malloc()ed
 *
 * Returns: 0 when an answer arrived (whether it says "ok" or not);
 * -ENOENT / -ECONNREFUSED when no manager listens; -ETIMEDOUT; -EMSGSIZE
 * for a request over VTPM_MANAGER_REQUEST_MAX or an answer over 16 MiB;
 * -EPROTO for an empty answer; -ENAMETOOLONG; -ENOMEM; or a negative errno
 * from socket(2), connect(2), send(2) or recv(2).
 */
int vtpm_manager_request(struct vtpm_ctx *ctx, const char *socket_path, const char *request,
			 int timeout_ms, char **response);

/* ------------------------------------------------------- typed client */

/*
 * The request protocol as C calls: a client object names the socket, each
 * call sends one request and turns the answer into a result object.  The
 * answer is checked like any input from another process: its size (16
 * MiB), its JSON types, name and path syntax, device numbers, at most
 * VTPM_MANAGER_LIST_MAX instances; anything else fails with -EPROTO.
 * These calls never fork and keep no connection between calls.
 */

/** VTPM_MANAGER_LIST_MAX - most instances a list answer may hold. */
#define VTPM_MANAGER_LIST_MAX 65536
/** VTPM_MANAGER_MESSAGE_MAX - longest error message kept from an answer, with its NUL. */
#define VTPM_MANAGER_MESSAGE_MAX 256

/**
 * struct vtpm_manager_client_options - where and how long to ask
 * @size: sizeof(struct vtpm_manager_client_options) as the caller compiled it
 * @socket_path: NULL for VTPM_MANAGER_RUN_DIR "/" VTPM_MANAGER_SOCKET;
 *	copied
 * @timeout_ms: for each call's whole exchange; 0 for 60 s (a create
 *	answers once the TPM is manufactured, which is slow under emulation)
 */
struct vtpm_manager_client_options {
	size_t size;
	const char *socket_path;
	int timeout_ms;
};

struct vtpm_manager_client;
struct vtpm_instance_info;
struct vtpm_instance_list;

/**
 * vtpm_manager_client_new - a client of the manager at a socket; does not
 * connect yet
 * @opts: NULL for the defaults
 * @client: on success, the new client with a reference count of one
 *
 * Returns: 0; -EINVAL for bad @opts (a relative path, a negative timeout);
 * -ENAMETOOLONG for a path that does not fit a Unix socket address;
 * -ENOMEM.
 */
int vtpm_manager_client_new(struct vtpm_ctx *ctx,
			    const struct vtpm_manager_client_options *opts,
			    struct vtpm_manager_client **client);

/** vtpm_manager_client_ref - take a reference; returns @client. */
struct vtpm_manager_client *vtpm_manager_client_ref(struct vtpm_manager_client *client);

/** vtpm_manager_client_unref - drop a reference, freeing it with the last.  Returns NULL. */
struct vtpm_manager_client *vtpm_manager_client_unref(struct vtpm_manager_client *client);

/*
 * Errors of the calls below.  From the exchange: -ECONNREFUSED when no
 * manager listens at the socket (it is missing or nobody accepts);
 * -ETIMEDOUT; -EMSGSIZE for an answer over 16 MiB; -EPROTO for an answer
 * that breaks the protocol; -ENOMEM; -EACCES / -EPERM when the socket may
 * not be used; -EIO for another failure of the socket.  From the manager,
 * when it answers with an error: the errno it names, one of -ENOENT,
 * -EEXIST, -EINVAL, -EBUSY, -EBADMSG, -EMSGSIZE, -EOPNOTSUPP, -ETIMEDOUT,
 * -ENOMEM, -EAGAIN, -EPERM, -EACCES, -ENODEV, -EIO, -ECHILD, -ECANCELED,
 * and (since LIBVTPM_3) -ENOKEY, -EKEYREJECTED, with its message in vtpm_manager_client_get_message().  Each call names
 * the ones it means.
 */

/**
 * vtpm_manager_client_create - start an instance and wait until it serves
 * @name: as for vtpm_manager_create()
 * @opts: NULL for a TPM 2 in the manager's "<state root>/<name>";
 *	@backend_flags may be 0 or VTPM_LIBTPMS_RESUME; @socket,
 *	@manufacture and @key as for vtpm_manager_create() (the key's bytes
 *	travel in a memfd, see the protocol above)
 * @info: on success, the running instance (NULL: not wanted); the caller
 *	unrefs it
 *
 * Returns: 0; -EINVAL for a bad @name or @opts (checked before sending);
 * from the manager -EEXIST if the name is taken, -EBUSY if another
 * instance uses the state directory, or the error the instance failed to
 * start with (e.g. -ENOENT without the proxy driver, -ENOKEY for
 * encrypted state and no @key, -EKEYREJECTED for a @key that does not
 * open it); or an error of the exchange.
 */
int vtpm_manager_client_create(struct vtpm_manager_client *client, const char *name,
			       const struct vtpm_instance_options *opts,
			       struct vtpm_instance_info **info);

/**
 * vtpm_manager_client_destroy - stop an instance cleanly and forget it
 *
 * Returns: 0; -EINVAL for a bad @name; -ENOENT for no such instance; or an
 * error of the exchange.
 */
int vtpm_manager_client_destroy(struct vtpm_manager_client *client, const char *name);

/**
 * vtpm_manager_client_restart - stop and start an instance again (also a
 * "failed" one) and wait until it serves
 * @info: as for vtpm_manager_client_create()
 *
 * Returns: 0; -EINVAL; -ENOENT; the error the instance failed to start
 * with; or an error of the exchange.
 */
int vtpm_manager_client_restart(struct vtpm_manager_client *client, const char *name,
				struct vtpm_instance_info **info);

/**
 * vtpm_manager_client_status - describe one instance
 * @info: on success, its description; the caller unrefs it
 *
 * Returns: 0; -EINVAL for a bad @name; -ENOENT; or an error of the exchange.
 */
int vtpm_manager_client_status(struct vtpm_manager_client *client, const char *name,
			       struct vtpm_instance_info **info);

/**
 * vtpm_manager_client_list - describe every instance, oldest first
 * @list: on success, the list (possibly empty); the caller unrefs it
 *
 * Returns: 0; or an error of the exchange.
 */
int vtpm_manager_client_list(struct vtpm_manager_client *client,
			     struct vtpm_instance_list **list);

/**
 * vtpm_manager_client_get_message - the message of the last error answer,
 * cut to VTPM_MANAGER_MESSAGE_MAX - 1 bytes, with bytes outside printable
 * ASCII replaced by '?'; "" after a call that got no error answer.  Owned
 * by @client, valid until its next call.
 */
const char *vtpm_manager_client_get_message(const struct vtpm_manager_client *client);

/* ---------------------------------------------------------- warm path */

/*
 * A program that needs one TPM (a container hook, a tool) can take it
 * from a running manager, whose spares start it without a manufacture,
 * and serve it itself when no manager runs.  These calls make that
 * decision the same way for every such program.
 */

/**
 * enum vtpm_served_by - who serves a TPM asked for with
 * vtpm_manager_client_try_create()
 * @VTPM_SERVED_STANDALONE: nobody yet: the caller serves it itself
 * @VTPM_SERVED_BY_MANAGER: an instance of the manager
 */
enum vtpm_served_by {
	VTPM_SERVED_STANDALONE = 1,
	VTPM_SERVED_BY_MANAGER = 2,
};

/**
 * vtpm_manager_client_try_create - create an instance through the manager
 * if one answers, else tell the caller to serve the TPM itself
 * @name: as for vtpm_manager_client_create()
 * @opts: as for vtpm_manager_client_create()
 * @served_by: on success, the path taken
 * @info: on success, the running instance for VTPM_SERVED_BY_MANAGER
 *	(the caller unrefs it), NULL for VTPM_SERVED_STANDALONE; must not
 *	be NULL
 *
 * Standalone when no manager listens at the client's socket, when the
 * socket may not be used (a user's program and root's manager), and when
 * the manager has an instance named @name already (someone else's, not
 * the caller's to take over).  Every other error answer of the manager
 * fails the call: the instance could not start (no driver, a state
 * directory another instance serves), and a server of the caller's own
 * would meet the same cause or race the manager for the state.  The path
 * taken, and why, is logged at LOG_INFO (a name taken at LOG_WARNING).
 *
 * Returns: 0; -EINVAL for a bad @name or @opts or a NULL @served_by or
 * @info; the manager's errors of vtpm_manager_client_create() other than
 * -EEXIST, with its message in vtpm_manager_client_get_message();
 * -ETIMEDOUT, -EMSGSIZE, -EPROTO, -ENOMEM or -EIO from the exchange.
 */
int vtpm_manager_client_try_create(struct vtpm_manager_client *client, const char *name,
				   const struct vtpm_instance_options *opts,
				   enum vtpm_served_by *served_by,
				   struct vtpm_instance_info **info);

struct vtpm_rules;

/**
 * vtpm_instance_info_add_rules - append an instance's client nodes to
 * container rules
 * @rules: gets its tpm node, then its tpmrm node if it has one (TPM 2),
 *	both known to vtpm_rules_find_node() as such
 *
 * Returns: 0; -ENODEV while the instance has no device; or an error of
 * vtpm_rules_add_node().  On failure @rules may hold the tpm node.
 */
int vtpm_instance_info_add_rules(const struct vtpm_instance_info *info,
				 struct vtpm_rules *rules);

/** vtpm_instance_info_ref - take a reference; returns @info. */
struct vtpm_instance_info *vtpm_instance_info_ref(struct vtpm_instance_info *info);

/** vtpm_instance_info_unref - drop a reference; returns NULL. */
struct vtpm_instance_info *vtpm_instance_info_unref(struct vtpm_instance_info *info);

/*
 * Getters of a description: what the manager said when it answered.  The
 * strings are owned by @info.
 */
/** vtpm_instance_info_get_name - the instance's name. */
const char *vtpm_instance_info_get_name(const struct vtpm_instance_info *info);
/** vtpm_instance_info_get_status - where it is in its life. */
enum vtpm_instance_status vtpm_instance_info_get_status(const struct vtpm_instance_info *info);
/** vtpm_instance_info_get_pid - the serving process, 0 when it has none. */
pid_t vtpm_instance_info_get_pid(const struct vtpm_instance_info *info);
/** vtpm_instance_info_get_version - its TPM family. */
enum vtpm_version vtpm_instance_info_get_version(const struct vtpm_instance_info *info);
/** vtpm_instance_info_get_state_dir - its state directory, an absolute path. */
const char *vtpm_instance_info_get_state_dir(const struct vtpm_instance_info *info);
/** vtpm_instance_info_get_runtime_dir - its runtime directory, an absolute path. */
const char *vtpm_instance_info_get_runtime_dir(const struct vtpm_instance_info *info);
/**
 * vtpm_instance_info_get_ctrl_address - its control socket as an address
 * for vtpm_ctrl_client_new(): "unix:<runtime dir>/ctrl.sock", or for a
 * virtual machine's instance "unix:<its socket>".
 */
const char *vtpm_instance_info_get_ctrl_address(const struct vtpm_instance_info *info);
/** vtpm_instance_info_get_restarts - how often it was restarted after dying. */
unsigned int vtpm_instance_info_get_restarts(const struct vtpm_instance_info *info);

/**
 * vtpm_instance_info_get_node - one of its client nodes
 * @path: on success, "<dev root>/tpmN" or "<dev root>/tpmrmN" (owned by
 *	@info); may be NULL
 * @devnum: on success, its device number; may be NULL
 *
 * Returns: 0; -ENODEV while the instance has no device, or for
 * VTPM_NODE_TPMRM of a TPM 1.2; -EINVAL for an unknown @node.
 */
int vtpm_instance_info_get_node(const struct vtpm_instance_info *info, enum vtpm_node node,
				const char **path, dev_t *devnum);

/** vtpm_instance_list_ref - take a reference; returns @list. */
struct vtpm_instance_list *vtpm_instance_list_ref(struct vtpm_instance_list *list);

/** vtpm_instance_list_unref - drop a reference; returns NULL. */
struct vtpm_instance_list *vtpm_instance_list_unref(struct vtpm_instance_list *list);

/** vtpm_instance_list_get_count - the number of instances in @list. */
unsigned int vtpm_instance_list_get_count(const struct vtpm_instance_list *list);

/**
 * vtpm_instance_list_get - instance @index (oldest first), owned by @list
 * (take a reference to keep it longer); NULL for an @index past the end.
 */
struct vtpm_instance_info *vtpm_instance_list_get(const struct vtpm_instance_list *list,
						  unsigned int index);

#ifdef __cplusplus
}
#endif

#endif

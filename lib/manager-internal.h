/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the instance manager's files share: the request parser and the
 * instance description (manager-proto.c), the restart rate limit
 * (manager-restart.c), runtime directories (manager-rundir.c) and the
 * instance process (manager-instance.c).  The pieces that need no kernel
 * are unit-tested through this header.
 */
#ifndef VTPM_MANAGER_INTERNAL_H
#define VTPM_MANAGER_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <vtpm/manager.h>
#include <vtpm/manufacture.h>
#include <vtpm/state.h>

/* ---- manager-proto.c ---- */

enum vtpm_mgr_op {
	VTPM_MGR_OP_CREATE = 1,
	VTPM_MGR_OP_DESTROY,
	VTPM_MGR_OP_RESTART,
	VTPM_MGR_OP_STATUS,
	VTPM_MGR_OP_LIST,
};

struct vtpm_mgr_request {
	enum vtpm_mgr_op op;
	char name[VTPM_MANAGER_NAME_MAX + 1];	/* "" for list */
	enum vtpm_version version;		/* create: 0 when not given */
	char state_dir[PATH_MAX];		/* create: "" when not given */
	bool resume;
	char socket[PATH_MAX];			/* create: "" for a device */
	/* create: "manufacture", as struct vtpm_manufacture_options */
	bool manufacture;			/* the member is there */
	unsigned int mf_flags;			/* VTPM_MANUFACTURE_* */
	unsigned int pcr_banks;			/* VTPM_PCR_BANK_*, 0: not given */
	char ca_dir[PATH_MAX], ca_key[PATH_MAX], ca_cert[PATH_MAX];	/* "": not given */
	bool key;				/* create: a key descriptor comes along */
};

/* Letters, digits, '-', '_', '.'; first a letter or digit; bounded. */
bool vtpm_mgr_name_is_valid(const char *name);

/*
 * Parse one request (@len bytes, not necessarily NUL-terminated, a trailing
 * newline allowed).  Returns 0; -EBADMSG if it is not a JSON object;
 * -EMSGSIZE beyond VTPM_MANAGER_REQUEST_MAX; -EOPNOTSUPP for an unknown
 * "op"; -EINVAL for a missing or bad member.
 */
int vtpm_mgr_request_parse(const char *text, size_t len, struct vtpm_mgr_request *req);

/* The request's JSON text (malloc()ed, no newline): 0, -EINVAL for an
 * unknown op or a bad name, -ENOMEM. */
int vtpm_mgr_request_format(const struct vtpm_mgr_request *req, char **text);

/* The request's "manufacture" as options whose strings point into @req. */
void vtpm_mgr_request_get_manufacture(const struct vtpm_mgr_request *req,
				      struct vtpm_manufacture_options *o);
/* Copy @o into @req: 0, or -EINVAL for unknown flags or a CA path that is
 * not absolute or does not fit. */
int vtpm_mgr_request_set_manufacture(struct vtpm_mgr_request *req,
				     const struct vtpm_manufacture_options *o);

/* ---- manager-key.c: the state key on its way from a client ---- */

/* A sealed memfd holding @key's bytes, for vtpm_socket_write_all_fd(). */
int vtpm_mgr_key_to_fd(const struct vtpm_state_key *key);
/*
 * The key in the file @fd (a memfd or regular file of exactly 16 or 32
 * bytes, read from offset 0).  Returns 0; -EINVAL for anything else;
 * -ENOMEM.  The bytes are wiped from the stack.
 */
int vtpm_mgr_key_from_fd(struct vtpm_ctx *ctx, int fd, struct vtpm_state_key **key);

/* ---- manager-client.c ---- */

/* vtpm_manager_request() with @key_fd (unless -1) passed along (SCM_RIGHTS). */
int vtpm_mgr_exchange(struct vtpm_ctx *ctx, const char *socket_path, const char *request,
		      int key_fd, int timeout_ms, char **response);

/* What instance.json says. */
struct vtpm_mgr_node {
	bool present;
	char path[PATH_MAX];
	unsigned int major, minor;
};

struct vtpm_mgr_desc {
	char name[VTPM_MANAGER_NAME_MAX + 1];
	enum vtpm_instance_status status;
	pid_t pid;			/* 0: none */
	enum vtpm_version version;
	char state_dir[PATH_MAX];
	char runtime_dir[PATH_MAX];
	unsigned int restarts;
	struct vtpm_mgr_node tpm, tpmrm;
	char socket[PATH_MAX];		/* a VM's socket instead of a device, or "" */
	bool encrypted;			/* its state has a key ("encrypted": true) */
};

/* Render as JSON (malloc()ed, no trailing newline): 0 or -ENOMEM. */
int vtpm_mgr_desc_to_json(const struct vtpm_mgr_desc *desc, char **json);
/* Parse instance.json: 0; -EBADMSG; -EINVAL for a missing or bad member. */
int vtpm_mgr_desc_from_json(const char *json, struct vtpm_mgr_desc *desc);
struct json_object;
/* The same from a parsed JSON value (one that is no object: -EBADMSG). */
int vtpm_mgr_desc_from_object(struct json_object *o, struct vtpm_mgr_desc *desc);

/* {"ok": false, "error": "ENAME", "errno": N, "message": M}, malloc()ed; NULL on ENOMEM. */
char *vtpm_mgr_error_response(int error, const char *message);
/* The errno an answer's "error" names (positive); 0 for a name not in the
 * protocol's list. */
int vtpm_mgr_errno_from_name(const char *name);

/* ---- manager-reply.c: the client's side of an answer ---- */

/* The largest answer a client reads. */
#define VTPM_MGR_REPLY_MAX (16u << 20)

struct vtpm_mgr_reply {
	int error;		/* 0, or the negative errno the manager named */
	char message[VTPM_MANAGER_MESSAGE_MAX];	/* with the error, or "" */
	struct vtpm_instance_info *info;	/* ok to create, restart, status */
	struct vtpm_instance_list *list;	/* ok to list */
};

/*
 * Parse the answer (@len bytes, not necessarily NUL-terminated, a trailing
 * newline allowed) to a request @op about @name.  Returns 0 with @reply
 * filled (an error answer included); -EMSGSIZE beyond VTPM_MGR_REPLY_MAX;
 * -EPROTO for an answer that breaks the protocol; -ENOMEM.
 */
int vtpm_mgr_reply_parse(const char *text, size_t len, enum vtpm_mgr_op op, const char *name,
			 struct vtpm_mgr_reply *reply);
/* Drop the result objects of @reply. */
void vtpm_mgr_reply_clear(struct vtpm_mgr_reply *reply);

/* ---- manager-client.c: what the warm path (manager-warm.c) reports ---- */

struct vtpm_ctx *vtpm_mgr_client_ctx(const struct vtpm_manager_client *client);
const char *vtpm_mgr_client_socket(const struct vtpm_manager_client *client);

/* ---- manager-restart.c ---- */

#define VTPM_RESTART_DELAY_MIN_MS 100
#define VTPM_RESTART_DELAY_MAX_MS 10000
#define VTPM_RESTART_BURST_MAX 64

/*
 * Deaths within a sliding window.  Times are caller-supplied monotonic
 * milliseconds, so tests can use a fake clock.
 */
struct vtpm_restart_limit {
	unsigned int burst;
	int64_t interval_ms;
	int64_t deaths[VTPM_RESTART_BURST_MAX + 1];
	unsigned int n_deaths;
	unsigned int quick_deaths;	/* in a row, for the backoff */
};

void vtpm_restart_limit_init(struct vtpm_restart_limit *rl, unsigned int burst,
			     int64_t interval_ms);
/*
 * Record a death at @now of an instance started at @started; returns the
 * delay (ms) before restarting it, or -1 when more than @burst deaths fell
 * within the interval: give up.
 */
int64_t vtpm_restart_limit_record(struct vtpm_restart_limit *rl, int64_t now, int64_t started);
/* Forget every death (after a restart by request). */
void vtpm_restart_limit_reset(struct vtpm_restart_limit *rl);

/* ---- manager-rundir.c ---- */

/*
 * Create "<root>/<name>" (0755; an existing one is reused after removing
 * what an earlier run left there) and open it.  Returns the directory's fd
 * or a negative errno (-EINVAL for a bad name, -ENOTDIR).
 */
int vtpm_rundir_create(const char *root, const char *name);
/* Replace "pid" / "instance.json" in it atomically. */
int vtpm_rundir_write_pid(int dir_fd, pid_t pid);
int vtpm_rundir_write_desc(int dir_fd, const struct vtpm_mgr_desc *desc);
/* Remove the files the manager and the instance put there, then the
 * directory itself; other files are left, and then so is the directory
 * (-ENOTEMPTY).  A missing directory is not an error. */
int vtpm_rundir_remove(const char *root, const char *name);
/* Open "<root>/<name>" as it is, without clearing it. */
int vtpm_rundir_open(const char *root, const char *name);
/*
 * What an earlier manager left in "<root>/<name>": its description into
 * @desc and, if that instance still serves, a pidfd of its process in
 * @pidfd (else -1).  The process counts only if it is the one listening on
 * the control socket, so a reused pid is never taken for the instance.
 * Returns 0, or -ENOENT / -EBADMSG (no usable description) / -errno.
 */
int vtpm_rundir_inspect(const char *root, const char *name, struct vtpm_mgr_desc *desc,
			int *pidfd);

#define VTPM_RUNDIR_PID "pid"
#define VTPM_RUNDIR_CTRL "ctrl.sock"
#define VTPM_RUNDIR_DESC "instance.json"

/* ---- manager-instance.c: the child side ---- */

/* What an instance process reports through its ready pipe; fixed size,
 * written once in one write(2) (below PIPE_BUF, so atomic). */
struct vtpm_instance_ready {
	int32_t error;		/* 0, or the negative errno it failed with */
	uint32_t number;	/* N of /dev/tpmN */
	uint32_t tpm_major, tpm_minor;
	uint32_t rm_major, rm_minor;
	uint32_t has_rm;
	uint32_t has_device;	/* 0 for an instance serving a VM's socket */
};

struct vtpm_instance_spec {
	const char *name;
	enum vtpm_version version;
	const char *state_dir;
	const char *ctrl_path;
	unsigned int backend_flags;
	bool sandbox;
	uid_t uid;		/* with @sandbox: serve as these; (uid_t)-1 keeps */
	gid_t gid;
	const char *vm_socket;	/* serve a VM there instead of a device, or NULL */
	const struct vtpm_manufacture_options *manufacture;	/* at this start, or NULL */
	struct vtpm_state_key *key;	/* the state's key, or NULL */
};

/*
 * What the manager sends a spare to make it an instance: the spec, by
 * value (fixed size, one write on a pipe the spare reads until full).
 */
struct vtpm_spare_order {
	char name[VTPM_MANAGER_NAME_MAX + 1];
	int32_t version;
	uint32_t backend_flags;
	uint32_t sandbox;
	uint32_t uid, gid;
	char state_dir[PATH_MAX];
	char ctrl_path[PATH_MAX];
};

/*
 * A spare: manufacture and self-test a TPM 2 on @scratch (an empty
 * directory) ahead of any request, then wait for an order on @order_fd.
 * A new state directory gets the prepared TPM (scratch is renamed onto
 * it); existing state starts as a normal instance.  Never returns.
 */
_Noreturn void vtpm_spare_main(struct vtpm_ctx *ctx, const char *scratch, int order_fd,
			       int ready_fd, pid_t manager);
/* Whether a spare's prepared TPM fits @spec: a TPM 2 on a new (absent or
 * empty) state directory, nothing to resume, manufacture or encrypt. */
bool vtpm_spare_can_adopt(const struct vtpm_instance_spec *spec);

/* Serve the instance in the forked child; never returns. */
_Noreturn void vtpm_instance_main(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
				  int ready_fd, pid_t manager);

#endif

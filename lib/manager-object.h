/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The manager object's layout and what its files share: the object and its
 * loop (manager.c), supervision (manager-supervise.c), spares
 * (manager-spares.c), takeover (manager-takeover.c) and the request socket
 * (manager-server.c).  Nothing else includes this.
 */
#ifndef VTPM_MANAGER_OBJECT_H
#define VTPM_MANAGER_OBJECT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "manager-internal.h"

#define STOP_TIMEOUT_MS 10000		/* SIGTERM to SIGKILL */
/*
 * Spares: TPM 2 processes forked ahead of requests that have already
 * manufactured and self-tested a TPM (about three quarters of a start), so
 * that a create for a new state directory only makes the device.
 */
#define SPARES 2

enum watch_type {
	WATCH_LISTEN,
	WATCH_WAKE,
	WATCH_CONN,
	WATCH_PIDFD,
	WATCH_READY,
};

/* What an epoll event points at. */
struct watch {
	enum watch_type type;
	void *owner;
};

struct conn {
	struct watch watch;
	struct conn *next;
	int fd;
	int key_fd;	/* a descriptor the request passed (SCM_RIGHTS), or -1 */
	char *buf;
	size_t len;
};

struct instance {
	struct instance *next;
	char name[VTPM_MANAGER_NAME_MAX + 1];
	enum vtpm_version version;
	char *state_dir;
	char *runtime_dir;
	char *socket;		/* serves a VM there instead of a device, or NULL */
	unsigned int backend_flags;
	struct vtpm_manufacture_options *manufacture;	/* at the first start, or NULL */
	struct vtpm_state_key *key;	/* the state's key for every start, or NULL */
	bool encrypted;		/* has a key, known or not (taken over) */
	enum vtpm_instance_status status;
	pid_t pid;
	int pidfd;
	int ready_fd;
	int dir_fd;
	struct watch pid_watch, ready_watch;
	struct vtpm_instance_ready ready;
	bool has_device;
	bool ever_ready;	/* a first start that fails forgets the instance */
	bool doomed;		/* forget it once its process is gone */
	int64_t started_ms;
	int64_t restart_at_ms;
	unsigned int restarts;
	struct vtpm_restart_limit limit;
	struct conn *waiter;	/* a client waiting for it to be ready */
};

struct spare {
	pid_t pid;
	int order_fd;	/* our end of the order socket */
	int ready_fd;	/* read end of the instance's ready pipe-to-be */
	char *scratch;	/* its state until it gets an order */
};

struct vtpm_manager {
	int refcount;
	struct vtpm_ctx *ctx;
	char *run_dir;
	char *state_root;
	unsigned int flags;
	unsigned int restart_burst;
	unsigned int restart_interval_ms;
	uid_t uid;	/* instances serve as these once confined */
	gid_t gid;
	int epfd;
	int wake_fd;
	int listen_fd;
	char *socket_path;
	struct watch listen_watch, wake_watch;
	struct instance *instances;
	struct instance *graveyard;	/* freed at the end of a dispatch */
	unsigned int count;
	struct conn *conns;
	unsigned int n_conns;
	struct spare spares[SPARES];
	unsigned int n_spares;
	bool dispatching;
	volatile sig_atomic_t stop_requested;
};

/* ---- manager.c ---- */

int vtpm_mgr_epoll_add(struct vtpm_manager *mgr, int fd, struct watch *w);

void vtpm_mgr_epoll_del(struct vtpm_manager *mgr, int fd);

void vtpm_mgr_close_fd(int *fd);

int vtpm_mgr_pidfd_open(pid_t pid);

struct instance *vtpm_mgr_find(const struct vtpm_manager *mgr, const char *name);

void vtpm_mgr_describe(const struct vtpm_manager *mgr, const struct instance *inst,
		       struct vtpm_mgr_desc *d);

void vtpm_mgr_publish(struct vtpm_manager *mgr, struct instance *inst);

/* ---- manager-supervise.c ---- */

void vtpm_mgr_instance_free(struct instance *inst);

/* Take @inst out of the list; freed now, or after the running dispatch. */
void vtpm_mgr_instance_forget(struct vtpm_manager *mgr, struct instance *inst);

/*
 * A new instance, not yet in the list: its state directory is @state_dir
 * or, if NULL, "<state root>/<name>".  -EBUSY if another instance has it.
 */
int vtpm_mgr_instance_new(struct vtpm_manager *mgr, const char *name, enum vtpm_version version,
			  unsigned int backend_flags, const char *state_dir, struct instance **out);

void vtpm_mgr_instance_add(struct vtpm_manager *mgr, struct instance *inst);

int vtpm_mgr_spawn(struct vtpm_manager *mgr, struct instance *inst);

/*
 * Stop the process of each instance in @list (NULL-terminated array) with
 * SIGTERM, waiting for all of them together; SIGKILL what is left at the
 * deadline.  Returns 0 or -ETIMEDOUT.
 */
int vtpm_mgr_stop_processes(struct vtpm_manager *mgr, struct instance **list, size_t n);

void vtpm_mgr_on_ready(struct vtpm_manager *mgr, struct instance *inst);

void vtpm_mgr_on_death(struct vtpm_manager *mgr, struct instance *inst);

void vtpm_mgr_restart_due(struct vtpm_manager *mgr);

/* ---- manager-spares.c ---- */

/* Keep SPARES spares while listening; failures only cost the speed-up. */
void vtpm_mgr_spares_fill(struct vtpm_manager *mgr);

/* Retire every spare: end of file on its order socket, then reap it. */
void vtpm_mgr_spares_retire(struct vtpm_manager *mgr);

/* Scratch directories of spares a killed manager left behind. */
void vtpm_mgr_spares_remove_stale(struct vtpm_manager *mgr);

/*
 * Hand @spec to a live spare; its pid, the read end of its ready pipe and
 * its scratch path (gone once it adopted the state) go to the caller.
 * -ENOENT when none is left.
 */
int vtpm_mgr_spare_take(struct vtpm_manager *mgr, const struct vtpm_instance_spec *spec,
			pid_t *pid, int *ready_fd, char **scratch);

/* ---- manager-takeover.c ---- */

void vtpm_mgr_take_over_all(struct vtpm_manager *mgr);

/* ---- manager-server.c ---- */

void vtpm_mgr_conn_free(struct vtpm_manager *mgr, struct conn *c);

void vtpm_mgr_answer_waiter(struct vtpm_manager *mgr, struct instance *inst, int error,
			    const char *message);

void vtpm_mgr_on_conn(struct vtpm_manager *mgr, struct conn *c);

void vtpm_mgr_on_listen(struct vtpm_manager *mgr);

#endif

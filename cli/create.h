/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the files of "vtpmctl create" share: its options (parsed in
 * create-options.c), the warm path through the daemon (create-managed.c)
 * and serving in this process (cmd-create.c).
 */
#ifndef VTPMCTL_CREATE_H
#define VTPMCTL_CREATE_H

#include <stdbool.h>
#include <sys/types.h>

#include "vtpmctl.h"

#define DEFAULT_REGISTER_TIMEOUT_S 30

struct create_options {
	enum vtpm_version version;
	const char *state_dir;
	const char *pidfile;
	unsigned int backend_flags;
	unsigned long timeout_s;
	uid_t uid;	 /* (uid_t)-1: keep */
	gid_t gid;	 /* (gid_t)-1: keep */
	bool json;
	bool daemon;
	bool verbose;
	bool sandbox;
	bool chose_identity; /* --user or --group given, not the default */
	bool standalone; /* --standalone: never the vtpmctl daemon's */
	struct container_opts container;
	struct manufacture_opts manufacture;
	const char *ctrl;	 /* --ctrl address, or NULL */
	const char *key;	 /* --key options, or NULL */
	const char *socket;	 /* --socket: serve a VM there, no device */
	const char *serve_cgroup; /* --serve-cgroup: a directory, "container" or NULL */
	char *swtpm_data;	 /* --backend swtpm:...: the data and control */
	char *swtpm_ctrl;	 /* addresses, or NULL for libtpms */
};

/* Fill @o from the command line; -EINVAL after a usage error (said). */
int create_parse_options(int argc, char *argv[], struct create_options *o);

/*
 * Write and lock the pid file @path (the lock, held until this process
 * exits, is what "oci-hook poststop" and others trust); errors are said.
 */
int create_write_pidfile(struct vtpm_ctx *ctx, const char *path, int *fd);

/* Whether the vtpmctl daemon's instance can do what @o asks. */
bool create_managed_eligible(const struct create_options *o);
/* Serve through the daemon: MANAGED_NONE if none answers, else an exit code. */
int create_managed(struct vtpm_ctx *ctx, const struct create_options *o,
		   const char *state_dir, int *pidfile_fd);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What vtpmctl's subcommands share. */
#ifndef VTPMCTL_H
#define VTPMCTL_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>
#include <vtpm/vtpm.h>

/* Exit codes: the CLI's contract with scripts. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

struct vtpmctl_command {
	const char *name;
	int (*run)(int argc, char *argv[]);
	const char *summary;
};

int cmd_create(int argc, char *argv[]);
int cmd_stop(int argc, char *argv[]);
int cmd_manufacture(int argc, char *argv[]);
int cmd_ek_cert(int argc, char *argv[]);
int cmd_ctrl(int argc, char *argv[]);
int cmd_state(int argc, char *argv[]);
int cmd_rules(int argc, char *argv[]);
int cmd_cdi(int argc, char *argv[]);
int cmd_oci_hook(int argc, char *argv[]);
int cmd_lxc_hook(int argc, char *argv[]);
/* cmd-daemon.c: the instance manager and its clients */
int cmd_daemon(int argc, char *argv[]);
int cmd_list(int argc, char *argv[]);
int cmd_status(int argc, char *argv[]);
int cmd_destroy(int argc, char *argv[]);
int cmd_restart(int argc, char *argv[]);
/* "vtpmctl create --name NAME ...": create through the daemon */
int cmd_create_named(int argc, char *argv[]);

/* cmd-instance.c: talking to the instance manager */
struct client_opts {
	const char *run_dir;	/* NULL: VTPM_MANAGER_RUN_DIR */
	bool json;
};

/* Send @request (consumed); on EXIT_OK *@answer is the parsed "ok" answer.
 * Returns an exit code; failures are reported. */
int instance_call(const struct client_opts *o, struct json_object *request,
		  struct json_object **answer);
/* A typed client's description as the manager's JSON description. */
struct json_object *instance_info_to_json(const struct vtpm_instance_info *info);
/* Add its "tpm" and "tpmrm" nodes ({path, major, minor} or null) to @obj. */
void instance_info_add_nodes(struct json_object *obj, const struct vtpm_instance_info *info);
/* Print member @key of @answer: a description, or a table for an array. */
void instance_print(const struct client_opts *o, struct json_object *answer, const char *key);

/* Print "vtpmctl: <message>" to stderr. */
void log_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * Explain why the library refused @address (a control channel or swtpm
 * socket, @what names which): error @r of vtpm_ctrl_new_from_address(),
 * vtpm_ctrl_client_new() or vtpm_backend_new_swtpm().
 */
void explain_address_error(const char *what, const char *address, int r);

/* Warn on stderr when @address is unauthenticated TCP (see VTPM_UNAUTHENTICATED_TCP). */
void warn_if_unauthenticated(const char *what, const char *address);

/* Explain a libvtpm error from vtpm_device_new() with what to do about it. */
void explain_device_error(int r, const char *vtpmx);

/*
 * The state key of --key OPTIONS (swtpm's syntax), or NULL in *@key when
 * @options is NULL.  Returns an exit code; failures are reported.
 */
int load_state_key(struct vtpm_ctx *ctx, const char *options, struct vtpm_state_key **key);

/* Explain why the state directory @where cannot be used. */
void explain_state_error(int r, const char *where);

/*
 * A libtpms TPM 2 on the state directory @dir (its state read, and opened
 * with the key of --key @key_options unless NULL), with backend @flags.
 * Returns an exit code; failures are reported.
 */
int open_state_dir(struct vtpm_ctx *ctx, const char *dir, const char *key_options,
		   unsigned int flags, struct vtpm_backend **backend);

/*
 * The CLI reports errors itself, so the library stays quiet unless asked:
 * -v shows its informational messages, VTPM_LOG overrides both.
 */
void quiet_library(struct vtpm_ctx *ctx, bool verbose);
/* A library context, quieted as quiet_library() does; errors are said. */
int new_quiet_ctx(bool verbose, struct vtpm_ctx **ctx);

/* Parse a decimal number in [min, max]; false if @s is not one. */
bool parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * The serving identity "USER[:GROUP]" of option @what, as
 * vtpm_sandbox_parse_user() reads it; failures are reported.
 */
int parse_identity(const char *what, const char *spec, uid_t *uid, gid_t *gid);

/* A group by name or number; -ENOENT if unknown. */
int parse_group(const char *s, gid_t *gid);

/* A device's description as JSON: version, tpm and tpmrm nodes. */
struct json_object *device_to_json(struct vtpm_device *dev);

/* The same, human-readable, to @f. */
void device_print(struct vtpm_device *dev, FILE *f);

/* ---- container.c: handing a device to a container ---- */

/* Where the nodes appear in a container unless --path/--pathrm say otherwise. */
#define DEFAULT_CONTAINER_TPM "/dev/tpm0"
#define DEFAULT_CONTAINER_TPMRM "/dev/tpmrm0"

/* getopt values of the container options; add CONTAINER_LONG_OPTIONS to a table. */
enum {
	CONTAINER_OPT_ROOTFS = 0x1000,
	CONTAINER_OPT_PID,
	CONTAINER_OPT_PID_ROOTFS,
	CONTAINER_OPT_CGROUP,
	CONTAINER_OPT_PATH,
	CONTAINER_OPT_PATHRM,
	CONTAINER_OPT_UID,
	CONTAINER_OPT_GID,
	CONTAINER_OPT_MODE,
	CONTAINER_OPT_NO_REVOKE,
};

#define CONTAINER_LONG_OPTIONS							\
	{ "rootfs", required_argument, NULL, CONTAINER_OPT_ROOTFS },		\
	{ "pid", required_argument, NULL, CONTAINER_OPT_PID },			\
	{ "pid-rootfs", required_argument, NULL, CONTAINER_OPT_PID_ROOTFS },	\
	{ "cgroup", required_argument, NULL, CONTAINER_OPT_CGROUP },		\
	{ "path", required_argument, NULL, CONTAINER_OPT_PATH },		\
	{ "pathrm", required_argument, NULL, CONTAINER_OPT_PATHRM },		\
	{ "uid", required_argument, NULL, CONTAINER_OPT_UID },			\
	{ "gid", required_argument, NULL, CONTAINER_OPT_GID },			\
	{ "mode", required_argument, NULL, CONTAINER_OPT_MODE },		\
	{ "no-revoke", no_argument, NULL, CONTAINER_OPT_NO_REVOKE }

#define CONTAINER_USAGE								\
	"  --rootfs DIR        hand the device to the container whose root is DIR:\n" \
	"                      create its nodes there\n"				\
	"  --pid PID           hand it to the running container of process PID:\n" \
	"                      nodes in its mount namespace, access in its cgroup\n" \
	"  --pid-rootfs DIR    the container's root inside PID's mount namespace\n" \
	"                      while the runtime has not pivoted into it yet\n"	\
	"  --cgroup DIR        allow the device in this cgroup directory (default\n" \
	"                      with --pid: the process's own device cgroup)\n"	\
	"  --path P, --pathrm P  node paths in the container (default " DEFAULT_CONTAINER_TPM "\n" \
	"                      and " DEFAULT_CONTAINER_TPMRM ")\n"		\
	"  --uid U, --gid G, --mode M  owner (host ids) and octal mode of the nodes\n" \
	"                      (default 0, 0, 0660)\n"					\
	"  --no-revoke         leave nodes and cgroup access in place at exit, for\n" \
	"                      runtimes that remove the container themselves; else\n" \
	"                      a privileged parent takes them back when the\n"	\
	"                      confined serving process exits\n"

struct container_opts {
	const char *rootfs;
	pid_t pid;
	const char *pid_rootfs;
	const char *cgroup;
	const char *path;
	const char *pathrm;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool have_mode;
	bool no_revoke;
};

/* Explain an error of vtpm_rules_new_from_path() for @device. */
void explain_rules_error(int r, const char *device);

/* Handle one CONTAINER_OPT_*: 0, -EINVAL (reported), -ENOENT if not ours. */
int container_parse_opt(int opt, const char *arg, struct container_opts *c);
/* Check the combination after parsing: 0 or -EINVAL (reported). */
int container_check_opts(const struct container_opts *c);
bool container_wanted(const struct container_opts *c);
/* Apply paths, owner and mode to @rules (node 0 tpm, node 1 tpmrm). */
int container_setup_rules(struct vtpm_rules *rules, const struct container_opts *c);
/*
 * Hand @dev, or the nodes of @rules if @dev is NULL, to the container of
 * @c: *@h is NULL if @c names none.  On failure (reported) nothing is
 * left behind.
 */
int container_give(struct vtpm_device *dev, const struct vtpm_rules *rules,
		   const struct container_opts *c, struct vtpm_handover **h);
/* Take @h back from the container if @revoke (failures reported); release it. */
void container_release(struct vtpm_handover *h, bool revoke);

/* ---- managed.c: the instance manager's TPMs for create and the hooks ---- */

enum { MANAGED_OK = 0, MANAGED_NONE = 1 };

/*
 * Have the manager create instance @name.  MANAGED_OK with *@info set;
 * MANAGED_NONE when no manager answers (or it is turned off, or @name is
 * taken): serve standalone; or a negative errno, reported.
 */
int managed_create(struct vtpm_ctx *ctx, const char *name,
		   const struct vtpm_instance_options *io, struct vtpm_instance_info **info);
/* Destroy instance @name (gone already counts as done): 0 or reported errno. */
int managed_destroy(struct vtpm_ctx *ctx, const char *name);
/* Rules for the instance's nodes: node 0 tpm, node 1 tpmrm. */
int managed_rules(struct vtpm_ctx *ctx, const struct vtpm_instance_info *info,
		  struct vtpm_rules **rules);
/* The description create prints: as for a device, plus "served_by",
 * "instance", "state_dir", "pid". */
struct json_object *managed_to_json(const struct vtpm_instance_info *info);
void managed_print(const struct vtpm_instance_info *info, FILE *f);

/* ---- manufacture.c: EKs, certificates and PCR banks at create ---- */

/* getopt values of the manufacture options; add MANUFACTURE_LONG_OPTIONS to a table. */
enum {
	MANUFACTURE_OPT_EK = 0x1100,
	MANUFACTURE_OPT_EK_CERT,
	MANUFACTURE_OPT_LOCK_NVRAM,
	MANUFACTURE_OPT_PCR_BANKS,
	MANUFACTURE_OPT_CA_DIR,
	MANUFACTURE_OPT_CA_KEY,
	MANUFACTURE_OPT_CA_CERT,
	MANUFACTURE_OPT_PLATFORM_CERT,
};

#define MANUFACTURE_LONG_OPTIONS						\
	{ "create-ek", no_argument, NULL, MANUFACTURE_OPT_EK },			\
	{ "create-ek-cert", no_argument, NULL, MANUFACTURE_OPT_EK_CERT },	\
	{ "create-platform-cert", no_argument, NULL, MANUFACTURE_OPT_PLATFORM_CERT }, \
	{ "lock-nvram", no_argument, NULL, MANUFACTURE_OPT_LOCK_NVRAM },	\
	{ "pcr-banks", required_argument, NULL, MANUFACTURE_OPT_PCR_BANKS },	\
	{ "ca-dir", required_argument, NULL, MANUFACTURE_OPT_CA_DIR },		\
	{ "ca-key", required_argument, NULL, MANUFACTURE_OPT_CA_KEY },		\
	{ "ca-cert", required_argument, NULL, MANUFACTURE_OPT_CA_CERT }

/* The local CA when no CA is named. */
#define DEFAULT_CA_DIR "/var/lib/vtpm/ca"

#define MANUFACTURE_USAGE							\
	"Manufacture (TPM 2; on a new state, or one that lacks what is asked):\n" \
	"  --create-ek         RSA 2048 and ECC P-256 endorsement keys from the TCG\n" \
	"                      default templates, persistent at 0x81010001/0x81010002\n" \
	"  --create-ek-cert    also their certificates, in NV 0x01c00002/0x01c0000a\n" \
	"  --create-platform-cert  a platform certificate for the RSA EK, in NV\n" \
	"                      0x01c08000 (as swtpm_setup)\n"			\
	"  --lock-nvram        lock the certificates' NV indices for good\n"	\
	"  --pcr-banks LIST    active PCR banks from sha1,sha256,sha384,sha512\n"	\
	"                      (default on a new TPM: sha256, as swtpm_setup)\n"	\
	"  --ca-dir DIR        local CA, created on first use (default\n"	\
	"                      " DEFAULT_CA_DIR ")\n"				\
	"  --ca-key FILE, --ca-cert FILE  sign with this CA instead (PEM)\n"

struct manufacture_opts {
	struct vtpm_manufacture_options lib;
	const char *pcr_banks_arg;	/* as given, to hand on */
	bool wanted;			/* something to do (a CA alone is not) */
};

/* Handle one MANUFACTURE_OPT_*: 0, -EINVAL (reported), -ENOENT if not ours. */
int manufacture_parse_opt(int opt, const char *arg, struct manufacture_opts *m);
/* Append the options in @m to @argv for a 'vtpmctl create' (strings borrowed). */
int manufacture_append_args(const struct manufacture_opts *m, char **argv, int *argc, int max);
/*
 * Check the combination for a TPM of @version: 0 or -EINVAL (reported).
 * With a certificate asked for and no CA, the default local CA is set.
 */
int manufacture_check_opts(struct manufacture_opts *m, enum vtpm_version version);
/*
 * If manufacture is asked for: start @backend (its state in @where) and
 * manufacture it.  Before the device exists, since the kernel's start-up
 * commands time out while a TPM derives its keys.  0 or a negative errno
 * (reported).
 */
int manufacture_run(struct vtpm_backend *backend, const struct manufacture_opts *m,
		    const char *where);

/* ---- container.c: a privileged parent takes the device back ---- */

/* What the warden removes once the serving child is gone; NULL: nothing. */
struct warden_cleanup {
	const char *pidfile;		/* only after a clean exit */
	const char *temp_state_dir;
};

/*
 * vtpm_handover_guard(): the child returns 0 and serves (it may drop every
 * privilege).  The parent closes @device_fd, waits for the child, takes @h
 * back, removes what @cleanup names and exits with the child's code (1 if
 * a signal killed it): it never returns.  A negative errno (reported) if
 * there is no child.
 */
int warden_split(struct vtpm_handover *h, int device_fd, const struct warden_cleanup *cleanup);

/* ---- hook.c: servers started by runtime hooks ---- */

struct hook_dirs {
	const char *run_dir;	/* <run_dir>/<name>.pid */
	const char *state_base;	/* <state_base>/<name>/ */
	const char *prefix;	/* of the manager's instance: "<prefix><name>" */
};

/*
 * Give container @name whose init is @pid a vTPM (nodes below @pid_rootfs
 * in its namespace, or its root if NULL), with @extra container options:
 * an instance of the running manager, recorded in <run_dir>/<name>.instance,
 * or else a daemonized "vtpmctl create".  Returns an exit code; may not
 * return on success (the parent of the daemon exits).
 */
int hook_start_server(const struct hook_dirs *dirs, const char *name, pid_t pid,
		      const char *pid_rootfs, const char *version, char **extra, int n_extra,
		      bool verbose);
/* Stop the vTPM of container @name (its instance or its server); an exit code. */
int hook_stop_server(const struct hook_dirs *dirs, const char *name);
/*
 * Set @dirs' run directory (@run_dir) or state base from a hook's
 * option; @hook names the hook in the error.  Only absolute paths: hooks
 * run in the runtime's working directory.  0 or EXIT_USAGE.
 */
int hook_dirs_set(struct hook_dirs *dirs, bool run_dir, const char *path, const char *hook);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the container runtime hooks share: start a serving
 * "vtpmctl create --daemon" for a container, recorded by a pid file under
 * a run directory, and stop it again by that pid file.  The server holds
 * the file locked while it lives (vtpm_pidfile_write()): a stale file
 * whose pid went to another process, another container's server even,
 * is never acted upon.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"
#include "vtpmctl.h"

#define STOP_TIMEOUT_MS 10000
/* <run_dir>/<name>.instance: the manager's instance a container was given. */
#define RECORD_SUFFIX ".instance"

/* A container name or id must be one path component. */
static bool name_ok(const char *name)
{
	return name && *name && !strchr(name, '/') && strcmp(name, ".") && strcmp(name, "..") &&
	       strlen(name) < NAME_MAX - 8;
}

static int pidfile_path(const struct hook_dirs *dirs, const char *name, char **path)
{
	if (asprintf(path, "%s/%s.pid", dirs->run_dir, name) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int record_path(const struct hook_dirs *dirs, const char *name, char **path)
{
	if (asprintf(path, "%s/%s" RECORD_SUFFIX, dirs->run_dir, name) < 0) {
		*path = NULL;
		return -ENOMEM;
	}
	return 0;
}

static bool instance_name_ok(const char *s)
{
	if (!*s || strlen(s) > VTPM_MANAGER_NAME_MAX || !isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

/*
 * The manager's name for container @name: the prefix and as much of the
 * name as fits (a runtime's ids are often longer; the record maps them,
 * and a clash of cut names only sends the second container standalone).
 */
static bool instance_name(const struct hook_dirs *dirs, const char *name, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s%s", dirs->prefix, name) < 0)
		return false;
	buf[VTPM_MANAGER_NAME_MAX] = '\0';
	return instance_name_ok(buf);
}

/* Read the instance recorded for container @name; -ENOENT if none. */
static int read_record(const char *record, char *buf, size_t size)
{
	int fd = open(record, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return instance_name_ok(buf) ? 0 : -EBADMSG;
}

/* Destroy the manager's instance recorded for container @name, if any. */
static int stop_instance(const struct hook_dirs *dirs, const char *name)
{
	_cleanup_free_ char *record = NULL;
	char instance[VTPM_MANAGER_NAME_MAX + 2];
	struct vtpm_ctx *ctx;
	int r;

	if (record_path(dirs, name, &record) < 0)
		return -ENOMEM;
	r = read_record(record, instance, sizeof(instance));
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		log_error("%s is not a record of an instance: %s", record, strerror(-r));
		return r;
	}
	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return r;
	quiet_library(ctx, false);
	/* The instance saves its state and its device goes: the nodes in
	 * the container are dead, and the runtime removes its cgroup. */
	r = managed_destroy(ctx, instance);
	vtpm_ctx_unref(ctx);
	if (r == 0)
		unlink(record);
	return r;
}

int hook_stop_server(const struct hook_dirs *dirs, const char *name)
{
	_cleanup_free_ char *pidfile = NULL;
	struct vtpm_ctx *ctx;
	int r;

	if (!name_ok(name)) {
		log_error("'%s' is not a usable container name", name ? name : "");
		return EXIT_FAIL;
	}
	if (stop_instance(dirs, name) < 0)
		return EXIT_FAIL;
	if (pidfile_path(dirs, name, &pidfile) < 0 || vtpm_ctx_new(&ctx) < 0)
		return EXIT_FAIL;
	quiet_library(ctx, false);
	/* Never started, stopped already, or stale: all fine. */
	r = vtpm_pidfile_stop(ctx, pidfile, STOP_TIMEOUT_MS);
	vtpm_ctx_unref(ctx);
	if (r == -ETIMEDOUT) {
		log_error("the vTPM server of %s (%s) did not stop within %d s", name, pidfile,
			  STOP_TIMEOUT_MS / 1000);
		return EXIT_FAIL;
	}
	if (r < 0) {
		log_error("cannot stop the vTPM server of %s (%s): %s", name, pidfile, strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Whether a live server holds @pidfile. */
static bool server_running(const char *pidfile)
{
	struct vtpm_ctx *ctx;
	pid_t pid;
	int r;

	if (vtpm_ctx_new(&ctx) < 0)
		return false;
	quiet_library(ctx, false);
	r = vtpm_pidfile_get_owner(ctx, pidfile, &pid);
	vtpm_ctx_unref(ctx);
	return r == 0;
}

/* The container options a hook hands on, as "--path" "VALUE" pairs;
 * -EINVAL for any other (--key: the daemon's instances keep plain state,
 * so an encrypted one needs a server of our own). */
static int parse_extra(char **extra, int n_extra, struct container_opts *c)
{
	static const struct { const char *name; int opt; } map[] = {
		{ "--path", CONTAINER_OPT_PATH }, { "--pathrm", CONTAINER_OPT_PATHRM },
		{ "--uid", CONTAINER_OPT_UID }, { "--gid", CONTAINER_OPT_GID },
		{ "--mode", CONTAINER_OPT_MODE },
	};

	for (int i = 0; i + 1 < n_extra; i += 2) {
		size_t j;

		for (j = 0; j < sizeof(map) / sizeof(map[0]); j++)
			if (strcmp(extra[i], map[j].name) == 0)
				break;
		if (j == sizeof(map) / sizeof(map[0]) ||
		    container_parse_opt(map[j].opt, extra[i + 1], c) < 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * The warm path: an instance of the running manager, its nodes placed in
 * the container and allowed in its cgroup, recorded for poststop.
 * MANAGED_OK, MANAGED_NONE (serve standalone) or a reported errno.
 */
static int start_instance(const struct hook_dirs *dirs, const char *name, pid_t pid,
			  const char *pid_rootfs, const char *version, char **extra,
			  int n_extra, const char *state_dir, bool verbose)
{
	/* The runtime removes the cgroup and the mount namespace itself. */
	struct container_opts c = { .pid = pid, .pid_rootfs = pid_rootfs };
	struct vtpm_instance_options io = {
		.size = sizeof(io), .state_dir = state_dir,
		.version = version && strcmp(version, "1.2") == 0 ? VTPM_VERSION_1_2 : VTPM_VERSION_2,
	};
	struct vtpm_instance_info *info = NULL;
	struct vtpm_handover *handover = NULL;
	struct vtpm_rules *rules = NULL;
	_cleanup_free_ char *record = NULL;
	char instance[VTPM_MANAGER_NAME_MAX + 64];
	const char *node = "";
	struct vtpm_ctx *ctx;
	int r;

	if (!dirs->prefix || parse_extra(extra, n_extra, &c) < 0 ||
	    !instance_name(dirs, name, instance, sizeof(instance)))
		return MANAGED_NONE;
	if (record_path(dirs, name, &record) < 0 || vtpm_ctx_new(&ctx) < 0)
		return -ENOMEM;
	quiet_library(ctx, verbose);
	r = managed_create(ctx, instance, &io, &info);
	if (r != MANAGED_OK)
		goto out;
	r = managed_rules(ctx, info, &rules);
	if (r < 0)
		log_error("cannot describe the nodes of instance %s: %s", instance, strerror(-r));
	else
		r = container_give(NULL, rules, &c, &handover);
	vtpm_rules_unref(rules);
	if (r == 0) {
		r = vtpm_write_file_atomic_path(record, instance, strlen(instance), 0644);
		if (r < 0)
			log_error("cannot record instance %s in %s: %s", instance, record,
				  strerror(-r));
	}
	/* On success the runtime removes the cgroup and the mount namespace. */
	container_release(handover, r < 0);
	if (r < 0) {
		managed_destroy(ctx, instance);
		goto out;
	}
	vtpm_instance_info_get_node(info, VTPM_NODE_TPM, &node, NULL);
	fprintf(stderr, "vtpmctl: container %s: %s of instance %s of the vtpmctl daemon\n",
		name, node, instance);
out:
	vtpm_instance_info_unref(info);
	vtpm_ctx_unref(ctx);
	return r;
}

int hook_start_server(const struct hook_dirs *dirs, const char *name, pid_t pid,
		      const char *pid_rootfs, const char *version, char **extra, int n_extra,
		      bool verbose)
{
	_cleanup_free_ char *state_dir = NULL, *pidfile = NULL, *record = NULL;
	char pid_str[32], *argv[64];
	int argc = 0, r, ret, null_fd;

	if (!name_ok(name)) {
		log_error("'%s' is not a usable container name", name ? name : "");
		return EXIT_FAIL;
	}
	if (version && strcmp(version, "2") != 0 && strcmp(version, "1.2") != 0) {
		log_error("TPM version '%s' is neither 2 nor 1.2", version);
		return EXIT_FAIL;
	}
	if (pid <= 0) {
		log_error("no process id for container %s", name);
		return EXIT_FAIL;
	}
	if (n_extra > 40)
		return EXIT_FAIL;
	if (pidfile_path(dirs, name, &pidfile) < 0 ||
	    asprintf(&state_dir, "%s/%s", dirs->state_base, name) < 0) {
		state_dir = NULL;
		return EXIT_FAIL;
	}
	if (server_running(pidfile)) {
		log_error("container %s already has a vTPM server (%s)", name, pidfile);
		return EXIT_FAIL;
	}
	if (record_path(dirs, name, &record) < 0)
		return EXIT_FAIL;
	if (access(record, F_OK) == 0) {
		log_error("container %s already has a vTPM instance (%s)", name, record);
		return EXIT_FAIL;
	}
	r = vtpm_mkdir_p(state_dir, 0700);
	if (r == 0)
		r = vtpm_mkdir_p(dirs->run_dir, 0755);
	if (r < 0) {
		log_error("cannot create %s or %s: %s", state_dir, dirs->run_dir, strerror(-r));
		return EXIT_FAIL;
	}

	r = start_instance(dirs, name, pid, pid_rootfs, version, extra, n_extra, state_dir,
			   verbose);
	if (r == MANAGED_OK)
		return EXIT_OK;
	if (r < 0) {
		rmdir(state_dir); /* only if still empty */
		return EXIT_FAIL;
	}
	/* Only on request: an error that follows must stay the one line. */
	if (verbose)
		fprintf(stderr, "vtpmctl: container %s: no vtpmctl daemon answers, serving "
			"standalone\n", name);

	snprintf(pid_str, sizeof(pid_str), "%ld", (long)pid);
	argv[argc++] = (char *)"vtpmctl create";
	argv[argc++] = (char *)(version && strcmp(version, "1.2") == 0 ? "--tpm12" : "--tpm2");
	argv[argc++] = (char *)"--daemon";
	argv[argc++] = (char *)"--state-dir";
	argv[argc++] = state_dir;
	argv[argc++] = (char *)"--pidfile";
	argv[argc++] = pidfile;
	argv[argc++] = (char *)"--pid";
	argv[argc++] = pid_str;
	if (pid_rootfs) {
		argv[argc++] = (char *)"--pid-rootfs";
		argv[argc++] = (char *)pid_rootfs;
	}
	/* The runtime removes the cgroup and the mount namespace itself. */
	argv[argc++] = (char *)"--no-revoke";
	for (int i = 0; i < n_extra; i++)
		argv[argc++] = extra[i];
	if (verbose)
		argv[argc++] = (char *)"--verbose";
	argv[argc] = NULL;

	/* A hook's stdout is the runtime's business: say nothing there. */
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, STDOUT_FILENO);
		close(null_fd);
	}
	optind = 0;
	ret = cmd_create(argc, argv);
	if (ret != EXIT_OK)
		rmdir(state_dir); /* only if still empty: a failed start adds nothing */
	return ret == EXIT_USAGE ? EXIT_FAIL : ret;
}

int hook_dirs_set(struct hook_dirs *dirs, bool run_dir, const char *path, const char *hook)
{
	if (path[0] != '/') {
		log_error("%s: --run-dir and --state-base need absolute paths", hook);
		return EXIT_USAGE;
	}
	if (run_dir)
		dirs->run_dir = path;
	else
		dirs->state_base = path;
	return 0;
}

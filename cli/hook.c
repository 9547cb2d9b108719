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

#include "macro.h"
#include "vtpmctl.h"

#define STOP_TIMEOUT_MS 10000

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

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

int hook_stop_server(const struct hook_dirs *dirs, const char *name)
{
	_cleanup_free_ char *pidfile = NULL;
	struct vtpm_ctx *ctx;
	int r;

	if (!name_ok(name)) {
		log_error("'%s' is not a usable container name", name ? name : "");
		return EXIT_FAIL;
	}
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

int hook_start_server(const struct hook_dirs *dirs, const char *name, pid_t pid,
		      const char *pid_rootfs, const char *version, char **extra, int n_extra,
		      bool verbose)
{
	_cleanup_free_ char *state_dir = NULL, *pidfile = NULL;
	char pid_str[32], *argv[48];
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
	if (n_extra > 24)
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
	r = mkdir_p(state_dir, 0700);
	if (r == 0)
		r = mkdir_p(dirs->run_dir, 0755);
	if (r < 0) {
		log_error("cannot create %s or %s: %s", state_dir, dirs->run_dir, strerror(-r));
		return EXIT_FAIL;
	}

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

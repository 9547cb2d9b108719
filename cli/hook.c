/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the container runtime hooks share: start a serving
 * "vtpmctl create --daemon" for a container, recorded by a pid file under
 * a run directory, and stop it again by that pid file.
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

static pid_t read_pidfile(const char *path)
{
	unsigned long v;
	char buf[32] = "";
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EBADMSG;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (!parse_uint(buf, 1, INT32_MAX, &v))
		return -EBADMSG;
	return (pid_t)v;
}

/* Whether @pid runs the same program as we do (guards against pid reuse). */
static bool is_vtpmctl(pid_t pid)
{
	char path[64], self[PATH_MAX], other[PATH_MAX];
	ssize_t a, b;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	a = readlink("/proc/self/exe", self, sizeof(self) - 1);
	b = readlink(path, other, sizeof(other) - 1);
	if (a <= 0 || b <= 0)
		return false;
	self[a] = other[b] = '\0';
	return strcmp(self, other) == 0;
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
	pid_t pid;

	if (!name_ok(name)) {
		log_error("'%s' is not a usable container name", name ? name : "");
		return EXIT_FAIL;
	}
	if (pidfile_path(dirs, name, &pidfile) < 0)
		return EXIT_FAIL;
	pid = read_pidfile(pidfile);
	if (pid == -ENOENT)
		return EXIT_OK; /* never started, or stopped already */
	if (pid < 0) {
		log_error("cannot read %s: %s", pidfile, strerror(-pid));
		return EXIT_FAIL;
	}
	if (!is_vtpmctl(pid)) {
		unlink(pidfile); /* stale: the server is gone */
		return EXIT_OK;
	}
	if (kill(pid, SIGTERM) < 0 && errno != ESRCH) {
		log_error("cannot stop the vTPM server %ld of %s: %s", (long)pid, name, strerror(errno));
		return EXIT_FAIL;
	}
	for (int waited = 0; kill(pid, 0) == 0; waited += 20) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		if (waited >= STOP_TIMEOUT_MS) {
			log_error("the vTPM server %ld of %s did not stop within %d s",
				  (long)pid, name, STOP_TIMEOUT_MS / 1000);
			return EXIT_FAIL;
		}
		nanosleep(&ts, NULL);
	}
	unlink(pidfile);
	return EXIT_OK;
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
	if (is_vtpmctl(read_pidfile(pidfile))) {
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

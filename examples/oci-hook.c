/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * oci-hook: an OCI runtime hook (runc, crun) that gives each container a
 * TPM 2 of its own, written against the installed libvtpm only.
 *
 *	cc oci-hook.c $(pkg-config --cflags --libs libvtpm) -o oci-hook
 *
 * In the bundle's config.json:
 *
 *	"hooks": {
 *	  "createRuntime": [{ "path": "/usr/local/bin/oci-hook",
 *	                      "args": ["oci-hook", "/var/lib/oci-hook", "createRuntime"] }],
 *	  "poststop": [{ "path": "/usr/local/bin/oci-hook",
 *	                 "args": ["oci-hook", "/var/lib/oci-hook", "poststop"] }]
 *	}
 *
 * createRuntime runs after the container's namespaces and cgroup exist but
 * before the runtime pivots into its root.  The hook creates the device
 * pair, hands it to the container (/dev/tpm0 and /dev/tpmrm0 in its mount
 * namespace, access in its device cgroup) and returns once a background
 * server answers it: a confined child serves, a privileged parent waits
 * and takes the device back when the child exits, however it went.  That
 * parent holds DIR/<id>.pid; the TPM's state lives in DIR/<id>/.
 *
 * poststop stops that server (the state is saved) and waits for it.
 *
 * Exit status: 0 on success; 1 on failure, with one line on stderr; 2 for
 * a usage error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vtpm/vtpm.h>

#define STATE_MAX (1 << 20)	/* the runtime's state JSON, at most */
#define REGISTER_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 10000

static struct vtpm_relay *relay;

static void on_signal(int sig)
{
	(void)sig;
	vtpm_relay_stop(relay); /* async-signal-safe */
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "oci-hook: %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

/* The container's state, which the runtime writes to stdin. */
static int read_state(struct vtpm_ctx *ctx, struct vtpm_oci_state **state)
{
	char *buf = malloc(STATE_MAX);
	size_t len = 0;
	ssize_t n;
	int r;

	if (!buf)
		return -ENOMEM;
	while (len < STATE_MAX && (n = read(STDIN_FILENO, buf + len, STATE_MAX - len)) != 0) {
		if (n < 0 && errno != EINTR) {
			free(buf);
			return -errno;
		}
		if (n > 0)
			len += (size_t)n;
	}
	r = len == STATE_MAX ? -EFBIG : vtpm_oci_state_parse(ctx, buf, len, state);
	free(buf);
	return r;
}

/*
 * Return to the runtime once the server is ready: the parent exits when
 * the child, which goes on, holds the pid file.  0 in the child.
 */
static int detach(struct vtpm_ctx *ctx, const char *pidfile, int *pidfile_fd)
{
	int ready[2], null_fd;
	char c = 0;
	pid_t pid;

	if (pipe(ready) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(ready[1]);
		/* The child's resources are its own now: exit without freeing them. */
		_exit(read(ready[0], &c, 1) == 1 ? 0 : 1);
	}
	close(ready[0]);
	setsid();
	if (vtpm_pidfile_write(ctx, pidfile, pidfile_fd) < 0 || write(ready[1], &c, 1) != 1)
		return -EIO;
	close(ready[1]);
	/* Hold none of the runtime's pipes. */
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd < 0)
		return -errno;
	dup2(null_fd, STDIN_FILENO);
	dup2(null_fd, STDOUT_FILENO);
	dup2(null_fd, STDERR_FILENO);
	close(null_fd);
	return 0;
}

/* DIR/<id><suffix>; -EINVAL for an id that is no file name. */
static int path_of(char *buf, size_t size, const char *dir, const char *id, const char *suffix)
{
	if (strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
		return -EINVAL;
	if ((size_t)snprintf(buf, size, "%s/%s%s", dir, id, suffix) >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int create(struct vtpm_ctx *ctx, const struct vtpm_oci_state *state, const char *dir)
{
	struct vtpm_handover_options ho = { .size = sizeof(ho), .pid = vtpm_oci_state_get_pid(state) };
	struct vtpm_sandbox_options so = { .size = sizeof(so) };
	struct vtpm_guard_options go = { .size = sizeof(go), .n_close_fds = 1 };
	struct vtpm_handover *handover = NULL;
	struct vtpm_backend *tpm = NULL;
	struct vtpm_device *dev = NULL;
	char *rootfs = NULL, state_dir[4096], pidfile[4096];
	int status = 1, r, device_fd, pidfile_fd = -1, child_status;

	if (!vtpm_oci_state_get_bundle(state))
		return fail("the container state", -EINVAL);
	r = path_of(state_dir, sizeof(state_dir), dir, vtpm_oci_state_get_id(state), "");
	if (r == 0)
		r = path_of(pidfile, sizeof(pidfile), dir, vtpm_oci_state_get_id(state), ".pid");
	if (r < 0)
		return fail("the container id", r);
	if (mkdir(state_dir, 0700) < 0 && errno != EEXIST)
		return fail(state_dir, -errno);
	/* The runtime has not pivoted yet: the root is a path in its namespace. */
	r = vtpm_oci_bundle_get_rootfs(ctx, vtpm_oci_state_get_bundle(state), &rootfs);
	if (r < 0)
		return fail("finding the container's root", r);
	ho.pid_rootfs = rootfs;

	r = vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, state_dir, 0, &tpm);
	if (r == 0)
		r = vtpm_backend_startup(tpm, 0, NULL);
	if (r < 0) {
		fail("starting the TPM", r);
		goto out;
	}
	r = vtpm_device_new(ctx, VTPM_VERSION_2, &dev);
	if (r == 0)
		r = vtpm_relay_new_from_device(dev, tpm, &relay);
	if (r < 0) {
		fail("creating the device pair", r);
		goto out;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	vtpm_process_reset_signals(ctx); /* a runtime may run hooks with signals blocked */
	r = vtpm_relay_wait_registered(relay, REGISTER_TIMEOUT_MS);
	if (r < 0) {
		fail("waiting for the kernel to register the device", r);
		goto out;
	}

	/* The hand-over: nodes in the container, access in its cgroup. */
	r = vtpm_handover_new(dev, &ho, &handover);
	if (r < 0) {
		fail("handing the TPM to the container", r);
		goto out;
	}
	r = detach(ctx, pidfile, &pidfile_fd);
	if (r < 0) {
		fail("starting the server", r);
		goto out;
	}

	/* The warden keeps its privileges and takes the TPM back when the child is gone. */
	device_fd = vtpm_device_get_fd(dev);
	go.close_fds = &device_fd;
	r = vtpm_handover_guard(handover, &go, &child_status);
	if (r > 0) {
		r = vtpm_handover_revoke(handover); /* done already: did it all go? */
		if (r == 0 && WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0)
			unlink(pidfile);
		_exit(r == 0 && WIFEXITED(child_status) ? WEXITSTATUS(child_status) : 1);
	}
	if (r < 0) {
		fail("starting the serving process", r);
		goto out;
	}

	/* The serving child: no privilege, only its state directory, few system calls. */
	handover = vtpm_handover_unref(handover);
	r = vtpm_sandbox_get_default_user(ctx, &so.uid, &so.gid);
	if (r == 0)
		r = vtpm_sandbox_own_state_dir(ctx, state_dir, so.uid, so.gid);
	so.state_dir = state_dir;
	if (r == 0)
		r = vtpm_sandbox_confine(ctx, &so, NULL);
	if (r == 0)
		r = vtpm_relay_run(relay); /* until SIGTERM */
	if (r == 0)
		r = vtpm_backend_shutdown(tpm); /* saves the state */
	status = r < 0;
out:
	if (handover)
		vtpm_handover_revoke(handover);
	vtpm_handover_unref(handover);
	relay = vtpm_relay_unref(relay);
	vtpm_device_unref(dev);
	vtpm_backend_unref(tpm);
	free(rootfs);
	return status;
}

int main(int argc, char *argv[])
{
	struct vtpm_oci_state *state = NULL;
	struct vtpm_ctx *ctx = NULL;
	char pidfile[4096];
	int r, status = 1;

	if (argc != 3 || argv[1][0] != '/' ||
	    (strcmp(argv[2], "createRuntime") && strcmp(argv[2], "poststop"))) {
		fprintf(stderr, "Usage: oci-hook DIR createRuntime|poststop < STATE\n");
		return 2;
	}
	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return fail("creating the library context", r);
	r = read_state(ctx, &state);
	if (r < 0) {
		fail("reading the container state from stdin", r);
		goto out;
	}
	if (strcmp(argv[2], "createRuntime") == 0) {
		status = create(ctx, state, argv[1]);
		goto out;
	}
	r = path_of(pidfile, sizeof(pidfile), argv[1], vtpm_oci_state_get_id(state), ".pid");
	if (r == 0)
		r = vtpm_pidfile_stop(ctx, pidfile, STOP_TIMEOUT_MS);
	if (r < 0)
		fail("stopping the server", r);
	status = r < 0;
out:
	vtpm_oci_state_free(state);
	vtpm_ctx_unref(ctx);
	return status;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One managed instance: the body of the process the manager forks.  It
 * inherits the manager's loaded and relocated libraries, starts its own
 * libtpms TPM (the manager never does), makes the device, reports ready and
 * serves until SIGTERM, then saves the state and exits.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "manager-internal.h"
#include "vtpm-internal.h"

/* Exit codes of an instance process, for the manager's log. */
#define INSTANCE_EXIT_OK 0
#define INSTANCE_EXIT_FAIL 1

/* Only ever set in the instance process, which runs one relay. */
static struct vtpm_relay *serving_relay;
/* A stop that came while starting, before there was a relay to stop. */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	stop_requested = 1;
	if (serving_relay)
		vtpm_relay_stop(serving_relay);
}

/* The manager's signal setup is not ours: start from the defaults. */
static void setup_signals(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	sigset_t all;

	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static void report(int ready_fd, const struct vtpm_instance_ready *msg)
{
	ssize_t n;

	do
		n = write(ready_fd, msg, sizeof(*msg));
	while (n < 0 && errno == EINTR);
	close(ready_fd);
}

static int fill_ready(struct vtpm_device *dev, struct vtpm_instance_ready *msg)
{
	dev_t devnum;
	int r;

	msg->has_device = 1;
	msg->number = vtpm_device_get_number(dev);
	r = vtpm_device_get_devnum(dev, VTPM_NODE_TPM, &devnum);
	if (r < 0)
		return r;
	msg->tpm_major = major(devnum);
	msg->tpm_minor = minor(devnum);
	if (vtpm_device_get_version(dev) != VTPM_VERSION_2)
		return 0;
	r = vtpm_device_get_devnum(dev, VTPM_NODE_TPMRM, &devnum);
	if (r < 0)
		return r;
	msg->rm_major = major(devnum);
	msg->rm_minor = minor(devnum);
	msg->has_rm = 1;
	return 0;
}

/*
 * A virtual machine's instance: no device, the TPM left off until the
 * client's CMD_INIT, served on @spec->vm_socket (vtpm_relay_new_from_ctrl()).
 */
static int start_vm(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
		    struct vtpm_backend *backend, struct vtpm_relay **relay,
		    struct vtpm_ctrl **ctrl)
{
	int r;

	r = vtpm_ctrl_new_from_address(backend, spec->vm_socket, NULL, ctrl);
	if (r < 0) {
		err(ctx, "%s: cannot serve on %s: %s", spec->name, spec->vm_socket, strerror(-r));
		return r;
	}
	return vtpm_relay_new_from_ctrl(*ctrl, relay);
}

/*
 * Bring the instance up to the point of serving; undone by the caller.
 * *@backend may already hold a started TPM (a spare's); else one is made.
 */
static int start(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
		 struct vtpm_backend **backend, struct vtpm_device **dev,
		 struct vtpm_relay **relay, struct vtpm_ctrl **ctrl)
{
	bool spare = *backend != NULL;
	uint32_t tpm_rc = 0;
	int r;

	if (!spare) {
		const struct vtpm_libtpms_options o = {
			.size = sizeof(o), .version = spec->version,
			.state_dir = spec->state_dir, .flags = spec->backend_flags,
			.key = spec->key,
		};

		/* Reads the state first: a missing or wrong key stops here, by name. */
		r = vtpm_backend_new_libtpms_opts(ctx, &o, backend);
		if (r < 0) {
			err(ctx, "%s: cannot use state directory %s: %s", spec->name, spec->state_dir,
			    r == -ENOKEY ? "the state is encrypted and no key was given" :
			    r == -EKEYREJECTED ? "the key does not open the state" :
			    strerror(-r));
			return r;
		}
	}
	/* Before the device exists: the kernel's start-up commands would time
	 * out while the TPM derives its keys.  It is left started. */
	if (spec->manufacture) {
		r = vtpm_backend_start(*backend);
		if (r == 0)
			r = vtpm_manufacture(*backend, spec->manufacture);
		if (r < 0) {
			err(ctx, "%s: manufacturing the TPM in %s failed: %s", spec->name,
			    spec->state_dir, strerror(-r));
			return r;
		}
	}
	if (spec->vm_socket)
		return start_vm(ctx, spec, *backend, relay, ctrl);
	/*
	 * The TPM first, started up (a spare's is): the kernel sends its
	 * start-up commands as soon as the device exists and gives up on the
	 * chip if they time out, and a first start (manufacturing, self test)
	 * takes long on a loaded host.
	 */
	if (!spare) {
		r = vtpm_backend_startup(*backend, spec->backend_flags & VTPM_LIBTPMS_RESUME ?
					 VTPM_STARTUP_STATE : 0, &tpm_rc);
		if (r == -EPROTO)
			err(ctx, "%s: the TPM from %s failed its start-up: TPM return code 0x%x",
			    spec->name, spec->state_dir, tpm_rc);
		else if (r < 0)
			err(ctx, "%s: cannot start the TPM from %s: %s", spec->name,
			    spec->state_dir, strerror(-r));
		if (r < 0)
			return r;
	}
	r = vtpm_device_new(ctx, spec->version, dev);
	if (r < 0) {
		err(ctx, "%s: cannot create a vTPM device: %s", spec->name, strerror(-r));
		return r;
	}
	r = vtpm_relay_new_from_device(*dev, *backend, relay);
	if (r < 0)
		return r;
	r = vtpm_ctrl_new_from_address(*backend, spec->ctrl_path, NULL, ctrl);
	if (r == 0)
		r = vtpm_relay_attach_ctrl(*relay, *ctrl);
	if (r < 0) {
		err(ctx, "%s: cannot serve the control socket %s: %s", spec->name, spec->ctrl_path,
		    strerror(-r));
		return r;
	}
	r = vtpm_relay_wait_registered(*relay, 30000);
	if (r < 0 && r != -ECANCELED)
		err(ctx, "%s: the kernel did not register tpm%u: %s", spec->name,
		    vtpm_device_get_number(*dev), strerror(-r));
	return r;
}

/*
 * Serve as the manager's identity (tss or nobody by default) with file
 * access to the state directory only; the control socket is already
 * listening, so accepting on it is the only socket call kept: no way to
 * the manager's socket or anyone else's.
 */
static int confine(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec)
{
	struct vtpm_sandbox_options o = {
		.size = sizeof(o), .uid = spec->uid, .gid = spec->gid,
		.state_dir = spec->state_dir, .flags = VTPM_SANDBOX_ALLOW_ACCEPT,
	};
	int r;

	if (!spec->sandbox)
		return 0;
	r = vtpm_sandbox_own_state_dir(ctx, spec->state_dir, o.uid, o.gid);
	if (r == 0)
		r = vtpm_sandbox_confine(ctx, &o, NULL);
	return r;
}

/*
 * Detach from the manager: default signals, die with it, and hold nothing
 * of its but stdio and @keep[] (moved to fds 3, 4, ...).
 */
static void become_child(pid_t manager, int *keep, size_t n)
{
	setup_signals();
	/* Stop (and save the state) if the manager goes away while we start. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != manager)
		_exit(INSTANCE_EXIT_FAIL);
	for (size_t i = 0; i < n; i++) {
		int want = 3 + (int)i;

		if (keep[i] != want) {
			/* dup2 onto a slot a later keeper holds would lose it. */
			for (size_t j = i + 1; j < n; j++)
				if (keep[j] == want && (keep[j] = dup(want)) < 0)
					_exit(INSTANCE_EXIT_FAIL);
			if (dup2(keep[i], want) < 0)
				_exit(INSTANCE_EXIT_FAIL);
			keep[i] = want;
		}
	}
	close_range(3 + (unsigned int)n, ~0u, 0);
	setsid();
}

/* Serve @spec, with @backend already started or NULL; never returns. */
static _Noreturn void serve(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
			    struct vtpm_backend *backend, int ready_fd)
{
	struct vtpm_instance_ready msg = {};
	struct vtpm_device *dev = NULL;
	struct vtpm_relay *relay = NULL;
	struct vtpm_ctrl *ctrl = NULL;
	int r, status = INSTANCE_EXIT_FAIL;

	r = start(ctx, spec, &backend, &dev, &relay, &ctrl);
	if (r == 0 && dev)
		r = fill_ready(dev, &msg);
	if (r == -ECANCELED) {
		status = INSTANCE_EXIT_OK;
		goto out;
	}
	msg.error = r;
	report(ready_fd, &msg);
	if (r < 0)
		goto out;
	/* Serving now: outlive the manager, whose successor takes us over
	 * (the container keeps its device).  Until here, its death stops us. */
	prctl(PR_SET_PDEATHSIG, 0);

	serving_relay = relay;
	if (stop_requested) {
		status = INSTANCE_EXIT_OK;
		goto out;
	}
	r = confine(ctx, spec);
	if (r < 0) {
		err(ctx, "%s: cannot confine the instance: %s", spec->name, strerror(-r));
		goto out;
	}
	r = vtpm_relay_run(relay);
	if (r == 0)
		status = INSTANCE_EXIT_OK;
	else if (!dev)
		err(ctx, "%s: serving %s failed: %s", spec->name, spec->vm_socket, strerror(-r));
	else
		err(ctx, "%s: serving tpm%u failed: %s", spec->name, vtpm_device_get_number(dev),
		    strerror(-r));
out:
	serving_relay = NULL;
	if (backend && vtpm_backend_shutdown(backend) < 0)
		status = INSTANCE_EXIT_FAIL;
	vtpm_relay_unref(relay);
	vtpm_ctrl_unref(ctrl);
	vtpm_device_unref(dev);
	vtpm_backend_unref(backend);
	_exit(status);
}

_Noreturn void vtpm_instance_main(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
				  int ready_fd, pid_t manager)
{
	become_child(manager, &ready_fd, 1);
	serve(ctx, spec, NULL, ready_fd);
}

/* ---- spares ---- */

/*
 * Manufacture a TPM 2 on scratch state and start it up as every instance
 * is started before its device exists (vtpm_backend_startup()): the full
 * self test dominates a start.
 */
static struct vtpm_backend *prepare(struct vtpm_ctx *ctx, const char *scratch)
{
	struct vtpm_backend *b = NULL;

	if (vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, scratch, 0, &b) < 0 ||
	    vtpm_backend_startup(b, 0, NULL) < 0) {
		vtpm_backend_unref(b);
		return NULL;
	}
	return b;
}

/* A directory that does not exist, or holds nothing. */
static bool is_absent_or_empty(const char *path)
{
	struct dirent *de;
	bool empty = true;
	DIR *d = opendir(path);

	if (!d)
		return errno == ENOENT;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

bool vtpm_spare_can_adopt(const struct vtpm_instance_spec *spec)
{
	/* A spare's TPM is running: a VM's must wait for the client's CMD_INIT. */
	/* Nor can it be manufactured on request or take a key any more: its
	 * state is written, and in plain. */
	return spec->version == VTPM_VERSION_2 && !spec->backend_flags && !spec->vm_socket &&
	       !spec->manufacture && !spec->key && is_absent_or_empty(spec->state_dir);
}

/*
 * Give the prepared TPM the requested state directory: only a new one,
 * which the scratch directory then becomes.  The backend's open directory
 * and its lock move with the rename.
 */
static int adopt(const char *scratch, const struct vtpm_instance_spec *spec)
{
	_cleanup_free_ char *parent = NULL;
	int fd, r = 0;

	if (!vtpm_spare_can_adopt(spec))
		return -EEXIST;
	if (rmdir(spec->state_dir) < 0 && errno != ENOENT)
		return -errno;
	if (rename(scratch, spec->state_dir) < 0)
		return -errno;
	/* Make the new name durable: later writes only fsync the state
	 * directory itself, and a TPM must not vanish with a power cut. */
	parent = strdup(spec->state_dir);
	if (!parent)
		return -ENOMEM;
	fd = open(dirname(parent), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

static int read_order(int fd, struct vtpm_spare_order *order)
{
	uint8_t *p = (uint8_t *)order;
	size_t got = 0;

	while (got < sizeof(*order)) {
		ssize_t n = read(fd, p + got, sizeof(*order) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		got += (size_t)n;
	}
	order->name[sizeof(order->name) - 1] = '\0';
	order->state_dir[sizeof(order->state_dir) - 1] = '\0';
	order->ctrl_path[sizeof(order->ctrl_path) - 1] = '\0';
	return 0;
}

_Noreturn void vtpm_spare_main(struct vtpm_ctx *ctx, const char *scratch, int order_fd,
			       int ready_fd, pid_t manager)
{
	struct vtpm_instance_spec spec;
	struct vtpm_spare_order order;
	struct vtpm_backend *b;
	int fds[2] = { ready_fd, order_fd };

	become_child(manager, fds, ARRAY_SIZE(fds));
	b = prepare(ctx, scratch);
	/* A spare may wait long for its order: without the manufacture's and
	 * self test's scratch. */
	malloc_trim(0);

	/* End of file: the manager retired this spare. */
	if (read_order(fds[1], &order) < 0) {
		vtpm_backend_unref(b);
		vtpm_remove_flat_dir(scratch);
		_exit(INSTANCE_EXIT_OK);
	}
	close(fds[1]);
	spec = (struct vtpm_instance_spec){
		.name = order.name, .version = (enum vtpm_version)order.version,
		.state_dir = order.state_dir, .ctrl_path = order.ctrl_path,
		.backend_flags = order.backend_flags, .sandbox = order.sandbox,
		.uid = order.uid, .gid = order.gid,
	};
	if (b && adopt(scratch, &spec) < 0) {
		/* Existing state: this TPM is not the one asked for. */
		vtpm_backend_unref(b);
		b = NULL;
	}
	vtpm_remove_flat_dir(scratch);
	serve(ctx, &spec, b, fds[0]);
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * One managed instance: the body of the process the manager forks.  It
 * inherits the manager's loaded and relocated libraries, starts its own
 * libtpms TPM (the manager never does), makes the device, reports ready and
 * serves until SIGTERM, then saves the state and exits.
 */
#include "config.h"

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

static void on_stop_signal(int sig)
{
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

/* Bring the instance up to the point of serving; undone by the caller. */
static int start(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
		 struct vtpm_backend **backend, struct vtpm_device **dev,
		 struct vtpm_relay **relay, struct vtpm_ctrl **ctrl)
{
	int r;

	r = vtpm_backend_new_libtpms(ctx, spec->version, spec->state_dir, spec->backend_flags,
				     backend);
	if (r < 0) {
		err(ctx, "%s: cannot use state directory %s: %s", spec->name, spec->state_dir,
		    strerror(-r));
		return r;
	}
	/*
	 * The TPM first: the kernel sends its start-up commands as soon as the
	 * device exists and gives up on the chip if they time out, and a
	 * first start (manufacturing) takes long on a loaded host.
	 */
	r = vtpm_backend_start(*backend);
	if (r < 0) {
		err(ctx, "%s: cannot start the TPM from %s: %s", spec->name, spec->state_dir,
		    strerror(-r));
		return r;
	}
	r = vtpm_device_new(ctx, spec->version, dev);
	if (r < 0) {
		err(ctx, "%s: cannot create a vTPM device: %s", spec->name, strerror(-r));
		return r;
	}
	r = vtpm_relay_new(ctx, *dev, *backend, relay);
	if (r < 0)
		return r;
	r = vtpm_ctrl_new(ctx, *backend, spec->ctrl_path, NULL, ctrl);
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

static int confine(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec)
{
	int r;

	if (!spec->sandbox)
		return 0;
	r = vtpm_sandbox_drop_privileges(ctx, (uid_t)-1, (gid_t)-1);
	if (r < 0)
		return r;
	/* The control socket needs accept and friends. */
	return vtpm_sandbox_apply_seccomp(ctx, VTPM_SECCOMP_ALLOW_SOCKETS);
}

_Noreturn void vtpm_instance_main(struct vtpm_ctx *ctx, const struct vtpm_instance_spec *spec,
				  int ready_fd, pid_t manager)
{
	struct vtpm_instance_ready msg = {};
	struct vtpm_backend *backend = NULL;
	struct vtpm_device *dev = NULL;
	struct vtpm_relay *relay = NULL;
	struct vtpm_ctrl *ctrl = NULL;
	int r, status = INSTANCE_EXIT_FAIL;

	setup_signals();
	/* Stop (and save the state) when the manager goes away. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != manager)
		_exit(INSTANCE_EXIT_FAIL);
	/* Hold nothing of the manager's but the ready pipe and stdio. */
	if (ready_fd != 3) {
		if (dup2(ready_fd, 3) < 0)
			_exit(INSTANCE_EXIT_FAIL);
		ready_fd = 3;
	}
	close_range(4, ~0u, 0);
	setsid();

	r = start(ctx, spec, &backend, &dev, &relay, &ctrl);
	if (r == 0)
		r = fill_ready(dev, &msg);
	if (r == -ECANCELED) {
		status = INSTANCE_EXIT_OK;
		goto out;
	}
	msg.error = r;
	report(ready_fd, &msg);
	if (r < 0)
		goto out;

	serving_relay = relay;
	r = confine(ctx, spec);
	if (r < 0) {
		err(ctx, "%s: cannot confine the instance: %s", spec->name, strerror(-r));
		goto out;
	}
	r = vtpm_relay_run(relay);
	if (r == 0)
		status = INSTANCE_EXIT_OK;
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

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vtpmctl create: make a vTPM, serve it from libtpms until told to stop.
 * Options are parsed in create-options.c; the warm path through the
 * vtpmctl daemon is create-managed.c.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"
#include "create.h"
#include "vtpmctl.h"

/* The relay the signal handlers stop; only set while it runs. */
static struct vtpm_relay *running_relay;

static void on_stop_signal(int sig)
{
	if (running_relay)
		vtpm_relay_stop(running_relay);
}

int create_write_pidfile(struct vtpm_ctx *ctx, const char *path, int *fd)
{
	int r = vtpm_pidfile_write(ctx, path, fd);

	if (r == -EBUSY)
		log_error("pid file %s belongs to a running server", path);
	else if (r < 0)
		log_error("cannot write pid file %s: %s", path, strerror(-r));
	return r;
}

/* What --socket serves: the socket, the state, the serving process. */
static void print_socket(const struct create_options *o, const char *state_dir, pid_t pid)
{
	if (o->json) {
		struct json_object *obj = json_object_new_object();

		json_object_object_add(obj, "socket", json_object_new_string(o->socket));
		json_object_object_add(obj, "version",
				       json_object_new_string(o->version == VTPM_VERSION_2 ? "2.0" : "1.2"));
		json_object_object_add(obj, "state_dir", json_object_new_string(state_dir));
		json_object_object_add(obj, "pid", json_object_new_int64(pid));
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
	} else {
		printf("socket %s\n  version        %s\n  state          %s\n  pid            %ld\n",
		       o->socket, o->version == VTPM_VERSION_2 ? "2.0" : "1.2", state_dir, (long)pid);
	}
	fflush(stdout);
}

static void print_device(struct vtpm_device *dev, const struct create_options *o,
			 const char *state_dir, pid_t pid)
{
	if (!dev) {
		print_socket(o, state_dir, pid);
		return;
	}
	if (o->json) {
		struct json_object *obj = device_to_json(dev);

		json_object_object_add(obj, "state_dir", json_object_new_string(state_dir));
		json_object_object_add(obj, "pid", json_object_new_int64(pid));
		json_object_object_add(obj, "served_by", json_object_new_string("standalone"));
		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
	} else {
		device_print(dev, stdout);
		printf("  state          %s\n  pid            %ld\n", state_dir, (long)pid);
	}
	fflush(stdout);
}

/*
 * Detach: the parent reports the ready device and exits, the child serves.
 * Returns 0 in the child; never returns in the parent.
 */
static int daemonize(struct vtpm_ctx *ctx, struct vtpm_device *dev,
		     const struct create_options *o, const char *state_dir, int *pidfile_fd)
{
	int null_fd, ready[2], r;
	pid_t pid;
	char c;

	fflush(NULL);
	if (pipe2(ready, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(ready[0]);
		close(ready[1]);
		return r;
	}
	if (pid > 0) {
		/* Report only once the child holds its pid file: a hook that
		 * returns may be followed by a stop at once. */
		close(ready[1]);
		while ((r = (int)read(ready[0], &c, 1)) < 0 && errno == EINTR)
			;
		if (r != 1)
			_exit(EXIT_FAIL); /* the child said why */
		print_device(dev, o, state_dir, pid);
		/* The child owns the TPM now: skip every cleanup. */
		_exit(EXIT_OK);
	}

	close(ready[0]);
	setsid();
	if (o->pidfile) {
		r = create_write_pidfile(ctx, o->pidfile, pidfile_fd);
		if (r < 0) {
			close(ready[1]);
			return r;
		}
	}
	if (write(ready[1], "", 1) != 1) {
		r = -errno;
		close(ready[1]);
		return r;
	}
	close(ready[1]);
	if (chdir("/") < 0)
		return -errno;
	/* Let "$(vtpmctl create --daemon)" return: hold no caller's pipe. */
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return -errno;
	dup2(null_fd, STDIN_FILENO);
	dup2(null_fd, STDOUT_FILENO);
	dup2(null_fd, STDERR_FILENO);
	close(null_fd);
	return 0;
}

/* Whatever mask and ignored signals the caller (a runtime's hook, say)
 * left us: serve with ours, or a stop request is never seen. */
static int install_signal_handlers(struct vtpm_ctx *ctx)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };
	int r;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	r = vtpm_process_reset_signals(ctx);
	if (r < 0)
		log_error("cannot reset the signal mask: %s", strerror(-r));
	signal(SIGPIPE, SIG_IGN);
	return r;
}

/*
 * From here on the process only serves: an unprivileged uid without
 * capabilities, file access to the state directory only (Landlock where
 * the kernel has it) and only the system calls serving needs.  A client's
 * bytes can then do no more harm than the relay itself could.
 */
static int confine(const struct create_options *o, struct vtpm_ctx *ctx, const char *state_dir)
{
	struct vtpm_sandbox_options so = {
		.size = sizeof(so), .uid = o->uid, .gid = o->gid, .state_dir = state_dir,
		/* The swtpm backend reconnects; a control channel (QEMU's
		 * too, which passes the data channel over it) only accepts. */
		.flags = o->swtpm_data ? VTPM_SANDBOX_ALLOW_CONNECT :
			 o->ctrl || o->socket ? VTPM_SANDBOX_ALLOW_ACCEPT : 0,
	};
	int r, landlock;

	if (!o->sandbox)
		return 0;
	/* State files a first start wrote since prepare_identity() go along. */
	r = vtpm_sandbox_own_state_dir(ctx, state_dir, o->uid, o->gid);
	if (r == 0)
		r = vtpm_sandbox_confine(ctx, &so, &landlock);
	if (r < 0)
		log_error("cannot confine the serving process: %s", strerror(-r));
	else if (!landlock)
		log_error("warning: the kernel has no Landlock: the state directory is guarded by "
			    "uid %u and the system call filter only", (unsigned int)getuid());
	return r;
}

/*
 * --serve-cgroup: serve from the container's cgroup (or one beside it) so
 * that its TPM commands count against its CPU limit.  Done before any fork
 * so a failure is still reported; a warden parent moves along.
 */
static int enter_serve_cgroup(const struct create_options *o, struct vtpm_ctx *ctx)
{
	struct vtpm_cgroup *cg = NULL;
	int r;

	if (!o->serve_cgroup)
		return 0;
	if (strcmp(o->serve_cgroup, "container") == 0)
		r = vtpm_cgroup_new_from_pid(ctx, o->container.pid, &cg);
	else
		r = vtpm_cgroup_new_from_path(ctx, o->serve_cgroup, &cg);
	if (r == 0)
		r = vtpm_cgroup_enter(cg);
	if (r < 0)
		log_error("cannot serve from cgroup %s: %s", cg ? vtpm_cgroup_get_path(cg) :
			  o->serve_cgroup, r == -EOPNOTSUPP ? "not a cgroup v2 directory" :
			  strerror(-r));
	vtpm_cgroup_unref(cg);
	return r;
}

/*
 * Whom to serve as: --user/--group, else (as root) tss or nobody.  A state
 * directory the serving uid cannot write would fail at the first NV
 * write, long after start-up: make it the serving uid's now, or refuse.
 */
static int prepare_identity(struct create_options *o, struct vtpm_ctx *ctx, const char *dir)
{
	int r;

	if (!o->sandbox)
		return 0;
	if (o->uid == (uid_t)-1 && o->gid == (gid_t)-1) {
		r = vtpm_sandbox_get_default_user(ctx, &o->uid, &o->gid);
		if (r < 0) {
			log_error("no user to serve as (neither tss nor nobody exists): use --user");
			return r;
		}
	}
	r = vtpm_sandbox_own_state_dir(ctx, dir, o->uid, o->gid);
	if (r == -EACCES)
		log_error("state directory %s must belong to uid %u, the serving user, and hold "
			  "only TPM state: chown it, or choose the user with --user", dir,
			  (unsigned int)o->uid);
	else if (r < 0)
		log_error("cannot use state directory %s: %s", dir, strerror(-r));
	return r;
}


/*
 * --socket: no device; QEMU's tpm-emulator connects to the control socket
 * and hands over the data channel.  The TPM stays off until its CMD_INIT:
 * the guest's firmware sends TPM2_Startup itself.
 */
static int serve_socket(struct vtpm_ctx *ctx, struct vtpm_backend *backend,
			const struct create_options *o, const char *state_dir, int *pidfile_fd)
{
	struct vtpm_ctrl_options copts = { .size = sizeof(copts), .mode = 0600,
					   .uid = o->uid, .gid = o->gid };
	struct vtpm_ctrl *ctrl = NULL;
	struct vtpm_relay *relay = NULL;
	int ret = EXIT_FAIL, r;

	r = vtpm_ctrl_new_from_address(backend, o->socket, &copts, &ctrl);
	if (r < 0) {
		log_error("cannot serve on %s: %s", o->socket,
			  r == -EEXIST ? "something that is not a socket is in the way" :
			  r == -EADDRINUSE ? "another server listens there" : strerror(-r));
		goto out;
	}
	r = vtpm_relay_new_from_ctrl(ctrl, &relay);
	if (r < 0) {
		log_error("cannot serve the TPM: %s", strerror(-r));
		goto out;
	}
	running_relay = relay;
	if (install_signal_handlers(ctx) < 0)
		goto out;

	if (o->daemon) {
		r = daemonize(ctx, NULL, o, state_dir, pidfile_fd);
		if (r < 0)
			goto out;
	} else {
		if (o->pidfile && create_write_pidfile(ctx, o->pidfile, pidfile_fd) < 0)
			goto out;
		print_socket(o, state_dir, getpid());
	}
	r = confine(o, ctx, state_dir);
	if (r < 0)
		goto out;

	r = vtpm_relay_run(relay);
	if (r < 0)
		log_error("serving %s failed: %s", o->socket, strerror(-r));
	else
		ret = EXIT_OK;
out:
	running_relay = NULL;
	vtpm_relay_unref(relay);
	vtpm_ctrl_unref(ctrl);
	return ret;
}

int cmd_create(int argc, char *argv[])
{
	struct create_options o;
	struct vtpm_ctx *ctx = NULL;
	struct vtpm_backend *backend = NULL;
	struct vtpm_state_key *key = NULL;
	struct vtpm_device *dev = NULL;
	struct vtpm_relay *relay = NULL;
	struct vtpm_ctrl *ctrl = NULL;
	struct vtpm_handover *handover = NULL;
	char temp_dir[] = "/tmp/vtpm-state-XXXXXX";
	const char *state_dir = NULL;
	bool created_state_dir = false;
	uint32_t tpm_rc = 0;
	int ret = EXIT_FAIL, r, pidfile_fd = -1;

	/* --name: the instance manager creates it (cmd-daemon.c). */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (strcmp(argv[i], "--name") == 0 || strncmp(argv[i], "--name=", 7) == 0)
			return cmd_create_named(argc, argv);

	r = create_parse_options(argc, argv, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;

	if (new_quiet_ctx(o.verbose, &ctx) < 0)
		return EXIT_FAIL;

	ret = load_state_key(ctx, o.key, &key);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;

	/* No state directory: the daemon's own, removed as a temporary one is. */
	if (create_managed_eligible(&o) && !o.state_dir) {
		ret = create_managed(ctx, &o, NULL, &pidfile_fd);
		if (ret != MANAGED_NONE)
			goto out;
		ret = EXIT_FAIL;
	}

	state_dir = o.state_dir;
	if (!state_dir) {
		if (!mkdtemp(temp_dir)) {
			log_error("cannot create a temporary state directory: %s", strerror(errno));
			goto out;
		}
		state_dir = temp_dir;
	} else if (mkdir(state_dir, 0700) == 0) {
		/* Users expect a missing one to appear, as swtpm does; not its
		 * parents, which a typo would create far from where it belongs. */
		created_state_dir = true;
	} else if (errno != EEXIST) {
		log_error("cannot create state directory %s: %s", state_dir, strerror(errno));
		goto out;
	}
	r = prepare_identity(&o, ctx, state_dir);
	if (r < 0)
		goto out;
	if (create_managed_eligible(&o) && o.state_dir) {
		_cleanup_free_ char *abs = realpath(state_dir, NULL);

		if (!abs) {
			log_error("cannot resolve state directory %s: %s", state_dir, strerror(errno));
			goto out;
		}
		ret = create_managed(ctx, &o, abs, &pidfile_fd);
		if (ret != MANAGED_NONE) {
			/* The daemon's instance has it now: keep what it made. */
			created_state_dir = created_state_dir && ret != EXIT_OK;
			goto out;
		}
		ret = EXIT_FAIL;
	}

	if (o.swtpm_data) {
		r = vtpm_backend_new_swtpm(ctx, o.version, o.swtpm_data, o.swtpm_ctrl, 0, &backend);
		if (r < 0) {
			log_error("--backend: bad swtpm addresses %s, %s", o.swtpm_data, o.swtpm_ctrl);
			goto out;
		}
		warn_if_unauthenticated("--backend: swtpm's data channel", o.swtpm_data);
	} else {
		const struct vtpm_libtpms_options lo = {
			.size = sizeof(lo), .version = o.version, .state_dir = state_dir,
			.flags = o.backend_flags, .key = key,
		};

		/* Reads the state already there: a missing or wrong key stops here. */
		r = vtpm_backend_new_libtpms_opts(ctx, &lo, &backend);
		if (r < 0) {
			explain_state_error(r, state_dir);
			goto out;
		}
	}

	r = manufacture_run(backend, &o.manufacture, state_dir);
	if (r < 0)
		goto out;
	/* A VM's firmware sends Startup itself: no start-up here. */
	if (o.socket) {
		ret = serve_socket(ctx, backend, &o, state_dir, &pidfile_fd);
		goto out;
	}

	/* Without a driver, the state stays untouched: look for it first. */
	if (access(vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX), F_OK) < 0) {
		explain_device_error(-errno, vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX));
		goto out;
	}
	/*
	 * Started before the device exists: the kernel's registration then
	 * finds a running TPM and never waits for a start-up under its time
	 * limits, and a TPM that cannot start leaves no device behind.
	 */
	r = vtpm_backend_startup(backend, o.backend_flags & VTPM_LIBTPMS_RESUME ?
				 VTPM_STARTUP_STATE : 0, &tpm_rc);
	if (r < 0) {
		if (r == -EBUSY)
			log_error("state directory %s is in use by another TPM", state_dir);
		else if (r == -EPROTO)
			log_error("the TPM from %s failed its start-up: TPM return code 0x%x",
				  state_dir, tpm_rc);
		else
			log_error("cannot start the TPM from %s: %s", state_dir, strerror(-r));
		goto out;
	}
	r = vtpm_device_new(ctx, o.version, &dev);
	if (r < 0) {
		explain_device_error(r, vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX));
		goto out;
	}
	r = vtpm_relay_new_from_device(dev, backend, &relay);
	if (r < 0) {
		log_error("cannot bind the device to the TPM: %s", strerror(-r));
		goto out;
	}
	if (o.ctrl) {
		r = vtpm_ctrl_new_from_address(backend, o.ctrl, NULL, &ctrl);
		if (r == 0)
			r = vtpm_relay_attach_ctrl(relay, ctrl);
		if (r == -EPERM || r == -EINVAL) {
			explain_address_error("--ctrl", o.ctrl, r);
			goto out;
		}
		if (r < 0) {
			log_error("cannot serve the control channel at %s: %s", o.ctrl,
				  r == -EEXIST ? "something that is not a socket is in the way" :
				  strerror(-r));
			goto out;
		}
		warn_if_unauthenticated("--ctrl", o.ctrl);
	}

	running_relay = relay;
	if (install_signal_handlers(ctx) < 0)
		goto out;

	r = vtpm_relay_wait_registered(relay, (int)o.timeout_s * 1000);
	if (r == -ECANCELED) {
		ret = EXIT_OK;
		goto out;
	}
	if (r < 0) {
		log_error("the kernel did not register tpm%u: %s", vtpm_device_get_number(dev),
			  r == -ETIMEDOUT ? "timed out" : strerror(-r));
		goto out;
	}

	/* Hand the nodes to a container before anyone is told they exist. */
	r = container_give(dev, NULL, &o.container, &handover);
	if (r < 0)
		goto out;
	r = enter_serve_cgroup(&o, ctx);
	if (r < 0)
		goto out;

	if (o.daemon) {
		r = daemonize(ctx, dev, &o, state_dir, &pidfile_fd);
		if (r < 0)
			goto out;
	} else {
		if (o.pidfile && create_write_pidfile(ctx, o.pidfile, &pidfile_fd) < 0)
			goto out;
		print_device(dev, &o, state_dir, getpid());
	}

	/*
	 * Revoking the container's access at exit needs privileges: a warden
	 * parent keeps them and takes the device back, the child serves
	 * confined.  Only the child returns.
	 */
	if (handover && !o.container.no_revoke && o.sandbox) {
		struct warden_cleanup cleanup = {
			.pidfile = o.pidfile,
			.temp_state_dir = o.state_dir ? NULL : temp_dir,
		};

		r = warden_split(handover, vtpm_device_get_fd(dev), &cleanup);
		if (r < 0)
			goto out;
	}
	r = confine(&o, ctx, state_dir);
	if (r < 0)
		goto out;

	r = vtpm_relay_run(relay);
	if (r == -EPIPE)
		log_error("tpm%u was removed by the kernel", vtpm_device_get_number(dev));
	else if (r < 0)
		log_error("serving tpm%u failed: %s", vtpm_device_get_number(dev), strerror(-r));
	else
		ret = EXIT_OK;

out:
	running_relay = NULL;
	/* A guarded child's copy revokes nothing: the warden does. */
	container_release(handover, !o.container.no_revoke);
	if (backend) {
		r = vtpm_backend_shutdown(backend);
		if (r < 0) {
			log_error("saving the TPM state failed: %s", strerror(-r));
			ret = EXIT_FAIL;
		}
	}
	vtpm_relay_unref(relay);
	vtpm_ctrl_unref(ctrl);
	free(o.swtpm_data);
	free(o.swtpm_ctrl);
	vtpm_device_unref(dev);
	vtpm_backend_unref(backend);
	vtpm_state_key_unref(key);
	vtpm_ctx_unref(ctx);
	if (!o.state_dir && state_dir)
		vtpm_remove_flat_dir(temp_dir);
	else if (created_state_dir && ret != EXIT_OK)
		rmdir(state_dir); /* only if still empty: a failed start adds nothing */
	/* Only our own: another server's file stays. */
	if (pidfile_fd >= 0 && ret == EXIT_OK)
		unlink(o.pidfile);
	if (pidfile_fd >= 0)
		close(pidfile_fd);
	return ret;
}

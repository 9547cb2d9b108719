/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vtpmctl create: make a vTPM, serve it from libtpms until told to stop. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"
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

/* The relay the signal handlers stop; only set while it runs. */
static struct vtpm_relay *running_relay;

static void on_stop_signal(int sig)
{
	if (running_relay)
		vtpm_relay_stop(running_relay);
}

static void create_usage(FILE *f)
{
	fprintf(f,
		"Usage: vtpmctl create [OPTIONS]\n\n"
		"Create a vTPM device pair, answer it with an in-process libtpms TPM and\n"
		"serve it until SIGTERM or SIGINT; then save the state and remove it.\n\n"
		"Options:\n"
		"  --name NAME         have the 'vtpmctl daemon' create and supervise it\n"
		"                      instead (see 'vtpmctl create --name X --help')\n"
		"  --tpm2              a TPM 2.0 (default): /dev/tpmN and /dev/tpmrmN\n"
		"  --tpm12             a TPM 1.2: /dev/tpmN\n"
		"  --backend SPEC      what answers the TPM: libtpms (default, in process),\n"
		"                      swtpm:unix:DATA,CTRL or\n"
		"                      swtpm:unauthenticated-tcp:HOST:PORT,PORT\n"
		"                      (a running 'swtpm socket': its --server and --ctrl)\n"
		"  --ctrl ADDR         serve swtpm's control protocol at unix:PATH (mode 0600),\n"
		"                      e.g. for 'vtpmctl ctrl/state'; or, without any\n"
		"                      authentication, unauthenticated-tcp:127.0.0.1:PORT\n"
		"  --socket PATH       no device: serve a virtual machine on the Unix socket\n"
		"                      PATH like 'swtpm socket --ctrl type=unixio,path=PATH'\n"
		"                      (QEMU: -chardev socket,path=PATH -tpmdev emulator)\n"
		"  --state-dir DIR     keep the TPM's state in DIR (swtpm's layout), created\n"
		"                      (mode 0700) if missing; without it the state lives in\n"
		"                      a temporary directory removed at exit\n"
		"  --resume            restore the volatile state saved by the last clean stop\n"
		"  --key OPTIONS       encrypt the state at rest as 'swtpm --key' does:\n"
		"                      file=PATH|fd=N|pwdfile=PATH|pwdfd=N[,mode=aes-256-cbc]\n"
		"                      [,format=binary][,kdf=sha512][,remove=true]\n"
		"  --daemon            return once the device is ready; serve in the background\n"
		"  --pidfile FILE      write the serving process's PID to FILE\n"
		"  --timeout SEC       wait at most SEC seconds for the kernel to register\n"
		"                      the device (default %d)\n"
		"  --json              print the device description as JSON\n"
		"  --user USER[:GROUP] serve as USER (name or number; never root) once the\n"
		"                      device exists; default for root: tss if it exists,\n"
		"                      else nobody\n"
		"  --group GROUP       serve as GROUP (name or number)\n"
		"  --no-sandbox        keep uid and capabilities, confine nothing\n"
		"  --standalone        serve the TPM from this process even when a vtpmctl\n"
		"                      daemon runs (by default one that answers at\n"
		"                      $VTPMCTL_MANAGER_RUN_DIR, else " VTPM_MANAGER_RUN_DIR ", creates\n"
		"                      it from a warm spare, unless --backend, --socket,\n"
		"                      --ctrl, --key, --user, --group, --no-sandbox,\n"
		"                      --serve-cgroup or --daemon with --pidfile ask for\n"
		"                      this process)\n"
		"  --serve-cgroup DIR  serve from cgroup v2 directory DIR, or 'container'\n"
		"                      (the cgroup of --pid): CPU time charged there\n"
		CONTAINER_USAGE
		MANUFACTURE_USAGE
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n",
		DEFAULT_REGISTER_TIMEOUT_S);
}

/*
 * --backend libtpms | swtpm:unix:DATA,CTRL |
 * swtpm:unauthenticated-tcp:HOST:PORT,PORT: the addresses of a running
 * "swtpm socket" (its --server and --ctrl).
 */
static int parse_backend(const char *spec, struct create_options *o)
{
	const char *rest, *comma;
	int n1, n2;

	free(o->swtpm_data);
	free(o->swtpm_ctrl);
	o->swtpm_data = o->swtpm_ctrl = NULL;
	if (strcmp(spec, "libtpms") == 0)
		return 0;
	comma = strchr(spec, ',');
	if (strncmp(spec, "swtpm:", 6) != 0 || !comma || !comma[1] || strchr(comma + 1, ',')) {
		log_error("--backend: '%s' is neither libtpms nor swtpm:unix:DATA,CTRL nor "
			  "swtpm:%sHOST:PORT,PORT", spec, VTPM_UNAUTHENTICATED_TCP);
		return -EINVAL;
	}
	rest = spec + 6;
	if (strncmp(rest, "unix:", 5) == 0) {
		n1 = asprintf(&o->swtpm_data, "%.*s", (int)(comma - rest), rest);
		n2 = asprintf(&o->swtpm_ctrl, "unix:%s", comma + 1);
	} else if (strncmp(rest, "tcp:", 4) == 0) {
		log_error("--backend: swtpm over TCP has no authentication (any local user who "
			  "takes over a port gets the TPM commands): use unix sockets, or write "
			  "swtpm:%s%s to accept that", VTPM_UNAUTHENTICATED_TCP, rest + 4);
		return -EPERM;
	} else if (strncmp(rest, VTPM_UNAUTHENTICATED_TCP, strlen(VTPM_UNAUTHENTICATED_TCP)) == 0) {
		size_t scheme = strlen(VTPM_UNAUTHENTICATED_TCP);
		const char *colon = memrchr(rest, ':', (size_t)(comma - rest));

		if (!colon || colon < rest + scheme) {
			log_error("--backend: swtpm's TCP sockets are %sHOST:PORT,PORT",
				  VTPM_UNAUTHENTICATED_TCP);
			return -EINVAL;
		}
		/* The control port goes with the data channel's host. */
		n1 = asprintf(&o->swtpm_data, "%.*s", (int)(comma - rest), rest);
		n2 = asprintf(&o->swtpm_ctrl, "%.*s:%s", (int)(colon - rest), rest, comma + 1);
	} else {
		log_error("--backend: swtpm's sockets are unix:DATA,CTRL or %sHOST:PORT,PORT",
			  VTPM_UNAUTHENTICATED_TCP);
		return -EINVAL;
	}
	if (n1 < 0 || n2 < 0) {
		o->swtpm_data = o->swtpm_ctrl = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int parse_options(int argc, char *argv[], struct create_options *o)
{
	enum { OPT_TPM2 = 256, OPT_TPM12, OPT_STATE_DIR, OPT_RESUME, OPT_DAEMON,
	       OPT_PIDFILE, OPT_TIMEOUT, OPT_JSON, OPT_USER, OPT_GROUP, OPT_NO_SANDBOX,
	       OPT_BACKEND, OPT_CTRL, OPT_KEY, OPT_SOCKET, OPT_STANDALONE,
	       OPT_SERVE_CGROUP };
	static const struct option options[] = {
		{ "tpm2", no_argument, NULL, OPT_TPM2 },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "user", required_argument, NULL, OPT_USER },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "no-sandbox", no_argument, NULL, OPT_NO_SANDBOX },
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "ctrl", required_argument, NULL, OPT_CTRL },
		{ "key", required_argument, NULL, OPT_KEY },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "standalone", no_argument, NULL, OPT_STANDALONE },
		{ "serve-cgroup", required_argument, NULL, OPT_SERVE_CGROUP },
		CONTAINER_LONG_OPTIONS,
		MANUFACTURE_LONG_OPTIONS,
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_version = false, group_set = false;
	int c, r;

	*o = (struct create_options){ .version = VTPM_VERSION_2,
				      .timeout_s = DEFAULT_REGISTER_TIMEOUT_S,
				      .uid = (uid_t)-1, .gid = (gid_t)-1, .sandbox = true };
	while ((c = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
		switch (c) {
		case OPT_TPM2:
		case OPT_TPM12: {
			enum vtpm_version v = c == OPT_TPM2 ? VTPM_VERSION_2 : VTPM_VERSION_1_2;

			if (have_version && v != o->version) {
				log_error("--tpm2 and --tpm12 exclude each other");
				return -EINVAL;
			}
			o->version = v;
			have_version = true;
			break;
		}
		case OPT_BACKEND:
			if (parse_backend(optarg, o) < 0)
				return -EINVAL;
			break;
		case OPT_CTRL:
			if (!*optarg) {
				log_error("--ctrl needs an address: unix:PATH or %s127.0.0.1:PORT",
					  VTPM_UNAUTHENTICATED_TCP);
				return -EINVAL;
			}
			/* Refused before anything is created. */
			if (strncmp(optarg, "tcp:", 4) == 0) {
				explain_address_error("--ctrl", optarg, -EPERM);
				return -EINVAL;
			}
			o->ctrl = optarg;
			break;
		case OPT_SOCKET:
			if (!*optarg) {
				log_error("--socket needs a path");
				return -EINVAL;
			}
			o->socket = optarg;
			break;
		case OPT_SERVE_CGROUP:
			if (optarg[0] != '/' && strcmp(optarg, "container") != 0) {
				log_error("--serve-cgroup needs a cgroup v2 directory or 'container'");
				return -EINVAL;
			}
			o->serve_cgroup = optarg;
			break;
		case OPT_STATE_DIR:
			if (!*optarg) {
				log_error("--state-dir needs a directory");
				return -EINVAL;
			}
			o->state_dir = optarg;
			break;
		case OPT_KEY:
			o->key = optarg;
			break;
		case OPT_RESUME:
			o->backend_flags |= VTPM_LIBTPMS_RESUME;
			break;
		case OPT_DAEMON:
			o->daemon = true;
			break;
		case OPT_PIDFILE:
			if (!*optarg) {
				log_error("--pidfile needs a file name");
				return -EINVAL;
			}
			o->pidfile = optarg;
			break;
		case OPT_TIMEOUT:
			if (!parse_uint(optarg, 1, 3600, &o->timeout_s)) {
				log_error("--timeout: '%s' is not a number of seconds from 1 to 3600", optarg);
				return -EINVAL;
			}
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_USER: {
			gid_t g;

			if (parse_identity("--user", optarg, &o->uid, &g) < 0)
				return -EINVAL;
			/* USER's group, unless --group said otherwise. */
			if (!group_set)
				o->gid = g;
			o->chose_identity = true;
			break;
		}
		case OPT_GROUP:
			o->chose_identity = true;
			group_set = true;
			if (parse_group(optarg, &o->gid) < 0) {
				log_error("--group: no such group '%s'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_NO_SANDBOX:
			o->sandbox = false;
			break;
		case OPT_STANDALONE:
			o->standalone = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			create_usage(stdout);
			return 1;
		default:
			r = container_parse_opt(c, optarg, &o->container);
			if (r == -ENOENT)
				r = manufacture_parse_opt(c, optarg, &o->manufacture);
			if (r == 0)
				break;
			if (r == -ENOENT)
				create_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("create: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (!o->sandbox && (o->uid != (uid_t)-1 || o->gid != (gid_t)-1)) {
		log_error("--user and --group need the sandbox: drop --no-sandbox");
		return -EINVAL;
	}
	if (o->backend_flags & VTPM_LIBTPMS_RESUME && !o->state_dir) {
		log_error("--resume needs --state-dir: a temporary state has nothing to resume");
		return -EINVAL;
	}
	if (o->key && o->swtpm_data) {
		log_error("--key applies to the libtpms backend: give swtpm its own --key");
		return -EINVAL;
	}
	if (container_check_opts(&o->container) < 0 ||
	    manufacture_check_opts(&o->manufacture, o->version) < 0)
		return -EINVAL;
	if (o->socket && (o->ctrl || o->swtpm_data || container_wanted(&o->container))) {
		log_error("--socket serves the control channel itself, from libtpms, with no "
			  "device: it excludes --ctrl, --backend swtpm and the container options");
		return -EINVAL;
	}
	if (o->serve_cgroup && strcmp(o->serve_cgroup, "container") == 0 && !o->container.pid) {
		log_error("--serve-cgroup container needs --pid");
		return -EINVAL;
	}
	return 0;
}

/* The serving process writes and locks its own pid file: the lock, held
 * until it exits, is what "oci-hook poststop" and others trust. */
static int write_pidfile(struct vtpm_ctx *ctx, const char *path, int *fd)
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
		r = write_pidfile(ctx, o->pidfile, pidfile_fd);
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
		if (o->pidfile && write_pidfile(ctx, o->pidfile, pidfile_fd) < 0)
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

/* What the daemon's instance cannot do: serve in this process then. */
static bool managed_eligible(const struct create_options *o)
{
	return !o->standalone && !o->swtpm_data && !o->socket && !o->key && !o->ctrl &&
	       !o->manufacture.wanted &&
	       !o->chose_identity && o->sandbox && !o->serve_cgroup &&
	       /* the pid file's lock must be held by a process that stops it */
	       !(o->daemon && o->pidfile);
}

/*
 * The warm path: the daemon's instance "create-<pid>", handed to the
 * container.  With --daemon it stays the daemon's ("vtpmctl destroy NAME"
 * stops it); else this process holds it until a signal, then takes it
 * back from the container and destroys it (and a state directory the
 * daemon chose).  MANAGED_NONE: no daemon answers; else an exit code.
 */
static int create_managed(struct vtpm_ctx *ctx, const struct create_options *o,
			  const char *state_dir, int *pidfile_fd)
{
	struct vtpm_instance_options io = {
		.size = sizeof(io), .version = o->version, .state_dir = state_dir,
		.backend_flags = o->backend_flags,
	};
	struct vtpm_instance_info *info = NULL;
	struct vtpm_handover *handover = NULL;
	struct vtpm_rules *rules = NULL;
	_cleanup_free_ char *own_state = NULL;
	char name[32];
	sigset_t stop;
	int ret = EXIT_FAIL, r;

	snprintf(name, sizeof(name), "create-%ld", (long)getpid());
	r = managed_create(ctx, name, &io, &info);
	if (r == MANAGED_NONE)
		return MANAGED_NONE;
	if (r < 0)
		return EXIT_FAIL;
	if (container_wanted(&o->container)) {
		r = managed_rules(ctx, info, &rules);
		if (r < 0) {
			log_error("cannot describe the nodes of instance %s: %s", name, strerror(-r));
			goto out;
		}
		r = container_give(NULL, rules, &o->container, &handover);
		vtpm_rules_unref(rules);
		if (r < 0)
			goto out;
	}
	if (!state_dir) {
		own_state = strdup(vtpm_instance_info_get_state_dir(info));
		if (!own_state)
			goto out;
	}
	if (!o->daemon && o->pidfile && write_pidfile(ctx, o->pidfile, pidfile_fd) < 0)
		goto out;
	if (o->json) {
		struct json_object *obj = managed_to_json(info);

		puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
	} else {
		managed_print(info, stdout);
	}
	fflush(stdout);
	fprintf(stderr, "vtpmctl: served by the vtpmctl daemon as instance %s%s\n", name,
			o->daemon ? " (stop it with 'vtpmctl destroy')" : "");
	if (o->daemon) {
		/* The daemon owns it now, nodes and cgroup rule included. */
		ret = EXIT_OK;
		goto out;
	}

	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, NULL);
	while (sigwaitinfo(&stop, NULL) < 0 && errno == EINTR)
		;
	ret = EXIT_OK;
out:
	container_release(handover, !o->container.no_revoke && (ret != EXIT_OK || !o->daemon));
	if (ret != EXIT_OK || !o->daemon) {
		if (managed_destroy(ctx, name) < 0)
			ret = EXIT_FAIL;
		else if (own_state)
			vtpm_remove_flat_dir(own_state);
	}
	vtpm_instance_info_unref(info);
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

	r = parse_options(argc, argv, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;

	r = vtpm_ctx_new(&ctx);
	if (r < 0) {
		log_error("cannot create a library context: %s", strerror(-r));
		return EXIT_FAIL;
	}
	quiet_library(ctx, o.verbose);

	ret = load_state_key(ctx, o.key, &key);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;

	/* No state directory: the daemon's own, removed as a temporary one is. */
	if (managed_eligible(&o) && !o.state_dir) {
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
	if (managed_eligible(&o) && o.state_dir) {
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
		if (o.pidfile && write_pidfile(ctx, o.pidfile, &pidfile_fd) < 0)
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

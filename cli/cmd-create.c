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

#include "vtpmctl.h"

#define DEFAULT_REGISTER_TIMEOUT_S 30

struct create_options {
	enum vtpm_version version;
	const char *state_dir;
	const char *pidfile;
	unsigned int backend_flags;
	unsigned long timeout_s;
	bool json;
	bool daemon;
	bool verbose;
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
		"  --tpm2              a TPM 2.0 (default): /dev/tpmN and /dev/tpmrmN\n"
		"  --tpm12             a TPM 1.2: /dev/tpmN\n"
		"  --state-dir DIR     keep the TPM's state in DIR (swtpm's layout); without\n"
		"                      it the state lives in a temporary directory removed at exit\n"
		"  --resume            restore the volatile state saved by the last clean stop\n"
		"  --daemon            return once the device is ready; serve in the background\n"
		"  --pidfile FILE      write the serving process's PID to FILE\n"
		"  --timeout SEC       wait at most SEC seconds for the kernel to register\n"
		"                      the device (default %d)\n"
		"  --json              print the device description as JSON\n"
		"  -v, --verbose       log what the library does\n"
		"  -h, --help          show this help\n",
		DEFAULT_REGISTER_TIMEOUT_S);
}

static int parse_options(int argc, char *argv[], struct create_options *o)
{
	enum { OPT_TPM2 = 256, OPT_TPM12, OPT_STATE_DIR, OPT_RESUME, OPT_DAEMON,
	       OPT_PIDFILE, OPT_TIMEOUT, OPT_JSON };
	static const struct option options[] = {
		{ "tpm2", no_argument, NULL, OPT_TPM2 },
		{ "tpm12", no_argument, NULL, OPT_TPM12 },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "resume", no_argument, NULL, OPT_RESUME },
		{ "daemon", no_argument, NULL, OPT_DAEMON },
		{ "pidfile", required_argument, NULL, OPT_PIDFILE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool have_version = false;
	int c;

	*o = (struct create_options){ .version = VTPM_VERSION_2,
				      .timeout_s = DEFAULT_REGISTER_TIMEOUT_S };
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
		case OPT_STATE_DIR:
			if (!*optarg) {
				log_error("--state-dir needs a directory");
				return -EINVAL;
			}
			o->state_dir = optarg;
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
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			create_usage(stdout);
			return 1;
		default:
			create_usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("create: unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->backend_flags & VTPM_LIBTPMS_RESUME && !o->state_dir) {
		log_error("--resume needs --state-dir: a temporary state has nothing to resume");
		return -EINVAL;
	}
	return 0;
}

/* Remove the temporary state directory and the files the TPM left in it. */
static void remove_temp_state_dir(const char *path)
{
	struct dirent *de;
	DIR *d;

	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

static int write_pidfile(const char *path, pid_t pid)
{
	char tmp[4096], buf[32];
	int fd, n, r = 0;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)pid);
	if (write(fd, buf, (size_t)n) != n)
		r = -EIO;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static void print_device(struct vtpm_device *dev, const struct create_options *o,
			 const char *state_dir, pid_t pid)
{
	if (o->json) {
		struct json_object *obj = device_to_json(dev);

		json_object_object_add(obj, "state_dir", json_object_new_string(state_dir));
		json_object_object_add(obj, "pid", json_object_new_int64(pid));
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
static int daemonize(struct vtpm_device *dev, const struct create_options *o, const char *state_dir)
{
	pid_t pid;
	int null_fd;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		int r = o->pidfile ? write_pidfile(o->pidfile, pid) : 0;

		if (r < 0) {
			log_error("cannot write pid file %s: %s", o->pidfile, strerror(-r));
			kill(pid, SIGTERM);
			_exit(EXIT_FAIL);
		}
		print_device(dev, o, state_dir, pid);
		/* The child owns the TPM now: skip every cleanup. */
		_exit(EXIT_OK);
	}

	setsid();
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

static void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = on_stop_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int cmd_create(int argc, char *argv[])
{
	struct create_options o;
	struct vtpm_ctx *ctx = NULL;
	struct vtpm_backend *backend = NULL;
	struct vtpm_device *dev = NULL;
	struct vtpm_relay *relay = NULL;
	char temp_dir[] = "/tmp/vtpm-state-XXXXXX";
	const char *state_dir;
	int ret = EXIT_FAIL, r;

	r = parse_options(argc, argv, &o);
	if (r != 0)
		return r > 0 ? EXIT_OK : EXIT_USAGE;

	r = vtpm_ctx_new(&ctx);
	if (r < 0) {
		log_error("cannot create a library context: %s", strerror(-r));
		return EXIT_FAIL;
	}
	if (o.verbose)
		vtpm_ctx_set_log_priority(ctx, LOG_INFO);

	state_dir = o.state_dir;
	if (!state_dir) {
		if (!mkdtemp(temp_dir)) {
			log_error("cannot create a temporary state directory: %s", strerror(errno));
			goto out;
		}
		state_dir = temp_dir;
	}

	r = vtpm_backend_new_libtpms(ctx, o.version, state_dir, o.backend_flags, &backend);
	if (r < 0) {
		log_error("cannot use state directory %s: %s", state_dir, strerror(-r));
		goto out;
	}
	r = vtpm_backend_start(backend);
	if (r < 0) {
		if (r == -EBUSY)
			log_error("state directory %s is in use by another TPM", state_dir);
		else
			log_error("cannot start the TPM from %s: %s", state_dir, strerror(-r));
		goto out;
	}

	r = vtpm_device_new(ctx, o.version, &dev);
	if (r < 0) {
		explain_device_error(r, vtpm_ctx_get_path(ctx, VTPM_PATH_VTPMX));
		goto out;
	}
	r = vtpm_relay_new(ctx, dev, backend, &relay);
	if (r < 0) {
		log_error("cannot bind the device to the TPM: %s", strerror(-r));
		goto out;
	}

	install_signal_handlers();
	running_relay = relay;

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

	if (o.daemon) {
		r = daemonize(dev, &o, state_dir);
		if (r < 0)
			goto out;
	} else {
		if (o.pidfile) {
			r = write_pidfile(o.pidfile, getpid());
			if (r < 0) {
				log_error("cannot write pid file %s: %s", o.pidfile, strerror(-r));
				goto out;
			}
		}
		print_device(dev, &o, state_dir, getpid());
	}

	r = vtpm_relay_run(relay);
	if (r == -EPIPE)
		log_error("tpm%u was removed by the kernel", vtpm_device_get_number(dev));
	else if (r < 0)
		log_error("serving tpm%u failed: %s", vtpm_device_get_number(dev), strerror(-r));
	else
		ret = EXIT_OK;

out:
	running_relay = NULL;
	if (backend) {
		r = vtpm_backend_shutdown(backend);
		if (r < 0) {
			log_error("saving the TPM state failed: %s", strerror(-r));
			ret = EXIT_FAIL;
		}
	}
	vtpm_relay_unref(relay);
	vtpm_device_unref(dev);
	vtpm_backend_unref(backend);
	vtpm_ctx_unref(ctx);
	if (!o.state_dir && state_dir)
		remove_temp_state_dir(temp_dir);
	if (o.pidfile && ret == EXIT_OK)
		unlink(o.pidfile);
	return ret;
}

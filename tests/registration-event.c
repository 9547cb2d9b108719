/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * An embedder's own poll loop that learns of registration from
 * vtpm_device_monitor_*, for the VM scenario registration-event.vm: it
 * links the library, creates a device with an in-process libtpms TPM,
 * serves the relay and waits on the monitor's fd in one poll(2) loop,
 * then prints what happened as "key=value" lines for the scenario.
 *
 * Usage: registration-event ok STATE_DIR [1.2]
 *        registration-event ok-netns STATE_DIR
 *        registration-event fail
 * "ok-netns" first moves into a network namespace owned by a user
 * namespace of its own: the kernel sends its uevents only to network
 * namespaces of the initial user namespace, so the monitor's fallback
 * must do.
 * "fail" answers every command with a TPM failure, so the kernel gives the
 * chip up; the monitor must then say -EPIPE instead of waiting forever.
 * Exit 0 when the outcome is the expected one, 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vtpm/vtpm.h>

/* Generous: registration takes seconds under TCG on a loaded host. */
#define LIMIT_MS 120000

static bool noticed_by_uevent, noticed_by_timer;

static void log_msg(void *userdata, int priority, const char *file, int line,
		    const char *fn, const char *msg)
{
	const char *prog = userdata;

	fprintf(stderr, "%s: libvtpm: %s\n", prog, msg);
	if (strstr(msg, "registered, noticed through a uevent"))
		noticed_by_uevent = true;
	if (strstr(msg, "registered, noticed through the fallback timer"))
		noticed_by_timer = true;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int fail_start(void *data)
{
	return 0;
}

static int fail_process(void *data, const uint8_t *cmd, size_t cmd_len, uint8_t locality,
			uint8_t *resp, size_t resp_size, size_t *resp_len)
{
	return -EIO;	/* the relay answers with a TPM failure code */
}

static int fail_shutdown(void *data)
{
	return 0;
}

/*
 * Move into a network namespace owned by a new user namespace.  A helper
 * creates both and this process joins only the network namespace, so it
 * keeps its privilege over /dev/vtpmx; and it does so before the device
 * exists, since creating a namespace is slow and the kernel waits only so
 * long for each answer.
 */
static int leave_uevents(void)
{
	int ready[2], done[2], fd = -1, r = 0;
	char path[64], c;
	pid_t helper;

	if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0)
		return -errno;
	helper = fork();
	if (helper < 0)
		return -errno;
	if (helper == 0) {
		close(ready[0]);
		close(done[1]);
		c = unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(ready[1]);
	close(done[0]);
	if (read(ready[0], &c, 1) != 1 || c != 'y')
		r = -EPERM;
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)helper);
	if (r == 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		r = -errno;
	if (r == 0 && setns(fd, CLONE_NEWNET) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	close(done[1]);
	close(ready[0]);
	waitpid(helper, NULL, 0);
	return r;
}

/*
 * Do what the kernel's registration will ask of a TPM 2 first, as the
 * manager's spares do: TPM2_Startup(CLEAR) and the full TPM2_SelfTest
 * (TPM 2.0 Part 3, 9.3 and 10.2).  Under emulation on a loaded host a
 * first self test can take longer than the kernel waits for one answer
 * (it then gives the chip up); done ahead, the kernel's is quick.
 */
static int warm_up(struct vtpm_ctx *ctx, struct vtpm_backend *backend)
{
	static const uint8_t startup[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
	static const uint8_t self_test[] = { 0x80, 0x01, 0, 0, 0, 11, 0, 0, 0x01, 0x43, 1 };
	const uint8_t *cmds[] = { startup, self_test };
	const size_t lens[] = { sizeof(startup), sizeof(self_test) };
	struct vtpm_relay *relay = NULL;
	uint8_t resp[4096];
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	r = vtpm_relay_new_from_fd(backend, sv[0], &relay);
	for (size_t i = 0; r == 0 && i < 2; i++) {
		ssize_t n;

		if (write(sv[1], cmds[i], lens[i]) != (ssize_t)lens[i])
			r = -EIO;
		else if (vtpm_relay_dispatch(relay) != 1)
			r = -EIO;
		else if ((n = read(sv[1], resp, sizeof(resp))) < 10 ||
			 resp[6] | resp[7] | resp[8] | resp[9])
			r = -EIO;
	}
	vtpm_relay_unref(relay);
	close(sv[0]);
	close(sv[1]);
	return r;
}

struct loop {
	struct vtpm_relay *relay;
	struct vtpm_device_monitor *monitor;
	unsigned int monitor_wakeups;
	unsigned int commands;
	long long slowest_ms;	/* of one command's dispatch */
	int result;	/* of vtpm_device_monitor_dispatch() */
};

/* Serve the relay and wait on the monitor until it has an answer. */
static int run_loop(struct loop *l)
{
	long long deadline = now_ms() + LIMIT_MS;
	bool relay_gone = false;

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = vtpm_device_monitor_get_fd(l->monitor), .events = POLLIN },
			{ .fd = relay_gone ? -1 : vtpm_relay_get_fd(l->relay), .events = POLLIN },
		};
		long long left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(pfd, 2, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents) {
			long long t = now_ms();

			r = vtpm_relay_dispatch(l->relay);
			t = now_ms() - t;
			if (t > l->slowest_ms)
				l->slowest_ms = t;
			if (r == -EPIPE)
				relay_gone = true;	/* the monitor must say so too */
			else if (r < 0)
				return r;
			else
				l->commands += (unsigned int)r;
		}
		if (pfd[0].revents & POLLIN) {
			l->monitor_wakeups++;
			l->result = vtpm_device_monitor_dispatch(l->monitor);
			if (l->result != 0)
				return 0;
		}
	}
}

int main(int argc, char *argv[])
{
	static const struct vtpm_backend_ops fail_ops = {
		.size = sizeof(fail_ops), .start = fail_start, .process = fail_process,
		.shutdown = fail_shutdown,
	};
	bool fail = argc == 2 && strcmp(argv[1], "fail") == 0;
	bool netns = argc == 3 && strcmp(argv[1], "ok-netns") == 0;
	enum vtpm_version version = argc == 4 && strcmp(argv[3], "1.2") == 0 ?
				    VTPM_VERSION_1_2 : VTPM_VERSION_2;
	struct vtpm_ctx *ctx = NULL;
	struct vtpm_device *dev = NULL;
	struct vtpm_backend *backend = NULL;
	struct loop l = {};
	struct pollfd pfd;
	long long t0;
	int r;

	if (!fail && !netns && !(argc >= 3 && argc <= 4 && strcmp(argv[1], "ok") == 0)) {
		fprintf(stderr, "usage: %s ok STATE_DIR [1.2] | ok-netns STATE_DIR | fail\n",
			argv[0]);
		return 2;
	}
	r = vtpm_ctx_new(&ctx);
	if (r < 0)
		return 1;
	vtpm_ctx_set_log_msg_fn(ctx, log_msg, argv[0]);
	vtpm_ctx_set_log_priority(ctx, LOG_INFO);
	if (fail)
		r = vtpm_backend_new(ctx, version, &fail_ops, NULL, &backend);
	else
		r = vtpm_backend_new_libtpms(ctx, version, argv[2], 0, &backend);
	if (r == 0 && netns)
		r = leave_uevents();
	/* Start the TPM before the kernel sends its first command: the kernel
	 * waits only so long for each answer. */
	if (r == 0)
		r = vtpm_backend_start(backend);
	if (r == 0 && !fail && version == VTPM_VERSION_2)
		r = warm_up(ctx, backend);
	t0 = now_ms();
	if (r == 0)
		r = vtpm_device_new(ctx, version, &dev);
	/* Nothing is answered before the loop runs, so the chip cannot be
	 * registered before the monitor watches. */
	if (r == 0)
		r = vtpm_device_monitor_new(dev, &l.monitor);
	if (r == 0)
		r = vtpm_relay_new_from_device(dev, backend, &l.relay);
	if (r < 0) {
		fprintf(stderr, "%s: setting up: %s\n", argv[0], strerror(-r));
		return 1;
	}
	printf("device=tpm%u\n", vtpm_device_get_number(dev));
	r = run_loop(&l);
	printf("result=%d\nms=%lld\nmonitor_wakeups=%u\ncommands=%u\nslowest_ms=%lld\n",
	       r < 0 ? r : l.result, now_ms() - t0, l.monitor_wakeups, l.commands, l.slowest_ms);
	printf("noticed=%s\n", noticed_by_uevent ? "uevent" : noticed_by_timer ? "timer" : "none");
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "%s: loop: %s\n", argv[0], strerror(-r));
		return 1;
	}
	if (fail)
		return l.result == -EPIPE ? 0 : 1;
	if (l.result != 1 || vtpm_device_is_registered(dev) != 1) {
		fprintf(stderr, "%s: the monitor said %d, sysfs says %d\n", argv[0], l.result,
			vtpm_device_is_registered(dev));
		return 1;
	}
	/* Rules from the registered device know which node is which. */
	{
		struct vtpm_rules *rules;
		int rm = vtpm_rules_from_device(dev, &rules);

		if (rm < 0) {
			fprintf(stderr, "%s: rules from the device: %s\n", argv[0], strerror(-rm));
			return 1;
		}
		rm = vtpm_rules_find_node(rules, VTPM_NODE_TPMRM);
		if (vtpm_rules_find_node(rules, VTPM_NODE_TPM) != 0 ||
		    rm != (version == VTPM_VERSION_2 ? 1 : -ENOENT)) {
			fprintf(stderr, "%s: rules from the device misplace their nodes\n", argv[0]);
			return 1;
		}
		vtpm_rules_unref(rules);
		printf("rules_nodes=1\n");
	}
	/* A monitor made after registration reports it at once, then goes quiet. */
	vtpm_device_monitor_unref(l.monitor);
	r = vtpm_device_monitor_new(dev, &l.monitor);
	if (r < 0) {
		fprintf(stderr, "%s: a late monitor: %s\n", argv[0], strerror(-r));
		return 1;
	}
	pfd = (struct pollfd){ .fd = vtpm_device_monitor_get_fd(l.monitor), .events = POLLIN };
	if (poll(&pfd, 1, 5000) != 1 || vtpm_device_monitor_dispatch(l.monitor) != 1) {
		fprintf(stderr, "%s: a late monitor did not report registration\n", argv[0]);
		return 1;
	}
	printf("late_monitor=1\n");
	if (poll(&pfd, 1, 1500) != 0) {
		fprintf(stderr, "%s: the monitor stayed readable after registration\n", argv[0]);
		return 1;
	}
	printf("quiet_after=1\n");
	vtpm_device_monitor_unref(l.monitor);
	vtpm_relay_unref(l.relay);
	vtpm_backend_shutdown(backend);
	vtpm_backend_unref(backend);
	vtpm_device_unref(dev);
	vtpm_ctx_unref(ctx);
	return 0;
}

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
 * "ok-netns" moves into a user and network namespace of its own once the
 * device exists: the kernel sends its uevents only to network namespaces
 * of the initial user namespace, so the monitor's fallback must do.
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

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* A user namespace (root mapped to root, so the TPM can still write its
 * state) with a network namespace of its own. */
static int leave_uevents(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return -errno;
	if (write_file("/proc/self/setgroups", "deny") < 0 ||
	    write_file("/proc/self/uid_map", "0 0 1") < 0 ||
	    write_file("/proc/self/gid_map", "0 0 1") < 0)
		return -EPERM;
	return 0;
}

struct loop {
	struct vtpm_relay *relay;
	struct vtpm_device_monitor *monitor;
	unsigned int monitor_wakeups;
	unsigned int commands;
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
			r = vtpm_relay_dispatch(l->relay);
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
	t0 = now_ms();
	if (r == 0)
		r = vtpm_device_new(ctx, version, &dev);
	/* Nothing is answered before the loop runs, so the chip cannot be
	 * registered before the monitor watches. */
	if (r == 0)
		r = vtpm_relay_new(ctx, dev, backend, &l.relay);
	if (r == 0 && netns)
		r = leave_uevents();
	if (r == 0)
		r = vtpm_device_monitor_new(dev, &l.monitor);
	if (r < 0) {
		fprintf(stderr, "%s: setting up: %s\n", argv[0], strerror(-r));
		return 1;
	}
	printf("device=tpm%u\n", vtpm_device_get_number(dev));
	r = run_loop(&l);
	printf("result=%d\nms=%lld\nmonitor_wakeups=%u\ncommands=%u\n",
	       r < 0 ? r : l.result, now_ms() - t0, l.monitor_wakeups, l.commands);
	printf("noticed=%s\n", noticed_by_uevent ? "uevent" : noticed_by_timer ? "timer" : "none");
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "%s: loop: %s\n", argv[0], strerror(-r));
		return 1;
	}
	if (fail)
		return l.result == -EPIPE ? 0 : 1;
	if (l.result != 1 || vtpm_device_is_registered(dev) != 1)
		return 1;
	/* A monitor made after registration reports it at once, then goes quiet. */
	vtpm_device_monitor_unref(l.monitor);
	r = vtpm_device_monitor_new(dev, &l.monitor);
	if (r < 0)
		return 1;
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

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Registration as an event: an fd for the caller's own poll loop that
 * wakes it when the kernel may have registered a device's chip.
 *
 * The proxy driver registers the chip in a work item once its own
 * commands are answered, and the last thing registration does is add the
 * client devices (tpm_chip_register() in drivers/char/tpm/tpm-chip.c:
 * tpm_add_char_device() near its end).  It offers no event on the server
 * fd for that, but adding a device sends a uevent after its sysfs entry
 * exists, and udev's way of hearing it, a NETLINK_KOBJECT_UEVENT socket,
 * needs no privilege.  The monitor drains whatever uevents come and looks
 * at sysfs (vtpm_device_is_registered()), so it needs no uevent parser
 * and trusts no uevent's content.
 *
 * Linux sends kernel uevents only to network namespaces owned by the
 * initial user namespace (lib/kobject_uevent.c): in a container's own
 * user and network namespace the socket stays silent.  A slow timer stays armed beside
 * it as a safety net, so the caller never needs a timer of its own.  The
 * server fd is watched for POLLHUP, which the driver raises when
 * registration failed and it gave the device up.
 */
#include "config.h"

#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vtpm-internal.h"

/* The multicast group of the kernel's own uevents (udev's
 * UDEV_MONITOR_KERNEL, libudev/libudev-monitor.c). */
#define UEVENT_GROUP_KERNEL 1u
/* The safety net's period: with a uevent socket it only covers a
 * namespace that gets no uevents; without one it is the only source. */
#define FALLBACK_MS_WITH_UEVENTS 1000
#define FALLBACK_MS_ALONE 100
/* Uevents drained per dispatch, so a flood cannot hold the caller. */
#define DRAIN_MAX 256
/* A uevent is at most UEVENT_BUFFER_SIZE (include/linux/kobject.h) plus
 * its header line; only its arrival matters here. */
#define UEVENT_BUF 4096

struct vtpm_device_monitor {
	int refcount;
	struct vtpm_ctx *ctx;
	struct vtpm_device *dev;
	int epoll_fd;
	int uevent_fd;	/* -1: none */
	int timer_fd;
	bool registered;
};

static int open_uevent_socket(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = UEVENT_GROUP_KERNEL };
	int fd, r;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Fire at once (to look at the state as it is now), then every @period_ms. */
static int arm_timer(int fd, int period_ms)
{
	struct itimerspec its = {
		.it_value = { .tv_nsec = 1 },
		.it_interval = { .tv_sec = period_ms / 1000, .tv_nsec = (period_ms % 1000) * 1000000L },
	};

	return timerfd_settime(fd, 0, &its, NULL) < 0 ? -errno : 0;
}

static int watch(int epoll_fd, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

VTPM_EXPORT int vtpm_device_monitor_new(struct vtpm_device *dev,
					struct vtpm_device_monitor **monitor)
{
	struct vtpm_device_monitor *m;
	int r;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->refcount = 1;
	m->ctx = vtpm_ctx_ref(vtpm_device_get_ctx(dev));
	m->dev = vtpm_device_ref(dev);
	m->uevent_fd = -1;
	m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->epoll_fd < 0 || m->timer_fd < 0) {
		r = -errno;
		goto fail;
	}
	m->uevent_fd = open_uevent_socket();
	if (m->uevent_fd < 0) {
		info(m->ctx, "no uevent socket (%s): looking at sysfs every %d ms",
		     strerror(-m->uevent_fd), FALLBACK_MS_ALONE);
		m->uevent_fd = -1;
	}
	r = arm_timer(m->timer_fd, m->uevent_fd >= 0 ? FALLBACK_MS_WITH_UEVENTS : FALLBACK_MS_ALONE);
	if (r == 0)
		r = watch(m->epoll_fd, m->timer_fd, EPOLLIN);
	if (r == 0 && m->uevent_fd >= 0)
		r = watch(m->epoll_fd, m->uevent_fd, EPOLLIN);
	/* No events asked: epoll reports POLLHUP and errors anyway. */
	if (r == 0)
		r = watch(m->epoll_fd, vtpm_device_get_fd(dev), 0);
	if (r < 0)
		goto fail;
	*monitor = m;
	return 0;
fail:
	vtpm_device_monitor_unref(m);
	return r;
}

VTPM_EXPORT struct vtpm_device_monitor *vtpm_device_monitor_ref(struct vtpm_device_monitor *monitor)
{
	if (monitor)
		monitor->refcount++;
	return monitor;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

VTPM_EXPORT struct vtpm_device_monitor *
vtpm_device_monitor_unref(struct vtpm_device_monitor *monitor)
{
	if (!monitor || --monitor->refcount > 0)
		return NULL;
	close_fd(&monitor->uevent_fd);
	close_fd(&monitor->timer_fd);
	close_fd(&monitor->epoll_fd);
	vtpm_device_unref(monitor->dev);
	vtpm_ctx_unref(monitor->ctx);
	free(monitor);
	return NULL;
}

VTPM_EXPORT int vtpm_device_monitor_get_fd(const struct vtpm_device_monitor *monitor)
{
	return monitor->epoll_fd;
}

/* Read what is queued; returns how many uevents came. */
static unsigned int drain(struct vtpm_device_monitor *m)
{
	char buf[UEVENT_BUF];
	unsigned int n = 0;
	uint64_t ticks;

	while (m->uevent_fd >= 0 && n < DRAIN_MAX) {
		ssize_t r = recv(m->uevent_fd, buf, sizeof(buf), MSG_DONTWAIT);

		/* ENOBUFS: the queue overflowed and uevents were lost,
		 * which is why sysfs, not the uevent, has the last word. */
		if (r < 0 && errno != EINTR && errno != ENOBUFS)
			break;
		n++;
	}
	if (read(m->timer_fd, &ticks, sizeof(ticks)) < 0) {
		/* EAGAIN: the timer has not fired. */
	}
	return n;
}

/* Once registered, the fd goes quiet: nothing left to report. */
static void go_quiet(struct vtpm_device_monitor *m)
{
	struct itimerspec off = {};

	timerfd_settime(m->timer_fd, 0, &off, NULL);
	epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, vtpm_device_get_fd(m->dev), NULL);
	if (m->uevent_fd >= 0)
		epoll_ctl(m->epoll_fd, EPOLL_CTL_DEL, m->uevent_fd, NULL);
	close_fd(&m->uevent_fd);
}

VTPM_EXPORT int vtpm_device_monitor_dispatch(struct vtpm_device_monitor *monitor)
{
	struct pollfd hup = { .fd = vtpm_device_get_fd(monitor->dev) };
	unsigned int uevents;
	int r;

	if (monitor->registered)
		return 1;
	uevents = drain(monitor);
	r = vtpm_device_is_registered(monitor->dev);
	if (r < 0)
		return r;
	if (r > 0) {
		monitor->registered = true;
		go_quiet(monitor);
		info(monitor->ctx, "tpm%u registered, noticed through %s",
		     vtpm_device_get_number(monitor->dev),
		     uevents ? "a uevent" : "the fallback timer");
		return 1;
	}
	if (poll(&hup, 1, 0) > 0 && (hup.revents & (POLLHUP | POLLERR))) {
		err(monitor->ctx, "the kernel gave up registering tpm%u",
		    vtpm_device_get_number(monitor->dev));
		return -EPIPE;
	}
	return 0;
}

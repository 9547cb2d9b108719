/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Attack code inside a confined server, for tests/vm/confine.vm.  It sets
 * up a vTPM the way "vtpmctl create" does (libtpms TPM in STATE_DIR, the
 * device, a control socket), confines itself with the library's one call
 * as "vtpmctl create --ctrl" does, then plays a compromised server: each
 * ATTACK argument is tried and its outcome printed on stdout, one line
 * each, "denied NAME: ERRNO" or "ALLOWED NAME".  Then it prints the device
 * path and "ready", and serves until SIGTERM, saving its state at the end.
 * A forbidden system call kills it with SIGSYS, which the caller sees.
 *
 * Usage: confine-probe STATE_DIR CTRL_SOCKET ATTACK...
 *   read:PATH     open PATH for reading
 *   write:PATH    create PATH and write to it
 *   connect:PATH  connect to the unix socket PATH
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vtpm/vtpm.h>

static struct vtpm_relay *relay;

static void on_term(int sig)
{
	vtpm_relay_stop(relay);
}

static int try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if ((flags & O_ACCMODE) != O_RDONLY && write(fd, "x", 1) != 1) {
		int r = -errno;

		close(fd);
		return r;
	}
	close(fd);
	return 0;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r = 0;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static void attack(const char *spec)
{
	int r;

	if (strncmp(spec, "read:", 5) == 0)
		r = try_open(spec + 5, O_RDONLY);
	else if (strncmp(spec, "write:", 6) == 0)
		r = try_open(spec + 6, O_WRONLY | O_CREAT | O_TRUNC);
	else if (strncmp(spec, "connect:", 8) == 0)
		r = try_connect(spec + 8);
	else
		r = -EINVAL;
	if (r < 0)
		printf("denied %s: %s\n", spec, strerror(-r));
	else
		printf("ALLOWED %s\n", spec);
	fflush(stdout);
}

int main(int argc, char *argv[])
{
	struct vtpm_sandbox_options so = { .size = sizeof(so), .flags = VTPM_SANDBOX_ALLOW_ACCEPT };
	struct vtpm_ctx *ctx = NULL;
	struct vtpm_backend *backend = NULL;
	struct vtpm_device *dev = NULL;
	struct vtpm_ctrl *ctrl = NULL;
	int r, landlock = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: %s STATE_DIR CTRL_SOCKET ATTACK...\n", argv[0]);
		return 2;
	}
	so.state_dir = argv[1];
	r = vtpm_ctx_new(&ctx);
	if (r == 0)
		r = vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, argv[1], 0, &backend);
	/* Started and self-tested before the kernel asks, as vtpmctl does. */
	if (r == 0)
		r = vtpm_backend_startup(backend, 0, NULL);
	if (r == 0)
		r = vtpm_device_new(ctx, VTPM_VERSION_2, &dev);
	if (r == 0)
		r = vtpm_relay_new_from_device(dev, backend, &relay);
	if (r == 0)
		r = vtpm_ctrl_new_from_address(backend, argv[2], NULL, &ctrl);
	if (r == 0)
		r = vtpm_relay_attach_ctrl(relay, ctrl);
	if (r == 0)
		r = vtpm_relay_wait_registered(relay, 60000);
	/* The same steps as every serving mode. */
	if (r == 0)
		r = vtpm_sandbox_get_default_user(ctx, &so.uid, &so.gid);
	if (r == 0)
		r = vtpm_sandbox_own_state_dir(ctx, argv[1], so.uid, so.gid);
	if (r == 0)
		r = vtpm_sandbox_confine(ctx, &so, &landlock);
	if (r < 0) {
		fprintf(stderr, "confine-probe: set-up failed: %s\n", strerror(-r));
		return 1;
	}
	printf("confined uid %u landlock %d\n", (unsigned int)getuid(), landlock);
	fflush(stdout);

	for (int i = 3; i < argc; i++)
		attack(argv[i]);

	signal(SIGTERM, on_term);
	printf("device /dev/tpmrm%u\nready\n", vtpm_device_get_number(dev));
	fflush(stdout);
	r = vtpm_relay_run(relay);
	if (r == 0)
		r = vtpm_backend_shutdown(backend);
	vtpm_ctrl_unref(ctrl);
	vtpm_relay_unref(relay);
	vtpm_device_unref(dev);
	vtpm_backend_unref(backend);
	vtpm_ctx_unref(ctx);
	if (r < 0) {
		fprintf(stderr, "confine-probe: serving failed: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}

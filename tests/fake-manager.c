/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fake manager for the client's tests (see fake-manager.h). */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake-manager.h"

static void *fake_serve(void *arg)
{
	struct fake *f = arg;

	for (size_t i = 0; i < f->n; i++) {
		int c = accept4(f->fd, NULL, NULL, SOCK_CLOEXEC);
		size_t len = 0;
		ssize_t r;

		if (c < 0)
			break;
		while (len < sizeof(f->requests[i]) - 1 &&
		       (r = read(c, f->requests[i] + len, sizeof(f->requests[i]) - 1 - len)) > 0) {
			len += (size_t)r;
			if (f->requests[i][len - 1] == '\n')
				break;
		}
		f->requests[i][len] = '\0';
		if (f->answers[i] && write(c, f->answers[i], strlen(f->answers[i])) < 0)
			break;
		close(c);
	}
	return NULL;
}

void fake_start(struct fake *f, const char *dir)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f->path, sizeof(f->path), "%s/fake.sock", dir);
	unlink(f->path);
	strcpy(sa.sun_path, f->path);
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->fd, 8), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->fd);
	unlink(f->path);
}

struct vtpm_manager_client *fake_client_for(struct vtpm_ctx *ctx, const char *path)
{
	struct vtpm_manager_client_options o = { .size = sizeof(o), .socket_path = path,
						 .timeout_ms = 10000 };
	struct vtpm_manager_client *client;

	assert_int_equal(vtpm_manager_client_new(ctx, &o, &client), 0);
	return client;
}


/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake manager for the client's tests: a thread that answers each
 * connection with the next canned text and keeps what was sent.
 */
#ifndef TESTS_FAKE_MANAGER_H
#define TESTS_FAKE_MANAGER_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>

#include <vtpm/manager.h>

struct fake {
	int fd;
	char path[PATH_MAX];
	const char *answers[8];	/* NULL: close without an answer */
	size_t n;		/* connections to answer */
	char requests[8][1024];
	pthread_t thread;
};

/* Listen on "@dir/fake.sock" and answer in a thread. */
void fake_start(struct fake *f, const char *dir);
/* Wait until all f->n connections were answered; stop listening. */
void fake_stop(struct fake *f);
/* A client of @path with a 10 s timeout. */
struct vtpm_manager_client *fake_client_for(struct vtpm_ctx *ctx, const char *path);

#endif

/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tpm-bench: the one client of every benchmark.  Issues N TPM 2 commands
 * back-to-back on a device node and reports ops/s and latency percentiles;
 * with several devices, one thread per device ("64 concurrent clients").
 *
 * Usage: [TPM_BENCH_WAIT_MS=MS] tpm-bench getrandom|pcrread N DEVICE...
 * Output: one line "ops=N secs=S ops_per_s=R p50_us=A p99_us=B errors=E".
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* TPM2_GetRandom(16): TPM_ST_NO_SESSIONS, TPM_CC_GetRandom 0x17B (Part 3, 16.1). */
static const uint8_t getrandom_cmd[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x10,
};
/* TPM2_PCR_Read of sha256 PCR 0: TPM_CC_PCR_Read 0x17E (Part 3, 22.4);
 * TPML_PCR_SELECTION count 1, TPM_ALG_SHA256 0x000B, sizeofSelect 3, PCR 0. */
static const uint8_t pcrread_cmd[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x01, 0x7e,
	0x00, 0x00, 0x00, 0x01, 0x00, 0x0b, 0x03, 0x01, 0x00, 0x00,
};

struct worker {
	pthread_t thread;
	const char *dev;
	const uint8_t *cmd;
	size_t cmd_len;
	long n;
	uint32_t *lat_us;
	long errors;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * With TPM_BENCH_WAIT_MS, a node that does not exist yet is waited for that
 * long, every millisecond: a server that returns before the kernel has
 * registered its device is then measured without a shell's polling loop.
 */
static int open_dev(const char *dev)
{
	const char *wait_ms = getenv("TPM_BENCH_WAIT_MS");
	uint64_t deadline = now_ns() + (wait_ms ? strtoull(wait_ms, NULL, 10) : 0) * 1000000u;
	int fd;

	while ((fd = open(dev, O_RDWR | O_CLOEXEC)) < 0 && errno == ENOENT && now_ns() < deadline)
		usleep(1000);
	return fd;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint8_t resp[4096];
	int fd = open_dev(w->dev);

	if (fd < 0) {
		perror(w->dev);
		w->errors = w->n;
		return NULL;
	}
	for (long i = 0; i < w->n; i++) {
		uint64_t t0 = now_ns();
		ssize_t r;

		if (write(fd, w->cmd, w->cmd_len) != (ssize_t)w->cmd_len) {
			w->errors++;
			continue;
		}
		r = read(fd, resp, sizeof(resp));
		w->lat_us[i] = (uint32_t)((now_ns() - t0) / 1000);
		/* A response whose return code (bytes 6..9) is not TPM_RC_SUCCESS. */
		if (r < 10 || resp[6] | resp[7] | resp[8] | resp[9])
			w->errors++;
	}
	close(fd);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char *argv[])
{
	struct worker *w;
	uint32_t *all;
	long n, total = 0, errors = 0;
	int ndev = argc - 3;
	uint64_t t0, t1;

	if (argc < 4 || (strcmp(argv[1], "getrandom") && strcmp(argv[1], "pcrread"))) {
		fprintf(stderr, "usage: tpm-bench getrandom|pcrread N DEVICE...\n");
		return 2;
	}
	n = strtol(argv[2], NULL, 10);
	w = calloc((size_t)ndev, sizeof(*w));
	all = calloc((size_t)(n * ndev), sizeof(*all));
	if (n <= 0 || !w || !all)
		return 2;
	for (int i = 0; i < ndev; i++) {
		w[i].dev = argv[3 + i];
		w[i].cmd = strcmp(argv[1], "getrandom") ? pcrread_cmd : getrandom_cmd;
		w[i].cmd_len = strcmp(argv[1], "getrandom") ? sizeof(pcrread_cmd) : sizeof(getrandom_cmd);
		w[i].n = n;
		w[i].lat_us = all + (size_t)i * (size_t)n;
	}
	t0 = now_ns();
	for (int i = 0; i < ndev; i++)
		pthread_create(&w[i].thread, NULL, run, &w[i]);
	for (int i = 0; i < ndev; i++) {
		pthread_join(w[i].thread, NULL);
		errors += w[i].errors;
	}
	t1 = now_ns();
	total = n * ndev;
	qsort(all, (size_t)total, sizeof(*all), cmp_u32);
	printf("ops=%ld secs=%.3f ops_per_s=%.1f p50_us=%u p99_us=%u errors=%ld\n", total,
	       (double)(t1 - t0) / 1e9, (double)total * 1e9 / (double)(t1 - t0),
	       all[total / 2], all[(total * 99) / 100], errors);
	return errors ? 1 : 0;
}

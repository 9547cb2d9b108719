/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Guest-side throughput of TPM2_GetRandom: send the command to a TPM
 * character device (/dev/tpmrm0) for a few seconds and print the rate as
 * "getrandom_ops_s=N".  One process, so the figure is the TPM path's
 * (driver, QEMU, emulator), not program start-up's.
 *
 * Usage: getrandom-bench DEVICE SECONDS
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* TPM2_GetRandom(32): TPM 2.0 Part 3, 16.1 (tag ST_NO_SESSIONS, CC 0x17b). */
static const uint8_t getrandom_cmd[] = {
	0x80, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x01, 0x7b, 0x00, 0x20,
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[])
{
	uint8_t resp[4096];
	double start, end, seconds;
	unsigned long ops = 0;
	int fd;

	if (argc != 3 || (seconds = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: getrandom-bench DEVICE SECONDS\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "getrandom-bench: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	start = now_s();
	do {
		ssize_t n;

		if (write(fd, getrandom_cmd, sizeof(getrandom_cmd)) != (ssize_t)sizeof(getrandom_cmd)) {
			fprintf(stderr, "getrandom-bench: write: %s\n", strerror(errno));
			return 1;
		}
		n = read(fd, resp, sizeof(resp));
		/* A success response: header, then a 2-byte size and 32 bytes. */
		if (n != 10 + 2 + 32 || resp[6] | resp[7] | resp[8] | resp[9]) {
			fprintf(stderr, "getrandom-bench: unexpected response (%zd bytes)\n", n);
			return 1;
		}
		ops++;
		end = now_s();
	} while (end - start < seconds);
	printf("getrandom_ops_s=%.0f\n", (double)ops / (end - start));
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the whole command path a container reaches: the
 * relay and the libtpms TPM 2 behind it.  Slow (libtpms does real crypto);
 * fuzz-relay covers the relay's own logic at full speed.
 *
 * The input is a sequence of messages, each a 2-byte big-endian length and
 * that many bytes, delivered one message per read as the proxy fd does.
 * Every message must get exactly one well-framed response.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vtpm-internal.h"
#include "wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vtpm_relay *relay;
static int client_fd;

static void die(const char *what)
{
	fprintf(stderr, "fuzz-tpm: %s\n", what);
	abort();
}

static void transact(const uint8_t *msg, size_t len)
{
	uint8_t resp[VTPM_BUFFER_SIZE + 1];
	struct tpm_header hdr;
	ssize_t n;

	if (write(client_fd, msg, len) != (ssize_t)len)
		die("write");
	if (vtpm_relay_dispatch(relay) != 1)
		die("the relay did not answer a message");
	n = read(client_fd, resp, sizeof(resp));
	if (n < TPM_HEADER_SIZE || n > VTPM_BUFFER_SIZE)
		die("response of impossible size");
	if (!vtpm_wire_parse_header(resp, (size_t)n, &hdr) || hdr.size != (size_t)n)
		die("response header does not match its length");
	if (hdr.tag != TPM2_ST_NO_SESSIONS && hdr.tag != TPM2_ST_SESSIONS)
		die("response tag is not a TPM 2 tag");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t startup[] = { 0x80, 0x01, 0, 0, 0, 12, 0, 0, 0x01, 0x44, 0, 0 };
	/* tmpfs: libtpms writes NV through fsync on many commands. */
	static char dir[] = "/dev/shm/fuzz-tpm-XXXXXX";
	struct vtpm_backend *backend;
	struct vtpm_ctx *ctx;
	int sv[2], size = 1 << 20;

	if (!mkdtemp(dir))
		die("mkdtemp");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	if (vtpm_ctx_new(&ctx) < 0)
		die("ctx");
	vtpm_ctx_set_log_priority(ctx, LOG_EMERG);
	if (vtpm_backend_new_libtpms(ctx, VTPM_VERSION_2, dir, 0, &backend) < 0)
		die("backend");
	if (vtpm_relay_new_from_fd(backend, sv[0], &relay) < 0)
		die("relay");
	client_fd = sv[1];
	transact(startup, sizeof(startup));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size >= 2) {
		size_t len = (size_t)get_be16(data);

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		/* An empty datagram is no command: the kernel never sends one. */
		if (len > 0)
			transact(data, len);
		data += len;
		size -= len;
	}
	return 0;
}

/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * How a state key travels from a client to the manager.  The client reads
 * the key where the user named it (a file, a descriptor of its own, a
 * passphrase) and hands over only the resulting bytes, in a sealed memfd
 * passed along with the request (SCM_RIGHTS): they never appear in the
 * request's JSON text, so no buffer or log of requests holds them, and
 * the manager never opens a path or descriptor number of the client's.
 * The manager's socket is its owner's only (mode 0600).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "manager-internal.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"

int vtpm_mgr_key_to_fd(const struct vtpm_state_key *key)
{
	size_t len = vtpm_state_key_size(key);
	int fd, r;

	fd = memfd_create("vtpm-state-key", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, vtpm_state_key_bytes(key), len) != (ssize_t)len ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		r = errno ? -errno : -EIO;
		close(fd);
		return r;
	}
	return fd;
}

int vtpm_mgr_key_from_fd(struct vtpm_ctx *ctx, int fd, struct vtpm_state_key **key)
{
	uint8_t bytes[SWTPM_AES256_KEY_SIZE + 1];
	struct stat st;
	ssize_t n;
	int r;

	/* A regular file (a memfd is one) of a key's size: not a pipe or
	 * socket that could make the manager wait. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (st.st_size != SWTPM_AES128_KEY_SIZE && st.st_size != SWTPM_AES256_KEY_SIZE))
		return -EINVAL;
	n = pread(fd, bytes, sizeof(bytes), 0);
	if (n != st.st_size) {
		OPENSSL_cleanse(bytes, sizeof(bytes));
		return -EINVAL;
	}
	r = vtpm_state_key_new(ctx, bytes, (size_t)n, key);
	OPENSSL_cleanse(bytes, sizeof(bytes));
	return r;
}

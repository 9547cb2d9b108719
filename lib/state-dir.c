/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TPM state directories in swtpm's file layout; see state-dir.h. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "state-dir.h"
#include "swtpm-blob.h"
#include "vtpm-internal.h"

struct vtpm_state_dir {
	struct vtpm_ctx *ctx;
	enum vtpm_version version;
	char *path;
	int dir_fd;
	int lock_fd;
	struct vtpm_state_key *key; /* NULL: plain state */
};

static const char *const blob_names[] = {
	VTPM_BLOB_PERMANENT, VTPM_BLOB_VOLATILE, VTPM_BLOB_SAVESTATE,
};

int vtpm_state_dir_open(struct vtpm_ctx *ctx, const char *path, enum vtpm_version version,
			struct vtpm_state_dir **out)
{
	struct vtpm_state_dir *sd;
	int r;

	if (!path || !*path)
		return -EINVAL;
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return -ENOMEM;
	sd->lock_fd = -1;
	sd->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sd->dir_fd < 0) {
		r = -errno;
		err(ctx, "cannot open state directory %s: %s", path, strerror(-r));
		free(sd);
		return r;
	}
	sd->path = strdup(path);
	if (!sd->path) {
		close(sd->dir_fd);
		free(sd);
		return -ENOMEM;
	}
	sd->ctx = vtpm_ctx_ref(ctx);
	sd->version = version;
	*out = sd;
	return 0;
}

void vtpm_state_dir_free(struct vtpm_state_dir *sd)
{
	if (!sd)
		return;
	vtpm_state_dir_unlock(sd);
	close(sd->dir_fd);
	vtpm_state_key_unref(sd->key);
	free(sd->path);
	vtpm_ctx_unref(sd->ctx);
	free(sd);
}

static int file_name(const struct vtpm_state_dir *sd, const char *blob, char *buf, size_t size)
{
	int n = snprintf(buf, size, "tpm%s-00.%s", sd->version == VTPM_VERSION_2 ? "2" : "", blob);

	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

/* Only a crash between create and rename leaves temporaries behind. */
static void remove_stale_temps(struct vtpm_state_dir *sd)
{
	char name[NAME_MAX + 1];
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(sd->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		for (size_t i = 0; i < ARRAY_SIZE(blob_names); i++) {
			if (file_name(sd, blob_names[i], name, sizeof(name)) == 0 &&
			    vtpm_is_atomic_temp_of(de->d_name, name)) {
				unlinkat(sd->dir_fd, de->d_name, 0);
				break;
			}
		}
	}
	closedir(d);
}

int vtpm_state_dir_lock(struct vtpm_state_dir *sd)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	if (sd->lock_fd >= 0)
		return 0;
	fd = openat(sd->dir_fd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* An OFD lock conflicts with swtpm's POSIX lock on the same file. */
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0) {
		int r = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;

		close(fd);
		if (r == -EBUSY)
			err(sd->ctx, "state directory %s is in use by another TPM", sd->path);
		return r;
	}
	sd->lock_fd = fd;

	remove_stale_temps(sd);
	return 0;
}

void vtpm_state_dir_unlock(struct vtpm_state_dir *sd)
{
	if (sd->lock_fd < 0)
		return;
	close(sd->lock_fd);
	sd->lock_fd = -1;
}

bool vtpm_state_dir_is_locked(const struct vtpm_state_dir *sd)
{
	return sd->lock_fd >= 0;
}

void vtpm_state_dir_set_key(struct vtpm_state_dir *sd, struct vtpm_state_key *key)
{
	vtpm_state_key_unref(sd->key);
	sd->key = vtpm_state_key_ref(key);
}

static const char *decode_error(int r)
{
	switch (r) {
	case -ENOKEY:
		return "the state is encrypted and no key was given";
	case -EKEYREJECTED:
		return "the key does not open it (a wrong key, or damaged data)";
	case -EMEDIUMTYPE:
		return "the state is not encrypted, but a key was given";
	case -ENOTSUP:
		return "an old or migration-key encryption this library cannot read";
	case -EBADMSG:
		return "not a TPM state blob, or damaged";
	default:
		return strerror(-r);
	}
}

int vtpm_state_dir_load(struct vtpm_state_dir *sd, const char *blob, uint8_t **data, size_t *len)
{
	_cleanup_free_ uint8_t *file = NULL;
	char name[NAME_MAX + 1];
	size_t file_len;
	int r;

	r = file_name(sd, blob, name, sizeof(name));
	if (r < 0)
		return r;
	r = vtpm_read_file(sd->dir_fd, name, VTPM_STATE_FILE_MAX, &file, &file_len);
	if (r < 0) {
		if (r != -ENOENT)
			err(sd->ctx, "cannot read %s/%s: %s", sd->path, name, strerror(-r));
		return r;
	}
	r = vtpm_swtpm_file_decode(sd->key, file, file_len, data, len);
	OPENSSL_cleanse(file, file_len);
	if (r < 0)
		err(sd->ctx, "%s/%s: %s", sd->path, name, decode_error(r));
	return r;
}

int vtpm_state_dir_check(struct vtpm_state_dir *sd)
{
	for (size_t i = 0; i < ARRAY_SIZE(blob_names); i++) {
		uint8_t *data = NULL;
		size_t len = 0;
		int r = vtpm_state_dir_load(sd, blob_names[i], &data, &len);

		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		OPENSSL_cleanse(data, len);
		free(data);
	}
	return 0;
}

int vtpm_state_dir_store(struct vtpm_state_dir *sd, const char *blob, const uint8_t *data, size_t len)
{
	_cleanup_free_ uint8_t *file = NULL;
	char name[NAME_MAX + 1];
	size_t file_len;
	int r;

	r = file_name(sd, blob, name, sizeof(name));
	if (r < 0)
		return r;
	r = vtpm_swtpm_file_encode(sd->key, data, len, &file, &file_len);
	if (r < 0)
		return r;
	r = vtpm_write_file_atomic(sd->dir_fd, name, file, file_len);
	OPENSSL_cleanse(file, file_len);
	if (r < 0)
		err(sd->ctx, "cannot write %s/%s: %s", sd->path, name, strerror(-r));
	return r;
}

int vtpm_state_dir_remove(struct vtpm_state_dir *sd, const char *blob)
{
	char name[NAME_MAX + 1];
	int r;

	r = file_name(sd, blob, name, sizeof(name));
	if (r < 0)
		return r;
	if (unlinkat(sd->dir_fd, name, 0) < 0)
		return -errno;
	if (fsync(sd->dir_fd) < 0)
		return -errno;
	return 0;
}

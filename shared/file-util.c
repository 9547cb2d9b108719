/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash-safe whole-file replacement, bounded whole-file reads, directories. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"
#include "macro.h"

/* Between a file's name and the random suffix of its temporary files. */
#define TEMP_MARK ".tmp."

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Create "<name>.tmp.XXXXXX" exclusively; its name goes to @tmp. */
static int create_temp(int dir_fd, const char *name, mode_t mode, char *tmp, size_t size)
{
	for (unsigned int attempt = 0; attempt < 100; attempt++) {
		uint32_t suffix;
		int fd, n;

		if (getrandom(&suffix, sizeof(suffix), GRND_NONBLOCK) != sizeof(suffix))
			suffix = (uint32_t)getpid() * 2654435761u + attempt;
		n = snprintf(tmp, size, "%s" TEMP_MARK "%06x", name, suffix & 0xffffff);
		if (n < 0 || (size_t)n >= size)
			return -ENAMETOOLONG;
		fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd >= 0 || errno != EEXIST)
			return fd >= 0 ? fd : -errno;
	}
	return -EEXIST;
}

int vtpm_write_file_atomic_mode(int dir_fd, const char *name, const void *data, size_t len,
				mode_t mode)
{
	char tmp[NAME_MAX + 1];
	_cleanup_close_ int fd = -1;
	int r;

	fd = create_temp(dir_fd, name, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && renameat(dir_fd, tmp, dir_fd, name) < 0)
		r = -errno;
	if (r < 0) {
		unlinkat(dir_fd, tmp, 0);
		return r;
	}
	/* Make the rename itself durable. */
	if (fsync(dir_fd) < 0)
		return -errno;
	return 0;
}

int vtpm_write_file_atomic(int dir_fd, const char *name, const void *data, size_t len)
{
	return vtpm_write_file_atomic_mode(dir_fd, name, data, len, 0600);
}

int vtpm_write_file_atomic_path(const char *path, const void *data, size_t len, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int dir_fd = -1;
	const char *slash, *name;

	if (!copy)
		return -ENOMEM;
	slash = strrchr(copy, '/');
	if (slash == copy) {
		dir_fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		name = copy + 1;
	} else if (slash) {
		copy[slash - copy] = '\0';
		dir_fd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		name = slash + 1;
	} else {
		dir_fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		name = copy;
	}
	if (dir_fd < 0)
		return -errno;
	if (!*name)
		return -EISDIR;
	return vtpm_write_file_atomic_mode(dir_fd, name, data, len, mode);
}

int vtpm_is_atomic_temp_of(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 && strncmp(name + n, TEMP_MARK, strlen(TEMP_MARK)) == 0;
}

int vtpm_read_file(int dir_fd, const char *name, size_t max, uint8_t **data, size_t *len)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t got = 0;

	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EBADMSG;
	if ((uint64_t)st.st_size > max)
		return -EFBIG;

	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (!buf)
		return -ENOMEM;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break; /* shrank underneath us: take what is there */
		got += (size_t)n;
	}
	*data = TAKE_PTR(buf);
	*len = got;
	return 0;
}

void vtpm_remove_flat_dir(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
	rmdir(path);
}

int vtpm_dup_borrowed_fd(int fd)
{
	int dup;

	if (fd < 0)
		return -EBADF;
	dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	return dup < 0 ? -errno : dup;
}

int vtpm_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	struct stat st;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* Something else of that name is no directory for the caller. */
	if (stat(buf, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

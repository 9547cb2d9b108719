/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Whole-file reads and crash-safe whole-file replacement, shared by the
 * library and vtpmctl (state files, pid files, CDI specs, run directories).
 */
#ifndef VTPM_FILE_UTIL_H
#define VTPM_FILE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Replace @dir_fd/@name with @data in one step: write a new temporary file
 * "<name>.tmp.XXXXXX" in the same directory, fsync it, rename it over
 * @name, fsync the directory.  A crash leaves the old or the new content,
 * never a mix, and at worst a stray temporary file.  A new file gets
 * @mode (less the umask).  Never follows a symlink at @name.
 */
int vtpm_write_file_atomic_mode(int dir_fd, const char *name, const void *data, size_t len,
				mode_t mode);

/* The same with mode 0600. */
int vtpm_write_file_atomic(int dir_fd, const char *name, const void *data, size_t len);

/* The same for a path: its directory is opened for the rename and fsync. */
int vtpm_write_file_atomic_path(const char *path, const void *data, size_t len, mode_t mode);

/* Whether @name is a temporary file left by an interrupted write of @base. */
int vtpm_is_atomic_temp_of(const char *name, const char *base);

/* Read a whole regular file (at most @max bytes) into a malloc()ed buffer;
 * symlinks are refused (-ELOOP), other non-regular files give -EBADMSG. */
int vtpm_read_file(int dir_fd, const char *name, size_t max, uint8_t **data, size_t *len);

/*
 * A duplicate of a caller's @fd for an object to keep, since the library
 * borrows the fds it is given (libvtpm(3)): close-on-exec, above stdio.
 * Returns it; -EBADF for a negative or closed @fd; -EMFILE.
 */
int vtpm_dup_borrowed_fd(int fd);

/*
 * Create the directory @path with @mode (less the umask), and the missing
 * directories above it with 0755; existing ones are fine.  Returns 0;
 * -ENAMETOOLONG; -ENOTDIR if @path or a directory above it exists as
 * something else; or the errno of the mkdir(2) that failed.
 */
int vtpm_mkdir_p(const char *path, mode_t mode);

/* Remove the directory @path and the files in it (not subdirectories: a
 * directory holding any stays).  Missing is fine; errors are ignored. */
void vtpm_remove_flat_dir(const char *path);

#endif

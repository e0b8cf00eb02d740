/*
 * statefile.h - the root-owned files of the login modules: the map file, the
 * state directory (uid table, admin members) and the decision cache.
 * Every file is opened without following a final symbolic link, must be a
 * regular file owned by root (or the caller), not writable by group or
 * others, and is size-capped; every write goes to a temporary file renamed
 * over the old one, so readers (the NSS module, without locks) see either.
 */
#ifndef AZMI_STATEFILE_H
#define AZMI_STATEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/*
 * Read `path` (relative to `dirfd`, or absolute with AT_FDCWD) into a new
 * NUL-terminated buffer of at most `max` bytes.  `private_file`: also
 * refuse any group or other permission (decision cache).  Returns 0, or
 * -errno: -ENOENT missing, -ELOOP a symbolic link, -EINVAL not a regular
 * file, -EPERM wrong owner or mode, -EFBIG over `max`.
 */
AZMI_MUST_CHECK int sfile_read(int dirfd, const char *path, size_t max, bool private_file, char **out,
                               size_t *len);

/*
 * Open directory `path` (relative to `atfd`; O_DIRECTORY|O_NOFOLLOW), checking that it is owned
 * by root (or the caller) and not writable by group or others; with `create`
 * make it first when missing, and give a directory of ours exactly `mode`
 * (the one helper, fileio_dir_open: never the caller's umask).  Returns 0
 * and *fd, or -errno.
 */
AZMI_MUST_CHECK int sfile_dir_open(int atfd, const char *path, bool create, mode_t mode, int *fd);

/* Replace `name` in `dirfd` with `data` (mode `mode`): temporary file, fsync, rename.  0 or -errno. */
AZMI_MUST_CHECK int sfile_write(int dirfd, const char *name, mode_t mode, const char *data, size_t len);

/* Take an exclusive flock on `name` in `dirfd` (created 0600); *fd to close to release.  0 or -errno. */
AZMI_MUST_CHECK int sfile_lock(int dirfd, const char *name, int *fd);

/* The state directory (AZMI_STATEDIR), created 0755 when `create`.  0 and *fd, or -errno. */
AZMI_MUST_CHECK int sfile_state_dir(bool create, int *fd);

/*
 * A test's seam: another state directory (NULL: AZMI_STATEDIR again), so a
 * unit test can hold decisions without the machine's.  Nothing else calls it.
 */
void sfile_use_state_dir(const char *dir);

#endif

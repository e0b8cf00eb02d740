/* fileio.h - reading small files that hold secrets, and opening the directories azmi keeps state in. */
#ifndef AZMI_FILEIO_H
#define AZMI_FILEIO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/*
 * Read the whole regular file `path` (at most `max` bytes) into a new
 * NUL-terminated buffer; wipe it with explicit_bzero before freeing.
 * Symbolic links are followed only when `follow` (Kubernetes projects its
 * tokens through links).  Returns 0, or -errno: -ELOOP for a refused
 * link, -EINVAL for not a regular file, -EFBIG for a file over `max`.
 */
AZMI_MUST_CHECK int fileio_read(const char *path, size_t max, bool follow, char **out, size_t *len);

/*
 * The one way azmi opens (and with `create` makes) a directory of its own:
 * `path` relative to `atfd` (or absolute with AT_FDCWD), O_DIRECTORY and
 * O_NOFOLLOW.  A directory made here gets exactly `mode`, whatever the
 * caller's umask (inside sshd, su or sudo that umask is anyone's).  With
 * `repair`, an existing directory of the effective user whose mode differs
 * from `mode` is set to it.  Ownership and mode checks stay with the caller.
 * Returns 0 and *fd, or -errno (-ELOOP: a symbolic link or not a
 * directory).
 */
AZMI_MUST_CHECK int fileio_dir_open(int atfd, const char *path, mode_t mode, bool create, bool repair,
                                    int *fd);

#endif

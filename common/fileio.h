/* fileio.h - reading small files that hold secrets, safely and boundedly. */
#ifndef AZMI_FILEIO_H
#define AZMI_FILEIO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Read the whole regular file `path` (at most `max` bytes) into a new
 * NUL-terminated buffer; wipe it with explicit_bzero before freeing.
 * Symbolic links are followed only when `follow` (Kubernetes projects its
 * tokens through links).  Returns 0, or an errno value: ELOOP for a refused
 * link, EINVAL for not a regular file, EFBIG for a file over `max`.
 */
int fileio_read(const char *path, size_t max, bool follow, char **out, size_t *len);

#endif

/*
 * vm_cache.h - the machine's instance metadata (its scope) kept between
 * logins, so that a login does not ask IMDS every time.  One file, "vm.info",
 * in the effective user's private token cache directory (root: /run/azmi),
 * keyed by the metadata endpoint and kind (VM or Arc); used for at most
 * VM_CACHE_TTL seconds, never past it, and never when IMDS has failed (no
 * stale use: a login without a fresh answer fails closed as before).
 */
#ifndef AZMI_VM_CACHE_H
#define AZMI_VM_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rbac.h"

#define VM_CACHE_TTL       600 /* seconds */
#define VM_CACHE_MAX_BYTES 4096
#define VM_CACHE_FILE      "vm.info" /* a dot: not a token file name */

/*
 * Parse the file's text: exactly the lines vm_cache_format writes, for
 * endpoint `base` and kind `arc`, written no more than VM_CACHE_TTL seconds
 * before `now` (and not after it); the resource id must have the shape
 * vm_info_get accepts.  True with `out` filled; false for anything else.
 */
bool vm_cache_parse(const char *text, size_t len, const char *base, bool arc, int64_t now,
                    struct vm_info *out);

/* The file's text for `info` from `base` at `now` (malloc'd), or NULL. */
char *vm_cache_format(const struct vm_info *info, const char *base, int64_t now);

/* Load from directory `dirfd` (-1: nothing): the file must be a private regular file of ours. */
bool vm_cache_load(int dirfd, const char *base, bool arc, int64_t now, struct vm_info *out);

/* Replace the file in `dirfd` (temporary file, 0600, rename); failures are silent (it is a cache). */
void vm_cache_store(int dirfd, const struct vm_info *info, const char *base, int64_t now);

#endif

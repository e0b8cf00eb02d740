/*
 * cache_file.h - the cross-process token cache, shared by every process of
 * the same user (tokens are served until 5 minutes before expiry): one file per
 * (identity, resource) in a per-user directory (0700, owned by the user),
 * files 0600 written to a temporary name and renamed, a flock'd lock file per
 * key so that N processes starting cold cause one request.  Anything unsafe
 * or corrupt is ignored (and later replaced), never trusted.
 */
#ifndef AZMI_CACHE_FILE_H
#define AZMI_CACHE_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"
#include "cache_key.h"
#include "log.h"

#define CACHE_FILE_MAX_BYTES (64 * 1024)

struct file_cache {
	int dirfd; /* -1 when the cache is off */
	char *dir;
	const struct log_sink *log;
};

/*
 * Open (creating if needed) `dir`, or the per-user default when NULL
 * (cache_dir.h: /run/azmi for root; $XDG_RUNTIME_DIR/azmi, /tmp/azmi-<uid>
 * or ~/.cache/azmi, whichever is first private to the user).  An unsafe
 * directory turns the cache off with a warning; that is not an error.
 */
void file_cache_open(struct file_cache *fc, const char *dir, const struct log_sink *log);
void file_cache_close(struct file_cache *fc);
bool file_cache_enabled(const struct file_cache *fc);

/* The first choice of default directory for the effective user (malloc'd): /run/azmi or /tmp/azmi-<uid>. */
char *file_cache_default_dir(void);

/* The cached token for `k`, if a safe, well-formed, unexpired file holds one; else NULL. */
struct azmi_token *file_cache_load(struct file_cache *fc, const struct cache_key *k, int64_t now);

/* Lock `k` against other processes until monotonic `deadline_ms`; returns a descriptor or -1. */
int file_cache_lock(struct file_cache *fc, const struct cache_key *k, int64_t deadline_ms);
void file_cache_unlock(int lockfd);

/*
 * Write `tok` for `k` atomically.  A failure is logged here; the token is
 * still good, so callers go on without the cross-process copy.
 */
AZMI_MUST_CHECK azmi_err file_cache_store(struct file_cache *fc, const struct cache_key *k,
                                          const struct azmi_token *tok);

/*
 * Call `fn` with the key of every safe, well-formed, unexpired file of
 * `source` in the directory (at most CACHE_FILE_SCAN_MAX files are looked
 * at).  The key's strings live only during the call.  For listings, such as
 * the registries that have a cached refresh token.
 */
#define CACHE_FILE_SCAN_MAX 4096
typedef void file_cache_each_fn(void *userdata, const struct cache_key *k);
void file_cache_each(struct file_cache *fc, const char *source, int64_t now, file_cache_each_fn *fn,
                     void *userdata);

/* Parse a cache file's text for `k` (exposed for tests and fuzzing); NULL when invalid. */
struct azmi_token *file_cache_parse(const char *text, size_t len, const struct cache_key *k, int64_t now);

/* The file name for `k` (40 hex digits); `out` must hold 41 bytes. */
void file_cache_name(const struct cache_key *k, char out[41]);

#endif

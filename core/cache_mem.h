/*
 * cache_mem.h - the in-process token cache: thread-safe, with one fetch per
 * key however many threads ask (single flight).
 */
#ifndef AZMI_CACHE_MEM_H
#define AZMI_CACHE_MEM_H

#include <pthread.h>
#include <stdint.h>

#include "azmi.h"
#include "cache_key.h"

#define CACHE_MEM_BUCKETS         64
#define CACHE_MEM_MAX_ENTRIES     1024 /* bound: keys come from callers */
#define CACHE_RETRY_AFTER_FAILURE 30   /* seconds between refresh attempts once one failed */

struct mem_entry;

/* Wall-clock seconds since the epoch; the cache's only source of the time. */
typedef int64_t cache_clock_fn(void);

struct cache_mem {
	cache_clock_fn *now; /* util_now after cache_mem_init; tests may set their own */
	pthread_mutex_t lock;
	pthread_cond_t done;
	struct mem_entry *buckets[CACHE_MEM_BUCKETS];
	size_t count;
};

enum mem_result {
	MEM_HIT,   /* *tok is a token to use (fresh, or still valid while another thread refreshes) */
	MEM_FETCH, /* the caller must fetch, then call cache_mem_complete; *tok is a stale fallback or NULL */
	MEM_FAILED, /* the fetch this caller waited for failed; `err` says why */
};

int cache_mem_init(struct cache_mem *c);
void cache_mem_destroy(struct cache_mem *c);

/*
 * Look `k` up at wall time `now`.  Waits (until monotonic `deadline_ms`) while
 * another thread fetches a key that has no usable token.
 */
enum mem_result cache_mem_acquire(struct cache_mem *c, const struct cache_key *k, int64_t now,
                                  int64_t deadline_ms, struct azmi_token **tok, struct azmi_error *err);

/*
 * End a fetch begun by MEM_FETCH: store `tok` when not NULL (a new reference
 * is taken).  A failed fetch passes its `err` (tok may then be the stale
 * token still served): waiters learn why, and refreshes pause for 30 s from
 * c->now().
 */
void cache_mem_complete(struct cache_mem *c, const struct cache_key *k, struct azmi_token *tok,
                        const struct azmi_error *err);

/* The fresh token for `k`, referenced, or NULL: the lookup's fast path, which never waits or fetches. */
struct azmi_token *cache_mem_peek(struct cache_mem *c, const struct cache_key *k, int64_t now);

/* Store `tok` for `k` outside a fetch (after a --no-cache lookup). */
void cache_mem_put(struct cache_mem *c, const struct cache_key *k, struct azmi_token *tok);

#endif

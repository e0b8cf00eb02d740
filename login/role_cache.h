/*
 * role_cache.h - role definitions a context has read, kept for a few
 * minutes (they rarely change, and every login asks for the same few).
 */
#ifndef AZMI_ROLE_CACHE_H
#define AZMI_ROLE_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rbac_parse.h"

#define ROLE_CACHE_TTL 300 /* seconds */
#define ROLE_CACHE_MAX 128 /* definitions kept */

struct role_cache_entry {
	struct rbac_role role;
	int64_t expires; /* wall-clock seconds */
};

struct role_cache {
	pthread_mutex_t lock;
	struct role_cache_entry *items; /* ROLE_CACHE_MAX slots once used; NULL before */
	size_t count;
};

void role_cache_init(struct role_cache *c);
void role_cache_destroy(struct role_cache *c);

/* A cache on the heap (NULL when out of memory), and its release; for a context's slot. */
void *role_cache_new(void);
void role_cache_free(void *c);

/* Copy the unexpired definition `guid` (lower case) into *out; false when there is none (or c is NULL). */
bool role_cache_get(struct role_cache *c, const char *guid, int64_t now, struct rbac_role *out);

/*
 * Keep `role` until now + ROLE_CACHE_TTL, replacing an older copy, else the entry expiring first
 * (nothing when c is NULL).
 */
void role_cache_put(struct role_cache *c, const struct rbac_role *role, int64_t now);

#endif

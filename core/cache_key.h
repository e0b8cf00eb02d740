/* cache_key.h - what a cached token is for: identity and resource (the source is fixed per context). */
#ifndef AZMI_CACHE_KEY_H
#define AZMI_CACHE_KEY_H

#include <stdint.h>

#include "azmi.h"

struct cache_key {
	const char *source;
	enum azmi_id_kind kind; /* SYSTEM, CLIENT_ID, OBJECT_ID or RESOURCE_ID */
	const char *id;         /* NULL for SYSTEM */
	const char *resource;
};

/* A fast 64-bit hash of the key (not for files: see file_cache_name), for the in-process table. */
uint64_t cache_key_hash(const struct cache_key *k);

#endif

/*
 * ctx.h - the context behind struct azmi_ctx (private to the core and the libraries above it;
 * front ends get core/internal/frontend.h).
 */
#ifndef AZMI_CTX_H
#define AZMI_CTX_H

#include <stdatomic.h>

#include "azmi.h"
#include "cache_file.h"
#include "cache_mem.h"
#include "config.h"
#include "credential.h"
#include "frontend.h"
#include "log.h"
#include "source.h"

/*
 * Per-context data of the libraries above the core: the core frees it with
 * the context but never looks inside (the login library's role cache).
 */
enum ctx_slot { CTX_SLOT_LOGIN, CTX_SLOT_COUNT };

struct azmi_ctx {
	struct config_file config;
	struct settings settings;
	const struct source *mi_source; /* the managed-identity source detected */
	const char *mi_why;             /* why it was chosen */
	enum cred_id chain[CRED_COUNT];
	int nchain;
	atomic_int sticky; /* index in chain of the link that worked, -1 before one did */
	/*
	 * The cache key of a default request (no credential, no identity named)
	 * once the chain has settled, for the lookup's fast path.  fast_state:
	 * 0 unset, 1 being written, 2 ready.
	 */
	atomic_int fast_state;
	struct cache_key fast_key; /* resource unset */
	char *fast_id;
	struct cache_mem mem;
	struct file_cache files;
	bool files_opened;
	pthread_mutex_t files_lock; /* opening the cache directory once */
	struct log_sink log;
	/* Data a library above the core keeps per context (see ctx_slot()). */
	pthread_mutex_t slots_lock;
	void *slot[CTX_SLOT_COUNT];
	void (*slot_free[CTX_SLOT_COUNT])(void *data);
	/*
	 * Monotonic end of the current login decision, 0 when none: every
	 * Azure step (instance metadata, Graph, Resource Manager, the tenant's
	 * keys) shares it, so a slow Azure cannot stretch a login past `timeout`.
	 */
	int64_t deadline_ms;
};

/* The file cache, opened on first use (so that a context that never fetches touches no directory). */
struct file_cache *ctx_files(struct azmi_ctx *ctx);

/*
 * The data in `slot`, made by `make` on first use (NULL when it fails) and
 * released by `release` when the context is freed.
 */
void *ctx_slot(struct azmi_ctx *ctx, enum ctx_slot slot, void *(*make)(void), void (*release)(void *data));

#endif

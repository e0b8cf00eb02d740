/* cache_mem.c - in-process token cache with single flight. */
#include "cache_mem.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "error.h"
#include "token.h"
#include "util.h"

struct mem_entry {
	struct mem_entry *next;
	uint64_t hash;
	enum azmi_id_kind kind;
	char *id;
	char *resource;
	struct azmi_token *tok;
	int64_t hold_until; /* no refresh attempt before this (after a failure) */
	bool fetching;
	unsigned int generation; /* bumped at each completed fetch */
	struct azmi_error last_error;
	bool last_failed;
};

/* One multiply-xor round per 8 bytes: the lookup's hash is on every cached call's path. */
static uint64_t mix(uint64_t h, uint64_t v)
{
	h = (h ^ v) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
	size_t len = strlen(s);
	uint64_t v;

	for (; len >= 8; s += 8, len -= 8) {
		memcpy(&v, s, 8);
		h = mix(h, v);
	}
	v = 0;
	memcpy(&v, s, len);
	return mix(h, v ^ ((uint64_t)len << 56));
}

uint64_t cache_key_hash(const struct cache_key *k)
{
	uint64_t h = mix(0x243f6a8885a308d3ULL, (uint64_t)k->kind);

	h = hash_str(h, k->id ? k->id : "");
	return hash_str(h, k->resource);
}

int cache_mem_init(struct cache_mem *c)
{
	memset(c->buckets, 0, sizeof(c->buckets));
	c->count = 0;
	c->now = util_now;
	pthread_mutexattr_t attr;
	int r;

	/* Lookups hold the lock for a few dozen nanoseconds: spinning briefly beats sleeping. */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
	r = pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (r != 0)
		return -1;
	if (pthread_cond_init(&c->done, NULL) != 0) {
		pthread_mutex_destroy(&c->lock);
		return -1;
	}
	return 0;
}

static void entry_free(struct mem_entry *e)
{
	azmi_token_release(e->tok);
	free(e->id);
	free(e->resource);
	free(e);
}

void cache_mem_destroy(struct cache_mem *c)
{
	for (size_t i = 0; i < CACHE_MEM_BUCKETS; i++) {
		struct mem_entry *e = c->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			entry_free(e);
		}
		c->buckets[i] = NULL;
	}
	pthread_cond_destroy(&c->done);
	pthread_mutex_destroy(&c->lock);
}

static bool same_id(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static struct mem_entry *find(struct cache_mem *c, const struct cache_key *k, uint64_t h)
{
	for (struct mem_entry *e = c->buckets[h % CACHE_MEM_BUCKETS]; e; e = e->next)
		if (e->hash == h && e->kind == k->kind && strcmp(e->resource, k->resource) == 0 &&
		    same_id(e->id, k->id))
			return e;
	return NULL;
}

/* Find or add the entry; NULL when out of memory or the table is full. */
static struct mem_entry *find_or_add(struct cache_mem *c, const struct cache_key *k, uint64_t h)
{
	struct mem_entry *e = find(c, k, h);

	if (e || c->count >= CACHE_MEM_MAX_ENTRIES)
		return e;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->hash = h;
	e->kind = k->kind;
	e->resource = strdup(k->resource);
	e->id = k->id ? strdup(k->id) : NULL;
	if (e->resource == NULL || (k->id && e->id == NULL)) {
		entry_free(e);
		return NULL;
	}
	e->next = c->buckets[h % CACHE_MEM_BUCKETS];
	c->buckets[h % CACHE_MEM_BUCKETS] = e;
	c->count++;
	return e;
}

static void deadline_to_timespec(int64_t deadline_ms, struct timespec *ts)
{
	struct timespec now;
	int64_t left;

	/* The condition variable uses CLOCK_REALTIME; convert the monotonic deadline. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = deadline_ms - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000);
	if (left < 0)
		left = 0;
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += left / 1000;
	ts->tv_nsec += (left % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

enum mem_result cache_mem_acquire(struct cache_mem *c, const struct cache_key *k, int64_t now,
                                  int64_t deadline_ms, struct azmi_token **tok, struct azmi_error *err)
{
	uint64_t h = cache_key_hash(k);
	struct mem_entry *e;
	enum mem_result r;

	*tok = NULL;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		const struct expiry *x;

		e = find_or_add(c, k, h);
		if (e == NULL) {
			r = MEM_FETCH; /* no room to remember: fetch without single flight */
			break;
		}
		x = e->tok ? token_expiry(e->tok) : NULL;
		if (x && now < x->refresh_on) {
			*tok = token_ref(e->tok);
			r = MEM_HIT;
			break;
		}
		/* Due for refresh but still valid: someone else is on it, or a failure says wait. */
		if (x && now < x->stale_on && (e->fetching || now < e->hold_until)) {
			*tok = token_ref(e->tok);
			r = MEM_HIT;
			break;
		}
		if (!e->fetching) {
			e->fetching = true;
			*tok = x && now < x->stale_on ? token_ref(e->tok) : NULL;
			r = MEM_FETCH;
			break;
		}
		unsigned int gen = e->generation;
		struct timespec ts;
		deadline_to_timespec(deadline_ms, &ts);
		while (e->fetching && e->generation == gen) {
			if (pthread_cond_timedwait(&c->done, &c->lock, &ts) == ETIMEDOUT)
				break;
		}
		if (e->generation == gen) {
			err_set(err, AZMI_ERR_TIMEOUT, "cache", 0,
			        "timed out waiting for another thread's token request");
			r = MEM_FAILED;
			break;
		}
		if (e->last_failed && !(e->tok && now < token_expiry(e->tok)->stale_on)) {
			if (err)
				*err = e->last_error;
			r = MEM_FAILED;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return r;
}

static void store(struct mem_entry *e, struct azmi_token *tok)
{
	azmi_token_release(e->tok);
	e->tok = token_ref(tok);
	e->last_failed = false;
	e->hold_until = 0;
}

void cache_mem_complete(struct cache_mem *c, const struct cache_key *k, struct azmi_token *tok,
                        const struct azmi_error *err)
{
	struct mem_entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, k, cache_key_hash(k));
	if (e != NULL) {
		if (tok)
			store(e, tok);
		if (err) {
			e->last_failed = true;
			e->last_error = *err;
			e->hold_until = c->now() + CACHE_RETRY_AFTER_FAILURE;
		}
		e->fetching = false;
		e->generation++;
	}
	pthread_cond_broadcast(&c->done);
	pthread_mutex_unlock(&c->lock);
}

struct azmi_token *cache_mem_peek(struct cache_mem *c, const struct cache_key *k, int64_t now)
{
	uint64_t h = cache_key_hash(k);
	struct azmi_token *tok = NULL;
	struct mem_entry *e;

	pthread_mutex_lock(&c->lock);
	e = find(c, k, h);
	if (e && e->tok && now < token_expiry(e->tok)->refresh_on)
		tok = token_ref(e->tok);
	pthread_mutex_unlock(&c->lock);
	return tok;
}

void cache_mem_put(struct cache_mem *c, const struct cache_key *k, struct azmi_token *tok)
{
	struct mem_entry *e;

	pthread_mutex_lock(&c->lock);
	if ((e = find_or_add(c, k, cache_key_hash(k))) != NULL)
		store(e, tok);
	pthread_mutex_unlock(&c->lock);
}

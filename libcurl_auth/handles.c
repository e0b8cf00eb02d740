/* handles.c - the per-handle state table: a pointer-keyed chained hash under one mutex. */
#include "handles.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 256

static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct handle_state **buckets;
static size_t nbuckets;
static size_t count;

void handles_lock(void)
{
	pthread_mutex_lock(&table_mutex);
}

void handles_unlock(void)
{
	pthread_mutex_unlock(&table_mutex);
}

static size_t bucket_of(const CURL *h, size_t n)
{
	uint64_t x = (uint64_t)(uintptr_t)h;

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)(x & (n - 1));
}

/* Double the bucket array; on allocation failure keep the old one (chains just grow). */
static void grow(void)
{
	size_t n = nbuckets ? nbuckets * 2 : INITIAL_BUCKETS;
	struct handle_state **nb = calloc(n, sizeof(*nb));

	if (nb == NULL)
		return;
	for (size_t i = 0; i < nbuckets; i++) {
		struct handle_state *st = buckets[i], *next;
		for (; st != NULL; st = next) {
			size_t b = bucket_of(st->h, n);
			next = st->next;
			st->next = nb[b];
			nb[b] = st;
		}
	}
	free(buckets);
	buckets = nb;
	nbuckets = n;
}

struct handle_state *handles_find(CURL *h)
{
	struct handle_state *st;

	if (nbuckets == 0)
		return NULL;
	for (st = buckets[bucket_of(h, nbuckets)]; st != NULL; st = st->next)
		if (st->h == h)
			return st;
	return NULL;
}

struct handle_state *handles_get(CURL *h)
{
	struct handle_state *st = handles_find(h);
	size_t b;

	if (st != NULL)
		return st;
	if (count >= nbuckets)
		grow();
	if (nbuckets == 0)
		return NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return NULL;
	st->h = h;
	st->app_httpauth = CURLAUTH_BASIC;
	st->app_netrc = CURL_NETRC_IGNORED;
	st->app_verifypeer = 1;
	st->app_verifyhost = 2;
	b = bucket_of(h, nbuckets);
	st->next = buckets[b];
	buckets[b] = st;
	count++;
	return st;
}

struct handle_state *handles_take(CURL *h)
{
	struct handle_state **pp;

	if (nbuckets == 0)
		return NULL;
	for (pp = &buckets[bucket_of(h, nbuckets)]; *pp != NULL; pp = &(*pp)->next) {
		struct handle_state *st = *pp;
		if (st->h == h) {
			*pp = st->next;
			st->next = NULL;
			count--;
			return st;
		}
	}
	return NULL;
}

void handle_state_clear(struct handle_state *st, void (*slist_free)(struct curl_slist *))
{
	CURL *h = st->h;
	struct handle_state *next = st->next;

	free(st->url);
	free(st->app_redir_str);
	free(st->app_custom);
	if (st->own_headers != NULL && slist_free != NULL)
		slist_free(st->own_headers);
	memset(st, 0, sizeof(*st));
	st->h = h;
	st->next = next;
	st->app_httpauth = CURLAUTH_BASIC;
	st->app_netrc = CURL_NETRC_IGNORED;
	st->app_verifypeer = 1;
	st->app_verifyhost = 2;
}

void handle_state_free(struct handle_state *st, void (*slist_free)(struct curl_slist *))
{
	if (st == NULL)
		return;
	handle_state_clear(st, slist_free);
	free(st);
}

/* test_cache_mem.c - the in-process cache: hits, single flight, failures, stale tokens and hold-off. */
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cache_mem.h"
#include "error.h"
#include "token.h"
#include "util.h"

#define NTHREADS 8

static const struct cache_key key_a = {"imds", AZMI_ID_SYSTEM, NULL, "https://storage.azure.com"};
static const struct cache_key key_b = {"imds", AZMI_ID_SYSTEM, NULL, "https://vault.azure.net"};
static const struct cache_key key_a_user = {"imds", AZMI_ID_CLIENT_ID, "cid", "https://storage.azure.com"};
static const struct cache_key key_a_obj = {"imds", AZMI_ID_OBJECT_ID, "cid", "https://storage.azure.com"};

/* A token expiring at now+life with the given refresh and stale offsets. */
static struct azmi_token *make_token(const char *text, int64_t now, int64_t life, int64_t refresh_in,
                                     int64_t stale_in)
{
	struct expiry x = {now + life, now + refresh_in, now + stale_in};

	return token_new(text, strlen(text), &x, "https://storage.azure.com", "imds");
}

/*
 * The hold-off test's clock, far from the real one: a hold-off started from
 * the wall clock instead of c->now() would make its checks fail.
 */
static _Atomic int64_t fake_time;

static int64_t fake_now(void)
{
	return atomic_load(&fake_time);
}

static int setup(void **state)
{
	struct cache_mem *c = calloc(1, sizeof(*c));

	if (c == NULL || cache_mem_init(c) != 0)
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	cache_mem_destroy(*state);
	free(*state);
	return 0;
}

static int64_t deadline(int64_t ms)
{
	return util_mono_ms() + ms;
}

static void test_miss_then_hit(void **state)
{
	struct cache_mem *c = *state;
	int64_t now = (int64_t)time(NULL);
	struct azmi_token *tok = (struct azmi_token *)0x1,
	                  *fresh = make_token("fresh", now, 3600, 3300, 3300);
	struct azmi_error err = AZMI_ERROR_INIT;

	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_FETCH);
	assert_null(tok);
	cache_mem_complete(c, &key_a, fresh, NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(cache_mem_acquire(c, &key_a, now + i, deadline(1000), &tok, &err), MEM_HIT);
		assert_ptr_equal(tok, fresh);
		azmi_token_release(tok);
	}
	/* keys differ by resource, kind and id */
	assert_int_equal(cache_mem_acquire(c, &key_b, now, deadline(1000), &tok, &err), MEM_FETCH);
	assert_null(tok);
	cache_mem_complete(c, &key_b, NULL, NULL);
	assert_int_equal(cache_mem_acquire(c, &key_a_user, now, deadline(1000), &tok, &err), MEM_FETCH);
	cache_mem_complete(c, &key_a_user, NULL, NULL);
	assert_int_equal(cache_mem_acquire(c, &key_a_obj, now, deadline(1000), &tok, &err), MEM_FETCH);
	cache_mem_complete(c, &key_a_obj, NULL, NULL);
	/* the cache holds its own reference */
	azmi_token_release(fresh);
	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_HIT);
	assert_string_equal(tok->access_token, "fresh");
	azmi_token_release(tok);
}

/* Past refresh_on: one caller refreshes and gets the old token as a fallback; the rest keep using it. */
static void test_stale_served_while_fetching(void **state)
{
	struct cache_mem *c = *state;
	int64_t now = (int64_t)time(NULL);
	struct azmi_token *old = make_token("old", now, 1000, -10, 700), *tok, *newer;
	struct azmi_error err = AZMI_ERROR_INIT;
	int64_t t0;

	cache_mem_put(c, &key_a, old);
	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_FETCH);
	assert_ptr_equal(tok, old);
	azmi_token_release(tok);
	/* while that fetch runs, others get the still-valid token at once, without waiting */
	t0 = util_mono_ms();
	for (int i = 0; i < 5; i++) {
		assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(5000), &tok, &err), MEM_HIT);
		assert_ptr_equal(tok, old);
		azmi_token_release(tok);
	}
	assert_true(util_mono_ms() - t0 < 1000);
	newer = make_token("newer", now, 3600, 3300, 3300);
	cache_mem_complete(c, &key_a, newer, NULL);
	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_HIT);
	assert_ptr_equal(tok, newer);
	azmi_token_release(tok);
	azmi_token_release(newer);
	azmi_token_release(old);
}

/* Past stale_on the token is not served: the caller fetches with no fallback. */
static void test_stale_not_served(void **state)
{
	struct cache_mem *c = *state;
	int64_t now = (int64_t)time(NULL);
	struct azmi_token *old = make_token("old", now, 1000, 100, 700), *tok = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;

	cache_mem_put(c, &key_a, old);
	assert_int_equal(cache_mem_acquire(c, &key_a, now + 700, deadline(1000), &tok, &err), MEM_FETCH);
	assert_null(tok);
	/* someone else asking now waits, and times out if the fetch never ends */
	int64_t t0 = util_mono_ms();
	assert_int_equal(cache_mem_acquire(c, &key_a, now + 700, deadline(150), &tok, &err), MEM_FAILED);
	assert_null(tok);
	assert_int_equal(err.code, AZMI_ERR_TIMEOUT);
	assert_in_range(util_mono_ms() - t0, 100, 2000);
	cache_mem_complete(c, &key_a, NULL, NULL);
	azmi_token_release(old);
}

/* After a failed refresh with a valid token, no new attempt for 30 s; the token is served meanwhile. */
static void test_hold_off_after_failure(void **state)
{
	struct cache_mem *c = *state;
	const int64_t now = 4000000000; /* years from the wall clock: only c->now() can say it */
	struct azmi_token *old = make_token("old", now, 3000, -10, 2700), *tok;
	struct azmi_error err = AZMI_ERROR_INIT, fail = AZMI_ERROR_INIT;

	c->now = fake_now;
	atomic_store(&fake_time, now);
	cache_mem_put(c, &key_a, old);
	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_FETCH);
	assert_ptr_equal(tok, old);
	err_set(&fail, AZMI_ERR_ENDPOINT, "imds", 503, "IMDS answered 503");
	cache_mem_complete(c, &key_a, tok, &fail); /* the stale token, still served */
	azmi_token_release(tok);

	for (int dt = 0; dt < CACHE_RETRY_AFTER_FAILURE; dt += 7) {
		assert_int_equal(cache_mem_acquire(c, &key_a, now + dt, deadline(1000), &tok, &err), MEM_HIT);
		assert_ptr_equal(tok, old);
		azmi_token_release(tok);
	}
	/* 30 s on, one caller tries again */
	int64_t t = now + CACHE_RETRY_AFTER_FAILURE;
	assert_int_equal(cache_mem_acquire(c, &key_a, t, deadline(1000), &tok, &err), MEM_FETCH);
	assert_ptr_equal(tok, old);
	azmi_token_release(tok);
	/* a failure passing no token keeps the old one too, and starts a new hold-off at the clock's time */
	atomic_store(&fake_time, t + 100);
	cache_mem_complete(c, &key_a, NULL, &fail);
	t += 100;
	assert_int_equal(cache_mem_acquire(c, &key_a, t, deadline(1000), &tok, &err), MEM_HIT);
	assert_ptr_equal(tok, old);
	azmi_token_release(tok);
	assert_int_equal(
	    cache_mem_acquire(c, &key_a, t + CACHE_RETRY_AFTER_FAILURE - 1, deadline(1000), &tok, &err),
	    MEM_HIT);
	azmi_token_release(tok);
	assert_int_equal(
	    cache_mem_acquire(c, &key_a, t + CACHE_RETRY_AFTER_FAILURE, deadline(1000), &tok, &err),
	    MEM_FETCH);
	assert_ptr_equal(tok, old);
	azmi_token_release(tok);
	atomic_store(&fake_time, t + CACHE_RETRY_AFTER_FAILURE);
	cache_mem_complete(c, &key_a, NULL, &fail);
	/* once stale, the token goes and the hold-off with it */
	atomic_store(&fake_time, now + 2700);
	assert_int_equal(cache_mem_acquire(c, &key_a, now + 2700, deadline(1000), &tok, &err), MEM_FETCH);
	assert_null(tok);
	struct azmi_token *newer = make_token("newer", now + 2700, 3600, 3300, 3300);
	cache_mem_complete(c, &key_a, newer, NULL);
	assert_int_equal(cache_mem_acquire(c, &key_a, now + 2701, deadline(1000), &tok, &err), MEM_HIT);
	assert_ptr_equal(tok, newer);
	azmi_token_release(tok);
	azmi_token_release(newer);
	azmi_token_release(old);
}

/* A failure with no usable token: the next caller may try again at once (no token to serve). */
static void test_failure_without_token(void **state)
{
	struct cache_mem *c = *state;
	int64_t now = (int64_t)time(NULL);
	struct azmi_token *tok;
	struct azmi_error err = AZMI_ERROR_INIT, fail = AZMI_ERROR_INIT;

	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_FETCH);
	err_set(&fail, AZMI_ERR_REFUSED, "imds", 400, "identity not found");
	cache_mem_complete(c, &key_a, NULL, &fail);
	assert_int_equal(cache_mem_acquire(c, &key_a, now, deadline(1000), &tok, &err), MEM_FETCH);
	assert_null(tok);
	cache_mem_complete(c, &key_a, NULL, &fail);
}

/* ---- threads ----------------------------------------------------------------------------------- */

struct race {
	struct cache_mem *c;
	pthread_barrier_t start;
	atomic_int arrived; /* threads about to call acquire */
	atomic_int fetches;
	int64_t now;
	bool fail; /* the fetch fails */
	struct azmi_token *fetched;
	struct {
		enum mem_result r;
		struct azmi_token *tok;
		struct azmi_error err;
	} out[NTHREADS];
};

struct worker_arg {
	struct race *race;
	int index;
};

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct race *race = a->race;
	struct azmi_token *tok = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	enum mem_result r;

	pthread_barrier_wait(&race->start);
	atomic_fetch_add(&race->arrived, 1);
	r = cache_mem_acquire(race->c, &key_a, race->now, util_mono_ms() + 20000, &tok, &err);
	if (r == MEM_FETCH) {
		atomic_fetch_add(&race->fetches, 1);
		/* let every other thread reach its wait before the fetch ends */
		while (atomic_load(&race->arrived) < NTHREADS)
			util_sleep_ms(1);
		util_sleep_ms(200);
		if (race->fail) {
			struct azmi_error fail = AZMI_ERROR_INIT;
			err_set(&fail, AZMI_ERR_ENDPOINT, "imds", 500, "IMDS answered 500 (boom)");
			cache_mem_complete(race->c, &key_a, NULL, &fail);
			err = fail;
		} else {
			cache_mem_complete(race->c, &key_a, race->fetched, NULL);
			tok = token_ref(race->fetched);
		}
	}
	race->out[a->index].r = r;
	race->out[a->index].tok = tok;
	race->out[a->index].err = err;
	return NULL;
}

static void run_race(struct race *race)
{
	pthread_t th[NTHREADS];
	struct worker_arg args[NTHREADS];

	pthread_barrier_init(&race->start, NULL, NTHREADS);
	for (int i = 0; i < NTHREADS; i++) {
		args[i].race = race;
		args[i].index = i;
		assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&race->start);
}

/* N threads ask for the same key: exactly one fetches, the others wait and then hit. */
static void test_single_flight(void **state)
{
	struct race *race = calloc(1, sizeof(*race));
	int hits = 0;

	assert_non_null(race);
	race->c = *state;
	race->now = (int64_t)time(NULL);
	race->fetched = make_token("fetched-once", race->now, 3600, 3300, 3300);
	run_race(race);
	assert_int_equal(atomic_load(&race->fetches), 1);
	for (int i = 0; i < NTHREADS; i++) {
		if (race->out[i].r == MEM_HIT) {
			hits++;
			assert_ptr_equal(race->out[i].tok, race->fetched);
		} else {
			assert_int_equal(race->out[i].r, MEM_FETCH);
		}
		azmi_token_release(race->out[i].tok);
	}
	assert_int_equal(hits, NTHREADS - 1);
	azmi_token_release(race->fetched);
	free(race);
}

/* The fetch fails: every waiter learns why, through MEM_FAILED and the fetcher's error. */
static void test_failure_propagates(void **state)
{
	struct race *race = calloc(1, sizeof(*race));
	int failed = 0;

	assert_non_null(race);
	race->c = *state;
	race->now = (int64_t)time(NULL);
	race->fail = true;
	run_race(race);
	assert_int_equal(atomic_load(&race->fetches), 1);
	for (int i = 0; i < NTHREADS; i++) {
		assert_null(race->out[i].tok);
		if (race->out[i].r == MEM_FAILED) {
			failed++;
			assert_int_equal(race->out[i].err.code, AZMI_ERR_ENDPOINT);
			assert_int_equal(race->out[i].err.http_status, 500);
			assert_string_equal(race->out[i].err.source, "imds");
			assert_non_null(strstr(race->out[i].err.message, "boom"));
		} else {
			assert_int_equal(race->out[i].r, MEM_FETCH);
		}
	}
	assert_int_equal(failed, NTHREADS - 1);
	free(race);
}

/* Many threads, many keys, repeated: no crash, every answer is the right key's token. */
static void *churn(void *p)
{
	struct cache_mem *c = p;
	static const char *const res[] = {"r0", "r1", "r2", "r3"};

	for (int i = 0; i < 400; i++) {
		struct cache_key k = {"imds", AZMI_ID_SYSTEM, NULL, res[i % 4]};
		struct azmi_token *tok = NULL;
		struct azmi_error err = AZMI_ERROR_INIT;
		int64_t now = (int64_t)time(NULL);
		enum mem_result r = cache_mem_acquire(c, &k, now, util_mono_ms() + 10000, &tok, &err);

		if (r == MEM_FETCH) {
			struct expiry x = {now + 3600, now + (i % 3 == 0 ? -1 : 3300), now + 3300};
			struct azmi_token *fresh = token_new(res[i % 4], 2, &x, res[i % 4], "imds");
			azmi_token_release(tok);
			cache_mem_complete(c, &k, fresh, NULL);
			tok = fresh;
		}
		if (r != MEM_FAILED && (tok == NULL || strcmp(tok->access_token, res[i % 4]) != 0))
			return (void *)1;
		azmi_token_release(tok);
	}
	return NULL;
}

static void test_churn(void **state)
{
	pthread_t th[NTHREADS];

	for (int i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn, *state), 0);
	for (int i = 0; i < NTHREADS; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
}

/* Beyond CACHE_MEM_MAX_ENTRIES keys the cache stops remembering, but still answers. */
static void test_capacity(void **state)
{
	struct cache_mem *c = *state;
	int64_t now = (int64_t)time(NULL);
	struct azmi_token *tok = make_token("t", now, 3600, 3300, 3300), *got;
	struct azmi_error err = AZMI_ERROR_INIT;
	char res[32];

	for (int i = 0; i < CACHE_MEM_MAX_ENTRIES; i++) {
		snprintf(res, sizeof(res), "r%d", i);
		struct cache_key k = {"imds", AZMI_ID_SYSTEM, NULL, res};
		cache_mem_put(c, &k, tok);
	}
	struct cache_key extra = {"imds", AZMI_ID_SYSTEM, NULL, "one-too-many"};
	assert_int_equal(cache_mem_acquire(c, &extra, now, deadline(100), &got, &err), MEM_FETCH);
	cache_mem_complete(c, &extra, tok, NULL);
	cache_mem_put(c, &extra, tok);
	assert_int_equal(cache_mem_acquire(c, &extra, now, deadline(100), &got, &err), MEM_FETCH);
	/* the old keys are all still there */
	struct cache_key first = {"imds", AZMI_ID_SYSTEM, NULL, "r0"};
	assert_int_equal(cache_mem_acquire(c, &first, now, deadline(100), &got, &err), MEM_HIT);
	azmi_token_release(got);
	azmi_token_release(tok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_miss_then_hit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_served_while_fetching, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stale_not_served, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hold_off_after_failure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_without_token, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_single_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failure_propagates, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_churn, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capacity, setup, teardown),
	};

	return cmocka_run_group_tests_name("cache_mem", tests, NULL, NULL);
}

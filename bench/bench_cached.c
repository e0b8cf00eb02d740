/*
 * bench_cached.c - in-process cached lookups: azmi_get_token + azmi_token_release.
 *
 *   bench_cached [-r RESOURCE] [-t THREADS] [-m MILLISECONDS] [-n ROUNDS]
 *
 * Gets one token (from the file cache or the endpoint), then each of THREADS
 * threads asks for the same token in a loop, as a program would that calls
 * azmi before every request it makes.  Each round runs MILLISECONDS; the median
 * round is printed as one JSON object:
 *   {"threads":N,"rounds":R,"lookups_per_sec":X,"ns_per_lookup":Y,...}
 * ns_per_lookup is what one caller waits: a thread's time over its lookups.
 * lookups_per_sec adds up all threads.  Exit 1 when any lookup fails.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azmi.h"

#define MAX_THREADS 64
#define MAX_ROUNDS  50
#define BATCH       256 /* lookups between looks at the stop flag */

struct shared {
	struct azmi_ctx *ctx;
	struct azmi_request req;
	pthread_barrier_t start;
	atomic_bool stop;
	atomic_int failures;
};

struct worker {
	pthread_t thread;
	struct shared *sh;
	unsigned long long lookups;
	double seconds;
	struct azmi_error err;
};

struct round {
	double rate;    /* lookups per second, all threads */
	double ns_each; /* nanoseconds per lookup, as one caller sees it */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct shared *sh = w->sh;
	unsigned long long n = 0;
	double t0;

	pthread_barrier_wait(&sh->start);
	t0 = now_s();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		for (int i = 0; i < BATCH; i++) {
			struct azmi_token *tok;
			bool ok = azmi_get_token(sh->ctx, &sh->req, &tok, &w->err) == AZMI_OK &&
			          tok->access_token_len > 0;

			azmi_token_release(tok);
			if (!ok) {
				atomic_fetch_add(&sh->failures, 1);
				atomic_store(&sh->stop, true);
				break;
			}
		}
		n += BATCH;
	}
	w->seconds = now_s() - t0;
	w->lookups = n;
	return NULL;
}

static int run_round(struct shared *sh, int threads, double seconds, struct round *out)
{
	struct worker w[MAX_THREADS];
	struct timespec nap = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
	double total = 0, ns_sum = 0;

	memset(w, 0, sizeof(w));
	atomic_store(&sh->stop, false);
	if (pthread_barrier_init(&sh->start, NULL, (unsigned)threads + 1) != 0)
		return -1;
	for (int i = 0; i < threads; i++) {
		w[i].sh = sh;
		w[i].err.size = sizeof(w[i].err);
		if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
			fprintf(stderr, "bench_cached: cannot start thread %d\n", i);
			exit(1);
		}
	}
	pthread_barrier_wait(&sh->start);
	while (nanosleep(&nap, &nap) != 0 && errno == EINTR)
		;
	atomic_store(&sh->stop, true);
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].thread, NULL);
		total += (double)w[i].lookups / w[i].seconds;
		ns_sum += w[i].seconds * 1e9 / (double)w[i].lookups;
	}
	pthread_barrier_destroy(&sh->start);
	if (atomic_load(&sh->failures) > 0) {
		fprintf(stderr, "bench_cached: a lookup failed: %s\n", w[0].err.message);
		return -1;
	}
	out->rate = total;
	out->ns_each = ns_sum / threads;
	return 0;
}

static int by_ns(const void *a, const void *b)
{
	const struct round *x = a, *y = b;

	return (x->ns_each > y->ns_each) - (x->ns_each < y->ns_each);
}

static long parse_long(const char *s, long lo, long hi, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "bench_cached: %s must be a number from %ld to %ld\n", what, lo, hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	struct shared sh;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_token *tok;
	struct round rounds[MAX_ROUNDS];
	const char *resource = "https://storage.azure.com/";
	long threads = 1, rounds_n = 5;
	double seconds = 0.4;
	double t0;
	int c;

	while ((c = getopt(argc, argv, "r:t:m:n:")) != -1) {
		switch (c) {
		case 'r':
			resource = optarg;
			break;
		case 't':
			threads = parse_long(optarg, 1, MAX_THREADS, "-t");
			break;
		case 'm':
			seconds = (double)parse_long(optarg, 1, 60000, "-m") / 1000.0;
			break;
		case 'n':
			rounds_n = parse_long(optarg, 1, MAX_ROUNDS, "-n");
			break;
		default:
			fprintf(
			    stderr,
			    "usage: bench_cached [-r RESOURCE] [-t THREADS] [-m MILLISECONDS] [-n ROUNDS]\n");
			return 2;
		}
	}
	memset(&sh, 0, sizeof(sh));
	sh.req.size = sizeof(sh.req);
	if (azmi_ctx_new(&sh.ctx, NULL, &err) != AZMI_OK) {
		fprintf(stderr, "bench_cached: %s\n", err.message);
		return 1;
	}
	sh.req.resource = resource;
	t0 = now_s();
	if (azmi_get_token(sh.ctx, &sh.req, &tok, &err) != AZMI_OK) {
		fprintf(stderr, "bench_cached: first token: %s\n", err.message);
		azmi_ctx_free(sh.ctx);
		return 1;
	}
	t0 = now_s() - t0;
	azmi_token_release(tok);
	for (long i = 0; i < rounds_n; i++) {
		if (run_round(&sh, (int)threads, seconds, &rounds[i]) != 0) {
			azmi_ctx_free(sh.ctx);
			return 1;
		}
	}
	azmi_ctx_free(sh.ctx);
	qsort(rounds, (size_t)rounds_n, sizeof(rounds[0]), by_ns);
	printf("{\"libazmi\":\"%s\",\"threads\":%ld,\"rounds\":%ld,\"round_seconds\":%.3f,"
	       "\"first_token_ms\":%.3f,\"lookups_per_sec\":%.0f,\"ns_per_lookup\":%.2f,"
	       "\"ns_per_lookup_best\":%.2f,\"ns_per_lookup_worst\":%.2f}\n",
	       AZMI_VERSION, threads, rounds_n, seconds, t0 * 1e3, rounds[rounds_n / 2].rate,
	       rounds[rounds_n / 2].ns_each, rounds[0].ns_each, rounds[rounds_n - 1].ns_each);
	return 0;
}

/*
 * threads.c - many threads performing through the installed hooks at once.
 * Usage: threads CAFILE URL NTHREADS NREQUESTS
 * Each thread reuses one handle (a new one every 100 requests) and checks
 * that every answer from the echo server shows exactly one bearer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "testlib.h"

#include "azmi_curl.h"

static const char *cafile, *url;
static long nreq;

static void *worker(void *arg)
{
	long *bad = arg;
	struct body b;
	CURL *h = NULL;

	for (long i = 0; i < nreq; i++) {
		static const char want[] = "\"authorization\": [\"Bearer ";
		const char *a;
		if (i % 100 == 0) {
			curl_easy_cleanup(h);
			h = curl_easy_init();
			curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
			curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
			curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
		}
		curl_easy_setopt(h, CURLOPT_URL, url);
		b.len = 0;
		b.data[0] = '\0';
		a = NULL;
		if (curl_easy_perform(h) == CURLE_OK)
			a = strstr(b.data, want);
		if (a == NULL || strstr(a + sizeof(want) - 1, "Bearer") != NULL)
			(*bad)++;
	}
	curl_easy_cleanup(h);
	return NULL;
}

int main(int argc, char **argv)
{
	struct azmi_error err = AZMI_ERROR_INIT;
	pthread_t tids[64];
	long bad[64] = {0}, total_bad = 0;
	int n;

	if (argc != 5 || (n = (int)strtol(argv[3], NULL, 10)) < 1 || n > 64) {
		fprintf(stderr, "usage: threads CAFILE URL NTHREADS(1-64) NREQUESTS\n");
		return 2;
	}
	cafile = argv[1];
	url = argv[2];
	nreq = strtol(argv[4], NULL, 10);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (azmi_curl_install(&err) != AZMI_OK) {
		fprintf(stderr, "install: %s\n", err.message);
		return 1;
	}
	for (int i = 0; i < n; i++)
		pthread_create(&tids[i], NULL, worker, &bad[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(tids[i], NULL);
		total_bad += bad[i];
	}
	curl_global_cleanup();
	printf("threads: %ld requests, %ld without exactly one bearer\n", (long)n * nreq, total_bad);
	return total_bad ? 1 : 0;
}

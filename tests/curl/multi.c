/*
 * multi.c - a plain libcurl program (no azmi API) driving transfers through
 * the multi interface, run with the plug-in preloaded against the https echo
 * servers.  Each case changes a handle after curl_multi_add_handle, as an
 * event-loop program may, and checks what the servers saw.
 * Usage: multi CAFILE ARM_BASE OTHER_BASE IMPOSTOR_BASE
 *   ARM_BASE      https://management.azure.com:8443 (a host the plug-in serves)
 *   OTHER_BASE    https://other.example.com:9443 (a foreign host)
 *   IMPOSTOR_BASE https://management.azure.com:7443 (same name, certificate of another CA)
 * Prints "ok - name" or "FAIL - name" per check and exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "testlib.h"

static const char *cafile;

static CURL *new_handle(struct body *b, const char *url)
{
	CURL *h = curl_easy_init();

	b->len = 0;
	b->data[0] = '\0';
	curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	if (url != NULL)
		curl_easy_setopt(h, CURLOPT_URL, url);
	return h;
}

/* Run every handle added to `m` to completion; the result of the first one. */
static CURLcode run(CURLM *m)
{
	CURLcode first = CURLE_OK;
	int running = 1, left;
	CURLMsg *msg;

	while (running) {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && first == CURLE_OK)
			first = msg->data.result;
	return first;
}

/* The number of Authorization values the echo server reports in `b` (-1: no echo answer). */
static int auth_count(const struct body *b)
{
	const char *a = strstr(b->data, "\"authorization\": [");
	int n = 0;

	if (a == NULL)
		return -1;
	for (a += strlen("\"authorization\": ["); *a != ']' && *a != '\0'; a++)
		n += *a == '"';
	return n / 2;
}

static int server_is(const struct body *b, const char *name)
{
	char want[64];

	snprintf(want, sizeof(want), "\"server\": \"%s\"", name);
	return strstr(b->data, want) != NULL;
}

/* One handle through a fresh multi handle; `after_add` changes it between add and the first perform. */
static CURLcode one(CURL *h, void (*after_add)(CURL *, void *), void *arg)
{
	CURLM *m = curl_multi_init();
	CURLcode rc;

	curl_multi_add_handle(m, h);
	if (after_add != NULL)
		after_add(h, arg);
	rc = run(m);
	curl_multi_remove_handle(m, h);
	curl_multi_cleanup(m);
	return rc;
}

static void set_curlu_url(CURL *h, void *arg)
{
	(void)h;
	curl_url_set(((void **)arg)[0], CURLUPART_URL, ((void **)arg)[1], 0);
}

static void set_verifypeer_off(CURL *h, void *arg)
{
	(void)arg;
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
}

static void set_verify_on(CURL *h, void *arg)
{
	(void)arg;
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
}

static void set_unrestricted(CURL *h, void *arg)
{
	(void)arg;
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 1L);
}

static void set_url(CURL *h, void *arg)
{
	curl_easy_setopt(h, CURLOPT_URL, (const char *)arg);
}

struct prereq_seen {
	int calls;
	void *data;
};

static int app_prereq(void *clientp, char *pip, char *lip, int pport, int lport)
{
	struct prereq_seen *s = clientp;

	(void)pip;
	(void)lip;
	(void)pport;
	(void)lport;
	s->calls++;
	s->data = clientp;
	return CURL_PREREQFUNC_OK;
}

static int app_prereq_abort(void *clientp, char *pip, char *lip, int pport, int lport)
{
	(void)pip;
	(void)lip;
	(void)pport;
	(void)lport;
	(*(int *)clientp)++;
	return CURL_PREREQFUNC_ABORT;
}

static void set_app_prereq(CURL *h, void *arg)
{
	curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, app_prereq);
	curl_easy_setopt(h, CURLOPT_PREREQDATA, arg);
}

struct trace {
	char out[16384];
	size_t len;
};

static int app_debug(CURL *h, curl_infotype type, char *data, size_t size, void *clientp)
{
	struct trace *t = clientp;

	(void)h;
	if (type == CURLINFO_HEADER_OUT && size < sizeof(t->out) - 1 - t->len) {
		memcpy(t->out + t->len, data, size);
		t->len += size;
		t->out[t->len] = '\0';
	}
	return 0;
}

int main(int argc, char **argv)
{
	char arm[512], other[512], impostor[512], redirect[1200];
	struct body b, b2;
	CURL *h, *d;

	if (argc != 5) {
		fprintf(stderr, "usage: multi CAFILE ARM_BASE OTHER_BASE IMPOSTOR_BASE\n");
		return 2;
	}
	cafile = argv[1];
	snprintf(arm, sizeof(arm), "%s/multi/arm?api-version=2022-12-01", argv[2]);
	snprintf(other, sizeof(other), "%s/multi/other", argv[3]);
	snprintf(impostor, sizeof(impostor), "%s/multi/impostor", argv[4]);
	snprintf(redirect, sizeof(redirect), "%s/multi/redirect?to=%s", argv[2], other);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	/* The baseline: a token for ARM under the multi interface. */
	h = new_handle(&b, arm);
	check(one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1 && strstr(b.data, "Bearer ") != NULL,
	      "multi: the ARM request carries one bearer");
	curl_easy_cleanup(h);

	/* 1. The handle's CURLU is pointed at another host after the add. */
	{
		CURLU *u = curl_url();
		void *arg[2] = {u, other};
		curl_url_set(u, CURLUPART_URL, arm, 0);
		h = new_handle(&b, NULL);
		curl_easy_setopt(h, CURLOPT_CURLU, u);
		check(one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1,
		      "multi: CURLU handle carries a bearer");
		b.len = 0;
		b.data[0] = '\0';
		check(one(h, set_curlu_url, arg) == CURLE_OK && server_is(&b, "b") && auth_count(&b) == 0,
		      "multi: CURLU changed to another host after the add: that host gets no token");
		curl_url_set(u, CURLUPART_URL, arm, 0);
		b.len = 0;
		b.data[0] = '\0';
		check(one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1,
		      "multi: the same handle pointed back at ARM and added again carries a bearer");
		curl_easy_cleanup(h);
		curl_url_cleanup(u);
	}

	/* 2. TLS verification turned off after the add (an impostor with the right name). */
	h = new_handle(&b, impostor);
	check(one(h, NULL, NULL) == CURLE_PEER_FAILED_VERIFICATION,
	      "control: the impostor's certificate is refused with verification on");
	curl_easy_cleanup(h);
	h = new_handle(&b, impostor);
	check(one(h, set_verifypeer_off, NULL) == CURLE_OK && server_is(&b, "impostor") &&
	          auth_count(&b) == 0,
	      "multi: SSL_VERIFYPEER set to 0 after the add: the impostor gets no token");
	curl_easy_cleanup(h);

	/* Options set again to safe values after the add keep the token. */
	h = new_handle(&b, arm);
	check(one(h, set_verify_on, NULL) == CURLE_OK && auth_count(&b) == 1,
	      "multi: verification and UNRESTRICTED_AUTH 0 set again after the add: the bearer stays");
	curl_easy_cleanup(h);

	/* 3. UNRESTRICTED_AUTH and FOLLOWLOCATION set after the add, then a redirect to another host. */
	h = new_handle(&b, redirect);
	check(one(h, set_unrestricted, NULL) == CURLE_OK && server_is(&b, "b") && auth_count(&b) == 0,
	      "multi: UNRESTRICTED_AUTH after the add + redirect to another host: that host gets no token");
	curl_easy_cleanup(h);
	h = new_handle(&b, redirect);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	check(one(h, NULL, NULL) == CURLE_OK && server_is(&b, "b") && auth_count(&b) == 0,
	      "multi: redirect to another host (no UNRESTRICTED_AUTH): that host gets no token");
	curl_easy_cleanup(h);

	/* CURLOPT_URL changed after the add: decided again at the next add, nothing meanwhile. */
	h = new_handle(&b, arm);
	check(one(h, set_url, other) == CURLE_OK && server_is(&b, "b") && auth_count(&b) == 0,
	      "multi: CURLOPT_URL changed to another host after the add: that host gets no token");
	curl_easy_cleanup(h);

	/* The application's own pre-request callback and data are kept and called. */
	{
		struct prereq_seen s1 = {0, NULL}, s2 = {0, NULL};
		h = new_handle(&b, arm);
		set_app_prereq(h, &s1);
		check(one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1 && s1.calls == 1 &&
		          s1.data == &s1,
		      "the application's PREREQFUNCTION set before the add is called with its PREREQDATA");
		b.len = 0;
		check(one(h, set_app_prereq, &s2) == CURLE_OK && auth_count(&b) == 1 && s2.calls == 1 &&
		          s2.data == &s2 && s1.calls == 1,
		      "a PREREQFUNCTION/PREREQDATA set after the add replaces it, the token stays checked");
		curl_easy_cleanup(h);
	}
	{
		int aborted = 0;
		h = new_handle(&b, arm);
		curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, app_prereq_abort);
		curl_easy_setopt(h, CURLOPT_PREREQDATA, &aborted);
		check(one(h, NULL, NULL) == CURLE_ABORTED_BY_CALLBACK && aborted == 1 && b.len == 0,
		      "the application's PREREQFUNCTION can still abort the transfer");
		curl_easy_cleanup(h);
	}

	/* A duplicate of a handle carrying a token, sent elsewhere, carries nothing. */
	h = new_handle(&b, arm);
	check(one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1, "multi: the parent carries a bearer");
	d = curl_easy_duphandle(h);
	b2.len = 0;
	b2.data[0] = '\0';
	curl_easy_setopt(d, CURLOPT_WRITEDATA, &b2);
	curl_easy_setopt(d, CURLOPT_URL, other);
	check(one(d, NULL, NULL) == CURLE_OK && server_is(&b2, "b") && auth_count(&b2) == 0,
	      "multi: its duplicate pointed at another host carries nothing");
	curl_easy_cleanup(d);
	curl_easy_cleanup(h);

	/* Verbose output through the application's debug callback: the token is masked. */
	{
		static struct trace t;
		h = new_handle(&b, arm);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, app_debug);
		curl_easy_setopt(h, CURLOPT_DEBUGDATA, &t);
		check(one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1 &&
		          strstr(t.out, "Authorization: Bearer <hidden by azmi>") != NULL &&
		          strstr(t.out, "eyJ") == NULL && strstr(t.out, "GET /multi/arm") != NULL,
		      "CURLOPT_VERBOSE: the debug callback sees the request with the token hidden");
		curl_easy_cleanup(h);
	}

	/* Verbose output with no debug callback (libcurl writes it to CURLOPT_STDERR): masked too. */
	{
		static char text[32768];
		FILE *err = tmpfile();
		size_t n = 0;
		h = new_handle(&b, arm);
		curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(h, CURLOPT_STDERR, err);
		check(err != NULL && one(h, NULL, NULL) == CURLE_OK && auth_count(&b) == 1,
		      "CURLOPT_VERBOSE to CURLOPT_STDERR: the request carries a bearer");
		if (err != NULL) {
			rewind(err);
			n = fread(text, 1, sizeof(text) - 1, err);
			fclose(err);
		}
		text[n] = '\0';
		check(strstr(text, "> GET /multi/arm") != NULL &&
		          strstr(text, "Authorization: Bearer <hidden by azmi>") != NULL &&
		          strstr(text, "eyJ") == NULL,
		      "CURLOPT_VERBOSE to CURLOPT_STDERR: the token is hidden in libcurl's own output");
		curl_easy_cleanup(h);
	}

	curl_global_cleanup();
	return check_summary("multi");
}

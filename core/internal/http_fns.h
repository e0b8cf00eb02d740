/*
 * http_fns.h - how a front end steers the core's libcurl: the entry points it
 * calls, loading on first use, and an environment that is the caller's.
 */
#ifndef AZMI_HTTP_FNS_H
#define AZMI_HTTP_FNS_H

#include <stdbool.h>

#include <curl/curl.h>

/*
 * The libcurl entry points the core calls.  A program that interposes
 * libcurl (the LD_PRELOAD plug-in) replaces them with the real ones so that
 * the core's own requests never re-enter its hooks.
 */
struct http_curl_fns {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLcode (*global_init)(long flags);    /* optional */
	const char *(*easy_strerror)(CURLcode); /* optional */
};

/*
 * Use these libcurl entry points instead of loading libcurl (the preload
 * plug-in passes the process's own).  Call before any request.
 */
void http_set_curl_functions(const struct http_curl_fns *fns);

/*
 * Load libcurl (libcurl.so.4) on first use, once per process, unless
 * http_set_curl_functions came first.  Token lookups served from a cache
 * never need it, so processes that only read the cache never load it and
 * its thirty-odd dependencies.  Returns false when it cannot be loaded.
 */
bool http_global_init(void);

/*
 * The environment of this process is a caller's (pam_azmi inside su, sudo,
 * sshd): libcurl is then initialised without SSLKEYLOGFILE, as it always is
 * in a setuid or otherwise AT_SECURE process.  Call before the first request.
 */
void http_distrust_environment(void);

#endif

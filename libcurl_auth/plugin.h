/*
 * plugin.h - the decision shared by the preload hooks and the C API: does
 * this handle's next transfer carry a token, and which.  Also the real
 * libcurl entry points, the settings and the once-per-process warning.
 */
#ifndef AZMI_CURL_PLUGIN_H
#define AZMI_CURL_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "handles.h"
#include "hostrule.h"
#include "urlfacts.h"

/* libcurl as the application would reach it without the plug-in. */
struct real_curl {
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURL *(*easy_duphandle)(CURL *);
	void (*easy_reset)(CURL *);
	void (*easy_cleanup)(CURL *);
	CURL *(*easy_init)(void);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLU *(*url)(void);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(CURLU *, CURLUPart, char **, unsigned int);
	void (*url_cleanup)(CURLU *);
	void (*free)(void *);
	/* Optional (libcurl 7.84 and later): the registry's challenge under the multi interface. */
	CURLHcode (*header)(CURL *, const char *, size_t, unsigned int, int, struct curl_header **);
};

extern struct real_curl real;

/* Set while the plug-in itself calls into libcurl or the core: hooks then only forward. */
extern __thread int plugin_busy;

/* Resolve the real libcurl once; false when it cannot be found (hooks then fail). */
bool plugin_init(void);

/* True once the hooks attach tokens by themselves (preloaded, or azmi_curl_install()). */
bool plugin_installed(void);
void plugin_set_installed(void);

enum decision {
	DECIDE_NONE = 0, /* nothing attached: not ours, or the application brought credentials */
	DECIDE_ATTACHED, /* bearer token attached */
	DECIDE_NO_TOKEN, /* ours, but no token could be had (err filled) */
	DECIDE_REFUSED,  /* ours, but the handle would send it after a cross-origin redirect (err filled) */
};

/*
 * Decide for the next transfer of `h`: undo what the plug-in set before,
 * then attach a token when the URL (`url`, or the one the application set)
 * is https on an allow-listed host and the application brought no
 * credentials of its own (no user, password, bearer, SigV4 or Authorization
 * header; HTTPAUTH alone is a choice of methods, not a credential).  The
 * pre-request check (recheck.c) then keeps the token to that origin at every
 * request of the transfer; `multi` refuses the token when that check cannot
 * be installed.  Thread-safe.
 */
enum decision plugin_decide(CURL *h, const char *url, bool multi, struct azmi_error *err);

/* The scope for an absolute URL, or NULL (no https, no rule, or nothing attached there). */
const char *plugin_scope_for_url(const char *url);

/* True when AZMI_CURL_STRICT=1: a transfer that should carry a token fails without one. */
bool plugin_strict(void);

/* Write `line` (made printable) to stderr, the first time in this process only. */
void plugin_warn_once(const char *line);

/* Undo the plug-in's options on a handle (lock held); used by reset, dup and re-targeting. */
void plugin_detach(struct handle_state *st, CURL *h);

/*
 * Install the plug-in's PREREQFUNCTION (its data: the handle) and
 * DEBUGFUNCTION on `h` (lock held); the application's own stay recorded in
 * `st` and are called from them.  False when libcurl has no PREREQFUNCTION.
 */
bool plugin_hooks_on(struct handle_state *st, CURL *h);

/* The callbacks plugin_hooks_on() installs (recheck.c). */
int recheck_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port);
int recheck_debug(CURL *h, curl_infotype type, char *data, size_t size, void *clientp);

/* True when `line` is the header `name` ("Name: value", or "Name;" for an empty one). */
bool plugin_header_is(const char *line, const char *name);

/*
 * A duplicate `st` (of `h`) was made from a handle in state `parent`: put
 * back the application's options the parent's decision had replaced, so the
 * duplicate carries no token and no pointer to the parent's header copy.
 */
void plugin_clean_duplicate(const struct handle_state *parent, struct handle_state *st, CURL *h);

/* A bearer token must be one visible-ASCII word: anything else could split the header. */
bool plugin_token_ok(const struct azmi_token *tok);

enum acr_target {
	ACR_TARGET_NONE = 0, /* not a registry API call azmi answers */
	ACR_TARGET_YES,      /* GET/HEAD https://<registry>/v2/..., no credentials of the application's */
	ACR_TARGET_REFUSED,  /* such a call, but credentials would follow redirects to other hosts */
};

struct registry_target {
	char registry[HOSTRULE_MAX_HOST + 1]; /* lower case host */
	char origin[URLFACTS_MAX_ORIGIN];
	const struct hostrule *rule;
};

/*
 * Whether the next transfer of `h` is a container registry API call whose
 * 401 challenge azmi may answer (a host of a registry rule, https on port
 * 443, path /v2/..., GET or HEAD, TLS verified, no credentials of the
 * application's).  `t` gets the registry, its origin and its rule.
 */
enum acr_target plugin_acr_target(CURL *h, struct registry_target *t);

/*
 * Attach `tok` to `h` for the registry `t` with the same safety options as
 * any token (no cross-origin redirects, no netrc), or put it in place of the
 * placeholder of an armed handle; undone by the next decision.  False when
 * the handle is unknown, carries another token, or an option failed.
 */
bool plugin_attach(CURL *h, const struct registry_target *t, const struct azmi_token *tok);

/*
 * Multi interface: prepare `h` so that libcurl answers the registry's 401
 * with a repeat of the request, for which the pre-request check fetches the
 * token (recheck.c).  False when libcurl cannot do it (before 7.84).
 */
bool plugin_arm(CURL *h, const struct registry_target *t);

/* Install the strict-mode abort callback on `h` (lock held). */
void plugin_fail_transfer(struct handle_state *st, CURL *h);

#endif

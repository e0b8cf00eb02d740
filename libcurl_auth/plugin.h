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
 * credentials of its own.  Thread-safe.
 */
enum decision plugin_decide(CURL *h, const char *url, struct azmi_error *err);

/* The scope for an absolute URL, or NULL (no https, no rule, or nothing attached there). */
const char *plugin_scope_for_url(const char *url);

/* True when AZMI_CURL_STRICT=1: a transfer that should carry a token fails without one. */
bool plugin_strict(void);

/* Write `line` (made printable) to stderr, the first time in this process only. */
void plugin_warn_once(const char *line);

/* Undo the plug-in's options on a handle (lock held); used by reset, dup and re-targeting. */
void plugin_detach(struct handle_state *st, CURL *h);

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

/*
 * Whether the next transfer of `h` is a container registry API call whose
 * 401 challenge azmi may answer (a host of a registry rule, https on port
 * 443, path /v2/..., GET or HEAD, TLS verified, no credentials of the
 * application's).  `registry` gets the lower case host, `rule` the rule.
 */
enum acr_target plugin_acr_target(CURL *h, char *registry, size_t len, const struct hostrule **rule);

/*
 * Attach `tok` to `h` for `rule` with the same safety options as any token
 * (no cross-origin redirects, no netrc); undone by the next decision.
 * False when the handle is unknown, already carries a token, or an option failed.
 */
bool plugin_attach(CURL *h, const struct hostrule *rule, const struct azmi_token *tok);

/* Install the strict-mode abort callback on `h` (lock held). */
void plugin_fail_transfer(struct handle_state *st, CURL *h);

#endif

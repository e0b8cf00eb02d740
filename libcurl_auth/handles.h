/*
 * handles.h - what the plug-in knows about each easy handle: the URL and the
 * credential options the application set (through the setopt hook), and
 * what the plug-in itself changed on the handle so it can be undone.
 *
 * The table is process-wide; callers hold handles_lock() around every use
 * of a struct handle_state and never keep a pointer after unlocking.
 */
#ifndef AZMI_HANDLES_H
#define AZMI_HANDLES_H

#include <stdbool.h>
#include <stdio.h>

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK 1
#endif
#include <curl/curl.h>

#include "urlfacts.h"

struct handle_state {
	CURL *h;
	struct handle_state *next; /* hash chain */

	/* The application's settings, as seen through the setopt hook. */
	char *url;                      /* last CURLOPT_URL, copied */
	CURLU *curlu;                   /* last CURLOPT_CURLU (the application's object) */
	bool url_unknown;               /* a duplicate of a CURLU handle: the URL cannot be read safely */
	struct curl_slist *app_headers; /* CURLOPT_HTTPHEADER, not owned */
	bool app_userpwd, app_username, app_password, app_bearer, app_sigv4;
	long app_httpauth; /* CURLAUTH_BASIC is libcurl's default; a method choice, not a credential */
	long app_unrestricted_auth;
	long app_netrc;
	char *app_redir_str; /* CURLOPT_REDIR_PROTOCOLS_STR, copied; NULL if not set */
	long app_redir_mask; /* CURLOPT_REDIR_PROTOCOLS; 0 if not set */
	curl_prereq_callback app_prereq;
	void *app_prereq_data;
	curl_debug_callback app_debug;
	FILE *app_stderr;    /* CURLOPT_STDERR; NULL: stderr */
	long app_verifypeer; /* CURLOPT_SSL_VERIFYPEER, default 1 */
	long app_verifyhost; /* CURLOPT_SSL_VERIFYHOST, default 2 */

	/* The request's shape and output, for the challenge retry (GET and HEAD only). */
	bool app_upload, app_post, app_nobody;
	char *app_custom; /* CURLOPT_CUSTOMREQUEST, copied */
	curl_write_callback app_write_fn, app_header_fn;
	void *app_write_data, *app_header_data;
	bool app_write_data_set; /* libcurl's default WRITEDATA is stdout, not NULL */

	/* What the plug-in changed. */
	bool attached; /* bearer and safety options set on the handle */
	bool pending;  /* registry under multi: a placeholder bearer until the 401 challenge is answered */
	bool own_user; /* the plug-in set an empty CURLOPT_USERNAME (so -f lets the challenge through) */
	bool hooks_on; /* the plug-in's PREREQFUNCTION (its data: the handle) and DEBUGFUNCTION are set */
	bool fail;     /* strict mode: the transfer is aborted before its first request */
	unsigned requests;                    /* requests begun in the current transfer (pre-request calls) */
	struct curl_slist *own_headers;       /* the plug-in's copy of the header list, when installed */
	const struct hostrule *rule;          /* the rule of the attached token */
	char origin[URLFACTS_MAX_ORIGIN];     /* where the attached token may go: scheme://host:port */
	char registry[HOSTRULE_MAX_HOST + 1]; /* pending: the registry whose challenge is answered */
};

void handles_lock(void);
void handles_unlock(void);

/* The state for `h`, or NULL.  Lock held. */
struct handle_state *handles_find(CURL *h);

/* The state for `h`, created empty when missing; NULL when out of memory.  Lock held. */
struct handle_state *handles_get(CURL *h);

/* Remove and return the state for `h` (NULL if none); the caller frees it.  Lock held. */
struct handle_state *handles_take(CURL *h);

/* Clear everything the application set, as curl_easy_reset does.  Frees own_headers too. */
void handle_state_clear(struct handle_state *st, void (*slist_free)(struct curl_slist *));

/* Free a state taken from the table (accepts NULL). */
void handle_state_free(struct handle_state *st, void (*slist_free)(struct curl_slist *));

#endif

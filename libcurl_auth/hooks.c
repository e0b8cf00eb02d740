/*
 * hooks.c - the libcurl functions the plug-in interposes (LD_PRELOAD, or a
 * program linking libazmi_curl before libcurl).  Each one forwards to the
 * real libcurl; setopt records what the application set, and perform and
 * multi_add decide again, every time, whether the transfer carries a token.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "acr_retry.h"
#include "challenge_retry.h"

#define HOOK __attribute__((visibility("default")))

typedef void (*any_fn)(void);

/* Free a header copy whose list libcurl no longer points at. */
static void drop_own_headers(struct handle_state *st)
{
	if (st->own_headers != NULL) {
		real.slist_free_all(st->own_headers);
		st->own_headers = NULL;
	}
}

/* A URL change: a handle carrying a token loses it at once (the next decision may attach again). */
static void retarget(struct handle_state *st, CURL *h)
{
	st->url_unknown = false;
	plugin_detach(st, h);
}

/*
 * Options the decision reads or the plug-in sets: a change to any of them on
 * a handle that carries a token takes the token away (the next perform or
 * multi add decides again).
 */
static bool security_relevant(CURLoption opt)
{
	switch (opt) {
	case CURLOPT_URL:
	case CURLOPT_CURLU:
	case CURLOPT_HTTPHEADER:
	case CURLOPT_USERPWD:
	case CURLOPT_USERNAME:
	case CURLOPT_PASSWORD:
	case CURLOPT_XOAUTH2_BEARER:
	case CURLOPT_AWS_SIGV4:
	case CURLOPT_REDIR_PROTOCOLS_STR:
		return true;
	default:
		return false;
	}
}

/*
 * The same for the long options: those the plug-in sets itself (HTTPAUTH,
 * redirect protocols) always, the others when the value weakens what the
 * token relies on (a repeated "verify" or "no unrestricted auth" keeps it).
 */
static bool weakens(CURLoption opt, long v)
{
	switch (opt) {
	case CURLOPT_HTTPAUTH:
	case CURLOPT_REDIR_PROTOCOLS:
		return true;
	case CURLOPT_UNRESTRICTED_AUTH:
		return v != 0;
	case CURLOPT_NETRC:
		return v != CURL_NETRC_IGNORED;
	case CURLOPT_SSL_VERIFYPEER:
	case CURLOPT_SSL_VERIFYHOST:
		return v == 0;
	default:
		return false;
	}
}

static void track_long(CURL *h, CURLoption opt, long v)
{
	struct handle_state *st;

	switch (opt) {
	case CURLOPT_HTTPAUTH:
	case CURLOPT_UNRESTRICTED_AUTH:
	case CURLOPT_NETRC:
	case CURLOPT_REDIR_PROTOCOLS:
	case CURLOPT_SSL_VERIFYPEER:
	case CURLOPT_SSL_VERIFYHOST:
	case CURLOPT_UPLOAD:
	case CURLOPT_POST:
	case CURLOPT_NOBODY:
	case CURLOPT_HTTPGET:
		break;
	default:
		return;
	}
	handles_lock();
	st = handles_get(h);
	if (st != NULL) {
		if (opt == CURLOPT_HTTPAUTH)
			st->app_httpauth = v;
		else if (opt == CURLOPT_UNRESTRICTED_AUTH)
			st->app_unrestricted_auth = v;
		else if (opt == CURLOPT_NETRC)
			st->app_netrc = v;
		else if (opt == CURLOPT_SSL_VERIFYPEER)
			st->app_verifypeer = v;
		else if (opt == CURLOPT_SSL_VERIFYHOST)
			st->app_verifyhost = v;
		else if (opt == CURLOPT_UPLOAD)
			st->app_upload = v != 0;
		else if (opt == CURLOPT_POST)
			st->app_post =
			    st->app_post || v != 0; /* sticky until HTTPGET: no retry when unsure */
		else if (opt == CURLOPT_NOBODY)
			st->app_nobody = v != 0;
		else if (opt == CURLOPT_HTTPGET) {
			if (v != 0)
				st->app_upload = st->app_post = st->app_nobody = false;
		} else {
			st->app_redir_mask = v;
			free(st->app_redir_str);
			st->app_redir_str = NULL;
		}
		if (weakens(opt, v))
			plugin_detach(st, h); /* the token's safety options may just have been overwritten */
	}
	handles_unlock();
}

/* Replace *dst by a copy of src (NULL allowed); false when out of memory. */
static bool copy_string(char **dst, const char *src)
{
	char *c = src ? strdup(src) : NULL;

	if (src != NULL && c == NULL)
		return false;
	free(*dst);
	*dst = c;
	return true;
}

/* The pointer options recorded: the security-relevant ones and those the
 * plug-in needs to stay transparent (method, body, write and header data). */
static bool tracked_pointer(CURLoption opt)
{
	if (security_relevant(opt))
		return true;
	switch (opt) {
	case CURLOPT_CUSTOMREQUEST:
	case CURLOPT_POSTFIELDS:
	case CURLOPT_COPYPOSTFIELDS:
	case CURLOPT_HTTPPOST:
	case CURLOPT_MIMEPOST:
	case CURLOPT_WRITEDATA:
	case CURLOPT_HEADERDATA:
	case CURLOPT_STDERR:
		return true;
	default:
		return false;
	}
}

static void track_pointer(CURL *h, CURLoption opt, void *p)
{
	struct handle_state *st;

	if (!tracked_pointer(opt))
		return;
	handles_lock();
	st = handles_get(h);
	if (st == NULL) {
		handles_unlock();
		return;
	}
	switch (opt) {
	case CURLOPT_URL:
		if (!copy_string(&st->url, p))
			st->url_unknown = true; /* fail closed: no token until a URL is known */
		else
			st->url_unknown = false;
		retarget(st, h);
		break;
	case CURLOPT_CURLU:
		st->curlu = p;
		retarget(st, h);
		break;
	case CURLOPT_HTTPHEADER:
		st->app_headers = p;
		drop_own_headers(st); /* libcurl now points at the application's list */
		break;
	case CURLOPT_USERPWD:
		st->app_userpwd = p != NULL;
		break;
	case CURLOPT_USERNAME:
		st->app_username = p != NULL;
		break;
	case CURLOPT_PASSWORD:
		st->app_password = p != NULL;
		break;
	case CURLOPT_XOAUTH2_BEARER:
		st->app_bearer = p != NULL;
		break;
	case CURLOPT_AWS_SIGV4:
		st->app_sigv4 = p != NULL;
		break;
	case CURLOPT_CUSTOMREQUEST:
		if (!copy_string(&st->app_custom, p))
			st->app_post = true; /* unknown method: never retried */
		break;
	case CURLOPT_POSTFIELDS:
	case CURLOPT_COPYPOSTFIELDS:
	case CURLOPT_HTTPPOST:
	case CURLOPT_MIMEPOST:
		st->app_post = st->app_post || p != NULL;
		break;
	case CURLOPT_WRITEDATA:
		st->app_write_data = p;
		st->app_write_data_set = true;
		break;
	case CURLOPT_HEADERDATA:
		st->app_header_data = p;
		break;
	case CURLOPT_STDERR:
		st->app_stderr = p;
		break;
	default: /* CURLOPT_REDIR_PROTOCOLS_STR */
		if (copy_string(&st->app_redir_str, p))
			st->app_redir_mask = 0;
		break;
	}
	if (security_relevant(opt))
		plugin_detach(st, h);
	handles_unlock();
}

static void track_function(CURL *h, CURLoption opt, any_fn fn)
{
	struct handle_state *st;

	if (opt != CURLOPT_WRITEFUNCTION && opt != CURLOPT_HEADERFUNCTION)
		return;
	handles_lock();
	st = handles_get(h);
	if (st != NULL && opt == CURLOPT_WRITEFUNCTION)
		st->app_write_fn = (curl_write_callback)fn;
	else if (st != NULL)
		st->app_header_fn = (curl_write_callback)fn;
	handles_unlock();
}

/*
 * The application's pre-request and debug callbacks: recorded, and passed
 * to libcurl only while the plug-in's own are not installed (those call the
 * application's).  True when the option must not reach libcurl.
 */
static bool keep_own_callback(CURL *h, CURLoption opt, void *p, any_fn fn)
{
	struct handle_state *st;
	bool mine = false;

	if (opt != CURLOPT_PREREQFUNCTION && opt != CURLOPT_PREREQDATA && opt != CURLOPT_DEBUGFUNCTION)
		return false;
	handles_lock();
	st = handles_get(h);
	if (st != NULL) {
		if (opt == CURLOPT_PREREQFUNCTION)
			st->app_prereq = (curl_prereq_callback)fn;
		else if (opt == CURLOPT_PREREQDATA)
			st->app_prereq_data = p;
		else
			st->app_debug = (curl_debug_callback)fn;
		mine = st->hooks_on;
	}
	handles_unlock();
	return mine;
}

HOOK CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	CURLcode rc;
	va_list ap;

	if (!plugin_init())
		return CURLE_FAILED_INIT;
	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT) {
		long v = va_arg(ap, long);
		rc = real.easy_setopt(h, opt, v);
		if (rc == CURLE_OK && !plugin_busy)
			track_long(h, opt, v);
	} else if (opt < CURLOPTTYPE_FUNCTIONPOINT) {
		void *p = va_arg(ap, void *);
		if (!plugin_busy && h != NULL && keep_own_callback(h, opt, p, NULL)) {
			rc = CURLE_OK;
		} else {
			rc = real.easy_setopt(h, opt, p);
			if (rc == CURLE_OK && !plugin_busy)
				track_pointer(h, opt, p);
		}
	} else if (opt < CURLOPTTYPE_OFF_T) {
		any_fn fn = va_arg(ap, any_fn);
		if (!plugin_busy && h != NULL && keep_own_callback(h, opt, NULL, fn)) {
			rc = CURLE_OK;
		} else {
			rc = real.easy_setopt(h, opt, fn);
			if (rc == CURLE_OK && !plugin_busy)
				track_function(h, opt, fn);
		}
	} else if (opt < CURLOPTTYPE_BLOB) {
		curl_off_t v = va_arg(ap, curl_off_t);
		rc = real.easy_setopt(h, opt, v);
	} else {
		void *p = va_arg(ap, void *);
		rc = real.easy_setopt(h, opt, p);
	}
	va_end(ap);
	return rc;
}

/* The decision before a transfer starts; false when strict mode must fail it. */
static bool before_transfer(CURL *h, bool multi)
{
	struct azmi_error err = AZMI_ERROR_INIT;
	enum decision d;

	if (plugin_busy || h == NULL)
		return true;
	if (!plugin_installed()) {
		/* Only handles azmi_curl_prepare() gave a token: check it still belongs (CURLU edits, ...). */
		struct handle_state *st;
		bool attached;
		handles_lock();
		st = handles_find(h);
		attached = st != NULL && st->attached;
		handles_unlock();
		if (!attached)
			return true;
	}
	d = plugin_decide(h, NULL, multi, &err);
	if (d == DECIDE_NONE && multi)
		acr_arm_multi(h); /* a registry's challenge is answered before libcurl repeats the request */
	if (d != DECIDE_NO_TOKEN && d != DECIDE_REFUSED)
		return true;
	plugin_warn_once(err.message);
	if (!plugin_strict())
		return true;
	if (multi) {
		struct handle_state *st;
		handles_lock();
		st = handles_find(h);
		if (st != NULL)
			plugin_fail_transfer(st, h);
		handles_unlock();
	}
	return false;
}

/*
 * The handle this thread is performing: libcurl's curl_easy_perform adds it to
 * an internal multi handle through the exported curl_multi_add_handle, which
 * reaches our hook; the decision was made a moment ago and must not run twice.
 */
static __thread CURL *performing;

HOOK CURLcode curl_easy_perform(CURL *h)
{
	CURLcode rc;
	CURL *outer = performing;

	if (!plugin_init())
		return CURLE_FAILED_INIT;
	if (!before_transfer(h, false))
		return CURLE_AUTH_ERROR;
	if (!plugin_busy && acr_retry_perform(h, &rc))
		return rc;
	if (!plugin_busy && challenge_retry_wanted(h))
		return challenge_retry_perform(h);
	performing = h;
	rc = real.easy_perform(h);
	performing = outer;
	return rc;
}

HOOK CURLMcode curl_multi_add_handle(CURLM *m, CURL *h)
{
	if (!plugin_init())
		return CURLM_INTERNAL_ERROR;
	if (h != performing)
		before_transfer(h, true); /* strict mode fails the transfer through its prereq callback */
	return real.multi_add_handle(m, h);
}

/* Copy the application's settings of `st` into the new state `ns`; false when out of memory. */
static bool copy_app_settings(const struct handle_state *st, struct handle_state *ns)
{
	ns->url_unknown = st->url_unknown || st->curlu != NULL; /* libcurl may or may not share the CURLU */
	if (!ns->url_unknown && st->url != NULL && (ns->url = strdup(st->url)) == NULL)
		ns->url_unknown = true;
	if (st->app_redir_str != NULL && (ns->app_redir_str = strdup(st->app_redir_str)) == NULL)
		return false;
	if (st->app_custom != NULL && (ns->app_custom = strdup(st->app_custom)) == NULL)
		return false;
	ns->app_upload = st->app_upload;
	ns->app_post = st->app_post;
	ns->app_nobody = st->app_nobody;
	ns->app_write_fn = st->app_write_fn;
	ns->app_header_fn = st->app_header_fn;
	ns->app_write_data = st->app_write_data;
	ns->app_header_data = st->app_header_data;
	ns->app_write_data_set = st->app_write_data_set;
	ns->app_headers = st->app_headers;
	ns->app_userpwd = st->app_userpwd;
	ns->app_username = st->app_username;
	ns->app_password = st->app_password;
	ns->app_bearer = st->app_bearer;
	ns->app_sigv4 = st->app_sigv4;
	ns->app_httpauth = st->app_httpauth;
	ns->app_unrestricted_auth = st->app_unrestricted_auth;
	ns->app_netrc = st->app_netrc;
	ns->app_redir_mask = st->app_redir_mask;
	ns->app_prereq = st->app_prereq;
	ns->app_prereq_data = st->app_prereq_data;
	ns->app_debug = st->app_debug;
	ns->app_stderr = st->app_stderr;
	ns->app_verifypeer = st->app_verifypeer;
	ns->app_verifyhost = st->app_verifyhost;
	return true;
}

HOOK CURL *curl_easy_duphandle(CURL *h)
{
	struct handle_state *st, *ns;
	CURL *n;

	if (!plugin_init())
		return NULL;
	n = real.easy_duphandle(h);
	if (n == NULL || plugin_busy)
		return n;
	handles_lock();
	st = handles_find(h);
	if (st != NULL) {
		ns = handles_get(n);
		if (ns == NULL || !copy_app_settings(st, ns)) {
			/* Out of memory: the duplicate must not keep a token it cannot be tracked for. */
			handle_state_free(handles_take(n), NULL);
			handles_unlock();
			real.easy_cleanup(n);
			return NULL;
		}
		plugin_clean_duplicate(st, ns, n);
	}
	handles_unlock();
	return n;
}

HOOK void curl_easy_reset(CURL *h)
{
	struct handle_state *st;

	if (!plugin_init())
		return;
	real.easy_reset(h);
	handles_lock();
	st = handles_find(h);
	if (st != NULL)
		handle_state_clear(st, real.slist_free_all);
	handles_unlock();
}

HOOK void curl_easy_cleanup(CURL *h)
{
	struct handle_state *st;

	if (!plugin_init())
		return;
	real.easy_cleanup(h);
	handles_lock();
	st = handles_take(h);
	handles_unlock();
	handle_state_free(st, real.slist_free_all);
}

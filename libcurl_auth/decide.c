/*
 * decide.c - whether the next transfer of a handle carries a token, and
 * setting or undoing the options that carry it.  Every decision starts by
 * undoing the previous one, so a reused, re-targeted or reset handle never
 * keeps a token it should not have.
 */
#include "plugin.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "plugin_settings.h"
#include "urlfacts.h"
#include "util.h"

/* The default of CURLOPT_REDIR_PROTOCOLS in libcurl 7.65.2 and later. */
#define REDIR_DEFAULT "http,https,ftp,ftps"

/* What the decision needs from the handle state, copied out under the lock. */
struct plan {
	char *url;
	bool creds;        /* the application brought its own credentials */
	bool unrestricted; /* credentials would follow redirects to other hosts */
	bool insecure;     /* TLS verification is off */
};

/* True when `line` is the header `name` ("Name: value", or "Name;" for an empty one). */
bool plugin_header_is(const char *line, const char *name)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0)
		return false;
	line += n;
	while (*line == ' ' || *line == '\t')
		line++;
	return *line == ':' || *line == ';';
}

static bool has_header(const struct curl_slist *l, const char *name)
{
	for (; l != NULL; l = l->next)
		if (l->data != NULL && plugin_header_is(l->data, name))
			return true;
	return false;
}

/* The rule that gives this URL a token, or NULL (not https, no rule, or a rule that attaches nothing). */
static const struct hostrule *url_rule(const char *url, struct url_facts *f)
{
	if (!url_inspect(url, f) || !f->https || f->rule == NULL)
		return NULL;
	if (f->rule->kind == HOSTRULE_NONE || f->rule->kind == HOSTRULE_ACR || f->rule->scope == NULL)
		return NULL;
	return f->rule;
}

const char *plugin_scope_for_url(const char *url)
{
	struct url_facts f;
	const struct hostrule *rule;

	if (!plugin_init())
		return NULL;
	plugin_busy++;
	rule = url_rule(url, &f);
	plugin_busy--;
	return rule ? rule->scope : NULL;
}

/* Put back the application's values of every option the plug-in sets. */
static void restore_options(const struct handle_state *st, CURL *h, bool headers)
{
	if (!st->app_bearer)
		real.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, (char *)NULL);
	if (st->own_user && !st->app_username)
		real.easy_setopt(h, CURLOPT_USERNAME, (char *)NULL);
	real.easy_setopt(h, CURLOPT_HTTPAUTH, st->app_httpauth);
	real.easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, st->app_unrestricted_auth);
	real.easy_setopt(h, CURLOPT_NETRC, st->app_netrc);
	if (st->app_redir_mask != 0)
		real.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, st->app_redir_mask);
	else
		real.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR,
		                 st->app_redir_str ? st->app_redir_str : REDIR_DEFAULT);
	if (headers)
		real.easy_setopt(h, CURLOPT_HTTPHEADER, st->app_headers);
}

void plugin_detach(struct handle_state *st, CURL *h)
{
	st->fail = false;
	if (!st->attached)
		return;
	restore_options(st, h, st->own_headers != NULL);
	if (st->own_headers != NULL) {
		real.slist_free_all(st->own_headers);
		st->own_headers = NULL;
	}
	st->attached = false;
	st->pending = false;
	st->own_user = false;
	st->rule = NULL;
	st->origin[0] = '\0';
	st->registry[0] = '\0';
}

void plugin_clean_duplicate(const struct handle_state *parent, struct handle_state *st, CURL *h)
{
	if (parent->hooks_on) {
		/* libcurl copied the plug-in's callbacks, and the parent as their data. */
		real.easy_setopt(h, CURLOPT_PREREQFUNCTION, st->app_prereq);
		real.easy_setopt(h, CURLOPT_PREREQDATA, st->app_prereq_data);
		real.easy_setopt(h, CURLOPT_DEBUGFUNCTION, st->app_debug);
	}
	if (parent->attached) {
		st->own_user = parent->own_user; /* what restore_options must undo */
		restore_options(st, h, parent->own_headers != NULL);
		st->own_user = false;
	}
}

bool plugin_hooks_on(struct handle_state *st, CURL *h)
{
	if (st->hooks_on)
		return true;
	if (real.easy_setopt(h, CURLOPT_PREREQDATA, (void *)h) != CURLE_OK ||
	    real.easy_setopt(h, CURLOPT_PREREQFUNCTION, recheck_prereq) != CURLE_OK) {
		/* libcurl older than 7.80: put back what may have been set. */
		real.easy_setopt(h, CURLOPT_PREREQDATA, st->app_prereq_data);
		return false;
	}
	real.easy_setopt(h, CURLOPT_DEBUGFUNCTION, recheck_debug);
	st->hooks_on = true;
	return true;
}

void plugin_fail_transfer(struct handle_state *st, CURL *h)
{
	if (plugin_hooks_on(st, h))
		st->fail = true;
}

/* A copy of the application's list plus the Storage headers it lacks; NULL when nothing is missing. */
static bool storage_headers(const struct handle_state *st, enum hostrule_kind kind, struct curl_slist **out)
{
	char version[64];
	struct curl_slist *own = NULL, *l;
	bool need_version = !has_header(st->app_headers, "x-ms-version");
	bool need_intent = kind == HOSTRULE_FILES && !has_header(st->app_headers, "x-ms-file-request-intent");

	*out = NULL;
	if (!need_version && !need_intent)
		return true;
	for (const struct curl_slist *a = st->app_headers; a != NULL; a = a->next) {
		if (a->data == NULL)
			continue;
		if ((l = real.slist_append(own, a->data)) == NULL)
			goto fail;
		own = l;
	}
	snprintf(version, sizeof(version), "x-ms-version: %s", plugin_settings()->storage_version);
	if (need_version) {
		if ((l = real.slist_append(own, version)) == NULL)
			goto fail;
		own = l;
	}
	if (need_intent) {
		if ((l = real.slist_append(own, "x-ms-file-request-intent: backup")) == NULL)
			goto fail;
		own = l;
	}
	*out = own;
	return true;
fail:
	real.slist_free_all(own);
	return false;
}

bool plugin_token_ok(const struct azmi_token *tok)
{
	if (tok->access_token == NULL || tok->access_token_len == 0 ||
	    strlen(tok->access_token) != tok->access_token_len)
		return false;
	for (size_t i = 0; i < tok->access_token_len; i++)
		if (tok->access_token[i] <= 0x20 || tok->access_token[i] >= 0x7f)
			return false;
	return true;
}

/*
 * Set the bearer and the safety options (lock held), and the pre-request
 * check that keeps the token to `origin`.  False leaves the handle as it was.
 */
static bool attach(struct handle_state *st, CURL *h, const struct hostrule *rule, const char *origin,
                   const struct azmi_token *tok, bool multi)
{
	struct curl_slist *own = NULL;

	if (origin[0] == '\0' || strlen(origin) >= sizeof(st->origin))
		return false;
	/* Without the pre-request check a multi transfer could be re-targeted after the decision. */
	if (!plugin_hooks_on(st, h) && multi)
		return false;
	if (rule->kind == HOSTRULE_STORAGE || rule->kind == HOSTRULE_FILES)
		if (!storage_headers(st, rule->kind, &own))
			return false;
	if (real.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, tok->access_token) != CURLE_OK ||
	    real.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER) != CURLE_OK) {
		st->attached = true; /* undo whatever part was set */
		restore_options(st, h, false);
		st->attached = false;
		real.slist_free_all(own);
		return false;
	}
	real.easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	real.easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	if (real.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK)
		real.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	if (own != NULL) {
		real.easy_setopt(h, CURLOPT_HTTPHEADER, own);
		st->own_headers = own;
	}
	st->attached = true;
	st->rule = rule;
	snprintf(st->origin, sizeof(st->origin), "%s", origin);
	return true;
}

/* Copy what the decision needs out of the state (lock held); false when out of memory. */
static bool plan_take(const struct handle_state *st, const char *url, struct plan *p)
{
	char *s = NULL;

	memset(p, 0, sizeof(*p));
	if (url != NULL) {
		p->url = strdup(url);
	} else if (st->curlu != NULL) {
		if (real.url_get(st->curlu, CURLUPART_URL, &s, 0) == CURLUE_OK && s != NULL)
			p->url = strdup(s);
		if (s)
			real.free(s);
	} else if (st->url != NULL && !st->url_unknown) {
		p->url = strdup(st->url);
	}
	/* HTTPAUTH alone chooses methods, it brings no credential (git sets CURLAUTH_ANY). */
	p->creds = st->app_userpwd || st->app_username || st->app_password || st->app_bearer ||
	           st->app_sigv4 || has_header(st->app_headers, "Authorization");
	p->unrestricted = st->app_unrestricted_auth != 0;
	p->insecure = st->app_verifypeer == 0 || st->app_verifyhost == 0;
	return p->url != NULL;
}

/*
 * `msg` on one line: its first line, then the detail lines that say what
 * failed (the core lists every credential source; the ones merely "not
 * configured" or "off" are left out).
 */
static void summarize(char *dst, size_t len, const char *msg)
{
	size_t n = 0;
	bool first = true;

	dst[0] = '\0';
	while (msg != NULL && *msg != '\0' && n + 1 < len) {
		size_t l = strcspn(msg, "\n");
		int w;
		if (first ||
		    ((memmem(msg, l, "not configured", 14) == NULL && memmem(msg, l, ": off", 5) == NULL))) {
			while (!first && l > 0 && (*msg == ' ' || *msg == '\t')) {
				msg++;
				l--;
			}
			w = snprintf(dst + n, len - n, "%s%.*s", first ? "" : " ", (int)l, msg);
			n = (w < 0 || (size_t)w >= len - n) ? len - 1 : n + (size_t)w;
		}
		first = false;
		msg += l;
		if (*msg == '\n')
			msg++;
	}
}

/*
 * Failures are remembered per scope for NEGATIVE_SECONDS, so a process
 * making many requests does not ask a failing source again at every one
 * (the core's own retries and probes already ran for the first).
 */
#define NEGATIVE_SECONDS 30
#define NEGATIVE_SLOTS   8

struct negative {
	const char *scope; /* a rule's scope: lives as long as the process */
	int64_t until_ms;
	azmi_err code;
	char why[512];
};

static pthread_mutex_t negative_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct negative negatives[NEGATIVE_SLOTS];

/* The remembered failure for `scope`, copied into code/why; false when none is current. */
static bool negative_get(const char *scope, azmi_err *code, char *why, size_t len)
{
	int64_t now = util_mono_ms();
	bool hit = false;

	pthread_mutex_lock(&negative_mutex);
	for (size_t i = 0; i < NEGATIVE_SLOTS && !hit; i++) {
		if (negatives[i].scope == scope && negatives[i].until_ms > now) {
			*code = negatives[i].code;
			snprintf(why, len, "%s", negatives[i].why);
			hit = true;
		}
	}
	pthread_mutex_unlock(&negative_mutex);
	return hit;
}

static void negative_put(const char *scope, azmi_err code, const char *why)
{
	int64_t now = util_mono_ms();
	size_t slot = 0;

	pthread_mutex_lock(&negative_mutex);
	for (size_t i = 0; i < NEGATIVE_SLOTS; i++) {
		if (negatives[i].scope == scope || negatives[i].until_ms <= now) {
			slot = i;
			break;
		}
		if (negatives[i].until_ms < negatives[slot].until_ms)
			slot = i;
	}
	negatives[slot].scope = scope;
	negatives[slot].until_ms = now + NEGATIVE_SECONDS * 1000;
	negatives[slot].code = code;
	summarize(negatives[slot].why, sizeof(negatives[slot].why), why);
	pthread_mutex_unlock(&negative_mutex);
}

/* Fill `err` for a request that should have carried a token but will not. */
static enum decision no_token(struct azmi_error *err, azmi_err code, const char *host, const char *scope,
                              const char *why)
{
	char detail[500];

	summarize(detail, sizeof(detail), why);
	err->code = code;
	snprintf(err->message, sizeof(err->message), "azmi: no token for %.200s (%.200s): %s; %s", host,
	         scope, detail,
	         plugin_strict() ? "the transfer fails (AZMI_CURL_STRICT=1)"
	                         : "the request goes out without one");
	return DECIDE_NO_TOKEN;
}

enum decision plugin_decide(CURL *h, const char *url, bool multi, struct azmi_error *err)
{
	const struct plugin_settings *ps;
	const struct hostrule *rule;
	struct handle_state *st;
	struct azmi_token *tok = NULL;
	struct azmi_request req;
	struct url_facts f;
	struct plan p = {0};
	enum decision d = DECIDE_NONE;
	bool have_url = false;
	char why[512];
	azmi_err r;

	size_t err_size = err->size;

	memset(err, 0, sizeof(*err));
	err->size = err_size; /* the caller's, as AZMI_ERROR_INIT set it */
	plugin_busy++;
	handles_lock();
	st = handles_get(h);
	if (st != NULL) {
		plugin_detach(st, h);
		have_url = plan_take(st, url, &p);
	}
	handles_unlock();
	if (st == NULL || !have_url)
		goto out;
	rule = url_rule(p.url, &f);
	if (rule == NULL || p.creds || p.insecure || f.user || f.sas)
		goto out; /* not ours, or the application brought credentials: step aside */
	if (p.unrestricted) {
		err->code = AZMI_ERR_USAGE;
		snprintf(err->message, sizeof(err->message),
		         "azmi: not attaching a token for %s: this transfer may resend credentials "
		         "after a redirect to another host (--location-trusted / CURLOPT_UNRESTRICTED_AUTH)",
		         f.host);
		d = DECIDE_REFUSED;
		goto out;
	}
	ps = plugin_settings();
	if (ps->ctx == NULL) {
		d = no_token(err, ps->ctx_err.code ? ps->ctx_err.code : AZMI_ERR_CONFIG, f.host, rule->scope,
		             ps->ctx_err.message);
		goto out;
	}
	if (negative_get(rule->scope, &r, why, sizeof(why))) {
		d = no_token(err, r, f.host, rule->scope, why);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.size = sizeof(req);
	req.resource = rule->scope;
	req.id_kind = AZMI_ID_DEFAULT;
	r = azmi_get_token(ps->ctx, &req, &tok, err);
	if (r == AZMI_OK && !plugin_token_ok(tok))
		r = AZMI_ERR_PROTOCOL;
	if (r != AZMI_OK) {
		negative_put(rule->scope, r, err->message[0] ? err->message : azmi_strerror(r));
		d = no_token(err, r, f.host, rule->scope, err->message[0] ? err->message : azmi_strerror(r));
		goto out;
	}
	handles_lock();
	st = handles_find(h);
	if (st != NULL && attach(st, h, rule, f.origin, tok, multi))
		d = DECIDE_ATTACHED;
	else
		d = no_token(err, AZMI_ERR_NOMEM, f.host, rule->scope,
		             "could not set the bearer option or the pre-request check on the handle");
	handles_unlock();
out:
	azmi_token_release(tok);
	free(p.url);
	plugin_busy--;
	return d;
}

enum acr_target plugin_acr_target(CURL *h, struct registry_target *t)
{
	struct handle_state *st;
	struct url_facts f;
	struct plan p = {0};
	enum acr_target which = ACR_TARGET_NONE;
	bool have_url = false, get = false;
	size_t n;

	memset(t, 0, sizeof(*t));
	plugin_busy++;
	handles_lock();
	st = handles_find(h);
	if (st != NULL) {
		have_url = plan_take(st, NULL, &p);
		get = !st->app_upload && !st->app_post &&
		      (st->app_custom == NULL || strcmp(st->app_custom, "GET") == 0 ||
		       strcmp(st->app_custom, "HEAD") == 0);
	}
	handles_unlock();
	if (!have_url || !get || !url_inspect(p.url, &f) || !f.https || f.rule == NULL ||
	    f.rule->kind != HOSTRULE_ACR || !f.v2 || !f.default_port)
		goto out;
	if (p.creds || p.insecure || f.user || f.sas)
		goto out; /* the application brought credentials, or TLS is off: step aside */
	snprintf(t->registry, sizeof(t->registry), "%.*s", HOSTRULE_MAX_HOST, f.host);
	for (char *c = t->registry; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	n = strlen(t->registry);
	if (n > 0 && t->registry[n - 1] == '.')
		t->registry[n - 1] = '\0';
	snprintf(t->origin, sizeof(t->origin), "%s", f.origin);
	t->rule = f.rule;
	which = p.unrestricted ? ACR_TARGET_REFUSED : ACR_TARGET_YES;
out:
	free(p.url);
	plugin_busy--;
	return which;
}

bool plugin_attach(CURL *h, const struct registry_target *t, const struct azmi_token *tok)
{
	struct handle_state *st;
	bool ok = false;

	handles_lock();
	st = handles_find(h);
	if (st != NULL && st->attached && st->pending && st->rule == t->rule &&
	    strcmp(st->origin, t->origin) == 0) {
		/* Under multi: the placeholder gives way to the token; libcurl picked Bearer from the challenge. */
		ok = real.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, tok->access_token) == CURLE_OK;
		st->pending = !ok;
	} else if (st != NULL && !st->attached) {
		ok = attach(st, h, t->rule, t->origin, tok, false);
	}
	handles_unlock();
	return ok;
}

/* Never sent: libcurl sends a bearer only once it picked Bearer from a challenge. */
#define PLACEHOLDER_BEARER "azmi-awaiting-the-registry-challenge"

bool plugin_arm(CURL *h, const struct registry_target *t)
{
	struct handle_state *st;
	bool ok = false;

	if (real.header == NULL)
		return false; /* libcurl before 7.84 cannot show the challenge to the pre-request check */
	handles_lock();
	st = handles_find(h);
	if (st == NULL || st->attached || !plugin_hooks_on(st, h))
		goto out;
	/*
	 * Bearer plus CURLAUTH_ONLY is two bits: libcurl sends nothing first, then
	 * picks Bearer from the 401 and repeats the request; the check before that
	 * repeat puts the registry's token in place of the placeholder.
	 */
	if (real.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, PLACEHOLDER_BEARER) != CURLE_OK ||
	    real.easy_setopt(h, CURLOPT_HTTPAUTH, (long)(CURLAUTH_BEARER | CURLAUTH_ONLY)) != CURLE_OK) {
		st->attached = true;
		restore_options(st, h, false);
		st->attached = false;
		goto out;
	}
	/* With a user name (even empty) libcurl's FAILONERROR lets a first 401 through to the repeat. */
	if (!st->app_username && real.easy_setopt(h, CURLOPT_USERNAME, "") == CURLE_OK)
		st->own_user = true;
	real.easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
	real.easy_setopt(h, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	if (real.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK)
		real.easy_setopt(h, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	st->attached = true;
	st->pending = true;
	st->rule = t->rule;
	st->requests = 0;
	snprintf(st->origin, sizeof(st->origin), "%s", t->origin);
	snprintf(st->registry, sizeof(st->registry), "%s", t->registry);
	ok = true;
out:
	handles_unlock();
	return ok;
}

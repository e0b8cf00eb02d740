/*
 * recheck.c - the check libcurl runs before every request of a transfer
 * (CURLOPT_PREREQFUNCTION: after the connection is made, before the request
 * is written; again after every redirect and every authentication repeat),
 * and the verbose-output filter.
 *
 * The decision at perform or multi add saw the URL the application had set
 * then; here libcurl says what it really uses (CURLINFO_EFFECTIVE_URL), so
 * a CURLU edited after the add, a redirect to another origin, or TLS
 * verification found off all take the token away before it is written.
 * The application's own callbacks are recorded by the setopt hook and
 * called from here with their own data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acr_retry.h"
#include "plugin.h"
#include "plugin_settings.h"
#include "urlfacts.h"
#include "verbose_mask.h"

/* What the pre-request check reads from the handle state, copied out under the lock. */
struct snapshot {
	curl_prereq_callback app_fn;
	void *app_data;
	unsigned request; /* 0 for the first request of the transfer */
	bool fail, attached, pending;
	bool safe; /* no credentials of the application's, TLS verification on, no unrestricted auth */
	const struct hostrule *rule;
	CURLU *curlu; /* the application's CURLOPT_CURLU, if any */
	char origin[URLFACTS_MAX_ORIGIN];
	struct registry_target registry;
};

static bool state_safe(const struct handle_state *st)
{
	bool creds =
	    st->app_userpwd || st->app_username || st->app_password || st->app_bearer || st->app_sigv4;

	if (creds || st->app_unrestricted_auth != 0 || st->app_verifypeer == 0 || st->app_verifyhost == 0)
		return false;
	for (const struct curl_slist *l = st->app_headers; l != NULL; l = l->next)
		if (l->data != NULL && plugin_header_is(l->data, "Authorization"))
			return false;
	return true;
}

static bool take_snapshot(CURL *h, struct snapshot *s)
{
	struct handle_state *st;

	memset(s, 0, sizeof(*s));
	handles_lock();
	st = handles_find(h);
	if (st != NULL) {
		s->app_fn = st->app_prereq;
		s->app_data = st->app_prereq_data;
		s->request = st->requests++;
		s->fail = st->fail;
		s->attached = st->attached;
		s->pending = st->pending;
		s->safe = state_safe(st);
		s->rule = st->rule;
		s->curlu = st->url_unknown ? NULL : st->curlu;
		snprintf(s->origin, sizeof(s->origin), "%s", st->origin);
		snprintf(s->registry.registry, sizeof(s->registry.registry), "%s", st->registry);
		snprintf(s->registry.origin, sizeof(s->registry.origin), "%s", st->origin);
		s->registry.rule = st->rule;
	}
	handles_unlock();
	return st != NULL;
}

/* Take the token away (the transfer goes on without it); only if it is still the one checked. */
static void strip(CURL *h, const struct snapshot *s)
{
	struct handle_state *st;

	handles_lock();
	st = handles_find(h);
	if (st != NULL && st->attached && st->rule == s->rule && strcmp(st->origin, s->origin) == 0)
		plugin_detach(st, h);
	handles_unlock();
}

/*
 * The URL this request goes to.  libcurl 7.88 connects a CURLU handle to
 * the CURLU's URL until a redirect is followed, while CURLINFO_EFFECTIVE_URL
 * may still name the previous transfer's: read the CURLU itself then.
 */
static bool request_url(CURL *h, const struct snapshot *s, struct url_facts *f)
{
	long redirects = -1;
	char *url = NULL;
	bool ok;

	if (real.easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects) != CURLE_OK)
		return false;
	if (s->curlu != NULL && redirects == 0) {
		if (real.url_get(s->curlu, CURLUPART_URL, &url, 0) != CURLUE_OK || url == NULL)
			return false;
		ok = url_inspect(url, f);
		real.free(url);
		return ok;
	}
	if (real.easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url) != CURLE_OK || url == NULL)
		return false;
	return url_inspect(url, f);
}

/* True when this request may carry what is attached: the origin decided for, over verified TLS. */
static bool request_ok(CURL *h, const struct snapshot *s)
{
	struct url_facts f;
	long verify = 0;

	if (!s->safe || !request_url(h, s, &f))
		return false;
	if (!f.https || f.user || f.sas || f.rule != s->rule || strcmp(f.origin, s->origin) != 0)
		return false;
	/* libcurl's record of the peer's certificate check: 0 when it verified. */
	if (real.easy_getinfo(h, CURLINFO_SSL_VERIFYRESULT, &verify) == CURLE_OK && verify != 0)
		return false;
	return true;
}

/*
 * A registry's repeat after its 401: answer the challenge of the previous
 * request.  False when the transfer must fail (strict mode).
 */
static bool answer_registry(CURL *h, const struct snapshot *s)
{
	struct curl_header *hdr = NULL;
	long code = 0;
	enum hold_verdict v;

	if (real.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK || code != 401)
		return true; /* the first request again (a dead connection): keep waiting for the challenge */
	if (real.header == NULL ||
	    real.header(h, "WWW-Authenticate", 0, CURLH_HEADER, (int)s->request - 1, &hdr) != CURLHE_OK ||
	    hdr == NULL || hdr->value == NULL || strlen(hdr->value) > 8192) {
		strip(h, s);
		return true;
	}
	v = acr_answer(h, &s->registry, hdr->value);
	if (v != HOLD_RETRY)
		strip(h, s);
	return v != HOLD_FAIL;
}

int recheck_prereq(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
	CURL *h = clientp;
	struct snapshot s;

	if (!take_snapshot(h, &s))
		return CURL_PREREQFUNC_OK; /* cannot happen: the data is the handle itself */
	if (s.fail)
		return CURL_PREREQFUNC_ABORT;
	if (s.attached) {
		plugin_busy++;
		if (!request_ok(h, &s))
			strip(h, &s);
		else if (s.pending && s.request > 0 && !answer_registry(h, &s)) {
			plugin_busy--;
			return CURL_PREREQFUNC_ABORT;
		}
		plugin_busy--;
	}
	if (s.app_fn != NULL)
		return s.app_fn(s.app_data, primary_ip, local_ip, primary_port, local_port);
	return CURL_PREREQFUNC_OK;
}

/* libcurl's own verbose output when the application set no debug callback. */
static void default_debug(FILE *err, curl_infotype type, const char *data, size_t size)
{
	static const char prefix[][3] = {"* ", "< ", "> "};

	if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
		return;
	fwrite(prefix[type], 2, 1, err);
	fwrite(data, size, 1, err);
}

int recheck_debug(CURL *h, curl_infotype type, char *data, size_t size, void *clientp)
{
	struct handle_state *st;
	curl_debug_callback fn = NULL;
	FILE *err = NULL;
	bool mask = false;
	char *copy = NULL;
	int rc = 0;

	handles_lock();
	st = handles_find(h);
	if (st != NULL) {
		fn = st->app_debug;
		err = st->app_stderr;
		mask = st->attached;
	}
	handles_unlock();
	if (mask && type == CURLINFO_HEADER_OUT) {
		size_t len = 0;
		copy = verbose_mask(data, size, &len);
		if (copy == NULL)
			return 0; /* never show the token: drop this piece of output instead */
		data = copy;
		size = len;
	}
	if (fn != NULL)
		rc = fn(h, type, data, size, clientp);
	else
		default_debug(err ? err : stderr, type, data, size);
	free(copy);
	return rc;
}

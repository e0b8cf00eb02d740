/* challenge_retry.c - the challenge retry for Storage (see challenge_retry.h). */
#include "challenge_retry.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "challenge.h"
#include "hostrule.h"
#include "plugin_settings.h"

/* The application's output, and what is held back of a 401 answer. */
struct hold {
	curl_write_callback write_fn, header_fn;
	void *write_data, *header_data;
	bool holding;     /* the current answer is a 401 being held back */
	bool passthrough; /* held bytes overflowed: everything goes to the application, no retry */
	bool failed;      /* the application's callback refused data */
	struct buf headers, body;
	char challenge[CHALLENGE_MAX_HEADER + 1];
};

static size_t to_app_write(struct hold *c, char *p, size_t len)
{
	if (c->write_fn != NULL)
		return c->write_fn(p, 1, len, c->write_data);
	return fwrite(p, 1, len, c->write_data ? (FILE *)c->write_data : stdout);
}

/* libcurl's rule: the header callback, else the write callback with HEADERDATA, else nowhere. */
static size_t to_app_header(struct hold *c, char *p, size_t len)
{
	if (c->header_fn != NULL)
		return c->header_fn(p, 1, len, c->header_data);
	if (c->header_data == NULL)
		return len;
	if (c->write_fn != NULL)
		return c->write_fn(p, 1, len, c->header_data);
	return fwrite(p, 1, len, (FILE *)c->header_data);
}

/* Hand the held answer to the application; false when it refused some of it. */
static bool release(struct hold *c)
{
	bool ok = true;

	if (c->headers.len > 0 && to_app_header(c, c->headers.data, c->headers.len) != c->headers.len)
		ok = false;
	if (ok && c->body.len > 0 && to_app_write(c, c->body.data, c->body.len) != c->body.len)
		ok = false;
	buf_free(&c->headers);
	buf_free(&c->body);
	c->holding = false;
	return ok;
}

/* Stop holding (too big): release what was held and let the rest through. */
static bool give_up(struct hold *c)
{
	c->passthrough = true;
	if (!release(c))
		c->failed = true;
	return !c->failed;
}

static void note_challenge(struct hold *c, const char *p, size_t len)
{
	static const char name[] = "WWW-Authenticate:";
	size_t n = sizeof(name) - 1;

	if (len <= n || strncasecmp(p, name, n) != 0 || c->challenge[0] != '\0')
		return;
	p += n;
	len -= n;
	while (len > 0 && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
		len--;
	if (len < sizeof(c->challenge)) {
		memcpy(c->challenge, p, len);
		c->challenge[len] = '\0';
	}
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
	struct hold *c = userdata;
	size_t len = size * n;

	if (!c->passthrough && len > 9 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', len);
		c->holding = sp != NULL && (size_t)(sp - p) + 4 <= len && strncmp(sp + 1, "401", 3) == 0;
		c->challenge[0] = '\0';
		buf_free(&c->headers);
		buf_free(&c->body);
	}
	if (!c->holding)
		return to_app_header(c, p, len);
	note_challenge(c, p, len);
	if (!buf_append(&c->headers, p, len))
		return give_up(c) ? to_app_header(c, p, len) : 0;
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *userdata)
{
	struct hold *c = userdata;
	size_t len = size * n;

	if (!c->holding)
		return to_app_write(c, p, len);
	if (!buf_append(&c->body, p, len))
		return give_up(c) ? to_app_write(c, p, len) : 0;
	return len;
}

bool challenge_retry_wanted(CURL *h)
{
	struct handle_state *st;
	bool yes = false;

	if (!plugin_settings()->retry_on_challenge)
		return false;
	handles_lock();
	st = handles_find(h);
	if (st != NULL && st->attached && st->rule != NULL &&
	    (st->rule->kind == HOSTRULE_STORAGE || st->rule->kind == HOSTRULE_FILES) && !st->app_upload &&
	    !st->app_post &&
	    (st->app_custom == NULL || strcmp(st->app_custom, "GET") == 0 ||
	     strcmp(st->app_custom, "HEAD") == 0))
		yes = true;
	handles_unlock();
	return yes;
}

/* Put the application's output callbacks back. */
static void restore_output(CURL *h, const struct hold *c, bool write_data_set)
{
	real.easy_setopt(h, CURLOPT_HEADERFUNCTION, c->header_fn);
	real.easy_setopt(h, CURLOPT_HEADERDATA, c->header_data);
	real.easy_setopt(h, CURLOPT_WRITEFUNCTION, c->write_fn);
	real.easy_setopt(h, CURLOPT_WRITEDATA, write_data_set ? c->write_data : (void *)stdout);
}

/* A fresh token (both caches skipped) set on the handle; false when none came. */
static bool refresh(CURL *h, const struct hostrule *rule)
{
	const struct plugin_settings *ps = plugin_settings();
	struct azmi_request req = AZMI_REQUEST_INIT;
	struct azmi_token *tok = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	bool ok = false;

	if (ps->ctx == NULL)
		return false;
	req.resource = rule->scope;
	req.id_kind = AZMI_ID_DEFAULT;
	req.flags = AZMI_NO_CACHE;
	plugin_busy++;
	if (azmi_get_token(ps->ctx, &req, &tok, &err) == AZMI_OK && plugin_token_ok(tok))
		ok = real.easy_setopt(h, CURLOPT_XOAUTH2_BEARER, tok->access_token) == CURLE_OK;
	plugin_busy--;
	azmi_token_release(tok);
	return ok;
}

/* The Storage retry: the challenge must name the attached token's own audience. */
static enum hold_verdict storage_answer(CURL *h, const char *value, void *arg)
{
	const struct hostrule *rule = arg;
	struct challenge ch;

	if (challenge_parse(value, strlen(value), &ch) &&
	    hostrule_same_resource(ch.resource_id, strlen(ch.resource_id), rule->scope) && refresh(h, rule))
		return HOLD_RETRY;
	return HOLD_RELEASE;
}

CURLcode challenge_hold_perform(CURL *h, hold_answer_fn *answer, void *arg)
{
	struct hold c;
	struct handle_state *st;
	bool write_data_set = false;
	enum hold_verdict v;
	long redirects = 0;
	CURLcode rc;

	memset(&c, 0, sizeof(c));
	handles_lock();
	st = handles_find(h);
	if (st != NULL) {
		c.write_fn = st->app_write_fn;
		c.header_fn = st->app_header_fn;
		c.write_data = st->app_write_data;
		c.header_data = st->app_header_data;
		write_data_set = st->app_write_data_set;
	}
	handles_unlock();
	if (st == NULL)
		return real.easy_perform(h);
	buf_init(&c.headers, RETRY_MAX_HELD);
	buf_init(&c.body, RETRY_MAX_HELD);
	real.easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	real.easy_setopt(h, CURLOPT_HEADERDATA, &c);
	real.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	real.easy_setopt(h, CURLOPT_WRITEDATA, &c);
	/*
	 * libcurl's curl_easy_perform calls curl_multi_add_handle, which is
	 * hooked too: the decision made before this perform (and the token the
	 * answer below attaches) must stand, so the hooks only forward meanwhile.
	 */
	plugin_busy++;
	rc = real.easy_perform(h);
	plugin_busy--;
	restore_output(h, &c, write_data_set);
	if (rc != CURLE_OK || !c.holding)
		goto out;
	real.easy_getinfo(h, CURLINFO_REDIRECT_COUNT, &redirects);
	v = redirects == 0 ? answer(h, c.challenge, arg) : HOLD_RELEASE;
	if (v == HOLD_RETRY) {
		buf_free(&c.headers);
		buf_free(&c.body);
		plugin_busy++;
		rc = real.easy_perform(h); /* the one retry, with the application's own output */
		plugin_busy--;
		return rc;
	}
	if (v == HOLD_FAIL)
		rc = CURLE_AUTH_ERROR;
	else if (!release(&c))
		rc = CURLE_WRITE_ERROR;
out:
	buf_free(&c.headers);
	buf_free(&c.body);
	return rc;
}

CURLcode challenge_retry_perform(CURL *h)
{
	const struct hostrule *rule = NULL;
	struct handle_state *st;

	handles_lock();
	st = handles_find(h);
	if (st != NULL)
		rule = st->rule;
	handles_unlock();
	if (rule == NULL)
		return real.easy_perform(h);
	return challenge_hold_perform(h, storage_answer, (void *)(uintptr_t)rule);
}

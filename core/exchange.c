/* exchange.c - one request and its answer, retried by the endpoint's kind within one deadline. */
#include "exchange.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "util.h"

#define MAX_SHOWN_URL 300 /* characters of a URL shown in messages */

static const struct exchange_io real_io = {http_perform, util_mono_ms, util_sleep_ms};
static const struct exchange_io *io = &real_io;

void exchange_set_io(const struct exchange_io *test_io)
{
	io = test_io ? test_io : &real_io;
}

void exchange_describe(const struct exchange *x, char *out, size_t outlen)
{
	char shown[MAX_SHOWN_URL + 1];
	const char *url = x->shown_url;

	if (url == NULL) {
		size_t n = strcspn(x->req->url, "?");
		util_sanitize(shown, sizeof(shown), x->req->url, n > MAX_SHOWN_URL ? MAX_SHOWN_URL : n);
		url = shown;
	}
	snprintf(out, outlen, "%s: %s %s%s%s", x->name, x->req->method, url, x->about ? " " : "",
	         x->about ? x->about : "");
}

static bool answered(const struct exchange *x, long status)
{
	return status == 200 || (retry_policy(x->kind)->any_2xx && status >= 200 && status <= 299);
}

/* The one formatter of a failed attempt; the hook adds the endpoint's hint. */
static azmi_err attempt_error(const struct exchange *x, azmi_err rc, const struct http_response *resp,
                              struct azmi_error *err)
{
	char what[1024], text[400];
	bool answered = rc == AZMI_OK;

	exchange_describe(x, what, sizeof(what));
	if (answered) {
		long st = resp->status;
		rc = st >= 400 && st < 500 && !retry_status_retryable(st, x->kind) ? AZMI_ERR_REFUSED
		                                                                   : AZMI_ERR_ENDPOINT;
		(x->error_text ? x->error_text : answer_error_text)(resp->body.data ? resp->body.data : "",
		                                                    resp->body.len, text, sizeof(text));
		err_set(err, rc, x->name, st, "%s: HTTP %ld%s%s", what, st, text[0] ? ": " : "", text);
	} else {
		err_set(err, rc, x->name, resp->status, "%s: %s", what, resp->curl_error);
	}
	if (resp->request_id[0])
		err_append(err, "correlation id %s", resp->request_id);
	if (x->hint)
		x->hint(x->arg, answered, rc, resp, err);
	return rc;
}

/* Each attempt's time: what is left of the deadline, the connection's share capped by it. */
static void set_timeouts(const struct exchange *x, int64_t now)
{
	long connect =
	    x->connect_timeout_ms > 0 ? x->connect_timeout_ms : retry_policy(x->kind)->connect_timeout_ms;

	x->req->timeout_ms = (long)(x->deadline_ms - now);
	x->req->connect_timeout_ms = connect < x->req->timeout_ms ? connect : x->req->timeout_ms;
}

azmi_err exchange_perform(const struct exchange *x, struct http_response *resp, struct azmi_error *err)
{
	struct retry_state rs = {0};
	char what[1024];
	bool challenged = false, failed = false, answer;
	int attempts = 0;
	azmi_err rc = AZMI_ERR_TIMEOUT;

	http_response_init(resp, x->body_cap);
	for (;;) {
		int64_t now = io->now_ms();
		long delay;

		if (now >= x->deadline_ms) {
			if (!failed) {
				exchange_describe(x, what, sizeof(what));
				rc = err_set(err, AZMI_ERR_TIMEOUT, x->name, 0, "%s: no time left to ask",
				             what);
			}
			return rc;
		}
		set_timeouts(x, now);
		http_response_free(resp);
		http_response_init(resp, x->body_cap);
		attempts++;
		rc = io->perform(x->req, resp);
		if (rc == AZMI_OK && answered(x, resp->status))
			return AZMI_OK;
		if (rc == AZMI_OK && resp->status == 401 && x->unauthorized && !challenged) {
			challenged = true;
			if ((rc = x->unauthorized(x->arg, resp, x->req, err)) != AZMI_OK)
				return rc;
			continue;
		}
		failed = true;
		answer = rc == AZMI_OK;
		rc = attempt_error(x, rc, resp, err);
		if (answer) {
			delay =
			    retry_next_delay(&rs, resp->status, resp->retry_after_ms, x->kind, io->now_ms());
		} else if (x->probe && !resp->connected && attempts == 1) {
			/* Nothing there at all: this link of the chain is unavailable; the next may answer. */
			rc = AZMI_ERR_UNAVAILABLE;
			if (err)
				err->code = rc;
			delay = -1;
		} else {
			/* A dropped connection is worth another try; a refused one or a cap breach is not. */
			delay = rc == AZMI_ERR_ENDPOINT ? retry_next_delay(&rs, 0, -1, x->kind, io->now_ms())
			                                : -1;
		}
		if (delay < 0)
			return rc;
		if (io->now_ms() + delay >= x->deadline_ms) {
			err_append(err,
			           "gave up after %d attempt%s: the next retry (in %ld ms) would pass the "
			           "deadline",
			           attempts, attempts == 1 ? "" : "s", delay);
			return rc;
		}
		log_line(x->log, AZMI_LOG_INFO, "%s: attempt %d failed (HTTP %ld); retrying in %ld ms",
		         x->name, attempts, resp->status, delay);
		io->sleep_ms(delay);
	}
}

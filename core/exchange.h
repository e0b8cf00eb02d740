/*
 * exchange.h - the one place azmi sends an HTTP request and waits for its
 * answer: one deadline, retries by the endpoint's kind (retry.h), hooks for
 * what differs (a 401 answered once: the Arc challenge, a fresh bearer
 * token), and one error shape for every endpoint:
 *   "<name>: <METHOD> <url>[ <about>]: HTTP <status>[: <error text>]"
 *   "<name>: <METHOD> <url>[ <about>]: <transport error>"
 * followed by the endpoint's correlation id, a hint, and, when the deadline
 * stopped the retries, "gave up after N attempts: ...".
 * For the core and the libraries above it; front ends do not speak HTTP.
 */
#ifndef AZMI_EXCHANGE_H
#define AZMI_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"
#include "http.h"
#include "log.h"
#include "retry.h"

struct exchange {
	enum endpoint_kind kind;
	const char *name;         /* the errors' source and the log lines' prefix ("imds", "arm", "acr") */
	const char *shown_url;    /* the URL as messages show it; NULL: the request's, cut at its '?' */
	const char *about;        /* words after the URL in messages ("for <resource>, ..."), or NULL */
	struct http_request *req; /* what to send; its two timeouts are set here for each attempt */
	size_t body_cap;          /* largest answer body read */
	int64_t deadline_ms;      /* monotonic */
	long connect_timeout_ms;  /* 0: the kind's */
	/* One link of a chain: a first attempt that connects to nothing ends at once, UNAVAILABLE. */
	bool probe;
	const struct log_sink *log;
	/*
	 * Hooks, each optional, each given `arg`.  unauthorized: called on the
	 * first 401 only; it may change `req` (new credentials) and returns
	 * AZMI_OK to ask again at once, else its error ends the exchange.
	 * hint: adds a hint to a failure's message (`answered`: an HTTP status
	 * came, else the transport failed).  error_text: the printable
	 * summary of an error body (default: answer_error_text).
	 */
	azmi_err (*unauthorized)(void *arg, const struct http_response *resp, struct http_request *req,
	                         struct azmi_error *err);
	void (*hint)(void *arg, bool answered, azmi_err rc, const struct http_response *resp,
	             struct azmi_error *err);
	void (*error_text)(const char *body, size_t len, char *out, size_t outlen);
	void *arg;
};

/*
 * Send the request until an answer counts (200, or any 2xx for REST kinds),
 * a failure is final, the kind's retries are spent, or the next retry would
 * pass the deadline.  AZMI_OK with the answer in `resp`; otherwise the error
 * (AZMI_ERR_REFUSED for a 4xx the kind does not retry, AZMI_ERR_ENDPOINT for
 * other statuses, or the transport's error) with `resp` holding the last
 * answer (status 0 when none came).  `resp` is initialised here; the caller
 * frees it with http_response_free in every case.
 */
AZMI_MUST_CHECK azmi_err exchange_perform(const struct exchange *x, struct http_response *resp,
                                          struct azmi_error *err);

/* "<name>: <METHOD> <url>[ <about>]", as the exchange's messages start (for a caller's own). */
void exchange_describe(const struct exchange *x, char *out, size_t outlen);

/*
 * The exchange's transport and clock: http_perform, util_mono_ms and
 * util_sleep_ms unless a test hands in others (NULL: back to those).  Not
 * for use while requests are in flight.
 */
struct exchange_io {
	azmi_err (*perform)(const struct http_request *req, struct http_response *resp);
	int64_t (*now_ms)(void);
	void (*sleep_ms)(int64_t ms);
};
void exchange_set_io(const struct exchange_io *io);

#endif

/*
 * http.h - one bounded HTTP exchange through libcurl, for the credential
 * sources.  The body, headers and time are capped; redirects are never
 * followed; only http and https are spoken.
 */
#ifndef AZMI_HTTP_H
#define AZMI_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "azmi.h"
#include "error.h"
#include "buf.h"
#include "http_fns.h"

#define HTTP_MAX_BODY            (1024 * 1024) /* largest answer body we read */
#define HTTP_MAX_HEADER_LINE     8192          /* longest header line we keep */
#define HTTP_MAX_HEADERS_TOTAL   65536         /* all header bytes of one answer */
#define HTTP_MAX_REQUEST_HEADERS 8

struct http_request {
	const char *method; /* "GET" or "POST" */
	const char *url;
	const char *headers[HTTP_MAX_REQUEST_HEADERS + 1]; /* "Name: value", NULL-terminated */
	const char *body;                                  /* POST body or NULL */
	size_t body_len;
	long timeout_ms;         /* whole exchange */
	long connect_timeout_ms; /* connection set-up */
	bool no_proxy;           /* never use a proxy, whatever the environment says */
	/*
	 * Otherwise: NULL lets libcurl read the environment's proxy variables;
	 * "" means no proxy; a URL is the only proxy (NO_PROXY is then ignored).
	 */
	const char *proxy;
	const char *ca_file; /* extra CA bundle, or NULL */
	/*
	 * Trust exactly the server certificate whose SHA-1 (of its DER) is this
	 * hex string, instead of CA verification (Service Fabric's self-signed
	 * endpoint).  Checked during the handshake, before anything is sent.
	 */
	const char *pin_sha1_hex;
};

struct http_response {
	long status; /* 0 when no answer came */
	struct buf body;
	long retry_after_ms; /* from Retry-After / retry-after-ms / x-ms-retry-after-ms; -1 if none */
	char *www_authenticate;
	bool connected; /* a connection was made (tells a dead endpoint from a slow one) */
	/*
	 * The server's id of the exchange, for support cases: x-ms-correlation-request-id,
	 * else x-ms-request-id, else request-id (Graph); letters, digits and '-' only, "" if none.
	 */
	char request_id[64];
	long ratelimit_reads; /* x-ms-ratelimit-remaining-subscription-reads (ARM's bucket); -1 if none */
	CURLcode curl_code;
	char curl_error[CURL_ERROR_SIZE];
};

/* Prepare a response for http_perform (body capped at `body_cap`). */
void http_response_init(struct http_response *r, size_t body_cap);
void http_response_free(struct http_response *r);

/*
 * Perform the request.  AZMI_OK when an HTTP answer came (whatever its
 * status); otherwise the transport error (AZMI_ERR_UNAVAILABLE for a refused
 * or unreachable connection, AZMI_ERR_TIMEOUT, AZMI_ERR_ENDPOINT,
 * AZMI_ERR_PROTOCOL for an answer over the caps) with r->curl_error set.
 */
AZMI_MUST_CHECK azmi_err http_perform(const struct http_request *req, struct http_response *r);

/* Percent-encode `s` (RFC 3986 unreserved characters stay) into a new string. */
char *http_escape(const char *s);

/*
 * A Retry-After value in ms: delta seconds (or milliseconds for the -ms
 * headers) up to a day, or an HTTP date (past: 0, capped at a day); -1 if invalid.
 */
long http_parse_retry_after(const char *value, size_t len, bool milliseconds);

#endif

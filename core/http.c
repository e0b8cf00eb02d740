/* http.c - bounded HTTP exchanges through libcurl. */
#include "http.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "timefmt.h"
#include "util.h"

extern char **environ;

static struct http_curl_fns curl_fns;
static bool curl_ready;
static atomic_bool env_distrusted;
static char curl_load_error[256];
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

void http_set_curl_functions(const struct http_curl_fns *fns)
{
	curl_fns = *fns;
}

void http_distrust_environment(void)
{
	atomic_store(&env_distrusted, true);
}

/*
 * libcurl reads SSLKEYLOGFILE with plain getenv when it sets up TLS, and
 * opens (creates) that file to append each connection's secrets.  Where the
 * environment is a caller's (setuid, AT_SECURE, logins) it must not see it:
 * the environment it is loaded and initialised with leaves that variable
 * out.  A copy of the pointer list, swapped in only for this once-per-process
 * step (PAM hosts do it on their one thread).
 */
static char **without_keylog(void)
{
	size_t n = 0, k = 0;
	char **copy;

	if (environ == NULL)
		return NULL;
	while (environ[n] != NULL)
		n++;
	if ((copy = calloc(n + 1, sizeof(*copy))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "SSLKEYLOGFILE=", 14) != 0)
			copy[k++] = environ[i];
	return copy;
}

#define LOAD(field, name) (curl_fns.field = (__typeof__(curl_fns.field))dlsym(lib, name)) != NULL

static void global_init_once(void)
{
	bool shield = (atomic_load(&env_distrusted) || getauxval(AT_SECURE) != 0) && getenv("SSLKEYLOGFILE");
	char **saved = environ, **clean = shield ? without_keylog() : NULL;
	void *lib;

	if (shield && clean == NULL) {
		/* Better no libcurl than one that writes TLS secrets where the caller says. */
		snprintf(curl_load_error, sizeof(curl_load_error), "out of memory");
		return;
	}
	if (clean != NULL)
		environ = clean;

	if (curl_fns.easy_init == NULL) {
		lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
		if (lib == NULL) {
			snprintf(curl_load_error, sizeof(curl_load_error), "cannot load libcurl.so.4: %s",
			         dlerror());
			goto out;
		}
		if (!(LOAD(easy_init, "curl_easy_init") && LOAD(easy_setopt, "curl_easy_setopt") &&
		      LOAD(easy_perform, "curl_easy_perform") && LOAD(easy_getinfo, "curl_easy_getinfo") &&
		      LOAD(easy_cleanup, "curl_easy_cleanup") && LOAD(slist_append, "curl_slist_append") &&
		      LOAD(slist_free_all, "curl_slist_free_all") && LOAD(global_init, "curl_global_init") &&
		      LOAD(easy_strerror, "curl_easy_strerror"))) {
			snprintf(curl_load_error, sizeof(curl_load_error),
			         "libcurl.so.4 lacks a needed function");
			curl_fns.easy_init = NULL;
			goto out;
		}
	}
	if (curl_fns.global_init)
		curl_fns.global_init(CURL_GLOBAL_DEFAULT);
	curl_ready = true;
out:
	if (clean != NULL) {
		environ = saved;
		free(clean);
	}
}

bool http_global_init(void)
{
	pthread_once(&global_once, global_init_once);
	return curl_ready;
}

static const char *curl_strerror(CURLcode c)
{
	static char fallback[32];

	if (curl_fns.easy_strerror)
		return curl_fns.easy_strerror(c);
	snprintf(fallback, sizeof(fallback), "libcurl error %d", (int)c);
	return fallback;
}

void http_response_init(struct http_response *r, size_t body_cap)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->body, body_cap);
	r->retry_after_ms = -1;
	r->ratelimit_reads = -1;
}

void http_response_free(struct http_response *r)
{
	buf_free(&r->body);
	free(r->www_authenticate);
	r->www_authenticate = NULL;
}

long http_parse_retry_after(const char *value, size_t len, bool milliseconds)
{
	int64_t n, when;

	while (len > 0 && (*value == ' ' || *value == '\t')) {
		value++;
		len--;
	}
	while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t' || value[len - 1] == '\r' ||
	                   value[len - 1] == '\n'))
		len--;
	if (util_parse_int64(value, len, 0, milliseconds ? 86400000 : 86400, &n))
		return (long)(milliseconds ? n : n * 1000);
	if (!milliseconds && timefmt_parse(value, len, &when) == 0) {
		int64_t now = util_now();
		return when <= now ? 0 : (long)((when - now > 86400 ? 86400 : when - now) * 1000);
	}
	return -1;
}

struct exchange {
	struct http_response *r;
	int request_id_rank; /* which header request_id came from: 3 best, 0 none */
	size_t header_bytes;
	bool headers_overflow;
	long retry_after_s_ms; /* from Retry-After */
	long retry_after_ms;   /* from the millisecond headers, preferred */
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct exchange *x = userdata;
	size_t len = size * nmemb;

	if (!buf_append(&x->r->body, data, len))
		return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
	return len;
}

static bool header_is(const char *line, size_t len, const char *name, size_t *value_at)
{
	size_t n = strlen(name);

	if (len <= n || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return false;
	*value_at = n + 1;
	return true;
}

/* Keep a request id header's value when it outranks the one kept and is plain (a GUID, say). */
static void keep_request_id(struct exchange *x, int rank, const char *v, size_t len)
{
	char *out = x->r->request_id;
	size_t n = 0;

	if (rank <= x->request_id_rank)
		return;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 &&
	       (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(x->r->request_id))
		return;
	for (size_t i = 0; i < len; i++) {
		char c = v[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-'))
			return;
	}
	for (; n < len; n++)
		out[n] = v[n];
	out[n] = '\0';
	x->request_id_rank = rank;
}

/* A header's whole-number value (at most 9 digits, spaces and CRLF around it), or -1. */
static long ratelimit_figure(const char *v, size_t len)
{
	long n = 0;
	size_t i = 0, digits = 0;

	while (i < len && v[i] == ' ')
		i++;
	for (; i < len && v[i] >= '0' && v[i] <= '9' && digits < 9; i++, digits++)
		n = n * 10 + (v[i] - '0');
	while (i < len && (v[i] == ' ' || v[i] == '\r' || v[i] == '\n'))
		i++;
	return digits > 0 && i == len ? n : -1;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *userdata)
{
	struct exchange *x = userdata;
	size_t len = size * nmemb, at;

	x->header_bytes += len;
	if (len > HTTP_MAX_HEADER_LINE || x->header_bytes > HTTP_MAX_HEADERS_TOTAL) {
		x->headers_overflow = true;
		return 0;
	}
	/* A new status line (after a 100 Continue, say) starts a fresh set of headers. */
	if (len > 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->retry_after_ms = x->retry_after_s_ms = -1;
		x->request_id_rank = 0;
		x->r->request_id[0] = '\0';
		x->r->ratelimit_reads = -1;
		return len;
	}
	if (header_is(line, len, "x-ms-correlation-request-id", &at))
		keep_request_id(x, 3, line + at, len - at);
	else if (header_is(line, len, "x-ms-request-id", &at))
		keep_request_id(x, 2, line + at, len - at);
	else if (header_is(line, len, "request-id", &at))
		keep_request_id(x, 1, line + at, len - at);
	if (header_is(line, len, "x-ms-ratelimit-remaining-subscription-reads", &at))
		x->r->ratelimit_reads = ratelimit_figure(line + at, len - at);
	if (header_is(line, len, "Retry-After", &at))
		x->retry_after_s_ms = http_parse_retry_after(line + at, len - at, false);
	else if (header_is(line, len, "retry-after-ms", &at) ||
	         header_is(line, len, "x-ms-retry-after-ms", &at))
		x->retry_after_ms = http_parse_retry_after(line + at, len - at, true);
	else if (header_is(line, len, "WWW-Authenticate", &at) && x->r->www_authenticate == NULL) {
		size_t end = len;
		while (end > at && (line[end - 1] == '\r' || line[end - 1] == '\n'))
			end--;
		while (at < end && line[at] == ' ')
			at++;
		x->r->www_authenticate = strndup(line + at, end - at);
	}
	return len;
}

static azmi_err map_curl_error(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return AZMI_ERR_UNAVAILABLE;
	case CURLE_OPERATION_TIMEDOUT:
		return AZMI_ERR_TIMEOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		return AZMI_ERR_PROTOCOL; /* an untrusted server: never retried, never sent anything */
	default:
		return AZMI_ERR_ENDPOINT;
	}
}

/* Replaces OpenSSL's chain verification: the leaf's SHA-1 must equal the pinned thumbprint. */
static int verify_pinned(X509_STORE_CTX *store, void *arg)
{
	const char *want = arg;
	X509 *leaf = X509_STORE_CTX_get0_cert(store);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];
	bool ok;

	if (leaf == NULL || !X509_digest(leaf, EVP_sha1(), md, &mdlen) || strlen(want) != 2 * (size_t)mdlen) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	ok = util_memeq_consttime(hex, want, 2 * (size_t)mdlen);
	X509_STORE_CTX_set_error(store, ok ? X509_V_OK : X509_V_ERR_APPLICATION_VERIFICATION);
	return ok ? 1 : 0;
}

static CURLcode pin_ssl_ctx(CURL *h, void *sslctx, void *arg)
{
	(void)h;
	SSL_CTX_set_cert_verify_callback(sslctx, verify_pinned, arg);
	return CURLE_OK;
}

static CURLcode setup(CURL *h, const struct http_request *req, struct curl_slist *hdrs, struct exchange *x)
{
	CURLcode c = CURLE_OK;
	const struct http_curl_fns *f = &curl_fns;

#define SET(opt, val)                                                                                        \
	do {                                                                                                 \
		if (c == CURLE_OK)                                                                           \
			c = f->easy_setopt(h, opt, val);                                                     \
	} while (0)
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SET(CURLOPT_TIMEOUT_MS, req->timeout_ms > 0 ? req->timeout_ms : 1L);
	SET(CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms > 0 ? req->connect_timeout_ms : 5000L);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, x);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, x);
	SET(CURLOPT_ERRORBUFFER, x->r->curl_error);
	SET(CURLOPT_HTTPHEADER, hdrs);
	SET(CURLOPT_USERAGENT, "azmi/" AZMI_VERSION);
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->r->body.cap);
	if (req->no_proxy || req->proxy) {
		/* "" disables every proxy, including the environment's; an explicit one ignores NO_PROXY too. */
		SET(CURLOPT_PROXY, req->no_proxy ? "" : req->proxy);
		SET(CURLOPT_NOPROXY, "");
	}
	if (req->ca_file)
		SET(CURLOPT_CAINFO, req->ca_file);
	if (req->pin_sha1_hex) {
		/* The pin replaces CA and host name checks; the host name of such endpoints never matches. */
		SET(CURLOPT_SSL_CTX_FUNCTION, pin_ssl_ctx);
		SET(CURLOPT_SSL_CTX_DATA, (void *)(uintptr_t)req->pin_sha1_hex);
		SET(CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (req->body) {
		SET(CURLOPT_POSTFIELDS, req->body);
		SET(CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	} else if (strcmp(req->method, "GET") != 0) {
		SET(CURLOPT_CUSTOMREQUEST, req->method);
	}
#undef SET
	return c;
}

azmi_err http_perform(const struct http_request *req, struct http_response *r)
{
	const struct http_curl_fns *f = &curl_fns;
	struct exchange x = {.r = r, .retry_after_s_ms = -1, .retry_after_ms = -1};
	struct curl_slist *hdrs = NULL;
	azmi_err ret = AZMI_ERR_NOMEM;
	CURL *h;

	r->status = 0;
	r->curl_error[0] = '\0';
	if (!http_global_init()) {
		snprintf(r->curl_error, sizeof(r->curl_error), "%s", curl_load_error);
		return AZMI_ERR_SYSTEM;
	}
	if ((h = f->easy_init()) == NULL)
		return AZMI_ERR_NOMEM;
	/* An empty "Accept:" would be sent otherwise; ask for JSON explicitly. */
	if ((hdrs = f->slist_append(NULL, "Accept: application/json")) == NULL)
		goto out;
	for (size_t i = 0; i < HTTP_MAX_REQUEST_HEADERS && req->headers[i]; i++) {
		struct curl_slist *n = f->slist_append(hdrs, req->headers[i]);
		if (n == NULL)
			goto out;
		hdrs = n;
	}
	if ((r->curl_code = setup(h, req, hdrs, &x)) != CURLE_OK) {
		snprintf(r->curl_error, sizeof(r->curl_error), "%s", curl_strerror(r->curl_code));
		ret = AZMI_ERR_SYSTEM;
		goto out;
	}
	r->curl_code = f->easy_perform(h);
	f->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	{
		curl_off_t connect_us = 0;
		f->easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &connect_us);
		r->connected = connect_us > 0 || r->status > 0;
	}
	r->retry_after_ms = x.retry_after_ms >= 0 ? x.retry_after_ms : x.retry_after_s_ms;
	if (r->body.overflow || r->curl_code == CURLE_FILESIZE_EXCEEDED) {
		snprintf(r->curl_error, sizeof(r->curl_error), "answer body larger than %zu bytes",
		         r->body.cap);
		ret = AZMI_ERR_PROTOCOL;
	} else if (x.headers_overflow) {
		snprintf(r->curl_error, sizeof(r->curl_error), "answer headers larger than %d bytes",
		         HTTP_MAX_HEADERS_TOTAL);
		ret = AZMI_ERR_PROTOCOL;
	} else if (r->curl_code != CURLE_OK) {
		if (r->curl_error[0] == '\0')
			snprintf(r->curl_error, sizeof(r->curl_error), "%s", curl_strerror(r->curl_code));
		ret = map_curl_error(r->curl_code);
	} else {
		ret = AZMI_OK;
	}
out:
	f->slist_free_all(hdrs);
	f->easy_cleanup(h);
	return ret;
}

char *http_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s);
	char *out = malloc(len * 3 + 1), *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		    c == '.' || c == '_' || c == '~') {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return out;
}

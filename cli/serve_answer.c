/*
 * serve_answer.c - who may have a token from `azmi serve`, and the answer in
 * App Service's 2019-08-01 managed-identity format.
 *
 * Checks run cheapest and least revealing first: signs of a browser, a proxy
 * or a rebound DNS name; the path and method; the secret header (compared in
 * constant time); only then the query, the identity policy and the token.
 */
#include "serve.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <json-c/json.h>

#include "jwt.h"
#include "util.h"

#define LOG_BURST 20 /* refusal lines per second before they are counted instead */

static const char api_version[] = "2019-08-01";

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Error";
	}
}

/* Head and body into out; 0 when it does not fit (the caller then sends nothing). */
static size_t respond(int status, const char *body, size_t body_len, char *out, size_t outlen)
{
	int n = snprintf(out, outlen,
	                 "HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\n"
	                 "Content-Length: %zu\r\nCache-Control: no-store\r\nConnection: close\r\n%s\r\n",
	                 status, reason(status), body_len, status == 503 ? "Retry-After: 1\r\n" : "");

	if (n < 0 || (size_t)n + body_len >= outlen)
		return 0;
	memcpy(out + n, body, body_len);
	return (size_t)n + body_len;
}

size_t serve_error(int status, const char *message, char *out, size_t outlen)
{
	unsigned char r[16] = {0};
	char corr[40];
	struct json_object *o = json_object_new_object();
	size_t n = 0;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memset(r, 0, sizeof(r));
	r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
	r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
	snprintf(corr, sizeof(corr), "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
	         r[14], r[15]);
	if (o) {
		json_object_object_add(o, "statusCode", json_object_new_int(status));
		json_object_object_add(o, "message", json_object_new_string(message));
		json_object_object_add(o, "correlationId", json_object_new_string(corr));
		const char *body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE);
		n = respond(status, body, strlen(body), out, outlen);
		json_object_put(o);
	}
	return n;
}

void serve_log(const struct serve_config *cfg, bool refusal, const char *fmt, ...)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static time_t second;
	static unsigned int lines, dropped;
	char line[1024];
	va_list ap;
	time_t now = time(NULL);

	(void)cfg;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	if (now != second) {
		if (dropped)
			fprintf(stderr, "azmi serve: %u more refusals in the last second, not shown\n",
			        dropped);
		second = now;
		lines = dropped = 0;
	}
	if (refusal && ++lines > LOG_BURST)
		dropped++;
	else
		fprintf(stderr, "azmi serve: %s\n", line);
	pthread_mutex_unlock(&lock);
}

/* Host must name this loopback endpoint: anything else is a browser after a DNS rebinding, or a proxy. */
static bool host_ok(const struct serve_config *cfg, const char *host)
{
	static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
	char port[16];

	snprintf(port, sizeof(port), ":%u", cfg->port);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		size_t n = strlen(names[i]);
		if (strncasecmp(host, names[i], n) != 0)
			continue;
		if (host[n] == '\0' || (cfg->port && strcmp(host + n, port) == 0))
			return true; /* a bare name is what clients of the Unix socket send */
	}
	return false;
}

/* A reason to refuse before looking at the secret, or NULL. */
static const char *request_smells(const struct serve_config *cfg, const struct http_request *req, int *status)
{
	static const char *const browser[] = {"Origin",         "Referer",        "Sec-Fetch-Site",
	                                      "Sec-Fetch-Mode", "Sec-Fetch-Dest", "Sec-Fetch-User"};
	static const char *const proxy[] = {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "Via"};
	int n;
	const char *host = http_header(req, "Host", &n);

	*status = 403;
	if (host == NULL || n != 1)
		return (*status = 400), "Exactly one Host header is required";
	if (!host_ok(cfg, host))
		return "The Host header does not name this loopback endpoint";
	for (size_t i = 0; i < ARRAY_SIZE(browser); i++)
		if (http_header(req, browser[i], NULL))
			return "Requests from a web browser are refused";
	for (size_t i = 0; i < ARRAY_SIZE(proxy); i++)
		if (http_header(req, proxy[i], NULL))
			return "Requests through a proxy are refused";
	if (strcmp(req->path, cfg->path) != 0)
		return (*status = 404), "Not found";
	if (strcmp(req->method, "GET") != 0)
		return (*status = 405), "Only GET is allowed here";
	return NULL;
}

static const char *secret_problem(const struct serve_config *cfg, const struct http_request *req, int *status)
{
	int n;
	const char *got = http_header(req, "X-IDENTITY-HEADER", &n);

	*status = 400;
	if (got == NULL)
		return "The X-IDENTITY-HEADER header is missing";
	if (n != 1)
		return "The X-IDENTITY-HEADER header is given more than once";
	*status = 401;
	/* Equal lengths are compared in constant time; the length alone says little about a 32+ byte secret. */
	if (strlen(got) != cfg->secret_len || !util_memeq_consttime(got, cfg->secret, cfg->secret_len))
		return "The X-IDENTITY-HEADER value is wrong";
	return NULL;
}

/* The identity a request names; query names as App Service takes them. */
struct id_query {
	enum azmi_id_kind kind;
	const char *param;
	char value[SERVE_ID_MAX];
};

static const char *read_query(const struct http_request *req, char *resource, size_t rlen,
                              struct id_query *id)
{
	static const struct {
		const char *param;
		enum azmi_id_kind kind;
	} ids[] = {{"client_id", AZMI_ID_CLIENT_ID},
	           {"principal_id", AZMI_ID_OBJECT_ID},
	           {"object_id", AZMI_ID_OBJECT_ID},
	           {"mi_res_id", AZMI_ID_RESOURCE_ID}};
	char api[32];
	int n;

	n = http_query_param(req->query, "api-version", api, sizeof(api));
	if (n != 1 || strcmp(api, api_version) != 0)
		return "api-version must be 2019-08-01, given once";
	n = http_query_param(req->query, "resource", resource, rlen);
	if (n != 1 || resource[0] == '\0')
		return "The resource query parameter is missing, malformed or given more than once";
	id->kind = AZMI_ID_DEFAULT;
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		char v[SERVE_ID_MAX];
		n = http_query_param(req->query, ids[i].param, v, sizeof(v));
		if (n == 0)
			continue;
		if (n != 1 || v[0] == '\0' || id->kind != AZMI_ID_DEFAULT)
			return "Name at most one identity: client_id, principal_id, object_id or mi_res_id, "
			       "once";
		id->kind = ids[i].kind;
		id->param = ids[i].param;
		memcpy(id->value, v, sizeof(v));
	}
	return NULL;
}

static bool identity_allowed(const struct serve_config *cfg, const struct id_query *id)
{
	if (cfg->allow_any)
		return true;
	if (id->kind == AZMI_ID_DEFAULT)
		return !cfg->deny_default;
	for (size_t i = 0; i < cfg->nallow; i++)
		if (cfg->allow[i].kind == id->kind && strcasecmp(cfg->allow[i].value, id->value) == 0)
			return true;
	return false;
}

/* The status an SDK should see for a failed lookup, as App Service reports its own. */
static int failure_status(const struct azmi_error *err)
{
	if (err->code == AZMI_ERR_REFUSED)
		return err->http_status >= 400 && err->http_status < 500 ? (int)err->http_status : 400;
	if (err->code == AZMI_ERR_USAGE)
		return 400;
	return 500;
}

/* The client id for the answer: the one asked for, else the token's own appid claim. */
static char *client_id_of(const struct id_query *id, const struct azmi_token *tok)
{
	struct json_object *claims, *appid;
	char *r = NULL;

	if (id->kind == AZMI_ID_CLIENT_ID)
		return strdup(id->value);
	claims = jwt_decode_part(tok->access_token, tok->access_token_len, 1);
	if (claims && json_object_object_get_ex(claims, "appid", &appid) &&
	    json_object_is_type(appid, json_type_string))
		r = strdup(json_object_get_string(appid));
	json_object_put(claims);
	return r;
}

static size_t token_answer(const char *resource, const struct id_query *id, const struct azmi_token *tok,
                           char *out, size_t outlen)
{
	struct json_object *res = json_object_new_string(resource);
	char *cid = client_id_of(id, tok);
	struct json_object *cido = cid ? json_object_new_string(cid) : NULL;
	size_t n = 0, blen = tok->access_token_len + 8192;
	char *body = malloc(blen);
	int len;

	if (res && body) {
		len = snprintf(body, blen,
		               "{\"access_token\":\"%s\",\"expires_on\":\"%lld\",\"resource\":%s,"
		               "\"token_type\":\"Bearer\"%s%s}",
		               tok->access_token, (long long)tok->expires_on,
		               json_object_to_json_string_ext(res, JSON_C_TO_STRING_NOSLASHESCAPE),
		               cido ? ",\"client_id\":" : "",
		               cido ? json_object_to_json_string_ext(cido, JSON_C_TO_STRING_NOSLASHESCAPE)
		                    : "");
		if (len > 0 && (size_t)len < blen)
			n = respond(200, body, (size_t)len, out, outlen);
		explicit_bzero(body, blen);
	}
	free(body);
	free(cid);
	json_object_put(cido);
	json_object_put(res);
	return n;
}

static size_t fetch(const struct serve_config *cfg, const char *resource, const struct id_query *id,
                    char *out, size_t outlen, int *status)
{
	struct azmi_request areq = {.size = sizeof(areq),
	                            .resource = resource,
	                            .id_kind = id->kind,
	                            .timeout_ms = cfg->token_timeout_ms,
	                            .credential = cfg->credential};
	struct azmi_token *tok = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	size_t n;

	if (id->kind != AZMI_ID_DEFAULT)
		areq.id_value = id->value;
	if (azmi_get_token(cfg->ctx, &areq, &tok, &err) != AZMI_OK) {
		char first[512];
		size_t l = strcspn(err.message, "\n");
		snprintf(first, sizeof(first), "%.*s", (int)(l < 500 ? l : 500), err.message);
		*status = failure_status(&err);
		serve_log(cfg, false, "token for %s%s%s: %s", resource, id->param ? " as " : "",
		          id->param ? id->param : "", first[0] ? first : azmi_strerror(err.code));
		return serve_error(*status, first[0] ? first : azmi_strerror(err.code), out, outlen);
	}
	*status = 200;
	n = token_answer(resource, id, tok, out, outlen);
	azmi_token_release(tok);
	if (n == 0)
		return (*status = 500), serve_error(500, "The answer does not fit", out, outlen);
	if (cfg->verbose)
		serve_log(cfg, false, "token for %s%s%s", resource, id->param ? " as " : "",
		          id->param ? id->param : "");
	return n;
}

size_t serve_answer(const struct serve_config *cfg, const struct http_request *req, char *out, size_t outlen,
                    int *status)
{
	char resource[HTTP_PARAM_MAX];
	struct id_query id = {0};
	const char *why;

	if ((why = request_smells(cfg, req, status)) || (why = secret_problem(cfg, req, status))) {
		serve_log(cfg, true, "refused %s %s: %s", req->method,
		          *status == 404 ? "(other path)" : req->path, why);
		return serve_error(*status, why, out, outlen);
	}
	if ((why = read_query(req, resource, sizeof(resource), &id))) {
		*status = 400;
		return serve_error(400, why, out, outlen);
	}
	if (!identity_allowed(cfg, &id)) {
		*status = 403;
		serve_log(cfg, true, "refused a token for %s=%s: not an identity this service hands out",
		          id.param ? id.param : "(default)", id.param ? id.value : "");
		return serve_error(403, "This service does not hand out tokens for that identity", out,
		                   outlen);
	}
	return fetch(cfg, resource, &id, out, outlen, status);
}

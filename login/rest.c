/* rest.c - bearer-authenticated calls to Resource Manager and Graph, retried within a deadline. */
#include "rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "ctx.h"
#include "error.h"
#include "retry.h"
#include "util.h"

#define CONNECT_TIMEOUT_MS 5000L
#define MAX_DISPLAY        300 /* characters of a URL shown in messages */

static const struct {
	const char *name;
	enum azmi_cloud cloud;
} environments[] = {
    {"AzurePublicCloud", CLOUD_PUBLIC},
    {"AzureUSGovernmentCloud", CLOUD_USGOV},
    {"AzureUSGovernment", CLOUD_USGOV},
    {"AzureChinaCloud", CLOUD_CHINA},
};

/* The base URL itself when it is one of the clouds' own, else the cloud's default audience. */
static const char *audience_for(const char *base, const char *(*cloud_base)(enum azmi_cloud),
                                enum azmi_cloud cloud)
{
	for (int c = CLOUD_PUBLIC; c <= CLOUD_CHINA; c++)
		if (strcmp(base, cloud_base((enum azmi_cloud)c)) == 0)
			return base;
	return cloud_base(cloud);
}

void rest_arm_service(const struct azmi_ctx *ctx, const char *az_environment, struct rest_service *out)
{
	const struct settings *s = &ctx->settings;
	enum azmi_cloud cloud = s->cloud;

	if (!s->cloud_explicit && az_environment != NULL)
		for (size_t i = 0; i < ARRAY_SIZE(environments); i++)
			if (strcmp(az_environment, environments[i].name) == 0)
				cloud = environments[i].cloud;
	out->name = "arm";
	out->base = s->arm_endpoint_explicit ? s->arm_endpoint : settings_cloud_arm(cloud);
	out->audience = audience_for(out->base, settings_cloud_arm, cloud);
}

void rest_graph_service(const struct azmi_ctx *ctx, struct rest_service *out)
{
	const struct settings *s = &ctx->settings;

	out->name = "graph";
	out->base = s->graph_endpoint;
	out->audience = audience_for(out->base, settings_cloud_graph, s->cloud);
}

bool rest_same_origin(const struct rest_service *svc, const char *url)
{
	size_t n = strlen(svc->base);

	return strncmp(url, svc->base, n) == 0 && url[n] == '/';
}

/* "Authorization: Bearer <token>" (a secret: freed with util_free_secret). */
static azmi_err bearer_header(struct azmi_ctx *ctx, const struct rest_call *c, bool fresh, char **out,
                              struct azmi_error *err)
{
	int64_t left = c->deadline_ms - util_mono_ms();
	struct azmi_request req = {
	    .size = sizeof(req), .resource = c->svc->audience, .flags = fresh ? AZMI_NO_CACHE : 0u};
	struct azmi_token *tok = NULL;
	struct azmi_error terr = AZMI_ERROR_INIT;
	azmi_err r;

	*out = NULL;
	if (left <= 0)
		return err_set(err, AZMI_ERR_TIMEOUT, c->svc->name, 0,
		               "%s: no time left to get a token for %s", c->svc->name, c->svc->audience);
	req.timeout_ms = (long)left;
	if ((r = azmi_get_token(ctx, &req, &tok, &terr)) != AZMI_OK)
		return err_set(err, r, c->svc->name, terr.http_status, "%s: cannot get a token for %s: %s",
		               c->svc->name, c->svc->audience, terr.message);
	if (asprintf(out, "Authorization: Bearer %.*s", (int)tok->access_token_len, tok->access_token) < 0)
		*out = NULL;
	azmi_token_release(tok);
	return *out ? AZMI_OK : err_set(err, AZMI_ERR_NOMEM, c->svc->name, 0, "out of memory");
}

static void display_url(const char *url, char *out, size_t outlen)
{
	size_t n = strcspn(url, "?");

	util_sanitize(out, outlen, url, n > MAX_DISPLAY ? MAX_DISPLAY : n);
}

static azmi_err status_error(const struct rest_call *c, const struct http_response *resp,
                             struct azmi_error *err)
{
	char where[MAX_DISPLAY + 1], text[400];
	azmi_err code =
	    resp->status >= 400 && resp->status < 500 && resp->status != 408 && resp->status != 429
	        ? AZMI_ERR_REFUSED
	        : AZMI_ERR_ENDPOINT;

	display_url(c->url, where, sizeof(where));
	answer_error_text(resp->body.data ? resp->body.data : "", resp->body.len, text, sizeof(text));
	err_set(err, code, c->svc->name, resp->status, "%s: %s %s: HTTP %ld%s%s", c->svc->name, c->method,
	        where, resp->status, text[0] ? ": " : "", text);
	if (resp->request_id[0])
		err_append(err, "correlation id %s", resp->request_id);
	return code;
}

static azmi_err transport_error(const struct rest_call *c, azmi_err rc, const struct http_response *resp,
                                struct azmi_error *err)
{
	char where[MAX_DISPLAY + 1];

	display_url(c->url, where, sizeof(where));
	err_set(err, rc, c->svc->name, 0, "%s: %s %s: %s", c->svc->name, c->method, where, resp->curl_error);
	if (resp->curl_code == CURLE_PEER_FAILED_VERIFICATION || resp->curl_code == CURLE_SSL_CACERT_BADFILE)
		err_append(err,
		           "hint: the server's certificate is not trusted; ca_file / AZMI_CA_FILE adds a CA");
	else if (rc == AZMI_ERR_UNAVAILABLE)
		err_append(err,
		           "hint: %s cannot be reached: check DNS, the route and any proxy (https_proxy)",
		           c->svc->base);
	return rc;
}

static void fill_request(const struct azmi_ctx *ctx, const struct rest_call *c, const char *auth,
                         struct http_request *hr)
{
	memset(hr, 0, sizeof(*hr));
	hr->method = c->method;
	hr->url = c->url;
	hr->headers[0] = auth;
	if (c->body) {
		hr->headers[1] = "Content-Type: application/json";
		hr->body = c->body;
		hr->body_len = strlen(c->body);
	}
	/* Remote services: the configured proxy, or the environment's where it may steer us (as for Entra). */
	hr->proxy = settings_proxy(&ctx->settings);
}

azmi_err rest_perform(struct azmi_ctx *ctx, const struct rest_call *c, struct http_response *resp,
                      struct azmi_error *err)
{
	struct retry_state rs = {0};
	struct http_request hr;
	char *auth = NULL;
	bool refreshed = false;
	int attempts = 0;
	azmi_err rc;

	http_response_init(resp, c->body_cap);
	if ((rc = bearer_header(ctx, c, false, &auth, err)) != AZMI_OK)
		return rc;
	for (;;) {
		int64_t now = util_mono_ms();
		long delay;

		if (now >= c->deadline_ms) {
			if (attempts == 0 || rc == AZMI_OK)
				rc = err_set(err, AZMI_ERR_TIMEOUT, c->svc->name, 0,
				             "%s: no time left to ask %s", c->svc->name, c->svc->base);
			break;
		}
		fill_request(ctx, c, auth, &hr);
		hr.ca_file = ctx->settings.ca_file;
		hr.timeout_ms = (long)(c->deadline_ms - now);
		hr.connect_timeout_ms =
		    CONNECT_TIMEOUT_MS < hr.timeout_ms ? CONNECT_TIMEOUT_MS : hr.timeout_ms;
		http_response_free(resp);
		http_response_init(resp, c->body_cap);
		attempts++;
		rc = http_perform(&hr, resp);
		if (rc == AZMI_OK && resp->status >= 200 && resp->status <= 299)
			break;
		if (rc == AZMI_OK && resp->status == 401 && !refreshed) {
			/* The cached token may have been revoked or be for a stale tenant: one fresh try. */
			refreshed = true;
			util_free_secret(auth);
			if ((rc = bearer_header(ctx, c, true, &auth, err)) != AZMI_OK)
				break;
			continue;
		}
		if (rc == AZMI_OK) {
			rc = status_error(c, resp, err);
			delay = retry_next_delay(&rs, resp->status, resp->retry_after_ms, RETRY_ENTRA,
			                         util_mono_ms());
		} else {
			rc = transport_error(c, rc, resp, err);
			delay = rc == AZMI_ERR_ENDPOINT
			            ? retry_next_delay(&rs, 0, -1, RETRY_ENTRA, util_mono_ms())
			            : -1;
		}
		if (delay < 0)
			break;
		if (util_mono_ms() + delay >= c->deadline_ms) {
			err_append(
			    err,
			    "gave up after %d attempt%s: the next retry (in %ld ms) would pass the deadline",
			    attempts, attempts == 1 ? "" : "s", delay);
			break;
		}
		log_line(&ctx->log, AZMI_LOG_INFO, "%s: attempt %d failed (HTTP %ld); retrying in %ld ms",
		         c->svc->name, attempts, resp->status, delay);
		util_sleep_ms(delay);
	}
	util_free_secret(auth);
	return rc;
}

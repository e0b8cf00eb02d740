/* rest.c - bearer-authenticated calls to Resource Manager and Graph, retried within a deadline. */
#include "rest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "error.h"
#include "exchange.h"
#include "util.h"

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
	hr->ca_file = ctx->settings.ca_file;
}

/* What the 401 hook needs: the context, the call and its current Authorization header. */
struct rest_state {
	struct azmi_ctx *ctx;
	const struct rest_call *c;
	char *auth;
};

/* The cached token may have been revoked or be for a stale tenant: one fresh try. */
static azmi_err refresh_bearer(void *arg, const struct http_response *resp, struct http_request *hr,
                               struct azmi_error *err)
{
	struct rest_state *st = arg;
	azmi_err rc;

	(void)resp;
	util_free_secret(st->auth);
	st->auth = NULL;
	hr->headers[0] = NULL;
	if ((rc = bearer_header(st->ctx, st->c, true, &st->auth, err)) != AZMI_OK)
		return rc;
	fill_request(st->ctx, st->c, st->auth, hr);
	return AZMI_OK;
}

static void rest_hint(void *arg, bool answered, azmi_err rc, const struct http_response *resp,
                      struct azmi_error *err)
{
	const struct rest_call *c = ((const struct rest_state *)arg)->c;

	if (answered)
		return;
	if (resp->curl_code == CURLE_PEER_FAILED_VERIFICATION || resp->curl_code == CURLE_SSL_CACERT_BADFILE)
		err_append(err,
		           "hint: the server's certificate is not trusted; ca_file / AZMI_CA_FILE adds a CA");
	else if (rc == AZMI_ERR_UNAVAILABLE)
		err_append(err,
		           "hint: %s cannot be reached: check DNS, the route and any proxy (https_proxy)",
		           c->svc->base);
}

azmi_err rest_perform(struct azmi_ctx *ctx, const struct rest_call *c, struct http_response *resp,
                      struct azmi_error *err)
{
	struct rest_state st = {ctx, c, NULL};
	struct http_request hr;
	azmi_err rc;

	http_response_init(resp, c->body_cap);
	if ((rc = bearer_header(ctx, c, false, &st.auth, err)) != AZMI_OK)
		return rc;
	http_response_free(resp);
	fill_request(ctx, c, st.auth, &hr);
	struct exchange x = {
	    .kind = strcmp(c->svc->name, "graph") == 0 ? EP_GRAPH : EP_ARM, /* same policy today */
	    .name = c->svc->name,
	    .req = &hr,
	    .body_cap = c->body_cap,
	    .deadline_ms = c->deadline_ms,
	    .log = &ctx->log,
	    .unauthorized = refresh_bearer,
	    .hint = rest_hint,
	    .arg = &st,
	};
	rc = exchange_perform(&x, resp, err);
	util_free_secret(st.auth);
	return rc;
}

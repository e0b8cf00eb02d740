/* fetch.c - asking a managed-identity endpoint for a token, retrying as the platform asks. */
#include "fetch.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "error.h"
#include "json.h"
#include "exchange.h"
#include "util.h"

static const char *id_kind_name(enum azmi_id_kind k)
{
	switch (k) {
	case AZMI_ID_CLIENT_ID:
		return "client id";
	case AZMI_ID_OBJECT_ID:
		return "object id";
	case AZMI_ID_RESOURCE_ID:
		return "resource id";
	default:
		return "system-assigned";
	}
}

/* What follows the URL in messages: the resource and the identity asked for. */
static void describe_request(const struct fetch_params *p, char *out, size_t outlen)
{
	const struct identity *id = p->identity;

	snprintf(out, outlen, "for %s, identity %s%s%s", p->resource, id_kind_name(id->kind),
	         id->value ? " " : "", id->value ? id->value : "");
}

static void hint_for_status(const struct fetch_params *p, long status, struct azmi_error *err)
{
	bool imds = p->source == &source_imds;
	bool user = p->identity->kind != AZMI_ID_SYSTEM;

	if (p->source->hint) {
		p->source->hint(status, err);
		return;
	}
	if (status == 400 && imds && user)
		err_append(err,
		           "hint: no user-assigned identity with this %s is assigned to this VM "
		           "(az vm identity assign), or the id is mistyped",
		           id_kind_name(p->identity->kind));
	else if (status == 400 && imds)
		err_append(err,
		           "hint: this VM has no system-assigned managed identity: enable one, or name a "
		           "user-assigned identity (--client-id, AZURE_CLIENT_ID)");
	else if (status == 400)
		err_append(err,
		           "hint: the endpoint found the request invalid: check the resource URI and the "
		           "identity");
	else if ((status == 401 || status == 403) && p->source == &source_appservice)
		err_append(err,
		           "hint: the endpoint refused the identity header; IDENTITY_HEADER changes when the "
		           "app restarts, so take it from the app's current environment");
	else if ((status == 401 || status == 403) && p->source == &source_azureml)
		err_append(err,
		           "hint: the endpoint refused MSI_SECRET; take it from the current environment of "
		           "the compute instance or app");
	else if ((status == 401 || status == 403) && p->source == &source_arc)
		err_append(err,
		           "hint: the Arc agent refused the key from its own challenge; is himds healthy "
		           "(azcmagent show)?");
	else if ((status == 401 || status == 403) && p->source == &source_servicefabric)
		err_append(err, "hint: the endpoint refused IDENTITY_HEADER; take it from the application's "
		                "current environment");
	else if ((status == 401 || status == 403) && !imds)
		err_append(err, "hint: the identity endpoint refused the request");
	else if (status == 403)
		err_append(err, "hint: IMDS does not send 403 for token requests: a proxy or firewall may be "
		                "answering for it");
	else if (status == 404 || status == 410)
		err_append(err, "hint: the identity endpoint is not ready (it answers 404/410 while the VM's "
		                "identity is being set up or upgraded); try again in a minute");
	else if (status == 429)
		err_append(err, "hint: too many requests: IMDS allows about 20 identity requests per second "
		                "per VM; keep the azmi cache enabled");
	else if (status >= 500)
		err_append(err, "hint: the endpoint is failing; try again later");
}

static bool is_entra(const struct source *src)
{
	return src == &source_entra_secret || src == &source_entra_cert || src == &source_entra_wi;
}

static void transport_hint(const struct fetch_params *p, const struct src_request *sr, azmi_err rc,
                           const struct http_response *resp, struct azmi_error *err)
{
	if (rc == AZMI_ERR_UNAVAILABLE && is_entra(p->source))
		err_append(err,
		           "hint: Entra cannot be reached at %s: check DNS, the route and https_proxy, or "
		           "AZURE_AUTHORITY_HOST",
		           p->settings->authority_host);
	else if (rc == AZMI_ERR_UNAVAILABLE && p->source == &source_imds)
		err_append(err,
		           "hint: nothing answers at %s: this is not an Azure VM, the VM has no network "
		           "route to IMDS, or a firewall blocks 169.254.169.254",
		           p->settings->imds_endpoint);
	else if (rc == AZMI_ERR_UNAVAILABLE)
		err_append(err, "hint: nothing answers at the identity endpoint: is the platform's identity "
		                "service running?");
	else if (rc == AZMI_ERR_PROTOCOL && sr->pin_sha1_hex)
		err_append(err,
		           "hint: the endpoint's certificate does not have the SHA-1 thumbprint in "
		           "IDENTITY_SERVER_THUMBPRINT (%s); nothing was sent to it",
		           sr->pin_sha1_hex);
	else if (rc == AZMI_ERR_PROTOCOL && strncmp(sr->url, "https:", 6) == 0 && !resp->connected)
		err_append(
		    err, "hint: the endpoint's certificate is not trusted; ca_file / AZMI_CA_FILE adds a CA");
	else if (rc == AZMI_ERR_TIMEOUT)
		err_append(err,
		           "hint: no answer within the time allowed (--timeout, or timeout in azmi.conf)");
}

/* What the exchange's hooks need: the parameters and the source's request. */
struct fetch_state {
	const struct fetch_params *p;
	struct src_request *sr;
};

static void fetch_hint(void *arg, bool answered, azmi_err rc, const struct http_response *resp,
                       struct azmi_error *err)
{
	struct fetch_state *fs = arg;

	if (answered)
		hint_for_status(fs->p, resp->status, err);
	else
		transport_hint(fs->p, fs->sr, rc, resp, err);
}

static azmi_err parse_ok(const struct fetch_params *p, const struct exchange *x,
                         const struct http_response *resp, struct azmi_token **out, struct azmi_error *err)
{
	char what[1024], why[256];
	const char *body = resp->body.data ? resp->body.data : "";
	azmi_err rc = answer_parse(body, resp->body.len, util_now(), p->resource, p->source->name, out, why,
	                           sizeof(why));

	if (rc == AZMI_OK && p->source->verify) {
		struct json_object *answer = json_parse_bounded(body, resp->body.len);
		rc = p->source->verify(p->identity, answer, err);
		json_object_put(answer);
		if (rc != AZMI_OK) {
			azmi_token_release(*out);
			*out = NULL;
		}
		return rc;
	}
	if (rc == AZMI_OK)
		return AZMI_OK;
	exchange_describe(x, what, sizeof(what));
	err_set(err, rc, p->source->name, resp->status, "%s: HTTP 200 but %s", what, why);
	return rc;
}

static void fill_http_request(const struct fetch_params *p, const struct src_request *sr,
                              struct http_request *hr)
{
	memset(hr, 0, sizeof(*hr));
	hr->method = sr->method;
	hr->url = sr->url;
	for (size_t i = 0; i < sr->nheaders; i++)
		hr->headers[i] = sr->headers[i];
	hr->body = sr->body;
	hr->body_len = sr->body ? strlen(sr->body) : 0;
	hr->connect_timeout_ms = p->connect_timeout_ms;
	/* Identity endpoints are local to the machine: a proxy must never see these requests. */
	hr->no_proxy = !sr->use_proxy;
	hr->proxy = settings_proxy(p->settings);
	hr->ca_file = p->settings->ca_file;
	hr->pin_sha1_hex = sr->pin_sha1_hex;
}

/* Azure Arc: the first 401 names a key file whose contents prove we may ask. */
static azmi_err fetch_challenge(void *arg, const struct http_response *resp, struct http_request *hr,
                                struct azmi_error *err)
{
	struct fetch_state *fs = arg;
	azmi_err rc = fs->p->source->challenge(resp, fs->sr, err);

	if (rc == AZMI_OK)
		fill_http_request(fs->p, fs->sr, hr);
	return rc;
}

azmi_err fetch_token(const struct fetch_params *p, struct azmi_token **out, struct azmi_error *err)
{
	struct src_request sr = {0};
	struct fetch_state fs = {p, &sr};
	struct http_request hr;
	struct http_response resp;
	char about[512];
	azmi_err rc;

	*out = NULL;
	if ((rc = p->source->build(p->settings, p->identity, p->resource, &sr, err)) != AZMI_OK) {
		src_request_free(&sr);
		return rc;
	}
	fill_http_request(p, &sr, &hr);
	describe_request(p, about, sizeof(about));
	struct exchange x = {
	    .kind = sr.kind,
	    .name = p->source->name,
	    .shown_url = sr.display_url,
	    .about = about,
	    .req = &hr,
	    .body_cap = HTTP_MAX_BODY,
	    .deadline_ms = p->deadline_ms,
	    .connect_timeout_ms = p->connect_timeout_ms,
	    .probe = p->probe,
	    .log = p->log,
	    .unauthorized = p->source->challenge ? fetch_challenge : NULL,
	    .hint = fetch_hint,
	    .arg = &fs,
	};
	rc = exchange_perform(&x, &resp, err);
	if (rc == AZMI_OK)
		rc = parse_ok(p, &x, &resp, out, err);
	/* A configured service principal whose Entra cannot be reached has failed, not gone. */
	if (rc == AZMI_ERR_UNAVAILABLE && is_entra(p->source)) {
		rc = AZMI_ERR_ENDPOINT;
		if (err)
			err->code = rc;
	}
	http_response_free(&resp);
	src_request_free(&sr);
	return rc;
}

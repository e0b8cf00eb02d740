/* fetch.c - asking a managed-identity endpoint for a token, retrying as the platform asks. */
#include "fetch.h"

#include <stdio.h>
#include <string.h>

#include "answer.h"
#include "error.h"
#include "json.h"
#include "retry.h"
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

/* One line saying what was asked of whom. */
static void describe_request(const struct fetch_params *p, const struct src_request *sr, char *out,
                             size_t outlen)
{
	const struct identity *id = p->identity;

	snprintf(out, outlen, "%s: %s %s for %s, identity %s%s%s", p->source->name, sr->method,
	         sr->display_url, p->resource, id_kind_name(id->kind), id->value ? " " : "",
	         id->value ? id->value : "");
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

static azmi_err status_error(const struct fetch_params *p, const struct src_request *sr,
                             const struct http_response *resp, struct azmi_error *err)
{
	char what[512], text[400];
	azmi_err code = resp->status >= 400 && resp->status < 500 && resp->status != 404 &&
	                        resp->status != 408 && resp->status != 410 && resp->status != 429
	                    ? AZMI_ERR_REFUSED
	                    : AZMI_ERR_ENDPOINT;

	describe_request(p, sr, what, sizeof(what));
	answer_error_text(resp->body.data, resp->body.len, text, sizeof(text));
	err_set(err, code, p->source->name, resp->status, "%s: HTTP %ld%s%s", what, resp->status,
	        text[0] ? ": " : "", text);
	hint_for_status(p, resp->status, err);
	return code;
}

static bool is_entra(const struct source *src)
{
	return src == &source_entra_secret || src == &source_entra_cert || src == &source_entra_wi;
}

static azmi_err transport_error(const struct fetch_params *p, const struct src_request *sr, azmi_err rc,
                                const struct http_response *resp, struct azmi_error *err)
{
	char what[512];

	describe_request(p, sr, what, sizeof(what));
	err_set(err, rc, p->source->name, resp->status, "%s: %s", what, resp->curl_error);
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
	return rc;
}

static azmi_err parse_ok(const struct fetch_params *p, const struct src_request *sr,
                         const struct http_response *resp, struct azmi_token **out, struct azmi_error *err)
{
	char what[512], why[256];
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
	describe_request(p, sr, what, sizeof(what));
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

azmi_err fetch_token(const struct fetch_params *p, struct azmi_token **out, struct azmi_error *err)
{
	struct src_request sr = {0};
	struct http_request hr;
	struct http_response resp;
	struct retry_state rs = {0};
	azmi_err rc;
	int attempts = 0;
	bool challenged = false;

	*out = NULL;
	if ((rc = p->source->build(p->settings, p->identity, p->resource, &sr, err)) != AZMI_OK) {
		src_request_free(&sr);
		return rc;
	}
	fill_http_request(p, &sr, &hr);
	for (;;) {
		int64_t now = util_mono_ms();
		long delay;

		if (now >= p->deadline_ms) {
			if (attempts == 0) {
				rc = err_set(err, AZMI_ERR_TIMEOUT, p->source->name, 0,
				             "%s: no time left to ask", p->source->name);
			}
			break;
		}
		hr.timeout_ms = (long)(p->deadline_ms - now);
		if (hr.connect_timeout_ms > hr.timeout_ms)
			hr.connect_timeout_ms = hr.timeout_ms;
		http_response_init(&resp, HTTP_MAX_BODY);
		attempts++;
		rc = http_perform(&hr, &resp);
		if (rc == AZMI_OK && resp.status == 200) {
			rc = parse_ok(p, &sr, &resp, out, err);
			http_response_free(&resp);
			break;
		}
		if (rc == AZMI_OK && resp.status == 401 && p->source->challenge && !challenged) {
			/* Azure Arc: the first 401 names a key file whose contents prove we may ask. */
			challenged = true;
			rc = p->source->challenge(&resp, &sr, err);
			http_response_free(&resp);
			if (rc != AZMI_OK)
				break;
			fill_http_request(p, &sr, &hr);
			continue;
		}
		if (rc == AZMI_OK) {
			rc = status_error(p, &sr, &resp, err);
			delay = retry_next_delay(&rs, resp.status, resp.retry_after_ms, sr.retry_flags,
			                         util_mono_ms());
		} else {
			rc = transport_error(p, &sr, rc, &resp, err);
			if (p->probe && !resp.connected && attempts == 1) {
				/* Nothing there at all: this link of the chain is unavailable; the next may answer. */
				rc = AZMI_ERR_UNAVAILABLE;
				if (err)
					err->code = rc;
			}
			/* A dropped connection is worth another try; a refused one or a cap breach is not. */
			delay = rc == AZMI_ERR_ENDPOINT
			            ? retry_next_delay(&rs, 0, -1, sr.retry_flags, util_mono_ms())
			            : -1;
			/* A configured service principal whose Entra cannot be reached has failed, not gone. */
			if (rc == AZMI_ERR_UNAVAILABLE && is_entra(p->source)) {
				rc = AZMI_ERR_ENDPOINT;
				if (err)
					err->code = rc;
			}
		}
		http_response_free(&resp);
		if (delay < 0)
			break;
		if (util_mono_ms() + delay >= p->deadline_ms) {
			err_append(err,
			           "gave up after %d attempt%s: the next retry (in %ld ms) would pass the "
			           "deadline",
			           attempts, attempts == 1 ? "" : "s", delay);
			break;
		}
		log_line(p->log, AZMI_LOG_INFO, "%s: attempt %d failed (HTTP %ld); retrying in %ld ms",
		         p->source->name, attempts, err ? err->http_status : 0L, delay);
		util_sleep_ms(delay);
	}
	src_request_free(&sr);
	return rc;
}

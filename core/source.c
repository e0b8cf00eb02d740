/* source.c - detection of the managed-identity source and request helpers. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

const struct source *source_detect(const struct settings *s, const char **why)
{
	const char *dummy;

	if (why == NULL)
		why = &dummy;
	if (s->identity_endpoint && s->identity_header && s->identity_server_thumbprint) {
		*why = "IDENTITY_ENDPOINT, IDENTITY_HEADER and IDENTITY_SERVER_THUMBPRINT are set";
		return &source_servicefabric;
	}
	if (s->identity_endpoint && s->identity_header) {
		*why = "IDENTITY_ENDPOINT and IDENTITY_HEADER are set";
		return &source_appservice;
	}
	if (s->msi_endpoint && s->msi_secret) {
		*why = "MSI_ENDPOINT and MSI_SECRET are set";
		return &source_azureml;
	}
	if (s->msi_endpoint) {
		*why = "MSI_ENDPOINT is set without MSI_SECRET";
		return &source_cloudshell;
	}
	if (s->identity_endpoint && s->arc_imds_endpoint) {
		*why = "IDENTITY_ENDPOINT and IMDS_ENDPOINT are set";
		return &source_arc;
	}
	if (access(ARC_HIMDS_PATH, F_OK) == 0) {
		*why = "the Azure Arc agent is installed (" ARC_HIMDS_PATH ")";
		return &source_arc;
	}
	*why = "no other managed-identity environment is set";
	return &source_imds;
}

void src_request_free(struct src_request *r)
{
	free(r->url);
	free(r->display_url);
	for (size_t i = 0; i < r->nheaders; i++)
		util_free_secret(r->headers[i]);
	util_free_secret(r->body);
	free(r->pin_sha1_hex);
	memset(r, 0, sizeof(*r));
}

azmi_err src_request_header(struct src_request *r, const char *name, const char *value)
{
	char *h;

	if (r->nheaders == HTTP_MAX_REQUEST_HEADERS)
		return AZMI_ERR_USAGE;
	if (asprintf(&h, "%s: %s", name, value) < 0)
		return AZMI_ERR_NOMEM;
	r->headers[r->nheaders++] = h;
	return AZMI_OK;
}

azmi_err src_request_url(struct src_request *r, const char *base, const char *query)
{
	const char *q = strchr(base, '?');

	if (asprintf(&r->url, "%s%c%s", base, q ? '&' : '?', query) < 0) {
		r->url = NULL;
		return AZMI_ERR_NOMEM;
	}
	r->display_url = q ? strndup(base, (size_t)(q - base)) : strdup(base);
	return r->display_url ? AZMI_OK : AZMI_ERR_NOMEM;
}

/* "&name=<escaped id>" for a user-assigned identity, "" for the system one; NULL when not accepted. */
static azmi_err identity_param(const struct identity *id, const char *const names[3], char **out)
{
	const char *name = NULL;
	char *esc;
	int n;

	*out = NULL;
	if (id->kind == AZMI_ID_SYSTEM || id->kind == AZMI_ID_DEFAULT) {
		*out = strdup("");
		return *out ? AZMI_OK : AZMI_ERR_NOMEM;
	}
	if (id->kind >= AZMI_ID_CLIENT_ID && id->kind <= AZMI_ID_RESOURCE_ID)
		name = names[id->kind - AZMI_ID_CLIENT_ID];
	if (name == NULL)
		return AZMI_ERR_USAGE;
	if ((esc = http_escape(id->value)) == NULL)
		return AZMI_ERR_NOMEM;
	n = asprintf(out, "&%s=%s", name, esc);
	free(esc);
	if (n < 0) {
		*out = NULL;
		return AZMI_ERR_NOMEM;
	}
	return AZMI_OK;
}

azmi_err source_build_get(struct src_request *out, const char *source, const char *base,
                          const char *api_version, const char *resource, const struct identity *id,
                          const char *const names[3], const char *header, const char *header_value,
                          struct azmi_error *err)
{
	char *res = NULL, *idp = NULL, *query = NULL;
	azmi_err r;

	out->method = "GET";
	if ((r = identity_param(id, names, &idp)) == AZMI_ERR_USAGE)
		return err_set(err, r, source, 0,
		               "%s: this endpoint cannot name a user-assigned identity by %s", source,
		               id->kind == AZMI_ID_OBJECT_ID     ? "object id"
		               : id->kind == AZMI_ID_RESOURCE_ID ? "resource id"
		                                                 : "client id");
	r = AZMI_ERR_NOMEM;
	if (idp == NULL || (res = http_escape(resource)) == NULL)
		goto out;
	if (asprintf(&query, "api-version=%s&resource=%s%s", api_version, res, idp) < 0) {
		query = NULL;
		goto out;
	}
	if (src_request_url(out, base, query) != AZMI_OK ||
	    (header && src_request_header(out, header, header_value) != AZMI_OK))
		goto out;
	r = AZMI_OK;
out:
	free(res);
	free(idp);
	free(query);
	if (r != AZMI_OK)
		err_set(err, r, source, 0, "%s: out of memory building the request", source);
	return r;
}

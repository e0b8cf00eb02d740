/* source_appservice.c - App Service / Functions / Container Apps identity endpoint (2019-08-01). */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"

#define APPSERVICE_API_VERSION "2019-08-01"

static azmi_err appservice_build(const struct settings *s, const struct identity *id, const char *resource,
				 struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {"client_id", "principal_id", "mi_res_id"};
	char *res = NULL, *idp = NULL, *query = NULL;
	azmi_err r = AZMI_ERR_NOMEM;

	out->method = "GET";
	if ((res = http_escape(resource)) == NULL || source_identity_param(id, names, &idp) != AZMI_OK)
		goto out;
	if (asprintf(&query, "api-version=" APPSERVICE_API_VERSION "&resource=%s%s", res, idp) < 0) {
		query = NULL;
		goto out;
	}
	if (src_request_url(out, s->identity_endpoint, query) != AZMI_OK ||
	    src_request_header(out, "X-IDENTITY-HEADER", s->identity_header) != AZMI_OK)
		goto out;
	r = AZMI_OK;
out:
	free(res);
	free(idp);
	free(query);
	if (r != AZMI_OK)
		err_set(err, r, "appservice", 0, "out of memory building the App Service request");
	return r;
}

const struct source source_appservice = {
	.name = "appservice",
	.title = "App Service managed identity (IDENTITY_ENDPOINT)",
	.build = appservice_build,
};

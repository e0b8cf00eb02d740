/*
 * source_azureml.c - MSI_ENDPOINT + MSI_SECRET: Azure Machine Learning compute,
 * and the legacy App Service 2017-09-01 form that speaks the same protocol
 * (its date-string expiry is parsed by expiry.c).
 */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"

static azmi_err azureml_build(const struct settings *s, const struct identity *id, const char *resource,
			      struct src_request *out, struct azmi_error *err)
{
	const char *client = id->kind == AZMI_ID_CLIENT_ID ? id->value : s->default_identity_client_id;
	char *res = NULL, *cid = NULL, *query = NULL;
	azmi_err r = AZMI_ERR_NOMEM;

	if (id->kind == AZMI_ID_OBJECT_ID || id->kind == AZMI_ID_RESOURCE_ID)
		return err_set(err, AZMI_ERR_USAGE, "azureml", 0,
			       "azureml: this endpoint names user-assigned identities by client id only");
	out->method = "GET";
	if ((res = http_escape(resource)) == NULL || (client && (cid = http_escape(client)) == NULL))
		goto out;
	if (asprintf(&query, "api-version=2017-09-01&resource=%s%s%s", res, cid ? "&clientid=" : "",
		     cid ? cid : "") < 0) {
		query = NULL;
		goto out;
	}
	if (src_request_url(out, s->msi_endpoint, query) != AZMI_OK ||
	    src_request_header(out, "secret", s->msi_secret) != AZMI_OK)
		goto out;
	r = AZMI_OK;
out:
	free(res);
	free(cid);
	free(query);
	if (r != AZMI_OK)
		err_set(err, r, "azureml", 0, "out of memory building the request");
	return r;
}

const struct source source_azureml = {
	.name = "azureml",
	.title = "Azure ML / App Service 2017 managed identity (MSI_ENDPOINT, MSI_SECRET)",
	.build = azureml_build,
};

/* source_imds.c - the Azure Instance Metadata Service token endpoint. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"

#define IMDS_TOKEN_PATH "/metadata/identity/oauth2/token"
#define IMDS_API_VERSION "2018-02-01"

static azmi_err imds_build(const struct settings *s, const struct identity *id, const char *resource,
			   struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {"client_id", "object_id", "msi_res_id"};
	char *base = NULL, *res = NULL, *idp = NULL, *query = NULL;
	azmi_err r = AZMI_ERR_NOMEM;

	out->method = "GET";
	if (asprintf(&base, "%s%s", s->imds_endpoint, IMDS_TOKEN_PATH) < 0) {
		base = NULL;
		goto out;
	}
	if ((res = http_escape(resource)) == NULL || source_identity_param(id, names, &idp) != AZMI_OK)
		goto out;
	if (asprintf(&query, "api-version=" IMDS_API_VERSION "&resource=%s%s", res, idp) < 0) {
		query = NULL;
		goto out;
	}
	if (src_request_url(out, base, query) != AZMI_OK || src_request_header(out, "Metadata", "true") != AZMI_OK)
		goto out;
	r = AZMI_OK;
out:
	free(base);
	free(res);
	free(idp);
	free(query);
	if (r != AZMI_OK)
		err_set(err, r, "imds", 0, "out of memory building the IMDS request");
	return r;
}

const struct source source_imds = {
	.name = "imds",
	.title = "Azure Instance Metadata Service (IMDS)",
	.build = imds_build,
};

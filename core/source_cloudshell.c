/* source_cloudshell.c - Azure Cloud Shell: MSI_ENDPOINT alone, a form POST. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static azmi_err cloudshell_build(const struct settings *s, const struct identity *id, const char *resource,
                                 struct src_request *out, struct azmi_error *err)
{
	char *res;

	if (id->kind != AZMI_ID_SYSTEM)
		return err_set(
		    err, AZMI_ERR_USAGE, "cloudshell", 0,
		    "cloudshell: Cloud Shell has only the signed-in user's identity; user-assigned "
		    "identities cannot be chosen there");
	out->method = "POST";
	if ((res = http_escape(resource)) == NULL)
		goto nomem;
	if (asprintf(&out->body, "resource=%s", res) < 0) {
		out->body = NULL;
		free(res);
		goto nomem;
	}
	free(res);
	out->url = strdup(s->msi_endpoint);
	out->display_url = strdup(s->msi_endpoint);
	if (out->url == NULL || out->display_url == NULL ||
	    src_request_header(out, "Metadata", "true") != AZMI_OK ||
	    src_request_header(out, "Content-Type", "application/x-www-form-urlencoded") != AZMI_OK)
		goto nomem;
	return AZMI_OK;
nomem:
	return err_set(err, AZMI_ERR_NOMEM, "cloudshell", 0, "out of memory building the request");
}

const struct source source_cloudshell = {
    .name = "cloudshell",
    .title = "Azure Cloud Shell (MSI_ENDPOINT)",
    .build = cloudshell_build,
};

/* source_imds.c - the Azure Instance Metadata Service token endpoint. */
#include "source.h"

#include <stdio.h>
#include <stdlib.h>

#include "error.h"

#define IMDS_TOKEN_PATH  "/metadata/identity/oauth2/token"
#define IMDS_API_VERSION "2018-02-01"

static azmi_err imds_build(const struct settings *s, const struct identity *id, const char *resource,
                           struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {"client_id", "object_id", "msi_res_id"};
	char *base = NULL;
	azmi_err r;

	if (asprintf(&base, "%s%s", s->imds_endpoint, IMDS_TOKEN_PATH) < 0)
		return err_set(err, AZMI_ERR_NOMEM, "imds", 0, "out of memory");
	r = source_build_get(out, "imds", base, IMDS_API_VERSION, resource, id, names, "Metadata", "true",
	                     err);
	free(base);
	return r;
}

const struct source source_imds = {
    .name = "imds",
    .title = "Azure Instance Metadata Service (IMDS)",
    .build = imds_build,
};

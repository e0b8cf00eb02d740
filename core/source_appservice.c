/* source_appservice.c - App Service / Functions / Container Apps identity endpoint (2019-08-01). */
#include "source.h"

#define APPSERVICE_API_VERSION "2019-08-01"

static azmi_err appservice_build(const struct settings *s, const struct identity *id, const char *resource,
                                 struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {"client_id", "principal_id", "mi_res_id"};

	return source_build_get(out, "appservice", s->identity_endpoint, APPSERVICE_API_VERSION, resource, id,
	                        names, "X-IDENTITY-HEADER", s->identity_header, err);
}

const struct source source_appservice = {
    .name = "appservice",
    .title = "App Service managed identity (IDENTITY_ENDPOINT)",
    .build = appservice_build,
};

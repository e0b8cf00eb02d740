/*
 * source_azureml.c - MSI_ENDPOINT + MSI_SECRET: Azure Machine Learning compute,
 * and the legacy App Service 2017-09-01 form that speaks the same protocol
 * (its date-string expiry is parsed by expiry.c).
 */
#include "source.h"

static azmi_err azureml_build(const struct settings *s, const struct identity *id, const char *resource,
                              struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {"clientid", NULL, NULL};
	struct identity client = *id;

	/* The compute's default identity is named explicitly when no other is asked for. */
	if (id->kind == AZMI_ID_SYSTEM && s->default_identity_client_id) {
		client.kind = AZMI_ID_CLIENT_ID;
		client.value = s->default_identity_client_id;
	}
	return source_build_get(out, "azureml", s->msi_endpoint, "2017-09-01", resource, &client, names,
	                        "secret", s->msi_secret, err);
}

const struct source source_azureml = {
    .name = "azureml",
    .title = "Azure ML / App Service 2017 managed identity (MSI_ENDPOINT, MSI_SECRET)",
    .build = azureml_build,
};

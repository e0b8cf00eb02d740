/* credential.c - the credential chain's links and their order. */
#include "credential.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"

static const struct {
	const char *name;
	const char *sdk_name;
} creds[CRED_COUNT] = {
    [CRED_ENVIRONMENT] = {"environment", "EnvironmentCredential"},
    [CRED_WORKLOAD] = {"workload_identity", "WorkloadIdentityCredential"},
    [CRED_MANAGED] = {"managed_identity", "ManagedIdentityCredential"},
    [CRED_AZURE_CLI] = {"azure_cli", "AzureCliCredential"},
};

const char *credential_name(enum cred_id c)
{
	return c < CRED_COUNT ? creds[c].name : "?";
}

int credential_by_name(const char *name)
{
	for (int i = 0; i < CRED_COUNT; i++)
		if (strcasecmp(name, creds[i].name) == 0 || strcasecmp(name, creds[i].sdk_name) == 0)
			return i;
	return -1;
}

bool credential_configured(const struct settings *s, enum cred_id c, char *why, size_t whylen)
{
	switch (c) {
	case CRED_ENVIRONMENT:
		if (s->tenant_id && s->azure_client_id && (s->client_secret || s->client_cert_path))
			return true;
		if (s->user_password)
			return true; /* as the SDKs' username/password flow; refused by credential_unsupported */
		snprintf(why, whylen,
		         "not configured (needs AZURE_TENANT_ID, AZURE_CLIENT_ID and "
		         "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)");
		return false;
	case CRED_WORKLOAD:
		if (s->tenant_id && s->azure_client_id && s->federated_token_file)
			return true;
		snprintf(why, whylen,
		         "not configured (needs AZURE_TENANT_ID, AZURE_CLIENT_ID and "
		         "AZURE_FEDERATED_TOKEN_FILE)");
		return false;
	case CRED_MANAGED:
		return true;
	case CRED_AZURE_CLI:
		if (s->env_trusted)
			return true;
		/* az is found on the caller's PATH and reads the caller's files: never from su, sudo or sshd. */
		snprintf(
		    why, whylen,
		    "never run from a login module or a setuid program (the environment is the caller's)");
		return false;
	default:
		snprintf(why, whylen, "unknown credential");
		return false;
	}
}

bool credential_unsupported(const struct settings *s, enum cred_id c, char *why, size_t whylen)
{
	bool secret = s->client_secret || s->client_cert_path;

	if (c == CRED_ENVIRONMENT && s->user_password && !secret) {
		snprintf(why, whylen,
		         "AZURE_USERNAME/AZURE_PASSWORD sign-in is not supported (deprecated by "
		         "the SDKs, fails under MFA, keeps a person's password in the environment): use a "
		         "service principal, workload identity or managed identity");
		return true;
	}
	if ((c == CRED_ENVIRONMENT || c == CRED_WORKLOAD) && s->regional_authority) {
		snprintf(
		    why, whylen,
		    "AZURE_REGIONAL_AUTHORITY_NAME (regional Entra endpoints) is not supported: unset it, "
		    "and azmi asks %s",
		    s->authority_host);
		return true;
	}
	return false;
}

const struct source *credential_source(const struct settings *s, enum cred_id c, const struct source *mi)
{
	switch (c) {
	case CRED_ENVIRONMENT:
		return s->client_secret ? &source_entra_secret : &source_entra_cert;
	case CRED_WORKLOAD:
		return &source_entra_wi;
	case CRED_MANAGED:
		return mi;
	default:
		return NULL;
	}
}

int credential_chain(const struct settings *s, enum cred_id order[CRED_COUNT], struct azmi_error *err)
{
	const char *v = s->token_credentials;
	int n = 0, one;

	if (v == NULL || strcasecmp(v, "prod") == 0) {
		order[n++] = CRED_ENVIRONMENT;
		order[n++] = CRED_WORKLOAD;
		order[n++] = CRED_MANAGED;
		if (v == NULL && s->use_azure_cli)
			order[n++] = CRED_AZURE_CLI;
		return n;
	}
	if (strcasecmp(v, "dev") == 0) {
		order[n++] = CRED_AZURE_CLI;
		return n;
	}
	if ((one = credential_by_name(v)) < 0) {
		err_set(err, AZMI_ERR_CONFIG, "", 0,
		        "AZURE_TOKEN_CREDENTIALS=%.64s is not prod, dev, EnvironmentCredential, "
		        "WorkloadIdentityCredential, ManagedIdentityCredential or AzureCliCredential",
		        v);
		return -1;
	}
	order[n++] = (enum cred_id)one;
	return n;
}

/*
 * credential.h - the links of the chain the Azure SDKs' DefaultAzureCredential
 * tries, in its order: environment service principal, workload identity,
 * managed identity, Azure CLI; which of them are configured here.
 */
#ifndef AZMI_CREDENTIAL_H
#define AZMI_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "config.h"
#include "source.h"

enum cred_id { CRED_ENVIRONMENT = 0, CRED_WORKLOAD, CRED_MANAGED, CRED_AZURE_CLI, CRED_COUNT };

/* "environment", "workload_identity", "managed_identity", "azure_cli". */
const char *credential_name(enum cred_id c);

/* The credential named `name` (ours or the SDKs' class name, any case), or -1. */
int credential_by_name(const char *name);

/*
 * Whether `c` is configured by the environment; when not, a sentence why.
 * Managed identity and the Azure CLI are always configured: only asking them tells.
 */
bool credential_configured(const struct settings *s, enum cred_id c, char *why, size_t whylen);

/*
 * Whether `c` is configured in a way azmi refuses (one line in `why`), so the
 * chain ends there instead of silently going on: the username/password flow
 * (AZURE_USERNAME/AZURE_PASSWORD without a secret or certificate) and regional
 * Entra endpoints (AZURE_REGIONAL_AUTHORITY_NAME) for the Entra links.
 */
bool credential_unsupported(const struct settings *s, enum cred_id c, char *why, size_t whylen);

/* The HTTP source behind `c` (NULL for the Azure CLI); `mi` is the detected managed-identity source. */
const struct source *credential_source(const struct settings *s, enum cred_id c, const struct source *mi);

/*
 * The chain to try, from AZURE_TOKEN_CREDENTIALS ("prod", "dev" or one
 * credential) or the default (environment, workload identity, managed
 * identity, and the Azure CLI when use_azure_cli = yes).  Returns the count.
 */
int credential_chain(const struct settings *s, enum cred_id order[CRED_COUNT], struct azmi_error *err);

#endif

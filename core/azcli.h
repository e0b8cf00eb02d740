/* azcli.h - the Azure CLI as a credential: az account get-access-token. */
#ifndef AZMI_AZCLI_H
#define AZMI_AZCLI_H

#include <stdint.h>

#include "azmi.h"
#include "error.h"

#define AZCLI_TIMEOUT_MS 10000
#define AZCLI_MAX_OUTPUT (256 * 1024)

/*
 * Run `az account get-access-token --output json --resource R` (found on
 * PATH) for at most 10 s (and not past monotonic `deadline_ms`), and read
 * accessToken and expires_on (epoch), or, from Azure CLI before 2.54, the naive
 * local-time expiresOn (read in the process's time zone, as the SDKs do).
 * AZMI_ERR_UNAVAILABLE when az is not installed or not logged in.
 */
AZMI_MUST_CHECK azmi_err azcli_get_token(const char *resource, int64_t deadline_ms, struct azmi_token **out,
                                         struct azmi_error *err);

/* Parse az's JSON output (exposed for tests and fuzzing). */
AZMI_MUST_CHECK azmi_err azcli_parse(const char *text, size_t len, const char *resource, int64_t now,
                                     struct azmi_token **out, struct azmi_error *err);

#endif

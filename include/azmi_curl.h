/*
 * azmi_curl.h - Microsoft Entra bearer tokens attached to libcurl requests
 * for Azure Blob Storage, Resource Manager, Key Vault, Container Registry and
 * Azure DevOps, from the machine's managed identity, with no secret on disk.
 *
 * The same decision serves three uses:
 *   - LD_PRELOAD=libazmi_curl.so.1 for any dynamically linked libcurl program
 *     (the `curl` command, or `azmi curl ...` / `azmi exec -- CMD ...`);
 *   - azmi_curl_install(): a program linked with -lazmi_curl (listed before
 *     -lcurl) gets the same behaviour for every handle;
 *   - azmi_curl_prepare(): one call per handle, for programs that want to
 *     decide where tokens go themselves.
 *
 * Azure Container Registry (<name>.azurecr.io, .azurecr.us, .azurecr.cn):
 * when the hooks are installed, a GET or HEAD of https://<registry>/v2/...
 * answered 401 with a Bearer challenge whose realm is that registry's own
 * https://<registry>/oauth2/token is performed once more with a registry
 * access token for the challenge's scope (the machine's Entra token
 * exchanged for a refresh token, cached across processes).  Through
 * curl_easy_perform the 401 is never shown to the application; under the
 * multi interface libcurl repeats the request itself (libcurl 7.84 or later).
 *
 * A token is attached only to https URLs whose host matches a rule on label
 * boundaries (<acct>.blob.core.windows.net, management.azure.com,
 * <vault>.vault.azure.net, their US Government and China twins, dev.azure.com
 * and <org>.visualstudio.com, and the administrator's curl_rule lines in
 * /etc/azmi.conf), through libcurl's own bearer support (never sent to a
 * proxy), with redirects to another origin never carrying it.  Nothing is
 * attached when the application brought its own credentials (Authorization
 * header, user or password, bearer, SigV4, a SAS "sig=" in the query) or
 * turned TLS verification off; CURLOPT_HTTPAUTH alone is not a credential.
 * Before every request of a transfer (redirects and authentication repeats
 * included) a CURLOPT_PREREQFUNCTION, chained ahead of the application's own,
 * checks the URL libcurl really uses and takes the token away when it no
 * longer belongs; verbose output shows it as "<hidden by azmi>".
 *
 * Configuration (the core's file, $AZMI_CONFIG or /etc/azmi.conf):
 *   curl_rule = <host pattern> <scope>|none    extra rules, checked before the built-in ones
 *                                              ("*" matches within one label: *.api.contoso.example)
 *   storage_version = 2021-08-06               x-ms-version sent to Storage when the app sent none
 *   curl_retry_on_challenge = yes              one refresh-and-retry of a Storage GET/HEAD answered
 *                                              401 with a Bearer challenge naming Storage
 * Environment: AZURE_CLIENT_ID picks a user-assigned identity; AZMI_CURL_STRICT=1 fails a
 * transfer that should have carried a token but could not (instead of one stderr line).
 *
 * Example:
 *
 *   #include <curl/curl.h>
 *   #include <azmi_curl.h>
 *
 *   CURL *h = curl_easy_init();
 *   struct azmi_error err = AZMI_ERROR_INIT;
 *   if (azmi_curl_prepare(h, "https://acct.blob.core.windows.net/c/b", &err) != AZMI_OK)
 *           fprintf(stderr, "%s\n", err.message);   // the request would go without a token
 *   curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
 *   curl_easy_perform(h);
 *   curl_easy_cleanup(h);
 *
 * Link with `-lazmi_curl -lcurl` (pkg-config: azmi plus libcurl).
 */
#ifndef AZMI_CURL_H
#define AZMI_CURL_H

#include <curl/curl.h>

#include "azmi.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Set `url` on `h` (CURLOPT_URL; NULL keeps the URL already set through the
 * hooks) and attach a token for its next transfer when the URL is one azmi
 * serves; otherwise remove any token azmi attached before.  AZMI_OK when the
 * handle is ready either way; an error (with `err` filled) when a token was
 * due but could not be had, or refused (AZMI_ERR_USAGE: the handle sends
 * credentials after cross-origin redirects).  Call again before each reuse.
 * `err` may be NULL; one not set up by AZMI_ERROR_INIT (another size) gets
 * AZMI_ERR_USAGE and is not written.
 */
azmi_err azmi_curl_prepare(CURL *h, const char *url, struct azmi_error *err);

/*
 * From now on decide for every handle of the process at each
 * curl_easy_perform() and curl_multi_add_handle(), as the preloaded library
 * does (it takes effect when the program's libcurl calls reach this library:
 * link it before libcurl, or preload it).  A missing token is reported once
 * on stderr; AZMI_CURL_STRICT=1 fails such transfers.  Idempotent.
 */
azmi_err azmi_curl_install(struct azmi_error *err);

/*
 * The scope azmi would request for `url` ("https://storage.azure.com/.default"
 * ...), or NULL when nothing would be attached to it (not https, no curl_rule
 * and no built-in rule of the configured cloud matching).  Credentials the
 * application may set are not considered.  The string
 * lives as long as the process.
 */
const char *azmi_curl_scope(const char *url);

#ifdef __cplusplus
}
#endif
#endif /* AZMI_CURL_H */

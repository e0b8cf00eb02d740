/*
 * acr_retry.h - Azure Container Registry for the curl plug-in.
 *
 * A registry answers an anonymous GET /v2/... with 401 and
 * `Bearer realm="https://<registry>/oauth2/token",service="<registry>",scope="repository:x:pull"`.
 * The plug-in holds that answer back, checks that the realm is the token
 * endpoint of the very registry asked (https, same host) and the service is
 * that registry, gets an access token for the scope from the core (Entra
 * token -> refresh token, cached across processes -> access token), and
 * performs the request once more with it.  Anything else (another realm, no
 * token to be had) hands the 401 to the application unchanged, with one line
 * on stderr; AZMI_CURL_STRICT=1 fails the transfer instead.
 *
 * Through curl_easy_perform the 401 is held back and the request performed
 * again.  Under the multi interface (curl --parallel, git) the application
 * drives the transfer: the handle is armed so that libcurl itself repeats the
 * request after the Bearer challenge, and the pre-request check before that
 * repeat (recheck.c) answers it with acr_answer().  Only for GET and HEAD,
 * only when the plug-in is installed (preloaded, or azmi_curl_install()).
 */
#ifndef AZMI_ACR_RETRY_H
#define AZMI_ACR_RETRY_H

#include <stdbool.h>

#include "challenge_retry.h"
#include "plugin.h"

/*
 * When the next transfer of `h` is a registry API call azmi answers, perform
 * it on the registry path, set *rc and return true; otherwise return false
 * (nothing done: perform it as usual).
 */
bool acr_retry_perform(CURL *h, CURLcode *rc);

/* Before curl_multi_add_handle: arm `h` when its transfer is a registry API call azmi answers. */
void acr_arm_multi(CURL *h);

/*
 * Answer the registry challenge `www_authenticate` for `t` (realm and
 * service pinned to the registry): get an access token for its scope and
 * attach it to `h`.  HOLD_RETRY when attached; HOLD_RELEASE or (strict mode)
 * HOLD_FAIL otherwise, after one stderr line.
 */
enum hold_verdict acr_answer(CURL *h, const struct registry_target *t, const char *www_authenticate);

#endif

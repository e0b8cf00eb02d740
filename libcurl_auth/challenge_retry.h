/*
 * challenge_retry.h - one refresh-and-retry when Storage refuses a token with a
 * Bearer challenge that names the token's own audience.
 *
 * Only with `curl_retry_on_challenge = yes`, only through curl_easy_perform
 * (a multi transfer is driven by the application), only for GET and HEAD
 * requests that carry a Storage token and were not redirected.  The 401
 * answer is held back from the application (headers and body, up to
 * RETRY_MAX_HELD bytes) and handed over unchanged when no retry happens;
 * the challenge may confirm the allow-listed audience, never choose one.
 */
#ifndef AZMI_CHALLENGE_RETRY_H
#define AZMI_CHALLENGE_RETRY_H

#include <stdbool.h>

#include "plugin.h"

#define RETRY_MAX_HELD (64 * 1024)

/* True when the next perform of `h` qualifies for the retry. */
bool challenge_retry_wanted(CURL *h);

/* Perform `h` with the 401 held back, then retry once with a fresh token if the challenge confirms it. */
CURLcode challenge_retry_perform(CURL *h);

#endif

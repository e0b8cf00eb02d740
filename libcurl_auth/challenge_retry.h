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

/* What to do with a held 401 answer. */
enum hold_verdict {
	HOLD_RELEASE, /* hand the 401 to the application unchanged */
	HOLD_RETRY,   /* the callback set what the retry needs on the handle: perform once more */
	HOLD_FAIL,    /* drop the 401 and fail the transfer (strict mode) */
};

/*
 * Decide about a held 401 whose first WWW-Authenticate value is
 * `www_authenticate` ("" when none); `arg` is the caller's.
 */
typedef enum hold_verdict hold_answer_fn(CURL *h, const char *www_authenticate, void *arg);

/*
 * Perform `h` with a first answer of 401 held back from the application
 * (headers and body, up to RETRY_MAX_HELD bytes), ask `answer` about it
 * (unless the transfer was redirected), and perform once more when it says
 * so.  The container registry path (acr_retry.c) and the Storage retry
 * below share it.
 */
CURLcode challenge_hold_perform(CURL *h, hold_answer_fn *answer, void *arg);

/* True when the next perform of `h` qualifies for the retry. */
bool challenge_retry_wanted(CURL *h);

/* Perform `h` with the 401 held back, then retry once with a fresh token if the challenge confirms it. */
CURLcode challenge_retry_perform(CURL *h);

#endif

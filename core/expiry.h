/*
 * expiry.h - when a token expires and when to refresh it, from the fields of
 * a token answer.  Relative fields (refresh_in, expires_in) are preferred
 * over absolute ones (expires_on) so that clock skew matters less.
 */
#ifndef AZMI_EXPIRY_H
#define AZMI_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "error.h"

#define EXPIRY_MAX_LIFETIME   (7 * 86400) /* longer than any Entra token: refuse */
#define EXPIRY_MARGIN         300         /* a token is fresh until 5 minutes before expiry */
#define EXPIRY_HALF_LIFE_FROM 7200        /* tokens living this long refresh at half-life */

struct expiry {
	int64_t expires_on; /* absolute expiry */
	int64_t refresh_on; /* when to fetch a new one */
	int64_t stale_on;   /* when the cache must stop serving it */
};

/*
 * Compute the expiry from `answer` (a JSON object) received at `now`.
 * AZMI_OK, or AZMI_ERR_PROTOCOL with a sentence naming the field in `why`.
 */
AZMI_MUST_CHECK azmi_err expiry_from_answer(struct json_object *answer, int64_t now, struct expiry *out,
                                            char *why, size_t whylen);

/* Fill refresh_on and stale_on from expires_on, the fetch time and an optional refresh_in (< 0: none). */
void expiry_schedule(struct expiry *e, int64_t now, int64_t refresh_in);

#endif

/*
 * token.h - the reference-counted token object behind struct azmi_token,
 * and the checks every access token passes before anyone sees it.
 */
#ifndef AZMI_TOKEN_H
#define AZMI_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "expiry.h"

#define TOKEN_MAX_LEN (32 * 1024) /* larger than any Entra token, even with many groups */

/* True when [s, s+len) is a plausible bearer token (RFC 6750 b64token, bounded length). */
bool token_text_valid(const char *s, size_t len);

/* A new token with one reference; NULL when out of memory. */
struct azmi_token *token_new(const char *access_token, size_t len, const struct expiry *exp,
                             const char *resource, const char *source);

/* Take another reference. */
struct azmi_token *token_ref(struct azmi_token *tok);

/* The refresh schedule stored with the token. */
const struct expiry *token_expiry(const struct azmi_token *tok);

#endif

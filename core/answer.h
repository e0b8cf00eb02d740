/* answer.h - reading what a token endpoint sent back: a token, or an error worth showing. */
#ifndef AZMI_ANSWER_H
#define AZMI_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"

/*
 * Parse a 200 answer ({"access_token": ..., "expires_in"/"expires_on": ...,
 * "token_type": "Bearer"}) received at `now` into a new token.  On failure
 * returns AZMI_ERR_PROTOCOL (or NOMEM) with a sentence in `why` that names
 * the field but never quotes the token.
 */
AZMI_MUST_CHECK azmi_err answer_parse(const char *body, size_t len, int64_t now, const char *resource,
                                      const char *source, struct azmi_token **out, char *why, size_t whylen);

/*
 * A printable, bounded summary of an error answer: "error: description" from
 * the OAuth, App Service or ARM error shapes, or the start of a non-JSON body.
 */
void answer_error_text(const char *body, size_t len, char *out, size_t outlen);

/* "code: description" (either may be NULL), sanitised, the description cut at its first line break. */
void answer_format_error(const char *code, const char *desc, char *out, size_t outlen);

#endif

/* jwt.h - decoding the parts of a compact JWS (no signature check here). */
#ifndef AZMI_JWT_H
#define AZMI_JWT_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define JWT_MAX_LEN (64 * 1024)

/*
 * Decode base64url (no padding required, padding accepted) into a new
 * NUL-terminated buffer; *outlen gets its length.  NULL on invalid input.
 */
unsigned char *jwt_b64url_decode(const char *in, size_t inlen, size_t *outlen);

/* Encode as base64url without padding (url) or standard base64 with padding (!url); NULL when out of memory. */
char *jwt_b64_encode(const unsigned char *in, size_t len, bool url);

/*
 * The JSON object of part `index` (0 header, 1 claims) of a compact JWS of
 * exactly three dot-separated parts.  NULL when malformed.
 */
struct json_object *jwt_decode_part(const char *jwt, size_t len, int index);

#endif

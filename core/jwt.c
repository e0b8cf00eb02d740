/* jwt.c - base64url and the JSON parts of a compact JWS. */
#include "jwt.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

unsigned char *jwt_b64url_decode(const char *in, size_t inlen, size_t *outlen)
{
	unsigned char *out;
	size_t n = 0;
	unsigned int acc = 0;
	int bits = 0;

	while (inlen > 0 && in[inlen - 1] == '=')
		inlen--;
	if (inlen > JWT_MAX_LEN || inlen % 4 == 1)
		return NULL;
	if ((out = malloc(inlen * 3 / 4 + 1)) == NULL)
		return NULL;
	for (size_t i = 0; i < inlen; i++) {
		int v = b64url_value(in[i]);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
		acc &= (1u << bits) - 1;
	}
	out[n] = '\0';
	*outlen = n;
	return out;
}

struct json_object *jwt_decode_part(const char *jwt, size_t len, int index)
{
	const char *start = jwt, *dot1, *dot2, *end = jwt + len;
	unsigned char *raw;
	size_t rawlen;
	struct json_object *obj;

	if (len > JWT_MAX_LEN || index < 0 || index > 1)
		return NULL;
	dot1 = memchr(jwt, '.', len);
	if (dot1 == NULL)
		return NULL;
	dot2 = memchr(dot1 + 1, '.', (size_t)(end - dot1 - 1));
	if (dot2 == NULL || memchr(dot2 + 1, '.', (size_t)(end - dot2 - 1)) != NULL)
		return NULL;
	if (index == 1) {
		start = dot1 + 1;
		end = dot2;
	} else {
		end = dot1;
	}
	if ((raw = jwt_b64url_decode(start, (size_t)(end - start), &rawlen)) == NULL)
		return NULL;
	obj = json_parse_bounded((const char *)raw, rawlen);
	free(raw);
	if (obj && !json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

char *jwt_b64_encode(const unsigned char *in, size_t len, bool url)
{
	const char *alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	                           : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned int v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 | in[i + 2];
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (i < len) {
		unsigned int v = (unsigned int)in[i] << 16 | (i + 1 < len ? (unsigned int)in[i + 1] << 8 : 0);
		*p++ = alphabet[v >> 18];
		*p++ = alphabet[(v >> 12) & 63];
		if (i + 1 < len)
			*p++ = alphabet[(v >> 6) & 63];
		else if (!url)
			*p++ = '=';
		if (!url)
			*p++ = '=';
	}
	*p = '\0';
	return out;
}

/* jwks.c - a JSON Web Key Set: the RSA signing keys of an Entra tenant, by kid. */
#include "jwt_verify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "json.h"
#include "jwks_store.h"
#include "jwt.h"
#include "rsa_pub.h"

#define JWK_MIN_BITS 2048
#define JWK_MAX_BITS 8192

struct jwk {
	char kid[JWT_KID_MAX + 1];
	EVP_PKEY *pkey;
};

struct jwks {
	size_t n;
	struct jwk keys[JWKS_MAX_KEYS];
};

static void say(char *why, size_t whylen, const char *text)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", text);
}

/* A big number from a base64url member; NULL when absent, malformed or over `max_bytes`. */
static BIGNUM *b64_bignum(struct json_object *o, const char *key, size_t max_bytes)
{
	size_t slen = 0, rawlen = 0;
	const char *s = json_get_string(o, key, &slen);
	unsigned char *raw;
	BIGNUM *bn = NULL;

	if (s == NULL || slen == 0 || slen > (max_bytes * 4 + 2) / 3)
		return NULL;
	if ((raw = jwt_b64url_decode(s, slen, &rawlen)) == NULL)
		return NULL;
	if (rawlen > 0 && rawlen <= max_bytes)
		bn = BN_bin2bn(raw, (int)rawlen, NULL);
	free(raw);
	return bn;
}

/* An RSA public key from n and e within the key set's limits, NULL when not a sane key. */
static EVP_PKEY *rsa_from_ne(const BIGNUM *n, const BIGNUM *e)
{
	int bits = BN_num_bits(n);

	if (bits < JWK_MIN_BITS || bits > JWK_MAX_BITS || BN_num_bits(e) > 64)
		return NULL;
	return rsa_pub_from_ne(n, e);
}

/* One key of the set into `k`: 1 kept, 0 skipped (not an RSA signing key), -1 malformed. */
static int parse_key(struct json_object *o, struct jwk *k)
{
	size_t len = 0;
	const char *kty, *kid, *use, *alg;
	BIGNUM *n = NULL, *e = NULL;

	if (!json_object_is_type(o, json_type_object))
		return -1;
	kty = json_get_string(o, "kty", NULL);
	use = json_get_string(o, "use", NULL);
	alg = json_get_string(o, "alg", NULL);
	if (kty == NULL || strcmp(kty, "RSA") != 0 || (use != NULL && strcmp(use, "sig") != 0) ||
	    (alg != NULL && strcmp(alg, "RS256") != 0))
		return 0;
	if ((kid = json_get_string(o, "kid", &len)) == NULL || len == 0 || len > JWT_KID_MAX ||
	    memchr(kid, '\0', len) != NULL)
		return -1;
	n = b64_bignum(o, "n", JWK_MAX_BITS / 8);
	e = b64_bignum(o, "e", 8);
	if (n != NULL && e != NULL)
		k->pkey = rsa_from_ne(n, e);
	BN_free(n);
	BN_free(e);
	if (k->pkey == NULL)
		return -1;
	memcpy(k->kid, kid, len);
	k->kid[len] = '\0';
	return 1;
}

struct jwks *jwks_parse(const char *text, size_t len, char *why, size_t whylen)
{
	struct json_object *doc = NULL, *arr = NULL;
	struct jwks *ks = NULL;
	size_t count;

	if (text == NULL || len == 0 || len > JWKS_MAX_BYTES) {
		say(why, whylen, "key set empty or over 256 KiB");
		return NULL;
	}
	if ((doc = json_parse_bounded(text, len)) == NULL || !json_object_object_get_ex(doc, "keys", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		say(why, whylen, "key set is not a JSON object with a \"keys\" array");
		goto fail;
	}
	if ((count = json_object_array_length(arr)) > JWKS_MAX_KEYS) {
		say(why, whylen, "key set holds more than 64 keys");
		goto fail;
	}
	if ((ks = calloc(1, sizeof(*ks))) == NULL) {
		say(why, whylen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < count; i++) {
		int r = parse_key(json_object_array_get_idx(arr, i), &ks->keys[ks->n]);
		if (r < 0) {
			say(why, whylen, "key set holds a malformed RSA key");
			goto fail;
		}
		if (r > 0 && jwks_find(ks, ks->keys[ks->n].kid) != NULL) {
			EVP_PKEY_free(ks->keys[ks->n].pkey); /* a repeated kid: the first one counts */
			ks->keys[ks->n].pkey = NULL;
			continue;
		}
		ks->n += (size_t)r;
	}
	if (ks->n == 0) {
		say(why, whylen, "key set holds no RSA signing key");
		goto fail;
	}
	json_object_put(doc);
	return ks;
fail:
	jwks_free(ks);
	json_object_put(doc);
	return NULL;
}

const struct evp_pkey_st *jwks_find(const struct jwks *ks, const char *kid)
{
	if (ks == NULL || kid == NULL)
		return NULL;
	for (size_t i = 0; i < ks->n; i++)
		if (strcmp(ks->keys[i].kid, kid) == 0)
			return ks->keys[i].pkey;
	return NULL;
}

size_t jwks_count(const struct jwks *ks)
{
	return ks ? ks->n : 0;
}

const struct evp_pkey_st *jwks_key_at(const struct jwks *ks, size_t i, const char **kid)
{
	if (ks == NULL || i >= ks->n)
		return NULL;
	if (kid != NULL)
		*kid = ks->keys[i].kid;
	return ks->keys[i].pkey;
}

void jwks_free(struct jwks *ks)
{
	if (ks == NULL)
		return;
	for (size_t i = 0; i < JWKS_MAX_KEYS; i++)
		EVP_PKEY_free(ks->keys[i].pkey);
	free(ks);
}

/* jwt_verify.c - offline validation of an Entra access token: RS256 signature, issuer, tenant, audience, time. */
#include "jwt_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "error.h"
#include "json.h"
#include "jwks_store.h"
#include "jwt.h"
#include "rbac_parse.h"
#include "util.h"

#define MAX_SKEW 300

/* One line into `why`; returns `s` so that callers can write `return fail(...)`. */
static enum jwt_status fail(enum jwt_status s, char *why, size_t whylen, const char *fmt, ...)
    AZMI_PRINTF(4, 5);
static enum jwt_status fail(enum jwt_status s, char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return s;
}

/* Exactly three parts (header and claims not empty) of base64url characters; the two dots' offsets. */
static bool split(const char *t, size_t len, size_t *d1, size_t *d2)
{
	int dots = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)t[i];
		if (c == '.') {
			if (dots == 0)
				*d1 = i;
			else if (dots == 1)
				*d2 = i;
			if (++dots > 2)
				return false;
		} else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		             c == '-' || c == '_')) {
			return false;
		}
	}
	return dots == 2 && *d1 > 0 && *d2 > *d1 + 1; /* an empty signature is refused later, by alg */
}

/* Copy a string member of at most `cap - 1` bytes without NULs; false when absent or unfit. */
static bool copy_string(struct json_object *o, const char *key, char *dst, size_t cap)
{
	size_t n = 0;
	const char *s = json_get_string(o, key, &n);

	if (s == NULL || n >= cap || memchr(s, '\0', n) != NULL)
		return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* The header: alg RS256 exactly, no crit, a kid.  */
static enum jwt_status check_header(struct json_object *h, struct jwt_claims *c, char *why, size_t whylen)
{
	const char *alg = json_get_string(h, "alg", NULL);
	char shown[24];

	if (alg == NULL || strcmp(alg, "RS256") != 0) {
		util_sanitize(shown, sizeof(shown), alg ? alg : "(none)", alg ? strlen(alg) : 6);
		return fail(JWT_BAD_ALG, why, whylen, "alg \"%s\" refused: only RS256 is accepted", shown);
	}
	if (json_object_object_get_ex(h, "crit", NULL))
		return fail(JWT_BAD_ALG, why, whylen, "a crit header is not supported");
	if (!copy_string(h, "kid", c->kid, sizeof(c->kid)) || c->kid[0] == '\0')
		return fail(JWT_MALFORMED, why, whylen, "the header has no usable kid");
	return JWT_VALID;
}

/* RSASSA-PKCS1-v1_5 with SHA-256 over the first two parts. */
static enum jwt_status check_signature(const char *t, size_t signed_len, const char *sig64, size_t sig64len,
                                       const EVP_PKEY *key, char *why, size_t whylen)
{
	EVP_MD_CTX *md = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	enum jwt_status st = JWT_BAD_SIGNATURE;

	if ((sig = jwt_b64url_decode(sig64, sig64len, &siglen)) == NULL)
		return fail(JWT_MALFORMED, why, whylen, "the signature is not base64url");
	if (siglen != (size_t)EVP_PKEY_get_size(key))
		goto out;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* EVP_DigestVerifyInit takes a non-const key but does not change it. */
	if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, (EVP_PKEY *)(uintptr_t)key) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)t, signed_len) == 1)
		st = JWT_VALID;
out:
	EVP_MD_CTX_free(md);
	explicit_bzero(sig, siglen);
	free(sig);
	if (st != JWT_VALID)
		fail(st, why, whylen, "the signature does not verify with the key of its kid");
	return st;
}

static bool audience_ok(struct json_object *claims, const struct jwt_policy *p)
{
	const char *aud = json_get_string(claims, "aud", NULL);

	if (aud == NULL)
		return false;
	for (size_t i = 0; i < p->naudiences; i++)
		if (p->audiences[i] != NULL && strcmp(aud, p->audiences[i]) == 0)
			return true;
	return false;
}

/* The issuers of the configured tenant: v1 (the cloud's STS) and v2 ({authority}/{tid}/v2.0). */
static bool issuer_ok(const char *iss, int ver, const struct jwt_policy *p)
{
	char want[512];
	const char *sts = "https://sts.windows.net";
	const char *auth = p->authority ? p->authority : "https://login.microsoftonline.com";
	size_t alen = strlen(auth);

	while (alen > 0 && auth[alen - 1] == '/')
		alen--;
	if (strstr(auth, "login.chinacloudapi.cn") != NULL)
		sts = "https://sts.chinacloudapi.cn";
	if (ver == 1)
		snprintf(want, sizeof(want), "%s/%s/", sts, p->tenant);
	else
		snprintf(want, sizeof(want), "%.*s/%s/v2.0", (int)alen, auth, p->tenant);
	return strcmp(iss, want) == 0;
}

static enum jwt_status check_time(struct json_object *claims, const struct jwt_policy *p,
                                  struct jwt_claims *c, char *why, size_t whylen)
{
	int64_t now = p->now ? p->now : util_now(), nbf = 0;
	long skew = p->skew < 0 ? JWT_DEFAULT_SKEW : p->skew > MAX_SKEW ? MAX_SKEW : p->skew;
	int r;

	if (json_get_int64(claims, "exp", 0, INT64_MAX / 2, &c->exp) != 0)
		return fail(JWT_BAD_CLAIMS, why, whylen, "exp is missing or not a number");
	if (now >= c->exp + skew)
		return fail(JWT_EXPIRED, why, whylen, "expired %llds ago (%lds of skew allowed)",
		            (long long)(now - c->exp), skew);
	if ((r = json_get_int64(claims, "nbf", 0, INT64_MAX / 2, &nbf)) < 0)
		return fail(JWT_BAD_CLAIMS, why, whylen, "nbf is not a number");
	if (r == 0 && now < nbf - skew)
		return fail(JWT_NOT_YET_VALID, why, whylen,
		            "not valid for another %llds (%lds of skew allowed)", (long long)(nbf - now),
		            skew);
	return JWT_VALID;
}

/* A list claim of strings into rows of `width`: 0, or -1 when it is not an array of fitting strings. */
static int copy_list(struct json_object *claims, const char *key, char *rows, size_t width, size_t max,
                     size_t *n)
{
	struct json_object *arr;
	size_t count;

	*n = 0;
	if (!json_object_object_get_ex(claims, key, &arr) || json_object_is_type(arr, json_type_null))
		return 0;
	if (!json_object_is_type(arr, json_type_array) || (count = json_object_array_length(arr)) > max)
		return -1;
	for (size_t i = 0; i < count; i++) {
		struct json_object *it = json_object_array_get_idx(arr, i);
		const char *s;
		size_t len;

		if (!json_object_is_type(it, json_type_string))
			return -1;
		s = json_object_get_string(it);
		len = (size_t)json_object_get_string_len(it);
		if (len == 0 || len >= width || memchr(s, '\0', len) != NULL)
			return -1;
		memcpy(rows + i * width, s, len);
		rows[i * width + len] = '\0';
	}
	*n = count;
	return 0;
}

static enum jwt_status user_claims(struct json_object *claims, struct jwt_claims *c, char *why, size_t whylen)
{
	struct json_object *names;
	static const char *const name_keys[] = {"upn", "unique_name", "preferred_username"};

	if (!copy_string(claims, "oid", c->oid, sizeof(c->oid)) || !rbac_guid_valid(c->oid, strlen(c->oid)))
		return fail(JWT_BAD_CLAIMS, why, whylen, "oid is missing or not an object id");
	for (size_t i = 0; i < ARRAY_SIZE(name_keys) && c->name[0] == '\0'; i++)
		if (!copy_string(claims, name_keys[i], c->name, sizeof(c->name)))
			c->name[0] = '\0';
	if (!copy_string(claims, "upn", c->upn, sizeof(c->upn)))
		c->upn[0] = '\0';
	if (copy_list(claims, "roles", &c->roles[0][0], JWT_ROLE_MAX, JWT_MAX_ROLES, &c->nroles) < 0)
		return fail(JWT_BAD_CLAIMS, why, whylen, "roles is not a list of at most %d names",
		            JWT_MAX_ROLES);
	if (copy_list(claims, "groups", &c->groups[0][0], sizeof(c->groups[0]), JWT_MAX_GROUPS, &c->ngroups) <
	    0)
		return fail(JWT_BAD_CLAIMS, why, whylen, "groups is not a list of at most %d ids",
		            JWT_MAX_GROUPS);
	for (size_t i = 0; i < c->ngroups; i++)
		if (!rbac_guid_valid(c->groups[i], strlen(c->groups[i])))
			return fail(JWT_BAD_CLAIMS, why, whylen,
			            "groups holds something that is not an object id");
	c->groups_overage = json_object_object_get_ex(claims, "_claim_names", &names) &&
	                    json_object_is_type(names, json_type_object) &&
	                    json_object_object_get_ex(names, "groups", NULL);
	return JWT_VALID;
}

/* After the signature: version, issuer, tenant, audience, time, user. */
static enum jwt_status check_claims(struct json_object *claims, const struct jwt_policy *p,
                                    struct jwt_claims *c, char *why, size_t whylen)
{
	const char *ver = json_get_string(claims, "ver", NULL), *iss = json_get_string(claims, "iss", NULL);
	enum jwt_status st;

	if (ver == NULL || (strcmp(ver, "1.0") != 0 && strcmp(ver, "2.0") != 0))
		return fail(JWT_BAD_CLAIMS, why, whylen, "ver is neither 1.0 nor 2.0");
	c->ver = ver[0] == '1' ? 1 : 2;
	if (iss == NULL || !issuer_ok(iss, c->ver, p))
		return fail(JWT_BAD_ISSUER, why, whylen, "iss is not the v%d.0 issuer of tenant %s", c->ver,
		            p->tenant);
	if (!copy_string(claims, "tid", c->tid, sizeof(c->tid)) || strcasecmp(c->tid, p->tenant) != 0)
		return fail(JWT_BAD_TENANT, why, whylen, "tid is not tenant %s", p->tenant);
	if (!audience_ok(claims, p))
		return fail(JWT_BAD_AUDIENCE, why, whylen, "aud is not among the configured audiences");
	if ((st = check_time(claims, p, c, why, whylen)) != JWT_VALID)
		return st;
	return user_claims(claims, c, why, whylen);
}

enum jwt_status jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_policy *p,
                           struct jwt_claims *out, char *why, size_t whylen)
{
	struct json_object *header = NULL, *claims = NULL;
	struct jwt_claims *c = NULL;
	const EVP_PKEY *key;
	size_t d1 = 0, d2 = 0;
	enum jwt_status st;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (p == NULL || p->tenant == NULL || out == NULL)
		return fail(JWT_MALFORMED, why, whylen, "no policy");
	if (token == NULL || len == 0 || len > JWT_VERIFY_MAX_TOKEN || !split(token, len, &d1, &d2))
		return fail(JWT_MALFORMED, why, whylen, "not a compact JWS of at most %d bytes (%zu bytes)",
		            JWT_VERIFY_MAX_TOKEN, len);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return fail(JWT_MALFORMED, why, whylen, "out of memory");
	if ((header = jwt_decode_part(token, len, 0)) == NULL ||
	    (claims = jwt_decode_part(token, len, 1)) == NULL) {
		st = fail(JWT_MALFORMED, why, whylen, "the header or claims are not base64url JSON objects");
		goto out;
	}
	if ((st = check_header(header, c, why, whylen)) != JWT_VALID)
		goto out;
	if ((key = jwks_find(keys, c->kid)) == NULL) {
		st = fail(JWT_UNKNOWN_KID, why, whylen, "no key of this kid in the tenant's key set");
		goto out;
	}
	if ((st = check_signature(token, d2, token + d2 + 1, len - d2 - 1, key, why, whylen)) != JWT_VALID)
		goto out;
	if ((st = check_claims(claims, p, c, why, whylen)) != JWT_VALID)
		goto out;
	*out = *c;
out:
	json_object_put(header);
	json_object_put(claims);
	free(c);
	return st;
}

int jwt_peek_version(const char *token, size_t len)
{
	struct json_object *claims;
	const char *ver;
	int v = 2;

	if (token == NULL || len > JWT_VERIFY_MAX_TOKEN || (claims = jwt_decode_part(token, len, 1)) == NULL)
		return 2;
	if ((ver = json_get_string(claims, "ver", NULL)) != NULL && strcmp(ver, "1.0") == 0)
		v = 1;
	json_object_put(claims);
	return v;
}

void jwt_fingerprint(const char *token, size_t len, char out[17])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)token, len, md);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	explicit_bzero(md, sizeof(md));
}

const char *jwt_status_name(enum jwt_status s)
{
	static const char *const names[] = {
	    "valid",      "malformed",    "bad-alg", "unknown-kid",   "bad-signature", "bad-issuer",
	    "bad-tenant", "bad-audience", "expired", "not-yet-valid", "bad-claims",
	};
	return (size_t)s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

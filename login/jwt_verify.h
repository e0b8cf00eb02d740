/*
 * jwt_verify.h - offline validation of an Entra access token (compact JWS,
 * RS256 only) against a JSON Web Key Set, and the user claims it carries.
 * Nothing here talks to the network: jwks_store.h fetches and caches keys.
 */
#ifndef AZMI_JWT_VERIFY_H
#define AZMI_JWT_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JWT_VERIFY_MAX_TOKEN (16 * 1024)  /* longest token accepted */
#define JWKS_MAX_BYTES       (256 * 1024) /* largest key set document */
#define JWKS_MAX_KEYS        64
#define JWT_KID_MAX          128
#define JWT_MAX_ROLES        64
#define JWT_ROLE_MAX         128 /* bytes of a role value, with the NUL */
#define JWT_MAX_GROUPS       256
#define JWT_NAME_MAX         256
#define JWT_DEFAULT_SKEW     300 /* seconds */
#define JWT_MAX_AUDIENCES    8

/* A parsed key set: RSA signing keys by kid. */
struct jwks;

/*
 * Parse a JWKS document: RSA keys (2048-8192 bit moduli) with a kid are
 * kept, other key types skipped.  NULL when the document is malformed,
 * over the caps or holds no usable key; `why` (may be NULL) says which.
 */
struct jwks *jwks_parse(const char *text, size_t len, char *why, size_t whylen);
void jwks_free(struct jwks *ks);
size_t jwks_count(const struct jwks *ks);

/* The i-th key of the set (EVP_PKEY, owned by the set) and its kid; NULL past the end. */
const struct evp_pkey_st *jwks_key_at(const struct jwks *ks, size_t i, const char **kid);

/* What the token must satisfy. */
struct jwt_policy {
	const char *tenant;    /* tenant id (GUID): `tid` and both issuers */
	const char *authority; /* Entra host naming the v2 issuer, e.g. https://login.microsoftonline.com */
	const char *const *audiences; /* accepted `aud` values */
	size_t naudiences;
	int64_t now; /* 0: the clock (a seam for tests) */
	long skew;   /* seconds allowed on exp/nbf; <0: JWT_DEFAULT_SKEW; capped at 300 */
};

enum jwt_status {
	JWT_VALID = 0,
	JWT_MALFORMED,     /* not a compact JWS within the caps, bad base64url or JSON */
	JWT_BAD_ALG,       /* alg other than RS256 (none, HS256, ...) or a crit header */
	JWT_UNKNOWN_KID,   /* no key of that kid in the set (refresh the set, once) */
	JWT_BAD_SIGNATURE, /* the signature does not verify */
	JWT_BAD_ISSUER,
	JWT_BAD_TENANT,
	JWT_BAD_AUDIENCE,
	JWT_EXPIRED,
	JWT_NOT_YET_VALID,
	JWT_BAD_CLAIMS, /* ver, oid or a list claim missing or malformed */
};

struct jwt_claims {
	int ver; /* 1 or 2 */
	char oid[40];
	char tid[40];
	char name
	    [JWT_NAME_MAX]; /* upn, else unique_name, else preferred_username; "" when none: for display */
	/*
	 * The `upn` claim alone, "" when absent: the only name a token may be
	 * matched on.  preferred_username (and v1's unique_name) can change
	 * under the user's or a guest tenant's control and never identify anyone.
	 */
	char upn[JWT_NAME_MAX];
	char kid[JWT_KID_MAX + 1];
	int64_t exp;
	char roles[JWT_MAX_ROLES][JWT_ROLE_MAX];
	size_t nroles;
	char groups[JWT_MAX_GROUPS][40];
	size_t ngroups;
	bool groups_overage; /* `_claim_names.groups`: the groups must be asked of Graph */
};

/*
 * Validate `token` ([token, token+len), no NUL needed): header, signature
 * with the key of its kid in `keys` (may be NULL: JWT_UNKNOWN_KID), then
 * issuer, tenant, audience, time and the user claims.  `out` is filled only
 * on JWT_VALID.  `why` (may be NULL) gets one line naming the failed check,
 * never any part of the token.
 */
enum jwt_status jwt_verify(const char *token, size_t len, const struct jwks *keys, const struct jwt_policy *p,
                           struct jwt_claims *out, char *why, size_t whylen);

/* The token's `ver` read before validation (1 or 2; 2 when absent or unreadable): which key path to use. */
int jwt_peek_version(const char *token, size_t len);

/* A short fingerprint for logs: the first 8 bytes of SHA-256(token) in hex (17 bytes with the NUL). */
void jwt_fingerprint(const char *token, size_t len, char out[17]);

/* "valid", "malformed", "bad-alg", "unknown-kid", "bad-signature", "bad-issuer", ... */
const char *jwt_status_name(enum jwt_status s);

#endif

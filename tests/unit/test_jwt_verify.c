/* test_jwt_verify.c - offline validation of Entra access tokens, the key set parser and the key cache. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "jwks_store.h"
#include "jwt.h"
#include "jwt_verify.h"

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OID    "0f0f0f0f-1111-2222-3333-444455556666"
#define AUD    "api://azmi-vm"
#define NOW    1800000000LL

static EVP_PKEY *good_key, *other_key;
static char *jwks_text; /* the good key as "k1" */

static char *b64(const void *data, size_t len)
{
	return jwt_b64_encode(data, len, true);
}

static char *bn_b64(const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;
	char *out;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	out = b64(buf, (size_t)n);
	return out;
}

static char *jwk_json(const EVP_PKEY *k, const char *kid)
{
	char *n = bn_b64(k, OSSL_PKEY_PARAM_RSA_N), *e = bn_b64(k, OSSL_PKEY_PARAM_RSA_E), *out = NULL;

	assert_true(asprintf(&out,
	                     "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}",
	                     kid, n, e) > 0);
	free(n);
	free(e);
	return out;
}

/* header.claims signed with `key` (RS256), or with HMAC-SHA256 under `hmac_secret`, or unsigned. */
static char *sign(const char *header, const char *claims, EVP_PKEY *key, const char *hmac_secret)
{
	char *h = b64(header, strlen(header)), *c = b64(claims, strlen(claims)), *input = NULL, *sig64,
	     *out = NULL;
	unsigned char sig[1024];
	size_t siglen = sizeof(sig);

	assert_true(asprintf(&input, "%s.%s", h, c) > 0);
	if (key != NULL) {
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
		assert_int_equal(EVP_DigestSign(md, sig, &siglen, (unsigned char *)input, strlen(input)), 1);
		EVP_MD_CTX_free(md);
	} else if (hmac_secret != NULL) {
		unsigned int l = 0;
		HMAC(EVP_sha256(), hmac_secret, (int)strlen(hmac_secret), (unsigned char *)input,
		     strlen(input), sig, &l);
		siglen = l;
	} else {
		siglen = 0;
	}
	sig64 = b64(sig, siglen);
	assert_true(asprintf(&out, "%s.%s", input, sig64) > 0);
	free(h);
	free(c);
	free(input);
	free(sig64);
	return out;
}

/* Claims of a valid v1 token, with `extra` JSON members appended (may override earlier ones). */
static char *claims_v1(const char *extra)
{
	char *out = NULL;

	assert_true(
	    asprintf(&out,
	             "{\"aud\":\"" AUD "\",\"iss\":\"https://sts.windows.net/" TENANT "/\",\"iat\":%lld,"
	             "\"nbf\":%lld,\"exp\":%lld,\"oid\":\"" OID "\",\"tid\":\"" TENANT "\","
	             "\"upn\":\"alice@contoso.com\",\"ver\":\"1.0\",\"roles\":[\"VM.Login\",\"VM.Admin\"],"
	             "\"groups\":[\"aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee\"]%s%s}",
	             NOW - 300, NOW - 300, NOW + 3600, extra ? "," : "", extra ? extra : "") > 0);
	return out;
}

static const char *const auds[] = {"api://other", AUD};

static struct jwt_policy policy(int64_t now)
{
	struct jwt_policy p = {.tenant = TENANT,
	                       .authority = "https://login.microsoftonline.com",
	                       .audiences = auds,
	                       .naudiences = 2,
	                       .now = now,
	                       .skew = -1};
	return p;
}

static int setup(void **state)
{
	char *jwk;

	(void)state;
	good_key = EVP_RSA_gen(2048);
	other_key = EVP_RSA_gen(2048);
	if (good_key == NULL || other_key == NULL)
		return -1;
	jwk = jwk_json(good_key, "k1");
	if (asprintf(&jwks_text, "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec\"},%s]}", jwk) < 0)
		return -1;
	free(jwk);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(good_key);
	EVP_PKEY_free(other_key);
	free(jwks_text);
	return 0;
}

static enum jwt_status verify_with(const char *tok, int64_t now, struct jwt_claims *c)
{
	struct jwks *ks = jwks_parse(jwks_text, strlen(jwks_text), NULL, 0);
	struct jwt_policy p = policy(now);
	char why[256];
	enum jwt_status st;

	assert_non_null(ks);
	st = jwt_verify(tok, strlen(tok), ks, &p, c, why, sizeof(why));
	if (st != JWT_VALID)
		assert_true(why[0] != '\0');
	jwks_free(ks);
	return st;
}

static void test_valid_v1(void **state)
{
	char *claims = claims_v1(NULL),
	     *tok = sign("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}", claims, good_key, NULL);
	struct jwt_claims *c = calloc(1, sizeof(*c));

	(void)state;
	assert_int_equal(verify_with(tok, NOW, c), JWT_VALID);
	assert_int_equal(c->ver, 1);
	assert_string_equal(c->oid, OID);
	assert_string_equal(c->name, "alice@contoso.com");
	assert_int_equal(c->nroles, 2);
	assert_string_equal(c->roles[1], "VM.Admin");
	assert_int_equal(c->ngroups, 1);
	assert_false(c->groups_overage);
	assert_int_equal(jwt_peek_version(tok, strlen(tok)), 1);
	free(c);
	free(claims);
	free(tok);
}

static void test_valid_v2_and_overage(void **state)
{
	char claims[1024], *tok;
	struct jwt_claims *c = calloc(1, sizeof(*c));

	(void)state;
	snprintf(claims, sizeof(claims),
	         "{\"aud\":\"" AUD "\",\"iss\":\"https://login.microsoftonline.com/" TENANT
	         "/v2.0\",\"exp\":%lld,"
	         "\"nbf\":%lld,\"oid\":\"" OID "\",\"tid\":\"" TENANT
	         "\",\"preferred_username\":\"Bob@Contoso.com\","
	         "\"ver\":\"2.0\",\"_claim_names\":{\"groups\":\"src1\"},\"_claim_sources\":{}}",
	         NOW + 60, NOW - 10);
	tok = sign("{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims, good_key, NULL);
	assert_int_equal(verify_with(tok, NOW, c), JWT_VALID);
	assert_int_equal(c->ver, 2);
	assert_string_equal(c->name, "Bob@Contoso.com");
	assert_true(c->groups_overage);
	assert_int_equal(c->ngroups, 0);
	assert_int_equal(jwt_peek_version(tok, strlen(tok)), 2);
	free(c);
	free(tok);
}

struct row {
	const char *name;
	const char *header;
	const char *extra; /* claims appended to the valid ones */
	int signer;        /* 0 good key, 1 other key, 2 HMAC with the public key PEM, 3 unsigned */
	int64_t now;
	enum jwt_status want;
};

static const struct row rows[] = {
    {"valid", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", NULL, 0, NOW, JWT_VALID},
    {"wrong signature", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", NULL, 1, NOW, JWT_BAD_SIGNATURE},
    {"alg none", "{\"alg\":\"none\",\"kid\":\"k1\"}", NULL, 3, NOW, JWT_BAD_ALG},
    {"alg None", "{\"alg\":\"None\"}", NULL, 3, NOW, JWT_BAD_ALG},
    {"no alg", "{\"kid\":\"k1\"}", NULL, 0, NOW, JWT_BAD_ALG},
    {"HS256 with the public key", "{\"alg\":\"HS256\",\"kid\":\"k1\"}", NULL, 2, NOW, JWT_BAD_ALG},
    {"RS512", "{\"alg\":\"RS512\",\"kid\":\"k1\"}", NULL, 0, NOW, JWT_BAD_ALG},
    {"PS256", "{\"alg\":\"PS256\",\"kid\":\"k1\"}", NULL, 0, NOW, JWT_BAD_ALG},
    {"crit", "{\"alg\":\"RS256\",\"kid\":\"k1\",\"crit\":[\"x\"]}", NULL, 0, NOW, JWT_BAD_ALG},
    {"unknown kid", "{\"alg\":\"RS256\",\"kid\":\"k2\"}", NULL, 1, NOW, JWT_UNKNOWN_KID},
    {"no kid", "{\"alg\":\"RS256\"}", NULL, 0, NOW, JWT_MALFORMED},
    {"expired", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", NULL, 0, NOW + 3600 + 300, JWT_EXPIRED},
    {"expired, 1 s inside the skew", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", NULL, 0, NOW + 3600 + 299,
     JWT_VALID},
    {"expired long ago", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", NULL, 0, NOW + 86400, JWT_EXPIRED},
    {"not yet valid", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"nbf\":1800001000", 0, NOW, JWT_NOT_YET_VALID},
    {"nbf 1 s past the skew", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"nbf\":1800000301", 0, NOW,
     JWT_NOT_YET_VALID},
    {"nbf at the skew", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"nbf\":1800000300", 0, NOW, JWT_VALID},
    {"no exp", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"exp\":null", 0, NOW, JWT_BAD_CLAIMS},
    {"exp a string of letters", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"exp\":\"soon\"", 0, NOW,
     JWT_BAD_CLAIMS},
    {"wrong issuer", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"iss\":\"https://sts.windows.net/" TENANT "\"",
     0, NOW, JWT_BAD_ISSUER},
    {"v2 issuer on a v1 token", "{\"alg\":\"RS256\",\"kid\":\"k1\"}",
     "\"iss\":\"https://login.microsoftonline.com/" TENANT "/v2.0\"", 0, NOW, JWT_BAD_ISSUER},
    {"another tenant's issuer", "{\"alg\":\"RS256\",\"kid\":\"k1\"}",
     "\"iss\":\"https://sts.windows.net/11111111-2222-3333-4444-555555555555/\"", 0, NOW, JWT_BAD_ISSUER},
    {"wrong tid", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"tid\":\"11111111-2222-3333-4444-555555555555\"", 0,
     NOW, JWT_BAD_TENANT},
    {"wrong aud", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"aud\":\"https://management.azure.com\"", 0, NOW,
     JWT_BAD_AUDIENCE},
    {"aud with a slash", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"aud\":\"" AUD "/\"", 0, NOW,
     JWT_BAD_AUDIENCE},
    {"no ver", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"ver\":null", 0, NOW, JWT_BAD_CLAIMS},
    {"bad oid", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"oid\":\"alice\"", 0, NOW, JWT_BAD_CLAIMS},
    {"roles not a list", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"roles\":\"VM.Login\"", 0, NOW,
     JWT_BAD_CLAIMS},
    {"groups not ids", "{\"alg\":\"RS256\",\"kid\":\"k1\"}", "\"groups\":[\"admins\"]", 0, NOW,
     JWT_BAD_CLAIMS},
};

static void test_table(void **state)
{
	int fails = 0;
	char *pem = NULL;
	BIO *bio = BIO_new(BIO_s_mem());
	long pemlen;

	(void)state;
	assert_int_equal(PEM_write_bio_PUBKEY(bio, good_key), 1);
	pemlen = BIO_get_mem_data(bio, &pem);
	pem = strndup(pem, (size_t)pemlen);
	BIO_free(bio);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char *claims = claims_v1(r->extra), *tok;
		struct jwt_claims c;
		enum jwt_status st;

		tok = sign(r->header, claims,
		           r->signer == 0   ? good_key
		           : r->signer == 1 ? other_key
		                            : NULL,
		           r->signer == 2 ? pem : NULL);
		st = verify_with(tok, r->now, &c);
		CHECK(fails, st == r->want, "%s: got %s, want %s", r->name, jwt_status_name(st),
		      jwt_status_name(r->want));
		free(claims);
		free(tok);
	}
	free(pem);
	TABLE_DONE(fails);
}

/* Garbage, oversized and truncated tokens: malformed or refused, never valid, never a crash. */
static void test_garbage(void **state)
{
	char *claims = claims_v1(NULL),
	     *tok = sign("{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims, good_key, NULL);
	static const char *const junk[] = {"",
	                                   ".",
	                                   "..",
	                                   "a.b",
	                                   "a.b.c.d",
	                                   "abc",
	                                   "e30.e30.",
	                                   ".e30.e30",
	                                   "e30.e30.e30",
	                                   "!!.??.**",
	                                   "eyJhbGciOiJSUzI1NiJ9..x"};
	size_t len = strlen(tok);
	char *big = malloc(100 * 1024 + 1);
	struct jwt_claims c;
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		enum jwt_status st = verify_with(junk[i], NOW, &c);
		CHECK(fails, st != JWT_VALID, "junk \"%s\"", junk[i]);
	}
	memset(big, 'A', 100 * 1024);
	big[100 * 1024] = '\0';
	big[1000] = big[2000] = '.';
	CHECK(fails, verify_with(big, NOW, &c) == JWT_MALFORMED, "100 kB");
	for (size_t cut = 0; cut < len; cut += 7) {
		tok[cut] = '\0';
		CHECK(fails, verify_with(tok, NOW, &c) != JWT_VALID, "cut at %zu", cut);
		free(tok);
		tok = sign("{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims, good_key, NULL);
	}
	free(big);
	free(claims);
	free(tok);
	TABLE_DONE(fails);
}

static void test_jwks_parse(void **state)
{
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"keys\":{}}",
	    "{\"keys\":[]}",
	    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
	    "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"!\",\"e\":\"AQAB\"}]}",
	    "{\"keys\":[{\"kty\":\"EC\",\"kid\":\"x\"}]}"};
	char why[128], *many = NULL, *jwk = jwk_json(good_key, "k"), *p;
	struct jwks *ks;
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ks = jwks_parse(bad[i], strlen(bad[i]), why, sizeof(why));
		CHECK(fails, ks == NULL && why[0] != '\0', "\"%s\"", bad[i]);
		jwks_free(ks);
	}
	ks = jwks_parse(jwks_text, strlen(jwks_text), why, sizeof(why));
	assert_non_null(ks);
	assert_int_equal(jwks_count(ks), 1);
	assert_non_null(jwks_find(ks, "k1"));
	assert_null(jwks_find(ks, "k2"));
	jwks_free(ks);
	/* 65 keys: over the cap */
	many = malloc(65 * (strlen(jwk) + 1) + 32);
	p = many + sprintf(many, "{\"keys\":[");
	for (int i = 0; i < 65; i++)
		p += sprintf(p, "%s%s", i ? "," : "", jwk);
	strcpy(p, "]}");
	ks = jwks_parse(many, strlen(many), why, sizeof(why));
	assert_null(ks);
	free(many);
	free(jwk);
	TABLE_DONE(fails);
}

/* The cache: fresh use, last good set on failure, rate-limited refresh; the endpoint is a closed port. */
static void test_jwks_cache(void **state)
{
	char *dir = unit_tmpdir(), *file = unit_path(dir, "jwks-" TENANT ".json");
	struct jwks_source src = {
	    .authority = "https://127.0.0.1:9", .tenant = TENANT, .cache_dir = dir, .timeout_ms = 2000};
	struct azmi_error err = AZMI_ERROR_INIT;
	struct jwks *ks = NULL;
	bool stale = true;
	int64_t t;

	(void)state;
	/* no cache, endpoint down: an error */
	t = (int64_t)time(NULL);
	src.now = t;
	assert_int_not_equal(jwks_load(&src, 2, false, &ks, &stale, &err), AZMI_OK);
	assert_null(ks);
	/* a group-readable cache file is not trusted */
	assert_int_equal(unit_write_file(file, jwks_text, strlen(jwks_text), 0644), 0);
	assert_int_not_equal(jwks_load(&src, 2, false, &ks, &stale, &err), AZMI_OK);
	/* a private cache file younger than a day: used without a fetch */
	assert_int_equal(unit_write_file(file, jwks_text, strlen(jwks_text), 0600), 0);
	src.now = t + 60;
	assert_int_equal(jwks_load(&src, 2, false, &ks, &stale, &err), AZMI_OK);
	assert_false(stale);
	assert_non_null(jwks_find(ks, "k1"));
	jwks_free(ks);
	/* an unknown kid within 5 minutes of the last fetch: no new attempt, the same set */
	assert_int_equal(jwks_load(&src, 2, true, &ks, &stale, &err), AZMI_OK);
	assert_false(stale);
	jwks_free(ks);
	/* an unknown kid later: the fetch fails, the last good set is kept */
	src.now = t + 400;
	assert_int_equal(jwks_load(&src, 2, true, &ks, &stale, &err), AZMI_OK);
	assert_true(stale);
	jwks_free(ks);
	/* ... and the failed attempt holds back the next one for 5 minutes */
	src.now = t + 500;
	assert_int_equal(jwks_load(&src, 2, true, &ks, &stale, &err), AZMI_OK);
	assert_false(stale);
	jwks_free(ks);
	/* older than a day: a fetch is tried, and on failure the old set still serves */
	src.now = t + 2 * 86400;
	assert_int_equal(jwks_load(&src, 2, false, &ks, &stale, &err), AZMI_OK);
	assert_true(stale);
	jwks_free(ks);
	/* v1 tokens use their own file: none there */
	assert_int_not_equal(jwks_load(&src, 1, false, &ks, &stale, &err), AZMI_OK);
	/* bad tenants and authorities are refused before any request */
	src.tenant = "../etc";
	assert_int_equal(jwks_load(&src, 2, false, &ks, &stale, &err), AZMI_ERR_CONFIG);
	src.tenant = TENANT;
	src.authority = "http://127.0.0.1:9";
	assert_int_equal(jwks_load(&src, 2, false, &ks, &stale, &err), AZMI_ERR_CONFIG);
	unit_rmtree(dir);
	free(file);
	free(dir);
}

static void test_fingerprint(void **state)
{
	char fp[17], fp2[17];

	(void)state;
	jwt_fingerprint("abc", 3, fp);
	assert_string_equal(fp, "ba7816bf8f01cfea");
	jwt_fingerprint("abd", 3, fp2);
	assert_string_not_equal(fp, fp2);
	assert_string_equal(jwt_status_name(JWT_EXPIRED), "expired");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_v1),    cmocka_unit_test(test_valid_v2_and_overage),
	    cmocka_unit_test(test_table),       cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_jwks_parse),  cmocka_unit_test(test_jwks_cache),
	    cmocka_unit_test(test_fingerprint),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * test_acr.c - Container Registry: registry names, scopes, the 401
 * challenge's realm and service, registry answers, and the refresh-token
 * cache namespace.  The challenge rows go through the curl plug-in's own
 * parser (libcurl_auth/challenge.c, compiled in here) and then the core's
 * check, as the plug-in does.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../libcurl_auth/challenge.c"

#include "acr.h"
#include "cache_file.h"
#include "expiry.h"
#include "token.h"

#define NOW 1700000000LL

/* An independent base64url encoder (no padding) for building test tokens. */
static char *b64url(const char *in)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t len = strlen(in), i = 0;
	char *out = malloc(len * 4 / 3 + 4), *p = out;
	const unsigned char *s = (const unsigned char *)in;

	for (; i + 2 < len; i += 3) {
		*p++ = tab[s[i] >> 2];
		*p++ = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		*p++ = tab[((s[i + 1] & 15) << 2) | (s[i + 2] >> 6)];
		*p++ = tab[s[i + 2] & 63];
	}
	if (len - i == 1) {
		*p++ = tab[s[i] >> 2];
		*p++ = tab[(s[i] & 3) << 4];
	} else if (len - i == 2) {
		*p++ = tab[s[i] >> 2];
		*p++ = tab[((s[i] & 3) << 4) | (s[i + 1] >> 4)];
		*p++ = tab[(s[i + 1] & 15) << 2];
	}
	*p = '\0';
	return out;
}

/* A JWT whose claims are `claims` (unsigned: nothing here checks signatures). */
static char *jwt(const char *claims)
{
	char *h = b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}"), *c = b64url(claims), *out = NULL;

	if (asprintf(&out, "%s.%s.c2ln", h, c) < 0)
		out = NULL;
	free(h);
	free(c);
	return out;
}

struct name_row {
	const char *in;
	const char *want; /* NULL: refused */
};

static const struct name_row name_rows[] = {
    {"myreg.azurecr.io", "myreg.azurecr.io"},
    {"MyReg.AzureCR.IO", "myreg.azurecr.io"},
    {"https://myreg.azurecr.io", "myreg.azurecr.io"},
    {"HTTPS://myreg.azurecr.io/", "myreg.azurecr.io"},
    {"https://myreg.azurecr.io/v2/", "myreg.azurecr.io"},
    {"myreg.azurecr.io:443", "myreg.azurecr.io"},
    {"myreg.azurecr.io:443/v2/", "myreg.azurecr.io"},
    {"  myreg.azurecr.io\n", "myreg.azurecr.io"},
    {"myreg.azurecr.io.", "myreg.azurecr.io"},
    {"gov1.azurecr.us", "gov1.azurecr.us"},
    {"cn1.azurecr.cn", "cn1.azurecr.cn"},
    {"my-reg-abc123.azurecr.io", "my-reg-abc123.azurecr.io"},
    {"a.azurecr.io", "a.azurecr.io"},
    /* not a registry login server */
    {"", NULL},
    {"azurecr.io", NULL},
    {".azurecr.io", NULL},
    {"a.b.azurecr.io", NULL},
    {"myreg.westeurope.data.azurecr.io", NULL},
    {"-myreg.azurecr.io", NULL},
    {"myreg-.azurecr.io", NULL},
    {"my_reg.azurecr.io", NULL},
    {"myreg.azurecr.io.evil.example", NULL},
    {"myreg.azurecr.com", NULL},
    {"myreg.azurecr.iox", NULL},
    {"evilazurecr.io", NULL},
    {"docker.io", NULL},
    {"https://index.docker.io/v1/", NULL},
    /* plain http, other ports, users, spaces, odd characters */
    {"http://myreg.azurecr.io", NULL},
    {"ftp://myreg.azurecr.io", NULL},
    {"myreg.azurecr.io:5000", NULL},
    {"myreg.azurecr.io:4430", NULL},
    {"myreg.azurecr.io:", NULL},
    {"user@myreg.azurecr.io", NULL},
    {"https://user:pw@myreg.azurecr.io", NULL},
    {"myreg.azurecr.io/v2/ x", NULL},
    {"myreg .azurecr.io", NULL},
    {"myreg.azurecr.io\x01", NULL},
    {"myr\xc3\xa9g.azurecr.io", NULL},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.azurecr.io", NULL}, /* 65 */
};

static void test_registry_name(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(name_rows) / sizeof(name_rows[0]); i++) {
		const struct name_row *r = &name_rows[i];
		char out[ACR_MAX_HOST + 1] = "junk";
		bool ok = acr_registry_name(r->in, strlen(r->in), out);

		CHECK(fails, ok == (r->want != NULL), "\"%s\": %s", unit_show(r->in, strlen(r->in)),
		      ok ? "accepted" : "refused");
		CHECK(fails, !ok || strcmp(out, r->want) == 0, "\"%s\": got \"%s\"", r->in, out);
		CHECK(fails, ok || out[0] == '\0', "\"%s\": output left set", r->in);
	}
	/* the length bounds the input */
	{
		char out[ACR_MAX_HOST + 1];
		assert_true(acr_registry_name("myreg.azurecr.io:5000", 16, out));
		assert_string_equal(out, "myreg.azurecr.io");
		assert_false(acr_registry_name(NULL, 0, out));
	}
	TABLE_DONE(fails);
}

struct scope_row {
	const char *scope;
	bool ok;
};

static const struct scope_row scope_rows[] = {
    {"repository:app:pull", true},
    {"repository:app/web:pull,push", true},
    {"repository:samples/hello-world:pull", true},
    {"registry:catalog:*", true},
    {"repository(plugin):x:pull", true},
    {"repository:a:pull repository:b:pull", true},
    {"repository:my.app_1:metadata_read", true},
    {"", false},
    {"repository", false},
    {"repository:app", false},
    {"repository::pull", false},
    {":app:pull", false},
    {"repository:app:", false},
    {"repository:app:pull ", false},
    {" repository:app:pull", false},
    {"repository:a:pull  repository:b:pull", false},
    {"repository:app:pull\n", false},
    {"repository:app:pull\"", false},
    {"repository:app:pull;x", false},
    {"repository:app:pull&scope=x", false},
    {"repository:a%20b:pull", false},
    {"a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c", true},
    {"a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c a:b:c", false}, /* nine */
};

static void test_scope(void **state)
{
	int fails = 0;
	char big[ACR_MAX_SCOPE + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(scope_rows) / sizeof(scope_rows[0]); i++) {
		const struct scope_row *r = &scope_rows[i];
		CHECK(fails, acr_scope_valid(r->scope) == r->ok, "\"%s\": %s",
		      unit_show(r->scope, strlen(r->scope)), r->ok ? "refused" : "accepted");
	}
	assert_false(acr_scope_valid(NULL));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "repository:", 11);
	memcpy(big + sizeof(big) - 6, ":pull", 5);
	assert_false(acr_scope_valid(big));
	TABLE_DONE(fails);
}

struct challenge_row {
	const char *registry;
	const char *header; /* a WWW-Authenticate value */
	bool ok;
	const char *why; /* refused: substring of the reason */
};

static const struct challenge_row challenge_rows[] = {
    /* as Azure Container Registry sends them */
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\","
     "scope=\"repository:app:pull\"",
     true, NULL},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\"", true, NULL},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\","
     "scope=\"registry:catalog:*\",error=\"invalid_token\"",
     true, NULL},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://MYREG.azurecr.io:443/oauth2/token\",service=\"MyReg.azurecr.io\","
     "scope=\"repository:a:pull repository:b:pull\"",
     true, NULL},
    {"myreg.azurecr.io",
     "Basic realm=\"x\", Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\"",
     true, NULL},
    /* the realm elsewhere: another host, a look-alike, http, another port or path, a user */
    {"myreg.azurecr.io",
     "Bearer realm=\"https://attacker.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\","
     "scope=\"repository:app:pull\"",
     false, "another host"},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io.evil.example/oauth2/token\",service=\"myreg.azurecr.io\"",
     false, "another host"},
    {"myreg.azurecr.io", "Bearer realm=\"https://evil.example/myreg.azurecr.io/oauth2/token\",service=\"x\"",
     false, "another host"},
    {"myreg.azurecr.io", "Bearer realm=\"http://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\"",
     false, "https"},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io:8443/oauth2/token\",service=\"myreg.azurecr.io\"", false,
     "not https://myreg.azurecr.io/oauth2/token"},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/exchange\",service=\"myreg.azurecr.io\"", false,
     "not https://"},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token?x=1\",service=\"myreg.azurecr.io\"", false,
     "not https://"},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://user@myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\"", false,
     "another host"},
    {"myreg.azurecr.io", "Bearer realm=\"/oauth2/token\",service=\"myreg.azurecr.io\"", false, "https"},
    {"myreg.azurecr.io", "Bearer service=\"myreg.azurecr.io\"", false, "https"},
    /* the service is another registry */
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"other.azurecr.io\"", false, "service"},
    {"myreg.azurecr.io", "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\"", false, "service"},
    /* a scope that could smuggle parameters */
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\","
     "scope=\"repository:app:pull&service=x\"",
     false, "scope"},
    {"myreg.azurecr.io",
     "Bearer realm=\"https://myreg.azurecr.io/oauth2/token\",service=\"myreg.azurecr.io\",scope=\"all\"",
     false, "scope"},
};

static void test_challenge(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(challenge_rows) / sizeof(challenge_rows[0]); i++) {
		const struct challenge_row *r = &challenge_rows[i];
		struct challenge ch;
		char why[256] = "";
		bool parsed = challenge_parse(r->header, strlen(r->header), &ch);
		bool ok =
		    parsed && acr_challenge_ok(r->registry, ch.realm, ch.service, ch.scope, why, sizeof(why));

		CHECK(fails, parsed, "%s: not parsed", r->header);
		CHECK(fails, ok == r->ok, "%s: %s (%s)", r->header, ok ? "accepted" : "refused", why);
		CHECK(fails, ok || r->why == NULL || strstr(why, r->why) != NULL,
		      "%s: reason \"%s\" lacks \"%s\"", r->header, why, r->why);
	}
	/* NULL pieces */
	{
		char why[64];
		assert_false(
		    acr_challenge_ok("myreg.azurecr.io", NULL, "myreg.azurecr.io", NULL, why, sizeof(why)));
		assert_false(acr_challenge_ok("myreg.azurecr.io", "https://myreg.azurecr.io/oauth2/token",
		                              NULL, NULL, why, sizeof(why)));
		assert_true(acr_challenge_ok("myreg.azurecr.io", "https://myreg.azurecr.io/oauth2/token",
		                             "myreg.azurecr.io", NULL, why, sizeof(why)));
	}
	TABLE_DONE(fails);
}

/* Registry answers: the token, its expiry from the JWT, the refusals. */
static void test_answer(void **state)
{
	char *rt = jwt("{\"aud\":\"myreg.azurecr.io\",\"grant_type\":\"refresh_token\",\"exp\":1700010800}");
	char *noexp = jwt("{\"aud\":\"myreg.azurecr.io\"}");
	char *past = jwt("{\"exp\":1699999999}");
	char *far = jwt("{\"exp\":1800000000}");
	char body[4096], why[256];
	struct azmi_token *tok = NULL;

	(void)state;
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	assert_int_equal(acr_answer_parse(body, strlen(body), "refresh_token", NOW, "myreg.azurecr.io", &tok,
	                                  why, sizeof(why)),
	                 AZMI_OK);
	assert_string_equal(tok->access_token, rt);
	assert_int_equal(tok->expires_on, 1700010800);
	assert_string_equal(tok->resource, "myreg.azurecr.io");
	assert_string_equal(tok->source, ACR_CACHE_SOURCE);
	/* three hours: refreshed at half-life, stale five minutes before expiry */
	assert_int_equal(token_expiry(tok)->refresh_on, NOW + 5400);
	assert_int_equal(token_expiry(tok)->stale_on, 1700010800 - EXPIRY_MARGIN);
	azmi_token_release(tok);

	snprintf(body, sizeof(body), "{\"access_token\":\"%s\"}", noexp);
	assert_int_equal(
	    acr_answer_parse(body, strlen(body), "access_token", NOW, "r", &tok, why, sizeof(why)), AZMI_OK);
	assert_int_equal(tok->expires_on, NOW + ACR_DEFAULT_LIFETIME);
	assert_string_equal(tok->source, "acr-access");
	azmi_token_release(tok);

	/* not a JWT: expires_in, else the default */
	snprintf(body, sizeof(body), "{\"access_token\":\"opaque-token\",\"expires_in\":1200}");
	assert_int_equal(
	    acr_answer_parse(body, strlen(body), "access_token", NOW, "r", &tok, why, sizeof(why)), AZMI_OK);
	assert_int_equal(tok->expires_on, NOW + 1200);
	azmi_token_release(tok);

	/* longer than any token lives: capped */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", far);
	assert_int_equal(
	    acr_answer_parse(body, strlen(body), "refresh_token", NOW, "r", &tok, why, sizeof(why)), AZMI_OK);
	assert_int_equal(tok->expires_on, NOW + EXPIRY_MAX_LIFETIME);
	azmi_token_release(tok);

	static const struct {
		const char *body;
		const char *why;
	} bad[] = {
	    {"", "not a JSON object"},
	    {"<html>proxy</html>", "HTML"},
	    {"[]", "not a JSON object"},
	    {"{}", "no refresh_token"},
	    {"{\"refresh_token\":42}", "no refresh_token"},
	    {"{\"access_token\":\"x.y.z\"}", "no refresh_token"},
	    {"{\"refresh_token\":\"\"}", "not a bearer token"},
	    {"{\"refresh_token\":\"a b\"}", "not a bearer token"},
	    {"{\"refresh_token\":\"a\\nb\"}", "not a bearer token"},
	    {"{\"refresh_token\":\"x\"} trailing", "not a JSON object"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		tok = (struct azmi_token *)1;
		assert_int_equal(acr_answer_parse(bad[i].body, strlen(bad[i].body), "refresh_token", NOW, "r",
		                                  &tok, why, sizeof(why)),
		                 AZMI_ERR_PROTOCOL);
		assert_null(tok);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("%s: reason \"%s\" lacks \"%s\"", bad[i].body, why, bad[i].why);
	}
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", past);
	assert_int_equal(
	    acr_answer_parse(body, strlen(body), "refresh_token", NOW, "r", &tok, why, sizeof(why)),
	    AZMI_ERR_PROTOCOL);
	assert_non_null(strstr(why, "already expired"));
	assert_null(strstr(why, past)); /* never quotes the token */
	free(rt);
	free(noexp);
	free(past);
	free(far);
}

static void test_error_text(void **state)
{
	static const struct {
		const char *body;
		const char *want;
	} rows[] = {
	    {"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
	     "required\",\"detail\":null}]}",
	     "UNAUTHORIZED: authentication required"},
	    {"{\"errors\":[{\"code\":\"DENIED\"}]}", "DENIED"},
	    {"{\"errors\":[{\"message\":\"line one\\r\\nline two\"}]}", "line one"},
	    {"{\"error\":\"invalid_request\",\"error_description\":\"bad tenant\"}",
	     "invalid_request: bad tenant"},
	    {"{\"errors\":[]}", "(not an error JSON"},
	    {"{\"errors\":[\"x\"]}", "(not an error JSON"},
	    {"Service Unavailable", "(not an error JSON: \"Service Unavailable\")"},
	    {"", ""},
	};
	char out[300];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		acr_error_text(rows[i].body, strlen(rows[i].body), out, sizeof(out));
		if (strncmp(out, rows[i].want, strlen(rows[i].want)) != 0 ||
		    (rows[i].want[0] == '\0' && out[0]))
			fail_msg("%s: got \"%s\", want \"%s\"", rows[i].body, out, rows[i].want);
	}
}

struct seen {
	int n;
	char last[300];
};

static void count_key(void *userdata, const struct cache_key *k)
{
	struct seen *s = userdata;

	s->n++;
	snprintf(s->last, sizeof(s->last), "%s|%d|%s|%s", k->source, (int)k->kind, k->id ? k->id : "-",
	         k->resource);
}

/* The refresh tokens live in their own namespace of the file cache, and file_cache_each lists them. */
static void test_cache_namespace(void **state)
{
	char *dir = unit_tmpdir(), *path;
	struct file_cache fc;
	struct cache_key rk = {ACR_CACHE_SOURCE, AZMI_ID_OBJECT_ID, "tenant/oid", "myreg.azurecr.io"};
	struct cache_key ek = {"imds", AZMI_ID_SYSTEM, NULL, "myreg.azurecr.io"};
	struct expiry x = {NOW + 10800, NOW + 5400, NOW + 10500};
	struct azmi_token *tok =
	    token_new("refresh.token.value", 19, &x, "myreg.azurecr.io", ACR_CACHE_SOURCE);
	struct azmi_token *other = token_new("entra.token.value", 17, &x, "myreg.azurecr.io", "imds");
	struct seen s = {0};
	char name[41];

	(void)state;
	file_cache_open(&fc, dir, NULL);
	assert_true(file_cache_enabled(&fc));
	assert_int_equal(file_cache_store(&fc, &rk, tok), AZMI_OK);
	assert_int_equal(file_cache_store(&fc, &ek, other), AZMI_OK);
	/* another identity never reads it; the same resource under another source is another file */
	{
		struct cache_key rk2 = {ACR_CACHE_SOURCE, AZMI_ID_OBJECT_ID, "tenant/other",
		                        "myreg.azurecr.io"};
		struct azmi_token *got = file_cache_load(&fc, &ek, NOW);
		assert_null(file_cache_load(&fc, &rk2, NOW));
		assert_non_null(got);
		assert_string_equal(got->access_token, "entra.token.value");
		azmi_token_release(got);
	}
	{
		struct azmi_token *got = file_cache_load(&fc, &rk, NOW);
		assert_non_null(got);
		assert_string_equal(got->access_token, "refresh.token.value");
		azmi_token_release(got);
	}
	file_cache_each(&fc, ACR_CACHE_SOURCE, NOW, count_key, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.last, ACR_CACHE_SOURCE "|3|tenant/oid|myreg.azurecr.io");
	/* expired: not listed */
	s.n = 0;
	file_cache_each(&fc, ACR_CACHE_SOURCE, NOW + 10600, count_key, &s);
	assert_int_equal(s.n, 0);
	/* a file renamed to another key's name is not listed; a group-readable one neither */
	file_cache_name(&rk, name);
	path = unit_path(dir, name);
	chmod(path, 0640);
	s.n = 0;
	file_cache_each(&fc, ACR_CACHE_SOURCE, NOW, count_key, &s);
	assert_int_equal(s.n, 0);
	chmod(path, 0600);
	{
		char *moved = unit_path(dir, "0123456789abcdef0123456789abcdef01234567");
		assert_int_equal(rename(path, moved), 0);
		s.n = 0;
		file_cache_each(&fc, ACR_CACHE_SOURCE, NOW, count_key, &s);
		assert_int_equal(s.n, 0);
		free(moved);
	}
	free(path);
	file_cache_close(&fc);
	azmi_token_release(tok);
	azmi_token_release(other);
	unit_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_registry_name), cmocka_unit_test(test_scope),
	    cmocka_unit_test(test_challenge),     cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_error_text),    cmocka_unit_test(test_cache_namespace),
	};

	return cmocka_run_group_tests_name("acr", tests, NULL, NULL);
}

/* test_answer.c - token answers (answer_parse) and error answers (answer_error_text). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "token.h"

#define NOW   1700000000LL
#define TOKEN "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"

struct row {
	const char *body;
	bool ok;
	const char *why; /* failure: substring of the reason */
};

static const struct row rows[] = {
    /* IMDS, as it answers */
    {"{\"access_token\":\"" TOKEN "\",\"client_id\":\"11111111-2222-3333-4444-555555555555\","
     "\"expires_in\":\"3599\",\"expires_on\":\"1700003599\",\"ext_expires_in\":\"3599\","
     "\"not_before\":\"1699999700\",\"resource\":\"https://management.azure.com/"
     "\",\"token_type\":\"Bearer\"}",
     true, NULL},
    /* App Service 2019: expires_on only */
    {"{\"access_token\":\"" TOKEN
     "\",\"expires_on\":\"1700003600\",\"resource\":\"r\",\"token_type\":\"Bearer\","
     "\"client_id\":\"c\"}",
     true, NULL},
    /* App Service 2017: a date */
    {"{\"access_token\":\"" TOKEN
     "\",\"expires_on\":\"11/14/2023 11:13:20 PM +00:00\",\"token_type\":\"Bearer\"}",
     true, NULL},
    /* token_type is optional and case-insensitive */
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600}", true, NULL},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"bearer\"}", true, NULL},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"BEARER\"}", true, NULL},
    /* whitespace around the JSON */
    {"\r\n {\"access_token\":\"" TOKEN "\",\"expires_in\":3600}\r\n", true, NULL},
    /* base64 with padding and the other b64token characters */
    {"{\"access_token\":\"abc-._~+/xyz==\",\"expires_in\":3600}", true, NULL},

    /* not JSON, not an object, HTML */
    {"", false, "not a JSON object"},
    {"hello", false, "not a JSON object"},
    {"[]", false, "not a JSON object"},
    {"\"access_token\"", false, "not a JSON object"},
    {"null", false, "not a JSON object"},
    {"42", false, "not a JSON object"},
    {"<html><body>Proxy error</body></html>", false, "HTML"},
    {"<!DOCTYPE html><html></html>", false, "proxy"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600} trailing", false, "not a JSON object"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600}{}", false, "not a JSON object"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600", false, "not a JSON object"},
    {"{'access_token':'" TOKEN "','expires_in':3600}", false, "not a JSON object"},
    /* access_token missing, not a string, not a bearer token */
    {"{\"expires_in\":3600,\"token_type\":\"Bearer\"}", false, "access_token"},
    {"{\"accessToken\":\"" TOKEN "\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":null,\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":12345,\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":[\"" TOKEN "\"],\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":{\"v\":\"" TOKEN "\"},\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":true,\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc def\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\" abc\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc \",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\tdef\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\r\\nX-Evil: 1\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\u0001\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\u0000def\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\u007f\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\u00e9\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc\\\"def\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"abc,def\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"ab=c\",\"expires_in\":3600}", false, "access_token"},
    {"{\"access_token\":\"===\",\"expires_in\":3600}", false, "access_token"},
    /* token_type other than Bearer */
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"MAC\"}", false, "token_type"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"pop\"}", false, "token_type"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"\"}", false, "token_type"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"Bearer \"}", false, "token_type"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":\"Bearerx\"}", false, "token_type"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":null}", true, NULL},
    /* expiry problems come through with their field named */
    {"{\"access_token\":\"" TOKEN "\",\"token_type\":\"Bearer\"}", false, "expiry"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":\"soon\"}", false, "expires_in"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_on\":\"yesterday\"}", false, "expires_on"},
    {"{\"access_token\":\"" TOKEN "\",\"expires_on\":\"1699999999\"}", false, "expired"},
    /* nesting deeper than the JSON depth limit */
    {"{\"access_token\":\"" TOKEN
     "\",\"expires_in\":3600,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]}",
     false, "not a JSON object"},
};

static int check_rows(const struct row *table, size_t n)
{
	int fails = 0;

	for (size_t i = 0; i < n; i++) {
		const struct row *r = &table[i];
		struct azmi_token *tok = (struct azmi_token *)0x1;
		char why[512] = "";
		azmi_err rc = answer_parse(r->body, strlen(r->body), NOW, "https://management.azure.com",
		                           "imds", &tok, why, sizeof(why));
		if (r->ok) {
			CHECK(fails, rc == AZMI_OK && tok != NULL, "%s: refused: %s",
			      unit_show(r->body, strlen(r->body)), why);
		} else {
			CHECK(fails, rc == AZMI_ERR_PROTOCOL, "%s: rc %d",
			      unit_show(r->body, strlen(r->body)), rc);
			CHECK(fails, tok == NULL, "%s: *out not NULL on failure",
			      unit_show(r->body, strlen(r->body)));
			CHECK(fails, strstr(why, r->why) != NULL, "%s: reason \"%s\" lacks \"%s\"",
			      unit_show(r->body, strlen(r->body)), why, r->why);
			/* the reason never quotes the token */
			CHECK(fails, strstr(why, "c2lnbmF0dXJl") == NULL, "%s: reason quotes the token: %s",
			      unit_show(r->body, strlen(r->body)), why);
		}
		if (rc == AZMI_OK)
			azmi_token_release(tok);
	}
	return fails;
}

static void test_table(void **state)
{
	(void)state;
	TABLE_DONE(check_rows(rows, sizeof(rows) / sizeof(rows[0])));
}

/* A token_type that is present but not a string is not "Bearer" either: refuse the answer. */
static void test_token_type_not_string(void **state)
{
	static const struct row bad[] = {
	    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":5}", false, "token_type"},
	    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":[\"Bearer\"]}", false,
	     "token_type"},
	    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":{}}", false, "token_type"},
	    {"{\"access_token\":\"" TOKEN "\",\"expires_in\":3600,\"token_type\":true}", false, "token_type"},
	};

	(void)state;
	TABLE_DONE(check_rows(bad, sizeof(bad) / sizeof(bad[0])));
}

/* What a parsed token holds. */
static void test_token_fields(void **state)
{
	static const char body[] =
	    "{\"access_token\":\"" TOKEN "\",\"expires_in\":\"7200\",\"token_type\":\"Bearer\","
	    "\"resource\":\"https://vault.azure.net\"}";
	struct azmi_token *tok = NULL;
	char why[256] = "";
	const struct expiry *x;

	(void)state;
	assert_int_equal(answer_parse(body, sizeof(body) - 1, NOW, "https://storage.azure.com", "appservice",
	                              &tok, why, sizeof(why)),
	                 AZMI_OK);
	assert_non_null(tok);
	assert_string_equal(tok->access_token, TOKEN);
	assert_int_equal(tok->access_token_len, strlen(TOKEN));
	assert_int_equal(tok->expires_on, NOW + 7200);
	assert_string_equal(tok->token_type, "Bearer");
	/* the resource asked for, not the one the answer claims */
	assert_string_equal(tok->resource, "https://storage.azure.com");
	assert_string_equal(tok->source, "appservice");
	x = token_expiry(tok);
	assert_int_equal(x->expires_on, NOW + 7200);
	assert_int_equal(x->refresh_on, NOW + 3600);
	assert_int_equal(x->stale_on, NOW + 6900);
	/* references */
	assert_ptr_equal(token_ref(tok), tok);
	azmi_token_release(tok);
	assert_string_equal(tok->access_token, TOKEN);
	azmi_token_release(tok);
	azmi_token_release(NULL);
}

/* A token of exactly 32 KiB is accepted; one byte more is refused. */
static void test_token_size(void **state)
{
	size_t n = TOKEN_MAX_LEN + 1;
	char *body = malloc(n + 100);
	struct azmi_token *tok = NULL;
	char why[256] = "";
	int len;

	(void)state;
	assert_non_null(body);
	for (size_t extra = 0; extra < 2; extra++) {
		memcpy(body, "{\"access_token\":\"", 17);
		memset(body + 17, 'A', TOKEN_MAX_LEN + extra);
		len = 17 + TOKEN_MAX_LEN + (int)extra;
		len += sprintf(body + len, "\",\"expires_in\":3600}");
		azmi_err rc = answer_parse(body, (size_t)len, NOW, "r", "imds", &tok, why, sizeof(why));
		if (extra == 0) {
			assert_int_equal(rc, AZMI_OK);
			assert_int_equal(tok->access_token_len, TOKEN_MAX_LEN);
			azmi_token_release(tok);
		} else {
			assert_int_equal(rc, AZMI_ERR_PROTOCOL);
			assert_null(tok);
			assert_non_null(strstr(why, "access_token"));
			assert_non_null(strstr(why, "32769"));
		}
	}
	free(body);
}

/* The body is bounded by its length, not by a NUL. */
static void test_length_bounds(void **state)
{
	static const char body[] = "{\"access_token\":\"abc\",\"expires_in\":3600}GARBAGE";
	struct azmi_token *tok = NULL;
	char why[256];

	(void)state;
	assert_int_equal(answer_parse(body, sizeof(body) - 1 - 7, NOW, "r", "imds", &tok, why, sizeof(why)),
	                 AZMI_OK);
	azmi_token_release(tok);
	assert_int_equal(answer_parse(body, sizeof(body) - 1, NOW, "r", "imds", &tok, why, sizeof(why)),
	                 AZMI_ERR_PROTOCOL);
	assert_int_equal(answer_parse(body, 10, NOW, "r", "imds", &tok, why, sizeof(why)), AZMI_ERR_PROTOCOL);
	/* an embedded NUL after the object is not whitespace */
	static const char nul[] = "{\"access_token\":\"abc\",\"expires_in\":3600}\0";
	assert_int_equal(answer_parse(nul, sizeof(nul) - 1, NOW, "r", "imds", &tok, why, sizeof(why)),
	                 AZMI_ERR_PROTOCOL);
}

struct err_row {
	const char *body;
	const char *want;
};

static const struct err_row err_rows[] = {
    /* OAuth (IMDS, Entra) */
    {"{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}",
     "invalid_request: Identity not found"},
    {"{\"error\":\"invalid_resource\",\"error_description\":\"AADSTS500011: The resource principal named "
     "https://x was not found.\",\"error_codes\":[500011]}",
     "invalid_resource: AADSTS500011: The resource principal named https://x was not found."},
    {"{\"error\":\"invalid_request\"}", "invalid_request"},
    {"{\"error_description\":\"only a description\"}", "only a description"},
    /* App Service */
    {"{\"statusCode\":400,\"message\":\"Unable to load the proper Managed Identity.\","
     "\"correlationId\":\"abc\"}",
     "Unable to load the proper Managed Identity."},
    {"{\"StatusCode\":500,\"Message\":\"An error occurred\"}", "An error occurred"},
    /* ARM */
    {"{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client 'x' does not have "
     "authorization\"}}",
     "AuthorizationFailed: The client 'x' does not have authorization"},
    {"{\"error\":{\"code\":\"InvalidAuthenticationToken\"}}", "InvalidAuthenticationToken"},
    {"{\"error\":{\"message\":\"only a message\"}}", "only a message"},
    /* sanitised */
    {"{\"error\":\"bad\\u0001code\",\"error_description\":\"line1\\nline2\\u001b[31m\\u00e9\"}",
     "bad?code: line1"},
    /* not JSON, or JSON without error fields */
    {"Bad Gateway", "(not an error JSON: \"Bad Gateway\")"},
    {"<html><body>502</body></html>\n", "(not an error JSON: \"<html><body>502</body></html> \")"},
    {"a\001b\r\n", "(not an error JSON: \"a?b  \")"},
    {"{\"foo\":1}", "(not an error JSON: \"{\"foo\":1}\")"},
    {"{\"error\":42}", "(not an error JSON: \"{\"error\":42}\")"},
    {"[\"error\"]", "(not an error JSON: \"[\"error\"]\")"},
    {"", ""},
};

static void test_error_text(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(err_rows) / sizeof(err_rows[0]); i++) {
		char out[1024];
		memset(out, 'Z', sizeof(out));
		answer_error_text(err_rows[i].body, strlen(err_rows[i].body), out, sizeof(out));
		CHECK(fails, strcmp(out, err_rows[i].want) == 0, "%s: got \"%s\", want \"%s\"",
		      unit_show(err_rows[i].body, strlen(err_rows[i].body)), out, err_rows[i].want);
	}
	TABLE_DONE(fails);
}

/* Long bodies and descriptions are cut; small buffers are never overrun; output is printable. */
static void test_error_text_bounds(void **state)
{
	char body[20000], out[1024], small[16];
	size_t n;

	(void)state;
	memset(body, 'a', 200);
	answer_error_text(body, 200, out, sizeof(out));
	assert_string_equal(
	    out, "(not an error JSON: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaaaaaaaaaaaa...\")");
	memset(body, 'a', 80);
	answer_error_text(body, 80, out, sizeof(out));
	assert_string_equal(
	    out, "(not an error JSON: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	         "aaaaaaaaaaaaaaaa\")");

	n = (size_t)sprintf(body, "{\"error\":\"");
	memset(body + n, 'c', 5000);
	n += 5000;
	n += (size_t)sprintf(body + n, "\",\"error_description\":\"");
	memset(body + n, 'd', 10000);
	n += 10000;
	n += (size_t)sprintf(body + n, "\"}");
	answer_error_text(body, n, out, sizeof(out));
	assert_true(strlen(out) < sizeof(out));
	assert_true(strlen(out) < 400);
	assert_non_null(strstr(out, "ccc"));
	assert_non_null(strstr(out, ": ddd"));

	memset(small, 'Z', sizeof(small));
	answer_error_text("{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}", 66,
	                  small, 10);
	assert_int_equal(strlen(small), 9);
	assert_int_equal(small[10], 'Z');
	memset(small, 'Z', sizeof(small));
	answer_error_text("plain text body", 15, small, 10);
	assert_int_equal(strlen(small), 9);
	assert_int_equal(small[10], 'Z');

	/* binary garbage: printable output */
	for (int i = 0; i < 256; i++)
		body[i] = (char)i;
	answer_error_text(body, 256, out, sizeof(out));
	for (const char *p = out; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_token_type_not_string),
	    cmocka_unit_test(test_token_fields),
	    cmocka_unit_test(test_token_size),
	    cmocka_unit_test(test_length_bounds),
	    cmocka_unit_test(test_error_text),
	    cmocka_unit_test(test_error_text_bounds),
	};

	return cmocka_run_group_tests_name("answer", tests, NULL, NULL);
}

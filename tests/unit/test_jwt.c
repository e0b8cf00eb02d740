/* test_jwt.c - base64url and the JSON parts of a compact JWS. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"

/* An independent base64url encoder (no padding) for building test tokens. */
static char *b64url(const char *in, size_t len)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(len * 4 / 3 + 4), *p = out;
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

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

/* "b64(header).b64(claims).sig" */
static char *make_jwt(const char *header, const char *claims, const char *sig)
{
	char *h = b64url(header, strlen(header)), *c = b64url(claims, strlen(claims)), *out = NULL;

	if (asprintf(&out, "%s.%s.%s", h, c, sig) < 0)
		out = NULL;
	free(h);
	free(c);
	return out;
}

struct dec_row {
	const char *in;
	bool ok;
	const char *want;
	size_t wantlen;
};

static const struct dec_row dec_rows[] = {
    {"", true, "", 0},
    {"QQ", true, "A", 1},
    {"QQ=", true, "A", 1},
    {"QQ==", true, "A", 1},
    {"QUI", true, "AB", 2},
    {"QUI=", true, "AB", 2},
    {"QUJD", true, "ABC", 3},
    {"QUJDRA", true, "ABCD", 4},
    {"QUJDREU", true, "ABCDE", 5},
    {"QUJDREVG", true, "ABCDEF", 6},
    {"-_8", true, "\xfb\xff", 2},
    {"AAA", true, "\0\0", 2},
    {"eyJhbGciOiJSUzI1NiJ9", true, "{\"alg\":\"RS256\"}", 15},
    /* 4n+1 characters cannot be base64 */
    {"Q", false, NULL, 0},
    {"QUJDR", false, NULL, 0},
    {"QUJDR===", false, NULL, 0},
    /* characters outside the base64url alphabet, standard base64 included */
    {"+/8", false, NULL, 0},
    {"QQ+", false, NULL, 0},
    {"Q/==", false, NULL, 0},
    {"Q Q", false, NULL, 0},
    {"QQ\n", false, NULL, 0},
    {"QQ.", false, NULL, 0},
    {"QQ=x", false, NULL, 0},
    {"Q=Q=", false, NULL, 0},
    {"=QQ", false, NULL, 0},
    {"QUJD\x80", false, NULL, 0},
};

static void test_b64url(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(dec_rows) / sizeof(dec_rows[0]); i++) {
		const struct dec_row *r = &dec_rows[i];
		size_t inlen = strlen(r->in), outlen = 99;
		unsigned char *out = jwt_b64url_decode(r->in, inlen, &outlen);

		if (r->ok) {
			CHECK(fails, out != NULL, "\"%s\": refused", r->in);
			CHECK(fails,
			      out == NULL || (outlen == r->wantlen && memcmp(out, r->want, r->wantlen) == 0),
			      "\"%s\": got %zu bytes \"%s\"", r->in, outlen,
			      out ? unit_show((char *)out, outlen) : "");
			CHECK(fails, out == NULL || out[outlen] == '\0', "\"%s\": not NUL-terminated", r->in);
		} else {
			CHECK(fails, out == NULL, "\"%s\": accepted", unit_show(r->in, inlen));
		}
		free(out);
	}
	TABLE_DONE(fails);
}

/* A NUL inside the given length is refused. */
static void test_b64url_nul(void **state)
{
	size_t n;

	(void)state;
	assert_null(jwt_b64url_decode("QUJ\0", 4, &n));
	assert_null(jwt_b64url_decode("QU\0D", 4, &n));
}

/* Round trips of every length 0..300 with all byte values, against the independent encoder. */
static void test_b64url_roundtrip(void **state)
{
	char data[300];

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(data); len++) {
		char *enc = b64url(data, len);
		size_t n = 0;
		unsigned char *dec = jwt_b64url_decode(enc, strlen(enc), &n);
		assert_non_null(dec);
		assert_int_equal(n, len);
		assert_memory_equal(dec, data, len);
		free(dec);
		free(enc);
	}
	/* the size limit */
	char *big = malloc(JWT_MAX_LEN + 8);
	size_t n;
	assert_non_null(big);
	memset(big, 'A', JWT_MAX_LEN + 8);
	unsigned char *ok = jwt_b64url_decode(big, JWT_MAX_LEN, &n);
	assert_non_null(ok);
	free(ok);
	assert_null(jwt_b64url_decode(big, JWT_MAX_LEN + 4, &n));
	free(big);
}

static void test_decode_part(void **state)
{
	char *jwt =
	    make_jwt("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
	             "{\"aud\":\"https://storage.azure.com\",\"oid\":\"o\",\"exp\":1700003600}", "c2ln");
	struct json_object *h, *c, *v;

	(void)state;
	h = jwt_decode_part(jwt, strlen(jwt), 0);
	c = jwt_decode_part(jwt, strlen(jwt), 1);
	assert_non_null(h);
	assert_non_null(c);
	assert_true(json_object_object_get_ex(h, "kid", &v));
	assert_string_equal(json_object_get_string(v), "k1");
	assert_true(json_object_object_get_ex(c, "aud", &v));
	assert_string_equal(json_object_get_string(v), "https://storage.azure.com");
	assert_true(json_object_object_get_ex(c, "exp", &v));
	assert_int_equal(json_object_get_int64(v), 1700003600);
	json_object_put(h);
	json_object_put(c);
	/* only parts 0 and 1 */
	assert_null(jwt_decode_part(jwt, strlen(jwt), 2));
	assert_null(jwt_decode_part(jwt, strlen(jwt), -1));
	/* the length bounds the text */
	assert_null(jwt_decode_part(jwt, strlen(jwt) - 5, 0)); /* "c2ln" gone and one dot: two parts */
	free(jwt);
}

struct part_row {
	const char *jwt; /* built from parts when NULL */
	const char *header, *claims, *sig;
	bool ok0, ok1;
};

static const struct part_row part_rows[] = {
    /* empty signature: still three parts */
    {NULL, "{\"alg\":\"none\"}", "{\"a\":1}", "", true, true},
    /* not JSON, or JSON that is not an object */
    {NULL, "not json", "{\"a\":1}", "s", false, true},
    {NULL, "{\"alg\":\"RS256\"}", "[1,2]", "s", true, false},
    {NULL, "null", "\"str\"", "s", false, false},
    {NULL, "{\"a\":1} x", "{\"a\":1}{}", "s", false, false},
    {NULL, "{\"a\":", "{}", "s", false, true},
    {NULL, "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]}", "{}", "s", false, true},
    /* the wrong number of parts */
    {"eyJhIjoxfQ", NULL, NULL, NULL, false, false},
    {"eyJhIjoxfQ.eyJhIjoxfQ", NULL, NULL, NULL, false, false},
    {"eyJhIjoxfQ.eyJhIjoxfQ.c2ln.extra", NULL, NULL, NULL, false, false},
    {"eyJhIjoxfQ.eyJhIjoxfQ.c2ln.", NULL, NULL, NULL, false, false},
    {".eyJhIjoxfQ.c2ln.", NULL, NULL, NULL, false, false},
    {"..", NULL, NULL, NULL, false, false},
    {"", NULL, NULL, NULL, false, false},
    /* padding accepted; bad characters and 4n+1 lengths refused */
    {"eyJhIjoxfQ==.eyJhIjoxfQ.c2ln", NULL, NULL, NULL, true, true},
    {"eyJhIjoxfQ.eyJhIjox fQ.c2ln", NULL, NULL, NULL, true, false},
    {"eyJhIjoxfQ.eyJhIjoxfQ+.c2ln", NULL, NULL, NULL, true, false},
    {"eyJhIjoxfQx.eyJhIjoxfQ.c2ln", NULL, NULL, NULL, false, true},
    {"eyJhIjoxfQ.e.c2ln", NULL, NULL, NULL, true, false},
    /* JWE (five parts) is not a JWS */
    {"eyJhIjoxfQ.eyJhIjoxfQ.a.b.c", NULL, NULL, NULL, false, false},
};

static void test_decode_part_table(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(part_rows) / sizeof(part_rows[0]); i++) {
		const struct part_row *r = &part_rows[i];
		char *jwt = r->jwt ? strdup(r->jwt) : make_jwt(r->header, r->claims, r->sig);
		struct json_object *p0 = jwt_decode_part(jwt, strlen(jwt), 0);
		struct json_object *p1 = jwt_decode_part(jwt, strlen(jwt), 1);

		CHECK(fails, (p0 != NULL) == r->ok0, "row %zu \"%s\" part 0: %s", i, jwt,
		      p0 ? "decoded" : "refused");
		CHECK(fails, (p1 != NULL) == r->ok1, "row %zu \"%s\" part 1: %s", i, jwt,
		      p1 ? "decoded" : "refused");
		json_object_put(p0);
		json_object_put(p1);
		free(jwt);
	}
	TABLE_DONE(fails);
}

static void test_decode_part_size(void **state)
{
	size_t n = JWT_MAX_LEN + 10;
	char *big = malloc(n + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'A', n);
	memcpy(big, "eyJhIjoxfQ.eyJhIjoxfQ.", 22);
	big[n] = '\0';
	assert_null(jwt_decode_part(big, n, 0));
	assert_null(jwt_decode_part(big, n, 1));
	struct json_object *o = jwt_decode_part(big, JWT_MAX_LEN, 1);
	assert_non_null(o);
	json_object_put(o);
	free(big);
}

/* jwt_b64_encode: RFC 4648 vectors in both alphabets, and round trips through the decoder. */
static void test_b64_encode(void **state)
{
	static const struct {
		const char *in, *std, *url;
	} rows[] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	    {"\xfb\xff", "+/8=", "-_8"},
	    {"\xfb\xef\xbe", "++++", "----"},
	    {"\xff\xff\xff", "////", "____"},
	};
	int fails = 0;
	char data[300];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char *std = jwt_b64_encode((const unsigned char *)rows[i].in, strlen(rows[i].in), false);
		char *url = jwt_b64_encode((const unsigned char *)rows[i].in, strlen(rows[i].in), true);
		CHECK(fails, std && strcmp(std, rows[i].std) == 0, "std \"%s\": got \"%s\"", rows[i].std,
		      std ? std : "(null)");
		CHECK(fails, url && strcmp(url, rows[i].url) == 0, "url \"%s\": got \"%s\"", rows[i].url,
		      url ? url : "(null)");
		free(std);
		free(url);
	}
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 53 + 7);
	for (size_t len = 0; len <= sizeof(data); len++) {
		char *url = jwt_b64_encode((const unsigned char *)data, len, true), *ref = b64url(data, len);
		size_t n = 0;
		unsigned char *back = jwt_b64url_decode(url, strlen(url), &n);
		CHECK(fails, strcmp(url, ref) == 0, "length %zu: \"%s\" differs from the reference", len,
		      url);
		CHECK(fails, back && n == len && memcmp(back, data, len) == 0, "length %zu: no round trip",
		      len);
		free(back);
		free(ref);
		free(url);
	}
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64url),
	    cmocka_unit_test(test_b64url_nul),
	    cmocka_unit_test(test_b64url_roundtrip),
	    cmocka_unit_test(test_decode_part),
	    cmocka_unit_test(test_decode_part_table),
	    cmocka_unit_test(test_decode_part_size),
	    cmocka_unit_test(test_b64_encode),
	};

	return cmocka_run_group_tests_name("jwt", tests, NULL, NULL);
}

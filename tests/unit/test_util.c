/* test_util.c - bounded integer parsing, bearer token text, sanitising, and small helpers. */
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "token.h"
#include "util.h"

struct int_row {
	const char *s;
	int64_t min, max;
	bool ok;
	int64_t want;
};

static const struct int_row int_rows[] = {
    {"0", 0, 10, true, 0},
    {"7", 0, 10, true, 7},
    {"10", 0, 10, true, 10},
    {"11", 0, 10, false, 0},
    {"5", 6, 10, false, 0},
    {"007", 0, 10, true, 7},
    {"3600", 0, INT64_MAX, true, 3600},
    {"-1", -10, 10, true, -1},
    {"-10", -10, 10, true, -10},
    {"-11", -10, 10, false, 0},
    {"-0", -1, 1, true, 0},
    {"-1", 0, 10, false, 0},
    {"-0", 0, 10, false, 0},
    {"9223372036854775807", INT64_MIN, INT64_MAX, true, INT64_MAX},
    {"9223372036854775808", INT64_MIN, INT64_MAX, false, 0},
    {"-9223372036854775808", INT64_MIN, INT64_MAX, true, INT64_MIN},
    {"-9223372036854775809", INT64_MIN, INT64_MAX, false, 0},
    {"18446744073709551615", INT64_MIN, INT64_MAX, false, 0},
    {"18446744073709551616", INT64_MIN, INT64_MAX, false, 0},
    {"99999999999999999999999999999", INT64_MIN, INT64_MAX, false, 0},
    {"-99999999999999999999999999999", INT64_MIN, INT64_MAX, false, 0},
    {"00000000000000000000000000001", 0, 10, true, 1},
    {"253402300799", 0, 253402300799, true, 253402300799},
    {"253402300800", 0, 253402300799, false, 0},
    /* signs, spaces and other characters */
    {"", 0, 10, false, 0},
    {"-", -10, 10, false, 0},
    {"+1", 0, 10, false, 0},
    {"--1", -10, 10, false, 0},
    {"-+1", -10, 10, false, 0},
    {" 1", 0, 10, false, 0},
    {"1 ", 0, 10, false, 0},
    {"1\n", 0, 10, false, 0},
    {"1a", 0, 10, false, 0},
    {"a1", 0, 10, false, 0},
    {"0x1", 0, 10, false, 0},
    {"1.0", 0, 10, false, 0},
    {"1e1", 0, 100, false, 0},
    {"1_000", 0, 10000, false, 0},
    {"\xd9\xa1", 0, 10, false, 0}, /* Arabic-Indic digit one */
};

static void test_parse_int64(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(int_rows) / sizeof(int_rows[0]); i++) {
		const struct int_row *r = &int_rows[i];
		int64_t got = 424242;
		bool ok = util_parse_int64(r->s, strlen(r->s), r->min, r->max, &got);

		CHECK(fails, ok == r->ok, "\"%s\" in [%lld, %lld]: %s", unit_show(r->s, strlen(r->s)),
		      (long long)r->min, (long long)r->max, ok ? "accepted" : "refused");
		CHECK(fails, !ok || got == r->want, "\"%s\": got %lld, want %lld", r->s, (long long)got,
		      (long long)r->want);
		CHECK(fails, ok || got == 424242, "\"%s\": output written on failure", r->s);
	}
	TABLE_DONE(fails);
}

/* The length bounds the text; a NUL inside it is not a digit. */
static void test_parse_int64_span(void **state)
{
	int64_t v = 0;

	(void)state;
	assert_true(util_parse_int64("123abc", 3, 0, 1000, &v));
	assert_int_equal(v, 123);
	assert_false(util_parse_int64("12\0003", 4, 0, 1000, &v));
	assert_true(util_parse_int64("-5x", 2, -10, 10, &v));
	assert_int_equal(v, -5);
}

struct tok_row {
	const char *s;
	bool want;
};

static const struct tok_row tok_rows[] = {
    {"a", true},
    {"abc", true},
    {"eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln", true},
    {"AZaz09-._~+/", true},
    {"abc=", true},
    {"abc==", true},
    {"abc===", true},
    {"", false},
    {"=", false},
    {"==", false},
    {"=abc", false},
    {"ab=c", false},
    {"abc=d", false},
    {"abc= ", false},
    {"a b", false},
    {" abc", false},
    {"abc ", false},
    {"a\tb", false},
    {"abc\n", false},
    {"abc\r\nX-Injected: 1", false},
    {"a\"b", false},
    {"a,b", false},
    {"a;b", false},
    {"a:b", false},
    {"a\\b", false},
    {"a%b", false},
    {"a\x7f", false},
    {"a\x80", false},
    {"\xc3\xa9", false},
    {"a\x01", false},
};

static void test_token_text(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(tok_rows) / sizeof(tok_rows[0]); i++)
		CHECK(fails, token_text_valid(tok_rows[i].s, strlen(tok_rows[i].s)) == tok_rows[i].want,
		      "\"%s\"", unit_show(tok_rows[i].s, strlen(tok_rows[i].s)));
	TABLE_DONE(fails);
}

static void test_token_text_bounds(void **state)
{
	char *big = malloc(TOKEN_MAX_LEN + 2);

	(void)state;
	assert_non_null(big);
	memset(big, 'A', TOKEN_MAX_LEN + 1);
	assert_true(token_text_valid(big, TOKEN_MAX_LEN));
	assert_false(token_text_valid(big, TOKEN_MAX_LEN + 1));
	big[TOKEN_MAX_LEN - 1] = '=';
	assert_true(token_text_valid(big, TOKEN_MAX_LEN));
	/* a NUL inside the span */
	assert_false(token_text_valid("ab\0cd", 5));
	/* only the span is read */
	assert_true(token_text_valid("abc def", 3));
	free(big);
}

static void test_sanitize(void **state)
{
	char out[16];

	(void)state;
	util_sanitize(out, sizeof(out), "hello", 5);
	assert_string_equal(out, "hello");
	/* Line breaks and tabs become spaces (Entra's descriptions hold CR LF); other controls '?'. */
	util_sanitize(out, sizeof(out), "a\nb\x01\x7f\xc3\xa9", 7);
	assert_string_equal(out, "a b????");
	util_sanitize(out, sizeof(out), "a\r\tb", 4);
	assert_string_equal(out, "a  b");
	util_sanitize(out, sizeof(out), "a\0b", 3);
	assert_string_equal(out, "a?b");
	util_sanitize(out, sizeof(out), "0123456789abcdefghij", 20);
	assert_string_equal(out, "0123456789abcde");
	util_sanitize(out, 1, "abc", 3);
	assert_string_equal(out, "");
	memset(out, 'Z', sizeof(out));
	util_sanitize(out, 0, "abc", 3);
	assert_int_equal(out[0], 'Z');
	util_sanitize(out, sizeof(out), "", 0);
	assert_string_equal(out, "");

	assert_true(util_is_printable("hello world ~", 13));
	assert_true(util_is_printable("", 0));
	assert_false(util_is_printable("a\tb", 3));
	assert_false(util_is_printable("a\x7f", 2));
	assert_false(util_is_printable("\xc3\xa9", 2));
	assert_false(util_is_printable("a\0", 2));
}

static void test_small_helpers(void **state)
{
	char *s;

	(void)state;
	assert_true(util_memeq_consttime("abc", "abc", 3));
	assert_false(util_memeq_consttime("abc", "abd", 3));
	assert_false(util_memeq_consttime("\x00", "\x80", 1));
	assert_true(util_memeq_consttime("x", "y", 0));
	assert_null(util_strdup_or_null(NULL));
	s = util_strdup_or_null("secret");
	assert_string_equal(s, "secret");
	util_free_secret(s);
	util_free_secret(NULL);
	for (int i = 0; i < 1000; i++) {
		assert_true(util_random_below(7) < 7);
		assert_int_equal(util_random_below(1), 0);
	}
	assert_int_equal(util_random_below(0), 0);
	int64_t a = util_mono_ms();
	util_sleep_ms(20);
	assert_true(util_mono_ms() - a >= 19);
	util_sleep_ms(0);
	util_sleep_ms(-5);
	assert_true(util_now() > 1600000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_int64), cmocka_unit_test(test_parse_int64_span),
	    cmocka_unit_test(test_token_text),  cmocka_unit_test(test_token_text_bounds),
	    cmocka_unit_test(test_sanitize),    cmocka_unit_test(test_small_helpers),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

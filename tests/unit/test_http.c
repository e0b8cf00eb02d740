/* test_http.c - the pure helpers of http.c: Retry-After parsing and percent-encoding. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"

struct ra_row {
	const char *value;
	bool ms;
	long want;
};

static const struct ra_row ra_rows[] = {
    /* delta seconds */
    {"0", false, 0},
    {"1", false, 1000},
    {"120", false, 120000},
    {"86400", false, 86400000},
    {" 5", false, 5000},
    {"5 ", false, 5000},
    {"\t5\t", false, 5000},
    {" 5\r\n", false, 5000},
    {"007", false, 7000},
    /* milliseconds (retry-after-ms, x-ms-retry-after-ms) */
    {"0", true, 0},
    {"1500", true, 1500},
    {"86400000", true, 86400000},
    {" 250\r\n", true, 250},
    /* garbage */
    {"", false, -1},
    {"   ", false, -1},
    {"\r\n", false, -1},
    {"-1", false, -1},
    {"+5", false, -1},
    {"1.5", false, -1},
    {"1,5", false, -1},
    {"5s", false, -1},
    {"0x10", false, -1},
    {"1 2", false, -1},
    {"abc", false, -1},
    {"1e3", false, -1},
    {"99999999999999999999999", false, -1},
    {"9223372036854775807", false, -1},
    {"1500ms", true, -1},
    {"-1", true, -1},
    {"1.5", true, -1},
    {"", true, -1},
    {"99999999999999999999999", true, -1},
    /* a date where milliseconds are expected */
    {"Wed, 21 Oct 2015 07:28:00 GMT", true, -1},
    /* an HTTP date in the past: retry now */
    {"Wed, 21 Oct 2015 07:28:00 GMT", false, 0},
    {"Thu, 01 Jan 1970 00:00:00 GMT", false, 0},
    {"Wed, 21 Oct 2015 07:28:00", false, -1},
    {"Wed, 30 Feb 2015 07:28:00 GMT", false, -1},
};

static void test_retry_after(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(ra_rows) / sizeof(ra_rows[0]); i++) {
		const struct ra_row *r = &ra_rows[i];
		long got = http_parse_retry_after(r->value, strlen(r->value), r->ms);
		CHECK(fails, got == r->want, "\"%s\" (%s): got %ld, want %ld",
		      unit_show(r->value, strlen(r->value)), r->ms ? "ms" : "s", got, r->want);
	}
	TABLE_DONE(fails);
}

/* An HTTP date in the future: the delay until then, at most a day. */
static void test_retry_after_date(void **state)
{
	char buf[64];
	time_t t = time(NULL) + 120;
	struct tm tm;
	long got;

	(void)state;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	got = http_parse_retry_after(buf, strlen(buf), false);
	if (got < 117000 || got > 120000)
		print_error("\"%s\": %ld ms\n", buf, got);
	assert_in_range(got, 117000, 120000);

	/* the ISO form the time parser also knows */
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	got = http_parse_retry_after(buf, strlen(buf), false);
	assert_in_range(got, 117000, 120000);

	/* a date a year away is capped at one day */
	t = time(NULL) + 365 * 86400;
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	assert_int_equal(http_parse_retry_after(buf, strlen(buf), false), 86400000);
}

/* Only the span counts. */
static void test_retry_after_span(void **state)
{
	static const char v[] = "12345";

	(void)state;
	assert_int_equal(http_parse_retry_after(v, 2, false), 12000);
	assert_int_equal(http_parse_retry_after(v, 0, false), -1);
	assert_int_equal(http_parse_retry_after("7\0008", 3, false), -1);
}

struct esc_row {
	const char *in;
	const char *want;
};

static const struct esc_row esc_rows[] = {
    {"", ""},
    {"abcXYZ019", "abcXYZ019"},
    {"-._~", "-._~"},
    {"a b", "a%20b"},
    {"https://storage.azure.com/", "https%3A%2F%2Fstorage.azure.com%2F"},
    {"https://vault.azure.net/.default", "https%3A%2F%2Fvault.azure.net%2F.default"},
    {"/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id",
     "%2Fsubscriptions%2Fs%2FresourceGroups%2Fg%2Fproviders%2FMicrosoft.ManagedIdentity%"
     "2FuserAssignedIdentities%2Fid"},
    {"a+b=c&d?e#f", "a%2Bb%3Dc%26d%3Fe%23f"},
    {"%", "%25"},
    {"%41", "%2541"},
    {"\r\n", "%0D%0A"},
    {"\x01\x7f", "%01%7F"},
    {"\xff\x80", "%FF%80"},
    {"caf\xc3\xa9", "caf%C3%A9"},
    {"\"'<>\\^`{|}", "%22%27%3C%3E%5C%5E%60%7B%7C%7D"},
    {"!*();:@$,[]", "%21%2A%28%29%3B%3A%40%24%2C%5B%5D"},
};

static void test_escape(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(esc_rows) / sizeof(esc_rows[0]); i++) {
		char *got = http_escape(esc_rows[i].in);
		CHECK(fails, got && strcmp(got, esc_rows[i].want) == 0, "\"%s\": got \"%s\", want \"%s\"",
		      unit_show(esc_rows[i].in, strlen(esc_rows[i].in)), got ? got : "(null)",
		      esc_rows[i].want);
		free(got);
	}
	TABLE_DONE(fails);
}

/* Every byte value: unreserved ones stay, the rest become %XX. */
static void test_escape_all_bytes(void **state)
{
	char in[2], want[4];

	(void)state;
	for (int c = 1; c < 256; c++) {
		bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		            c == '-' || c == '.' || c == '_' || c == '~';
		char *got;

		in[0] = (char)c;
		in[1] = '\0';
		if (keep)
			snprintf(want, sizeof(want), "%c", c);
		else
			snprintf(want, sizeof(want), "%%%02X", c);
		got = http_escape(in);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
	}
	/* the worst case, three bytes out per byte in */
	char *big = malloc(3001), *got;
	assert_non_null(big);
	memset(big, ' ', 3000);
	big[3000] = '\0';
	got = http_escape(big);
	assert_non_null(got);
	assert_int_equal(strlen(got), 9000);
	free(got);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retry_after),      cmocka_unit_test(test_retry_after_date),
	    cmocka_unit_test(test_retry_after_span), cmocka_unit_test(test_escape),
	    cmocka_unit_test(test_escape_all_bytes),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}

/* test_timefmt.c - every absolute-time format token answers use (timefmt.h), and what must be refused. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timefmt.h"

/* The reference: glibc's timegm, an implementation independent of the one under test. */
static int64_t ref_epoch(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return (int64_t)timegm(&tm);
}

struct accept_row {
	const char *in;
	int y, mo, d, h, mi, s;
	int offset; /* seconds east of UTC written in the text */
};

/* RFC 3339 / ISO 8601, 0-7 fractional digits, Z and both offset spellings, 'T' or space. */
static const struct accept_row iso_rows[] = {
    {"2030-01-02T03:04:05Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.1Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.12Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.123Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.1234Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.12345Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.123456Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.1234567Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05.9999999Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02t03:04:05Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05+00:00", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05-00:00", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02T03:04:05+05:30", 2030, 1, 2, 3, 4, 5, 19800},
    {"2030-01-02T03:04:05-08:00", 2030, 1, 2, 3, 4, 5, -28800},
    {"2030-01-02T03:04:05+0530", 2030, 1, 2, 3, 4, 5, 19800},
    {"2030-01-02T03:04:05-0800", 2030, 1, 2, 3, 4, 5, -28800},
    {"2030-01-02T03:04:05+23:59", 2030, 1, 2, 3, 4, 5, 23 * 3600 + 59 * 60},
    {"2030-01-02T03:04:05.1234567+05:30", 2030, 1, 2, 3, 4, 5, 19800},
    {"2030-01-02T03:04:05.5-0800", 2030, 1, 2, 3, 4, 5, -28800},
    {"2030-01-02 03:04:05Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02 03:04:05.123Z", 2030, 1, 2, 3, 4, 5, 0},
    {"2030-01-02 03:04:05+01:00", 2030, 1, 2, 3, 4, 5, 3600},
    {"1970-01-01T00:00:00Z", 1970, 1, 1, 0, 0, 0, 0},
    {"9999-12-31T23:59:59Z", 9999, 12, 31, 23, 59, 59, 0},
    {"2038-01-19T03:14:08Z", 2038, 1, 19, 3, 14, 8, 0}, /* past 32-bit time_t */
    {"2030-12-31T23:59:59Z", 2030, 12, 31, 23, 59, 59, 0},
    /* leap days */
    {"2024-02-29T12:00:00Z", 2024, 2, 29, 12, 0, 0, 0},
    {"2000-02-29T00:00:00Z", 2000, 2, 29, 0, 0, 0, 0},
    {"2400-02-29T00:00:00Z", 2400, 2, 29, 0, 0, 0, 0},
    {"2024-03-01T00:00:00Z", 2024, 3, 1, 0, 0, 0, 0},
    {"2023-02-28T23:59:59Z", 2023, 2, 28, 23, 59, 59, 0},
    /* offsets that cross a day, a month and a year */
    {"2030-01-01T00:30:00+01:00", 2030, 1, 1, 0, 30, 0, 3600},
    {"2029-12-31T23:30:00-01:00", 2029, 12, 31, 23, 30, 0, -3600},
};

/* RFC 1123 (HTTP dates). */
static const struct accept_row rfc1123_rows[] = {
    {"Wed, 02 Jan 2030 03:04:05 GMT", 2030, 1, 2, 3, 4, 5, 0},
    {"Tue, 15 Nov 1994 08:12:31 GMT", 1994, 11, 15, 8, 12, 31, 0},
    {"Thu, 29 Feb 2024 23:59:59 GMT", 2024, 2, 29, 23, 59, 59, 0},
    {"Sun, 06 Nov 2033 08:49:37 UTC", 2033, 11, 6, 8, 49, 37, 0},
    {"Fri, 31 Dec 2032 00:00:00 GMT", 2032, 12, 31, 0, 0, 0, 0},
    {"Mon, 01 Jul 2030 12:00:00 GMT", 2030, 7, 1, 12, 0, 0, 0},
    {"Mon, 1 Jul 2030 12:00:00 GMT", 2030, 7, 1, 12, 0, 0, 0},
};

/* App Service 2017: "MM/DD/YYYY HH:MM:SS +00:00" and the Windows 12-hour form. */
static const struct accept_row slashed_rows[] = {
    {"06/20/2019 02:57:58 +00:00", 2019, 6, 20, 2, 57, 58, 0},
    {"12/31/2030 23:59:59 +00:00", 2030, 12, 31, 23, 59, 59, 0},
    {"01/02/2030 00:00:00 +00:00", 2030, 1, 2, 0, 0, 0, 0},
    {"06/20/2019 02:57:58 +02:00", 2019, 6, 20, 2, 57, 58, 7200},
    {"06/20/2019 02:57:58 -0500", 2019, 6, 20, 2, 57, 58, -18000},
    {"02/29/2024 10:00:00 +00:00", 2024, 2, 29, 10, 0, 0, 0},
    {"1/16/2020 5:24:12 AM +00:00", 2020, 1, 16, 5, 24, 12, 0},
    {"1/16/2020 5:24:12 PM +00:00", 2020, 1, 16, 17, 24, 12, 0},
    {"1/16/2020 12:00:00 AM +00:00", 2020, 1, 16, 0, 0, 0, 0},   /* midnight */
    {"1/16/2020 12:59:59 AM +00:00", 2020, 1, 16, 0, 59, 59, 0}, /* just before 1 AM */
    {"1/16/2020 12:00:00 PM +00:00", 2020, 1, 16, 12, 0, 0, 0},  /* noon */
    {"1/16/2020 12:30:15 PM +00:00", 2020, 1, 16, 12, 30, 15, 0},
    {"1/16/2020 1:00:00 AM +00:00", 2020, 1, 16, 1, 0, 0, 0},
    {"1/16/2020 1:00:00 PM +00:00", 2020, 1, 16, 13, 0, 0, 0},
    {"1/16/2020 11:59:59 PM +00:00", 2020, 1, 16, 23, 59, 59, 0},
    {"1/16/2020 11:59:59 AM +00:00", 2020, 1, 16, 11, 59, 59, 0},
    {"12/31/2029 11:00:00 PM +00:00", 2029, 12, 31, 23, 0, 0, 0},
    {"2/29/2024 6:00:00 am +00:00", 2024, 2, 29, 6, 0, 0, 0},
    {"2/29/2024 6:00:00 pm +00:00", 2024, 2, 29, 18, 0, 0, 0},
    {"10/5/2030 9:08:07 AM +01:00", 2030, 10, 5, 9, 8, 7, 3600},
};

static void check_accepts(const struct accept_row *rows, size_t n)
{
	int fails = 0;

	for (size_t i = 0; i < n; i++) {
		const struct accept_row *r = &rows[i];
		int64_t got = -12345, want = ref_epoch(r->y, r->mo, r->d, r->h, r->mi, r->s) - r->offset;
		int rc = timefmt_parse(r->in, strlen(r->in), &got);

		CHECK(fails, rc == 0, "\"%s\" (refused)", r->in);
		CHECK(fails, rc != 0 || got == want, "\"%s\": got %lld, want %lld", r->in, (long long)got,
		      (long long)want);
	}
	TABLE_DONE(fails);
}

static void test_iso8601(void **state)
{
	(void)state;
	check_accepts(iso_rows, sizeof(iso_rows) / sizeof(iso_rows[0]));
}

static void test_rfc1123(void **state)
{
	(void)state;
	check_accepts(rfc1123_rows, sizeof(rfc1123_rows) / sizeof(rfc1123_rows[0]));
}

static void test_slashed(void **state)
{
	(void)state;
	check_accepts(slashed_rows, sizeof(slashed_rows) / sizeof(slashed_rows[0]));
}

/* Known absolute values, so the reference itself is checked too. */
static void test_known_values(void **state)
{
	static const struct {
		const char *in;
		int64_t want;
	} rows[] = {
	    {"1970-01-01T00:00:00Z", 0},
	    {"2019-06-20T02:57:58Z", 1560999478},
	    {"06/20/2019 02:57:58 +00:00", 1560999478},
	    {"1/16/2020 5:24:12 AM +00:00", 1579152252},
	    {"2023-11-14T22:13:20Z", 1700000000},
	    {"Tue, 14 Nov 2023 22:13:20 GMT", 1700000000},
	    {"11/14/2023 10:13:20 PM +00:00", 1700000000},
	    {"2023-11-14 22:13:20Z", 1700000000},
	    {"2023-11-15T03:43:20+05:30", 1700000000},
	    {"9999-12-31T23:59:59Z", 253402300799},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t got = -1;
		int rc = timefmt_parse(rows[i].in, strlen(rows[i].in), &got);
		CHECK(fails, rc == 0 && got == rows[i].want, "\"%s\": rc %d, got %lld, want %lld", rows[i].in,
		      rc, (long long)got, (long long)rows[i].want);
	}
	TABLE_DONE(fails);
}

static const char *const refused[] = {
    /* empty, short, overlong */
    "",
    "2030",
    "2030-01",
    "Z",
    "2030-01-02T03:04:05.123456700000000000000000000000000000000000000000000000000000Z",
    /* no zone: a naive time is ambiguous */
    "2030-01-02T03:04:05",
    "2030-01-02 03:04:05",
    "06/20/2019 02:57:58",
    "1/16/2020 5:24:12 AM",
    "Wed, 02 Jan 2030 03:04:05",
    /* fractions: none after the dot, or more than 7 digits */
    "2030-01-02T03:04:05.Z",
    "2030-01-02T03:04:05.12345678Z",
    "2030-01-02T03:04:05,123Z",
    /* malformed offsets */
    "2030-01-02T03:04:05+5:30",
    "2030-01-02T03:04:05+05",
    "2030-01-02T03:04:05+24:00",
    "2030-01-02T03:04:05+05:60",
    "2030-01-02T03:04:05+05:3",
    "2030-01-02T03:04:05 Z",
    "2030-01-02T03:04:05GMT",
    "2030-01-02T03:04:05UTC",
    /* wrong separators or digit counts */
    "2030-01-02X03:04:05Z",
    "2030/01/02T03:04:05Z",
    "2030-1-02T03:04:05Z",
    "2030-01-2T03:04:05Z",
    "2030-01-02T3:04:05Z",
    "2030-01-02T03:4:05Z",
    "2030-01-02T03:04:5Z",
    "20300-01-02T03:04:05Z",
    "+2030-01-02T03:04:05Z",
    "2030-01-02T03:04Z",
    "2030-01-02TT03:04:05Z",
    "2030-01-02  03:04:05Z",
    /* invalid dates */
    "2030-02-30T00:00:00Z",
    "2030-02-29T00:00:00Z",
    "2100-02-29T00:00:00Z",
    "1900-02-29T00:00:00Z",
    "2030-04-31T00:00:00Z",
    "2030-06-31T00:00:00Z",
    "2030-09-31T00:00:00Z",
    "2030-11-31T00:00:00Z",
    "2030-01-32T00:00:00Z",
    "2030-00-10T00:00:00Z",
    "2030-13-01T00:00:00Z",
    "2030-01-00T00:00:00Z",
    "1969-12-31T23:59:59Z",
    "0000-01-01T00:00:00Z",
    /* out-of-range times */
    "2030-01-02T24:00:00Z",
    "2030-01-02T23:60:00Z",
    "2030-01-02T23:59:61Z",
    "2030-01-02T99:99:99Z",
    /* trailing and leading garbage */
    "2030-01-02T03:04:05Zx",
    "2030-01-02T03:04:05Z ",
    "2030-01-02T03:04:05Z\n",
    "2030-01-02T03:04:05+00:00x",
    "2030-01-02T03:04:05+00:000",
    " 2030-01-02T03:04:05Z",
    "\t2030-01-02T03:04:05Z",
    "x2030-01-02T03:04:05Z",
    "2030-01-02T03:04:05ZZ",
    /* RFC 1123 */
    "Wed, 02 Foo 2030 03:04:05 GMT",
    "Wed, 02 jan 2030 03:04:05 GMT",
    "Wed, 02 Jan 2030 03:04:05 PST",
    "Wed, 02 Jan 2030 03:04:05 +0000",
    "Wed, 02 Jan 2030 03:04:05 GMT ",
    "Wed, 02 Jan 2030 03:04:05 GMTx",
    "Wed, 02 Jan 30 03:04:05 GMT",
    "Wed, 30 Feb 2030 03:04:05 GMT",
    "Wed, 32 Jan 2030 03:04:05 GMT",
    "Wed, 02 Jan 2030 24:04:05 GMT",
    "Wed,02 Jan 2030 03:04:05 GMT",
    "Wed, 02-Jan-2030 03:04:05 GMT",
    "Wed, 123 Jan 2030 03:04:05 GMT",
    /* slashed forms */
    "02/30/2020 00:00:00 +00:00",
    "02/29/2019 00:00:00 +00:00",
    "02/29/2100 00:00:00 +00:00",
    "04/31/2030 00:00:00 +00:00",
    "13/01/2030 00:00:00 +00:00",
    "00/01/2030 00:00:00 +00:00",
    "01/00/2030 00:00:00 +00:00",
    "01/32/2030 00:00:00 +00:00",
    "20/06/2019 02:57:58 +00:00",
    "06/20/2019 24:00:00 +00:00",
    "06/20/2019 02:60:58 +00:00",
    "06/20/2019 02:57:61 +00:00",
    "06/20/19 02:57:58 +00:00",
    "06/20/2019 02:57:58 +00:00 ",
    "06/20/2019 02:57:58 +00:00x",
    "06/20/2019 02:57:58+00:00",
    "06/20/2019T02:57:58 +00:00",
    "06-20-2019 02:57:58 +00:00",
    "006/20/2019 02:57:58 +00:00",
    "1/16/2020 0:24:12 AM +00:00",
    "1/16/2020 0:00:00 PM +00:00",
    "1/16/2020 13:24:12 PM +00:00",
    "1/16/2020 13:24:12 AM +00:00",
    "1/16/2020 5:24:12 XM +00:00",
    "1/16/2020 5:24:12 A.M. +00:00",
    "1/16/2020 5:24:12 AM",
    "1/16/2020 5:24:12 AM  +00:00",
    "1/16/2020 5:24:12 AM +00:00 PM",
    "1/16/2020 5:24 AM +00:00",
    "1/16/2020 5:4:12 AM +00:00",
    /* epochs and words are not dates */
    "1700000000",
    "17000000000000",
    "tomorrow at noon",
};

static void test_refused(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		int64_t got = 424242;
		int rc = timefmt_parse(refused[i], strlen(refused[i]), &got);
		CHECK(fails, rc == -1, "\"%s\" (accepted as %lld)", unit_show(refused[i], strlen(refused[i])),
		      (long long)got);
	}
	TABLE_DONE(fails);
}

/* The length, not a NUL, ends the text: bytes beyond it are not read, bytes within it all count. */
static void test_span(void **state)
{
	static const char with_nul[] = "2030-01-02T03:04:05Z\0";
	static const char longer[] = "2030-01-02T03:04:05Zjunk";
	char overlong[200];
	int64_t got = 0;

	(void)state;
	assert_int_equal(timefmt_parse(longer, 20, &got), 0);
	assert_int_equal(got, ref_epoch(2030, 1, 2, 3, 4, 5));
	assert_int_equal(timefmt_parse(longer, strlen(longer), &got), -1);
	assert_int_equal(timefmt_parse(with_nul, sizeof(with_nul) - 1, &got), -1);
	assert_int_equal(timefmt_parse(longer, 19, &got), -1);
	/* A valid date followed by a long run of digits in the fraction. */
	memset(overlong, '1', sizeof(overlong));
	memcpy(overlong, "2030-01-02T03:04:05.", 20);
	overlong[sizeof(overlong) - 1] = 'Z';
	assert_int_equal(timefmt_parse(overlong, sizeof(overlong), &got), -1);
	/* Not NUL-terminated at all: exactly the buffer. */
	char exact[20];
	memcpy(exact, "2030-01-02T03:04:05Z", 20);
	assert_int_equal(timefmt_parse(exact, sizeof(exact), &got), 0);
	assert_int_equal(got, ref_epoch(2030, 1, 2, 3, 4, 5));
}

/* The civil-date arithmetic against timegm for every day of 1970-2200 and some far years. */
static void test_civil_to_epoch(void **state)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int fails = 0;

	(void)state;
	for (int y = 1970; y <= 2200 && fails < 10; y++) {
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		for (int mo = 1; mo <= 12; mo++) {
			int days = dim[mo - 1] + (mo == 2 && leap);
			for (int d = 1; d <= days; d++) {
				int h = (d * 7) % 24, mi = (d * 13) % 60, s = (d * 17) % 60;
				int64_t got = timefmt_civil_to_epoch(y, mo, d, h, mi, s);
				CHECK(fails, got == ref_epoch(y, mo, d, h, mi, s), "%04d-%02d-%02d", y, mo,
				      d);
			}
		}
	}
	assert_int_equal(timefmt_civil_to_epoch(9999, 12, 31, 23, 59, 59), 253402300799);
	assert_int_equal(timefmt_civil_to_epoch(1969, 12, 31, 23, 59, 59), -1);
	assert_int_equal(timefmt_civil_to_epoch(1600, 3, 1, 0, 0, 0), ref_epoch(1600, 3, 1, 0, 0, 0));
	TABLE_DONE(fails);
}

/* Every accepted day round-trips through the ISO parser (leap days included, 31st of short months not). */
static void test_every_day_parses(void **state)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int fails = 0;
	char buf[64];

	(void)state;
	for (int y = 1999; y <= 2101 && fails < 10; y++) {
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		for (int mo = 1; mo <= 12; mo++) {
			int days = dim[mo - 1] + (mo == 2 && leap);
			for (int d = 1; d <= 31; d++) {
				int64_t got = 0;
				int rc;

				snprintf(buf, sizeof(buf), "%04d-%02d-%02dT12:00:00Z", y, mo, d);
				rc = timefmt_parse(buf, strlen(buf), &got);
				if (d <= days)
					CHECK(fails, rc == 0 && got == ref_epoch(y, mo, d, 12, 0, 0), "%s",
					      buf);
				else
					CHECK(fails, rc == -1, "%s", buf);
				snprintf(buf, sizeof(buf), "%d/%d/%04d 12:00:00 PM +00:00", mo, d, y);
				rc = timefmt_parse(buf, strlen(buf), &got);
				if (d <= days)
					CHECK(fails, rc == 0 && got == ref_epoch(y, mo, d, 12, 0, 0), "%s",
					      buf);
				else
					CHECK(fails, rc == -1, "%s", buf);
			}
		}
	}
	TABLE_DONE(fails);
}

/* Every hour of the 12-hour clock against the 24-hour one. */
static void test_am_pm_hours(void **state)
{
	int fails = 0;
	char buf[64];

	(void)state;
	for (int h24 = 0; h24 < 24; h24++) {
		int h12 = h24 % 12 == 0 ? 12 : h24 % 12;
		int64_t got = 0;
		int rc;

		snprintf(buf, sizeof(buf), "3/4/2030 %d:05:06 %s +00:00", h12, h24 < 12 ? "AM" : "PM");
		rc = timefmt_parse(buf, strlen(buf), &got);
		CHECK(fails, rc == 0 && got == ref_epoch(2030, 3, 4, h24, 5, 6), "%s", buf);
	}
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_iso8601),        cmocka_unit_test(test_rfc1123),
	    cmocka_unit_test(test_slashed),        cmocka_unit_test(test_known_values),
	    cmocka_unit_test(test_refused),        cmocka_unit_test(test_span),
	    cmocka_unit_test(test_civil_to_epoch), cmocka_unit_test(test_every_day_parses),
	    cmocka_unit_test(test_am_pm_hours),
	};

	return cmocka_run_group_tests_name("timefmt", tests, NULL, NULL);
}

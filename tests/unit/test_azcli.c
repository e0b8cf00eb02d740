/*
 * test_azcli.c - the Azure CLI's output: expires_on (2.54 and later) first, else the
 * naive local-time expiresOn of older versions, read in TZ as the SDKs do.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "azcli.h"
#include "timefmt.h"
#include "token.h"

/* POSIX zone rules, so no time zone database is needed. */
#define TZ_INDIA    "IST-5:30"
#define TZ_NEW_YORK "EST5EDT,M3.2.0,M11.1.0"

static void set_tz(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
	return timefmt_civil_to_epoch(y, mo, d, h, mi, s);
}

struct local_row {
	const char *tz, *in;
	int64_t want;
};

static void test_local_accepted(void **state)
{
	const struct local_row rows[] = {
	    {"UTC0", "2030-01-02 03:04:05.123456", utc(2030, 1, 2, 3, 4, 5)},
	    {"UTC0", "2030-01-02 03:04:05", utc(2030, 1, 2, 3, 4, 5)},
	    {"UTC0", "2030-01-02 03:04:05.1", utc(2030, 1, 2, 3, 4, 5)},
	    {TZ_INDIA, "2030-01-02 03:04:05.000000", utc(2030, 1, 2, 3, 4, 5) - 19800},
	    {TZ_INDIA, "2024-02-29 23:59:59.999999", utc(2024, 2, 29, 23, 59, 59) - 19800},
	    /* Winter is UTC-5, summer (DST) UTC-4: the zone rules decide, not the caller. */
	    {TZ_NEW_YORK, "2030-01-15 12:00:00.000000", utc(2030, 1, 15, 17, 0, 0)},
	    {TZ_NEW_YORK, "2030-07-15 12:00:00.000000", utc(2030, 7, 15, 16, 0, 0)},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t got = -1;
		set_tz(rows[i].tz);
		int r = timefmt_parse_local(rows[i].in, strlen(rows[i].in), &got);
		CHECK(fails, r == 0 && got == rows[i].want, "%s in %s: r=%d got %lld want %lld", rows[i].in,
		      rows[i].tz, r, (long long)got, (long long)rows[i].want);
	}
	set_tz("UTC0");
	TABLE_DONE(fails);
}

static void test_local_refused(void **state)
{
	const char *const rows[] = {
	    "",
	    "2030-01-02",
	    "2030-01-02T03:04:05.000000", /* not az's format */
	    "2030-01-02 03:04:05Z",       /* a zone: not a naive local time */
	    "2030-01-02 03:04:05+01:00",
	    "2030-01-02 03:04:05.1234567", /* more than microseconds */
	    "2030-01-02 03:04:05.",
	    "2030-01-02 03:04:05 ",
	    " 2030-01-02 03:04:05",
	    "2030-13-02 03:04:05",
	    "2030-02-30 03:04:05",
	    "2030-01-02 24:04:05",
	    "2030-01-02 03:60:05",
	    "2030-01-02 03:04:60",
	    "1969-12-31 23:59:59",
	    "2030-1-02 03:04:05",
	    "+030-01-02 03:04:05",
	};
	int fails = 0;

	(void)state;
	set_tz(TZ_INDIA);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t got = 0;
		CHECK(fails, timefmt_parse_local(rows[i], strlen(rows[i]), &got) != 0,
		      "\"%s\" accepted as %lld", rows[i], (long long)got);
	}
	set_tz("UTC0");
	TABLE_DONE(fails);
}

struct parse_row {
	const char *json;
	azmi_err want;
	int64_t expires_on; /* when accepted */
	const char *words;  /* in the message when refused */
};

static void test_parse(void **state)
{
	const int64_t now = utc(2030, 1, 2, 0, 0, 0);
	const struct parse_row rows[] = {
	    /* 2.54 and later: expires_on wins over a (differing) expiresOn. */
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\",\"expiresOn\":\"2030-01-02 09:00:00.000000\","
	     "\"expires_on\":1893549600,\"tokenType\":\"Bearer\"}",
	     AZMI_OK, 1893549600, NULL},
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\",\"expires_on\":\"1893549600\"}", AZMI_OK, 1893549600, NULL},
	    /* Before 2.54 (Debian 12's 2.45): only expiresOn, in local time (IST here). */
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\",\"expiresOn\":\"2030-01-02 06:30:00.000000\","
	     "\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}",
	     AZMI_OK, utc(2030, 1, 2, 1, 0, 0), NULL},
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\",\"expiresOn\":\"2030-01-02T06:30:00Z\"}", AZMI_ERR_PROTOCOL,
	     0, "expiresOn"},
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\",\"expires_on\":\"soon\",\"expiresOn\":\"2030-01-02 "
	     "06:30:00\"}",
	     AZMI_ERR_PROTOCOL, 0, "expires_on"},
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\"}", AZMI_ERR_PROTOCOL, 0, "neither"},
	    /* Already past in local time: refused as implausible. */
	    {"{\"accessToken\":\"eyJ0.eyJ1.c2ln\",\"expiresOn\":\"2030-01-02 05:00:00.000000\"}",
	     AZMI_ERR_PROTOCOL, 0, "not plausible"},
	};
	int fails = 0;

	(void)state;
	set_tz(TZ_INDIA);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct azmi_token *tok = NULL;
		struct azmi_error err = AZMI_ERROR_INIT;
		azmi_err r = azcli_parse(rows[i].json, strlen(rows[i].json), "https://storage.azure.com", now,
		                         &tok, &err);
		CHECK(fails, r == rows[i].want, "%s: got %d (%s)", rows[i].json, (int)r, err.message);
		if (r == AZMI_OK && rows[i].want == AZMI_OK)
			CHECK(fails, token_expiry(tok)->expires_on == rows[i].expires_on,
			      "%s: expires_on %lld", rows[i].json, (long long)token_expiry(tok)->expires_on);
		if (r != AZMI_OK && rows[i].words)
			CHECK(fails, strstr(err.message, rows[i].words) != NULL, "%s: message \"%s\"",
			      rows[i].json, err.message);
		azmi_token_release(tok);
	}
	set_tz("UTC0");
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_local_accepted),
	    cmocka_unit_test(test_local_refused),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

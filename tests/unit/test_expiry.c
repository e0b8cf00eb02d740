/* test_expiry.c - expiry and refresh times from token answers (expiry.h). */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "expiry.h"

#define NOW 1700000000LL /* 2023-11-14T22:13:20Z */
#define ANY -1LL         /* not checked */

struct row {
	const char *json; /* "%lld" in it is replaced by NOW + delta */
	long long delta;
	bool ok;
	long long expires_in; /* expected expires_on - NOW */
	long long refresh_in; /* expected refresh_on - NOW, or ANY */
	long long stale_in;   /* expected stale_on - NOW, or ANY */
	const char *why;      /* failure: a substring of the reason */
};

static const struct row rows[] = {
    /* expires_in, number or string; a short token refreshes 5 minutes before expiry */
    {"{\"expires_in\": 3600}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_in\": \"3600\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_in\": \"3599\", \"expires_on\": \"%lld\"}", 3599, true, 3599, 3299, 3299, NULL},
    {"{\"expires_in\": 3600.0}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_in\": 600}", 0, true, 600, 300, 300, NULL},
    {"{\"expires_in\": 301}", 0, true, 301, 1, 1, NULL},
    /* lives shorter than the margin: handed out, but stale at once (never served from a cache) */
    {"{\"expires_in\": 300}", 0, true, 300, 0, 0, NULL},
    {"{\"expires_in\": 120}", 0, true, 120, -180, -180, NULL},
    {"{\"expires_in\": 1}", 0, true, 1, -299, -299, NULL},
    /* expires_in is preferred over expires_on (clock skew), whatever expires_on says */
    {"{\"expires_in\": 3600, \"expires_on\": %lld}", 100, true, 3600, 3300, 3300, NULL},
    {"{\"expires_in\": \"3600\", \"expires_on\": \"%lld\"}", 86400, true, 3600, 3300, 3300, NULL},
    {"{\"expires_in\": 3600, \"expires_on\": \"not a date\"}", 0, true, 3600, 3300, 3300, NULL},
    /* a null expires_in is absent */
    {"{\"expires_in\": null, \"expires_on\": %lld}", 3600, true, 3600, 3300, 3300, NULL},
    /* expires_on: epoch number, epoch string, each date format */
    {"{\"expires_on\": %lld}", 3600, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"%lld\"}", 3600, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"2023-11-14T23:13:20Z\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"2023-11-14T23:13:20.1234567Z\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"2023-11-15T00:13:20+01:00\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"2023-11-14 23:13:20Z\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"Tue, 14 Nov 2023 23:13:20 GMT\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"11/14/2023 23:13:20 +00:00\"}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": \"11/14/2023 11:13:20 PM +00:00\"}", 0, true, 3600, 3300, 3300, NULL},
    /* refresh_in (MSAL) is honoured when it comes before the stale time */
    {"{\"expires_in\": 3600, \"refresh_in\": 1800}", 0, true, 3600, 1800, 3300, NULL},
    {"{\"expires_in\": 3600, \"refresh_in\": \"1800\"}", 0, true, 3600, 1800, 3300, NULL},
    {"{\"expires_in\": 86400, \"refresh_in\": 43200}", 0, true, 86400, 43200, 86100, NULL},
    {"{\"expires_in\": 86400, \"refresh_in\": 600}", 0, true, 86400, 600, 86100, NULL},
    {"{\"expires_in\": 3600, \"refresh_in\": 3500}", 0, true, 3600, 3300, 3300, NULL},
    {"{\"expires_on\": %lld, \"refresh_in\": 60}", 3600, true, 3600, 60, 3300, NULL},
    /* tokens living 2 hours or more refresh at half their life */
    {"{\"expires_in\": 7200}", 0, true, 7200, 3600, 6900, NULL},
    {"{\"expires_in\": 7199}", 0, true, 7199, 6899, 6899, NULL},
    {"{\"expires_in\": 86399}", 0, true, 86399, 43199, 86099, NULL},
    {"{\"expires_on\": \"%lld\"}", 28800, true, 28800, 14400, 28500, NULL},
    /* exactly 7 days is the longest life accepted */
    {"{\"expires_in\": 604800}", 0, true, 604800, 302400, 604500, NULL},
    {"{\"expires_on\": %lld}", 604800, true, 604800, 302400, 604500, NULL},

    /* already expired */
    {"{\"expires_in\": 0}", 0, false, 0, 0, 0, "expired"},
    {"{\"expires_in\": \"0\"}", 0, false, 0, 0, 0, "expired"},
    {"{\"expires_on\": %lld}", 0, false, 0, 0, 0, "expired"},
    {"{\"expires_on\": \"%lld\"}", -1, false, 0, 0, 0, "expired"},
    {"{\"expires_on\": \"2023-11-14T22:13:19Z\"}", 0, false, 0, 0, 0, "expired"},
    {"{\"expires_on\": \"06/20/2019 02:57:58 +00:00\"}", 0, false, 0, 0, 0, "expired"},
    {"{\"expires_on\": 0}", 0, false, 0, 0, 0, "expired"},
    /* absurd lifetimes */
    {"{\"expires_in\": 604801}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \"99999999999999999999\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_on\": %lld}", 604801, false, 0, 0, 0, "604801"},
    {"{\"expires_on\": \"%lld\"}", 10LL * 365 * 86400, false, 0, 0, 0, "more than"},
    {"{\"expires_on\": \"9999-12-31T23:59:59Z\"}", 0, false, 0, 0, 0, "more than"},
    {"{\"expires_on\": 253402300800}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": \"1700003600000\"}", 0, false, 0, 0, 0, "expires_on"},
    /* missing both fields */
    {"{}", 0, false, 0, 0, 0, "expires_in"},
    {"{}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"access_token\": \"x\", \"ext_expires_in\": 3600}", 0, false, 0, 0, 0, "no expiry"},
    {"{\"expires_in\": null}", 0, false, 0, 0, 0, "no expiry"},
    {"{\"expires_in\": null, \"expires_on\": null}", 0, false, 0, 0, 0, "no expiry"},
    {"{\"expiresOn\": \"2023-11-14T23:13:20Z\"}", 0, false, 0, 0, 0, "no expiry"},
    /* wrong types and values: the reason names the field */
    {"{\"expires_in\": true}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \"soon\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \"\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \" 3600\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \"3600s\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \"+3600\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": -5}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": \"-5\"}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": 3600.5}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": [3600]}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": {\"s\": 3600}}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_in\": 1e400}", 0, false, 0, 0, 0, "expires_in"},
    {"{\"expires_on\": true}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": {}}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": []}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": \"tomorrow\"}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": \"\"}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": -1}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": 1700003600.5}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": \"1700003600.5\"}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": \"2023-11-14T23:13:20\"}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_on\": \"02/30/2024 00:00:00 +00:00\"}", 0, false, 0, 0, 0, "expires_on"},
    {"{\"expires_in\": 3600, \"refresh_in\": \"soon\"}", 0, false, 0, 0, 0, "refresh_in"},
    {"{\"expires_in\": 3600, \"refresh_in\": -1}", 0, false, 0, 0, 0, "refresh_in"},
    {"{\"expires_in\": 3600, \"refresh_in\": true}", 0, false, 0, 0, 0, "refresh_in"},
    {"{\"expires_in\": 3600, \"refresh_in\": 604801}", 0, false, 0, 0, 0, "refresh_in"},
};

/* The row's JSON with its "%lld" (if any) replaced by NOW + delta. */
static void fill(char *out, size_t outlen, const char *tmpl, long long delta)
{
	const char *at = strstr(tmpl, "%lld");
	char num[32];

	if (at == NULL) {
		snprintf(out, outlen, "%s", tmpl);
		return;
	}
	snprintf(num, sizeof(num), "%lld", NOW + delta);
	snprintf(out, outlen, "%.*s%s%s", (int)(at - tmpl), tmpl, num, at + 4);
}

static void test_table(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		char json[512], why[256] = "";
		struct expiry e = {-1, -1, -1};
		struct json_object *obj;
		int rc;

		fill(json, sizeof(json), r->json, r->delta);
		obj = json_tokener_parse(json);
		CHECK(fails, obj != NULL, "row %zu: bad test JSON %s", i, json);
		if (obj == NULL)
			continue;
		rc = expiry_from_answer(obj, NOW, &e, why, sizeof(why));
		if (r->ok) {
			CHECK(fails, rc == 0, "%s: refused: %s", json, why);
			CHECK(fails, rc != 0 || e.expires_on == NOW + r->expires_in,
			      "%s: expires_on %+lld, want %+lld", json, (long long)(e.expires_on - NOW),
			      r->expires_in);
			CHECK(fails, rc != 0 || r->refresh_in == ANY || e.refresh_on == NOW + r->refresh_in,
			      "%s: refresh_on %+lld, want %+lld", json, (long long)(e.refresh_on - NOW),
			      r->refresh_in);
			CHECK(fails, rc != 0 || r->stale_in == ANY || e.stale_on == NOW + r->stale_in,
			      "%s: stale_on %+lld, want %+lld", json, (long long)(e.stale_on - NOW),
			      r->stale_in);
			CHECK(fails, rc != 0 || (e.refresh_on <= e.stale_on && e.stale_on <= e.expires_on),
			      "%s: schedule out of order", json);
			CHECK(fails, rc != 0 || r->expires_in <= EXPIRY_MARGIN || NOW < e.refresh_on,
			      "%s: due for refresh at once", json);
		} else {
			CHECK(fails, rc == AZMI_ERR_PROTOCOL, "%s: accepted (expires %+lld)", json,
			      (long long)(e.expires_on - NOW));
			CHECK(fails, rc != -1 || strstr(why, r->why) != NULL,
			      "%s: reason \"%s\" lacks \"%s\"", json, why, r->why);
		}
		json_object_put(obj);
	}
	TABLE_DONE(fails);
}

/* The reason quotes a bad expires_on, but only printable and bounded. */
static void test_why_sanitised(void **state)
{
	char why[256];
	struct expiry e;
	struct json_object *obj;
	char big[2048];

	(void)state;
	obj = json_tokener_parse("{\"expires_on\": \"bad\\u0001\\n\\u001b[31mdate\"}");
	assert_non_null(obj);
	assert_int_equal(expiry_from_answer(obj, NOW, &e, why, sizeof(why)), AZMI_ERR_PROTOCOL);
	assert_non_null(strstr(why, "expires_on"));
	for (const char *p = why; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	json_object_put(obj);

	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"expires_on\": \"", 16);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	obj = json_tokener_parse(big);
	assert_non_null(obj);
	assert_int_equal(expiry_from_answer(obj, NOW, &e, why, sizeof(why)), AZMI_ERR_PROTOCOL);
	assert_non_null(strstr(why, "expires_on"));
	assert_true(strlen(why) < 200);
	json_object_put(obj);

	/* A small buffer is filled, never overrun. */
	char tiny[8];
	memset(tiny, 'Z', sizeof(tiny));
	obj = json_tokener_parse("{}");
	assert_int_equal(expiry_from_answer(obj, NOW, &e, tiny, 6), AZMI_ERR_PROTOCOL);
	assert_int_equal(strlen(tiny), 5);
	assert_int_equal(tiny[6], 'Z');
	json_object_put(obj);
}

/* expiry_schedule on its own: refresh_in, half-life, margin. */
static void test_schedule(void **state)
{
	static const struct {
		long long life, refresh_in, want_refresh, want_stale;
	} rows2[] = {
	    {3600, -1, 3300, 3300},    {3600, 0, 3300, 3300},        {3600, 100, 100, 3300},
	    {3600, 3300, 3300, 3300},  {3600, 3301, 3300, 3300},     {7200, -1, 3600, 6900},
	    {86400, -1, 43200, 86100}, {86400, 80000, 80000, 86100}, {86400, 86101, 43200, 86100},
	    {600, -1, 300, 300},       {599, -1, 299, 299},          {301, -1, 1, 1},
	    {300, -1, 0, 0},           {10, -1, -290, -290},         {1, -1, -299, -299},
	    {10, 5, -290, -290},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows2) / sizeof(rows2[0]); i++) {
		struct expiry e = {NOW + rows2[i].life, 0, 0};
		expiry_schedule(&e, NOW, rows2[i].refresh_in);
		CHECK(fails,
		      e.refresh_on - NOW == rows2[i].want_refresh && e.stale_on - NOW == rows2[i].want_stale,
		      "life %lld refresh_in %lld: refresh %+lld stale %+lld, want %+lld %+lld", rows2[i].life,
		      rows2[i].refresh_in, (long long)(e.refresh_on - NOW), (long long)(e.stale_on - NOW),
		      rows2[i].want_refresh, rows2[i].want_stale);
		CHECK(fails, e.expires_on == NOW + rows2[i].life, "life %lld: expires_on changed",
		      rows2[i].life);
	}
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_why_sanitised),
	    cmocka_unit_test(test_schedule),
	};

	return cmocka_run_group_tests_name("expiry", tests, NULL, NULL);
}

/* test_retry.c - the retry policy of each kind of endpoint (retry.h), on a synthetic clock. */
#include "unit.h"

#include "retry.h"

#define T0 1000000LL /* a monotonic "now" far from zero */

static void test_retryable(void **state)
{
	static const struct {
		long status;
		enum endpoint_kind kind;
		bool want;
	} rows[] = {
	    {404, EP_MANAGED_IDENTITY, true},
	    {404, EP_SERVICE_FABRIC, false},
	    {408, EP_MANAGED_IDENTITY, true},
	    {408, EP_SERVICE_FABRIC, true},
	    {410, EP_MANAGED_IDENTITY, true},
	    {410, EP_SERVICE_FABRIC, true},
	    {429, EP_MANAGED_IDENTITY, true},
	    {429, EP_SERVICE_FABRIC, true},
	    {500, EP_MANAGED_IDENTITY, true},
	    {502, EP_MANAGED_IDENTITY, true},
	    {503, EP_SERVICE_FABRIC, true},
	    {504, EP_MANAGED_IDENTITY, true},
	    {599, EP_MANAGED_IDENTITY, true},
	    {400, EP_MANAGED_IDENTITY, false},
	    {400, EP_SERVICE_FABRIC, false},
	    {401, EP_MANAGED_IDENTITY, false},
	    {401, EP_SERVICE_FABRIC, false},
	    {403, EP_MANAGED_IDENTITY, false},
	    {403, EP_SERVICE_FABRIC, false},
	    {200, EP_MANAGED_IDENTITY, false},
	    {201, EP_MANAGED_IDENTITY, false},
	    {301, EP_MANAGED_IDENTITY, false},
	    {302, EP_MANAGED_IDENTITY, false},
	    {405, EP_MANAGED_IDENTITY, false},
	    {409, EP_MANAGED_IDENTITY, false},
	    {411, EP_MANAGED_IDENTITY, false},
	    {499, EP_MANAGED_IDENTITY, false},
	    {600, EP_MANAGED_IDENTITY, false},
	    {0, EP_MANAGED_IDENTITY, false},
	    {-1, EP_MANAGED_IDENTITY, false},
	    /* Entra's token endpoint: only 408, 429 and 5xx */
	    {404, EP_ENTRA, false},
	    {410, EP_ENTRA, false},
	    {408, EP_ENTRA, true},
	    {429, EP_ENTRA, true},
	    {500, EP_ENTRA, true},
	    {503, EP_ENTRA, true},
	    {400, EP_ENTRA, false},
	    {401, EP_ENTRA, false},
	    {403, EP_ENTRA, false},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(fails, retry_status_retryable(rows[i].status, rows[i].kind) == rows[i].want,
		      "status %ld kind %s", rows[i].status, retry_policy(rows[i].kind)->name);
	TABLE_DONE(fails);
}

/* Never 400, 401, 403 (or a success, or Service Fabric's 404), not even once. */
static void test_never_retried(void **state)
{
	static const long never[] = {200, 204, 301, 400, 401, 403, 405, 422};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		struct retry_state st = {0};
		CHECK(fails, retry_next_delay(&st, never[i], -1, EP_MANAGED_IDENTITY, T0) == -1, "status %ld",
		      never[i]);
		CHECK(fails, retry_next_delay(&st, never[i], 1000, EP_MANAGED_IDENTITY, T0) == -1,
		      "status %ld with Retry-After", never[i]);
		CHECK(fails, st.retries == 0, "status %ld counted a retry", never[i]);
	}
	struct retry_state sf = {0};
	assert_int_equal(retry_next_delay(&sf, 404, -1, EP_SERVICE_FABRIC, T0), -1);
	struct retry_state imds = {0};
	assert_true(retry_next_delay(&imds, 404, -1, EP_MANAGED_IDENTITY, T0) >= 800);
	struct retry_state entra = {0};
	assert_int_equal(retry_next_delay(&entra, 410, -1, EP_ENTRA, T0), -1);
	assert_int_equal(retry_next_delay(&entra, 404, 1000, EP_ENTRA, T0), -1);
	assert_int_equal(entra.first_410_ms, 0);
	assert_true(retry_next_delay(&entra, 503, -1, EP_ENTRA, T0) >= 800);
	TABLE_DONE(fails);
}

/* 1, 2, 4, 8 s with -20 %..+20 % jitter, then no more; the jitter really varies. */
static void test_backoff(void **state)
{
	static const long statuses[] = {500, 503, 429, 408, 404, 0};
	static const long base[] = {1000, 2000, 4000, 8000};
	long lo[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30}, hi[4] = {0, 0, 0, 0};
	int fails = 0;

	(void)state;
	for (int run = 0; run < 300; run++) {
		long status = statuses[run % 6];
		struct retry_state st = {0};
		int64_t now = T0;

		for (int i = 0; i < 4; i++) {
			long d = retry_next_delay(&st, status, -1, EP_MANAGED_IDENTITY, now);
			CHECK(fails, d >= base[i] * 8 / 10 && d <= base[i] * 12 / 10,
			      "status %ld retry %d: %ld ms outside [%ld, %ld]", status, i + 1, d,
			      base[i] * 8 / 10, base[i] * 12 / 10);
			if (d < lo[i])
				lo[i] = d;
			if (d > hi[i])
				hi[i] = d;
			now += d + 50;
		}
		CHECK(fails, retry_next_delay(&st, status, -1, EP_MANAGED_IDENTITY, now) == -1,
		      "status %ld: a fifth retry", status);
		CHECK(fails, retry_next_delay(&st, status, 500, EP_MANAGED_IDENTITY, now + 1000) == -1,
		      "status %ld: a fifth retry with Retry-After", status);
	}
	for (int i = 0; i < 4; i++)
		CHECK(fails, hi[i] - lo[i] >= base[i] / 10, "retry %d: no jitter (%ld..%ld)", i + 1, lo[i],
		      hi[i]);
	TABLE_DONE(fails);
}

/* Retry-After (in ms after parsing) is honoured exactly, and still counts against the budget. */
static void test_retry_after(void **state)
{
	static const long wishes[] = {0, 1, 999, 2500, 30000, 120000};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(wishes) / sizeof(wishes[0]); i++) {
		struct retry_state st = {0};
		int64_t now = T0;
		for (int n = 0; n < 4; n++) {
			long d = retry_next_delay(&st, 429, wishes[i], EP_MANAGED_IDENTITY, now);
			CHECK(fails, d == wishes[i], "Retry-After %ld ms, retry %d: got %ld", wishes[i],
			      n + 1, d);
			now += d;
		}
		CHECK(fails, retry_next_delay(&st, 429, wishes[i], EP_MANAGED_IDENTITY, now) == -1,
		      "Retry-After %ld: fifth retry", wishes[i]);
	}
	/* mixed: a wish, then plain backoff continues at the next step */
	struct retry_state st = {0};
	assert_int_equal(retry_next_delay(&st, 503, 3000, EP_MANAGED_IDENTITY, T0), 3000);
	long d = retry_next_delay(&st, 503, -1, EP_MANAGED_IDENTITY, T0 + 3000);
	assert_in_range(d, 1600, 2400);
	TABLE_DONE(fails);
}

/* After a 410, keep going until 70 s have passed since the first 410. */
static void test_410_window(void **state)
{
	int fails = 0;

	(void)state;
	for (int run = 0; run < 50; run++) {
		struct retry_state st = {0};
		int64_t now = T0, last_ok = T0;
		int retries = 0;
		long d;

		while ((d = retry_next_delay(&st, 410, -1, EP_MANAGED_IDENTITY, now)) >= 0) {
			CHECK(fails, d >= 800 && d <= 9600, "410 retry %d: delay %ld", retries + 1, d);
			retries++;
			last_ok = now;
			now += d + 100; /* the request itself takes 100 ms */
			if (retries > 100)
				break;
		}
		/* the last retry was granted within the window, the refusal came after it */
		CHECK(fails, last_ok - T0 < RETRY_410_WINDOW_MS, "run %d: retry granted at +%lld ms", run,
		      (long long)(last_ok - T0));
		CHECK(fails, now - T0 >= RETRY_410_WINDOW_MS, "run %d: gave up at +%lld ms, before 70 s", run,
		      (long long)(now - T0));
		CHECK(fails, retries > RETRY_MAX_RETRIES, "run %d: only %d retries", run, retries);
		CHECK(fails, retries <= 100, "run %d: never stops", run);
	}
	TABLE_DONE(fails);
}

/* Exact edges of the window, counted from the first 410 only. */
static void test_410_edges(void **state)
{
	struct retry_state st = {0};

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_true(retry_next_delay(&st, 410, -1, EP_MANAGED_IDENTITY, T0 + i * 1000) >= 0);
	assert_int_equal(st.first_410_ms, T0);
	assert_true(retry_next_delay(&st, 410, -1, EP_MANAGED_IDENTITY, T0 + RETRY_410_WINDOW_MS - 1) >= 0);
	assert_int_equal(retry_next_delay(&st, 410, -1, EP_MANAGED_IDENTITY, T0 + RETRY_410_WINDOW_MS), -1);
	assert_int_equal(
	    retry_next_delay(&st, 410, 100, EP_MANAGED_IDENTITY, T0 + RETRY_410_WINDOW_MS + 5000), -1);

	/* A 410 coming after other failures used the budget still gets its 70 s. */
	struct retry_state mix = {0};
	for (int i = 0; i < 4; i++)
		assert_true(retry_next_delay(&mix, 500, -1, EP_MANAGED_IDENTITY, T0 + i * 1000) >= 0);
	assert_int_equal(retry_next_delay(&mix, 500, -1, EP_MANAGED_IDENTITY, T0 + 5000), -1);
	struct retry_state mix2 = {0};
	for (int i = 0; i < 4; i++)
		assert_true(retry_next_delay(&mix2, 503, -1, EP_MANAGED_IDENTITY, T0 + i * 1000) >= 0);
	assert_true(retry_next_delay(&mix2, 410, -1, EP_MANAGED_IDENTITY, T0 + 20000) >= 0);
	assert_int_equal(mix2.first_410_ms, T0 + 20000);
	assert_true(retry_next_delay(&mix2, 410, -1, EP_MANAGED_IDENTITY, T0 + 20000 + 69999) >= 0);
	assert_int_equal(retry_next_delay(&mix2, 410, -1, EP_MANAGED_IDENTITY, T0 + 20000 + 70000), -1);

	/* Past the budget, a non-410 status ends the 410 window. */
	struct retry_state w = {0};
	for (int i = 0; i < 5; i++)
		assert_true(retry_next_delay(&w, 410, -1, EP_MANAGED_IDENTITY, T0 + i * 1000) >= 0);
	assert_int_equal(retry_next_delay(&w, 500, -1, EP_MANAGED_IDENTITY, T0 + 6000), -1);

	/* Retry-After inside the window is honoured exactly. */
	struct retry_state ra = {0};
	for (int i = 0; i < 6; i++)
		assert_int_equal(retry_next_delay(&ra, 410, 1234, EP_MANAGED_IDENTITY, T0 + i * 2000), 1234);
}

/* Every kind's row: which statuses it retries, how many times, and an unknown kind never retries. */
static void test_kinds(void **state)
{
	static const struct {
		enum endpoint_kind kind;
		bool r404, r410;
		int budget;
	} rows[] = {
	    {EP_MANAGED_IDENTITY, true, true, 4}, {EP_SERVICE_FABRIC, false, true, 4},
	    {EP_ENTRA, false, false, 4},          {EP_ARM, false, false, 4},
	    {EP_GRAPH, false, false, 4},          {EP_INSTANCE_METADATA, true, true, 4},
	    {EP_KEY_SET, false, false, 0},        {EP_REGISTRY, false, false, 4},
	    {EP_KINDS, false, false, 0},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct retry_state st = {0};
		int n = 0;
		CHECK(fails, retry_status_retryable(404, rows[i].kind) == rows[i].r404, "kind %d: 404",
		      rows[i].kind);
		CHECK(fails, retry_status_retryable(410, rows[i].kind) == rows[i].r410, "kind %d: 410",
		      rows[i].kind);
		CHECK(fails, !retry_status_retryable(401, rows[i].kind), "kind %d: 401", rows[i].kind);
		while (n < 50 && retry_next_delay(&st, 503, 10, rows[i].kind, T0 + n) >= 0)
			n++;
		CHECK(fails, n == rows[i].budget, "kind %d: %d retries of a 503, want %d", rows[i].kind, n,
		      rows[i].budget);
		CHECK(fails, retry_policy(rows[i].kind)->name != NULL, "kind %d has no name", rows[i].kind);
	}
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_retryable),  cmocka_unit_test(test_never_retried),
	    cmocka_unit_test(test_backoff),    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_410_window), cmocka_unit_test(test_410_edges),
	    cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests_name("retry", tests, NULL, NULL);
}

/*
 * test_exchange.c - the exchange engine (exchange.h) on a fake transport and
 * a fake clock: retries by kind, Retry-After within the deadline, the 401
 * hook, the probe, and one give-up message and result for every kind.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "exchange.h"

#define T0 5000000LL

/* One scripted answer: a status (0: a transport failure with `rc`). */
struct step {
	long status;
	long retry_after_ms;
	azmi_err rc;
	bool connected;
};

static struct {
	const struct step *steps;
	size_t n, next;
	int64_t now;
	int64_t slept[16];
	size_t nslept;
	const char *auth_seen[16];
} fake;

static const char error_body[] = "{\"error\":\"fake\",\"error_description\":\"scripted\"}";

static azmi_err fake_perform(const struct http_request *req, struct http_response *resp)
{
	const struct step *s = &fake.steps[fake.next < fake.n ? fake.next : fake.n - 1];

	if (fake.next < 16)
		fake.auth_seen[fake.next] = req->headers[0];
	fake.next++;
	assert_true(req->timeout_ms > 0);
	assert_true(req->connect_timeout_ms <= req->timeout_ms);
	resp->retry_after_ms = s->retry_after_ms;
	resp->connected = s->connected || s->status != 0;
	if (s->status == 0) {
		snprintf(resp->curl_error, sizeof(resp->curl_error), "fake transport failure");
		return s->rc;
	}
	resp->status = s->status;
	if (s->status != 200)
		assert_true(buf_append(&resp->body, error_body, strlen(error_body)));
	return AZMI_OK;
}

static int64_t fake_now(void)
{
	return fake.now;
}

static void fake_sleep(int64_t ms)
{
	if (fake.nslept < 16)
		fake.slept[fake.nslept++] = ms;
	fake.now += ms;
}

static const struct exchange_io fake_io = {fake_perform, fake_now, fake_sleep};

static int setup(void **state)
{
	(void)state;
	memset(&fake, 0, sizeof(fake));
	fake.now = T0;
	exchange_set_io(&fake_io);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	exchange_set_io(NULL);
	return 0;
}

static void script(const struct step *steps, size_t n)
{
	fake.steps = steps;
	fake.n = n;
	fake.next = 0;
	fake.nslept = 0;
	fake.now = T0;
}

/* Run one exchange of `kind` against the script; deadline `budget_ms` from T0. */
static azmi_err run(enum endpoint_kind kind, int64_t budget_ms, struct http_response *resp,
                    struct azmi_error *err)
{
	struct http_request req = {.method = "GET", .url = "http://127.0.0.1:9/path?secret=x"};
	struct exchange x = {
	    .kind = kind, .name = "fake", .req = &req, .body_cap = 4096, .deadline_ms = T0 + budget_ms};

	return exchange_perform(&x, resp, err);
}

#define STEPS(...)                                                                                           \
	(const struct step[]){__VA_ARGS__}, sizeof((const struct step[]){__VA_ARGS__}) / sizeof(struct step)

/* Which statuses each kind retries, and what it concludes. */
static void test_retries_per_kind(void **state)
{
	static const struct {
		enum endpoint_kind kind;
		long first;
		size_t attempts; /* to reach the 200 behind `first`, or the attempts made before failing */
		azmi_err want;
	} rows[] = {
	    {EP_MANAGED_IDENTITY, 404, 2, AZMI_OK},
	    {EP_MANAGED_IDENTITY, 410, 2, AZMI_OK},
	    {EP_MANAGED_IDENTITY, 503, 2, AZMI_OK},
	    {EP_MANAGED_IDENTITY, 400, 1, AZMI_ERR_REFUSED},
	    {EP_SERVICE_FABRIC, 404, 1, AZMI_ERR_REFUSED},
	    {EP_SERVICE_FABRIC, 410, 2, AZMI_OK},
	    {EP_ENTRA, 404, 1, AZMI_ERR_REFUSED},
	    {EP_ENTRA, 429, 2, AZMI_OK},
	    {EP_ARM, 404, 1, AZMI_ERR_REFUSED},
	    {EP_ARM, 500, 2, AZMI_OK},
	    {EP_GRAPH, 408, 2, AZMI_OK},
	    {EP_GRAPH, 403, 1, AZMI_ERR_REFUSED},
	    {EP_INSTANCE_METADATA, 404, 2, AZMI_OK},
	    {EP_INSTANCE_METADATA, 401, 1, AZMI_ERR_REFUSED},
	    {EP_KEY_SET, 503, 1, AZMI_ERR_ENDPOINT},
	    {EP_KEY_SET, 404, 1, AZMI_ERR_REFUSED},
	    {EP_REGISTRY, 503, 2, AZMI_OK},
	    {EP_REGISTRY, 401, 1, AZMI_ERR_REFUSED},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct step steps[2] = {{rows[i].first, -1, AZMI_OK, true}, {200, -1, AZMI_OK, true}};
		struct http_response resp;
		struct azmi_error err = AZMI_ERROR_INIT;
		azmi_err rc;

		script(steps, 2);
		rc = run(rows[i].kind, 60000, &resp, &err);
		CHECK(fails, rc == rows[i].want, "%s after %ld: %s", retry_policy(rows[i].kind)->name,
		      rows[i].first, azmi_strerror(rc));
		CHECK(fails, fake.next == rows[i].attempts, "%s after %ld: %zu attempts",
		      retry_policy(rows[i].kind)->name, rows[i].first, fake.next);
		CHECK(fails, rc != AZMI_OK || resp.status == 200, "%s: status %ld",
		      retry_policy(rows[i].kind)->name, resp.status);
		CHECK(fails, rc == AZMI_OK || resp.status == rows[i].first, "%s: last answer %ld kept",
		      retry_policy(rows[i].kind)->name, resp.status);
		http_response_free(&resp);
	}
	TABLE_DONE(fails);
}

/* Only REST kinds take any 2xx as the answer. */
static void test_2xx(void **state)
{
	struct http_response resp;
	struct azmi_error err = AZMI_ERROR_INIT;

	(void)state;
	script(STEPS({204, -1, AZMI_OK, true}));
	assert_int_equal(run(EP_ARM, 10000, &resp, &err), AZMI_OK);
	http_response_free(&resp);
	script(STEPS({204, -1, AZMI_OK, true}));
	assert_int_equal(run(EP_MANAGED_IDENTITY, 10000, &resp, &err), AZMI_ERR_ENDPOINT);
	assert_int_equal(fake.next, 1);
	http_response_free(&resp);
}

/* The server's Retry-After is the delay, exactly, when it fits the deadline; else the exchange gives up. */
static void test_retry_after(void **state)
{
	struct http_response resp;
	struct azmi_error err = AZMI_ERROR_INIT;

	(void)state;
	script(STEPS({429, 3000, AZMI_OK, true}, {503, 1500, AZMI_OK, true}, {200, -1, AZMI_OK, true}));
	assert_int_equal(run(EP_ENTRA, 10000, &resp, &err), AZMI_OK);
	assert_int_equal(fake.nslept, 2);
	assert_int_equal(fake.slept[0], 3000);
	assert_int_equal(fake.slept[1], 1500);
	http_response_free(&resp);

	/* 3000 ms asked, 2999 left: no sleep, the 429's error and the reason. */
	script(STEPS({429, 3000, AZMI_OK, true}, {200, -1, AZMI_OK, true}));
	assert_int_equal(run(EP_ENTRA, 2999, &resp, &err), AZMI_ERR_ENDPOINT);
	assert_int_equal(fake.next, 1);
	assert_int_equal(fake.nslept, 0);
	assert_int_equal(resp.status, 429);
	assert_int_equal(err.http_status, 429);
	assert_non_null(strstr(err.message, "gave up after 1 attempt: the next retry (in 3000 ms) would pass "
	                                    "the deadline"));
	http_response_free(&resp);
}

/*
 * The same failure gives the same result and the same message, but for the
 * endpoint's name, whatever the kind: that was four loops' drift.
 */
static void test_give_up_same_everywhere(void **state)
{
	static const enum endpoint_kind kinds[] = {
	    EP_MANAGED_IDENTITY,  EP_SERVICE_FABRIC, EP_ENTRA,   EP_ARM, EP_GRAPH,
	    EP_INSTANCE_METADATA, EP_KEY_SET,        EP_REGISTRY};
	static const char want_status[] = "fake: GET http://127.0.0.1:9/path: HTTP 503: fake: scripted";
	static const char gave_up[] = "\ngave up after 1 attempt: the next retry (in 9000 ms) would pass the "
	                              "deadline";
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		bool retries = retry_policy(kinds[i])->max_retries > 0;
		struct http_response resp;
		struct azmi_error err = AZMI_ERROR_INIT;
		char want[512];
		azmi_err rc;

		/* An answer that keeps failing, the server asking for more time than is left. */
		script(STEPS({503, 9000, AZMI_OK, true}));
		rc = run(kinds[i], 5000, &resp, &err);
		snprintf(want, sizeof(want), "%s%s", want_status, retries ? gave_up : "");
		CHECK(fails, rc == AZMI_ERR_ENDPOINT, "%s: %s", retry_policy(kinds[i])->name,
		      azmi_strerror(rc));
		CHECK(fails, strcmp(err.message, want) == 0, "%s: \"%s\"", retry_policy(kinds[i])->name,
		      err.message);
		CHECK(fails, strcmp(err.source, "fake") == 0 && err.http_status == 503,
		      "%s: source %s status %ld", retry_policy(kinds[i])->name, err.source, err.http_status);
		CHECK(fails, strstr(err.message, "secret") == NULL, "%s: the query shown",
		      retry_policy(kinds[i])->name);
		http_response_free(&resp);

		/* A dropped connection, every time: retried while the deadline allows, then its error. */
		script(STEPS({0, -1, AZMI_ERR_ENDPOINT, true}));
		rc = run(kinds[i], 60000, &resp, &err);
		CHECK(fails, rc == AZMI_ERR_ENDPOINT, "%s dropped: %s", retry_policy(kinds[i])->name,
		      azmi_strerror(rc));
		CHECK(fails,
		      strncmp(err.message, "fake: GET http://127.0.0.1:9/path: fake transport failure", 57) ==
		          0,
		      "%s dropped: \"%s\"", retry_policy(kinds[i])->name, err.message);
		CHECK(fails, fake.next == (size_t)retry_policy(kinds[i])->max_retries + 1,
		      "%s dropped: %zu attempts", retry_policy(kinds[i])->name, fake.next);
		http_response_free(&resp);

		/* A refused connection is final at once. */
		script(STEPS({0, -1, AZMI_ERR_UNAVAILABLE, false}));
		rc = run(kinds[i], 60000, &resp, &err);
		CHECK(fails, rc == AZMI_ERR_UNAVAILABLE && fake.next == 1, "%s refused: %s after %zu",
		      retry_policy(kinds[i])->name, azmi_strerror(rc), fake.next);
		http_response_free(&resp);
	}
	TABLE_DONE(fails);
}

/* No time at all: no attempt, a timeout naming the request. */
static void test_no_time(void **state)
{
	struct http_response resp;
	struct azmi_error err = AZMI_ERROR_INIT;

	(void)state;
	script(STEPS({200, -1, AZMI_OK, true}));
	assert_int_equal(run(EP_ARM, 0, &resp, &err), AZMI_ERR_TIMEOUT);
	assert_int_equal(fake.next, 0);
	assert_string_equal(err.message, "fake: GET http://127.0.0.1:9/path: no time left to ask");
	http_response_free(&resp);
}

static int hook_calls;

static azmi_err new_credentials(void *arg, const struct http_response *resp, struct http_request *req,
                                struct azmi_error *err)
{
	(void)err;
	hook_calls++;
	assert_int_equal(resp->status, 401);
	req->headers[0] = arg;
	return AZMI_OK;
}

/* The 401 hook runs once, its new request is what goes next, and a second 401 is final. */
static void test_unauthorized_hook(void **state)
{
	struct http_request req = {.method = "GET", .url = "http://127.0.0.1:9/x", .headers = {"Auth: old"}};
	struct exchange x = {.kind = EP_GRAPH,
	                     .name = "fake",
	                     .req = &req,
	                     .body_cap = 4096,
	                     .deadline_ms = T0 + 10000,
	                     .unauthorized = new_credentials,
	                     .arg = (void *)(uintptr_t) "Auth: new"};
	struct http_response resp;
	struct azmi_error err = AZMI_ERROR_INIT;

	(void)state;
	hook_calls = 0;
	script(STEPS({401, -1, AZMI_OK, true}, {200, -1, AZMI_OK, true}));
	assert_int_equal(exchange_perform(&x, &resp, &err), AZMI_OK);
	assert_int_equal(hook_calls, 1);
	assert_string_equal(fake.auth_seen[0], "Auth: old");
	assert_string_equal(fake.auth_seen[1], "Auth: new");
	assert_int_equal(fake.nslept, 0);
	http_response_free(&resp);

	hook_calls = 0;
	script(STEPS({401, -1, AZMI_OK, true}));
	assert_int_equal(exchange_perform(&x, &resp, &err), AZMI_ERR_REFUSED);
	assert_int_equal(hook_calls, 1);
	assert_int_equal(fake.next, 2);
	assert_int_equal(err.http_status, 401);
	http_response_free(&resp);
}

/* A chain's probe: nothing connected on the first attempt means "not here", not a retry. */
static void test_probe(void **state)
{
	struct http_request req = {.method = "GET", .url = "http://127.0.0.1:9/x"};
	struct exchange x = {.kind = EP_MANAGED_IDENTITY,
	                     .name = "imds",
	                     .req = &req,
	                     .body_cap = 4096,
	                     .deadline_ms = T0 + 60000,
	                     .probe = true};
	struct http_response resp;
	struct azmi_error err = AZMI_ERROR_INIT;

	(void)state;
	script(STEPS({0, -1, AZMI_ERR_ENDPOINT, false}));
	assert_int_equal(exchange_perform(&x, &resp, &err), AZMI_ERR_UNAVAILABLE);
	assert_int_equal(err.code, AZMI_ERR_UNAVAILABLE);
	assert_int_equal(fake.next, 1);
	http_response_free(&resp);

	/* Something answered once: the same failure later is retried as usual. */
	script(STEPS({0, -1, AZMI_ERR_ENDPOINT, true}, {200, -1, AZMI_OK, true}));
	assert_int_equal(exchange_perform(&x, &resp, &err), AZMI_OK);
	assert_int_equal(fake.next, 2);
	http_response_free(&resp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_retries_per_kind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_2xx, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_retry_after, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_give_up_same_everywhere, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unauthorized_hook, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	};

	return cmocka_run_group_tests_name("exchange", tests, NULL, NULL);
}

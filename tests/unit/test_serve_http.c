/* test_serve_http.c - the request head parser of `azmi serve` (cli/serve_http.c): what it takes, what it refuses. */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "serve_http.h"

#define OK_HEAD "GET /msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net HTTP/1.1\r\n"

struct verdict_row {
	const char *in;
	int want; /* 0 parsed, 1 needs more, else the status */
};

static const struct verdict_row verdict_rows[] = {
    {OK_HEAD "Host: 127.0.0.1:1\r\n\r\n", 0},
    {"GET / HTTP/1.0\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nX:\r\n\r\n", 0},
    {"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 0},
    {"", 1},
    {"GET / HTTP/1.1\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: x\r\n", 1},
    {"GET / HTTP/1.1\r\nHost: x\r\n\r", 1},
    {"GET / HTTP/1.1\n\n", 400},                   /* bare LF */
    {"GET / HTTP/1.1\r\nHost: x\n\r\n", 400},      /* bare LF in a header */
    {"GET / HTTP/1.1\rX\r\n\r\n", 400},            /* bare CR */
    {"GET / HTTP/1.1\r\n folded: x\r\n\r\n", 400}, /* obs-fold */
    {"GET / HTTP/1.1\r\nHo st: x\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\n: x\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nnocolon\r\n\r\n", 400},
    {"get / HTTP/1.1\r\n\r\n", 400},
    {" / HTTP/1.1\r\n\r\n", 400},
    {"GET x HTTP/1.1\r\n\r\n", 400},
    {"GET /a b HTTP/1.1\r\n\r\n", 400},
    {"GET /a#f HTTP/1.1\r\n\r\n", 400},
    {"GET / FTP/1.1\r\n\r\n", 400},
    {"GET / HTTP/2.0\r\n\r\n", 505},
    {"GET / HTTP/1.2\r\n\r\n", 505},
    {"GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400},
    {"GET / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 501},
    {"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501},
    {"GET / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 0\r\n\r\n", 400},
};

static void test_verdicts(void **state)
{
	int fails = 0;
	char buf[HTTP_HEAD_MAX + 1];
	struct http_request req;

	(void)state;
	for (size_t i = 0; i < sizeof(verdict_rows) / sizeof(verdict_rows[0]); i++) {
		size_t len = strlen(verdict_rows[i].in);
		memcpy(buf, verdict_rows[i].in, len + 1);
		int got = http_parse(buf, len, &req);
		CHECK(fails, got == verdict_rows[i].want, "%s: got %d, want %d",
		      unit_show(verdict_rows[i].in, len), got, verdict_rows[i].want);
	}
	TABLE_DONE(fails);
}

static void test_limits(void **state)
{
	static char buf[HTTP_HEAD_MAX + 64];
	struct http_request req;
	size_t n;

	(void)state;
	/* A request line over 4 KiB: 414 as soon as it is seen, ended or not. */
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', 4200);
	assert_int_equal(http_parse(buf, 4205, &req), 414);
	/* A head that fills the buffer without ending: 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nX: ");
	memset(buf + n, 'p', HTTP_HEAD_MAX - n);
	assert_int_equal(http_parse(buf, HTTP_HEAD_MAX, &req), 431);
	assert_int_equal(http_parse(buf, HTTP_HEAD_MAX + 1, &req), 431);
	/* More header lines than HTTP_HEADERS_MAX: 431. */
	n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\n");
	for (int i = 0; i <= HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X%d: v\r\n", i);
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
	assert_int_equal(http_parse(buf, n, &req), 431);
}

static void test_fields(void **state)
{
	char buf[512] =
	    OK_HEAD "Host:  127.0.0.1:50342 \r\nx-identity-header: s3cret\r\nX-Identity-Header: two\r\n\r\n";
	struct http_request req;
	int count;

	(void)state;
	assert_int_equal(http_parse(buf, strlen(buf), &req), 0);
	assert_string_equal(req.method, "GET");
	assert_string_equal(req.path, "/msi/token");
	assert_string_equal(req.query, "api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net");
	assert_int_equal(req.minor, 1);
	assert_int_equal(req.nheaders, 3);
	assert_string_equal(http_header(&req, "HOST", NULL), "127.0.0.1:50342");
	assert_string_equal(http_header(&req, "X-IDENTITY-HEADER", &count), "s3cret");
	assert_int_equal(count, 2);
	assert_null(http_header(&req, "Origin", &count));
	assert_int_equal(count, 0);
	assert_int_equal(req.head_len,
	                 strlen(OK_HEAD "Host:  127.0.0.1:50342 \r\nx-identity-header: s3cret\r\n"
	                                "X-Identity-Header: two\r\n\r\n"));
}

struct query_row {
	const char *query, *name;
	int want;
	const char *value;
};

static const struct query_row query_rows[] = {
    {"resource=https%3A%2F%2Fx%2F&api-version=1", "resource", 1, "https://x/"},
    {"resource=a+b", "resource", 1, "a b"},
    {"resource=a&resource=b", "resource", 2, "a"},
    {"res%6Furce=x", "resource", 1, "x"},
    {"resource", "resource", 1, ""},
    {"resource=", "resource", 1, ""},
    {"&&resource=x&&", "resource", 1, "x"},
    {"client_id=x", "resource", 0, NULL},
    {"", "resource", 0, NULL},
    {"resource=%zz", "resource", -1, NULL},
    {"resource=%2", "resource", -1, NULL},
    {"resource=%", "resource", -1, NULL},
    {"resource=a%00b", "resource", -1, NULL},
    {"resource=a%0Ab", "resource", -1, NULL},
    {"resource=x&other=%zz", "resource", -1, NULL}, /* a malformed part anywhere refuses the query */
    {"%zz=1&resource=x", "resource", -1, NULL},
};

static void test_query(void **state)
{
	int fails = 0;
	char out[HTTP_PARAM_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(query_rows) / sizeof(query_rows[0]); i++) {
		const struct query_row *r = &query_rows[i];
		int got = http_query_param(r->query, r->name, out, sizeof(out));
		CHECK(fails, got == r->want, "%s: got %d, want %d", r->query, got, r->want);
		if (got > 0 && r->value)
			CHECK(fails, strcmp(out, r->value) == 0, "%s: value %s, want %s", r->query, out,
			      r->value);
	}
	/* A value longer than the caller's buffer is refused, never cut. */
	char small[4];
	assert_int_equal(http_query_param("resource=abcd", "resource", small, sizeof(small)), -1);
	assert_int_equal(http_query_param("resource=abc", "resource", small, sizeof(small)), 1);
	assert_string_equal(small, "abc");
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_query),
	};
	return cmocka_run_group_tests_name("serve_http", tests, NULL, NULL);
}

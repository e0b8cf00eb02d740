/*
 * fuzz_serve_http.c - the request head parser of `azmi serve` on arbitrary
 * bytes, whole and cut in two as a slow client sends them: no crash, a
 * partial head leaves the buffer as it was, and what a parsed head says
 * stays inside the buffer.
 */
#include <stdint.h>
#include <string.h>

#include "serve_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_query(const struct http_request *req)
{
	static const char *const names[] = {"api-version",  "resource",  "client_id",
	                                    "principal_id", "mi_res_id", ""};
	char out[HTTP_PARAM_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(out, 'x', sizeof(out));
		if (http_query_param(req->query, names[i], out, sizeof(out)) > 0 &&
		    memchr(out, '\0', sizeof(out)) == NULL)
			__builtin_trap();
	}
	char small[4];
	if (http_query_param(req->query, "resource", small, sizeof(small)) > 0 &&
	    strlen(small) >= sizeof(small))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[HTTP_HEAD_MAX + 1], copy[HTTP_HEAD_MAX + 1];
	struct http_request req;
	size_t len = size > HTTP_HEAD_MAX ? HTTP_HEAD_MAX : size;
	size_t cut = size ? data[0] % (len + 1) : 0;
	int r;

	memcpy(buf, data, len);
	memcpy(copy, data, len);
	if (http_parse(buf, cut, &req) == 1 && memcmp(buf, copy, cut) != 0)
		__builtin_trap(); /* "need more" must not have touched the buffer */
	memcpy(buf, data, len);
	r = http_parse(buf, len, &req);
	if (r == 0) {
		if (req.head_len > len || req.nheaders > HTTP_HEADERS_MAX || req.path[0] != '/')
			__builtin_trap();
		if (req.minor != 0 && req.minor != 1)
			__builtin_trap();
		(void)http_header(&req, "Host", NULL);
		check_query(&req);
	} else if (r != 1 && r != 400 && r != 414 && r != 431 && r != 501 && r != 505) {
		__builtin_trap();
	}
	return 0;
}

/* serve_http.h - parsing one HTTP/1.x request head for `azmi serve`, in place and bounded. */
#ifndef AZMI_SERVE_HTTP_H
#define AZMI_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEAD_MAX    8192 /* request line and headers together */
#define HTTP_HEADERS_MAX 32   /* header lines */
#define HTTP_PARAM_MAX   2048 /* one decoded query value */

struct http_header {
	const char *name;  /* as sent; compare case-insensitively */
	const char *value; /* leading and trailing blanks removed */
};

/* A parsed request head; every pointer points into the buffer given to http_parse. */
struct http_request {
	const char *method;
	const char *path;  /* up to '?' */
	const char *query; /* after '?', "" when none */
	int minor;         /* HTTP/1.minor */
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t nheaders;
	size_t head_len; /* bytes of the head, final CRLF CRLF included */
};

/*
 * Parse the request head at the start of buf[0..len) (len <= HTTP_HEAD_MAX),
 * writing NULs into the buffer.  Returns 0 when a whole head was parsed, 1
 * when more bytes are needed (buf left untouched), or the HTTP status to
 * refuse it with: 400 malformed, 414 URI too long, 431 head too large, 501
 * a request body or transfer coding, 505 not HTTP/1.x.
 */
int http_parse(char *buf, size_t len, struct http_request *req);

/* The value of header `name` (case-insensitive); NULL when absent.  *count gets how often it occurs. */
const char *http_header(const struct http_request *req, const char *name, int *count);

/*
 * Find query parameter `name` in `query` (a=b&c=d) and percent-decode its
 * value into out[0..outlen).  Returns the number of times it occurs (the
 * value is the first), or -1 when a value is malformed or too long (a
 * truncated escape, %00, a control byte).
 */
int http_query_param(const char *query, const char *name, char *out, size_t outlen);

#endif

/*
 * serve_http.c - the request head parser of `azmi serve`.
 *
 * Strict on purpose: the only clients are the Azure SDKs' HTTP stacks, so
 * anything unusual (bare LF, folded headers, control bytes, a body) is
 * refused rather than guessed at, which leaves no room for two parsers to
 * read one request differently.
 */
#include "serve_http.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define HTTP_LINE_MAX 4096 /* the request line */
#define HTTP_KEY_MAX  64   /* a decoded query parameter name */

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Bytes a head may hold: visible ASCII, space, tab, CR before LF. 0 fine, else 400. */
static int scan_bytes(const char *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return 400;
		if (c == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return 400;
		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c >= 0x7f)
			return 400;
	}
	return 0;
}

static const char *find_crlf2(const char *buf, size_t len)
{
	for (size_t i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return buf + i - 3;
	return NULL;
}

/* "METHOD SP /target SP HTTP/1.x", NUL-terminated in place. */
static int parse_request_line(char *line, struct http_request *req)
{
	char *sp1 = strchr(line, ' '), *sp2;

	if (sp1 == NULL || sp1 == line)
		return 400;
	for (char *p = line; p < sp1; p++)
		if (*p < 'A' || *p > 'Z')
			return 400;
	*sp1 = '\0';
	if (sp1[1] != '/' || (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return 400;
	*sp2 = '\0';
	if (strncmp(sp2 + 1, "HTTP/", 5) != 0)
		return 400;
	if (strcmp(sp2 + 1, "HTTP/1.1") == 0)
		req->minor = 1;
	else if (strcmp(sp2 + 1, "HTTP/1.0") == 0)
		req->minor = 0;
	else
		return 505;
	for (char *p = sp1 + 1; *p; p++)
		if (*p == '\t' || *p == '#')
			return 400;
	req->method = line;
	req->path = sp1 + 1;
	char *q = strchr(sp1 + 1, '?');
	if (q) {
		*q = '\0';
		req->query = q + 1;
	} else {
		req->query = sp2; /* the NUL just written: "" */
	}
	return 0;
}

static char *trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

static int parse_header_line(char *line, struct http_request *req)
{
	char *colon = strchr(line, ':');

	if (colon == NULL || colon == line)
		return 400; /* also catches folded lines, which start with a blank */
	for (char *p = line; p < colon; p++)
		if (!is_tchar((unsigned char)*p))
			return 400;
	if (req->nheaders == HTTP_HEADERS_MAX)
		return 431;
	*colon = '\0';
	req->headers[req->nheaders].name = line;
	req->headers[req->nheaders].value = trim(colon + 1);
	req->nheaders++;
	return 0;
}

/* A GET carries no body here: refuse anything announcing one. */
static int check_body(const struct http_request *req)
{
	int n;
	const char *cl = http_header(req, "Content-Length", &n);

	if (http_header(req, "Transfer-Encoding", NULL))
		return 501;
	if (n > 1)
		return 400;
	if (cl && strcmp(cl, "0") != 0)
		return 501;
	return 0;
}

int http_parse(char *buf, size_t len, struct http_request *req)
{
	const char *end;
	char *line, *next;
	int r;

	if (len > HTTP_HEAD_MAX)
		return 431;
	if ((r = scan_bytes(buf, len)) != 0)
		return r;
	const char *nl = memchr(buf, '\n', len);
	if ((size_t)(nl ? nl - buf : (ptrdiff_t)len) > HTTP_LINE_MAX)
		return 414;
	if ((end = find_crlf2(buf, len)) == NULL)
		return len >= HTTP_HEAD_MAX ? 431 : 1;
	memset(req, 0, sizeof(*req));
	req->head_len = (size_t)(end - buf) + 4;
	buf[end - buf + 2] = '\0'; /* the head now ends "...\r\n" */
	next = strstr(buf, "\r\n");
	*next = '\0';
	if ((r = parse_request_line(buf, req)) != 0)
		return r;
	for (line = next + 2; *line; line = next + 2) {
		next = strstr(line, "\r\n");
		*next = '\0';
		if ((r = parse_header_line(line, req)) != 0)
			return r;
	}
	return check_body(req);
}

const char *http_header(const struct http_request *req, const char *name, int *count)
{
	const char *found = NULL;
	int n = 0;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (strcasecmp(req->headers[i].name, name) != 0)
			continue;
		if (n++ == 0)
			found = req->headers[i].value;
	}
	if (count)
		*count = n;
	return found;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode [s, s+len) into out (NUL-terminated); -1 when malformed or too long. */
static int decode(const char *s, size_t len, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int http_query_param(const char *query, const char *name, char *out, size_t outlen)
{
	char key[HTTP_KEY_MAX], scratch[HTTP_PARAM_MAX];
	int count = 0;
	const char *p = query;

	while (*p) {
		size_t n = strcspn(p, "&");
		const char *eq = memchr(p, '=', n);
		const char *v = eq ? eq + 1 : p + n;

		if (n > 0) {
			/* Every part is decoded, so a malformed one anywhere refuses the request. */
			if (decode(p, (size_t)(v - p) - (eq ? 1 : 0), key, sizeof(key)) < 0)
				return -1;
			bool first = strcmp(key, name) == 0 && count == 0;
			if (decode(v, (size_t)(p + n - v), first ? out : scratch,
			           first ? outlen : sizeof(scratch)) < 0)
				return -1;
			count += strcmp(key, name) == 0;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return count;
}

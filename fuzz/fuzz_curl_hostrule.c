/*
 * fuzz_curl_hostrule.c - the curl plug-in's host-rule matcher.
 *
 * Input: "<pattern>\n<host>".  Checks that hostrule_pattern_match agrees with
 * a slow reference matcher, that a matched host has as many labels as the
 * pattern, that hostrule_find only ever returns a rule whose pattern matches
 * the host with a valid scope (https, or an application id with /.default), and
 * exercises the scope and resource helpers.  Seeds in fuzz/corpus/ replay Azure DevOps hosts.
 * Extra source: libcurl_auth/hostrule.c (FUZZ_EXTRA_SRC_fuzz_curl_hostrule in libcurl_auth/build.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostrule.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Reference: '*' matches one or more characters of one label, compared case-insensitively. */
static bool ref_label(const char *p, size_t pl, const char *h, size_t hl)
{
	if (pl == 0)
		return hl == 0;
	if (p[0] == '*') {
		for (size_t k = 1; k <= hl; k++)
			if (ref_label(p + 1, pl - 1, h + k, hl - k))
				return true;
		return false;
	}
	return hl > 0 && p[0] == lower(h[0]) && ref_label(p + 1, pl - 1, h + 1, hl - 1);
}

static bool ref_match(const char *p, const char *h, size_t hl)
{
	size_t pl = strlen(p);

	for (;;) {
		const char *pd = memchr(p, '.', pl), *hd = memchr(h, '.', hl);
		size_t a = pd ? (size_t)(pd - p) : pl, b = hd ? (size_t)(hd - h) : hl;
		if (a == 0 || b == 0 || !ref_label(p, a, h, b))
			return false;
		if (!pd || !hd)
			return !pd && !hd;
		p += a + 1;
		pl -= a + 1;
		h += b + 1;
		hl -= b + 1;
	}
}

static size_t count_labels(const char *s, size_t len)
{
	size_t n = 1;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '.';
	return n;
}

static size_t count_stars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '*';
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	char pattern[80], host[300];
	size_t plen, hlen;
	const struct hostrule *r;
	struct hostrule extra[1];

	if (nl == NULL)
		return 0;
	plen = (size_t)(nl - (const char *)data);
	hlen = size - plen - 1;
	if (plen >= sizeof(pattern) || hlen >= sizeof(host))
		return 0;
	memcpy(pattern, data, plen);
	pattern[plen] = '\0';
	memcpy(host, nl + 1, hlen);
	host[hlen] = '\0';
	if (strlen(pattern) != plen || strlen(host) != hlen)
		return 0; /* embedded NUL */

	/* The fast matcher agrees with the reference on small inputs (the reference is exponential). */
	if (plen <= 24 && hlen <= 48 && count_stars(pattern) <= 3 &&
	    hostrule_pattern_match(pattern, host, hlen) != ref_match(pattern, host, hlen))
		abort();
	if (hostrule_pattern_match(pattern, host, hlen) &&
	    count_labels(pattern, plen) != count_labels(host, hlen))
		abort();

	/* Whatever rule is found must match the (trailing-dot-trimmed) host. */
	extra[0].pattern = pattern;
	extra[0].scope = "https://example.com/.default";
	extra[0].kind = HOSTRULE_PLAIN;
	r = hostrule_find(host, hlen, hostrule_pattern_valid(pattern) ? extra : NULL,
	                  hostrule_pattern_valid(pattern) ? 1 : 0, (enum azmi_cloud)(size % 3));
	if (r != NULL) {
		size_t n = hlen;
		if (n > 0 && host[n - 1] == '.')
			n--;
		if (!hostrule_pattern_match(r->pattern, host, n))
			abort();
		if (r->scope != NULL && !hostrule_scope_valid(r->scope))
			abort();
	}
	(void)hostrule_scope_valid(host);
	(void)hostrule_kind_for_scope(host);
	(void)hostrule_same_resource(host, hlen, pattern);
	return 0;
}

/*
 * fuzz_curl_mask.c - the curl plug-in's verbose-output filter.
 *
 * Checks that the copy stays within its bound and is NUL-terminated, that
 * every Authorization line of the copy is exactly the mask (so no byte of a
 * token survives), that other lines pass unchanged, and that masking the
 * copy again changes nothing.
 * Extra source: libcurl_auth/verbose_mask.c (FUZZ_EXTRA_SRC_fuzz_curl_mask in libcurl_auth/build.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "verbose_mask.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The lines of `s` that name Authorization must read the mask, and nothing more. */
static void check_lines(const char *s, size_t len)
{
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(s + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - s) + 1 : len, n = 13;
		const char *l = s + i;
		size_t ll = end - i;

		if (ll > n && strncasecmp(l, "Authorization", n) == 0) {
			while (n < ll && (l[n] == ' ' || l[n] == '\t'))
				n++;
			if (n < ll && l[n] == ':') {
				size_t body = ll - (nl ? 1 : 0);
				if (nl && body > 0 && l[body - 1] == '\r')
					body--;
				if (body != strlen(VERBOSE_MASKED) || memcmp(l, VERBOSE_MASKED, body) != 0)
					abort();
			}
		}
		i = end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = 0, len2 = 0, lines = 1;
	char *out = verbose_mask((const char *)data, size, &len), *again;

	if (out == NULL)
		return 0;
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	if (len > size + lines * (strlen(VERBOSE_MASKED) + 2) || out[len] != '\0')
		abort();
	check_lines(out, len);
	again = verbose_mask(out, len, &len2);
	if (again != NULL && (len2 != len || memcmp(again, out, len) != 0))
		abort();
	free(again);
	free(out);
	return 0;
}

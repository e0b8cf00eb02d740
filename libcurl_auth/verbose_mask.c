/* verbose_mask.c - Authorization values hidden from verbose output (see verbose_mask.h). */
#include "verbose_mask.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* True when the line (len bytes) names the header Authorization: "Authorization", blanks, then ':'. */
static bool is_authorization(const char *line, size_t len)
{
	static const char name[] = "Authorization";
	size_t n = sizeof(name) - 1;

	if (len <= n || strncasecmp(line, name, n) != 0)
		return false;
	while (n < len && (line[n] == ' ' || line[n] == '\t'))
		n++;
	return n < len && line[n] == ':';
}

char *verbose_mask(const char *data, size_t size, size_t *outlen)
{
	size_t lines = 1, o = 0;
	char *out;

	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	/* Each masked line grows to at most the mask plus its CRLF. */
	if (lines > (SIZE_MAX - size - 1) / (sizeof(VERBOSE_MASKED) + 2))
		return NULL;
	out = malloc(size + lines * (sizeof(VERBOSE_MASKED) + 2) + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < size;) {
		const char *nl = memchr(data + i, '\n', size - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : size;
		size_t len = end - i;

		if (is_authorization(data + i, len)) {
			memcpy(out + o, VERBOSE_MASKED, sizeof(VERBOSE_MASKED) - 1);
			o += sizeof(VERBOSE_MASKED) - 1;
			if (nl != NULL && len >= 2 && data[end - 2] == '\r')
				out[o++] = '\r';
			if (nl != NULL)
				out[o++] = '\n';
		} else {
			memcpy(out + o, data + i, len);
			o += len;
		}
		i = end;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * fuzz_retry_after.c - http_parse_retry_after (seconds and milliseconds) and
 * util_parse_int64 on arbitrary bytes: results stay within their bounds.
 */
#include <stddef.h>
#include <stdint.h>

#include "http.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int64_t v = 0;

	for (int ms = 0; ms <= 1; ms++) {
		long d = http_parse_retry_after(s, size, ms != 0);
		if (d != -1 && (d < 0 || d > 86400000L))
			__builtin_trap();
	}
	if (util_parse_int64(s, size, -1000, 1000, &v) && (v < -1000 || v > 1000))
		__builtin_trap();
	if (util_parse_int64(s, size, INT64_MIN, INT64_MAX, &v) && size == 0)
		__builtin_trap();
	return 0;
}

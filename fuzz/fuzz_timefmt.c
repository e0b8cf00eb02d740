/*
 * fuzz_timefmt.c - timefmt_parse and timefmt_parse_local on arbitrary bytes: no crash, and any
 * accepted time is in range.
 */
#include <stddef.h>
#include <stdint.h>

#include "timefmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t epoch = 0;

	if (timefmt_parse((const char *)data, size, &epoch) == 0) {
		/* years 1970-9999, with offsets of up to a day either way */
		if (epoch < -86400 || epoch > 253402300799LL + 86400)
			__builtin_trap();
	}
	/* A naive local time: TZ is whatever the fuzzer runs with; offsets stay within a day. */
	if (timefmt_parse_local((const char *)data, size, &epoch) == 0) {
		if (epoch < -86400 || epoch > 253402300799LL + 86400)
			__builtin_trap();
	}
	return 0;
}

/*
 * fuzz_curl_challenge.c - the curl plug-in's WWW-Authenticate Bearer parser.
 *
 * Checks that every field comes back NUL-terminated within its size, that a
 * failed parse leaves everything empty, and that a parse of the same input
 * is deterministic.
 * Extra source: libcurl_auth/challenge.c (FUZZ_EXTRA_SRC_fuzz_curl_challenge in libcurl_auth/build.mk).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "challenge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_OK(c, f) (memchr((c)->f, '\0', sizeof((c)->f)) != NULL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct challenge a, b;
	bool ra = challenge_parse((const char *)data, size, &a);
	bool rb = challenge_parse((const char *)data, size, &b);

	if (ra != rb || memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (!FIELD_OK(&a, authorization_uri) || !FIELD_OK(&a, resource_id) || !FIELD_OK(&a, realm) ||
	    !FIELD_OK(&a, service) || !FIELD_OK(&a, scope) || !FIELD_OK(&a, error))
		abort();
	if (!ra) {
		static const struct challenge empty;
		if (memcmp(&a, &empty, sizeof(a)) != 0)
			abort();
	}
	return 0;
}

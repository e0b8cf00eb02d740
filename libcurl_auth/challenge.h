/*
 * challenge.h - the Bearer challenge of a WWW-Authenticate header.
 *
 * Accepts both the RFC 7235 form (`Bearer realm="x", scope="y"`) and the
 * Azure Storage form (`Bearer authorization_uri=https://... resource_id=https://...`,
 * parameters separated by spaces).  Several challenges may share one header
 * value; the first Bearer challenge is returned.  Values longer than the
 * fields are an error, never truncated.
 */
#ifndef AZMI_CHALLENGE_H
#define AZMI_CHALLENGE_H

#include <stdbool.h>
#include <stddef.h>

#define CHALLENGE_MAX_HEADER 8192

struct challenge {
	char authorization_uri[512];
	char resource_id[512];
	char realm[512];   /* Container Registry: token endpoint */
	char service[256]; /* Container Registry: registry name */
	char scope[512];   /* Container Registry: repository:<name>:pull */
	char error[64];
};

/*
 * Parse `value` (len bytes, not NUL-terminated).  True when a Bearer
 * challenge was found and every parameter kept fits; `out` is then filled
 * (absent parameters are ""), otherwise `out` is all empty.
 */
bool challenge_parse(const char *value, size_t len, struct challenge *out);

#endif

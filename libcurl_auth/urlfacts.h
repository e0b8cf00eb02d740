/*
 * urlfacts.h - what a URL says, parsed with the real libcurl's own URL
 * parser: its rule, whether it is https, carries user info or a SAS
 * signature, and its origin (scheme, host, port) for comparisons.
 */
#ifndef AZMI_URLFACTS_H
#define AZMI_URLFACTS_H

#include <stdbool.h>

#include "hostrule.h"

/* "https://" + host + ":" + port + NUL */
#define URLFACTS_MAX_ORIGIN (HOSTRULE_MAX_HOST + 16)

struct url_facts {
	const struct hostrule *rule;
	char host[HOSTRULE_MAX_HOST + 2];
	char origin[URLFACTS_MAX_ORIGIN]; /* lower case, no trailing dot, explicit port */
	bool https;
	bool user;
	bool sas;
	bool v2;           /* the path is /v2 or starts /v2/ (a registry API call) */
	bool default_port; /* no port, or 443 */
};

/*
 * Parse `url` as libcurl will (no scheme guessing toward https: a URL
 * without "scheme://" is never https here) and find its rule.  False when it
 * does not parse; `f` is then empty.
 */
bool url_inspect(const char *url, struct url_facts *f);

#endif

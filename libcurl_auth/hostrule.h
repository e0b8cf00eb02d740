/*
 * hostrule.h - which token, if any, a request to a given host may carry.
 *
 * A rule maps a host pattern to a scope.  Patterns are matched label by
 * label: "*" inside a label matches one or more characters of that label and
 * never a dot, so "*.vault.azure.net" matches "kv1.vault.azure.net" but not
 * "vault.azure.net", "a.b.vault.azure.net" or "kv1.vault.azure.net.evil.org".
 * Host names are compared case-insensitively; one trailing dot is ignored.
 */
#ifndef AZMI_HOSTRULE_H
#define AZMI_HOSTRULE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define HOSTRULE_MAX_HOST  253
#define HOSTRULE_MAX_SCOPE 512

/* What a matched host gets. */
enum hostrule_kind {
	HOSTRULE_PLAIN = 0, /* a bearer token for `scope` */
	HOSTRULE_STORAGE,   /* Storage: bearer + x-ms-version */
	HOSTRULE_FILES,     /* Storage Files: also x-ms-file-request-intent */
	HOSTRULE_NONE,      /* an administrator's "nothing for this host" */
	HOSTRULE_ACR, /* Container Registry: nothing up front; its 401 challenge is answered (acr_retry.c) */
};

struct hostrule {
	const char *pattern; /* lower case, e.g. "*.blob.core.windows.net" */
	const char *scope;   /* e.g. "https://storage.azure.com/.default"; NULL for NONE and ACR */
	enum hostrule_kind kind;
};

/* True when `host` (len bytes, any case) matches `pattern` on label boundaries. */
bool hostrule_pattern_match(const char *pattern, const char *host, size_t len);

/*
 * The rule for `host`: the administrator's rules first (`extra`, in order),
 * then the built-in rules of `cloud` only (azmi.conf's `cloud`).  NULL when
 * nothing matches or the host is not a plain DNS name (IP literals, empty
 * labels, characters outside [a-z0-9-_]).
 */
const struct hostrule *hostrule_find(const char *host, size_t len, const struct hostrule *extra,
                                     size_t nextra, enum azmi_cloud cloud);

/*
 * Check an administrator's pattern: lower case labels of [a-z0-9-_*], at
 * least two labels, and the last two labels free of '*' (no "*.com").
 */
bool hostrule_pattern_valid(const char *pattern);

/*
 * Check a scope from the configuration or the built-in table: an https:// URL of printable characters,
 * no spaces, or an application id followed by "/.default" (Azure DevOps' resource is named so).
 */
bool hostrule_scope_valid(const char *scope);

/* The kind a configured scope implies (Storage when its resource is storage.azure.com). */
enum hostrule_kind hostrule_kind_for_scope(const char *scope);

/*
 * True when `resource` (a challenge's resource_id, or a resource URI) names
 * the same resource as `scope`: equal after dropping "/.default" and one
 * trailing slash, compared case-insensitively.
 */
bool hostrule_same_resource(const char *resource, size_t len, const char *scope);

#endif

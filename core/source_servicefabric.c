/*
 * source_servicefabric.c - Service Fabric applications: https to a node-local
 * endpoint whose self-signed certificate is pinned by its SHA-1 thumbprint
 * (IDENTITY_SERVER_THUMBPRINT) instead of turning verification off.
 */
#include "source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "retry.h"

/* 40 hex digits, lower-cased into a new string; NULL when malformed. */
static char *thumbprint_normalise(const char *t)
{
	char *out;

	if (strlen(t) != 40)
		return NULL;
	if ((out = strdup(t)) == NULL)
		return NULL;
	for (char *p = out; *p; p++) {
		if (!isxdigit((unsigned char)*p)) {
			free(out);
			return NULL;
		}
		*p = (char)tolower((unsigned char)*p);
	}
	return out;
}

static azmi_err servicefabric_build(const struct settings *s, const struct identity *id, const char *resource,
                                    struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {NULL, NULL, NULL};

	if (id->kind != AZMI_ID_SYSTEM)
		return err_set(
		    err, AZMI_ERR_USAGE, "servicefabric", 0,
		    "servicefabric: the identity is chosen in the application manifest; user-assigned "
		    "identities cannot be named per request");
	if (strncmp(s->identity_endpoint, "https://", 8) != 0)
		return err_set(err, AZMI_ERR_CONFIG, "servicefabric", 0,
		               "servicefabric: IDENTITY_ENDPOINT must be https (the certificate is pinned)");
	if ((out->pin_sha1_hex = thumbprint_normalise(s->identity_server_thumbprint)) == NULL)
		return err_set(err, AZMI_ERR_CONFIG, "servicefabric", 0,
		               "servicefabric: IDENTITY_SERVER_THUMBPRINT must be 40 hex digits (a SHA-1)");
	out->kind = EP_SERVICE_FABRIC;
	return source_build_get(out, "servicefabric", s->identity_endpoint, "2019-07-01-preview", resource,
	                        id, names, "Secret", s->identity_header, err);
}

const struct source source_servicefabric = {
    .name = "servicefabric",
    .title = "Service Fabric managed identity (IDENTITY_ENDPOINT, certificate pinned)",
    .build = servicefabric_build,
};

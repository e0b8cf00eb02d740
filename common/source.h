/*
 * source.h - credential sources.  Each managed-identity source knows how to
 * phrase a token request for its endpoint; fetch.c sends it, retries as the
 * platform asks and parses the answer.
 */
#ifndef AZMI_SOURCE_H
#define AZMI_SOURCE_H

#include <stdbool.h>

#include "azmi.h"
#include "config.h"
#include "http.h"

/* The identity a request is for, after AZMI_ID_DEFAULT was resolved. */
struct identity {
	enum azmi_id_kind kind; /* SYSTEM, CLIENT_ID, OBJECT_ID or RESOURCE_ID */
	const char *value;      /* NULL for SYSTEM */
};

/* A request a source built; owns its strings.  Secrets in headers are wiped on free. */
struct src_request {
	char *url;
	char *display_url; /* the URL without its query, for messages */
	char *headers[HTTP_MAX_REQUEST_HEADERS];
	size_t nheaders;
	char *body;
	const char *method;
};

void src_request_free(struct src_request *r);
/* Add a header "Name: value" (copied). */
azmi_err src_request_header(struct src_request *r, const char *name, const char *value);
/* Build `base` + "?" or "&" + query into r->url and r->display_url. */
azmi_err src_request_url(struct src_request *r, const char *base, const char *query);

#define SRC_NO_RETRY_404 0x1u /* Service Fabric: 404 is final */

struct source {
	const char *name;       /* short name: "imds", "appservice", ... */
	const char *title;      /* for people: "Azure IMDS", ... */
	unsigned int flags;
	/* Build the request for `resource` (without /.default) and identity `id`. */
	azmi_err (*build)(const struct settings *s, const struct identity *id, const char *resource,
			  struct src_request *out, struct azmi_error *err);
};

extern const struct source source_imds;
extern const struct source source_appservice;

/* The managed-identity source the environment points at (IMDS when nothing else is configured). */
const struct source *source_detect(const struct settings *s);

/* Query parameter naming a user-assigned identity: "&client_id=<escaped>" etc.; names per source. */
azmi_err source_identity_param(const struct identity *id, const char *const names[3], char **out);

#endif

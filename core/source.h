/*
 * source.h - credential sources.  Each managed-identity source knows how to
 * phrase a token request for its endpoint; fetch.c sends it through the
 * exchange (retried as the endpoint's kind allows) and parses the answer.
 */
#ifndef AZMI_SOURCE_H
#define AZMI_SOURCE_H

#include <stdbool.h>

#include "azmi.h"
#include "error.h"
#include "config.h"
#include "http.h"
#include "retry.h"

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
	char *pin_sha1_hex;      /* Service Fabric: pinned server certificate */
	bool use_proxy;          /* remote endpoints (Entra) may go through the environment's proxy */
	enum endpoint_kind kind; /* its retry policy; 0 is EP_MANAGED_IDENTITY */
};

void src_request_free(struct src_request *r);
/* Add a header "Name: value" (copied). */
AZMI_MUST_CHECK azmi_err src_request_header(struct src_request *r, const char *name, const char *value);
/* Build `base` + "?" or "&" + query into r->url and r->display_url. */
AZMI_MUST_CHECK azmi_err src_request_url(struct src_request *r, const char *base, const char *query);

struct json_object;

struct source {
	const char *name;  /* short name: "imds", "appservice", ... */
	const char *title; /* for people: "Azure IMDS", ... */
	/* Build the request for `resource` (without /.default) and identity `id`. */
	azmi_err (*build)(const struct settings *s, const struct identity *id, const char *resource,
	                  struct src_request *out, struct azmi_error *err);
	/* Optional: answer a 401 challenge by adding credentials to `req` (Azure Arc). */
	azmi_err (*challenge)(const struct http_response *resp, struct src_request *req,
	                      struct azmi_error *err);
	/* Optional: check a 200 answer beyond its token (Azure Arc echoes the identity asked for). */
	azmi_err (*verify)(const struct identity *id, struct json_object *answer, struct azmi_error *err);
	/* Optional: a hint line for an HTTP error status (the default speaks of IMDS-like endpoints). */
	void (*hint)(long status, struct azmi_error *err);
};

extern const struct source source_imds;
extern const struct source source_appservice;
extern const struct source source_azureml;
extern const struct source source_cloudshell;
extern const struct source source_arc;
extern const struct source source_servicefabric;
extern const struct source source_entra_secret; /* environment: AZURE_CLIENT_SECRET */
extern const struct source source_entra_cert;   /* environment: AZURE_CLIENT_CERTIFICATE_PATH */
extern const struct source source_entra_wi;     /* workload identity: AZURE_FEDERATED_TOKEN_FILE */

/*
 * The managed-identity source the environment points at, first match wins:
 * Service Fabric, App Service 2019, Azure ML (and App Service 2017), Cloud
 * Shell, Azure Arc, then IMDS.  `why` (may be NULL) gets the reason.
 */
const struct source *source_detect(const struct settings *s, const char **why);

/* The Azure Arc agent's binary, whose presence marks an Arc-enabled server. */
#define ARC_HIMDS_PATH       "/opt/azcmagent/bin/himds"
#define ARC_DEFAULT_ENDPOINT "http://127.0.0.1:40342/metadata/identity/oauth2/token"

/*
 * The usual managed-identity request: GET base?api-version=V&resource=R, plus
 * the identity parameter named by `names` (client id, object id, resource id;
 * NULL entries: that kind is not accepted) and one header (NULL: none).
 * Errors name `source`.
 */
AZMI_MUST_CHECK azmi_err source_build_get(struct src_request *out, const char *source, const char *base,
                                          const char *api_version, const char *resource,
                                          const struct identity *id, const char *const names[3],
                                          const char *header, const char *header_value,
                                          struct azmi_error *err);

#endif

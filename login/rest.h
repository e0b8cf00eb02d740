/*
 * rest.h - authenticated requests to Azure Resource Manager and Microsoft
 * Graph with the context's own identity: a bearer token from the core for
 * the service's audience, bounded bodies and time, 408/429/5xx retried
 * (Retry-After honoured) within a deadline, one fresh token after a 401.
 */
#ifndef AZMI_REST_H
#define AZMI_REST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"
#include "http.h"

struct azmi_ctx;

struct rest_service {
	const char *name;     /* "arm" or "graph": the errors' source */
	const char *base;     /* https base URL, no trailing slash */
	const char *audience; /* resource the token is asked for */
};

/* Resource Manager for the context; the VM's azEnvironment picks the cloud unless `cloud` was configured. */
void rest_arm_service(const struct azmi_ctx *ctx, const char *az_environment, struct rest_service *out);

/* Microsoft Graph for the context. */
void rest_graph_service(const struct azmi_ctx *ctx, struct rest_service *out);

/* True when `url` is on the service's origin: its base URL followed by '/'. */
bool rest_same_origin(const struct rest_service *svc, const char *url);

struct rest_call {
	const struct rest_service *svc;
	const char *method; /* "GET" or "POST" */
	const char *url;
	const char *body;    /* JSON, or NULL */
	int64_t deadline_ms; /* monotonic */
	size_t body_cap;
};

/*
 * Perform the call.  AZMI_OK when a 2xx answer is in `resp`.  Otherwise an
 * error naming the request, the status and the service's error code and
 * message (REFUSED for 4xx, ENDPOINT for 5xx and 429 once retries are spent,
 * a transport error, or the token's failure); `resp` then holds the last
 * answer (status 0 when none came).  `resp` is initialised here; the caller
 * frees it with http_response_free in every case.
 */
AZMI_MUST_CHECK azmi_err rest_perform(struct azmi_ctx *ctx, const struct rest_call *c,
                                      struct http_response *resp, struct azmi_error *err);

#endif

/*
 * retry.h - when to try an endpoint again, by its kind: one table of
 * policies.  Jittered exponential backoff (1, 2, 4, 8 s), Retry-After
 * honoured, and for IMDS-like endpoints 404 and 410 (upgrading) retried,
 * 410 for at least 70 s.
 */
#ifndef AZMI_RETRY_H
#define AZMI_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define RETRY_MAX_RETRIES   4 /* plain backoff: 1, 2, 4, 8 s */
#define RETRY_BASE_MS       1000
#define RETRY_CAP_MS        8000
#define RETRY_410_WINDOW_MS 70000 /* IMDS is back within 70 s of a 410 */

/* The kinds of endpoint azmi asks; each has one row in the policy table. */
enum endpoint_kind {
	EP_MANAGED_IDENTITY = 0, /* IMDS, App Service, Azure ML, Cloud Shell, Arc token endpoints */
	EP_SERVICE_FABRIC,       /* as managed identity, but 404 is final */
	EP_ENTRA,                /* Entra's token endpoint: only 408, 429 and 5xx */
	EP_ARM,                  /* Resource Manager */
	EP_GRAPH,                /* Microsoft Graph */
	EP_INSTANCE_METADATA,    /* IMDS / Arc instance metadata */
	EP_KEY_SET,              /* an Entra tenant's signing keys: one attempt */
	EP_REGISTRY,             /* a container registry's token endpoints */
	EP_KINDS
};

struct retry_policy {
	const char *name;        /* the kind, for messages and tests */
	bool retry_404;          /* 404 means "not ready yet" (IMDS while the identity is set up) */
	bool retry_410;          /* 410 means "upgrading": retried for RETRY_410_WINDOW_MS */
	int max_retries;         /* plain retries after the first attempt */
	bool any_2xx;            /* every 2xx is an answer (REST); otherwise only 200 */
	long connect_timeout_ms; /* connection set-up, unless the caller says otherwise */
};

/* The row of `kind` (an unknown kind gets the strictest: no retries). */
const struct retry_policy *retry_policy(enum endpoint_kind kind);

struct retry_state {
	int retries;
	int64_t first_410_ms; /* monotonic time of the first 410, 0 if none */
};

/* True when `status` may succeed if asked again, for an endpoint of `kind`. */
bool retry_status_retryable(long status, enum endpoint_kind kind);

/*
 * The delay before the next attempt after `status` (0 for a transport
 * failure worth retrying) at monotonic time `now_ms`, or -1 when there
 * is to be no further attempt.  `retry_after_ms` is the server's wish or -1.
 */
long retry_next_delay(struct retry_state *st, long status, long retry_after_ms, enum endpoint_kind kind,
                      int64_t now_ms);

#endif

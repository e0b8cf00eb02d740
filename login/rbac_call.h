/*
 * rbac_call.h - one login decision's Resource Manager calls, shared by the
 * per-principal reads (rbac.c) and the scope's shared view (scope_read.c).
 */
#ifndef AZMI_RBAC_CALL_H
#define AZMI_RBAC_CALL_H

#include <stdint.h>

#include "error.h"
#include "rbac.h"
#include "rbac_parse.h"
#include "rest.h"

/* What one decision carries from call to call. */
struct rbac_call {
	struct azmi_ctx *ctx;
	struct rest_service arm;
	const struct vm_info *vm;
	const char *scope; /* where assignments are read: the machine's id, or a Uniform set's */
	char oid[RBAC_GUID_LEN + 1];
	int64_t deadline;
	struct rbac_decision *out;
	struct azmi_error *err;
};

/*
 * Every page of `kind` ("roleAssignments" or "denyAssignments") at d->scope
 * with $filter=`filter`, appended to `l` (nextLink followed on the same origin,
 * the caps of rbac_parse.h).
 */
AZMI_MUST_CHECK azmi_err rbac_call_list(struct rbac_call *d, const char *kind, const char *filter,
                                        struct rbac_list *l);

/* The definition of assignment `a` (the context's cache, else Resource Manager; *fetches counts these). */
AZMI_MUST_CHECK azmi_err rbac_call_role(struct rbac_call *d, const struct rbac_assignment *a,
                                        struct rbac_role *out, int *fetches);

/*
 * The decision from the scope's shared view (scope_read.c): every assignment
 * and deny assignment at or above the scope and their role definitions, read
 * once per scope_cache_ttl for every principal, with the principal's groups
 * from Graph.  AZMI_OK with d->out filled, another error to fail with, or
 * AZMI_ERR_CACHE when there is no shared view here (off, no cache directory,
 * a scope too large, Graph unable to answer): the caller then reads the
 * principal's own assignments.
 */
AZMI_MUST_CHECK azmi_err scope_decide(struct rbac_call *d);

#endif

/*
 * rbac.c - asking Resource Manager whether a principal may log in here:
 * role assignments at or above the machine's scope (following nextLink),
 * their role definitions (cached in the context), then, when something
 * grants, deny assignments, with Graph for the groups they name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "error.h"
#include "machine_kind.h"
#include "rbac.h"
#include "rbac_call.h"
#include "rbac_match.h"
#include "rbac_parse.h"
#include "rest.h"
#include "role_cache.h"
#include "util.h"

#define API                   "api-version=2022-04-01"
#define AUTHZ                 "/providers/Microsoft.Authorization/"
#define RBAC_MAX_PAGES        50 /* pages of one list */
#define RBAC_MAX_ROLE_FETCHES 64 /* role definitions asked for in one decision */
#define LIST_MAX_BODY         HTTP_MAX_BODY
#define ROLE_MAX_BODY         (256 * 1024)

static void reader_hint(const struct rbac_call *d, long status)
{
	if (status == 401 || status == 403)
		err_append(d->err,
		           "hint: the machine's managed identity needs Reader (roleAssignments/read, "
		           "roleDefinitions/read, denyAssignments/read) on its own scope %s",
		           d->vm->resource_id);
}

/* One GET to Resource Manager; on success the body is in resp. */
static azmi_err arm_get(struct rbac_call *d, const char *url, size_t cap, struct http_response *resp)
{
	struct rest_call c = {&d->arm, "GET", url, NULL, d->deadline, cap};
	azmi_err rc = rest_perform(d->ctx, &c, resp, d->err);

	d->out->arm_requests++;
	if (resp->ratelimit_reads >= 0) /* ARM's read bucket for this identity: what is left of it */
		log_line(&d->ctx->log, AZMI_LOG_DEBUG,
		         "arm: HTTP %ld, x-ms-ratelimit-remaining-subscription-reads %ld", resp->status,
		         resp->ratelimit_reads);
	if (resp->request_id[0])
		snprintf(d->out->correlation_id, sizeof(d->out->correlation_id), "%s", resp->request_id);
	if (rc != AZMI_OK)
		reader_hint(d, resp->status);
	return rc;
}

typedef azmi_err page_parser(const char *body, size_t len, struct rbac_list *l, char *next, size_t nextlen,
                             char *why, size_t whylen);

/* Every page of a list, from `first` through nextLink on the same host, into `l`. */
static azmi_err list_all(struct rbac_call *d, const char *what, const char *first, page_parser *parse,
                         struct rbac_list *l)
{
	char *url = strdup(first), next[RBAC_MAX_NEXTLINK + 1], why[256];
	struct http_response resp;
	azmi_err rc = AZMI_ERR_NOMEM;

	if (url == NULL)
		return err_set(d->err, rc, "arm", 0, "out of memory");
	for (int page = 1;; page++) {
		if (page > RBAC_MAX_PAGES) {
			rc = err_set(d->err, AZMI_ERR_PROTOCOL, "arm", 200,
			             "arm: the %s list has more than %d pages", what, RBAC_MAX_PAGES);
			break;
		}
		rc = arm_get(d, url, LIST_MAX_BODY, &resp);
		if (rc == AZMI_OK) {
			rc = parse(resp.body.data ? resp.body.data : "", resp.body.len, l, next, sizeof(next),
			           why, sizeof(why));
			if (rc != AZMI_OK)
				err_set(d->err, rc, "arm", 200, "arm: %s page %d: HTTP 200 but %s", what,
				        page, why);
		}
		http_response_free(&resp);
		if (rc != AZMI_OK || next[0] == '\0')
			break;
		if (!rest_same_origin(&d->arm, next)) {
			rc = err_set(d->err, AZMI_ERR_PROTOCOL, "arm", 200,
			             "arm: %s page %d: its nextLink leaves %s; refusing to follow it", what,
			             page, d->arm.base);
			break;
		}
		free(url);
		if ((url = strdup(next)) == NULL) {
			rc = err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
			break;
		}
	}
	free(url);
	return rc;
}

static azmi_err list_url(struct rbac_call *d, const char *kind, const char *filter, char **url)
{
	if (asprintf(url, "%s%s" AUTHZ "%s?" API "&$filter=%s", d->arm.base, d->scope, kind, filter) < 0) {
		*url = NULL;
		return err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
	}
	return AZMI_OK;
}

azmi_err rbac_call_list(struct rbac_call *d, const char *kind, const char *filter, struct rbac_list *l)
{
	bool denies = strcmp(kind, "denyAssignments") == 0;
	char *url = NULL;
	azmi_err rc;

	if ((rc = list_url(d, kind, filter, &url)) != AZMI_OK)
		return rc;
	rc = list_all(d, denies ? "deny assignment" : "role assignment", url,
	              denies ? rbac_parse_denies : rbac_parse_assignments, l);
	free(url);
	return rc;
}

/* The context's role definitions (NULL, so nothing is kept, when out of memory). */
static struct role_cache *roles_of(struct azmi_ctx *ctx)
{
	return ctx_slot(ctx, CTX_SLOT_LOGIN, role_cache_new, role_cache_free);
}

/* The definition of assignment `a`: from an earlier row, the context's cache, or Resource Manager. */
static azmi_err role_lookup(struct rbac_call *d, const struct rbac_assignment *a, struct rbac_role *roles,
                            size_t i, int *fetches)
{
	struct http_response resp;
	char *url = NULL, why[256];
	azmi_err rc;

	for (size_t k = 0; k < i; k++) {
		if (strcasecmp(roles[k].guid, a->roledef_guid) == 0) {
			roles[i] = roles[k];
			return AZMI_OK;
		}
	}
	if (role_cache_get(roles_of(d->ctx), a->roledef_guid, util_now(), &roles[i]))
		return AZMI_OK;
	if (++*fetches > RBAC_MAX_ROLE_FETCHES)
		return err_set(d->err, AZMI_ERR_PROTOCOL, "arm", 0,
		               "arm: the principal's assignments name more than %d role definitions",
		               RBAC_MAX_ROLE_FETCHES);
	if (asprintf(&url, "%s%s?" API, d->arm.base, a->roledef_id) < 0)
		return err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
	rc = arm_get(d, url, ROLE_MAX_BODY, &resp);
	if (rc == AZMI_OK) {
		rc = rbac_parse_role(resp.body.data ? resp.body.data : "", resp.body.len, a->roledef_guid,
		                     &roles[i], why, sizeof(why));
		if (rc == AZMI_OK)
			role_cache_put(roles_of(d->ctx), &roles[i], util_now());
		else
			err_set(d->err, rc, "arm", 200, "arm: role definition %s: HTTP 200 but %s",
			        a->roledef_id, why);
	}
	http_response_free(&resp);
	free(url);
	return rc;
}

azmi_err rbac_call_role(struct rbac_call *d, const struct rbac_assignment *a, struct rbac_role *out,
                        int *fetches)
{
	return role_lookup(d, a, out, 0, fetches);
}

/* Definitions of the unconditional assignments, in order, until one makes an admin. */
static azmi_err roles_lookup(struct rbac_call *d, const struct rbac_list *l, struct rbac_role *roles)
{
	unsigned int admin = d->vm->arc ? RBAC_ACT_ARC_ADMIN : RBAC_ACT_ADMIN;
	int fetches = 0;
	azmi_err rc;

	for (size_t i = 0; i < l->nassignments; i++) {
		const struct rbac_assignment *a = &l->assignments[i];
		if (a->conditional || !rbac_scope_covers(a->scope, d->scope))
			continue;
		if ((rc = role_lookup(d, a, roles, i, &fetches)) != AZMI_OK)
			return rc;
		if ((roles[i].grants & admin) &&
		    (strcasecmp(a->principal_id, d->oid) == 0 || strcasecmp(a->principal_type, "Group") == 0))
			break; /* nothing can do better; deny assignments come later */
	}
	return AZMI_OK;
}

/* Membership of the groups that deny assignments name, through Graph. */
static azmi_err deny_membership(struct rbac_call *d, const struct rbac_list *l, const char **groups,
                                bool *member, size_t *n)
{
	azmi_err rc;

	*n = rbac_deny_groups(l, d->scope, d->vm->arc, d->oid, groups, RBAC_MAX_GROUP_CHECK);
	if (*n == (size_t)-1)
		return err_set(
		    d->err, AZMI_ERR_PROTOCOL, "arm", 0,
		    "arm: deny assignments on this machine name more than %d groups; azmi cannot check them",
		    RBAC_MAX_GROUP_CHECK);
	if (*n == 0)
		return AZMI_OK;
	rc = graph_check_groups(d->ctx, d->oid, groups, *n, member, d->err);
	if (rc != AZMI_OK)
		err_append(
		    d->err,
		    "a deny assignment on this machine names %zu group%s whose membership could not be "
		    "checked, so no login is granted",
		    *n, *n == 1 ? "" : "s");
	return rc;
}

/*
 * The principal's assignments at d->scope.  A Uniform instance whose own
 * scope Resource Manager refuses (400/404: it may not list assignments
 * there) is decided at its scale set's scope instead, and the decision says so.
 */
static azmi_err list_assignments(struct rbac_call *d, struct rbac_list *list)
{
	char *url = NULL, filter[80];
	azmi_err rc;

	snprintf(filter, sizeof(filter), "atScope()+and+assignedTo('%s')", d->oid);
	for (;;) {
		if ((rc = list_url(d, "roleAssignments", filter, &url)) == AZMI_OK)
			rc = list_all(d, "role assignment", url, rbac_parse_assignments, list);
		free(url);
		url = NULL;
		if (!machine_scope_fallback(d->ctx, d->vm, d->scope, rc, d->err, d->out))
			return rc;
		rbac_list_free(list);
		d->scope = d->vm->set_scope;
	}
}

static azmi_err decide_run(struct rbac_call *d)
{
	struct rbac_list list = {0};
	struct rbac_role *roles = NULL;
	const char **groups = NULL;
	bool *member = NULL;
	size_t ngroups = 0;
	char *url = NULL;
	struct rbac_eval e = {NULL, d->vm->arc, d->oid, &list, NULL, NULL, NULL, 0};
	azmi_err rc;

	if ((rc = list_assignments(d, &list)) != AZMI_OK)
		goto out;
	e.vm_scope = d->scope;
	if ((roles = calloc(list.nassignments + 1, sizeof(*roles))) == NULL) {
		rc = err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
		goto out;
	}
	if ((rc = roles_lookup(d, &list, roles)) != AZMI_OK)
		goto out;
	e.roles = roles;
	rbac_evaluate(&e, d->out);
	if (d->out->level == RBAC_DENY)
		goto out; /* nothing grants: deny assignments cannot change that */
	free(url);
	/* atScope() alone: ARM documents no assignedTo() for deny assignments; principals are checked here. */
	if ((rc = list_url(d, "denyAssignments", "atScope()", &url)) != AZMI_OK ||
	    (rc = list_all(d, "deny assignment", url, rbac_parse_denies, &list)) != AZMI_OK)
		goto out;
	groups = calloc(RBAC_MAX_GROUP_CHECK, sizeof(*groups));
	member = calloc(RBAC_MAX_GROUP_CHECK, sizeof(*member));
	if (groups == NULL || member == NULL) {
		rc = err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
		goto out;
	}
	if ((rc = deny_membership(d, &list, groups, member, &ngroups)) != AZMI_OK)
		goto out;
	e.groups = groups;
	e.member = member;
	e.ngroups = ngroups;
	rbac_evaluate(&e, d->out);
out:
	free(url);
	free(roles);
	free(groups);
	free(member);
	rbac_list_free(&list);
	return rc;
}

azmi_err rbac_decide(struct azmi_ctx *ctx, const struct vm_info *vm, const char *oid,
                     struct rbac_decision *out, struct azmi_error *err)
{
	struct rbac_call d = {.ctx = ctx, .vm = vm, .err = err};
	struct rbac_decision result;
	struct azmi_error local;
	azmi_err rc;

	if (err == NULL)
		d.err = err = &local;
	err_clear(err);
	if (out == NULL)
		return err_set(err, AZMI_ERR_USAGE, "", 0, "rbac_decide: no place for the decision");
	memset(out, 0, sizeof(*out));
	out->level = RBAC_DENY;
	if (ctx == NULL || vm == NULL || oid == NULL)
		return err_set(err, AZMI_ERR_USAGE, "", 0, "rbac_decide: no context, machine or principal");
	if (!rbac_guid_valid(oid, strlen(oid)))
		return err_set(err, AZMI_ERR_USAGE, "", 0,
		               "rbac_decide: the principal must be an object id (a GUID), not \"%.64s\"",
		               oid);
	if (!vm_info_resource_id_valid(vm->resource_id, vm->arc))
		return err_set(err, AZMI_ERR_USAGE, "", 0,
		               "rbac_decide: the machine's resource id is not valid");
	for (size_t i = 0; i <= RBAC_GUID_LEN; i++)
		d.oid[i] = oid[i] >= 'A' && oid[i] <= 'Z' ? (char)(oid[i] - 'A' + 'a') : oid[i];
	memset(&result, 0, sizeof(result));
	d.out = &result;
	d.deadline = ctx_deadline(ctx);
	rest_arm_service(ctx, vm->az_environment, &d.arm);
	d.scope = vm->resource_id;
	rc = scope_decide(&d);
	if (rc == AZMI_ERR_CACHE) { /* no shared view of the scope here: the principal's own reads */
		err_clear(err);
		d.scope = vm->resource_id;
		rc = decide_run(&d);
	}
	snprintf(result.decided_scope, sizeof(result.decided_scope), "%s", d.scope);
	snprintf(out->correlation_id, sizeof(out->correlation_id), "%s", result.correlation_id);
	out->arm_requests = result.arm_requests;
	if (rc != AZMI_OK)
		return rc;
	*out = result;
	log_line(&ctx->log, AZMI_LOG_DEBUG, "rbac: %s on %s: %s (%s)", d.oid, vm->resource_id,
	         rbac_level_name(result.level), result.reason);
	return AZMI_OK;
}

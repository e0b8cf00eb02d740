/*
 * graph.c - the two Microsoft Graph questions a login asks: who is this
 * UPN (its object id), and is this principal in these groups (transitively).
 * App-only permissions of the machine's identity: User.Read.All for the
 * first, GroupMember.Read.All (or Directory.Read.All) for the second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "error.h"
#include "json.h"
#include "rbac.h"
#include "rbac_parse.h"
#include "rest.h"
#include "util.h"

#define GRAPH_MAX_BODY (64 * 1024)
#define GRAPH_BATCH    20 /* checkMemberGroups takes at most 20 ids */
#define MAX_UPN        256

static void lower_copy(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[len] = '\0';
}

/* Printable, no spaces, no path or query characters; bounded. */
static bool upn_valid(const char *upn)
{
	size_t len = strnlen(upn, MAX_UPN + 1);

	return len > 0 && len <= MAX_UPN && util_is_printable(upn, len) && strcspn(upn, " /\\?&") == len;
}

static void permission_hint(struct azmi_error *err, long status, const char *permission)
{
	if (status == 403)
		err_append(err,
		           "hint: the machine's managed identity needs the %s application permission on "
		           "Microsoft Graph (an administrator grants it as an app role assignment to the "
		           "identity's service principal; see the azmi documentation)",
		           permission);
	else if (status == 401)
		err_append(
		    err,
		    "hint: Microsoft Graph refused the machine's token: is graph_endpoint the right cloud?");
}

/* The "id" of a user answer, checked against what was asked (its UPN, or its id). */
static azmi_err user_answer(const char *body, size_t len, const char *upn, char oid[64], char *why,
                            size_t whylen)
{
	struct json_object *obj = json_parse_bounded(body, len);
	const char *id, *got;
	size_t idlen;
	azmi_err rc = AZMI_ERR_PROTOCOL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "the answer is not a JSON object");
		goto out;
	}
	if ((id = json_get_string(obj, "id", &idlen)) == NULL || !rbac_guid_valid(id, idlen)) {
		snprintf(why, whylen, "the answer has no object id (\"id\": a GUID)");
		goto out;
	}
	got = json_get_string(obj, "userPrincipalName", NULL);
	if (rbac_guid_valid(upn, strlen(upn)) ? strcasecmp(id, upn) != 0
	                                      : got == NULL || strcasecmp(got, upn) != 0) {
		snprintf(why, whylen, "the answer is for another user than the one asked for");
		goto out;
	}
	lower_copy(oid, id, idlen);
	rc = AZMI_OK;
out:
	json_object_put(obj);
	return rc;
}

azmi_err graph_user_oid(struct azmi_ctx *ctx, const char *upn, char oid[64], struct azmi_error *err)
{
	struct rest_service svc;
	struct http_response resp;
	char *esc = NULL, *url = NULL, why[200], found[64];
	azmi_err rc;

	err_clear(err);
	if (ctx == NULL || upn == NULL || oid == NULL)
		return err_set(err, AZMI_ERR_USAGE, "graph", 0, "graph_user_oid: missing argument");
	oid[0] = '\0';
	if (!upn_valid(upn))
		return err_set(err, AZMI_ERR_USAGE, "graph", 0,
		               "graph: \"%.64s\" is not a plausible user principal name", upn);
	rest_graph_service(ctx, &svc);
	if ((esc = http_escape(upn)) == NULL ||
	    asprintf(&url, "%s/v1.0/users/%s?$select=id,userPrincipalName", svc.base, esc) < 0) {
		free(esc);
		return err_set(err, AZMI_ERR_NOMEM, "graph", 0, "out of memory");
	}
	{
		struct rest_call c = {&svc, "GET", url, NULL, ctx_deadline(ctx), GRAPH_MAX_BODY};
		rc = rest_perform(ctx, &c, &resp, err);
	}
	if (rc == AZMI_OK) {
		rc = user_answer(resp.body.data ? resp.body.data : "", resp.body.len, upn, found, why,
		                 sizeof(why));
		if (rc == AZMI_OK)
			snprintf(oid, 64, "%s", found);
		else
			err_set(err, rc, "graph", 200, "graph: user %s: HTTP 200 but %s", upn, why);
	} else if (resp.status == 404) {
		err_set(err, AZMI_ERR_REFUSED, "graph", 404, "graph: no such user %s in the directory", upn);
		rc = AZMI_ERR_REFUSED;
	} else {
		permission_hint(err, resp.status, "User.Read.All");
	}
	http_response_free(&resp);
	free(esc);
	free(url);
	return rc;
}

/* Mark member[i] for each id of the answer's "value" that is among ids[0..n-1]. */
static azmi_err groups_answer(const char *body, size_t len, const char *const *ids, size_t n, bool *member)
{
	struct json_object *obj = json_parse_bounded(body, len), *value = NULL;
	azmi_err rc = AZMI_ERR_PROTOCOL;
	size_t count;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "value", &value) || value == NULL ||
	    !json_object_is_type(value, json_type_array) || (count = json_object_array_length(value)) > n)
		goto out;
	for (size_t i = 0; i < count; i++) {
		struct json_object *v = json_object_array_get_idx(value, i);
		if (v == NULL || !json_object_is_type(v, json_type_string))
			goto out;
		for (size_t k = 0; k < n; k++)
			if (strcasecmp(json_object_get_string(v), ids[k]) == 0)
				member[k] = true;
	}
	rc = AZMI_OK;
out:
	json_object_put(obj);
	return rc;
}

static azmi_err check_batch(struct azmi_ctx *ctx, const struct rest_service *svc, const char *url,
                            const char *const *ids, size_t n, bool *member, int64_t deadline,
                            struct azmi_error *err)
{
	char body[GRAPH_BATCH * (RBAC_GUID_LEN + 3) + 32];
	size_t len;
	struct http_response resp;
	azmi_err rc;

	len = (size_t)snprintf(body, sizeof(body), "{\"groupIds\":[");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%s\"%s\"", i ? "," : "", ids[i]);
	snprintf(body + len, sizeof(body) - len, "]}");
	{
		struct rest_call c = {svc, "POST", url, body, deadline, GRAPH_MAX_BODY};
		rc = rest_perform(ctx, &c, &resp, err);
	}
	if (rc == AZMI_OK) {
		rc = groups_answer(resp.body.data ? resp.body.data : "", resp.body.len, ids, n, member);
		if (rc != AZMI_OK)
			err_set(err, rc, "graph", 200,
			        "graph: checkMemberGroups: HTTP 200 but the answer is not {\"value\": [group "
			        "ids asked "
			        "about]}");
	} else if (resp.status == 404) {
		err_append(err, "hint: Graph does not know this principal");
	} else {
		permission_hint(err, resp.status, "GroupMember.Read.All");
	}
	http_response_free(&resp);
	return rc;
}

azmi_err graph_check_groups(struct azmi_ctx *ctx, const char *oid, const char *const *group_ids, size_t n,
                            bool *member, struct azmi_error *err)
{
	struct rest_service svc;
	char *url = NULL, id[RBAC_GUID_LEN + 1];
	int64_t deadline;
	azmi_err rc = AZMI_OK;

	err_clear(err);
	if (ctx == NULL || oid == NULL || (n > 0 && (group_ids == NULL || member == NULL)))
		return err_set(err, AZMI_ERR_USAGE, "graph", 0, "graph_check_groups: missing argument");
	if (n > RBAC_MAX_GROUP_CHECK)
		return err_set(err, AZMI_ERR_USAGE, "graph", 0,
		               "graph: at most %d groups can be checked at once", RBAC_MAX_GROUP_CHECK);
	if (!rbac_guid_valid(oid, strlen(oid)))
		return err_set(err, AZMI_ERR_USAGE, "graph", 0, "graph: \"%.64s\" is not an object id", oid);
	for (size_t i = 0; i < n; i++) {
		if (group_ids[i] == NULL || !rbac_guid_valid(group_ids[i], strlen(group_ids[i])))
			return err_set(err, AZMI_ERR_USAGE, "graph", 0,
			               "graph: group %zu is not an object id", i);
		member[i] = false;
	}
	if (n == 0)
		return AZMI_OK;
	lower_copy(id, oid, RBAC_GUID_LEN);
	rest_graph_service(ctx, &svc);
	if (asprintf(&url, "%s/v1.0/directoryObjects/%s/checkMemberGroups", svc.base, id) < 0)
		return err_set(err, AZMI_ERR_NOMEM, "graph", 0, "out of memory");
	deadline = ctx_deadline(ctx);
	for (size_t at = 0; at < n && rc == AZMI_OK; at += GRAPH_BATCH)
		rc = check_batch(ctx, &svc, url, group_ids + at, n - at < GRAPH_BATCH ? n - at : GRAPH_BATCH,
		                 member + at, deadline, err);
	free(url);
	if (rc != AZMI_OK)
		for (size_t i = 0; i < n; i++)
			member[i] = false;
	return rc;
}

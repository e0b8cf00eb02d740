/* auth.c - an Entra access token for a login: offline validation, the user's identity, roles and groups. */
#include "auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "frontend.h"
#include "jwks_store.h"
#include "jwt_verify.h"
#include "principal.h"
#include "util.h"

static void outcome(struct auth_result *r, enum auth_outcome o, const char *check, const char *fmt, ...)
    AZMI_PRINTF(4, 5);
static void outcome(struct auth_result *r, enum auth_outcome o, const char *check, const char *fmt, ...)
{
	va_list ap;

	r->outcome = o;
	snprintf(r->check, sizeof(r->check), "%s", check);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
}

bool auth_enabled(const struct login_conf *c)
{
	return c->tenant[0] != '\0' && c->naudiences > 0;
}

const char *auth_outcome_name(enum auth_outcome o)
{
	static const char *const names[] = {"not-managed", "ok",           "denied",
	                                    "unavailable", "config-error", "internal-error"};
	return (size_t)o < sizeof(names) / sizeof(names[0]) ? names[o] : "unknown";
}

/* The check name of a validation failure, for the log line. */
static const char *check_name(enum jwt_status s)
{
	switch (s) {
	case JWT_BAD_ALG:
		return "alg";
	case JWT_UNKNOWN_KID:
		return "kid";
	case JWT_BAD_SIGNATURE:
		return "signature";
	case JWT_BAD_ISSUER:
		return "issuer";
	case JWT_BAD_TENANT:
		return "tenant";
	case JWT_BAD_AUDIENCE:
		return "audience";
	case JWT_EXPIRED:
		return "expiry";
	case JWT_NOT_YET_VALID:
		return "not-before";
	case JWT_BAD_CLAIMS:
		return "claims";
	default:
		return "format";
	}
}

/* Keys for the token's version, refreshed once when its kid is unknown; then the validation. */
static bool validate(struct azmi_ctx *ctx, const struct login_conf *c, const char *token, size_t len,
                     const struct auth_opts *o, struct jwt_claims *cl, struct auth_result *r)
{
	const struct settings *s = ctx_settings(ctx);
	const char *auds[LOGIN_MAX_AUDIENCES];
	const char *authority = c->authority[0] ? c->authority : s->authority_host;
	struct jwks_source src = {.authority = authority,
	                          .tenant = c->tenant,
	                          .cache_dir = o->cache_dir,
	                          .ca_file = s->ca_file,
	                          .proxy = settings_proxy(s),
	                          .timeout_ms = 1,
	                          .now = o->now};
	struct jwt_policy p = {.tenant = c->tenant,
	                       .authority = authority,
	                       .audiences = auds,
	                       .naudiences = c->naudiences,
	                       .now = o->now,
	                       .skew = -1};
	int ver = jwt_peek_version(token, len);
	struct jwks *keys = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	enum jwt_status st = JWT_UNKNOWN_KID;
	char why[256] = "";

	for (size_t i = 0; i < c->naudiences; i++)
		auds[i] = c->audiences[i];
	for (int round = 0; round < 2 && st == JWT_UNKNOWN_KID; round++) {
		bool stale = false;
		int64_t left = ctx_deadline(ctx) - util_mono_ms();
		jwks_free(keys);
		keys = NULL;
		src.timeout_ms = left > 1 ? (long)left : 1L; /* what is left of the auth phase's budget */
		if (jwks_load(&src, ver, round > 0, &keys, &stale, &err) != AZMI_OK) {
			outcome(r,
			        err.code == AZMI_ERR_CONFIG  ? AUTH_CONFIG
			        : err.code == AZMI_ERR_NOMEM ? AUTH_INTERNAL
			                                     : AUTH_UNAVAILABLE,
			        "keys", "the tenant's signing keys cannot be had: %s", err.message);
			return false;
		}
		r->keys_stale = r->keys_stale || stale;
		st = jwt_verify(token, len, keys, &p, cl, why, sizeof(why));
		if (st != JWT_UNKNOWN_KID)
			break;
	}
	jwks_free(keys);
	if (st != JWT_VALID) {
		outcome(r, AUTH_DENIED, check_name(st), "token refused (%s): %s", jwt_status_name(st), why);
		return false;
	}
	return true;
}

/*
 * The token's user is the login name's principal: its object id, or its
 * UPN (any case) from the `upn` claim only; preferred_username is mutable.
 */
static bool same_user(const struct principal *p, const struct jwt_claims *cl)
{
	if (p->is_oid)
		return strcasecmp(p->id, cl->oid) == 0;
	return cl->upn[0] != '\0' && strcasecmp(p->id, cl->upn) == 0;
}

static bool has_role(const struct jwt_claims *cl, const char *role)
{
	for (size_t i = 0; i < cl->nroles; i++)
		if (strcmp(cl->roles[i], role) == 0)
			return true;
	return false;
}

/* required_groups: in the token's groups, or (overage) through Graph checkMemberGroups. */
static bool groups_ok(struct azmi_ctx *ctx, const struct login_conf *c, const struct jwt_claims *cl,
                      struct auth_result *r)
{
	const char *ids[LOGIN_MAX_GROUPS];
	bool member[LOGIN_MAX_GROUPS] = {false};
	struct azmi_error err = AZMI_ERROR_INIT;
	azmi_err e;

	if (c->nrequired_groups == 0)
		return true;
	if (!cl->groups_overage) {
		for (size_t i = 0; i < c->nrequired_groups; i++) {
			bool found = false;
			for (size_t j = 0; j < cl->ngroups && !found; j++)
				found = strcasecmp(cl->groups[j], c->required_groups[i]) == 0;
			if (!found) {
				outcome(r, AUTH_DENIED, "groups", "not a member of required group %s",
				        c->required_groups[i]);
				return false;
			}
		}
		return true;
	}
	for (size_t i = 0; i < c->nrequired_groups; i++)
		ids[i] = c->required_groups[i];
	if ((e = graph_check_groups(ctx, cl->oid, ids, c->nrequired_groups, member, &err)) != AZMI_OK) {
		if (e == AZMI_ERR_REFUSED)
			outcome(r, AUTH_DENIED, "groups",
			        "groups overage and Graph refused checkMemberGroups (permission?): %s",
			        err.message);
		else
			outcome(r, AUTH_UNAVAILABLE, "groups", "groups overage and Graph cannot be asked: %s",
			        err.message);
		return false;
	}
	for (size_t i = 0; i < c->nrequired_groups; i++)
		if (!member[i]) {
			outcome(r, AUTH_DENIED, "groups",
			        "not a member of required group %s (Graph, groups overage)",
			        c->required_groups[i]);
			return false;
		}
	return true;
}

/* require=token/both: every required role and group; admin_roles give the admin level. */
static bool policy_ok(struct azmi_ctx *ctx, const struct login_conf *c, const struct jwt_claims *cl,
                      struct auth_result *r)
{
	r->level = RBAC_USER;
	if (c->require == LOGIN_REQUIRE_RBAC)
		return true;
	if (c->nrequired_roles == 0 && c->nrequired_groups == 0 && c->nadmin_roles == 0) {
		outcome(r, AUTH_CONFIG, "config",
		        "require=%s needs required_roles, admin_roles or required_groups",
		        c->require == LOGIN_REQUIRE_TOKEN ? "token" : "both");
		return false;
	}
	for (size_t i = 0; i < c->nadmin_roles; i++)
		if (has_role(cl, c->admin_roles[i]))
			r->level = RBAC_ADMIN;
	for (size_t i = 0; i < c->nrequired_roles; i++)
		if (!has_role(cl, c->required_roles[i]) && r->level != RBAC_ADMIN) {
			outcome(r, AUTH_DENIED, "roles", "the token lacks app role %s", c->required_roles[i]);
			return false;
		}
	if (c->nrequired_roles == 0 && c->nrequired_groups == 0 && r->level != RBAC_ADMIN) {
		outcome(r, AUTH_DENIED, "roles", "the token holds none of admin_roles");
		return false;
	}
	if (!groups_ok(ctx, c, cl, r))
		return false;
	if (c->require == LOGIN_REQUIRE_BOTH && c->nadmin_roles == 0)
		r->level = RBAC_ADMIN; /* no admin_roles: the token does not cap what RBAC grants */
	return true;
}

void auth_check_token(struct azmi_ctx *ctx, const struct login_conf *c, const char *user, const char *token,
                      size_t len, const struct auth_opts *o, struct auth_result *out)
{
	struct jwt_claims *cl = NULL;
	struct principal p;

	memset(out, 0, sizeof(*out));
	out->level = RBAC_DENY;
	ctx_budget_start(ctx); /* one `timeout` for the key fetch and Graph together */
	if (!auth_enabled(c)) {
		outcome(out, AUTH_NOT_MINE, "", "no tenant and audiences configured for tokens");
		return;
	}
	if (principal_resolve(c, user, o->local_uid, &p) != 0) {
		outcome(out, AUTH_CONFIG, "principal", "%s", p.why);
		return;
	}
	if (p.via == PRINCIPAL_NONE) {
		outcome(out, AUTH_NOT_MINE, "", "%s", p.why);
		return;
	}
	snprintf(out->principal, sizeof(out->principal), "%s", p.id);
	if (token == NULL || len == 0) {
		outcome(out, AUTH_DENIED, "format", "no token was given");
		return;
	}
	jwt_fingerprint(token, len, out->fingerprint);
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		outcome(out, AUTH_INTERNAL, "memory", "out of memory");
		return;
	}
	if (!validate(ctx, c, token, len, o, cl, out))
		goto done;
	if (!same_user(&p, cl)) {
		if (!p.is_oid && cl->upn[0] == '\0')
			outcome(
			    out, AUTH_DENIED, "user",
			    "the token (oid %s) has no upn claim, and preferred_username is never trusted: "
			    "add the upn optional claim to the application, or map %s to the object id in "
			    "user_map",
			    cl->oid, p.id);
		else
			outcome(out, AUTH_DENIED, "user", "the token is for another user (oid %s), not %s",
			        cl->oid, p.id);
		goto done;
	}
	if (!policy_ok(ctx, c, cl, out))
		goto done;
	snprintf(out->oid, sizeof(out->oid), "%s", cl->oid);
	outcome(out, AUTH_OK, "", "token of %s (v%d.0) accepted", p.id, cl->ver);
done:
	explicit_bzero(cl, sizeof(*cl));
	free(cl);
}

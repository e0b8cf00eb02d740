/* decide.c - principal, cache, scope, object id, RBAC and offline grace, in that order. */
#include "decide.h"

#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "dcache.h"
#include "machine_kind.h"
#include "uidmap.h"
#include "error.h"
#include "util.h"

static void step(struct login_result *r, const char *fmt, ...) AZMI_PRINTF(2, 3);

static void step(struct login_result *r, const char *fmt, ...)
{
	char raw[LOGIN_STEP_LEN];
	va_list ap;

	if (r->nsteps >= LOGIN_MAX_STEPS)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	util_sanitize(r->steps[r->nsteps++], LOGIN_STEP_LEN, raw, strlen(raw));
}

/* First line of an error message, sanitised, as the reason. */
static void set_reason(struct login_result *r, const char *prefix, const char *msg)
{
	char line[sizeof(r->reason)];
	size_t len = strcspn(msg, "\n");

	util_sanitize(line, sizeof(line), msg, len);
	snprintf(r->reason, sizeof(r->reason), "%s%s", prefix, line[0] ? line : "no detail");
}

enum login_outcome login_outcome_of(azmi_err e, long http_status, bool *grace_ok)
{
	*grace_ok = false;
	switch (e) {
	case AZMI_OK:
		return LOGIN_GRANTED;
	case AZMI_ERR_CONFIG:
	case AZMI_ERR_USAGE:
		return LOGIN_CONFIG;
	case AZMI_ERR_UNAVAILABLE:
	case AZMI_ERR_ENDPOINT:
	case AZMI_ERR_TIMEOUT:
		*grace_ok = true;
		return LOGIN_UNREACHABLE;
	case AZMI_ERR_REFUSED:
		*grace_ok = http_status == 429 || http_status >= 500;
		return LOGIN_UNREACHABLE;
	case AZMI_ERR_PROTOCOL:
		return LOGIN_UNREACHABLE;
	case AZMI_ERR_NOMEM:
	case AZMI_ERR_CACHE:
	case AZMI_ERR_SYSTEM:
		return LOGIN_INTERNAL;
	}
	return LOGIN_INTERNAL;
}

const char *login_outcome_name(enum login_outcome o)
{
	static const char *const names[] = {"not-managed", "granted",      "denied",
	                                    "unavailable", "config-error", "internal-error"};

	return (size_t)o < ARRAY_SIZE(names) ? names[o] : "?";
}

const char *login_source_name(enum login_source s)
{
	return s == LOGIN_FROM_CACHE   ? "cache"
	       : s == LOGIN_FROM_GRACE ? "offline-grace"
	       : s == LOGIN_FROM_TOKEN ? "token"
	                               : "azure";
}

/* Fill the result from a cached positive decision. */
static void use_entry(struct login_result *r, const struct dcache_entry *e, enum login_source src)
{
	r->outcome = LOGIN_GRANTED;
	r->source = src;
	r->level = e->level == DCACHE_ADMIN ? RBAC_ADMIN : RBAC_USER;
	r->decided_at = e->when;
	snprintf(r->oid, sizeof(r->oid), "%s", e->oid);
	snprintf(r->d.role, sizeof(r->d.role), "%s", e->role);
	snprintf(r->d.scope, sizeof(r->d.scope), "%s", e->scope);
	snprintf(r->d.correlation_id, sizeof(r->d.correlation_id), "%s", e->correlation_id);
	r->d.level = r->level;
}

static void store_entry(struct login_result *r, int64_t now)
{
	struct dcache_entry e;
	int err;

	memset(&e, 0, sizeof(e));
	snprintf(e.user, sizeof(e.user), "%s", r->principal.user);
	snprintf(e.principal, sizeof(e.principal), "%s", r->principal.id);
	snprintf(e.oid, sizeof(e.oid), "%s", r->oid);
	e.level = r->level == RBAC_ADMIN ? DCACHE_ADMIN : DCACHE_USER;
	snprintf(e.role, sizeof(e.role), "%s", r->d.role);
	snprintf(e.scope, sizeof(e.scope), "%s", r->d.scope);
	snprintf(e.correlation_id, sizeof(e.correlation_id), "%s", r->d.correlation_id);
	e.when = now;
	if ((err = dcache_store(&e)) != 0)
		step(r, "cache: cannot store the decision: %s", strerror(-err));
}

/* Azure said no: the cached grant goes (a failure is recorded; the next answer from Azure retries). */
static void forget_entry(struct login_result *r)
{
	int err = dcache_drop(r->principal.user);

	if (err != 0)
		step(r, "cache: cannot forget the earlier decision: %s", strerror(-err));
}

/*
 * Who: the login name's principal (and its canonical local name), then the
 * token's oid when the auth phase validated one.  False when decided already.
 */
static bool find_principal(const struct login_conf *c, const char *user, const struct login_opts *o,
                           struct login_result *r)
{
	if (principal_resolve(c, user, o->local_uid, &r->principal) != 0) {
		r->outcome = LOGIN_CONFIG;
		r->err = AZMI_ERR_CONFIG;
		snprintf(r->reason, sizeof(r->reason), "%s", r->principal.why);
		step(r, "principal: cannot tell (%s)", r->principal.why);
		return false;
	}
	if (r->principal.refused) {
		r->outcome = LOGIN_DENIED;
		snprintf(r->reason, sizeof(r->reason), "%s", r->principal.why);
		step(r, "principal: refused: %s", r->principal.why);
		return false;
	}
	if (r->principal.via == PRINCIPAL_NONE) {
		r->outcome = LOGIN_NOT_MINE;
		snprintf(r->reason, sizeof(r->reason), "%s", r->principal.why);
		step(r, "principal: none (%s): pam_azmi takes no part", r->principal.why);
		return false;
	}
	if (o->token_oid != NULL && principal_is_guid(o->token_oid)) {
		r->principal.via = PRINCIPAL_TOKEN;
		r->principal.is_oid = true;
		snprintf(r->principal.id, sizeof(r->principal.id), "%s", o->token_oid);
		snprintf(r->principal.why, sizeof(r->principal.why),
		         "object id of the Entra token validated at sign-in");
	}
	step(r, "principal: %s (%s, from the %s; local name %s)", r->principal.id, r->principal.why,
	     principal_via_name(r->principal.via), r->principal.user);
	return true;
}

/* The cached decision, if one exists for this very principal; *have tells. */
static void load_cached(const struct login_result *r, struct dcache_entry *e, bool *have, char *note,
                        size_t len)
{
	int err = dcache_load(r->principal.user, e);

	*have = false;
	note[0] = '\0';
	if (err == -ENOENT)
		return;
	if (err != 0) {
		snprintf(note, len, "decision cache unusable: %s", strerror(-err));
		return;
	}
	if (strcasecmp(e->principal, r->principal.id) != 0) { /* object ids and UPNs: any case */
		snprintf(note, len, "cached decision is for another principal (%s): ignored", e->principal);
		return;
	}
	*have = true;
}

/* Ask Azure: the machine's scope, the object id, RBAC.  AZMI_OK with r->d filled, or the error in `err`. */
static azmi_err ask_azure(struct azmi_ctx *ctx, struct login_result *r, struct azmi_error *err)
{
	char what[300];
	azmi_err e;

	if ((e = vm_info_get(ctx, &r->vm, err)) != AZMI_OK) {
		step(r, "machine: cannot read the VM's scope from instance metadata: %s", err->message);
		return e;
	}
	machine_describe(&r->vm, what, sizeof(what));
	step(r, "machine: %s (%s; login needs %s)", r->vm.resource_id, what, machine_login_action(&r->vm));
	if (r->principal.is_oid) {
		snprintf(r->oid, sizeof(r->oid), "%.63s", r->principal.id);
	} else if ((e = graph_user_oid(ctx, r->principal.id, r->oid, err)) != AZMI_OK) {
		r->oid[0] = '\0';
		step(r, "object id: Microsoft Graph did not resolve %s: %s", r->principal.id, err->message);
		return e;
	} else {
		step(r, "object id: %s (Microsoft Graph, /v1.0/users/%s)", r->oid, r->principal.id);
	}
	if ((e = rbac_decide(ctx, &r->vm, r->oid, &r->d, err)) != AZMI_OK) {
		step(r, "rbac: no decision: %s", err->message);
		return e;
	}
	step(r, "rbac: %s%s%s%s%s (correlation id %s)", rbac_level_name(r->d.level),
	     r->d.role[0] ? ", role " : "", r->d.role, r->d.scope[0] ? " at " : "", r->d.scope,
	     r->d.correlation_id[0] ? r->d.correlation_id : "none");
	if (r->d.reason[0])
		step(r, "rbac: %s", r->d.reason);
	step(r, "scope: decided at %s%s%s (%d Resource Manager request%s)", r->d.decided_scope,
	     r->d.scope_note[0] ? ": " : "", r->d.scope_note, r->d.arm_requests,
	     r->d.arm_requests == 1 ? "" : "s");
	return AZMI_OK;
}

/* Azure gave no decision: fail closed, unless offline_grace honours a recent positive one. */
static void no_decision(const struct login_conf *c, const struct login_opts *o, struct login_result *r,
                        const struct azmi_error *err, const struct dcache_entry *cached, bool have,
                        int64_t now)
{
	bool grace_ok;

	r->err = err->code;
	r->http_status = err->http_status;
	r->outcome = login_outcome_of(err->code, err->http_status, &grace_ok);
	if (err->code == AZMI_ERR_REFUSED && err->http_status == 404 && r->oid[0] == '\0' &&
	    !r->principal.is_oid && r->vm.resource_id[0] != '\0') {
		/* Graph does not know the user: an answer, not an outage. */
		r->outcome = LOGIN_DENIED;
		set_reason(r, "no such user in Entra ID: ", err->message);
		if (o->update_cache)
			forget_entry(r);
		return;
	}
	set_reason(r,
	           r->outcome != LOGIN_UNREACHABLE ? ""
	           : grace_ok                      ? "Azure unreachable: "
	           : err->code == AZMI_ERR_REFUSED ? "Azure refused: "
	                                           : "invalid answer from Azure: ",
	           err->message);
	if (r->outcome != LOGIN_UNREACHABLE || !grace_ok)
		return;
	if (c->offline_grace <= 0) {
		step(r, "offline grace: off (offline_grace = 0): fail closed");
		return;
	}
	if (!have || now - cached->when >= c->offline_grace || cached->when > now + 60) {
		step(r, "offline grace: no positive decision younger than %ld s: fail closed",
		     c->offline_grace);
		return;
	}
	use_entry(r, cached, LOGIN_FROM_GRACE);
	step(
	    r,
	    "offline grace: Azure unreachable; honouring the %s decision of %lld s ago (offline_grace %ld s)",
	    cached->level == DCACHE_ADMIN ? "admin" : "user", (long long)(now - cached->when),
	    c->offline_grace);
}

void login_bind_uid(const struct login_conf *c, struct login_result *r, bool write, char *note,
                    size_t notelen)
{
	char why[768];
	uint32_t uid;
	int e;

	note[0] = '\0';
	if (r->outcome != LOGIN_GRANTED || r->principal.local)
		return;
	if (!principal_is_guid(r->oid)) { /* the binding is to a person: no object id, no account */
		r->outcome = LOGIN_INTERNAL;
		r->err = AZMI_ERR_SYSTEM;
		r->level = RBAC_DENY;
		snprintf(r->reason, sizeof(r->reason), "no object id is known for %.200s: refused",
		         r->principal.user);
		return;
	}
	e = uidmap_record(c, r->principal.user, r->oid, &uid, why, sizeof(why), write);
	if (e == 0) {
		step(r, "uid: %s is uid %u%s", r->principal.user, (unsigned)uid,
		     write ? "" : " (nothing written)");
		snprintf(note, notelen, "%.500s", why);
		if (why[0])
			step(r, "uid: note: %.500s", why);
		return;
	}
	r->level = RBAC_DENY;
	if (e == -EADDRINUSE || e == -EKEYREJECTED) {
		r->outcome = LOGIN_DENIED;
		snprintf(r->reason, sizeof(r->reason), "%.500s", why);
		step(r, "uid: refused: %.500s", why);
		return;
	}
	r->outcome = LOGIN_INTERNAL;
	r->err = AZMI_ERR_SYSTEM;
	snprintf(r->reason, sizeof(r->reason), "cannot %s the uid of %.200s in %s/%s (%s): refused",
	         write ? "record" : "read", r->principal.user, AZMI_STATEDIR, UIDTAB_FILE, strerror(-e));
}

long login_local_uid(const char *user)
{
	struct passwd pw, *res = NULL;
	size_t len = 4096;
	char *buf = NULL;
	long uid = -1;
	int e = ENOMEM;

	do {
		char *nb = realloc(buf, len);
		if (nb == NULL)
			break;
		buf = nb;
		e = getpwnam_r(user, &pw, buf, len, &res);
		len *= 4;
	} while (e == ERANGE && len <= 1024 * 1024);
	if (buf != NULL && e == 0 && res != NULL)
		uid = (long)pw.pw_uid;
	free(buf);
	return uid;
}

void login_ctx_defaults(struct azmi_ctx *ctx)
{
	if (config_get(ctx_config(ctx), "timeout") == NULL)
		ctx_set_timeout(ctx, LOGIN_DEFAULT_TIMEOUT_MS);
	/* Inside su, sudo or sshd the environment is the caller's: proxies from azmi.conf only, never az. */
	ctx_distrust_environment(ctx);
}

void login_decide(struct azmi_ctx *ctx, const struct login_conf *c, const char *user,
                  const struct login_opts *o, struct login_result *out)
{
	struct dcache_entry cached;
	struct azmi_error err = AZMI_ERROR_INIT;
	bool have = false;
	char note[320];
	int64_t now = o->now ? o->now : util_now();

	memset(out, 0, sizeof(*out));
	out->level = RBAC_DENY;
	out->outcome = LOGIN_INTERNAL;
	ctx_budget_start(ctx); /* one `timeout` for every Azure step of this decision */
	if (!find_principal(c, user, o, out))
		return;
	load_cached(out, &cached, &have, note, sizeof(note));
	if (note[0])
		step(out, "cache: %s", note);
	if (o->use_cache && have && c->cache_ttl > 0 && now - cached.when < c->cache_ttl &&
	    cached.when <= now + 60) {
		use_entry(out, &cached, LOGIN_FROM_CACHE);
		step(out, "cache: %s decision of %lld s ago reused (cache_ttl %ld s)",
		     cached.level == DCACHE_ADMIN ? "admin" : "user", (long long)(now - cached.when),
		     c->cache_ttl);
		return;
	}
	if (ask_azure(ctx, out, &err) != AZMI_OK) {
		no_decision(c, o, out, &err, &cached, have, now);
		return;
	}
	out->decided_at = now;
	out->source = LOGIN_FROM_AZURE;
	out->level = out->d.level;
	if (out->d.level == RBAC_DENY) {
		out->outcome = LOGIN_DENIED;
		set_reason(out, "",
		           out->d.reason[0] ? out->d.reason : "no role grants a login on this machine");
		if (o->update_cache)
			forget_entry(out);
		return;
	}
	out->outcome = LOGIN_GRANTED;
	if (o->update_cache)
		store_entry(out, now);
}

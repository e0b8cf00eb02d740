/*
 * scope_read.c - the login decision from the scope's shared view
 * (scope_snap.h): Resource Manager is read for the scope, not for the
 * principal, once per scope_cache_ttl and shared by every login and
 * process on the machine; the principal's groups come from Graph's
 * checkMemberGroups, whose budget is far larger than Resource Manager's.
 * So the machine's Resource Manager reads do not grow with its logins or
 * with the number of distinct people logging in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <unistd.h>

#include "ctx.h"
#include "error.h"
#include "frontend.h"
#include "machine_kind.h"
#include "rbac.h"
#include "rbac_call.h"
#include "rbac_match.h"
#include "scope_snap.h"
#include "util.h"

#define TTL_KEY             "scope_cache_ttl"
#define TTL_MAX             3600
#define TTL_UNIFORM_DEFAULT 300   /* as cache_ttl's default: revocation is no slower than today */
#define EARLY_REFRESH_MS    3000L /* a refresh while the view is still valid waits no longer than this */
#define LOCK_POLL_MS        20

/*
 * scope_cache_ttl; when absent, on for a Uniform scale-set instance (its
 * instances share one identity, so one Resource Manager read budget, and
 * per-principal reads run it dry) and off elsewhere.  -1 with the error
 * set when malformed.
 */
static int64_t ttl_of(struct rbac_call *d)
{
	const char *v = config_get(ctx_config(d->ctx), TTL_KEY);
	int64_t t;

	if (v == NULL)
		return d->vm != NULL && d->vm->kind == MACHINE_UNIFORM ? TTL_UNIFORM_DEFAULT : 0;
	if (!util_parse_int64(v, strlen(v), 0, TTL_MAX, &t)) {
		err_set(d->err, AZMI_ERR_CONFIG, "config", 0,
		        "%s must be a number of seconds from 0 to %d, not \"%.40s\"", TTL_KEY, TTL_MAX, v);
		return -1;
	}
	return t;
}

static int cache_dir(struct azmi_ctx *ctx)
{
	struct file_cache *fc = ctx_files(ctx);

	return ctx->settings.cache_enabled && file_cache_enabled(fc) ? fc->dirfd : -1;
}

/* The refresh lock, waiting at most until `deadline` (0: not at all).  The fd, or -1. */
static int lock_view(int dirfd, int64_t deadline)
{
	int fd = openat(dirfd, SCOPE_SNAP_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if (errno != EWOULDBLOCK || util_mono_ms() + LOCK_POLL_MS >= deadline)
			break;
		util_sleep_ms(LOCK_POLL_MS);
	}
	close(fd);
	return -1;
}

/* Keep (or fetch) the definition of every unconditional assignment's role that covers the scope. */
static azmi_err view_roles(struct rbac_call *d, const struct scope_snap *old, struct scope_snap *s,
                           int64_t now)
{
	int fetches = 0;
	azmi_err rc;

	for (size_t i = 0; i < s->list.nassignments; i++) {
		const struct rbac_assignment *a = &s->list.assignments[i];
		if (a->conditional || !rbac_scope_covers(a->scope, s->scope) ||
		    scope_snap_role(s, a->roledef_guid))
			continue;
		if (s->nroles == SCOPE_SNAP_MAX_ROLES) {
			/* Too many distinct roles to share: each principal reads its own. */
			s->per_user = true;
			return AZMI_OK;
		}
		for (size_t k = 0; old != NULL && k < old->nroles; k++) {
			if (strcasecmp(old->roles[k].role.guid, a->roledef_guid) == 0 &&
			    now - old->roles[k].fetched < SCOPE_SNAP_ROLE_TTL &&
			    old->roles[k].fetched <= now) {
				s->roles[s->nroles++] = old->roles[k];
				break;
			}
		}
		if (scope_snap_role(s, a->roledef_guid) != NULL) /* kept from the old view */
			continue;
		if ((rc = rbac_call_role(d, a, &s->roles[s->nroles].role, &fetches)) != AZMI_OK)
			return rc;
		s->roles[s->nroles++].fetched = now;
	}
	return AZMI_OK;
}

/* Read the view from Resource Manager into `s` (which the caller frees); `old` lends its definitions. */
static azmi_err read_view(struct rbac_call *d, const struct scope_snap *old, struct scope_snap *s,
                          int64_t ttl)
{
	int64_t now = util_now();
	azmi_err rc;

	memset(s, 0, sizeof(*s));
	snprintf(s->key, sizeof(s->key), "%s", d->vm->resource_id);
	s->arc = d->vm->arc;
	d->scope = d->vm->resource_id;
	for (;;) {
		rc = rbac_call_list(d, "roleAssignments", "atScope()", &s->list);
		if (!machine_scope_fallback(d->ctx, d->vm, d->scope, rc, d->err, d->out))
			break;
		rbac_list_free(&s->list);
		d->scope = d->vm->set_scope;
		snprintf(s->note, sizeof(s->note), "%s", d->out->scope_note);
	}
	snprintf(s->scope, sizeof(s->scope), "%s", d->scope);
	if (rc == AZMI_ERR_PROTOCOL) { /* more than the caps of one read: not shareable, per principal */
		log_line(&d->ctx->log, AZMI_LOG_INFO, "rbac: no shared view of %s (%s); per-principal reads",
		         s->scope, d->err->message);
		err_clear(d->err);
		rbac_list_free(&s->list);
		s->per_user = true;
		rc = AZMI_OK;
	} else if (rc == AZMI_OK) {
		rc = rbac_call_list(d, "denyAssignments", "atScope()", &s->list);
	}
	if (rc == AZMI_OK && !s->per_user)
		rc = view_roles(d, old, s, now);
	if (rc != AZMI_OK)
		return rc;
	s->made = now;
	s->expires = now + ttl;
	/* Refresh from half the lifetime on, spread over the next quarter, so a fleet does not ask at once. */
	s->refresh_at = now + ttl / 2 + (ttl >= 4 ? (int64_t)util_random_below((uint32_t)(ttl / 4)) : 0);
	return AZMI_OK;
}

/* Group ids whose membership can change the decision: granting groups', and deny assignments'. */
static size_t candidate_groups(const struct rbac_call *d, const struct scope_snap *s, const char **out,
                               size_t max)
{
	unsigned int bits =
	    s->arc ? RBAC_ACT_ARC_LOGIN | RBAC_ACT_ARC_ADMIN : RBAC_ACT_LOGIN | RBAC_ACT_ADMIN;
	size_t n = rbac_deny_groups(&s->list, s->scope, s->arc, d->oid, out, max);

	if (n == (size_t)-1)
		return n;
	for (size_t i = 0; i < s->list.nassignments; i++) {
		const struct rbac_assignment *a = &s->list.assignments[i];
		const struct rbac_role *r = scope_snap_role(s, a->roledef_guid);
		bool seen = false;
		if (a->conditional || strcasecmp(a->principal_type, "Group") != 0 || r == NULL ||
		    !(r->grants & bits) || !rbac_scope_covers(a->scope, s->scope))
			continue;
		for (size_t k = 0; k < n && !seen; k++)
			seen = strcasecmp(out[k], a->principal_id) == 0;
		if (seen)
			continue;
		if (n == max)
			return (size_t)-1;
		out[n++] = a->principal_id;
	}
	return n;
}

/* The principal's part of the view: its own assignments and those of its groups. */
static bool member_of(const char *const *groups, const bool *member, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (member[i] && strcasecmp(groups[i], id) == 0)
			return true;
	return false;
}

static azmi_err decide_with(struct rbac_call *d, const struct scope_snap *s)
{
	const char **groups = calloc(RBAC_MAX_GROUP_CHECK, sizeof(*groups));
	bool *member = calloc(RBAC_MAX_GROUP_CHECK, sizeof(*member));
	struct rbac_list mine = {0};
	struct rbac_role *roles = calloc(s->list.nassignments + 1, sizeof(*roles));
	struct azmi_error gerr = AZMI_ERROR_INIT;
	size_t n;
	azmi_err rc = AZMI_ERR_NOMEM;

	if (groups == NULL || member == NULL || roles == NULL ||
	    (mine.assignments = calloc(s->list.nassignments + 1, sizeof(*mine.assignments))) == NULL) {
		err_set(d->err, rc, "arm", 0, "out of memory");
		goto out;
	}
	rc = AZMI_ERR_CACHE;
	if ((n = candidate_groups(d, s, groups, RBAC_MAX_GROUP_CHECK)) == (size_t)-1) {
		log_line(&d->ctx->log, AZMI_LOG_INFO,
		         "rbac: more than %d groups to check; per-principal reads", RBAC_MAX_GROUP_CHECK);
		goto out;
	}
	if (n > 0 && graph_check_groups(d->ctx, d->oid, groups, n, member, &gerr) != AZMI_OK) {
		log_line(&d->ctx->log, AZMI_LOG_INFO,
		         "rbac: Graph cannot tell the principal's groups (%s); "
		         "per-principal reads",
		         gerr.message);
		goto out;
	}
	for (size_t i = 0; i < s->list.nassignments; i++) {
		const struct rbac_assignment *a = &s->list.assignments[i];
		const struct rbac_role *r = scope_snap_role(s, a->roledef_guid);
		if (strcasecmp(a->principal_id, d->oid) != 0 &&
		    !(strcasecmp(a->principal_type, "Group") == 0 &&
		      member_of(groups, member, n, a->principal_id)))
			continue;
		mine.assignments[mine.nassignments] = *a;
		if (r != NULL && !a->conditional)
			roles[mine.nassignments] = *r;
		mine.nassignments++;
	}
	mine.denies = s->list.denies; /* lent: not freed through `mine` */
	mine.ndenies = s->list.ndenies;
	{
		struct rbac_eval e = {s->scope, s->arc, d->oid, &mine, roles, groups, member, n};
		rbac_evaluate(&e, d->out);
	}
	/* d->scope outlives the view: point at the machine's own strings. */
	d->scope = d->vm->set_scope[0] != '\0' && strcmp(s->scope, d->vm->set_scope) == 0
	               ? d->vm->set_scope
	               : d->vm->resource_id;
	snprintf(d->out->scope_note, sizeof(d->out->scope_note), "%s", s->note);
	rc = AZMI_OK;
out:
	free(groups);
	free(member);
	free(roles);
	free(mine.assignments);
	return rc;
}

/* A fresh view: the file's, else read under the lock (another process may have just read it). */
static azmi_err fresh_view(struct rbac_call *d, int dirfd, int64_t ttl, struct scope_snap *s, bool *have)
{
	int64_t now = util_now();
	struct scope_snap *next;
	int lock;
	azmi_err rc = AZMI_OK;

	*have = scope_snap_load(dirfd, d->vm->resource_id, d->vm->arc, now, s);
	if (*have && now < s->refresh_at)
		return AZMI_OK;
	/* Past refresh_at the current view still serves: ask briefly, and only if nobody else is. */
	lock = lock_view(dirfd, *have ? 0 : d->deadline);
	if (lock < 0)
		return *have ? AZMI_OK
		             : err_set(d->err, AZMI_ERR_TIMEOUT, "arm", 0,
		                       "arm: another login is reading the scope's role assignments and "
		                       "did not finish in time");
	if ((next = calloc(1, sizeof(*next))) == NULL) {
		close(lock);
		return *have ? AZMI_OK : err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
	}
	if (!*have && scope_snap_load(dirfd, d->vm->resource_id, d->vm->arc, util_now(), next)) {
		*s = *next; /* read by the process that held the lock before us */
		*have = true;
	} else {
		int64_t saved = d->deadline;
		if (*have && d->deadline > util_mono_ms() + EARLY_REFRESH_MS)
			d->deadline = util_mono_ms() + EARLY_REFRESH_MS;
		rc = read_view(d, *have ? s : NULL, next, ttl);
		d->deadline = saved;
		if (rc == AZMI_OK) {
			scope_snap_store(dirfd, next);
			if (*have)
				scope_snap_free(s);
			*s = *next;
			*have = true;
		} else {
			scope_snap_free(next);
			if (*have) { /* keep serving the still-valid view; the error was only an early refresh */
				log_line(&d->ctx->log, AZMI_LOG_INFO,
				         "rbac: refreshing the scope's view failed (%s); the current one is "
				         "valid for "
				         "%lld s more",
				         d->err->message, (long long)(s->expires - util_now()));
				err_clear(d->err);
				rc = AZMI_OK;
			}
		}
	}
	free(next);
	close(lock);
	return rc;
}

azmi_err scope_decide(struct rbac_call *d)
{
	struct scope_snap *s;
	int64_t ttl = ttl_of(d);
	int dirfd = cache_dir(d->ctx);
	bool have = false;
	azmi_err rc;

	if (ttl < 0)
		return AZMI_ERR_CONFIG;
	if (ttl == 0 || dirfd < 0)
		return AZMI_ERR_CACHE;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return err_set(d->err, AZMI_ERR_NOMEM, "arm", 0, "out of memory");
	rc = fresh_view(d, dirfd, ttl, s, &have);
	if (rc == AZMI_OK && s->per_user)
		rc = AZMI_ERR_CACHE;
	if (rc == AZMI_OK) {
		log_line(
		    &d->ctx->log, AZMI_LOG_DEBUG,
		    "rbac: the scope's shared view of %lld s ago (%zu assignments, %zu deny assignments, %zu "
		    "roles)",
		    (long long)(util_now() - s->made), s->list.nassignments, s->list.ndenies, s->nroles);
		rc = decide_with(d, s);
	}
	if (have)
		scope_snap_free(s);
	free(s);
	return rc;
}

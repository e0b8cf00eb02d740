/*
 * rbac_eval.c - the login decision from parsed role assignments, role
 * definitions and deny assignments, with one sentence saying why.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "error.h"
#include "rbac_match.h"
#include "rbac_parse.h"
#include "util.h"

#define MG_PREFIX    "/providers/Microsoft.Management/managementGroups/"
#define LISTED_ROLES 3 /* roles named in a denial's reason */

/* Names for messages when a definition was not looked up (conditional assignments). */
static const struct {
	const char *guid, *name;
} well_known[] = {
    {"fb879df8-f326-4884-b1cf-06f3ad86be52", "Virtual Machine User Login"},
    {"1c0163c0-47e6-4577-8991-ea5c82e286e4", "Virtual Machine Administrator Login"},
    {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner"},
    {"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor"},
    {"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader"},
};

const char *rbac_level_name(enum rbac_level level)
{
	switch (level) {
	case RBAC_ADMIN:
		return "admin";
	case RBAC_USER:
		return "user";
	default:
		return "deny";
	}
}

/* A growing sentence in a fixed buffer; what does not fit is cut. */
struct text {
	char *buf;
	size_t size, len;
};

static void add(struct text *t, const char *fmt, ...) AZMI_PRINTF(2, 3);
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->len + 1 >= t->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->len = t->len + (size_t)n < t->size ? t->len + (size_t)n : t->size - 1;
}

static unsigned int login_bit(const struct rbac_eval *e)
{
	return e->arc ? RBAC_ACT_ARC_LOGIN : RBAC_ACT_LOGIN;
}

static unsigned int admin_bit(const struct rbac_eval *e)
{
	return e->arc ? RBAC_ACT_ARC_ADMIN : RBAC_ACT_ADMIN;
}

static const char *role_label(const struct rbac_eval *e, size_t i)
{
	const struct rbac_assignment *a = &e->list->assignments[i];

	if (e->roles[i].guid[0])
		return e->roles[i].name;
	for (size_t k = 0; k < ARRAY_SIZE(well_known); k++)
		if (strcasecmp(well_known[k].guid, a->roledef_guid) == 0)
			return well_known[k].name;
	return a->roledef_guid;
}

static size_t trimmed_len(const char *s)
{
	size_t len = strlen(s);

	while (len > 1 && s[len - 1] == '/')
		len--;
	return len;
}

static bool scope_equal(const char *a, const char *b)
{
	size_t la = trimmed_len(a), lb = trimmed_len(b);

	return la == lb && strncasecmp(a, b, la) == 0;
}

/* "this machine", "resource group X", "subscription X", "management group X", "the root scope". */
static void add_scope(struct text *t, const char *scope, const char *vm_scope)
{
	size_t len = trimmed_len(scope);
	const char *last;
	int seg = 0;

	if (scope_equal(scope, vm_scope)) {
		add(t, "this machine");
		return;
	}
	if (strcmp(scope, "/") == 0) {
		add(t, "the root scope");
		return;
	}
	if (strncasecmp(scope, MG_PREFIX, strlen(MG_PREFIX)) == 0) {
		add(t, "management group %.*s", (int)(len - strlen(MG_PREFIX)), scope + strlen(MG_PREFIX));
		return;
	}
	for (size_t i = 0; i < len; i++)
		seg += scope[i] == '/';
	last = memrchr(scope, '/', len);
	if (seg == 2 && strncasecmp(scope, "/subscriptions/", 15) == 0)
		add(t, "subscription %.*s", (int)(len - 15), scope + 15);
	else if (seg == 4 && last && strncasecmp(scope, "/subscriptions/", 15) == 0)
		add(t, "resource group %.*s", (int)(scope + len - last - 1), last + 1);
	else
		add(t, "%.*s", (int)len, scope);
}

static bool assignment_applies(const struct rbac_eval *e, const struct rbac_assignment *a)
{
	/* assignedTo() gives the principal's own assignments and its groups'; anything else is not ours. */
	/* An assignment of someone else's (not a group) never grants, whatever the filter let through. */
	bool principal =
	    strcasecmp(a->principal_id, e->oid) == 0 || strcasecmp(a->principal_type, "Group") == 0;

	return principal && rbac_scope_covers(a->scope, e->vm_scope);
}

static enum rbac_level assignment_level(const struct rbac_eval *e, size_t i)
{
	const struct rbac_assignment *a = &e->list->assignments[i];
	unsigned int g = e->roles[i].grants;

	if (a->conditional || e->roles[i].guid[0] == '\0' || !assignment_applies(e, a))
		return RBAC_DENY;
	/* loginAsAdmin is a login too: a role granting it alone makes an admin. */
	if (g & admin_bit(e))
		return RBAC_ADMIN;
	return (g & login_bit(e)) ? RBAC_USER : RBAC_DENY;
}

/* 1 member, 0 not, -1 unknown. */
static int membership(const struct rbac_eval *e, const char *group)
{
	for (size_t i = 0; i < e->ngroups; i++)
		if (strcasecmp(e->groups[i], group) == 0)
			return e->member[i] ? 1 : 0;
	return -1;
}

static bool deny_relevant(const struct rbac_deny *d, const char *vm_scope, unsigned int bits)
{
	return (d->denies & bits) != 0 && rbac_scope_covers(d->scope, vm_scope) &&
	       (!d->no_children || scope_equal(d->scope, vm_scope));
}

/* Object ids compare in any case: ARM, Graph, tokens and map files do not agree on one. */
static bool names(const struct rbac_principal *p, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(p[i].id, id) == 0)
			return true;
	return false;
}

/* Whether `d` holds the principal; `why` gets "everyone", "this principal" or "its group X". */
static bool deny_targets(const struct rbac_eval *e, const struct rbac_deny *d, char *why, size_t whylen)
{
	bool hit = false;

	if (names(d->principals, d->nprincipals, e->oid)) {
		snprintf(why, whylen, "this principal");
		hit = true;
	} else if (names(d->principals, d->nprincipals, RBAC_EVERYONE)) {
		snprintf(why, whylen, "everyone");
		hit = true;
	}
	for (size_t i = 0; i < d->nprincipals && !hit; i++) {
		const struct rbac_principal *p = &d->principals[i];
		if (p->group && membership(e, p->id) != 0) {
			snprintf(why, whylen, "its group %s", p->id);
			hit = true;
		}
	}
	if (!hit || names(d->excluded, d->nexcluded, e->oid))
		return false;
	for (size_t i = 0; i < d->nexcluded; i++)
		if (d->excluded[i].group && membership(e, d->excluded[i].id) == 1)
			return false;
	return true;
}

static bool seen(const char **ids, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(ids[i], id) == 0)
			return true;
	return false;
}

static bool note_group(const char **out, size_t *n, size_t max, const struct rbac_principal *p)
{
	if (!p->group || seen(out, *n, p->id))
		return true;
	if (*n == max)
		return false;
	out[(*n)++] = p->id;
	return true;
}

size_t rbac_deny_groups(const struct rbac_list *l, const char *vm_scope, bool arc, const char *oid,
                        const char **out, size_t max)
{
	unsigned int bits = arc ? RBAC_ACT_ARC_LOGIN | RBAC_ACT_ARC_ADMIN : RBAC_ACT_LOGIN | RBAC_ACT_ADMIN;
	size_t n = 0;

	for (size_t i = 0; i < l->ndenies; i++) {
		const struct rbac_deny *d = &l->denies[i];
		if (!deny_relevant(d, vm_scope, bits) || names(d->excluded, d->nexcluded, oid))
			continue;
		/* Groups among the principals matter only when the principal is not named outright. */
		if (!names(d->principals, d->nprincipals, oid) &&
		    !names(d->principals, d->nprincipals, RBAC_EVERYONE))
			for (size_t k = 0; k < d->nprincipals; k++)
				if (!note_group(out, &n, max, &d->principals[k]))
					return (size_t)-1;
		for (size_t k = 0; k < d->nexcluded; k++)
			if (!note_group(out, &n, max, &d->excluded[k]))
				return (size_t)-1;
	}
	return n;
}

static void add_grant(struct text *t, const struct rbac_eval *e, size_t i, enum rbac_level level)
{
	const struct rbac_assignment *a = &e->list->assignments[i];

	add(t, "%s login granted: role '%s' assigned ", level == RBAC_ADMIN ? "admin" : "user",
	    role_label(e, i));
	if (strcasecmp(a->principal_id, e->oid) == 0)
		add(t, "directly");
	else
		add(t, "to its group %s", a->principal_id);
	add(t, " at ");
	add_scope(t, a->scope, e->vm_scope);
}

/* Why nothing granted: the roles held, conditions, assignments that did not apply. */
static void add_no_grant(struct text *t, const struct rbac_eval *e)
{
	const struct rbac_list *l = e->list;
	size_t held = 0, conditional = 0, foreign = 0;

	add(t, "login denied: no role assignment on this machine or above grants %s to this principal",
	    rbac_action_name(login_bit(e)));
	for (size_t i = 0; i < l->nassignments; i++) {
		const struct rbac_assignment *a = &l->assignments[i];
		if (!assignment_applies(e, a)) {
			foreign++;
		} else if (a->conditional) {
			add(t, "%s'%s' at ",
			    conditional++ ? ", "
			                  : "; conditional (not evaluated by azmi, so granting "
			                    "nothing): ",
			    role_label(e, i));
			add_scope(t, a->scope, e->vm_scope);
		}
	}
	for (size_t i = 0; i < l->nassignments; i++) {
		const struct rbac_assignment *a = &l->assignments[i];
		if (a->conditional || !assignment_applies(e, a))
			continue;
		if (held == LISTED_ROLES) {
			add(t, ", ...");
			break;
		}
		add(t, "%s%s at ", held++ ? ", " : "; it holds ", role_label(e, i));
		add_scope(t, a->scope, e->vm_scope);
	}
	if (held + conditional == 0 && foreign == 0)
		add(t, " (it has no role assignment there at all)");
	if (foreign)
		add(t, "; %zu assignment%s in the answer did not apply to this machine or principal", foreign,
		    foreign == 1 ? "" : "s");
}

void rbac_evaluate(const struct rbac_eval *e, struct rbac_decision *out)
{
	struct text t = {out->reason, sizeof(out->reason), 0};
	enum rbac_level best = RBAC_DENY, lv;
	size_t best_i = 0;
	char who[64];

	out->level = RBAC_DENY;
	out->role[0] = out->scope[0] = out->reason[0] = '\0';
	for (size_t i = 0; i < e->list->nassignments; i++) {
		if ((lv = assignment_level(e, i)) > best) {
			best = lv;
			best_i = i;
		}
	}
	if (best == RBAC_DENY) {
		add_no_grant(&t, e);
		return;
	}
	/* Deny assignments override any grant. */
	for (size_t i = 0; i < e->list->ndenies && best > RBAC_DENY; i++) {
		const struct rbac_deny *d = &e->list->denies[i];
		unsigned int bits = best == RBAC_ADMIN ? login_bit(e) | admin_bit(e) : login_bit(e);
		if (!deny_relevant(d, e->vm_scope, bits) || !deny_targets(e, d, who, sizeof(who)))
			continue;
		if (d->denies & login_bit(e)) {
			t.len = 0;
			add(&t, "login denied: deny assignment '%s' at ", d->name[0] ? d->name : "(unnamed)");
			add_scope(&t, d->scope, e->vm_scope);
			add(&t, " denies %s to %s, whatever roles grant", rbac_action_name(login_bit(e)),
			    who);
			return;
		}
		if (t.len == 0) {
			add_grant(&t, e, best_i, RBAC_USER);
			add(&t, "; admin login is denied by deny assignment '%s' at ",
			    d->name[0] ? d->name : "(unnamed)");
			add_scope(&t, d->scope, e->vm_scope);
			best = RBAC_USER;
		}
	}
	if (t.len == 0)
		add_grant(&t, e, best_i, best);
	out->level = best;
	snprintf(out->role, sizeof(out->role), "%s", role_label(e, best_i));
	snprintf(out->scope, sizeof(out->scope), "%s", e->list->assignments[best_i].scope);
}

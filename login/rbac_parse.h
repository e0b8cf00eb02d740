/*
 * rbac_parse.h - what Resource Manager answers for a login decision (role
 * assignment and deny assignment pages, role definitions), parsed into
 * bounded structures, and the decision made from them (rbac_eval.c).
 * Nothing here speaks HTTP, so the unit tests and the fuzzer feed it JSON.
 */
#ifndef AZMI_RBAC_PARSE_H
#define AZMI_RBAC_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "error.h"
#include "rbac.h"

#define RBAC_GUID_LEN          36
#define RBAC_MAX_SCOPE         512  /* scopes and resource ids */
#define RBAC_MAX_NAME          256  /* role and deny assignment names (longer ones are cut) */
#define RBAC_MAX_ITEMS         2000 /* role (or deny) assignments one decision reads */
#define RBAC_MAX_PATTERN_COUNT 4096 /* action strings in one definition or deny assignment */
#define RBAC_MAX_PRINCIPALS    256  /* principals (and excluded principals) of one deny assignment */
#define RBAC_MAX_NEXTLINK      4096

struct rbac_assignment {
	char roledef_id[RBAC_MAX_SCOPE];      /* as ARM sent it, validated */
	char roledef_guid[RBAC_GUID_LEN + 1]; /* lower case */
	char principal_id[RBAC_GUID_LEN + 1]; /* lower case */
	char principal_type[32];              /* "User", "Group", "ServicePrincipal", ... or "" */
	char scope[RBAC_MAX_SCOPE];
	bool conditional; /* a non-empty condition: azmi does not evaluate conditions */
};

struct rbac_role {
	char guid[RBAC_GUID_LEN + 1]; /* "" when not looked up */
	char name[RBAC_MAX_NAME];     /* roleName, printable */
	unsigned int grants;          /* RBAC_ACT_* bits its dataActions allow, notDataActions removed */
};

struct rbac_principal {
	char id[RBAC_GUID_LEN + 1]; /* lower case */
	bool group;
};

struct rbac_deny {
	char name[RBAC_MAX_NAME];
	char scope[RBAC_MAX_SCOPE];
	bool no_children;    /* doNotApplyToChildScopes */
	unsigned int denies; /* RBAC_ACT_* bits its dataActions deny */
	struct rbac_principal *principals;
	size_t nprincipals;
	struct rbac_principal *excluded;
	size_t nexcluded;
};

/* Everything one decision read from Resource Manager. */
struct rbac_list {
	struct rbac_assignment *assignments;
	size_t nassignments;
	struct rbac_deny *denies;
	size_t ndenies;
};

void rbac_list_free(struct rbac_list *l);

/*
 * One page of role assignments ({"value": [...], "nextLink": ...}) appended
 * to `l`; `next` gets the nextLink ("" when none).  AZMI_ERR_PROTOCOL with a
 * sentence in `why` for anything malformed or beyond the caps.
 */
AZMI_MUST_CHECK azmi_err rbac_parse_assignments(const char *body, size_t len, struct rbac_list *l, char *next,
                                                size_t nextlen, char *why, size_t whylen);

/* One page of deny assignments, likewise. */
AZMI_MUST_CHECK azmi_err rbac_parse_denies(const char *body, size_t len, struct rbac_list *l, char *next,
                                           size_t nextlen, char *why, size_t whylen);

/* A role definition, which must be the one named `want_guid`. */
AZMI_MUST_CHECK azmi_err rbac_parse_role(const char *body, size_t len, const char *want_guid,
                                         struct rbac_role *out, char *why, size_t whylen);

/* True for a GUID in 8-4-4-4-12 hex form. */
bool rbac_guid_valid(const char *s, size_t len);

/*
 * A role definition id: [/subscriptions/<guid>|/providers/Microsoft.Management/managementGroups/<name>]
 * /providers/Microsoft.Authorization/roleDefinitions/<guid>.  Its GUID (lower case) goes to `guid`.
 */
bool rbac_roledef_id_parse(const char *id, size_t len, char guid[RBAC_GUID_LEN + 1]);

/* True when role or deny assignment scope `scope` is `vm_scope` or above it (resource group, ...). */
bool rbac_scope_covers(const char *scope, const char *vm_scope);

/* What the decision is made from. */
struct rbac_eval {
	const char *vm_scope;
	bool arc;
	const char *oid; /* lower case */
	const struct rbac_list *list;
	const struct rbac_role *roles; /* roles[i] for list->assignments[i]; guid "" when not looked up */
	/* Membership of the groups the deny assignments name (rbac_deny_groups). */
	const char *const *groups;
	const bool *member;
	size_t ngroups;
};

/*
 * The decision: the best grant (admin over user), then deny assignments.
 * A group whose membership is not in e->groups counts as holding the
 * principal where that denies, and as not holding it where that would
 * exclude it from a deny assignment.  Fills level, role, scope and reason.
 */
void rbac_evaluate(const struct rbac_eval *e, struct rbac_decision *out);

/*
 * The distinct group ids whose membership decides whether a deny assignment
 * relevant to the login actions holds principal `oid` (lower case): groups
 * among its principals (unless it names `oid` or Everyone outright) and
 * among its excluded principals (unless it excludes `oid` outright).  Up to
 * `max` in `out` (pointing into `l`); the count, or (size_t)-1 when there are more.
 */
size_t rbac_deny_groups(const struct rbac_list *l, const char *vm_scope, bool arc, const char *oid,
                        const char **out, size_t max);

#endif

/*
 * test_rbac_eval.c - the login decision over canned Resource Manager answers:
 * role assignment pages, role definitions and deny assignments parsed by
 * rbac_parse.c, decided by rbac_evaluate.
 */
#include "unit.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac.h"
#include "rbac_match.h"
#include "rbac_parse.h"

#define SUB       "0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40"
#define RG_SCOPE  "/subscriptions/" SUB "/resourceGroups/rg-azmi-test"
#define VM_SCOPE  RG_SCOPE "/providers/Microsoft.Compute/virtualMachines/vm-azmi-test"
#define ARC_SCOPE RG_SCOPE "/providers/Microsoft.HybridCompute/machines/arc-azmi-test"
#define SUB_SCOPE "/subscriptions/" SUB
#define MG_SCOPE  "/providers/Microsoft.Management/managementGroups/mg-azmi"
#define OTHER_VM  RG_SCOPE "/providers/Microsoft.Compute/virtualMachines/vm-other"

#define OID        "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
#define OTHER_USER "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a99"
/* The same object ids as a caller may spell them: object ids compare in any case (issue 11). */
#define OID_UPPER        "6F1E2D3C-4B5A-4978-8A6B-5C4D3E2F1A01"
#define OTHER_USER_UPPER "6F1E2D3C-4B5A-4978-8A6B-5C4D3E2F1A99"
#define GROUP            "7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c01"
#define GROUP2           "7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02"

#define USER_LOGIN          "fb879df8-f326-4884-b1cf-06f3ad86be52"
#define ADMIN_LOGIN         "1c0163c0-47e6-4577-8991-ea5c82e286e4"
#define OWNER               "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
#define CONTRIBUTOR         "b24988ac-6180-42a0-ab88-20f7382dd24c"
#define READER              "acdd72a7-3385-48ef-bd42-f606fba81ae7"
#define CUSTOM_ALL          "c0ffee00-0000-4000-8000-000000000001"
#define CUSTOM_NOT_ADMIN    "c0ffee00-0000-4000-8000-000000000002"
#define CUSTOM_NOT_LOGIN    "c0ffee00-0000-4000-8000-000000000003"
#define CUSTOM_ACTIONS_ONLY "c0ffee00-0000-4000-8000-000000000004"
#define CUSTOM_LOGIN_STAR   "c0ffee00-0000-4000-8000-000000000005"
#define CUSTOM_ADMIN_ONLY   "c0ffee00-0000-4000-8000-000000000006"
#define CUSTOM_TWO_BLOCKS   "c0ffee00-0000-4000-8000-000000000007"

/* Role definitions as Resource Manager answers them. */
static const struct {
	const char *guid, *name, *permissions;
} definitions[] = {
    {USER_LOGIN, "Virtual Machine User Login",
     "[{\"actions\":[\"Microsoft.Network/publicIPAddresses/read\",\"Microsoft.Compute/virtualMachines/*/"
     "read\"],"
     "\"notActions\":[],\"dataActions\":[\"Microsoft.Compute/virtualMachines/login/action\","
     "\"Microsoft.HybridCompute/machines/login/action\"],\"notDataActions\":[]}]"},
    {ADMIN_LOGIN, "Virtual Machine Administrator Login",
     "[{\"actions\":[\"Microsoft.Network/publicIPAddresses/read\"],\"notActions\":[],"
     "\"dataActions\":[\"Microsoft.Compute/virtualMachines/login/action\","
     "\"Microsoft.Compute/virtualMachines/loginAsAdmin/action\","
     "\"Microsoft.HybridCompute/machines/login/action\","
     "\"Microsoft.HybridCompute/machines/loginAsAdmin/action\"],\"notDataActions\":[]}]"},
    {OWNER, "Owner", "[{\"actions\":[\"*\"],\"notActions\":[],\"dataActions\":[],\"notDataActions\":[]}]"},
    {CONTRIBUTOR, "Contributor",
     "[{\"actions\":[\"*\"],\"notActions\":[\"Microsoft.Authorization/*/Delete\","
     "\"Microsoft.Authorization/*/Write\"],\"dataActions\":[],\"notDataActions\":[]}]"},
    {READER, "Reader",
     "[{\"actions\":[\"*/read\"],\"notActions\":[],\"dataActions\":[],\"notDataActions\":[]}]"},
    {CUSTOM_ALL, "Everything on VMs",
     "[{\"actions\":[],\"dataActions\":[\"Microsoft.Compute/virtualMachines/*\"]}]"},
    {CUSTOM_NOT_ADMIN, "Compute data but no admin",
     "[{\"dataActions\":[\"Microsoft.Compute/*\"],"
     "\"notDataActions\":[\"Microsoft.Compute/virtualMachines/loginAsAdmin/action\"]}]"},
    {CUSTOM_NOT_LOGIN, "Compute data but no login",
     "[{\"dataActions\":[\"*\"],\"notDataActions\":[\"Microsoft.Compute/virtualMachines/log*\"]}]"},
    {CUSTOM_ACTIONS_ONLY, "Login as an action",
     "[{\"actions\":[\"Microsoft.Compute/virtualMachines/login/action\"]}]"},
    {CUSTOM_LOGIN_STAR, "Any login", "[{\"dataActions\":[\"*/login/action\"],\"notDataActions\":null}]"},
    {CUSTOM_ADMIN_ONLY, "Admin only",
     "[{\"dataActions\":[\"Microsoft.Compute/virtualMachines/loginAsAdmin/action\"]}]"},
    {CUSTOM_TWO_BLOCKS, "Two blocks",
     "[{\"dataActions\":[\"Microsoft.Compute/virtualMachines/*\"]},"
     "{\"dataActions\":[],\"notDataActions\":[\"Microsoft.Compute/virtualMachines/loginAsAdmin/action\"]}]"},
};

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	return s;
}

static char *role_json(size_t i)
{
	return fmt("{\"id\":\"/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s\","
	           "\"name\":\"%s\",\"type\":\"Microsoft.Authorization/roleDefinitions\","
	           "\"properties\":{\"roleName\":\"%s\",\"type\":\"CustomRole\",\"description\":\"d\","
	           "\"assignableScopes\":[\"/\"],\"permissions\":%s}}",
	           SUB, definitions[i].guid, definitions[i].guid, definitions[i].name,
	           definitions[i].permissions);
}

/* One role assignment: role GUID, principal, its type, scope, condition (NULL: none). */
struct ra {
	const char *role, *principal, *type, *scope, *condition;
};

static char *assignment_json(const struct ra *a)
{
	char *cond = a->condition ? fmt("\"%s\"", a->condition) : fmt("null");
	const char *rd_scope = strncmp(a->scope, "/subscriptions/", 15) == 0 ? "/subscriptions/" SUB : "";
	/* A NULL type leaves principalType out, as a hostile or odd answer might. */
	char *type = a->type ? fmt("\"principalType\":\"%s\",", a->type) : strdup("");
	char *s = fmt("{\"id\":\"%s/providers/Microsoft.Authorization/roleAssignments/1\",\"name\":\"1\","
	              "\"type\":\"Microsoft.Authorization/roleAssignments\",\"properties\":{"
	              "\"roleDefinitionId\":\"%s/providers/Microsoft.Authorization/roleDefinitions/%s\","
	              "\"principalId\":\"%s\",%s\"scope\":\"%s\",\"condition\":%s,"
	              "\"conditionVersion\":%s}}",
	              strcmp(a->scope, "/") == 0 ? "" : a->scope, rd_scope, a->role, a->principal, type,
	              a->scope, cond, a->condition ? "\"2.0\"" : "null");
	free(type);
	free(cond);
	return s;
}

/* A page of assignments, "value" and an optional nextLink. */
static char *assignments_page(const struct ra *rows, size_t n, const char *next)
{
	char *body = fmt("{\"value\":["), *item, *grown;

	for (size_t i = 0; i < n; i++) {
		item = assignment_json(&rows[i]);
		grown = fmt("%s%s%s", body, i ? "," : "", item);
		free(body);
		free(item);
		body = grown;
	}
	grown = next ? fmt("%s],\"nextLink\":\"%s\"}", body, next) : fmt("%s]}", body);
	free(body);
	return grown;
}

struct da {
	const char *name, *scope, *data_actions, *not_data_actions, *principals, *excluded;
	bool no_children;
};

static char *denies_page(const struct da *rows, size_t n)
{
	char *body = fmt("{\"value\":["), *grown;

	for (size_t i = 0; i < n; i++) {
		const struct da *d = &rows[i];
		grown =
		    fmt("%s%s{\"id\":\"%s/providers/Microsoft.Authorization/denyAssignments/"
		        "%zu\",\"name\":\"%zu\","
		        "\"type\":\"Microsoft.Authorization/denyAssignments\",\"properties\":{"
		        "\"denyAssignmentName\":\"%s\",\"description\":\"\",\"permissions\":[{\"actions\":[],"
		        "\"notActions\":[],\"dataActions\":%s,\"notDataActions\":%s}],\"scope\":\"%s\","
		        "\"doNotApplyToChildScopes\":%s,\"principals\":%s,\"excludePrincipals\":%s,"
		        "\"isSystemProtected\":true}}",
		        body, i ? "," : "", d->scope, i, i, d->name, d->data_actions,
		        d->not_data_actions ? d->not_data_actions : "[]", d->scope,
		        d->no_children ? "true" : "false", d->principals, d->excluded ? d->excluded : "[]");
		free(body);
		body = grown;
	}
	grown = fmt("%s]}", body);
	free(body);
	return grown;
}

static size_t definition_index(const char *guid)
{
	for (size_t i = 0; i < sizeof(definitions) / sizeof(definitions[0]); i++)
		if (strcmp(definitions[i].guid, guid) == 0)
			return i;
	fail_msg("no canned definition %s", guid);
	return 0;
}

struct membership {
	const char *group;
	bool member;
};

struct scenario {
	const char *vm_scope;
	bool arc;
	const struct ra *ras;
	size_t nras;
	const struct da *das;
	size_t ndas;
	const struct membership *groups;
	size_t ngroups;
};

/* The principal decide() asks about. */
static const char *eval_oid = OID;

/* Parse the canned answers as rbac.c would receive them, and decide. */
static void decide(const struct scenario *sc, struct rbac_decision *out)
{
	struct rbac_list list = {0};
	struct rbac_role *roles;
	char next[RBAC_MAX_NEXTLINK + 1], why[256];
	char *page = assignments_page(sc->ras, sc->nras, NULL);
	const char *gids[8];
	bool member[8];
	struct rbac_eval e = {sc->vm_scope, sc->arc, eval_oid, &list, NULL, gids, member, sc->ngroups};

	assert_int_equal(
	    rbac_parse_assignments(page, strlen(page), &list, next, sizeof(next), why, sizeof(why)), AZMI_OK);
	free(page);
	assert_int_equal(list.nassignments, sc->nras);
	roles = calloc(sc->nras + 1, sizeof(*roles));
	assert_non_null(roles);
	for (size_t i = 0; i < sc->nras; i++) {
		char *body;
		if (sc->ras[i].condition)
			continue; /* as rbac.c: conditional assignments are not looked up */
		body = role_json(definition_index(sc->ras[i].role));
		assert_int_equal(
		    rbac_parse_role(body, strlen(body), sc->ras[i].role, &roles[i], why, sizeof(why)),
		    AZMI_OK);
		free(body);
	}
	if (sc->ndas) {
		page = denies_page(sc->das, sc->ndas);
		if (rbac_parse_denies(page, strlen(page), &list, next, sizeof(next), why, sizeof(why)) !=
		    AZMI_OK)
			fail_msg("deny page refused: %s\n%s", why, page);
		free(page);
	}
	for (size_t i = 0; i < sc->ngroups; i++) {
		gids[i] = sc->groups[i].group;
		member[i] = sc->groups[i].member;
	}
	e.roles = roles;
	rbac_evaluate(&e, out);
	free(roles);
	rbac_list_free(&list);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SC(vm, ras)                                                                                          \
	{                                                                                                    \
		vm, false, ras, N(ras), NULL, 0, NULL, 0                                                     \
	}

static void expect(const struct rbac_decision *d, enum rbac_level level, const char *role, const char *scope,
                   const char *words)
{
	print_message("  -> %s: %s\n", rbac_level_name(d->level), d->reason);
	assert_int_equal(d->level, level);
	if (role)
		assert_string_equal(d->role, role);
	if (scope)
		assert_string_equal(d->scope, scope);
	for (const char *w = words; w && *w; w += strlen(w) + 1)
		if (strstr(d->reason, w) == NULL)
			fail_msg("reason \"%s\" lacks \"%s\"", d->reason, w);
}

static void test_direct_user(void **state)
{
	static const struct ra ras[] = {{USER_LOGIN, OID, "User", VM_SCOPE, NULL}};
	struct scenario sc = SC(VM_SCOPE, ras);
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_USER, "Virtual Machine User Login", VM_SCOPE,
	       "user login granted\0directly\0this machine\0");
}

static void test_group_inherited(void **state)
{
	static const struct ra ras[] = {{USER_LOGIN, GROUP, "Group", VM_SCOPE, NULL}};
	struct scenario sc = SC(VM_SCOPE, ras);
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_USER, NULL, NULL, "group " GROUP "\0");
}

static void test_scopes_inherited(void **state)
{
	static const struct {
		const char *scope, *words;
	} rows[] = {
	    {RG_SCOPE, "resource group rg-azmi-test"
	               "\0"},
	    {RG_SCOPE "/", "resource group rg-azmi-test"
	                   "\0"},
	    {SUB_SCOPE, "subscription " SUB "\0"},
	    {MG_SCOPE, "management group mg-azmi"
	               "\0"},
	    {"/", "the root scope"
	          "\0"},
	    {"/SUBSCRIPTIONS/" SUB "/RESOURCEGROUPS/RG-AZMI-TEST", "resource group RG-AZMI-TEST"
	                                                           "\0"},
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		struct ra ras[] = {{ADMIN_LOGIN, OID, "User", rows[i].scope, NULL}};
		struct scenario sc = SC(VM_SCOPE, ras);
		struct rbac_decision d;
		decide(&sc, &d);
		expect(&d, RBAC_ADMIN, "Virtual Machine Administrator Login", rows[i].scope, rows[i].words);
	}
}

static void test_scopes_not_covering(void **state)
{
	static const char *const scopes[] = {
	    OTHER_VM,
	    VM_SCOPE "-2",
	    RG_SCOPE "-2",
	    "/subscriptions/1b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40",
	    VM_SCOPE "/extensions/x",
	    "/providers/Microsoft.Management/managementGroups/mg/extra",
	};

	(void)state;
	for (size_t i = 0; i < N(scopes); i++) {
		struct ra ras[] = {{ADMIN_LOGIN, OID, "User", scopes[i], NULL}};
		struct scenario sc = SC(VM_SCOPE, ras);
		struct rbac_decision d;
		decide(&sc, &d);
		expect(&d, RBAC_DENY, "", "", "did not apply\0");
	}
}

static void test_custom_roles(void **state)
{
	static const struct {
		const char *role;
		enum rbac_level level;
	} rows[] = {
	    {CUSTOM_ALL, RBAC_ADMIN},         {CUSTOM_NOT_ADMIN, RBAC_USER},  {CUSTOM_NOT_LOGIN, RBAC_DENY},
	    {CUSTOM_ACTIONS_ONLY, RBAC_DENY}, {CUSTOM_LOGIN_STAR, RBAC_USER}, {CUSTOM_ADMIN_ONLY, RBAC_ADMIN},
	    {CUSTOM_TWO_BLOCKS, RBAC_USER}, /* notDataActions of any block narrow the whole role */
	};

	(void)state;
	for (size_t i = 0; i < N(rows); i++) {
		struct ra ras[] = {{rows[i].role, OID, "User", RG_SCOPE, NULL}};
		struct scenario sc = SC(VM_SCOPE, ras);
		struct rbac_decision d;
		print_message("role %s\n", rows[i].role);
		decide(&sc, &d);
		assert_int_equal(d.level, rows[i].level);
	}
}

static void test_owner_contributor_reader(void **state)
{
	static const struct ra ras[] = {
	    {OWNER, OID, "User", SUB_SCOPE, NULL},
	    {CONTRIBUTOR, GROUP, "Group", RG_SCOPE, NULL},
	    {READER, OID, "User", VM_SCOPE, NULL},
	};
	struct scenario sc = SC(VM_SCOPE, ras);
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_DENY, "", "",
	       "login denied\0" RBAC_ACTION_LOGIN "\0Owner at subscription\0Contributor at resource group\0"
	       "Reader at this machine\0");
}

static void test_no_assignments(void **state)
{
	struct scenario sc = {VM_SCOPE, false, NULL, 0, NULL, 0, NULL, 0};
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_DENY, "", "", "no role assignment there at all\0");
}

static void test_conditional(void **state)
{
	static const struct ra ras[] = {
	    {ADMIN_LOGIN, OID, "User", VM_SCOPE,
	     "@Resource[Microsoft.Compute/virtualMachines:tags:env] StringEquals 'x'"},
	    {READER, OID, "User", VM_SCOPE, NULL},
	};
	static const struct ra with_user[] = {
	    {ADMIN_LOGIN, OID, "User", VM_SCOPE, "true"},
	    {USER_LOGIN, OID, "User", RG_SCOPE, NULL},
	};
	struct scenario sc = SC(VM_SCOPE, ras), sc2 = SC(VM_SCOPE, with_user);
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_DENY, "", "", "conditional\0Virtual Machine Administrator Login\0Reader\0");
	decide(&sc2, &d);
	expect(&d, RBAC_USER, "Virtual Machine User Login", RG_SCOPE, NULL);
}

static void test_admin_over_user(void **state)
{
	static const struct ra ras[] = {
	    {USER_LOGIN, OID, "User", VM_SCOPE, NULL},
	    {READER, OID, "User", VM_SCOPE, NULL},
	    {ADMIN_LOGIN, GROUP, "Group", SUB_SCOPE, NULL},
	    {USER_LOGIN, GROUP2, "Group", RG_SCOPE, NULL},
	};
	struct scenario sc = SC(VM_SCOPE, ras);
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_ADMIN, "Virtual Machine Administrator Login", SUB_SCOPE, "admin login granted\0");
}

/* Assignments of other users, or of types that cannot hold this principal, never count. */
static void test_foreign_principals(void **state)
{
	static const struct ra ras[] = {
	    {ADMIN_LOGIN, OTHER_USER, "User", VM_SCOPE, NULL},
	    {ADMIN_LOGIN, OTHER_USER, "ServicePrincipal", VM_SCOPE, NULL},
	    {USER_LOGIN, OID, "User", OTHER_VM, NULL},
	    /* Regression: another principal with no principalType was taken for one of our groups. */
	    {ADMIN_LOGIN, OTHER_USER, NULL, VM_SCOPE, NULL},
	};
	struct scenario sc = SC(VM_SCOPE, ras);
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_DENY, "", "", "4 assignments in the answer did not apply\0");
}

static void test_arc(void **state)
{
	static const struct ra user[] = {{USER_LOGIN, OID, "User", ARC_SCOPE, NULL}};
	static const struct ra compute_only[] = {{CUSTOM_ALL, OID, "User", RG_SCOPE, NULL}};
	struct scenario sc = {ARC_SCOPE, true, user, 1, NULL, 0, NULL, 0};
	struct rbac_decision d;

	(void)state;
	decide(&sc, &d);
	expect(&d, RBAC_USER, NULL, ARC_SCOPE, NULL);
	sc.ras = compute_only;
	decide(&sc, &d);
	expect(&d, RBAC_DENY, "", "", RBAC_ACTION_ARC_LOGIN "\0");
}

#define EVERYONE "[{\"id\":\"" RBAC_EVERYONE "\",\"type\":\"SystemDefined\"}]"
#define ME       "[{\"id\":\"" OID "\",\"type\":\"User\"}]"
#define MY_GROUP "[{\"id\":\"" GROUP "\",\"type\":\"Group\"}]"
#define LOGIN_DA "[\"Microsoft.Compute/virtualMachines/login/action\"]"
#define ADMIN_DA "[\"Microsoft.Compute/virtualMachines/loginAsAdmin/action\"]"

struct deny_row {
	const char *what;
	struct da da;
	struct membership group; /* group NULL: no membership known */
	enum rbac_level level;   /* with an admin role at the resource group */
	const char *words;
};

static const struct deny_row deny_rows[] = {
    {"everyone",
     {"deny everyone", RG_SCOPE, LOGIN_DA, NULL, EVERYONE, NULL, false},
     {NULL, false},
     RBAC_DENY,
     "deny everyone\0everyone\0"},
    {"the principal",
     {"deny me", VM_SCOPE, "[\"*\"]", NULL, ME, NULL, false},
     {NULL, false},
     RBAC_DENY,
     "this principal\0"},
    {"excluded",
     {"deny others", SUB_SCOPE, "[\"*\"]", NULL, EVERYONE, ME, false},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
    {"group member",
     {"deny group", MG_SCOPE, "[\"Microsoft.Compute/*\"]", NULL, MY_GROUP, NULL, false},
     {GROUP, true},
     RBAC_DENY,
     "its group " GROUP "\0"},
    {"group, not a member",
     {"deny group", RG_SCOPE, "[\"*\"]", NULL, MY_GROUP, NULL, false},
     {GROUP, false},
     RBAC_ADMIN,
     NULL},
    {"group, membership unknown",
     {"deny group", RG_SCOPE, "[\"*\"]", NULL, MY_GROUP, NULL, false},
     {NULL, false},
     RBAC_DENY,
     NULL},
    {"excluded group, member",
     {"deny but group", RG_SCOPE, "[\"*\"]", NULL, EVERYONE, MY_GROUP, false},
     {GROUP, true},
     RBAC_ADMIN,
     NULL},
    {"excluded group, unknown",
     {"deny but group", RG_SCOPE, "[\"*\"]", NULL, EVERYONE, MY_GROUP, false},
     {NULL, false},
     RBAC_DENY,
     NULL},
    {"admin only",
     {"no admins", RG_SCOPE, ADMIN_DA, NULL, EVERYONE, NULL, false},
     {NULL, false},
     RBAC_USER,
     "user login granted\0admin login is denied by deny assignment 'no admins'\0"},
    {"notDataActions spare login",
     {"deny but login", RG_SCOPE, "[\"Microsoft.Compute/*\"]", "[\"Microsoft.Compute/virtualMachines/log*\"]",
      EVERYONE, NULL, false},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
    {"notDataActions spare user login",
     {"deny but login", RG_SCOPE, "[\"*\"]", LOGIN_DA, EVERYONE, NULL, false},
     {NULL, false},
     RBAC_USER,
     NULL},
    {"actions only",
     {"deny writes", RG_SCOPE, "[]", NULL, EVERYONE, NULL, false},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
    {"child scopes exempt",
     {"here only", RG_SCOPE, "[\"*\"]", NULL, EVERYONE, NULL, true},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
    {"no children, at the VM",
     {"here only", VM_SCOPE, "[\"*\"]", NULL, EVERYONE, NULL, true},
     {NULL, false},
     RBAC_DENY,
     NULL},
    {"other VM",
     {"elsewhere", OTHER_VM, "[\"*\"]", NULL, EVERYONE, NULL, false},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
    {"other principal",
     {"someone else", VM_SCOPE, "[\"*\"]", NULL, "[{\"id\":\"" OTHER_USER "\",\"type\":\"User\"}]", NULL,
      false},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
    {"hybrid actions only",
     {"arc", VM_SCOPE, "[\"Microsoft.HybridCompute/*\"]", NULL, EVERYONE, NULL, false},
     {NULL, false},
     RBAC_ADMIN,
     NULL},
};

static void test_deny_assignments(void **state)
{
	static const struct ra ras[] = {{ADMIN_LOGIN, OID, "User", RG_SCOPE, NULL}};

	(void)state;
	for (size_t i = 0; i < N(deny_rows); i++) {
		const struct deny_row *r = &deny_rows[i];
		struct scenario sc = {VM_SCOPE, false, ras, 1, &r->da, 1, &r->group, r->group.group ? 1 : 0};
		struct rbac_decision d;
		print_message("deny case: %s\n", r->what);
		decide(&sc, &d);
		expect(&d, r->level, NULL, NULL, r->words);
		if (r->level == RBAC_DENY)
			assert_string_equal(d.role, "");
	}
}

/* Every deny row again with the principal's object id in upper case: the same decisions. */
static void test_deny_assignments_any_case(void **state)
{
	eval_oid = OID_UPPER;
	test_deny_assignments(state);
	eval_oid = OID;
}

/* Groups the relevant deny assignments name, deduplicated; irrelevant ones are not asked about. */
static void test_deny_groups(void **state)
{
	static const struct da everyone_but[] = {
	    {"e", RG_SCOPE, "[\"*\"]", NULL,
	     "[{\"id\":\"" RBAC_EVERYONE "\",\"type\":\"SystemDefined\"},{\"id\":\"" GROUP
	     "\",\"type\":\"Group\"}]",
	     "[{\"id\":\"" GROUP2 "\",\"type\":\"Group\"},{\"id\":\"" OTHER_USER "\",\"type\":\"User\"}]",
	     false},
	};
	static const struct da das[] = {
	    {"a", RG_SCOPE, "[\"*\"]", NULL, MY_GROUP, "[{\"id\":\"" GROUP2 "\",\"type\":\"Group\"}]", false},
	    {"b", VM_SCOPE, LOGIN_DA, NULL,
	     "[{\"id\":\"" GROUP "\",\"type\":\"Group\"},"
	     "{\"id\":\"" OID "\",\"type\":\"User\"}]",
	     NULL, false},
	    {"c", OTHER_VM, "[\"*\"]", NULL, "[{\"id\":\"" OTHER_USER "\",\"type\":\"Group\"}]", NULL, false},
	    {"d", RG_SCOPE, "[]", NULL, "[{\"id\":\"" OTHER_USER "\",\"type\":\"Group\"}]", NULL, false},
	};
	struct rbac_list list = {0};
	char *page = denies_page(das, N(das)), next[100], why[200];
	const char *out[4];

	(void)state;
	assert_int_equal(rbac_parse_denies(page, strlen(page), &list, next, sizeof(next), why, sizeof(why)),
	                 AZMI_OK);
	assert_int_equal(rbac_deny_groups(&list, VM_SCOPE, false, OTHER_USER, out, 4), 2);
	assert_string_equal(out[0], GROUP);
	assert_string_equal(out[1], GROUP2);
	assert_int_equal(rbac_deny_groups(&list, VM_SCOPE, false, OTHER_USER, out, 1), (size_t)-1);
	/* On an Arc server only "a" (all data actions) is relevant; it names both groups. */
	assert_int_equal(rbac_deny_groups(&list, ARC_SCOPE, true, OTHER_USER, out, 4), 2);
	/* "b" names OID outright: its group does not matter for OID, but "a"'s do. */
	assert_int_equal(rbac_deny_groups(&list, VM_SCOPE, false, OID, out, 4), 2);
	/* Everyone with an excluded group: only the excluded group matters ... */
	rbac_list_free(&list);
	free(page);
	page = denies_page(everyone_but, N(everyone_but));
	assert_int_equal(rbac_parse_denies(page, strlen(page), &list, next, sizeof(next), why, sizeof(why)),
	                 AZMI_OK);
	assert_int_equal(rbac_deny_groups(&list, VM_SCOPE, false, OID, out, 4), 1);
	assert_string_equal(out[0], GROUP2);
	/* ... and none when the principal itself is excluded, however its object id is spelt. */
	assert_int_equal(rbac_deny_groups(&list, VM_SCOPE, false, OTHER_USER, out, 4), 0);
	assert_int_equal(rbac_deny_groups(&list, VM_SCOPE, false, OTHER_USER_UPPER, out, 4), 0);
	free(page);
	rbac_list_free(&list);
}

/* Pages append; the nextLink is handed back. */
static void test_paging(void **state)
{
	static const struct ra p1[] = {{READER, OID, "User", VM_SCOPE, NULL},
	                               {OWNER, OID, "User", SUB_SCOPE, NULL}};
	static const struct ra p2[] = {{USER_LOGIN, GROUP, "Group", MG_SCOPE, NULL}};
	struct rbac_list list = {0};
	char next[RBAC_MAX_NEXTLINK + 1], why[200];
	char *a = assignments_page(p1, 2,
	                           "https://management.azure.com" VM_SCOPE
	                           "/providers/Microsoft.Authorization/roleAssignments?$skipToken=2");
	char *b = assignments_page(p2, 1, NULL);

	(void)state;
	assert_int_equal(rbac_parse_assignments(a, strlen(a), &list, next, sizeof(next), why, sizeof(why)),
	                 AZMI_OK);
	assert_non_null(strstr(next, "$skipToken=2"));
	assert_int_equal(rbac_parse_assignments(b, strlen(b), &list, next, sizeof(next), why, sizeof(why)),
	                 AZMI_OK);
	assert_string_equal(next, "");
	assert_int_equal(list.nassignments, 3);
	assert_string_equal(list.assignments[2].principal_id, GROUP);
	assert_string_equal(list.assignments[2].roledef_guid, USER_LOGIN);
	assert_string_equal(list.assignments[2].roledef_id,
	                    "/providers/Microsoft.Authorization/roleDefinitions/" USER_LOGIN);
	free(a);
	free(b);
	rbac_list_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_direct_user),
	    cmocka_unit_test(test_group_inherited),
	    cmocka_unit_test(test_scopes_inherited),
	    cmocka_unit_test(test_scopes_not_covering),
	    cmocka_unit_test(test_custom_roles),
	    cmocka_unit_test(test_owner_contributor_reader),
	    cmocka_unit_test(test_no_assignments),
	    cmocka_unit_test(test_conditional),
	    cmocka_unit_test(test_admin_over_user),
	    cmocka_unit_test(test_foreign_principals),
	    cmocka_unit_test(test_arc),
	    cmocka_unit_test(test_deny_assignments),
	    cmocka_unit_test(test_deny_groups),
	    cmocka_unit_test(test_paging),
	    cmocka_unit_test(test_deny_assignments_any_case), /* last: it changes eval_oid */
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

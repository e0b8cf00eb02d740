/*
 * test_rbac_parse.c - what a broken or hostile Resource Manager could send:
 * every malformed page or definition is an error (AZMI_ERR_PROTOCOL),
 * never a grant; and the id, scope and GUID checks, and the role cache.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rbac.h"
#include "rbac_match.h"
#include "rbac_parse.h"
#include "role_cache.h"
#include "util.h"

#define SUB      "0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40"
#define VM_SCOPE "/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
#define OID      "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
#define ROLE     "fb879df8-f326-4884-b1cf-06f3ad86be52"
#define RDID     "/subscriptions/" SUB "/providers/Microsoft.Authorization/roleDefinitions/" ROLE

/* A valid assignment with one property replaced by `prop` (a "key":value pair) or removed. */
#define RA_PROPS(extra)                                                                                      \
	"{\"properties\":{\"roleDefinitionId\":\"" RDID "\",\"principalId\":\"" OID                          \
	"\",\"principalType\":\"User\","                                                                     \
	"\"scope\":\"" VM_SCOPE "\"" extra "}}"

struct page_row {
	const char *body;
	bool ok;
	const char *why; /* substring */
};

static const struct page_row assignment_rows[] = {
    {"{\"value\":[]}", true, NULL},
    {"{\"value\":[" RA_PROPS("") "]}", true, NULL},
    {"{\"value\":[" RA_PROPS(",\"condition\":null") "]}", true, NULL},
    {"{\"value\":[" RA_PROPS(",\"condition\":\"\"") "]}", true, NULL},
    {"{\"value\":[],\"nextLink\":null}", true, NULL},
    {" \r\n{\"value\":[]}\n", true, NULL},
    /* not an object, not JSON */
    {"", false, "not a JSON object"},
    {"[]", false, "not a JSON object"},
    {"null", false, "not a JSON object"},
    {"<html>proxy</html>", false, "not a JSON object"},
    {"{\"value\":[]} {}", false, "not a JSON object"},
    {"{\"value\":[]", false, "not a JSON object"},
    /* value */
    {"{}", false, "value"},
    {"{\"value\":null}", false, "value"},
    {"{\"value\":{}}", false, "value"},
    {"{\"value\":\"[]\"}", false, "value"},
    {"{\"Value\":[]}", false, "value"},
    /* items */
    {"{\"value\":[null]}", false, "malformed"},
    {"{\"value\":[1]}", false, "malformed"},
    {"{\"value\":[{}]}", false, "malformed"},
    {"{\"value\":[{\"properties\":null}]}", false, "malformed"},
    {"{\"value\":[{\"properties\":[]}]}", false, "malformed"},
    {"{\"value\":[" RA_PROPS("") ",7]}", false, "role assignment 1"},
    /* roleDefinitionId */
    {"{\"value\":[{\"properties\":{\"principalId\":\"" OID "\",\"scope\":\"/\"}}]}", false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":7,\"principalId\":\"" OID "\",\"scope\":\"/\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" ROLE "\",\"principalId\":\"" OID
     "\",\"scope\":\"/\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"https://evil.example/" ROLE
     "\",\"principalId\":\"" OID "\",\"scope\":\"/\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "/../x\",\"principalId\":\"" OID
     "\",\"scope\":\"/\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "?a=b\",\"principalId\":\"" OID
     "\",\"scope\":\"/\"}}]}",
     false, "malformed"},
    /* principalId */
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID
     "\",\"principalId\":\"me\",\"scope\":\"/\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID
     "\",\"principalId\":null,\"scope\":\"/\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "\",\"principalId\":\"" OID
     "\",\"principalType\":5,\"scope\":\"/\"}}]}",
     false, "malformed"},
    /* scope */
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "\",\"principalId\":\"" OID "\"}}]}", false,
     "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "\",\"principalId\":\"" OID
     "\",\"scope\":\"subscriptions/x\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "\",\"principalId\":\"" OID
     "\",\"scope\":\"/a\\nb\"}}]}",
     false, "malformed"},
    {"{\"value\":[{\"properties\":{\"roleDefinitionId\":\"" RDID "\",\"principalId\":\"" OID
     "\",\"scope\":[\"/\"]}}]}",
     false, "malformed"},
    /* condition: a string or nothing */
    {"{\"value\":[" RA_PROPS(",\"condition\":true") "]}", false, "malformed"},
    {"{\"value\":[" RA_PROPS(",\"condition\":{}") "]}", false, "malformed"},
    /* nextLink */
    {"{\"value\":[],\"nextLink\":5}", false, "nextLink"},
    {"{\"value\":[],\"nextLink\":\"https://a b\"}", false, "nextLink"},
    {"{\"value\":[],\"nextLink\":\"https://a\\u0000b\"}", false, "nextLink"},
    {"{\"value\":[],\"nextLink\":[\"x\"]}", false, "nextLink"},
    /* depth */
    {"{\"value\":[{\"properties\":{\"a\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}]}", false,
     "not a JSON object"},
};

static void test_assignment_pages(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(assignment_rows) / sizeof(assignment_rows[0]); i++) {
		const struct page_row *r = &assignment_rows[i];
		struct rbac_list list = {0};
		char next[RBAC_MAX_NEXTLINK + 1] = "junk", why[256] = "";
		azmi_err rc = rbac_parse_assignments(r->body, strlen(r->body), &list, next, sizeof(next), why,
		                                     sizeof(why));
		CHECK(fails, (rc == AZMI_OK) == r->ok, "row %zu %s: rc %d why \"%s\"", i,
		      unit_show(r->body, strlen(r->body)), rc, why);
		if (!r->ok)
			CHECK(fails, rc == AZMI_ERR_PROTOCOL && strstr(why, r->why) != NULL,
			      "row %zu: rc %d, why \"%s\" lacks \"%s\"", i, rc, why, r->why);
		rbac_list_free(&list);
	}
	TABLE_DONE(fails);
}

static void test_assignment_fields(void **state)
{
	const char *body = "{\"value\":[" RA_PROPS(",\"condition\":\"@Resource[x] StringEquals 'y'\"") "]}";
	const char *up =
	    "{\"value\":[{\"properties\":{\"roleDefinitionId\":\"/SUBSCRIPTIONS/" SUB
	    "/PROVIDERS/MICROSOFT.AUTHORIZATION/ROLEDEFINITIONS/FB879DF8-F326-4884-B1CF-06F3AD86BE52\","
	    "\"principalId\":\"6F1E2D3C-4B5A-4978-8A6B-5C4D3E2F1A01\",\"scope\":\"/\"}}]}";
	struct rbac_list list = {0};
	char next[64], why[200];

	(void)state;
	assert_int_equal(
	    rbac_parse_assignments(body, strlen(body), &list, next, sizeof(next), why, sizeof(why)), AZMI_OK);
	assert_int_equal(list.nassignments, 1);
	assert_true(list.assignments[0].conditional);
	assert_string_equal(list.assignments[0].roledef_guid, ROLE);
	assert_string_equal(list.assignments[0].roledef_id, RDID);
	assert_string_equal(list.assignments[0].principal_type, "User");
	assert_string_equal(list.assignments[0].scope, VM_SCOPE);
	/* GUIDs are kept in lower case; the definition id as sent. */
	assert_int_equal(rbac_parse_assignments(up, strlen(up), &list, next, sizeof(next), why, sizeof(why)),
	                 AZMI_OK);
	assert_int_equal(list.nassignments, 2);
	assert_string_equal(list.assignments[1].principal_id, OID);
	assert_string_equal(list.assignments[1].roledef_guid, ROLE);
	assert_false(list.assignments[1].conditional);
	assert_string_equal(list.assignments[1].principal_type, "");
	rbac_list_free(&list);
}

/* RBAC_MAX_ITEMS across pages, then refusal; a too long nextLink is refused. */
static void test_assignment_caps(void **state)
{
	const char *item = RA_PROPS("");
	size_t per = 500, len = strlen(item) + 1;
	char *body = malloc(per * len + 64), *p = body, next[RBAC_MAX_NEXTLINK + 1], why[256];
	char *link = malloc(RBAC_MAX_NEXTLINK + 64);
	struct rbac_list list = {0};
	azmi_err rc;

	(void)state;
	assert_non_null(body);
	assert_non_null(link);
	p += sprintf(p, "{\"value\":[");
	for (size_t i = 0; i < per; i++)
		p += sprintf(p, "%s%s", i ? "," : "", item);
	sprintf(p, "]}");
	for (int page = 0; page < RBAC_MAX_ITEMS / (int)per; page++)
		assert_int_equal(
		    rbac_parse_assignments(body, strlen(body), &list, next, sizeof(next), why, sizeof(why)),
		    AZMI_OK);
	assert_int_equal(list.nassignments, RBAC_MAX_ITEMS);
	rc = rbac_parse_assignments(body, strlen(body), &list, next, sizeof(next), why, sizeof(why));
	assert_int_equal(rc, AZMI_ERR_PROTOCOL);
	assert_non_null(strstr(why, "more than"));
	assert_int_equal(list.nassignments, RBAC_MAX_ITEMS);
	rbac_list_free(&list);

	p = link + sprintf(link, "{\"value\":[],\"nextLink\":\"https://management.azure.com/");
	memset(p, 'a', RBAC_MAX_NEXTLINK);
	strcpy(p + RBAC_MAX_NEXTLINK, "\"}");
	assert_int_equal(
	    rbac_parse_assignments(link, strlen(link), &list, next, sizeof(next), why, sizeof(why)),
	    AZMI_ERR_PROTOCOL);
	rbac_list_free(&list);
	free(link);
	free(body);
}

#define ROLE_BODY(perms)                                                                                     \
	"{\"name\":\"" ROLE                                                                                  \
	"\",\"properties\":{\"roleName\":\"Virtual Machine User Login\",\"permissions\":" perms "}}"

struct role_row {
	const char *body;
	bool ok;
	unsigned int grants;
};

static const struct role_row role_rows[] = {
    {ROLE_BODY("[{\"dataActions\":[\"" RBAC_ACTION_LOGIN "\"]}]"), true, RBAC_ACT_LOGIN},
    {ROLE_BODY("[]"), true, 0},
    {ROLE_BODY("[{}]"), true, 0},
    {ROLE_BODY("[{\"dataActions\":null,\"notDataActions\":null}]"), true, 0},
    {ROLE_BODY("[{\"actions\":[\"*\"]}]"), true, 0},
    {ROLE_BODY("[{\"dataActions\":[\"*\"],\"notDataActions\":[\"*/loginAsAdmin/action\"]}]"), true,
     RBAC_ACT_LOGIN | RBAC_ACT_ARC_LOGIN},
    /* hostile shapes: errors, never grants */
    {ROLE_BODY("null"), false, 0},
    {ROLE_BODY("{}"), false, 0},
    {ROLE_BODY("\"*\""), false, 0},
    {ROLE_BODY("[null]"), false, 0},
    {ROLE_BODY("[[\"*\"]]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":\"*\"}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[7]}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[\"\"]}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[null]}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[\"*\"],\"notDataActions\":\"x\"}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[\"*\"],\"notDataActions\":[\"a\\u0001b\"]}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[\"Micro\\u00f6soft/*\"]}]"), false, 0},
    {ROLE_BODY("[{\"dataActions\":[\"*\"],\"actions\":{}}]"), false, 0},
    {"{\"name\":\"" ROLE "\",\"properties\":{\"roleName\":\"x\"}}", false, 0},
    {"{\"name\":\"" ROLE "\",\"properties\":null}", false, 0},
    {"{\"name\":\"" ROLE "\"}", false, 0},
    {"{\"name\":\"acdd72a7-3385-48ef-bd42-f606fba81ae7\",\"properties\":{\"roleName\":\"x\",\"permissions\":["
     "]}}",
     false, 0},
    {"{\"properties\":{\"roleName\":\"x\",\"permissions\":[]}}", false, 0},
    {"{\"name\":\"" ROLE "\",\"properties\":{\"roleName\":7,\"permissions\":[]}}", false, 0},
    {"[]", false, 0},
    {"", false, 0},
};

static void test_roles(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(role_rows) / sizeof(role_rows[0]); i++) {
		const struct role_row *r = &role_rows[i];
		struct rbac_role role;
		char why[256] = "";
		azmi_err rc = rbac_parse_role(r->body, strlen(r->body), ROLE, &role, why, sizeof(why));
		CHECK(fails, (rc == AZMI_OK) == r->ok && (r->ok || rc == AZMI_ERR_PROTOCOL),
		      "row %zu %s: rc %d why \"%s\"", i, unit_show(r->body, strlen(r->body)), rc, why);
		CHECK(fails, role.grants == r->grants, "row %zu: grants %#x, want %#x", i, role.grants,
		      r->grants);
		CHECK(fails, r->ok ? strcmp(role.guid, ROLE) == 0 : role.guid[0] == '\0',
		      "row %zu: guid \"%s\"", i, role.guid);
		CHECK(fails, r->ok || why[0] != '\0', "row %zu: no reason", i);
	}
	TABLE_DONE(fails);
}

/* Caps: 64 permission blocks, RBAC_MAX_PATTERN bytes a pattern; names are cut and made printable. */
static void test_role_caps(void **state)
{
	char *body = malloc(64 * 1024), *p, why[256];
	struct rbac_role role;

	(void)state;
	assert_non_null(body);
	p = body +
	    sprintf(body, "{\"name\":\"%s\",\"properties\":{\"roleName\":\"r\",\"permissions\":[", ROLE);
	for (int i = 0; i < 65; i++)
		p += sprintf(p, "%s{}", i ? "," : "");
	strcpy(p, "]}}");
	assert_int_equal(rbac_parse_role(body, strlen(body), ROLE, &role, why, sizeof(why)),
	                 AZMI_ERR_PROTOCOL);

	p = body +
	    sprintf(
	        body,
	        "{\"name\":\"%s\",\"properties\":{\"roleName\":\"r\",\"permissions\":[{\"dataActions\":[\"",
	        ROLE);
	memset(p, '*', RBAC_MAX_PATTERN + 1);
	strcpy(p + RBAC_MAX_PATTERN + 1, "\"]}]}}");
	assert_int_equal(rbac_parse_role(body, strlen(body), ROLE, &role, why, sizeof(why)),
	                 AZMI_ERR_PROTOCOL);
	p[RBAC_MAX_PATTERN] = '"';
	strcpy(p + RBAC_MAX_PATTERN + 1, "]}]}}");
	assert_int_equal(rbac_parse_role(body, strlen(body), ROLE, &role, why, sizeof(why)), AZMI_OK);
	assert_int_equal(role.grants, RBAC_ACT_ALL);

	p = body + sprintf(body, "{\"name\":\"%s\",\"properties\":{\"roleName\":\"", ROLE);
	memset(p, 'n', 1000);
	strcpy(p + 1000, "\\n\\u00e9\",\"permissions\":[]}}");
	assert_int_equal(rbac_parse_role(body, strlen(body), ROLE, &role, why, sizeof(why)), AZMI_OK);
	assert_int_equal(strlen(role.name), RBAC_MAX_NAME - 1);
	strcpy(p, "a\\nb\\u00e9\",\"permissions\":[]}}");
	assert_int_equal(rbac_parse_role(body, strlen(body), ROLE, &role, why, sizeof(why)), AZMI_OK);
	assert_true(strncmp(role.name, "a b", 3) == 0);
	assert_true(util_is_printable(role.name, strlen(role.name)));
	/* the GUID asked for must itself be one */
	strcpy(p, "x\",\"permissions\":[]}}");
	assert_int_equal(rbac_parse_role(body, strlen(body), "short", &role, why, sizeof(why)),
	                 AZMI_ERR_PROTOCOL);
	free(body);
}

#define DA(props)   "{\"value\":[{\"properties\":{" props "}}]}"
#define DA_OK_PARTS "\"scope\":\"/\",\"permissions\":[{\"dataActions\":[\"*\"]}]"

static const struct page_row deny_rows[] = {
    {DA(DA_OK_PARTS), true, NULL},
    {DA(DA_OK_PARTS ",\"principals\":[{\"id\":\"" RBAC_EVERYONE "\",\"type\":\"SystemDefined\"}]"), true,
     NULL},
    {DA(DA_OK_PARTS ",\"principals\":null,\"excludePrincipals\":null,\"doNotApplyToChildScopes\":null"), true,
     NULL},
    {DA(DA_OK_PARTS ",\"denyAssignmentName\":\"n\\u0000x\""), true, NULL},
    {DA("\"scope\":\"/\""), false, "malformed"},
    {DA("\"permissions\":[]"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"principals\":{}"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"principals\":[{\"id\":\"everyone\"}]"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"principals\":[{\"type\":\"User\"}]"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"principals\":[7]"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"principals\":[{\"id\":\"" OID "\",\"type\":[]}]"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"excludePrincipals\":[{\"id\":\"" OID "\"},{\"id\":1}]"), false, "malformed"},
    {DA(DA_OK_PARTS ",\"doNotApplyToChildScopes\":\"false\""), false, "malformed"},
    {DA(DA_OK_PARTS ",\"denyAssignmentName\":[]"), false, "malformed"},
    {DA("\"scope\":\"/\",\"permissions\":[{\"dataActions\":[\"*\"],\"notDataActions\":[1]}]"), false,
     "malformed"},
    {"{\"value\":[{\"properties\":{}},7]}", false, "deny assignment 0"},
    {"{\"value\":7}", false, "value"},
};

static void test_deny_pages(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(deny_rows) / sizeof(deny_rows[0]); i++) {
		const struct page_row *r = &deny_rows[i];
		struct rbac_list list = {0};
		char next[64], why[256] = "";
		azmi_err rc =
		    rbac_parse_denies(r->body, strlen(r->body), &list, next, sizeof(next), why, sizeof(why));
		CHECK(fails, (rc == AZMI_OK) == r->ok, "row %zu %s: rc %d why \"%s\"", i,
		      unit_show(r->body, strlen(r->body)), rc, why);
		if (!r->ok)
			CHECK(fails, rc == AZMI_ERR_PROTOCOL && strstr(why, r->why) != NULL,
			      "row %zu: why \"%s\" lacks \"%s\"", i, why, r->why);
		rbac_list_free(&list);
	}
	TABLE_DONE(fails);
}

static void test_deny_principal_cap(void **state)
{
	char *body = malloc(64 * 1024), *p, next[64], why[256];
	struct rbac_list list = {0};

	(void)state;
	assert_non_null(body);
	p = body + sprintf(body, "{\"value\":[{\"properties\":{" DA_OK_PARTS ",\"principals\":[");
	for (int i = 0; i <= RBAC_MAX_PRINCIPALS; i++)
		p += sprintf(p, "%s{\"id\":\"%s\",\"type\":\"User\"}", i ? "," : "", OID);
	strcpy(p, "]}}]}");
	assert_int_equal(rbac_parse_denies(body, strlen(body), &list, next, sizeof(next), why, sizeof(why)),
	                 AZMI_ERR_PROTOCOL);
	rbac_list_free(&list);
	free(body);
}

static void test_guid(void **state)
{
	static const struct {
		const char *s;
		bool ok;
	} rows[] = {
	    {OID, true},
	    {"6F1E2D3C-4B5A-4978-8A6B-5C4D3E2F1A01", true},
	    {RBAC_EVERYONE, true},
	    {"6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0", false},
	    {"6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a011", false},
	    {"6f1e2d3c4b5a-4978-8a6b-5c4d3e2f1a01-", false},
	    {"6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0g", false},
	    {"{6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0}", false},
	    {"", false},
	    {"6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a0 ", false},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(fails, rbac_guid_valid(rows[i].s, strlen(rows[i].s)) == rows[i].ok, "\"%s\"",
		      rows[i].s);
	TABLE_DONE(fails);
}

static void test_roledef_ids(void **state)
{
	static const struct {
		const char *id;
		bool ok;
	} rows[] = {
	    {RDID, true},
	    {"/providers/Microsoft.Authorization/roleDefinitions/" ROLE, true},
	    {"/providers/Microsoft.Management/managementGroups/mg-azmi/providers/Microsoft.Authorization/"
	     "roleDefinitions/" ROLE,
	     true},
	    {"/PROVIDERS/microsoft.authorization/ROLEDEFINITIONS/" ROLE, true},
	    {"/subscriptions/" SUB
	     "/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions/" ROLE,
	     false},
	    {"/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/" ROLE, false},
	    {"/providers/Microsoft.Authorization/roleDefinitions/" ROLE "/", false},
	    {"/providers/Microsoft.Authorization/roleDefinitions/", false},
	    {"/providers/Microsoft.Authorization/roleDefinitions/" ROLE "x", false},
	    {"/providers/Microsoft.Authorization/roleAssignments/" ROLE, false},
	    {"https://h/providers/Microsoft.Authorization/roleDefinitions/" ROLE, false},
	    {"/providers/Microsoft.Management/managementGroups/a%2Fb/providers/Microsoft.Authorization/"
	     "roleDefinitions/" ROLE,
	     false},
	    {"/providers/Microsoft.Management/managementGroups//providers/Microsoft.Authorization/"
	     "roleDefinitions/" ROLE,
	     false},
	    {"//providers/Microsoft.Authorization/roleDefinitions/" ROLE, false},
	    {"", false},
	};
	int fails = 0;
	char guid[RBAC_GUID_LEN + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool ok = rbac_roledef_id_parse(rows[i].id, strlen(rows[i].id), guid);
		CHECK(fails, ok == rows[i].ok, "\"%s\": %d", rows[i].id, ok);
		CHECK(fails, !ok || strcmp(guid, ROLE) == 0, "\"%s\": guid %s", rows[i].id, guid);
	}
	TABLE_DONE(fails);
}

static void test_scope_covers(void **state)
{
	static const struct {
		const char *scope;
		bool covers;
	} rows[] = {
	    {VM_SCOPE, true},
	    {"/subscriptions/" SUB "/resourceGroups/rg", true},
	    {"/subscriptions/" SUB "/resourcegroups/RG/", true},
	    {"/subscriptions/" SUB, true},
	    {"/SUBSCRIPTIONS/" SUB, true},
	    {"/", true},
	    {"/providers/Microsoft.Management/managementGroups/mg", true},
	    {"/providers/microsoft.management/managementgroups/Tenant-Root(1)", true},
	    {"/providers/Microsoft.Management/managementGroups/", false},
	    {"/providers/Microsoft.Management/managementGroups/a/b", false},
	    {"/subscriptions/" SUB "/resourceGroups/r", false},
	    {"/subscriptions/" SUB "/resourceGroups/rg2", false},
	    {VM_SCOPE "2", false},
	    {VM_SCOPE "/extensions/e", false},
	    {"/subscriptions", true}, /* a prefix on a boundary: harmless, ARM never sends it */
	    {"//", false},
	    {"", false},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(fails, rbac_scope_covers(rows[i].scope, VM_SCOPE) == rows[i].covers, "\"%s\"",
		      rows[i].scope);
	TABLE_DONE(fails);
}

static void test_vm_resource_ids(void **state)
{
	static const struct {
		const char *id;
		bool arc, ok;
	} rows[] = {
	    {VM_SCOPE, false, true},
	    {"/subscriptions/" SUB
	     "/resourcegroups/RG-1_(x).y/providers/microsoft.compute/virtualmachines/vm.1_a",
	     false, true},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m", true,
	     true},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/m", false,
	     false},
	    {VM_SCOPE, true, false},
	    /* Uniform scale-set instances (issue 17): a decimal instance id under a set. */
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/0",
	     false, true},
	    {"/subscriptions/" SUB
	     "/resourceGroups/rg/providers/microsoft.compute/VIRTUALMACHINESCALESETS/s-1/"
	     "virtualmachines/4294967295",
	     false, true},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/0",
	     true, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/01",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/-1",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/12345678901",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/vm1",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s",
	     false, false},
	    {"/subscriptions/" SUB
	     "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s./"
	     "virtualMachines/3",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/3/x",
	     false, false},
	    {"/subscriptions/" SUB
	     "/resourceGroups/r g/providers/Microsoft.Compute/virtualMachineScaleSets/s/"
	     "virtualMachines/3",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/x",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/", false,
	     false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm.",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/r g/providers/Microsoft.Compute/virtualMachines/vm",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups//providers/Microsoft.Compute/virtualMachines/vm", false,
	     false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm?x",
	     false, false},
	    {"/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v%2Fm",
	     false, false},
	    {"/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", false,
	     false},
	    {"subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", false,
	     false},
	    {"", false, false},
	};
	int fails = 0;

	(void)state;
	assert_false(vm_info_resource_id_valid(NULL, false));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CHECK(fails, vm_info_resource_id_valid(rows[i].id, rows[i].arc) == rows[i].ok,
		      "\"%s\" arc %d", rows[i].id, rows[i].arc);
	TABLE_DONE(fails);
}

static void test_role_cache(void **state)
{
	struct role_cache c;
	struct rbac_role r = {ROLE, "Virtual Machine User Login", RBAC_ACT_LOGIN}, got;

	(void)state;
	role_cache_init(&c);
	assert_false(role_cache_get(&c, ROLE, 1000, &got));
	role_cache_put(&c, &r, 1000);
	assert_true(role_cache_get(&c, ROLE, 1000 + ROLE_CACHE_TTL - 1, &got));
	assert_string_equal(got.name, r.name);
	assert_int_equal(got.grants, RBAC_ACT_LOGIN);
	assert_false(role_cache_get(&c, ROLE, 1000 + ROLE_CACHE_TTL, &got));
	r.grants = RBAC_ACT_ALL;
	role_cache_put(&c, &r, 2000);
	assert_true(role_cache_get(&c, ROLE, 2001, &got));
	assert_int_equal(got.grants, RBAC_ACT_ALL);
	assert_int_equal(c.count, 1);
	/* full: the entry expiring first gives way */
	for (int i = 0; i < ROLE_CACHE_MAX + 5; i++) {
		struct rbac_role x = {"", "x", 0};
		snprintf(x.guid, sizeof(x.guid), "00000000-0000-4000-8000-%012d", i);
		role_cache_put(&c, &x, 3000 + i);
	}
	assert_int_equal(c.count, ROLE_CACHE_MAX);
	assert_false(role_cache_get(&c, ROLE, 3000, &got));
	assert_true(role_cache_get(&c, "00000000-0000-4000-8000-000000000132", 3200, &got));
	role_cache_destroy(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_assignment_pages),   cmocka_unit_test(test_assignment_fields),
	    cmocka_unit_test(test_assignment_caps),    cmocka_unit_test(test_roles),
	    cmocka_unit_test(test_role_caps),          cmocka_unit_test(test_deny_pages),
	    cmocka_unit_test(test_deny_principal_cap), cmocka_unit_test(test_guid),
	    cmocka_unit_test(test_roledef_ids),        cmocka_unit_test(test_scope_covers),
	    cmocka_unit_test(test_vm_resource_ids),    cmocka_unit_test(test_role_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_machine.c - the machine kinds of issue 17: Uniform scale-set instance
 * ids split into instance, set and fallback scope; the cached scope keeps the
 * kind (and refuses a file whose set disagrees); the Arc agent's
 * configuration file parsed strictly.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc_meta.h"
#include "machine_kind.h"
#include "rbac.h"
#include "rbac_match.h"
#include "scope_snap.h"
#include "vm_cache.h"

#define SUB     "0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40"
#define TENANT  "5c1e8a7d-3f0b-4e42-9a6d-2b7f4c0d9e11"
#define RG      "/subscriptions/" SUB "/resourceGroups/rg-1"
#define SET     RG "/providers/Microsoft.Compute/virtualMachineScaleSets/web"
#define INST    SET "/virtualMachines/42"
#define VM      RG "/providers/Microsoft.Compute/virtualMachines/web_a1b2"
#define MACHINE RG "/providers/Microsoft.HybridCompute/machines/arc-1"
#define BASE    "http://169.254.169.254"

static void test_uniform_split(void **state)
{
	struct vm_info v;
	char what[200];

	(void)state;
	memset(&v, 0, sizeof(v));
	assert_true(vm_info_split(INST, false, &v));
	assert_int_equal(v.kind, MACHINE_UNIFORM);
	assert_false(v.arc);
	assert_string_equal(v.scale_set, "web");
	assert_string_equal(v.instance_id, "42");
	assert_string_equal(v.name, "web_42");
	assert_string_equal(v.resource_group, "rg-1");
	assert_string_equal(v.subscription_id, SUB);
	assert_string_equal(v.set_scope, SET);
	assert_string_equal(machine_kind_name(v.kind), "uniform");
	machine_describe(&v, what, sizeof(what));
	assert_string_equal(what, "instance 42 of Uniform scale set web");
	assert_string_equal(machine_login_action(&v), RBAC_ACTION_LOGIN);
	/* The set itself is not a machine, nor is an Arc-shaped reading of an instance. */
	assert_false(vm_info_split(SET, false, &v));
	assert_false(vm_info_split(INST, true, &v));
	/* A VM clears what an earlier Uniform split left behind. */
	assert_true(vm_info_split(VM, false, &v));
	assert_int_equal(v.kind, MACHINE_VM);
	assert_string_equal(v.scale_set, "");
	assert_string_equal(v.set_scope, "");
	assert_true(vm_info_split(MACHINE, true, &v));
	assert_int_equal(v.kind, MACHINE_ARC);
	assert_string_equal(machine_login_action(&v), RBAC_ACTION_ARC_LOGIN);
	assert_string_equal(machine_admin_action(&v), RBAC_ACTION_ARC_ADMIN);
}

/* Format, parse back, compare the kind-related fields. */
static void round_trip(const char *id, bool arc, const char *set, enum machine_kind want)
{
	struct vm_info v, back;
	char *text;

	memset(&v, 0, sizeof(v));
	assert_true(vm_info_split(id, arc, &v));
	if (set[0] != '\0' && v.kind == MACHINE_VM) { /* what parse_instance does with vmScaleSetName */
		v.kind = MACHINE_FLEXIBLE;
		snprintf(v.scale_set, sizeof(v.scale_set), "%s", set);
	}
	snprintf(v.vm_id, sizeof(v.vm_id), "e4a7c2f1-8b3d-4d6e-9f10-a2b4c6d8e0f3");
	text = vm_cache_format(&v, BASE, 1000);
	assert_non_null(text);
	assert_true(vm_cache_parse(text, strlen(text), BASE, arc, 1001, &back));
	assert_int_equal(back.kind, want);
	assert_string_equal(back.resource_id, id);
	assert_string_equal(back.scale_set, v.scale_set);
	assert_string_equal(back.set_scope, v.set_scope);
	assert_string_equal(back.vm_id, v.vm_id);
	free(text);
}

static void test_vm_cache_kinds(void **state)
{
	const char *bad_set = "azmi-vm-info 2\nbase " BASE "\narc 0\ntime 1000\nresource_id " INST
	                      "\nvm_id x\naz_environment \nscale_set other\n";
	const char *arc_set = "azmi-vm-info 2\nbase " BASE "\narc 1\ntime 1000\nresource_id " MACHINE
	                      "\nvm_id x\naz_environment \nscale_set web\n";
	const char *v1 =
	    "azmi-vm-info 1\nbase " BASE "\narc 0\ntime 1000\nresource_id " VM "\nvm_id x\naz_environment \n";
	struct vm_info out;

	(void)state;
	round_trip(VM, false, "", MACHINE_VM);
	round_trip(VM, false, "web", MACHINE_FLEXIBLE);
	round_trip(INST, false, "web", MACHINE_UNIFORM);
	round_trip(MACHINE, true, "", MACHINE_ARC);
	assert_false(vm_cache_parse(bad_set, strlen(bad_set), BASE, false, 1001, &out));
	assert_false(vm_cache_parse(arc_set, strlen(arc_set), BASE, true, 1001, &out));
	/* A file of the earlier format (no kind) is simply not used: IMDS is asked again. */
	assert_false(vm_cache_parse(v1, strlen(v1), BASE, false, 1001, &out));
}

struct arc_row {
	const char *json;
	bool ok;
};

static void test_arc_agent_config(void **state)
{
	static const struct arc_row rows[] = {
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB
	     "\",\"tenantId\":\"" TENANT "\",\"location\":\"westeurope\",\"cloud\":\"AzureCloud\"}",
	     true},
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB "\"}", true},
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg-1\"}", false},
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"not-a-guid\"}",
	     false},
	    {"{\"resourceName\":\"arc/1\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB "\"}", false},
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg/../x\",\"subscriptionId\":\"" SUB "\"}",
	     false},
	    {"{\"resourceName\":\"\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB "\"}", false},
	    {"{\"resourceName\":1,\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB "\"}", false},
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB
	     "\",\"tenantId\":\"x\"}",
	     false},
	    {"{\"resourceName\":\"arc-1\",\"resourceGroup\":\"rg-1\",\"subscriptionId\":\"" SUB
	     "\",\"cloud\":\"Mars\"}",
	     false},
	    {"[]", false},
	    {"", false},
	    {"{\"resourceName\":\"arc-1\"", false},
	};
	struct vm_info v;
	char why[256];
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		azmi_err r = arc_meta_parse(rows[i].json, strlen(rows[i].json), &v, why, sizeof(why));
		CHECK(fails, (r == AZMI_OK) == rows[i].ok, "row %zu: %s (%s)", i, rows[i].json, why);
		if (r == AZMI_OK)
			CHECK(fails, v.kind == MACHINE_ARC && v.arc && strcmp(v.resource_id, MACHINE) == 0,
			      "row %zu: %s", i, v.resource_id);
	}
	assert_int_equal(arc_meta_parse(rows[0].json, strlen(rows[0].json), &v, why, sizeof(why)), AZMI_OK);
	assert_string_equal(v.az_environment, "AzurePublicCloud");
	assert_int_equal(arc_meta_read("/nonexistent/agentconfig.json", &v, why, sizeof(why)),
	                 AZMI_ERR_UNAVAILABLE);
	TABLE_DONE(fails);
}

#define USER_ROLE "fb879df8-f326-4884-b1cf-06f3ad86be52"
#define G1        "9a000000-0000-4000-8000-0000000000a1"

/* A small view: one group assignment at the set, one deny assignment at the resource group. */
static void make_view(struct scope_snap *s)
{
	static struct rbac_assignment a[1];
	static struct rbac_deny d[1];
	static struct rbac_principal p[1] = {{G1, true}};

	memset(s, 0, sizeof(*s));
	memset(a, 0, sizeof(a));
	memset(d, 0, sizeof(d));
	snprintf(s->key, sizeof(s->key), "%s", INST);
	snprintf(s->scope, sizeof(s->scope), "%s", SET);
	snprintf(s->note, sizeof(s->note), "refused");
	s->made = 1000;
	s->refresh_at = 1150;
	s->expires = 1300;
	snprintf(a[0].roledef_id, sizeof(a[0].roledef_id),
	         "/subscriptions/" SUB "/providers/Microsoft.Authorization/roleDefinitions/" USER_ROLE);
	snprintf(a[0].roledef_guid, sizeof(a[0].roledef_guid), USER_ROLE);
	snprintf(a[0].principal_id, sizeof(a[0].principal_id), G1);
	snprintf(a[0].principal_type, sizeof(a[0].principal_type), "Group");
	snprintf(a[0].scope, sizeof(a[0].scope), SET);
	snprintf(d[0].name, sizeof(d[0].name), "no logins, with \"quotes\"");
	snprintf(d[0].scope, sizeof(d[0].scope), RG);
	d[0].denies = RBAC_ACT_LOGIN;
	d[0].principals = p;
	d[0].nprincipals = 1;
	s->list.assignments = a;
	s->list.nassignments = 1;
	s->list.denies = d;
	s->list.ndenies = 1;
	snprintf(s->roles[0].role.guid, sizeof(s->roles[0].role.guid), USER_ROLE);
	snprintf(s->roles[0].role.name, sizeof(s->roles[0].role.name), "Virtual Machine User Login");
	s->roles[0].role.grants = RBAC_ACT_LOGIN;
	s->roles[0].fetched = 900;
	s->nroles = 1;
}

static bool parses_as(const char *text, const char *key, int64_t now)
{
	struct scope_snap back;
	bool ok = scope_snap_parse(text, strlen(text), key, false, now, &back);

	if (ok)
		scope_snap_free(&back);
	return ok;
}

/* `text` with the first `from` replaced by `to` (static buffer). */
static const char *edited(const char *text, const char *from, const char *to)
{
	static char out[8192];
	const char *at = strstr(text, from);

	assert_non_null(at);
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return out;
}

static void test_scope_view_file(void **state)
{
	struct scope_snap s, back;
	char *text;

	(void)state;
	make_view(&s);
	text = scope_snap_format(&s);
	assert_non_null(text);
	assert_true(scope_snap_parse(text, strlen(text), INST, false, 1100, &back));
	assert_string_equal(back.scope, SET);
	assert_string_equal(back.note, "refused");
	assert_int_equal(back.list.nassignments, 1);
	assert_string_equal(back.list.assignments[0].roledef_guid, USER_ROLE);
	assert_string_equal(back.list.assignments[0].principal_type, "Group");
	assert_int_equal(back.list.ndenies, 1);
	assert_string_equal(back.list.denies[0].name, "no logins, with \"quotes\"");
	assert_true(back.list.denies[0].principals[0].group);
	assert_int_equal(back.nroles, 1);
	assert_int_equal(scope_snap_role(&back, USER_ROLE)->grants, RBAC_ACT_LOGIN);
	assert_int_equal(back.refresh_at, 1150);
	scope_snap_free(&back);
	/* Another machine's, another kind's, expired, from the future: not used. */
	assert_false(parses_as(text, VM, 1100));
	assert_false(scope_snap_parse(text, strlen(text), INST, true, 1100, &back));
	assert_false(parses_as(text, INST, 1300));
	assert_false(parses_as(text, INST, 900));
	/* Tampered fields are refused, never trusted. */
	assert_false(parses_as(edited(text, G1, "not-a-guid"), INST, 1100));
	assert_false(parses_as(edited(text, "/roleDefinitions/", "/roleDefinitionz/"), INST, 1100));
	assert_false(parses_as(edited(text, "\"scope\":\"/", "\"scope\":\"x"), INST, 1100));
	assert_false(parses_as(edited(text, ",1,[[", ",99,[["), INST, 1100));
	assert_false(parses_as(edited(text, "\"v\":1", "\"v\":2"), INST, 1100));
	assert_false(parses_as(edited(text, "\"per_user\":false", "\"per_user\":0"), INST, 1100));
	assert_false(parses_as(edited(text, "true]],[]]", "true,1]],[]]"), INST, 1100));
	assert_false(parses_as(edited(text, "\"refresh_at\":1150", "\"refresh_at\":1400"), INST, 1100));
	assert_false(parses_as("", INST, 1100));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uniform_split),
	    cmocka_unit_test(test_vm_cache_kinds),
	    cmocka_unit_test(test_arc_agent_config),
	    cmocka_unit_test(test_scope_view_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uniform_split),
	    cmocka_unit_test(test_vm_cache_kinds),
	    cmocka_unit_test(test_arc_agent_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

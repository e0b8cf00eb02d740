/* test_rbac_match.c - Azure permission patterns against actions (rbac_action_match, rbac_pattern_mask). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rbac.h"
#include "rbac_match.h"

#define LOGIN     RBAC_ACTION_LOGIN
#define ADMIN     RBAC_ACTION_ADMIN
#define ARC_LOGIN RBAC_ACTION_ARC_LOGIN
#define ARC_ADMIN RBAC_ACTION_ARC_ADMIN

struct match_row {
	const char *pattern;
	const char *action;
	bool match;
};

static const struct match_row match_rows[] = {
    /* exact, and case-insensitive as Azure is */
    {LOGIN, LOGIN, true},
    {"microsoft.compute/virtualmachines/login/action", LOGIN, true},
    {"MICROSOFT.COMPUTE/VIRTUALMACHINES/LOGIN/ACTION", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/LOGIN/Action", LOGIN, true},
    {LOGIN, ADMIN, false},
    {ADMIN, LOGIN, false},
    {ADMIN, ADMIN, true},
    {ARC_LOGIN, LOGIN, false},
    {LOGIN, ARC_LOGIN, false},
    /* everything */
    {"*", LOGIN, true},
    {"*", ARC_ADMIN, true},
    {"**", LOGIN, true},
    {"***", ADMIN, true},
    /* provider wildcards */
    {"Microsoft.Compute/*", LOGIN, true},
    {"Microsoft.Compute/*", ADMIN, true},
    {"microsoft.compute/*", LOGIN, true},
    {"Microsoft.Compute/*", ARC_LOGIN, false},
    {"Microsoft.HybridCompute/*", ARC_LOGIN, true},
    {"Microsoft.HybridCompute/*", LOGIN, false},
    {"Microsoft.Storage/*", LOGIN, false},
    {"Microsoft.Computer/*", LOGIN, false},
    {"Microsoft.Comput/*", LOGIN, false},
    {"Microsoft.Compute*", LOGIN, true}, /* a star crosses the '/' */
    {"Microsoft.Comp*", LOGIN, true},
    {"Microsoft.*", LOGIN, true},
    {"Microsoft*", ARC_ADMIN, true},
    /* resource type wildcards */
    {"Microsoft.Compute/virtualMachines/*", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/*", ADMIN, true},
    {"Microsoft.Compute/virtualMachineScaleSets/*", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/*/action", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/*/action", ADMIN, true},
    {"Microsoft.Compute/virtualMachines/*/read", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/*/*", LOGIN, true},
    {"Microsoft.Compute/*/login/action", LOGIN, true},
    {"Microsoft.Compute/*/login/action", ADMIN, false},
    {"Microsoft.Compute/*/*/action", LOGIN, true},
    {"Microsoft.Compute/*/action", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/read", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/*", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/login/*", ADMIN, false},
    {"Microsoft.Compute/virtualMachines/loginAsAdmin/*", ADMIN, true},
    {"Microsoft.Compute/virtualMachines/loginAsAdmin/*", LOGIN, false},
    /* a star inside a segment, and its reach into the next ones */
    {"Microsoft.Compute/virtualMachines/login*", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/login*", ADMIN, true},
    {"Microsoft.Compute/virtualMachines/log*/action", ADMIN, true},
    {"Microsoft.Compute/virtualMachines/login*/action", ADMIN, true},
    {"Microsoft.Compute/virtualMachines/*Admin/action", ADMIN, true},
    {"Microsoft.Compute/virtualMachines/*Admin/action", LOGIN, false},
    {"Microsoft.Compute/virtual*/login/action", LOGIN, true},
    {"Microsoft.Compute/*Machines/login/action", LOGIN, true},
    {"Microsoft.Compute/*Machines/login/action", ARC_LOGIN, false},
    {"Microsoft.C*e/v*s/l*n/a*n", LOGIN, true},
    {"*Compute*login*", LOGIN, true},
    {"*Compute*login*", ARC_LOGIN, true}, /* HybridCompute/machines/login/action */
    {"*s/login/action", LOGIN, true},
    {"*s/login/action", ARC_LOGIN, true},
    {"*/machines/*", ARC_LOGIN, true},
    {"*/machines/*", LOGIN, false}, /* "virtualMachines" is not "/machines" */
    {"*machines/*", LOGIN, true},   /* ... but "*machines" is, case-insensitively */
    /* leading stars */
    {"*/login/action", LOGIN, true},
    {"*/login/action", ARC_LOGIN, true},
    {"*/login/action", ADMIN, false},
    {"*/action", LOGIN, true},
    {"*action", ADMIN, true},
    {"*/loginAsAdmin/action", ARC_ADMIN, true},
    {"*/read", LOGIN, false},
    {"*/*/*/*", LOGIN, true},    /* three slashes in the action: four parts */
    {"*/*/*/*/*", LOGIN, false}, /* a literal '/' the action does not have */
    {"*/*/*/*/*/*", ARC_LOGIN, false},
    /* the star matches nothing too */
    {"Microsoft.Compute/virtualMachines/login/action*", LOGIN, true},
    {"*Microsoft.Compute/virtualMachines/login/action", LOGIN, true},
    {"Microsoft.Compute/virtualMachines/login*/action", LOGIN, true},
    /* no star: whole string only */
    {"Microsoft.Compute", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/actio", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/action/", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/actions", LOGIN, false},
    {" Microsoft.Compute/virtualMachines/login/action", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/action ", LOGIN, false},
    {"Microsoft.Compute//virtualMachines/login/action", LOGIN, false},
    /* only '*' is special */
    {"?icrosoft.Compute/virtualMachines/login/action", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/acti?n", LOGIN, false},
    {"Microsoft.Compute/virtualMachines/login/[a]ction", LOGIN, false},
    {"Microsoft.Compute.virtualMachines.login.action", LOGIN, false},
    {"Microsoft%2ECompute/virtualMachines/login/action", LOGIN, false},
    /* empty */
    {"", LOGIN, false},
    {"", "", true},
    {"*", "", true},
    {"a", "", false},
    /* not letters: case folding is ASCII only */
    {"Micr\xc3\xb6soft.Compute/*", LOGIN, false},
    {"MICROSOFT.COMPUTE/VIRTUALMACHINES/LOGIN/ACTION", "microsoft.compute/virtualmachines/login/action",
     true},
};

static void test_match_table(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
		const struct match_row *r = &match_rows[i];
		bool got = rbac_action_match(r->pattern, strlen(r->pattern), r->action, strlen(r->action));
		CHECK(fails, got == r->match, "row %zu: \"%s\" vs \"%s\": got %d", i, r->pattern, r->action,
		      got);
	}
	TABLE_DONE(fails);
}

/* Lengths are honoured: no NUL is needed, and nothing past them is read. */
static void test_match_lengths(void **state)
{
	const char pattern[] = "Microsoft.Compute/*XXXX";
	const char action[] = "Microsoft.Compute/virtualMachines/login/actionYYYY";

	(void)state;
	assert_true(rbac_action_match(pattern, strlen(pattern) - 4, action, strlen(action) - 4));
	assert_false(rbac_action_match(pattern, strlen(pattern), action, strlen(action) - 4));
	assert_true(rbac_action_match("*", 1, action, 0));
	assert_false(rbac_action_match("", 0, action, 1));
}

struct mask_row {
	const char *pattern;
	unsigned int mask;
};

static const struct mask_row mask_rows[] = {
    {"*", RBAC_ACT_ALL},
    {"*/action", RBAC_ACT_ALL},
    {"Microsoft.Compute/*", RBAC_ACT_LOGIN | RBAC_ACT_ADMIN},
    {"Microsoft.Compute/virtualMachines/*", RBAC_ACT_LOGIN | RBAC_ACT_ADMIN},
    {"Microsoft.HybridCompute/*", RBAC_ACT_ARC_LOGIN | RBAC_ACT_ARC_ADMIN},
    {"Microsoft.HybridCompute/machines/login/action", RBAC_ACT_ARC_LOGIN},
    {"*/login/action", RBAC_ACT_LOGIN | RBAC_ACT_ARC_LOGIN},
    {"*/loginAsAdmin/action", RBAC_ACT_ADMIN | RBAC_ACT_ARC_ADMIN},
    {"*login*", RBAC_ACT_ALL},
    {"*Admin*", RBAC_ACT_ADMIN | RBAC_ACT_ARC_ADMIN},
    {RBAC_ACTION_LOGIN, RBAC_ACT_LOGIN},
    {RBAC_ACTION_ADMIN, RBAC_ACT_ADMIN},
    {"Microsoft.Compute/virtualMachines/read", 0},
    {"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", 0},
    {"Microsoft.Compute/*/read", 0},
    {"*/read", 0},
    {"", 0},
};

static void test_mask_table(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(mask_rows) / sizeof(mask_rows[0]); i++) {
		unsigned int got = rbac_pattern_mask(mask_rows[i].pattern, strlen(mask_rows[i].pattern));
		CHECK(fails, got == mask_rows[i].mask, "\"%s\": mask %#x, want %#x", mask_rows[i].pattern,
		      got, mask_rows[i].mask);
	}
	TABLE_DONE(fails);
}

static void test_action_names(void **state)
{
	(void)state;
	assert_string_equal(rbac_action_name(RBAC_ACT_LOGIN), RBAC_ACTION_LOGIN);
	assert_string_equal(rbac_action_name(RBAC_ACT_ADMIN), RBAC_ACTION_ADMIN);
	assert_string_equal(rbac_action_name(RBAC_ACT_ARC_LOGIN), RBAC_ACTION_ARC_LOGIN);
	assert_string_equal(rbac_action_name(RBAC_ACT_ARC_ADMIN), RBAC_ACTION_ARC_ADMIN);
	assert_null(rbac_action_name(0));
	assert_null(rbac_action_name(RBAC_ACT_LOGIN | RBAC_ACT_ADMIN));
}

/* Patterns made to backtrack stay cheap: at most the maximum length squared. */
static void test_match_worst_case(void **state)
{
	char pattern[RBAC_MAX_PATTERN + 1], action[RBAC_MAX_PATTERN + 1];
	struct timespec t0, t1;
	double ms;

	(void)state;
	for (size_t i = 0; i < RBAC_MAX_PATTERN; i++) {
		pattern[i] = i % 2 ? 'a' : '*';
		action[i] = 'a';
	}
	pattern[RBAC_MAX_PATTERN - 1] = 'b';
	pattern[RBAC_MAX_PATTERN] = action[RBAC_MAX_PATTERN] = '\0';
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int n = 0; n < 100; n++)
		assert_false(rbac_action_match(pattern, RBAC_MAX_PATTERN, action, RBAC_MAX_PATTERN));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	/* 100 runs of at most 512 * 512 steps; generous for slow sanitiser and valgrind runs. */
	assert_true(ms < 20000.0);
	action[RBAC_MAX_PATTERN - 1] = 'b';
	assert_true(rbac_action_match(pattern, RBAC_MAX_PATTERN, action, RBAC_MAX_PATTERN));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_match_table),      cmocka_unit_test(test_match_lengths),
	    cmocka_unit_test(test_mask_table),       cmocka_unit_test(test_action_names),
	    cmocka_unit_test(test_match_worst_case),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

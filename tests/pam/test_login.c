/*
 * test_login.c - table-driven unit tests of the login modules' local logic:
 * settings, name shapes, the map parser, the UID scheme, the decision file
 * parser and the error-to-outcome mapping.  Built as $(BUILD)/tests/test_login
 * by pam_azmi/build.mk, so suite 10-unit runs it with the core's tests.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "dcache.h"
#include "decide.h"
#include "login_conf.h"
#include "principal.h"
#include "names.h"
#include "uidmap.h"

static void test_settings(void **state)
{
	static const struct {
		const char *key, *value;
		enum lconf_result want;
	} cases[] = {
	    {"allowed_domains", "contoso.com, Fabrikam.COM @x.example", LCONF_OK},
	    {"allowed_domains", "", LCONF_OK},
	    {"allowed_domains", "bad_domain.com", LCONF_BAD_VALUE},
	    {"allowed_domains", ".contoso.com", LCONF_BAD_VALUE},
	    {"allowed_domains", "a..b", LCONF_BAD_VALUE},
	    {"uid_range", "70000-99999", LCONF_OK},
	    {"uid_range", "1000-1002", LCONF_OK},
	    {"uid_range", "1000-1001", LCONF_BAD_VALUE},
	    {"uid_range", "999-2000", LCONF_BAD_VALUE},
	    {"uid_range", "5000-5000", LCONF_BAD_VALUE},
	    {"uid_range", "5000", LCONF_BAD_VALUE},
	    {"uid_range", "5000-2147483647", LCONF_BAD_VALUE},
	    {"uid_range", " 5000-6000", LCONF_BAD_VALUE},
	    {"cache_ttl", "0", LCONF_OK},
	    {"cache_ttl", "86400", LCONF_OK},
	    {"cache_ttl", "86401", LCONF_BAD_VALUE},
	    {"cache_ttl", "-1", LCONF_BAD_VALUE},
	    {"cache_ttl", "5m", LCONF_BAD_VALUE},
	    {"offline_grace", "3600", LCONF_OK},
	    {"admin_group", "azmi-admins", LCONF_OK},
	    {"admin_group", "_x9", LCONF_OK},
	    {"admin_group", "Admins", LCONF_BAD_VALUE},
	    {"admin_group", "a b", LCONF_BAD_VALUE},
	    {"admin_group", "a23456789012345678901234567890123", LCONF_BAD_VALUE},
	    {"user_map", "/etc/azmi-users", LCONF_OK},
	    {"user_map", "etc/azmi-users", LCONF_BAD_VALUE},
	    {"upn_suffix", "@contoso.com", LCONF_OK},
	    {"upn_suffix", "contoso", LCONF_OK},
	    {"upn_suffix", "con toso.com", LCONF_BAD_VALUE},
	    {"config", "/etc/other.conf", LCONF_OK},
	    {"config", NULL, LCONF_BAD_VALUE},
	    {"debug", NULL, LCONF_OK},
	    {"frobnicate", "1", LCONF_UNKNOWN_KEY},
	    /* the auth phase (issue 6) */
	    {"tenant", "72F988BF-86f1-41af-91ab-2d7cd011db47", LCONF_OK},
	    {"tenant", "", LCONF_OK},
	    {"tenant", "contoso.onmicrosoft.com", LCONF_BAD_VALUE},
	    {"tenant", "../x", LCONF_BAD_VALUE},
	    {"authority", "https://login.microsoftonline.us/", LCONF_OK},
	    {"authority", "http://login.microsoftonline.com", LCONF_BAD_VALUE},
	    {"authority", "https://x/?q", LCONF_BAD_VALUE},
	    {"audiences", "api://vm1, https://vm1.contoso.com", LCONF_OK},
	    {"audiences", "a b c d e f g h i", LCONF_BAD_VALUE},
	    {"audiences", "\"quoted\"", LCONF_BAD_VALUE},
	    {"require", "rbac", LCONF_OK},
	    {"require", "token", LCONF_OK},
	    {"require", "both", LCONF_OK},
	    {"require", "either", LCONF_BAD_VALUE},
	    {"required_roles", "VM.Login", LCONF_OK},
	    {"admin_roles", "VM.Admin, Ops.Admin", LCONF_OK},
	    {"required_groups", "0f0f0f0f-1111-4222-8333-000000000101", LCONF_OK},
	    {"required_groups", "vm-logins", LCONF_BAD_VALUE},
	};
	struct login_conf c;
	char why[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		login_conf_init(&c);
		why[0] = '\0';
		enum lconf_result r = login_conf_set(&c, cases[i].key, cases[i].value, why, sizeof(why));
		if (r != cases[i].want)
			fail_msg("%s = %s: got %d, want %d (%s)", cases[i].key,
			         cases[i].value ? cases[i].value : "(none)", (int)r, (int)cases[i].want, why);
		if (r != LCONF_OK)
			assert_true(why[0] != '\0');
	}
	login_conf_init(&c);
	assert_int_equal(
	    login_conf_set(&c, "allowed_domains", "contoso.com, Fabrikam.COM @x.example", why, sizeof(why)),
	    LCONF_OK);
	assert_int_equal(c.ndomains, 3);
	assert_string_equal(c.domains[1], "fabrikam.com");
	assert_true(login_conf_domain_allowed(&c, "FABRIKAM.com", 12));
	assert_false(login_conf_domain_allowed(&c, "fabrikam.co", 11));
	assert_int_equal(login_conf_set(&c, "uid_range", "1000-1002", why, sizeof(why)), LCONF_OK);
	assert_int_equal(c.uid_min, 1000);
	assert_int_equal(c.uid_max, 1002);
	assert_int_equal(
	    login_conf_set(&c, "tenant", "72F988BF-86f1-41af-91ab-2d7cd011db47", why, sizeof(why)), LCONF_OK);
	assert_string_equal(c.tenant, "72f988bf-86f1-41af-91ab-2d7cd011db47");
	assert_int_equal(
	    login_conf_set(&c, "authority", "https://login.microsoftonline.us//", why, sizeof(why)),
	    LCONF_OK);
	assert_string_equal(c.authority, "https://login.microsoftonline.us");
	assert_int_equal(login_conf_set(&c, "admin_roles", "VM.Admin, Ops.Admin", why, sizeof(why)),
	                 LCONF_OK);
	assert_int_equal(c.nadmin_roles, 2);
	assert_string_equal(c.admin_roles[1], "Ops.Admin");
	assert_int_equal(login_conf_set(&c, "require", "both", why, sizeof(why)), LCONF_OK);
	assert_int_equal(c.require, LOGIN_REQUIRE_BOTH);
}

static void test_name_shapes(void **state)
{
	(void)state;
	assert_true(principal_is_guid("0f0f0f0f-1111-4222-8333-000000000001"));
	assert_true(principal_is_guid("ABCDEF01-1111-4222-8333-000000000001"));
	assert_false(principal_is_guid("0f0f0f0f-1111-4222-8333-00000000001"));
	assert_false(principal_is_guid("0f0f0f0f-1111-4222-8333-0000000000011"));
	assert_false(principal_is_guid("0f0f0f0f1111-4222-8333-000000000001-"));
	assert_false(principal_is_guid("g0f0f0f0-1111-4222-8333-000000000001"));
	assert_true(principal_is_upn("alice@contoso.com"));
	assert_true(principal_is_upn("o'brien@contoso.com"));
	assert_true(principal_is_upn("bob_gmail.com#EXT#@contoso.onmicrosoft.com"));
	assert_false(principal_is_upn("alice@contoso"));
	assert_false(principal_is_upn("@contoso.com"));
	assert_false(principal_is_upn("a@b@contoso.com"));
	assert_false(principal_is_upn("al ice@contoso.com"));
	assert_false(principal_is_upn("alice@contoso..com"));
	assert_false(principal_is_upn("alice/x@contoso.com"));
	assert_true(principal_name_ok("alice@contoso.com"));
	assert_true(principal_name_ok("deploy"));
	assert_false(principal_name_ok(""));
	assert_false(principal_name_ok("-rf"));
	assert_false(principal_name_ok(".hidden"));
	assert_false(principal_name_ok("a:b"));
	assert_false(principal_name_ok("a/b"));
	assert_false(principal_name_ok("a b"));
	assert_false(principal_name_ok("caf\xc3\xa9"));
}

static void test_map_parse(void **state)
{
	static const struct {
		const char *text, *user;
		int want;
		const char *id;
	} cases[] = {
	    {"deploy alice@contoso.com\n", "deploy", 1, "alice@contoso.com"},
	    {"# c\n\n  deploy\tAlice@Contoso.com   # who\n", "deploy", 1, "alice@contoso.com"},
	    {"ops 0F0F0F0F-1111-4222-8333-000000000001\n", "ops", 1, "0f0f0f0f-1111-4222-8333-000000000001"},
	    {"bg -\n", "bg", 1, "-"},
	    {"deploy alice@contoso.com\n", "other", 0, ""},
	    {"deploy alice@contoso.com\r\n", "deploy", 1, "alice@contoso.com"},
	    {"deploy\n", "deploy", -EINVAL, ""},
	    {"deploy alice@contoso.com extra\n", "deploy", -EINVAL, ""},
	    {"deploy not-a-principal\n", "deploy", -EINVAL, ""},
	    {"deploy alice@contoso.com\nbroken\n", "deploy", -EINVAL, ""},
	    {"bad:name alice@contoso.com\n", "x", -EINVAL, ""},
	    {"a b@c.example\na d@c.example\n", "a", 1, "b@c.example"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct principal p;
		char *text = strdup(cases[i].text);
		memset(&p, 0, sizeof(p));
		bool found = false;
		int r = principal_map_parse("map", text, cases[i].user, &p, &found);
		/* want: 1 found, 0 absent, -EINVAL refused */
		if ((r < 0 ? r : (int)found) != cases[i].want)
			fail_msg("case %zu: got %d (found %d), want %d (%s)", i, r, found, cases[i].want,
			         p.why);
		assert_true(r == 0 || !found);
		if (found)
			assert_string_equal(p.id, cases[i].id);
		if (r < 0)
			assert_non_null(strstr(p.why, "map:"));
		free(text);
	}
}

static void test_resolve(void **state)
{
	struct login_conf c;
	struct principal p;
	char why[128];

	(void)state;
	login_conf_init(&c);
	login_conf_set(&c, "allowed_domains", "contoso.com", why, sizeof(why));
	assert_int_equal(principal_resolve(&c, "Alice@Contoso.COM", -1, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_NAME);
	assert_string_equal(p.id, "alice@contoso.com");
	assert_string_equal(p.user, "alice@contoso.com");
	assert_int_equal(principal_resolve(&c, "alice@fabrikam.com", -1, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_NONE);
	assert_int_equal(principal_resolve(&c, "alice", 1500, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_NONE);
	login_conf_set(&c, "upn_suffix", "contoso.com", why, sizeof(why));
	assert_int_equal(principal_resolve(&c, "Alice", 1500, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_SUFFIX);
	assert_string_equal(p.id, "alice@contoso.com");
	assert_string_equal(p.user, "Alice");
	assert_int_equal(principal_resolve(&c, "root", 0, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_NONE);
	assert_int_equal(principal_resolve(&c, "daemon", 1, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_NONE);
	assert_int_equal(principal_resolve(&c, "newuser", -1, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_SUFFIX);
	login_conf_set(&c, "user_map", "/nonexistent/azmi-users", why, sizeof(why));
	assert_int_equal(principal_resolve(&c, "alice", 1500, &p), -ENOENT);
	assert_non_null(strstr(p.why, "/nonexistent/azmi-users"));
}

static void test_uid_scheme(void **state)
{
	struct login_conf c;
	struct uid_table t = {0};
	uint32_t taken[] = {70002}, uid, first;
	struct local_ids ids = {taken, 1};
	const char *in2 = NULL, *in3 = NULL;
	char text[] =
	    "pinned@contoso.com:71234\nbad line\nx:999\ndup@contoso.com:75000\ndup@contoso.com:75001\n"
	    "other@contoso.com:75000\nbound@contoso.com:75002:0F0F0F0F-1111-4222-8333-000000000001\n"
	    "badoid@contoso.com:75003:not-an-oid\nalias@contoso.com:75004:0f0f0f0f-1111-4222-8333-"
	    "000000000001\n";
	char names[64][32];

	(void)state;
	assert_int_equal(uidmap_hash(""), 0x811c9dc5u);
	assert_int_equal(uidmap_hash("a"), 0xe40c292cu);
	assert_int_equal(uidmap_hash("foobar"), 0xbf9cf968u);
	assert_int_equal(uidmap_hash("FooBar"), 0xbf9cf968u);
	login_conf_init(&c);
	assert_int_equal(uidtab_parse(&t, text), 0);
	/* the bad line, the low uid, both duplicates and the bad object id skipped; an oid may have two names */
	assert_int_equal(t.n, 4);
	assert_string_equal(uidtab_find_name(&t, "bound@contoso.com")->oid,
	                    "0f0f0f0f-1111-4222-8333-000000000001");
	assert_string_equal(uidtab_find_name(&t, "pinned@contoso.com")->oid, "");
	assert_null(uidtab_find_name(&t, "badoid@contoso.com"));
	assert_int_equal(uidmap_assign(&c, &t, &ids, "pinned@contoso.com", &uid), 0);
	assert_int_equal(uid, 71234);
	assert_int_equal(uidmap_assign(&c, &t, &ids, "alice@contoso.com", &first), 0);
	assert_int_equal(first, 70002 + uidmap_hash("alice@contoso.com") % 29998);
	assert_int_equal(first, uidmap_slot(&c, "alice@contoso.com"));
	/* A tiny range: 70000 and 70001 are the groups, 70002 is taken locally, 70003 is free. */
	login_conf_set(&c, "uid_range", "70000-70003", NULL, 0);
	for (int i = 0; i < 64 && (in2 == NULL || in3 == NULL); i++) {
		snprintf(names[i], sizeof(names[i]), "user%d@contoso.com", i);
		if (uidmap_slot(&c, names[i]) == 70002 && in2 == NULL)
			in2 = names[i];
		else if (uidmap_slot(&c, names[i]) == 70003 && in3 == NULL)
			in3 = names[i];
	}
	assert_non_null(in2);
	assert_non_null(in3);
	/* No probing: a taken slot is refused, never moved; a pin is suggested instead. */
	assert_int_equal(uidmap_assign(&c, &t, &ids, in2, &uid), -EADDRINUSE);
	assert_int_equal(uidmap_suggest(&c, &t, &ids, in2), 70003);
	assert_int_equal(uidmap_assign(&c, &t, &ids, in3, &uid), 0);
	assert_int_equal(uid, 70003);
	uint32_t both[] = {70002, 70003};
	ids.ids = both;
	ids.n = 2;
	assert_int_equal(uidmap_assign(&c, &t, &ids, in3, &uid), -EADDRINUSE);
	assert_int_equal(uidmap_suggest(&c, &t, &ids, in3), 0); /* full */
	assert_int_equal(login_conf_set(&c, "uid_range", "70000-70001", NULL, 0), LCONF_BAD_VALUE);
	uidtab_free(&t);
}

static void test_names(void **state)
{
	struct login_conf c;
	struct principal p;
	char why[320];

	(void)state;
	login_conf_init(&c);
	login_conf_set(&c, "allowed_domains", "contoso.com", why, sizeof(why));
	/* One canonical name, whatever the case typed. */
	assert_int_equal(principal_resolve(&c, "ALICE@Contoso.COM", -1, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_NAME);
	assert_string_equal(p.user, "alice@contoso.com");
	assert_false(p.local);
	login_conf_set(&c, "upn_suffix", "contoso.com", why, sizeof(why));
	assert_int_equal(principal_resolve(&c, "Carol", -1, &p), 0);
	assert_int_equal(p.via, PRINCIPAL_SUFFIX);
	assert_string_equal(p.user, "carol");
	/* Names with a meaning on the machine are never an Entra user's. */
	static const char *const refused[] = {"docker", "ADMIN",  "sudo",        "Wheel",       "adm",
	                                      "lxd",    "staff",  "systemd-foo", "azmi-admins", "azmi-users",
	                                      "ROOT",   "Daemon", "wheel-azure"};
	login_conf_set(&c, "admin_group", "wheel-azure", why, sizeof(why));
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(principal_resolve(&c, refused[i], -1, &p), 0);
		assert_int_equal(p.via, PRINCIPAL_NONE);
		assert_true(p.refused);
		assert_non_null(strstr(p.why, "never served"));
	}
	/* A local account keeps its name and is not refused (pam_azmi decides, nss_azmi does not serve it). */
	assert_int_equal(principal_resolve(&c, "root", 0, &p), 0);
	assert_false(p.refused);
	assert_true(p.local);
	assert_false(names_servable(&c, "azmi-users", why, sizeof(why)));
	assert_true(names_servable(&c, "carol", why, sizeof(why)));
	assert_int_equal(login_conf_set(&c, "admin_group", "azmi-users", why, sizeof(why)), LCONF_BAD_VALUE);
}

static void test_dcache_parse(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
	    {"azmi-decision 1\nuser a\nprincipal a@b.c\nlevel 1\ntime 5\n", 0},
	    {"azmi-decision 1\nuser a\nprincipal a@b.c\nlevel 2\ntime 5\nrole R R\nscope /s\n", 0},
	    {"azmi-decision 2\nuser a\nprincipal a@b.c\nlevel 1\ntime 5\n", -EINVAL},
	    {"azmi-decision 1\nuser a\nprincipal a@b.c\nlevel 3\ntime 5\n", -EINVAL},
	    {"azmi-decision 1\nuser a\nprincipal a@b.c\nlevel 1\ntime -5\n", -EINVAL},
	    {"azmi-decision 1\nuser a\nlevel 1\ntime 5\n", -EINVAL},
	    {"azmi-decision 1\nuser a\nprincipal a@b.c\nlevel 1\n", -EINVAL},
	    {"azmi-decision 1\nnospace\n", -EINVAL},
	    {"", -EINVAL},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dcache_entry e;
		char *text = strdup(cases[i].text);
		int r = dcache_parse(text, &e);
		if (r != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, r, cases[i].want);
		free(text);
	}
}

static void test_outcomes(void **state)
{
	static const struct {
		azmi_err e;
		long status;
		enum login_outcome want;
		bool grace;
	} cases[] = {
	    {AZMI_ERR_UNAVAILABLE, 0, LOGIN_UNREACHABLE, true},
	    {AZMI_ERR_ENDPOINT, 502, LOGIN_UNREACHABLE, true},
	    {AZMI_ERR_TIMEOUT, 0, LOGIN_UNREACHABLE, true},
	    {AZMI_ERR_REFUSED, 429, LOGIN_UNREACHABLE, true},
	    {AZMI_ERR_REFUSED, 503, LOGIN_UNREACHABLE, true},
	    {AZMI_ERR_REFUSED, 403, LOGIN_UNREACHABLE, false},
	    {AZMI_ERR_PROTOCOL, 200, LOGIN_UNREACHABLE, false},
	    {AZMI_ERR_CONFIG, 0, LOGIN_CONFIG, false},
	    {AZMI_ERR_USAGE, 0, LOGIN_CONFIG, false},
	    {AZMI_ERR_NOMEM, 0, LOGIN_INTERNAL, false},
	    {AZMI_ERR_SYSTEM, 0, LOGIN_INTERNAL, false},
	    {AZMI_ERR_CACHE, 0, LOGIN_INTERNAL, false},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool grace = !cases[i].grace;
		assert_int_equal(login_outcome_of(cases[i].e, cases[i].status, &grace), cases[i].want);
		assert_int_equal(grace, cases[i].grace);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_settings),     cmocka_unit_test(test_name_shapes),
	    cmocka_unit_test(test_map_parse),    cmocka_unit_test(test_resolve),
	    cmocka_unit_test(test_uid_scheme),   cmocka_unit_test(test_names),
	    cmocka_unit_test(test_dcache_parse), cmocka_unit_test(test_outcomes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

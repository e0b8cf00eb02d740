/*
 * test_decide.c - the fail-closed login decision and its offline grace
 * (login/decide.c, dcache.c, the role cache), end to end through the real
 * instance metadata, Graph and Resource Manager code, with the exchange's
 * transport replaced by a fake Azure: each row is (what Azure answers, the
 * cached decision, the clock) -> (outcome, source, level, reason).
 */
#include "unit.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "dcache.h"
#include "decide.h"
#include "exchange.h"
#include "statefile.h"
#include "util.h"

#define SUB       "0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40"
#define VM_SCOPE  "/subscriptions/" SUB "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
#define OID       "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
#define OTHER_OID "11111111-2222-4333-8444-555555555555"
#define USER_ROLE "fb879df8-f326-4884-b1cf-06f3ad86be52"
#define ADM_ROLE  "1c0163c0-47e6-4577-8991-ea5c82e286e4"
#define RDID(g)   "/subscriptions/" SUB "/providers/Microsoft.Authorization/roleDefinitions/" g
#define UPN       "alice@contoso.com"
#define NOW       1900000000LL

/* What Resource Manager (or Graph) does in a row. */
enum answer {
	A_USER = 0, /* a user login role on the VM */
	A_ADMIN,    /* an admin login role */
	A_NONE,     /* no assignment */
	A_403,      /* refused */
	A_404,      /* not found */
	A_429,      /* throttled, every time */
	A_503,      /* failing, every time */
	A_DOWN,     /* nothing answers */
	A_GARBAGE,  /* 200 with nonsense */
};

static struct {
	enum answer arm, graph, metadata;
	int requests, role_fetches;
	int64_t mono; /* the fake monotonic clock: sleeps advance it */
} az;

static void body(struct http_response *r, const char *text)
{
	assert_true(buf_append(&r->body, text, strlen(text)));
}

/* A failure of kind `a` as the transport reports it; true when the row's answer is a failure. */
static bool failure(enum answer a, struct http_response *r, azmi_err *rc)
{
	*rc = AZMI_OK;
	switch (a) {
	case A_403:
		r->status = 403;
		body(r, "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"no\"}}");
		return true;
	case A_404:
		r->status = 404;
		body(r, "{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":\"no such object\"}}");
		return true;
	case A_429:
		r->status = 429;
		r->retry_after_ms = 1000;
		return true;
	case A_503:
		r->status = 503;
		return true;
	case A_DOWN:
		snprintf(r->curl_error, sizeof(r->curl_error), "Failed to connect: Connection refused");
		*rc = AZMI_ERR_UNAVAILABLE;
		return true;
	case A_GARBAGE:
		r->status = 200;
		body(r, "<html>captive portal</html>");
		return true;
	default:
		return false;
	}
}

static azmi_err fake_azure(const struct http_request *req, struct http_response *r)
{
	const char *u = req->url;
	char text[1024];
	azmi_err rc;

	az.requests++;
	r->retry_after_ms = -1;
	r->connected = true;
	if (strstr(u, "/metadata/identity/oauth2/token") != NULL) {
		r->status = 200;
		body(r, "{\"access_token\":\"eyJhbGciOiJub25lIn0.eyJ4IjoxfQ.c2ln\",\"expires_in\":\"3600\","
		        "\"token_type\":\"Bearer\"}");
		return AZMI_OK;
	}
	if (strstr(u, "/metadata/instance") != NULL) {
		if (failure(az.metadata, r, &rc))
			return rc;
		r->status = 200;
		body(r, "{\"compute\":{\"resourceId\":\"" VM_SCOPE
		        "\",\"azEnvironment\":\"AzurePublicCloud\"}}");
		return AZMI_OK;
	}
	if (strstr(u, "https://graph.test/v1.0/users/") == u) {
		if (failure(az.graph, r, &rc))
			return rc;
		r->status = 200;
		body(r, "{\"id\":\"" OID "\",\"userPrincipalName\":\"" UPN "\"}");
		return AZMI_OK;
	}
	if (strncmp(u, "https://arm.test/", 17) != 0) {
		snprintf(r->curl_error, sizeof(r->curl_error), "unexpected URL");
		return AZMI_ERR_UNAVAILABLE;
	}
	if (strstr(u, "/roleDefinitions/") != NULL) {
		bool admin = strstr(u, ADM_ROLE) != NULL;
		az.role_fetches++;
		r->status = 200;
		snprintf(
		    text, sizeof(text),
		    "{\"name\":\"%s\",\"properties\":{\"roleName\":\"%s\",\"permissions\":[{\"dataActions\":"
		    "[\"%s\"]}]}}",
		    admin ? ADM_ROLE : USER_ROLE,
		    admin ? "Virtual Machine Administrator Login" : "Virtual Machine User Login",
		    admin ? RBAC_ACTION_ADMIN : RBAC_ACTION_LOGIN);
		body(r, text);
		return AZMI_OK;
	}
	if (failure(az.arm, r, &rc))
		return rc;
	r->status = 200;
	snprintf(r->request_id, sizeof(r->request_id), "corr-1");
	if (strstr(u, "/roleAssignments?") != NULL && (az.arm == A_USER || az.arm == A_ADMIN)) {
		snprintf(text, sizeof(text),
		         "{\"value\":[{\"properties\":{\"roleDefinitionId\":\"%s\",\"principalId\":\"" OID
		         "\",\"principalType\":\"User\",\"scope\":\"/subscriptions/" SUB "\"}}]}",
		         az.arm == A_ADMIN ? RDID(ADM_ROLE) : RDID(USER_ROLE));
		body(r, text);
	} else {
		body(r, "{\"value\":[]}");
	}
	return AZMI_OK;
}

static int64_t fake_mono(void)
{
	return az.mono;
}

static void fake_sleep(int64_t ms)
{
	az.mono += ms;
}

static const struct exchange_io fake_io = {fake_azure, fake_mono, fake_sleep};

/* What is in the decision cache before the row. */
enum cached { C_NONE = 0, C_USER, C_ADMIN, C_OTHER_PRINCIPAL };

struct row {
	const char *name;
	enum answer metadata, graph, arm;
	enum cached cached;
	int64_t age; /* seconds since the cached decision (negative: from the future) */
	long cache_ttl, offline_grace;
	enum login_outcome want;
	enum login_source want_source;
	enum rbac_level want_level;
	const char *want_reason; /* substring of the reason, or NULL */
	int want_requests;       /* requests to Azure, -1: some */
};

/* clang-format off */
static const struct row rows[] = {
    /* Azure answers: it decides, whatever the cache says. */
    {"user role", A_USER, A_USER, A_USER, C_NONE, 0, 0, 0, LOGIN_GRANTED, LOGIN_FROM_AZURE, RBAC_USER, NULL, -1},
    {"admin role", A_USER, A_USER, A_ADMIN, C_NONE, 0, 0, 0, LOGIN_GRANTED, LOGIN_FROM_AZURE, RBAC_ADMIN, NULL, -1},
    {"no role", A_USER, A_USER, A_NONE, C_NONE, 0, 0, 3600, LOGIN_DENIED, LOGIN_FROM_AZURE, RBAC_DENY, "no ", -1},
    {"no role beats a cached grant", A_USER, A_USER, A_NONE, C_ADMIN, 10, 0, 3600, LOGIN_DENIED, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
    {"no such user", A_USER, A_404, A_USER, C_USER, 10, 0, 3600, LOGIN_DENIED, LOGIN_FROM_AZURE, RBAC_DENY, "no such user in Entra ID", -1},
    /* The cache within cache_ttl: no request at all. */
    {"cache hit", A_DOWN, A_DOWN, A_DOWN, C_USER, 100, 300, 0, LOGIN_GRANTED, LOGIN_FROM_CACHE, RBAC_USER, NULL, 0},
    {"cache hit admin", A_DOWN, A_DOWN, A_DOWN, C_ADMIN, 299, 300, 0, LOGIN_GRANTED, LOGIN_FROM_CACHE, RBAC_ADMIN, NULL, 0},
    {"cache expired, Azure decides", A_USER, A_USER, A_NONE, C_ADMIN, 300, 300, 0, LOGIN_DENIED, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
    {"cache from the future", A_USER, A_USER, A_NONE, C_USER, -61, 300, 3600, LOGIN_DENIED, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
    {"cache of another principal", A_USER, A_USER, A_NONE, C_OTHER_PRINCIPAL, 10, 300, 3600, LOGIN_DENIED, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
    /* Azure unreachable: offline grace honours a young positive decision, else fail closed. */
    {"arm down, grace", A_USER, A_USER, A_DOWN, C_USER, 1000, 300, 3600, LOGIN_GRANTED, LOGIN_FROM_GRACE, RBAC_USER, "Azure unreachable", -1},
    {"arm 503, grace admin", A_USER, A_USER, A_503, C_ADMIN, 1000, 300, 3600, LOGIN_GRANTED, LOGIN_FROM_GRACE, RBAC_ADMIN, "Azure unreachable", -1},
    {"arm 429, grace", A_USER, A_USER, A_429, C_USER, 1000, 300, 3600, LOGIN_GRANTED, LOGIN_FROM_GRACE, RBAC_USER, NULL, -1},
    {"metadata down, grace", A_DOWN, A_USER, A_USER, C_USER, 1000, 300, 3600, LOGIN_GRANTED, LOGIN_FROM_GRACE, RBAC_USER, NULL, -1},
    {"graph 503, grace", A_USER, A_503, A_USER, C_USER, 1000, 300, 3600, LOGIN_GRANTED, LOGIN_FROM_GRACE, RBAC_USER, NULL, -1},
    {"arm down, grace over", A_USER, A_USER, A_DOWN, C_USER, 3600, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, "Azure unreachable", -1},
    {"arm down, grace off", A_USER, A_USER, A_DOWN, C_USER, 10, 0, 0, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, "Azure unreachable", -1},
    {"arm down, nothing cached", A_USER, A_USER, A_DOWN, C_NONE, 0, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, "Azure unreachable", -1},
    {"arm down, cache from the future", A_USER, A_USER, A_DOWN, C_USER, -61, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
    {"arm down, another principal's", A_USER, A_USER, A_DOWN, C_OTHER_PRINCIPAL, 10, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
    /* Azure answered, but not a decision: no grace, fail closed. */
    {"arm 403, no grace", A_USER, A_USER, A_403, C_USER, 1000, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, "Azure refused", -1},
    {"arm nonsense, no grace", A_USER, A_USER, A_GARBAGE, C_ADMIN, 1000, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, "invalid answer from Azure", -1},
    {"graph 403, no grace", A_USER, A_403, A_USER, C_USER, 1000, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, "Azure refused", -1},
    {"metadata nonsense, no grace", A_GARBAGE, A_USER, A_USER, C_USER, 1000, 300, 3600, LOGIN_UNREACHABLE, LOGIN_FROM_AZURE, RBAC_DENY, NULL, -1},
};
/* clang-format on */

static char *tmp, *conf_path, *state_dir;

static int setup(void **state)
{
	static const char cfg[] = "imds_endpoint = http://127.0.0.1:9\narm_endpoint = https://arm.test\n"
	                          "graph_endpoint = https://graph.test\ncache = no\n";
	FILE *f;

	(void)state;
	tmp = unit_tmpdir();
	state_dir = unit_path(tmp, "state");
	conf_path = unit_path(tmp, "azmi.conf");
	assert_int_equal(mkdir(state_dir, 0755), 0);
	sfile_use_state_dir(state_dir); /* kept until teardown */
	/* Nothing may leave the machine even if the fake were not in place: loopback endpoints only. */
	assert_non_null(f = fopen(conf_path, "w"));
	fputs(cfg, f);
	fclose(f);
	assert_int_equal(chmod(conf_path, 0600), 0);
	az.mono = util_mono_ms();
	exchange_set_io(&fake_io);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	exchange_set_io(NULL);
	sfile_use_state_dir(NULL);
	unit_rmtree(tmp);
	free(tmp);
	free(conf_path);
	free(state_dir);
	return 0;
}

static void put_cached(const struct row *r)
{
	struct dcache_entry e;

	assert_int_equal(dcache_drop(UPN), 0);
	if (r->cached == C_NONE)
		return;
	memset(&e, 0, sizeof(e));
	snprintf(e.user, sizeof(e.user), UPN);
	snprintf(e.principal, sizeof(e.principal), "%s", r->cached == C_OTHER_PRINCIPAL ? OTHER_OID : UPN);
	snprintf(e.oid, sizeof(e.oid), "%s", r->cached == C_OTHER_PRINCIPAL ? OTHER_OID : OID);
	e.level = r->cached == C_ADMIN ? DCACHE_ADMIN : DCACHE_USER;
	snprintf(e.role, sizeof(e.role), "cached role");
	snprintf(e.scope, sizeof(e.scope), VM_SCOPE);
	e.when = NOW - r->age;
	assert_int_equal(dcache_store(&e), 0);
}

static void test_decision_table(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct azmi_ctx *ctx = NULL;
		struct azmi_error err = AZMI_ERROR_INIT;
		struct login_conf c;
		struct login_opts o = {.use_cache = true, .update_cache = true, .local_uid = -1, .now = NOW};
		struct login_result res;
		struct dcache_entry after;
		char why[200];
		int loaded;

		login_conf_init(&c);
		assert_int_equal(login_conf_set(&c, "allowed_domains", "contoso.com", why, sizeof(why)),
		                 LCONF_OK);
		c.cache_ttl = r->cache_ttl;
		c.offline_grace = r->offline_grace;
		put_cached(r);
		az.metadata = r->metadata;
		az.graph = r->graph;
		az.arm = r->arm;
		az.requests = 0;
		assert_int_equal(azmi_ctx_new(&ctx, conf_path, &err), AZMI_OK);
		login_ctx_defaults(ctx);
		login_decide(ctx, &c, UPN, &o, &res);
		azmi_ctx_free(ctx);

		CHECK(fails, res.outcome == r->want, "%s: outcome %s, want %s (%s)", r->name,
		      login_outcome_name(res.outcome), login_outcome_name(r->want), res.reason);
		CHECK(fails, res.outcome != LOGIN_GRANTED || res.source == r->want_source, "%s: source %s",
		      r->name, login_source_name(res.source));
		CHECK(fails, (res.outcome == LOGIN_GRANTED ? res.level : RBAC_DENY) == r->want_level,
		      "%s: level %d, want %d", r->name, (int)res.level, (int)r->want_level);
		CHECK(fails, r->want_reason == NULL || strstr(res.reason, r->want_reason) != NULL,
		      "%s: reason \"%s\" lacks \"%s\"", r->name, res.reason, r->want_reason);
		CHECK(fails, r->want_requests < 0 || az.requests == r->want_requests, "%s: %d requests",
		      r->name, az.requests);
		CHECK(fails, r->want_requests != -1 || az.requests > 0, "%s: Azure was not asked", r->name);
		/* A denial from Azure forgets the cached grant; a grant from Azure is stored. */
		loaded = dcache_load(UPN, &after);
		if (getenv("TEST_DECIDE_STEPS"))
			for (int k = 0; k < res.nsteps; k++)
				print_message("%s: %s\n", r->name, res.steps[k]);
		if (res.outcome == LOGIN_DENIED)
			CHECK(fails, loaded == -ENOENT, "%s: the cached decision survived a denial (%d)",
			      r->name, loaded);
		if (res.outcome == LOGIN_GRANTED && res.source == LOGIN_FROM_AZURE)
			CHECK(fails, loaded == 0 && after.when == NOW && after.level == (int)res.level,
			      "%s: the grant was not stored (%d)", r->name, loaded);
	}
	TABLE_DONE(fails);
}

/* Role definitions are read once per context for a few minutes, and never across contexts. */
static void test_role_cache(void **state)
{
	struct azmi_ctx *ctx = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct login_conf c;
	struct login_opts o = {.use_cache = false, .update_cache = false, .local_uid = -1, .now = NOW};
	struct login_result res;
	char why[200];

	(void)state;
	login_conf_init(&c);
	assert_int_equal(login_conf_set(&c, "allowed_domains", "contoso.com", why, sizeof(why)), LCONF_OK);
	az.metadata = az.graph = az.arm = A_ADMIN;
	az.role_fetches = 0;
	assert_int_equal(azmi_ctx_new(&ctx, conf_path, &err), AZMI_OK);
	login_ctx_defaults(ctx);
	for (int i = 0; i < 3; i++) {
		login_decide(ctx, &c, UPN, &o, &res);
		assert_int_equal(res.outcome, LOGIN_GRANTED);
		assert_int_equal(res.level, RBAC_ADMIN);
	}
	assert_int_equal(az.role_fetches, 1);
	/* The assignments are asked every time: a removed role takes effect at once. */
	az.arm = A_NONE;
	login_decide(ctx, &c, UPN, &o, &res);
	assert_int_equal(res.outcome, LOGIN_DENIED);
	azmi_ctx_free(ctx);

	az.arm = A_ADMIN;
	assert_int_equal(azmi_ctx_new(&ctx, conf_path, &err), AZMI_OK);
	login_ctx_defaults(ctx);
	login_decide(ctx, &c, UPN, &o, &res);
	assert_int_equal(res.outcome, LOGIN_GRANTED);
	assert_int_equal(az.role_fetches, 2);
	azmi_ctx_free(ctx);
}

/* A denial whose cached grant cannot be removed says so in its steps (the result was once ignored). */
static void test_forget_failure(void **state)
{
	static const struct row grant = {"grant", A_USER, A_USER, A_USER, C_USER, 10, 300, 3600};
	struct azmi_ctx *ctx = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct login_conf c;
	struct login_opts o = {.use_cache = false, .update_cache = true, .local_uid = -1, .now = NOW};
	struct login_result res;
	char why[200], *dir = unit_path(state_dir, "decisions"), *file = NULL;
	struct dirent *d;
	DIR *dh;
	bool said = false;

	(void)state;
	put_cached(&grant);
	assert_non_null(dh = opendir(dir));
	while ((d = readdir(dh)) != NULL)
		if (d->d_name[0] == 'd')
			file = unit_path(dir, d->d_name);
	closedir(dh);
	assert_non_null(file);
	/* The decision's file turned into a directory: it can be neither read nor unlinked. */
	assert_int_equal(unlink(file), 0);
	assert_int_equal(mkdir(file, 0700), 0);
	login_conf_init(&c);
	assert_int_equal(login_conf_set(&c, "allowed_domains", "contoso.com", why, sizeof(why)), LCONF_OK);
	az.metadata = az.graph = A_USER;
	az.arm = A_NONE;
	assert_int_equal(azmi_ctx_new(&ctx, conf_path, &err), AZMI_OK);
	login_ctx_defaults(ctx);
	login_decide(ctx, &c, UPN, &o, &res);
	azmi_ctx_free(ctx);
	assert_int_equal(res.outcome, LOGIN_DENIED);
	for (int k = 0; k < res.nsteps; k++)
		said = said || strstr(res.steps[k], "cache: cannot forget the earlier decision") != NULL;
	assert_true(said);
	assert_int_equal(rmdir(file), 0);
	free(file);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decision_table),
	    cmocka_unit_test(test_role_cache),
	    cmocka_unit_test(test_forget_failure),
	};

	return cmocka_run_group_tests_name("decide", tests, setup, teardown);
}

/*
 * rbac_probe.c - a test driver for the login library's decision (login/rbac.h),
 * for tests/integration/test_rbac.py.  Not installed.  Each step prints one
 * JSON line on stdout:
 *
 *   rbac_probe [options] [OID]
 *     --vm-only                 only the machine's scope: {"vm": {...}}
 *     --resource-id ID [--arc]  skip instance metadata, decide on this scope
 *     --repeat N                decide N times with the same context (the role cache)
 *     --upn UPN                 Graph: UPN -> {"oid": ...}
 *     --groups G1,G2,...        Graph: OID's membership -> {"member": {G: bool}}
 *
 * A decision is {"decision": {"level", "role", "scope", "reason", "correlation_id"}};
 * a failure {"error": {"code", "text", "http_status", "message"}, "decision_level": "deny"}.
 * Exit 0 when every step worked, 1 when one failed, 2 on bad usage.
 * The configuration comes from AZMI_CONFIG as for any azmi program.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "azmi.h"
#include "rbac.h"

#define MAX_GROUPS 64

static void on_log(void *userdata, enum azmi_log_level level, const char *line)
{
	(void)userdata;
	fprintf(stderr, "rbac_probe: log %d: %s\n", (int)level, line);
}

static void emit(struct json_object *o)
{
	printf("%s\n",
	       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

static const char *code_name(azmi_err rc)
{
	static const char *const names[] = {"AZMI_OK",           "AZMI_ERR_USAGE",       "AZMI_ERR_NOMEM",
	                                    "AZMI_ERR_CONFIG",   "AZMI_ERR_UNAVAILABLE", "AZMI_ERR_REFUSED",
	                                    "AZMI_ERR_ENDPOINT", "AZMI_ERR_TIMEOUT",     "AZMI_ERR_PROTOCOL",
	                                    "AZMI_ERR_CACHE",    "AZMI_ERR_SYSTEM"};

	return (unsigned)rc < sizeof(names) / sizeof(names[0]) ? names[rc] : "?";
}

static int fail(const char *step, azmi_err rc, const struct azmi_error *err)
{
	struct json_object *o = json_object_new_object(), *e = json_object_new_object();

	json_object_object_add(e, "step", json_object_new_string(step));
	json_object_object_add(e, "code", json_object_new_string(code_name(rc)));
	json_object_object_add(e, "text", json_object_new_string(azmi_strerror(rc)));
	json_object_object_add(e, "http_status", json_object_new_int64(err->http_status));
	json_object_object_add(e, "message", json_object_new_string(err->message));
	json_object_object_add(o, "error", e);
	json_object_object_add(o, "decision_level", json_object_new_string("deny"));
	emit(o);
	return 1;
}

static void emit_vm(const struct vm_info *vm)
{
	struct json_object *o = json_object_new_object(), *v = json_object_new_object();

	json_object_object_add(v, "resource_id", json_object_new_string(vm->resource_id));
	json_object_object_add(v, "subscription_id", json_object_new_string(vm->subscription_id));
	json_object_object_add(v, "resource_group", json_object_new_string(vm->resource_group));
	json_object_object_add(v, "name", json_object_new_string(vm->name));
	json_object_object_add(v, "vm_id", json_object_new_string(vm->vm_id));
	json_object_object_add(v, "az_environment", json_object_new_string(vm->az_environment));
	json_object_object_add(v, "arc", json_object_new_boolean(vm->arc));
	json_object_object_add(o, "vm", v);
	emit(o);
}

static void emit_decision(const struct rbac_decision *d)
{
	struct json_object *o = json_object_new_object(), *v = json_object_new_object();

	json_object_object_add(v, "level", json_object_new_string(rbac_level_name(d->level)));
	json_object_object_add(v, "role", json_object_new_string(d->role));
	json_object_object_add(v, "scope", json_object_new_string(d->scope));
	json_object_object_add(v, "reason", json_object_new_string(d->reason));
	json_object_object_add(v, "correlation_id", json_object_new_string(d->correlation_id));
	json_object_object_add(o, "decision", v);
	emit(o);
}

static void emit_oid(const char *oid)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "oid", json_object_new_string(oid));
	emit(o);
}

struct opts {
	bool vm_only, arc;
	const char *resource_id, *upn, *groups, *oid;
	long repeat;
};

static int parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->repeat = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (strcmp(a, "--vm-only") == 0)
			o->vm_only = true;
		else if (strcmp(a, "--arc") == 0)
			o->arc = true;
		else if (strcmp(a, "--resource-id") == 0 && more)
			o->resource_id = argv[++i];
		else if (strcmp(a, "--upn") == 0 && more)
			o->upn = argv[++i];
		else if (strcmp(a, "--groups") == 0 && more)
			o->groups = argv[++i];
		else if (strcmp(a, "--repeat") == 0 && more)
			o->repeat = strtol(argv[++i], NULL, 10);
		else if (a[0] != '-' && o->oid == NULL)
			o->oid = a;
		else
			return -1;
	}
	return o->repeat >= 1 && o->repeat <= 100 ? 0 : -1;
}

static int do_groups(struct azmi_ctx *ctx, const char *oid, const char *list)
{
	char *copy = strdup(list), *save = NULL;
	const char *ids[MAX_GROUPS];
	bool member[MAX_GROUPS];
	size_t n = 0;
	struct azmi_error err = AZMI_ERROR_INIT;
	azmi_err rc;
	struct json_object *o, *m;

	for (char *t = strtok_r(copy, ",", &save); t && n < MAX_GROUPS; t = strtok_r(NULL, ",", &save))
		ids[n++] = t;
	rc = graph_check_groups(ctx, oid, ids, n, member, &err);
	if (rc != AZMI_OK) {
		free(copy);
		return fail("groups", rc, &err);
	}
	o = json_object_new_object();
	m = json_object_new_object();
	for (size_t i = 0; i < n; i++)
		json_object_object_add(m, ids[i], json_object_new_boolean(member[i]));
	json_object_object_add(o, "member", m);
	emit(o);
	free(copy);
	return 0;
}

static int run(struct azmi_ctx *ctx, const struct opts *o)
{
	struct vm_info vm;
	struct rbac_decision d;
	struct azmi_error err = AZMI_ERROR_INIT;
	char oid[64];
	azmi_err rc;

	if (o->upn) {
		if ((rc = graph_user_oid(ctx, o->upn, oid, &err)) != AZMI_OK)
			return fail("upn", rc, &err);
		emit_oid(oid);
		return 0;
	}
	if (o->groups)
		return o->oid ? do_groups(ctx, o->oid, o->groups) : 2;
	memset(&vm, 0, sizeof(vm));
	if (o->resource_id) {
		snprintf(vm.resource_id, sizeof(vm.resource_id), "%s", o->resource_id);
		vm.arc = o->arc;
	} else if ((rc = vm_info_get(ctx, &vm, &err)) != AZMI_OK) {
		return fail("vm", rc, &err);
	} else {
		emit_vm(&vm);
	}
	if (o->vm_only)
		return 0;
	if (o->oid == NULL)
		return 2;
	for (long i = 0; i < o->repeat; i++) {
		if ((rc = rbac_decide(ctx, &vm, o->oid, &d, &err)) != AZMI_OK)
			return fail("decide", rc, &err);
		emit_decision(&d);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct azmi_ctx *ctx = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct opts o;
	azmi_err rc;
	int status;

	if (parse_args(argc, argv, &o) != 0) {
		fprintf(stderr,
		        "usage: rbac_probe [--vm-only] [--resource-id ID [--arc]] [--repeat N] [--upn UPN] "
		        "[--groups G1,G2] [OID]\n");
		return 2;
	}
	if ((rc = azmi_ctx_new(&ctx, NULL, &err)) != AZMI_OK)
		return fail("context", rc, &err);
	azmi_ctx_set_log(ctx, on_log, NULL);
	status = run(ctx, &o);
	if (status == 2)
		fprintf(stderr, "rbac_probe: an object id is needed for this step\n");
	azmi_ctx_free(ctx);
	return status;
}

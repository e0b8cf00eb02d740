/*
 * cmd_check_login.c - "azmi check-login USER": the decision pam_azmi would
 * make for USER, with each step, without logging in.  It always asks Azure
 * (a cached decision is not reused, only shown for the offline grace) and
 * writes nothing: no decision cache, no uid table, no admin group change.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "decide.h"
#include "frontend.h"
#include "login_conf.h"
#include "machine_kind.h"

#define EXIT_NOT_MANAGED 3

static const char usage[] =
    "Usage: azmi check-login USER [--json] [--config FILE] [--verbose]\n"
    "Show the decision pam_azmi would make for USER, and why, without logging in:\n"
    "the Entra principal behind USER, this machine's scope, the role that grants a\n"
    "login (or the reason for the denial) and Resource Manager's correlation id.\n"
    "Nothing is written (no decision cache, uid table or admin group change).\n"
    "\n"
    "Exit status: 0 granted (user or admin), 2 configuration problem, 3 USER maps to\n"
    "no Entra principal (pam_azmi takes no part), 4 denied, 5 Azure unreachable or\n"
    "answered nonsense, 1 internal error.\n";

/* The one place a login outcome becomes an exit code. */
static int exit_code(enum login_outcome o)
{
	switch (o) {
	case LOGIN_GRANTED:
		return EXIT_OK;
	case LOGIN_NOT_MINE:
		return EXIT_NOT_MANAGED;
	case LOGIN_DENIED:
		return EXIT_REFUSED;
	case LOGIN_UNREACHABLE:
		return EXIT_FAILED;
	case LOGIN_CONFIG:
		return EXIT_USAGE;
	case LOGIN_INTERNAL:
		break;
	}
	return EXIT_INTERNAL;
}

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v && v[0] ? json_object_new_string(v) : NULL);
}

static void print_json(const char *user, const struct login_result *r, int code)
{
	struct json_object *o = json_object_new_object(), *steps = json_object_new_array();

	add_str(o, "user", user);
	add_str(o, "local_name", r->principal.user);
	add_str(o, "principal", r->principal.id);
	add_str(o, "principal_source",
	        r->principal.via == PRINCIPAL_NONE ? NULL : principal_via_name(r->principal.via));
	add_str(o, "object_id", r->oid);
	add_str(o, "vm_scope", r->vm.resource_id);
	add_str(o, "machine_kind", r->vm.resource_id[0] ? machine_kind_name(r->vm.kind) : NULL);
	add_str(o, "scale_set", r->vm.scale_set);
	add_str(o, "decided_scope", r->d.decided_scope);
	add_str(o, "scope_note", r->d.scope_note);
	add_str(o, "decision", login_outcome_name(r->outcome));
	add_str(o, "level", r->outcome == LOGIN_GRANTED ? rbac_level_name(r->level) : NULL);
	add_str(o, "source", r->outcome == LOGIN_GRANTED ? login_source_name(r->source) : NULL);
	add_str(o, "role", r->d.role);
	add_str(o, "role_scope", r->d.scope);
	add_str(o, "reason", r->outcome == LOGIN_GRANTED ? r->d.reason : r->reason);
	add_str(o, "correlation_id", r->d.correlation_id);
	for (int i = 0; i < r->nsteps; i++)
		json_object_array_add(steps, json_object_new_string(r->steps[i]));
	json_object_object_add(o, "steps", steps);
	json_object_object_add(o, "exit_code", json_object_new_int(code));
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

static void print_text(const char *user, const struct login_result *r)
{
	const char *d = login_outcome_name(r->outcome);

	printf("%-15s %s\n", "user", user);
	if (r->principal.via != PRINCIPAL_NONE)
		printf("%-15s %s (%s)\n", "principal", r->principal.id, r->principal.why);
	if (r->oid[0])
		printf("%-15s %s\n", "object id", r->oid);
	if (r->vm.resource_id[0]) {
		char what[300];
		machine_describe(&r->vm, what, sizeof(what));
		printf("%-15s %s\n", "machine", r->vm.resource_id);
		printf("%-15s %s (%s)\n", "kind", machine_kind_name(r->vm.kind), what);
	}
	if (r->d.decided_scope[0])
		printf("%-15s %s%s%s\n", "decided at", r->d.decided_scope, r->d.scope_note[0] ? ": " : "",
		       r->d.scope_note);
	if (r->outcome == LOGIN_GRANTED)
		printf("%-15s granted: %s%s\n", "decision", rbac_level_name(r->level),
		       r->source == LOGIN_FROM_GRACE ? " (offline grace: Azure unreachable)" : "");
	else if (r->outcome == LOGIN_NOT_MINE)
		printf("%-15s not managed: pam_azmi takes no part (%s)\n", "decision", r->reason);
	else
		printf("%-15s %s: %s\n", "decision", d, r->reason);
	if (r->d.role[0])
		printf("%-15s %s at %s\n", "role", r->d.role, r->d.scope);
	if (r->d.correlation_id[0])
		printf("%-15s %s\n", "correlation id", r->d.correlation_id);
	printf("steps:\n");
	for (int i = 0; i < r->nsteps; i++)
		printf("  %d. %s\n", i + 1, r->steps[i]);
}

/* Options; 0, or an exit code (-1 for --help). */
static int parse(int argc, char **argv, const char **user, const char **config, bool *json, int *verbose)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jc:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = true;
			break;
		case 'c':
			*config = optarg;
			break;
		case 'v':
			(*verbose)++;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return cli_usage_error("check-login takes one user name: azmi check-login USER [--json]");
	*user = argv[optind];
	return 0;
}

int cmd_check_login(int argc, char **argv)
{
	struct login_conf conf;
	struct login_result *r;
	struct azmi_ctx *ctx;
	const char *user = NULL, *config = NULL;
	bool json = false;
	int verbose = 0, code = 0;
	char why[512], note[512];

	if ((code = parse(argc, argv, &user, &config, &json, &verbose)) != 0)
		return code < 0 ? EXIT_OK : code;
	login_conf_init(&conf);
	if ((ctx = cli_ctx_open(config, verbose, &code)) == NULL)
		return code;
	if (!login_conf_from_file(&conf, ctx_config(ctx), why, sizeof(why))) {
		fprintf(stderr, "azmi: %s\n", why);
		azmi_ctx_free(ctx);
		return EXIT_USAGE;
	}
	login_ctx_defaults(ctx);
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		azmi_ctx_free(ctx);
		return EXIT_INTERNAL;
	}
	struct login_opts o = {.use_cache = false, .update_cache = false, .local_uid = login_local_uid(user)};
	login_decide(ctx, &conf, user, &o, r);
	login_bind_uid(&conf, r, false, note, sizeof(note));
	code = exit_code(r->outcome);
	if (json)
		print_json(user, r, code);
	else
		print_text(user, r);
	free(r);
	azmi_ctx_free(ctx);
	return code;
}

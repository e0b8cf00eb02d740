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
#include "ssh_ca.h"
#include "ssh_login.h"
#include "util.h"

#define EXIT_NOT_MANAGED 3
#define CERT_FILE_MAX    (16 * 1024)

static const char usage[] =
    "Usage: azmi check-login USER [--cert FILE] [--json] [--config FILE] [--verbose]\n"
    "Show the decision pam_azmi would make for USER, and why, without logging in:\n"
    "the Entra principal behind USER, this machine's scope, the role that grants a\n"
    "login (or the reason for the denial) and Resource Manager's correlation id.\n"
    "Nothing is written (no decision cache, uid table or admin group change).\n"
    "--cert FILE: decide for an `az ssh vm` certificate (FILE as -aadcert.pub): first\n"
    "each check sshd's principals command makes (CA file, signature, tenant, object\n"
    "id, principal, dates), then RBAC for the certificate's object id (no Graph).\n"
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

static void print_json(const char *user, const struct login_result *r, const struct ssh_login_check *cr,
                       int code)
{
	struct json_object *o = json_object_new_object(), *steps = json_object_new_array();

	if (cr != NULL) {
		struct json_object *co = json_object_new_object(), *cs = json_object_new_array();
		json_object_object_add(co, "accepted", json_object_new_boolean(cr->ok));
		add_str(co, "check", cr->ok ? NULL : cr->check);
		add_str(co, "reason", cr->ok ? NULL : cr->reason);
		add_str(co, "principal", cr->principal);
		add_str(co, "object_id", cr->oid);
		add_str(co, "tenant_id", cr->tid);
		add_str(co, "kid", cr->kid);
		for (int i = 0; i < cr->nsteps; i++)
			json_object_array_add(cs, json_object_new_string(cr->steps[i]));
		json_object_object_add(co, "steps", cs);
		json_object_object_add(o, "certificate", co);
	}

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

static void print_text(const char *user, const struct login_result *r, const struct ssh_login_check *cr)
{
	const char *d = login_outcome_name(r->outcome);

	printf("%-15s %s\n", "user", user);
	if (cr != NULL) {
		printf("%-15s %s%s\n", "certificate",
		       cr->ok ? "accepted" : "refused: ", cr->ok ? "" : cr->check);
		if (cr->principal[0])
			printf("%-15s %s\n", "cert principal", cr->principal);
		printf("certificate checks:\n");
		for (int i = 0; i < cr->nsteps; i++)
			printf("  %d. %s\n", i + 1, cr->steps[i]);
		if (!cr->ok && cr->nsteps == 0)
			printf("  1. %s: refused: %s\n", cr->check, cr->reason);
	}
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
static int parse(int argc, char **argv, const char **user, const char **config, const char **cert, bool *json,
                 int *verbose)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},         {"cert", required_argument, NULL, 'C'},
	    {"config", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jc:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'C':
			*cert = optarg;
			break;
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

/* The file's certificate checked as sshd's principals command checks it; NULL when out of memory. */
static struct ssh_login_check *check_cert(const struct login_conf *c, const char *user, long uid,
                                          const char *path)
{
	struct ssh_login_check *r = calloc(1, sizeof(*r));
	struct sshcert *cert = malloc(sizeof(*cert));
	struct ssh_ca_set cas;
	char why[400], *text = NULL;
	FILE *f = NULL;
	size_t n = 0;

	if (r == NULL || cert == NULL || (text = malloc(CERT_FILE_MAX + 1)) == NULL) {
		free(r);
		free(cert);
		return NULL;
	}
	snprintf(r->check, sizeof(r->check), "format");
	if ((f = fopen(path, "re")) == NULL || (n = fread(text, 1, CERT_FILE_MAX + 1, f)) == 0 ||
	    n > CERT_FILE_MAX) {
		snprintf(r->reason, sizeof(r->reason), "cannot read %.200s (or over 16 KiB)", path);
	} else if (!sshcert_parse_text(text, n, cert, why, sizeof(why))) {
		snprintf(r->reason, sizeof(r->reason), "%.300s", why);
	} else if (!ssh_ca_load(c->ssh_ca_file, &cas, why, sizeof(why))) {
		snprintf(r->check, sizeof(r->check), "ca");
		snprintf(r->reason, sizeof(r->reason), "CA file: %.300s", why);
	} else {
		(void)ssh_login_check(c, user, uid, cert, &cas, util_now(), true, r);
		ssh_ca_set_free(&cas);
	}
	if (f != NULL)
		fclose(f);
	free(text);
	free(cert);
	return r;
}

int cmd_check_login(int argc, char **argv)
{
	struct login_conf conf;
	struct login_result *r;
	struct azmi_ctx *ctx;
	const char *user = NULL, *config = NULL, *cert_file = NULL;
	struct ssh_login_check *cr = NULL;
	bool json = false;
	int verbose = 0, code = 0;
	char why[512], note[512];

	if ((code = parse(argc, argv, &user, &config, &cert_file, &json, &verbose)) != 0)
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
	if (cert_file != NULL) {
		if ((cr = check_cert(&conf, user, o.local_uid, cert_file)) == NULL) {
			free(r);
			azmi_ctx_free(ctx);
			return EXIT_INTERNAL;
		}
		if (!cr->ok) {
			r->outcome = LOGIN_DENIED;
			snprintf(r->reason, sizeof(r->reason), "SSH certificate refused (%s): %.400s",
			         cr->check, cr->reason);
		} else
			o.token_oid = cr->oid;
	}
	if (cr == NULL || cr->ok) {
		login_decide(ctx, &conf, user, &o, r);
		login_bind_uid(&conf, r, false, note, sizeof(note));
	}
	code = exit_code(r->outcome);
	if (json)
		print_json(user, r, cr, code);
	else
		print_text(user, r, cr);
	free(cr);
	free(r);
	azmi_ctx_free(ctx);
	return code;
}

/* cmd_acr_token.c - "azmi acr-token": a Container Registry token for scripts (oras, skopeo, helm). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "acr.h"
#include "cli.h"

static const char usage[] =
    "Usage: azmi acr-token REGISTRY [--scope SCOPE]... [--refresh] [IDENTITY] [--json] [--no-cache]\n"
    "                      [--timeout SECONDS] [--config FILE] [-v]\n"
    "Print a token for an Azure container registry (<name>.azurecr.io, .azurecr.us, .azurecr.cn) and a\n"
    "newline, from this machine's identity: its Entra token is exchanged at the registry.\n"
    "  -s, --scope SCOPE      an access token for SCOPE (repeatable): repository:NAME:pull,\n"
    "                         repository:NAME:pull,push, registry:catalog:*\n"
    "  --refresh              the registry refresh token (the default without --scope): the password\n"
    "                         for the user " ACR_USERNAME "\n"
    "  --client-id ID | --object-id ID | --msi-res-id ARMID | --system\n"
    "                         which managed identity (default: AZURE_CLIENT_ID, else system-assigned)\n"
    "  -j, --json             print {registry, username, token, kind, expires_on, audience}\n"
    "  --no-cache             exchange a new refresh token even when a cached one is fresh\n"
    "  --timeout SECONDS      give up after this long, retries included (default 90)\n"
    "  --credential NAME      environment, workload_identity, managed_identity or azure_cli\n"
    "  -v, --verbose          say which Entra audience the registry accepted\n"
    "Examples:\n"
    "  azmi acr-token myreg.azurecr.io | helm registry login myreg.azurecr.io \\\n"
    "      --username " ACR_USERNAME " --password-stdin\n"
    "  curl -H \"Authorization: Bearer $(azmi acr-token myreg.azurecr.io --scope repository:app:pull)\" \\\n"
    "      https://myreg.azurecr.io/v2/app/tags/list\n";

struct acr_opts {
	struct token_opts tok; /* the shared options; tok.req.resource is unused */
	struct acr_request req;
	char scope[ACR_MAX_SCOPE + 1];
	bool refresh;
};

static int add_scope(struct acr_opts *o, const char *s)
{
	size_t have = strlen(o->scope), n = strlen(s);

	if (!acr_scope_valid(s) || have + n + 1 > ACR_MAX_SCOPE)
		return cli_usage_error("--scope %s: a registry scope looks like repository:NAME:pull or "
		                       "registry:catalog:* (at most %d in all)",
		                       s, ACR_MAX_SCOPES);
	snprintf(o->scope + have, sizeof(o->scope) - have, "%s%s", have ? " " : "", s);
	return acr_scope_valid(o->scope) ? 0
	                                 : cli_usage_error("too many scopes (at most %d)", ACR_MAX_SCOPES);
}

/* 0 to go on, -1 after --help, else an exit code. */
static int parse(int argc, char **argv, struct acr_opts *o)
{
	enum { OPT_REFRESH = CLI_OPT_FIRST_FREE };
	static const struct option longopts[] = {
	    {"scope", required_argument, NULL, 's'},
	    {"refresh", no_argument, NULL, OPT_REFRESH},
	    CLI_TOKEN_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int c, r = 0;

	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "s:jvh", longopts, NULL)) != -1) {
		if (c == 's')
			r = add_scope(o, optarg);
		else if (c == OPT_REFRESH)
			o->refresh = true;
		else
			r = cli_token_option(&o->tok, c, optarg, usage);
	}
	o->req.id_kind = o->tok.req.id_kind;
	o->req.id_value = o->tok.req.id_value;
	o->req.credential = o->tok.req.credential;
	o->req.flags = o->tok.req.flags;
	o->req.timeout_ms = o->tok.req.timeout_ms;
	if (r != 0)
		return r;
	if (optind >= argc)
		return cli_usage_error("acr-token needs a registry: azmi acr-token myreg.azurecr.io");
	if (optind + 1 < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind + 1]);
	o->req.registry = argv[optind];
	if (o->refresh && o->scope[0] != '\0')
		return cli_usage_error("give --refresh or --scope, not both");
	return 0;
}

static void say_how(const struct acr_opts *o, const struct acr_info *info, const struct azmi_token *refresh)
{
	if (o->tok.verbose == 0)
		return;
	if (info->from_cache)
		fprintf(stderr, "azmi: the registry refresh token came from the cache\n");
	else if (info->audience == ACR_AUD_ARM)
		fprintf(stderr, "azmi: the registry accepted the ARM-audience Entra token (%s)\n",
		        info->entra_resource);
	else if (info->audience == ACR_AUD_REGISTRY)
		fprintf(stderr, "azmi: %sthe registry accepted the registry-audience Entra token (%s)\n",
		        info->arm_refused ? "the registry refused the ARM-audience token; " : "",
		        info->entra_resource);
	if (refresh)
		fprintf(stderr, "azmi: the refresh token expires at %lld\n", (long long)refresh->expires_on);
}

static const char *audience_name(enum acr_audience a)
{
	return a == ACR_AUD_ARM ? "arm" : a == ACR_AUD_REGISTRY ? "registry" : NULL;
}

/* The token is printed from the token object (its characters need no JSON escaping). */
static int print_json(const struct acr_opts *o, const struct acr_info *info, const struct azmi_token *tok)
{
	const char *aud = audience_name(info->audience);
	int r = printf("{\"registry\":\"%s\",\"username\":\"%s\",\"token\":\"%s\",\"kind\":\"%s\","
	               "\"expires_on\":%lld,\"audience\":%s%s%s",
	               tok->resource, ACR_USERNAME, tok->access_token, o->scope[0] ? "access" : "refresh",
	               (long long)tok->expires_on, aud ? "\"" : "", aud ? aud : "null", aud ? "\"" : "") < 0;

	if (o->scope[0]) {
		struct json_object *s = json_object_new_string(o->scope);
		r |= s == NULL || printf(",\"scope\":%s", json_object_to_json_string_ext(
		                                              s, JSON_C_TO_STRING_NOSLASHESCAPE)) < 0;
		json_object_put(s);
	}
	r |= puts("}") < 0;
	return r;
}

int cmd_acr_token(int argc, char **argv)
{
	struct acr_opts o = {0};
	struct acr_info info;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_token *tok = NULL;
	struct azmi_ctx *ctx;
	azmi_err e;
	int code = 0, r;

	if ((r = parse(argc, argv, &o)) != 0)
		return r < 0 ? EXIT_OK : r;
	if ((ctx = cli_ctx_open(o.tok.config, o.tok.verbose, &code)) == NULL)
		return code;
	if (o.scope[0] != '\0')
		e = acr_access_token(ctx, &o.req, o.scope, &tok, &info, &err);
	else
		e = acr_refresh_token(ctx, &o.req, &tok, &info, &err);
	if (e != AZMI_OK) {
		cli_print_error(&err);
		azmi_ctx_free(ctx);
		return cli_exit_code(e);
	}
	say_how(&o, &info, o.scope[0] ? NULL : tok);
	r = o.tok.json ? print_json(&o, &info, tok) : printf("%s\n", tok->access_token) < 0;
	return cli_finish(ctx, tok, r);
}

/* cmd_token.c - "azmi token": print an access token for scripts. */
#include <stdio.h>

#include <json-c/json.h>

#include "cli.h"

static const char usage[] =
    "Usage: azmi token [--resource URI | --scope SCOPE] [IDENTITY] [--json] [--no-cache]\n"
    "                  [--timeout SECONDS] [--config FILE] [-v]\n"
    "Print an access token for the resource (default https://management.azure.com/) and a newline.\n"
    "  -r, --resource URI     resource, e.g. https://storage.azure.com/\n"
    "  -s, --scope SCOPE      or a scope, e.g. https://storage.azure.com/.default\n"
    "  --client-id ID | --object-id ID | --msi-res-id ARMID | --system\n"
    "                         which managed identity (default: AZURE_CLIENT_ID, else system-assigned)\n"
    "  -j, --json             print {access_token, expires_on, token_type, resource, source}\n"
    "                         (az's fields and -o tsv: azmi account get-access-token)\n"
    "  --no-cache             ask the endpoint even when a cached token is fresh\n"
    "  --timeout SECONDS      give up after this long, retries included (default 90)\n"
    "  --credential NAME      use one credential instead of the chain: environment,\n"
    "                         workload_identity, managed_identity or azure_cli\n";

/* JSON-quote a string through json-c (the resource may hold quotes or backslashes). */
static int print_quoted(const char *s)
{
	struct json_object *o = json_object_new_string(s);
	int r = o ? fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE), stdout) < 0 : 1;

	json_object_put(o);
	return r;
}

/*
 * The token needs no escaping (the core admits only base64url-ish
 * characters) and is printed straight from the token object, so no copy of
 * it is left in a JSON library's buffers.
 */
static int print_json(const struct azmi_token *tok)
{
	int r = printf("{\"access_token\":\"%s\",\"expires_on\":%lld,\"token_type\":", tok->access_token,
	               (long long)tok->expires_on) < 0;

	r |= print_quoted(tok->token_type);
	r |= fputs(",\"resource\":", stdout) < 0;
	r |= print_quoted(tok->resource);
	r |= fputs(",\"source\":", stdout) < 0;
	r |= print_quoted(tok->source);
	r |= puts("}") < 0;
	return r;
}

int cmd_token(int argc, char **argv)
{
	struct token_opts o = {.req = AZMI_REQUEST_INIT};
	struct azmi_ctx *ctx;
	struct azmi_token *tok;
	int r = cli_begin(argc, argv, usage, &o, &ctx);

	if (r >= 0)
		return r;
	if ((r = cli_fetch(ctx, &o, &tok)) != EXIT_OK) {
		azmi_ctx_free(ctx);
		return r;
	}
	if (o.json)
		r = print_json(tok);
	else
		r = printf("%s\n", tok->access_token) < 0;
	return cli_finish(ctx, tok, r);
}

/* cmd_whoami.c - "azmi whoami": which identity answers, from the token's non-secret claims. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"
#include "frontend.h"
#include "jwt.h"

static const char usage[] =
    "Usage: azmi whoami [--resource URI] [IDENTITY] [--json] [--no-cache] [--timeout SECONDS]\n"
    "Show the credential source and the identity's claims (oid, tid, appid, xms_mirid, aud, exp).\n"
    "The token itself is never printed.\n";

static const char *const shown_claims[] = {"oid", "tid", "appid", "xms_mirid", "aud", "iss", "idtyp", "exp"};

/*
 * Which link of the chain answered, why, and why the links before it were passed over.  A request
 * naming a credential or a user-assigned identity asks only that link; otherwise a configured link
 * is passed over only when it said it is absent here (a configured one that fails ends the chain).
 */
static void add_chain_report(const struct azmi_ctx *ctx, const struct azmi_request *req,
                             const struct azmi_token *tok, struct json_object *out)
{
	bool named = req->credential != NULL || req->id_kind >= AZMI_ID_CLIENT_ID;

	struct json_object *skipped = json_object_new_array();
	struct ctx_link links[CTX_CHAIN_MAX];
	int n = ctx_chain(ctx, links);
	char why[256];

	for (int i = 0; i < n; i++) {
		const struct ctx_link *l = &links[i];
		if (strcmp(l->source, tok->source) == 0) {
			json_object_object_add(out, "credential", json_object_new_string(l->credential));
			if (l->managed)
				json_object_object_add(out, "because", json_object_new_string(l->because));
			break;
		}
		char line[320];
		if (named)
			snprintf(why, sizeof(why), "not asked (the request named %s)",
			         req->credential ? "a credential" : "a user-assigned identity");
		else if (l->configured)
			snprintf(why, sizeof(why), "unavailable here (azmi doctor shows why)");
		else
			snprintf(why, sizeof(why), "%s", l->why);
		snprintf(line, sizeof(line), "%s: %s", l->credential, why);
		json_object_array_add(skipped, json_object_new_string(line));
	}
	json_object_object_add(out, "skipped", skipped);
}

static void print_claims(const struct azmi_ctx *ctx, const struct azmi_request *req,
                         const struct azmi_token *tok, struct json_object *claims, bool as_json)
{
	struct json_object *out = json_object_new_object(), *v;

	json_object_object_add(out, "source", json_object_new_string(tok->source));
	add_chain_report(ctx, req, tok, out);
	json_object_object_add(out, "resource", json_object_new_string(tok->resource));
	for (size_t i = 0; claims && i < sizeof(shown_claims) / sizeof(shown_claims[0]); i++)
		if (json_object_object_get_ex(claims, shown_claims[i], &v))
			json_object_object_add(out, shown_claims[i], json_object_get(v));
	if (as_json) {
		puts(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PRETTY |
		                                             JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		json_object_object_foreach(out, key, val)
		{
			if (json_object_is_type(val, json_type_array)) {
				for (size_t i = 0; i < json_object_array_length(val); i++)
					printf("%-10s %s\n", i == 0 ? key : "",
					       json_object_get_string(json_object_array_get_idx(val, i)));
				continue;
			}
			const char *s = json_object_is_type(val, json_type_string)
			                    ? json_object_get_string(val)
			                    : json_object_to_json_string(val);
			printf("%-10s %s\n", key, s);
		}
		if (claims && json_object_object_get_ex(claims, "exp", &v)) {
			time_t t = (time_t)json_object_get_int64(v);
			char when[64];
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
			printf("%-10s %s\n", "expires", when);
		}
	}
	json_object_put(out);
}

int cmd_whoami(int argc, char **argv)
{
	struct token_opts o = {.req = AZMI_REQUEST_INIT};
	struct azmi_ctx *ctx;
	struct azmi_token *tok;
	struct json_object *claims;
	int r = cli_begin(argc, argv, usage, &o, &ctx);

	if (r >= 0)
		return r;
	if ((r = cli_fetch(ctx, &o, &tok)) != EXIT_OK) {
		azmi_ctx_free(ctx);
		return r;
	}
	claims = jwt_decode_part(tok->access_token, tok->access_token_len, 1);
	if (claims == NULL)
		fputs("azmi: the token is not a JWT; showing what is known without claims\n", stderr);
	print_claims(ctx, &o.req, tok, claims, o.json);
	json_object_put(claims);
	azmi_token_release(tok);
	azmi_ctx_free(ctx);
	return EXIT_OK;
}

/*
 * cmd_account.c - "azmi account get-access-token": the Azure CLI's command and output, so a script
 * written for `az account get-access-token ... --query accessToken -o tsv` switches by one word.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>

#include "cli.h"
#include "jwt.h"

static const char usage[] =
    "Usage: azmi account get-access-token [--resource URI | --scope SCOPE] [--query FIELD]\n"
    "                                     [-o json|jsonc|tsv|none] [IDENTITY] [--no-cache]\n"
    "                                     [--timeout SECONDS] [--config FILE] [-v]\n"
    "The Azure CLI's 'az account get-access-token', answered from this machine's identity:\n"
    "{accessToken, expiresOn (local time), expires_on, subscription, tenant, tokenType}.\n"
    "  --resource URI         resource (default https://management.azure.com/)\n"
    "  --scope SCOPE          or a scope RESOURCE/.default\n"
    "  --query FIELD          print one field: accessToken, expiresOn, expires_on, subscription,\n"
    "                         tenant or tokenType (the only JMESPath azmi understands)\n"
    "  -o, --output FORMAT    json (default), jsonc, tsv or none\n"
    "  --client-id ID | --object-id ID | --msi-res-id ARMID | --system\n"
    "                         which managed identity (default: AZURE_CLIENT_ID, else system-assigned)\n"
    "  --credential NAME      environment, workload_identity, managed_identity or azure_cli\n"
    "subscription is the one in a managed identity's resource id (token claim xms_mirid), tenant the\n"
    "token's tid; either is left out when the token does not say.  --tenant, --subscription and\n"
    "--resource-type are refused: this machine's identity decides them.\n";

enum field { F_TOKEN, F_EXPIRES_ON_LOCAL, F_EXPIRES_ON, F_SUBSCRIPTION, F_TENANT, F_TYPE, F_COUNT };

/* az's keys, in the (sorted) order it prints them. */
static const char *const field_names[F_COUNT] = {"accessToken",  "expiresOn", "expires_on",
                                                 "subscription", "tenant",    "tokenType"};

enum format { OUT_JSON, OUT_TSV, OUT_NONE };

struct account_opts {
	struct token_opts tok;
	enum format format;
	int query; /* a field, or -1 for the whole object */
};

/* The printable values of every field but the token; NULL when unknown. */
struct values {
	char local[40], epoch[24], subscription[64], tenant[64];
	const char *text[F_COUNT];
};

static bool guid_like(const char *s, size_t len)
{
	if (len == 0 || len > 36)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F') || s[i] == '-'))
			return false;
	return true;
}

/* A string claim, or NULL. */
static const char *claim(struct json_object *claims, const char *name)
{
	struct json_object *o;

	if (!json_object_object_get_ex(claims, name, &o) || !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

/* tid, and the subscription of a managed identity's resource id ("/subscriptions/<id>/..."). */
static void claims_values(const struct azmi_token *tok, struct values *v)
{
	static const char prefix[] = "/subscriptions/";
	struct json_object *claims = jwt_decode_part(tok->access_token, tok->access_token_len, 1);
	const char *tid, *mirid;
	size_t len;

	if (claims == NULL)
		return;
	if ((tid = claim(claims, "tid")) != NULL && guid_like(tid, strlen(tid))) {
		snprintf(v->tenant, sizeof(v->tenant), "%s", tid);
		v->text[F_TENANT] = v->tenant;
	}
	mirid = claim(claims, "xms_mirid");
	if (mirid && strncasecmp(mirid, prefix, sizeof(prefix) - 1) == 0) {
		mirid += sizeof(prefix) - 1;
		len = strcspn(mirid, "/");
		if (guid_like(mirid, len)) {
			snprintf(v->subscription, sizeof(v->subscription), "%.*s", (int)len, mirid);
			v->text[F_SUBSCRIPTION] = v->subscription;
		}
	}
	json_object_put(claims);
}

static void fill_values(const struct azmi_token *tok, struct values *v)
{
	time_t t = (time_t)tok->expires_on;
	struct tm tm;

	memset(v, 0, sizeof(*v));
	/* az writes expiresOn as a naive local time with microseconds. */
	if (localtime_r(&t, &tm) && strftime(v->local, sizeof(v->local), "%Y-%m-%d %H:%M:%S.000000", &tm) > 0)
		v->text[F_EXPIRES_ON_LOCAL] = v->local;
	snprintf(v->epoch, sizeof(v->epoch), "%lld", (long long)tok->expires_on);
	v->text[F_EXPIRES_ON] = v->epoch;
	v->text[F_TYPE] = tok->token_type;
	claims_values(tok, v);
}

/*
 * One field as JSON.  The token needs no escaping (the core admits only base64url-ish characters)
 * and is printed straight from the token object, so no JSON library holds a copy of it.
 */
static int print_json_value(const struct azmi_token *tok, const struct values *v, int f)
{
	struct json_object *o;
	int r;

	if (f == F_TOKEN)
		return printf("\"%s\"", tok->access_token) < 0;
	if (f == F_EXPIRES_ON)
		return fputs(v->epoch, stdout) < 0;
	if ((o = json_object_new_string(v->text[f])) == NULL)
		return 1;
	r = fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE), stdout) < 0;
	json_object_put(o);
	return r;
}

static int print_json(const struct azmi_token *tok, const struct values *v)
{
	const char *sep = "{\n";
	int r = 0;

	for (int f = 0; f < F_COUNT; f++) {
		if (f != F_TOKEN && v->text[f] == NULL)
			continue;
		r |= printf("%s  \"%s\": ", sep, field_names[f]) < 0;
		r |= print_json_value(tok, v, f);
		sep = ",\n";
	}
	return r | (puts("\n}") < 0);
}

static int print_tsv(const struct azmi_token *tok, const struct values *v)
{
	const char *sep = "";
	int r = 0;

	for (int f = 0; f < F_COUNT; f++) {
		const char *s = f == F_TOKEN ? tok->access_token : v->text[f];
		if (s == NULL)
			continue;
		r |= printf("%s%s", sep, s) < 0;
		sep = "\t";
	}
	return r | (putchar('\n') == EOF);
}

/* az prints nothing for a missing value. */
static int print_field(const struct azmi_token *tok, const struct values *v, enum format fmt, int f)
{
	if (f != F_TOKEN && v->text[f] == NULL)
		return 0;
	if (fmt == OUT_TSV)
		return printf("%s\n", f == F_TOKEN ? tok->access_token : v->text[f]) < 0;
	return print_json_value(tok, v, f) | (putchar('\n') == EOF);
}

static int set_output(struct account_opts *o, const char *arg)
{
	if (strcmp(arg, "json") == 0 || strcmp(arg, "jsonc") == 0)
		o->format = OUT_JSON;
	else if (strcmp(arg, "tsv") == 0)
		o->format = OUT_TSV;
	else if (strcmp(arg, "none") == 0)
		o->format = OUT_NONE;
	else
		return cli_usage_error(
		    "--output %s: azmi account get-access-token prints json, jsonc, tsv or none", arg);
	return 0;
}

static int set_query(struct account_opts *o, const char *arg)
{
	for (int f = 0; f < F_COUNT; f++) {
		if (strcmp(arg, field_names[f]) == 0) {
			o->query = f;
			return 0;
		}
	}
	return cli_usage_error("--query %s: azmi understands one field name: accessToken, expiresOn, "
	                       "expires_on, subscription, tenant or tokenType",
	                       arg);
}

/* 0 to go on, -1 after --help, else an exit code. */
static int parse(int argc, char **argv, struct account_opts *o)
{
	enum { OPT_RESOURCE = CLI_OPT_FIRST_FREE, OPT_SCOPE, OPT_QUERY, OPT_REFUSED };
	static const struct option longopts[] = {
	    {"resource", required_argument, NULL, OPT_RESOURCE},
	    {"scope", required_argument, NULL, OPT_SCOPE},
	    {"query", required_argument, NULL, OPT_QUERY},
	    {"output", required_argument, NULL, 'o'},
	    {"tenant", required_argument, NULL, OPT_REFUSED},
	    {"subscription", required_argument, NULL, OPT_REFUSED},
	    {"name", required_argument, NULL, OPT_REFUSED},
	    {"resource-type", required_argument, NULL, OPT_REFUSED},
	    CLI_TOKEN_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int c, idx = -1, r = 0;

	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "o:t:s:n:vh", longopts, &idx)) != -1) {
		if (c == OPT_RESOURCE || c == OPT_SCOPE) {
			if (o->tok.req.resource)
				return cli_usage_error("give one --resource or --scope");
			o->tok.req.resource = optarg;
			o->tok.is_scope = c == OPT_SCOPE;
		} else if (c == OPT_QUERY) {
			r = set_query(o, optarg);
		} else if (c == 'o') {
			r = set_output(o, optarg);
		} else if (c == OPT_REFUSED || c == 't' || c == 's' || c == 'n') {
			return cli_usage_error(
			    "--%s: this machine's identity decides the tenant and subscription; "
			    "azmi cannot choose another",
			    c == OPT_REFUSED && idx >= 0 ? longopts[idx].name
			    : c == 't'                   ? "tenant"
			                                 : "subscription");
		} else if (c == 'j') {
			o->format = OUT_JSON;
		} else {
			r = cli_token_option(&o->tok, c, optarg, usage);
		}
		idx = -1;
	}
	if (r == 0 && optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return r;
}

int cmd_account(int argc, char **argv)
{
	struct account_opts o = {.tok.req = AZMI_REQUEST_INIT, .query = -1};
	struct azmi_ctx *ctx;
	struct azmi_token *tok;
	struct values v;
	int r;

	if (argc < 2 || strcmp(argv[1], "get-access-token") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
			fputs(usage, stdout);
			return EXIT_OK;
		}
		return cli_usage_error("azmi account knows one command: get-access-token");
	}
	if ((r = parse(argc - 1, argv + 1, &o)) != 0)
		return r < 0 ? EXIT_OK : r;
	if ((r = cli_check_scope(&o.tok)) != 0)
		return r;
	if (o.tok.req.resource == NULL)
		o.tok.req.resource = "https://management.azure.com/";
	if ((ctx = cli_ctx_open(o.tok.config, o.tok.verbose, &r)) == NULL)
		return r;
	if ((r = cli_fetch(ctx, &o.tok, &tok)) != EXIT_OK) {
		azmi_ctx_free(ctx);
		return r;
	}
	fill_values(tok, &v);
	if (o.format == OUT_NONE)
		r = 0;
	else if (o.query >= 0)
		r = print_field(tok, &v, o.format, o.query);
	else if (o.format == OUT_TSV)
		r = print_tsv(tok, &v);
	else
		r = print_json(tok, &v);
	return cli_finish(ctx, tok, r);
}

/* common.c - error printing, exit codes and shared option parsing for the azmi command. */
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_exit_code(azmi_err err)
{
	switch (err) {
	case AZMI_OK:
		return EXIT_OK;
	case AZMI_ERR_USAGE:
	case AZMI_ERR_CONFIG:
		return EXIT_USAGE;
	case AZMI_ERR_UNAVAILABLE:
		return EXIT_NO_CREDENTIAL;
	case AZMI_ERR_REFUSED:
		return EXIT_REFUSED;
	case AZMI_ERR_ENDPOINT:
	case AZMI_ERR_TIMEOUT:
	case AZMI_ERR_PROTOCOL:
		return EXIT_FAILED;
	case AZMI_ERR_NOMEM:
	case AZMI_ERR_CACHE:
	case AZMI_ERR_SYSTEM:
		break;
	}
	return EXIT_INTERNAL;
}

/* Each line of `text` on stderr as "azmi: <tag><line>", so that every line says where it came from. */
static void print_lines(const char *tag, const char *text)
{
	const char *p = text;

	while (*p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		fprintf(stderr, "azmi: %s%.*s\n", tag, len, p);
		p += len + (nl ? 1 : 0);
	}
}

void cli_print_error(const struct azmi_error *err)
{
	if (err->message[0] == '\0') {
		fprintf(stderr, "azmi: %s\n", azmi_strerror(err->code));
		return;
	}
	print_lines("", err->message);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("azmi: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'azmi --help'.\n", stderr);
	return EXIT_USAGE;
}

static void log_to_stderr(void *userdata, enum azmi_log_level level, const char *line)
{
	int verbose = *(const int *)userdata;

	if (level <= AZMI_LOG_WARNING)
		print_lines("warning: ", line);
	else if (verbose >= (level == AZMI_LOG_DEBUG ? 2 : 1))
		print_lines("", line);
}

struct azmi_ctx *cli_ctx_open(const char *config, int verbose, int *exit_code)
{
	static int level;
	struct azmi_ctx *ctx;
	struct azmi_error err = AZMI_ERROR_INIT;
	azmi_err r = azmi_ctx_new(&ctx, config, &err);

	if (r != AZMI_OK) {
		cli_print_error(&err);
		*exit_code = cli_exit_code(r);
		return NULL;
	}
	level = verbose;
	azmi_ctx_set_log(ctx, log_to_stderr, &level);
	return ctx;
}

static bool scope_is_default(const char *scope)
{
	size_t len = strlen(scope), n = strlen("/.default");

	return len > n && strcmp(scope + len - n, "/.default") == 0;
}

static int set_identity(struct token_opts *o, enum azmi_id_kind kind, const char *value)
{
	if (o->req.id_kind != AZMI_ID_DEFAULT)
		return cli_usage_error(
		    "give at most one of --client-id, --object-id, --msi-res-id, --system");
	o->req.id_kind = kind;
	o->req.id_value = value;
	return 0;
}

int cli_token_option(struct token_opts *o, int c, const char *arg, const char *usage)
{
	char *end;
	long n;

	switch (c) {
	case CLI_OPT_CLIENT:
		return set_identity(o, AZMI_ID_CLIENT_ID, arg);
	case CLI_OPT_OBJECT:
		return set_identity(o, AZMI_ID_OBJECT_ID, arg);
	case CLI_OPT_MSI:
		return set_identity(o, AZMI_ID_RESOURCE_ID, arg);
	case CLI_OPT_SYSTEM:
		return set_identity(o, AZMI_ID_SYSTEM, NULL);
	case 'j':
		o->json = true;
		return 0;
	case CLI_OPT_NOCACHE:
		o->req.flags |= AZMI_NO_CACHE;
		return 0;
	case CLI_OPT_TIMEOUT:
		n = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || n < 1 || n > 3600)
			return cli_usage_error("--timeout takes whole seconds from 1 to 3600");
		o->req.timeout_ms = n * 1000;
		return 0;
	case CLI_OPT_CONFIG:
		o->config = arg;
		return 0;
	case CLI_OPT_CRED:
		o->req.credential = arg;
		return 0;
	case 'v':
		o->verbose++;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return -1;
	default:
		return EXIT_USAGE; /* getopt_long has said what was wrong */
	}
}

int cli_parse_token_opts(int argc, char **argv, struct token_opts *o, const char *usage)
{
	static const struct option longopts[] = {
	    {"resource", required_argument, NULL, 'r'},
	    {"scope", required_argument, NULL, 's'},
	    CLI_TOKEN_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	int c, r = 0;

	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "r:s:jvh", longopts, NULL)) != -1) {
		if (c == 'r' || c == 's') {
			if (o->req.resource)
				return cli_usage_error("give one --resource or --scope");
			o->req.resource = optarg;
			o->is_scope = c == 's';
			continue;
		}
		r = cli_token_option(o, c, optarg, usage);
	}
	if (r == 0 && optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return r == 0 ? cli_check_scope(o) : r;
}

int cli_check_scope(const struct token_opts *o)
{
	if (o->is_scope && !scope_is_default(o->req.resource))
		return cli_usage_error("--scope %s: an application token takes the scope RESOURCE/.default "
		                       "(delegated scopes such as User.Read need a user's sign-in)",
		                       o->req.resource);
	return 0;
}

int cli_begin(int argc, char **argv, const char *usage, struct token_opts *o, struct azmi_ctx **ctx)
{
	int r = cli_parse_token_opts(argc, argv, o, usage);

	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if (o->req.resource == NULL)
		o->req.resource = "https://management.azure.com/";
	if ((*ctx = cli_ctx_open(o->config, o->verbose, &r)) == NULL)
		return r;
	return -1;
}

int cli_fetch(struct azmi_ctx *ctx, const struct token_opts *o, struct azmi_token **tok)
{
	struct azmi_error err = AZMI_ERROR_INIT;

	if (azmi_get_token(ctx, &o->req, tok, &err) == AZMI_OK)
		return EXIT_OK;
	cli_print_error(&err);
	return cli_exit_code(err.code);
}

int cli_finish(struct azmi_ctx *ctx, struct azmi_token *tok, int write_failed)
{
	if (fflush(stdout) != 0)
		write_failed = 1;
	azmi_token_release(tok);
	azmi_ctx_free(ctx);
	if (write_failed) {
		fputs("azmi: cannot write the token to standard output\n", stderr);
		return EXIT_INTERNAL;
	}
	return EXIT_OK;
}

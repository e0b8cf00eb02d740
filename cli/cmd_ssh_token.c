/* cmd_ssh_token.c - "azmi ssh-token": on a workstation, a token to type at a VM's SSH prompt. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define SSH_ANSWER_MAX 1000 /* the stock ssh client reads at most 1023 bytes an answer */

static const char usage[] =
    "Usage: azmi ssh-token --resource APP-ID-URI [--split] [--credential NAME] [--timeout SECONDS] [-v]\n"
    "Print an Entra access token for the application that stands for a VM (its audiences in the VM's\n"
    "azmi.conf), to answer pam_azmi's \"Entra access token:\" prompt.  By default it comes from your\n"
    "Azure CLI sign-in (az login), not from a managed identity.\n"
    "  -r, --resource URI     the application ID URI, e.g. api://vm1\n"
    "  --split                print the token in lines of at most 1000 characters, each but the last\n"
    "                         ending in '\\': paste one line at each prompt (ssh reads 1023 bytes at most)\n"
    "  --credential NAME      azure_cli (default), environment, workload_identity or managed_identity\n";

/* One line per SSH answer: pam_azmi joins answers that end in a backslash. */
static int print_split(const char *tok, size_t len)
{
	int r = 0;

	for (size_t at = 0; at < len && r == 0; at += SSH_ANSWER_MAX - 1) {
		size_t n = len - at < SSH_ANSWER_MAX - 1 ? len - at : SSH_ANSWER_MAX - 1;
		r = printf("%.*s%s\n", (int)n, tok + at, at + n < len ? "\\" : "") < 0;
	}
	return r;
}

int cmd_ssh_token(int argc, char **argv)
{
	enum { OPT_SPLIT = CLI_OPT_FIRST_FREE };
	static const struct option longopts[] = {
	    {"resource", required_argument, NULL, 'r'},
	    {"split", no_argument, NULL, OPT_SPLIT},
	    CLI_TOKEN_LONGOPTS,
	    {NULL, 0, NULL, 0},
	};
	struct token_opts o = {.req = {.size = sizeof(struct azmi_request), .credential = "azure_cli"}};
	struct azmi_token *tok;
	struct azmi_ctx *ctx;
	bool split = false;
	int c, r = 0;

	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "r:jvh", longopts, NULL)) != -1) {
		if (c == 'r')
			o.req.resource = optarg;
		else if (c == OPT_SPLIT)
			split = true;
		else
			r = cli_token_option(&o, c, optarg, usage);
	}
	if (r != 0)
		return r < 0 ? EXIT_OK : r;
	if (optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	if (o.req.resource == NULL)
		return cli_usage_error("ssh-token needs --resource: the VM application's ID URI (api://...)");
	if ((ctx = cli_ctx_open(o.config, o.verbose, &r)) == NULL)
		return r;
	if ((r = cli_fetch(ctx, &o, &tok)) != EXIT_OK) {
		azmi_ctx_free(ctx);
		return r;
	}
	r = split ? print_split(tok->access_token, tok->access_token_len)
	          : printf("%s\n", tok->access_token) < 0;
	return cli_finish(ctx, tok, r);
}

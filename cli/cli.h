/* cli.h - what the azmi command's subcommands share. */
#ifndef AZMI_CLI_H
#define AZMI_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include "azmi.h"

/* Exit codes, documented in --help and azmi(1). */
enum {
	EXIT_OK = 0,
	EXIT_INTERNAL = 1,
	EXIT_USAGE = 2, /* bad arguments or configuration */
	EXIT_NO_CREDENTIAL = 3,
	EXIT_REFUSED = 4, /* the endpoint refused (4xx) */
	EXIT_FAILED = 5,  /* the endpoint failed, timed out or answered nonsense */
};

/* Options shared by the subcommands that get a token. */
struct token_opts {
	struct azmi_request req;
	const char *config;
	bool is_scope; /* given as --scope: must end in /.default */
	bool json;
	int verbose;
};

/* The one place azmi_err becomes an exit code. */
int cli_exit_code(azmi_err err);

/* Print an error's message to stderr, each line prefixed "azmi: ". */
void cli_print_error(const struct azmi_error *err);

/* Print a usage error and return EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Long options every token subcommand shares (values for getopt_long's `val`). */
enum {
	CLI_OPT_CLIENT = 256,
	CLI_OPT_OBJECT,
	CLI_OPT_MSI,
	CLI_OPT_SYSTEM,
	CLI_OPT_NOCACHE,
	CLI_OPT_TIMEOUT,
	CLI_OPT_CONFIG,
	CLI_OPT_CRED,
	CLI_OPT_FIRST_FREE = 300 /* subcommands number their own options from here */
};

/* The shared long options (identity, --json, --no-cache, --timeout, --config, --credential, -v, -h). */
#define CLI_TOKEN_LONGOPTS                                                                                   \
	{"client-id", required_argument, NULL, CLI_OPT_CLIENT},                                              \
	    {"object-id", required_argument, NULL, CLI_OPT_OBJECT},                                          \
	    {"msi-res-id", required_argument, NULL, CLI_OPT_MSI},                                            \
	    {"system", no_argument, NULL, CLI_OPT_SYSTEM}, {"json", no_argument, NULL, 'j'},                 \
	    {"no-cache", no_argument, NULL, CLI_OPT_NOCACHE},                                                \
	    {"timeout", required_argument, NULL, CLI_OPT_TIMEOUT},                                           \
	    {"config", required_argument, NULL, CLI_OPT_CONFIG},                                             \
	    {"credential", required_argument, NULL, CLI_OPT_CRED}, {"verbose", no_argument, NULL, 'v'},      \
	{                                                                                                    \
		"help", no_argument, NULL, 'h'                                                               \
	}

/*
 * Apply one shared option `c` (with `arg`) to `o`: 0 when applied, -1 after
 * printing `usage` for --help, an exit code for a usage error or an option
 * that is not a shared one.
 */
int cli_token_option(struct token_opts *o, int c, const char *arg, const char *usage);

/* Create a context with the stderr log hook; prints the error and returns NULL on failure. */
struct azmi_ctx *cli_ctx_open(const char *config, int verbose, int *exit_code);

/*
 * Parse argv (getopt_long) for the subcommands that take only --resource or
 * --scope and the shared token options; anything else is a usage error.
 * Returns 0, -1 after printing `usage` for --help, or a usage error's exit code.
 */
int cli_parse_token_opts(int argc, char **argv, struct token_opts *o, const char *usage);

/* A --scope must be RESOURCE/.default: 0, or a usage error's exit code. */
int cli_check_scope(const struct token_opts *o);

/*
 * The start shared by the token subcommands: parse options (default resource
 * ARM), open a context.  Returns -1 to go on with *ctx set, else an exit code.
 */
int cli_begin(int argc, char **argv, const char *usage, struct token_opts *o, struct azmi_ctx **ctx);

/* Get the token for `o`; on failure print the error and return its exit code. */
int cli_fetch(struct azmi_ctx *ctx, const struct token_opts *o, struct azmi_token **tok);

/*
 * The end shared by the commands that print a token: flush standard output,
 * release the token and the context; EXIT_INTERNAL (with a message) when
 * printing failed (`write_failed`) or the flush did, else EXIT_OK.
 */
int cli_finish(struct azmi_ctx *ctx, struct azmi_token *tok, int write_failed);

int cmd_token(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_whoami(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_check_login(int argc, char **argv);
int cmd_acr_token(int argc, char **argv);
int cmd_ssh_token(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_ssh_ca(int argc, char **argv);
int cmd_ssh_principals(int argc, char **argv);

#endif

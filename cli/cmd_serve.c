/* cmd_serve.c - "azmi serve": options and start-up of the local token service. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "serve.h"
#include "util.h"

static const char usage[] =
    "Usage: azmi serve [--env-file FILE] [--listen HOST:PORT] [--unix PATH] [IDENTITIES] [OPTIONS]\n"
    "       azmi serve --init FILE [--group GROUP] [--listen HOST:PORT]\n"
    "Serve tokens to the Azure SDKs on this machine through App Service's managed-identity\n"
    "protocol (IDENTITY_ENDPOINT + IDENTITY_HEADER, api-version 2019-08-01), from azmi's caches.\n"
    "  --env-file FILE        IDENTITY_ENDPOINT and IDENTITY_HEADER (the secret) to serve\n"
    "                         (default /etc/azmi/serve.env)\n"
    "  --init FILE            write FILE with a fresh secret (mode 0640) and exit\n"
    "  --group GROUP          with --init: the group whose members may ask for tokens\n"
    "  --listen HOST:PORT     127.0.0.1:PORT, localhost:PORT or [::1]:PORT (overrides the file)\n"
    "  --unix PATH            also listen on a Unix socket (mode --unix-mode, default 0660)\n"
    "  --allow-client-id ID | --allow-object-id ID | --allow-msi-res-id ARMID\n"
    "                         a user-assigned identity clients may name (repeatable, up to 16)\n"
    "  --allow-any-identity   any identity clients name\n"
    "  --no-default-identity  refuse requests that name no identity\n"
    "  --threads N            workers answering requests (default 4)\n"
    "  --max-clients N        connections at once (default 256); more get a 503\n"
    "  --client-timeout SECONDS  time a client has to send its request (default 5)\n"
    "  --timeout SECONDS      give up on a token after this long (default 60)\n"
    "  --credential NAME      serve one credential instead of the chain: environment,\n"
    "                         workload_identity, managed_identity or azure_cli\n"
    "  --config FILE          azmi's configuration (default /etc/azmi.conf)\n"
    "  -v, --verbose          log every token handed out, not only refusals and failures\n";

enum {
	OPT_ENV = CLI_OPT_FIRST_FREE,
	OPT_INIT,
	OPT_GROUP,
	OPT_LISTEN,
	OPT_UNIX,
	OPT_UNIX_MODE,
	OPT_ALLOW_CLIENT,
	OPT_ALLOW_OBJECT,
	OPT_ALLOW_MSI,
	OPT_ALLOW_ANY,
	OPT_NO_DEFAULT,
	OPT_THREADS,
	OPT_MAX_CLIENTS,
	OPT_CLIENT_TIMEOUT,
	OPT_TIMEOUT,
	OPT_CONFIG,
	OPT_CRED,
};

struct serve_opts {
	const char *env_file, *init, *group, *listen, *config;
};

static int number(const char *opt, const char *arg, int64_t min, int64_t max, int64_t *out)
{
	if (!util_parse_int64(arg, strlen(arg), min, max, out))
		return cli_usage_error("%s takes a whole number from %lld to %lld", opt, (long long)min,
		                       (long long)max);
	return 0;
}

static int add_allow(struct serve_config *cfg, enum azmi_id_kind kind, const char *value)
{
	if (cfg->nallow == SERVE_ALLOW_MAX)
		return cli_usage_error("at most %d identities may be allowed", SERVE_ALLOW_MAX);
	if (value[0] == '\0' || strlen(value) >= SERVE_ID_MAX)
		return cli_usage_error("an allowed identity must be 1 to %d bytes", SERVE_ID_MAX - 1);
	cfg->allow[cfg->nallow].kind = kind;
	memcpy(cfg->allow[cfg->nallow].value, value, strlen(value) + 1);
	cfg->nallow++;
	return 0;
}

static int take_option(int c, const char *arg, struct serve_config *cfg, struct serve_opts *o)
{
	int64_t n;
	int r;

	switch (c) {
	case OPT_ENV:
		o->env_file = arg;
		return 0;
	case OPT_INIT:
		o->init = arg;
		return 0;
	case OPT_GROUP:
		o->group = arg;
		return 0;
	case OPT_LISTEN:
		o->listen = arg;
		return 0;
	case OPT_UNIX:
		cfg->unix_path = arg;
		return 0;
	case OPT_CONFIG:
		o->config = arg;
		return 0;
	case OPT_CRED:
		cfg->credential = arg;
		return 0;
	case OPT_ALLOW_CLIENT:
		return add_allow(cfg, AZMI_ID_CLIENT_ID, arg);
	case OPT_ALLOW_OBJECT:
		return add_allow(cfg, AZMI_ID_OBJECT_ID, arg);
	case OPT_ALLOW_MSI:
		return add_allow(cfg, AZMI_ID_RESOURCE_ID, arg);
	case OPT_ALLOW_ANY:
		cfg->allow_any = true;
		return 0;
	case OPT_NO_DEFAULT:
		cfg->deny_default = true;
		return 0;
	case 'v':
		cfg->verbose++;
		return 0;
	case 'h':
		fputs(usage, stdout);
		return -1;
	case OPT_UNIX_MODE:
		n = strtol(arg, NULL, 8);
		if (strspn(arg, "01234567") != strlen(arg) || arg[0] == '\0' || n > 0770)
			return cli_usage_error(
			    "--unix-mode takes an octal mode up to 0770 (others get nothing)");
		cfg->unix_mode = (long)n;
		return 0;
	case OPT_THREADS:
		r = number("--threads", arg, 1, 64, &n);
		cfg->threads = (int)n;
		return r;
	case OPT_MAX_CLIENTS:
		r = number("--max-clients", arg, 1, 4096, &n);
		cfg->max_conns = (int)n;
		return r;
	case OPT_CLIENT_TIMEOUT:
		r = number("--client-timeout", arg, 1, 60, &n);
		cfg->client_timeout_ms = (int)n * 1000;
		return r;
	case OPT_TIMEOUT:
		r = number("--timeout", arg, 1, 3600, &n);
		cfg->token_timeout_ms = (long)n * 1000;
		return r;
	default:
		return EXIT_USAGE; /* getopt_long has said what was wrong */
	}
}

static int parse_args(int argc, char **argv, struct serve_config *cfg, struct serve_opts *o)
{
	static const struct option longopts[] = {
	    {"env-file", required_argument, NULL, OPT_ENV},
	    {"init", required_argument, NULL, OPT_INIT},
	    {"group", required_argument, NULL, OPT_GROUP},
	    {"listen", required_argument, NULL, OPT_LISTEN},
	    {"unix", required_argument, NULL, OPT_UNIX},
	    {"unix-mode", required_argument, NULL, OPT_UNIX_MODE},
	    {"allow-client-id", required_argument, NULL, OPT_ALLOW_CLIENT},
	    {"allow-object-id", required_argument, NULL, OPT_ALLOW_OBJECT},
	    {"allow-msi-res-id", required_argument, NULL, OPT_ALLOW_MSI},
	    {"allow-any-identity", no_argument, NULL, OPT_ALLOW_ANY},
	    {"no-default-identity", no_argument, NULL, OPT_NO_DEFAULT},
	    {"threads", required_argument, NULL, OPT_THREADS},
	    {"max-clients", required_argument, NULL, OPT_MAX_CLIENTS},
	    {"client-timeout", required_argument, NULL, OPT_CLIENT_TIMEOUT},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"config", required_argument, NULL, OPT_CONFIG},
	    {"credential", required_argument, NULL, OPT_CRED},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, r = 0;

	optind = 1;
	while (r == 0 && (c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1)
		r = take_option(c, optarg, cfg, o);
	if (r == 0 && optind < argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	return r;
}

/* --listen HOST:PORT as an endpoint URL with the path kept. */
static int apply_listen(const char *listen, struct serve_config *cfg)
{
	char url[256];
	const char *path = cfg->path[0] ? cfg->path : "/msi/token";

	if (snprintf(url, sizeof(url), "http://%s%s", listen, path) >= (int)sizeof(url))
		return cli_usage_error("--listen %s: too long", listen);
	return serve_parse_endpoint(url, cfg);
}

/*
 * The service must not ask itself: when this process's own environment
 * points the core at the endpoint it serves (a unit including the same
 * environment file), drop those variables.
 */
static void forget_own_endpoint(const struct serve_config *cfg)
{
	const char *hdr = getenv("IDENTITY_HEADER");

	if (hdr && strlen(hdr) == cfg->secret_len &&
	    util_memeq_consttime(hdr, cfg->secret, cfg->secret_len)) {
		unsetenv("IDENTITY_ENDPOINT");
		unsetenv("IDENTITY_HEADER");
	}
}

int cmd_serve(int argc, char **argv)
{
	static struct serve_config cfg;
	struct serve_opts o = {.env_file = "/etc/azmi/serve.env"};
	int r;

	cfg = (struct serve_config){.threads = 4,
	                            .max_conns = 256,
	                            .client_timeout_ms = 5000,
	                            .token_timeout_ms = 60000,
	                            .unix_mode = 0660};
	if ((r = parse_args(argc, argv, &cfg, &o)) != 0)
		return r < 0 ? EXIT_OK : r;
	if (o.init) {
		char url[256] = SERVE_DEFAULT_ENDPOINT;
		if (o.listen &&
		    snprintf(url, sizeof(url), "http://%s/msi/token", o.listen) >= (int)sizeof(url))
			return cli_usage_error("--listen %s: too long", o.listen);
		return serve_env_init(o.init, o.group, url);
	}
	if ((r = serve_parse_endpoint(SERVE_DEFAULT_ENDPOINT, &cfg)) != 0 ||
	    (r = serve_env_read(o.env_file, &cfg)) != 0 ||
	    (o.listen && (r = apply_listen(o.listen, &cfg)) != 0))
		goto out;
	forget_own_endpoint(&cfg);
	r = EXIT_USAGE;
	if ((cfg.ctx = cli_ctx_open(o.config, cfg.verbose, &r)) == NULL)
		goto out;
	r = serve_run(&cfg);
	azmi_ctx_free(cfg.ctx);
out:
	explicit_bzero(cfg.secret, sizeof(cfg.secret));
	return r;
}

/* cmd_doctor.c - "azmi doctor": what azmi detects here, and whether it works. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "frontend.h"
#include "machine_kind.h"
#include "rbac.h"
#include "util.h"

static const char usage[] =
    "Usage: azmi doctor [--resource URI] [IDENTITY] [--timeout SECONDS] [--config FILE]\n"
    "Show the configuration, the detected credential source, proxy variables, the\n"
    "cache directory's health, and try to get a token (without using the cache).\n";

static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY",
                                         "all_proxy",  "ALL_PROXY",  "no_proxy",    "NO_PROXY"};

/* A proxy URL without any user:password part. */
static void print_redacted(const char *name, const char *value)
{
	const char *at = strchr(value, '@'), *scheme = strstr(value, "://");
	char shown[256];

	if (at && scheme && scheme < at)
		snprintf(shown, sizeof(shown), "%.*s***%s", (int)(scheme + 3 - value), value, at);
	else
		snprintf(shown, sizeof(shown), "%s", value);
	util_sanitize(shown, sizeof(shown), shown, strlen(shown));
	printf("  %s=%s\n", name, shown);
}

static void print_environment(const struct settings *s)
{
	bool any = false;

	printf("environment:\n");
	if (s->azure_client_id)
		printf("  AZURE_CLIENT_ID=%s\n", s->azure_client_id);
	if (s->identity_endpoint)
		printf("  IDENTITY_ENDPOINT=%s\n", s->identity_endpoint);
	if (s->identity_header)
		printf("  IDENTITY_HEADER is set (value hidden)\n");
	if (s->imds_endpoint_from_env)
		printf("  AZURE_POD_IDENTITY_AUTHORITY_HOST=%s\n", s->imds_endpoint);
	printf("proxy variables (never used for identity endpoints):\n");
	for (size_t i = 0; i < ARRAY_SIZE(proxy_vars); i++) {
		const char *v = getenv(proxy_vars[i]);
		if (v && *v) {
			print_redacted(proxy_vars[i], v);
			any = true;
		}
	}
	if (!any)
		printf("  none\n");
	if (s->proxy != NULL) {
		printf("proxy of azmi.conf (used instead of the variables for remote services):\n");
		if (s->proxy[0])
			print_redacted("proxy", s->proxy);
		else
			printf("  none\n");
	} else if (!s->env_trusted) {
		printf("  (ignored here: a setuid program uses only the proxy of azmi.conf)\n");
	}
}

static void print_cache(struct azmi_ctx *ctx)
{
	const char *dir;
	int dirfd;
	enum ctx_cache_state state = ctx_cache(ctx, &dir, &dirfd);
	struct stat st;
	DIR *d;
	int files = 0;

	if (state == CTX_CACHE_OFF) {
		printf("cache:       off (cache = no)\n");
		return;
	}
	if (state == CTX_CACHE_UNUSABLE) {
		printf(
		    "cache:       %s: NOT USABLE (see the warning above); every process asks the endpoint\n",
		    dir ? dir : "(no directory)");
		return;
	}
	fstat(dirfd, &st);
	if ((d = fdopendir(dup(dirfd))) != NULL) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL)
			files += e->d_name[0] != '.' && strchr(e->d_name, '.') == NULL;
		closedir(d);
	}
	printf("cache:       %s: ok (mode %04o, uid %u), %d cached token%s\n", dir,
	       (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, files, files == 1 ? "" : "s");
}

/* Each link of the chain: configured or why not, and which managed-identity source and why. */
static void print_chain(const struct azmi_ctx *ctx)
{
	const struct settings *s = ctx_settings(ctx);
	struct ctx_link links[CTX_CHAIN_MAX];
	int n = ctx_chain(ctx, links);

	printf("chain:       %s\n",
	       s->token_credentials ? "narrowed by AZURE_TOKEN_CREDENTIALS" : "default order");
	for (int i = 0; i < n; i++) {
		const struct ctx_link *l = &links[i];
		if (!l->configured) {
			printf("  %d. %-18s skipped: %s\n", i + 1, l->credential, l->why);
			continue;
		}
		if (l->refused) {
			printf("  %d. %-18s refused: %s\n", i + 1, l->credential, l->why);
			continue;
		}
		printf("  %d. %-18s %s\n", i + 1, l->credential, l->title);
		if (l->managed) {
			printf("     %-18s chosen because %s\n", "", l->because);
			if (l->imds_endpoint != NULL)
				printf("     %-18s endpoint %s/metadata/identity/oauth2/token\n", "",
				       l->imds_endpoint);
		}
	}
	if (!s->use_azure_cli && !s->token_credentials)
		printf("     %-18s (azure_cli is off: use_azure_cli = yes or AZURE_TOKEN_CREDENTIALS=dev)\n",
		       "");
}

/* Logins configured here: the machine's kind, the scope logins are decided at and the data actions. */
static void print_machine(struct azmi_ctx *ctx)
{
	struct config_file *cf = ctx_config(ctx);
	struct azmi_error err = AZMI_ERROR_INIT;
	struct vm_info vm;
	char what[300];

	if (config_get(cf, "allowed_domains") == NULL && config_get(cf, "upn_suffix") == NULL &&
	    config_get(cf, "user_map") == NULL)
		return;
	if (vm_info_get(ctx, &vm, &err) != AZMI_OK) {
		printf("machine:     FAILED: %s\n", err.message);
		return;
	}
	machine_describe(&vm, what, sizeof(what));
	printf("machine:     %s: %s\n", machine_kind_name(vm.kind), what);
	printf("  scope      %s\n", vm.resource_id);
	if (vm.kind == MACHINE_UNIFORM)
		printf("  fallback   %s (when Resource Manager refuses the instance's scope)\n",
		       vm.set_scope);
	printf("  logins     %s, admins also %s\n", machine_login_action(&vm), machine_admin_action(&vm));
}

int cmd_doctor(int argc, char **argv)
{
	struct token_opts o = {.req = {.size = sizeof(struct azmi_request), .timeout_ms = 10000}};
	struct azmi_ctx *ctx;
	struct azmi_token *tok;
	int r = cli_begin(argc, argv, usage, &o, &ctx);

	if (r >= 0)
		return r;
	o.req.flags |= AZMI_NO_CACHE;
	printf("azmi %s\n", AZMI_VERSION);
	printf("config:      %s\n", ctx_config(ctx)->path ? ctx_config(ctx)->path : "no file (defaults)");
	print_chain(ctx);
	print_environment(ctx_settings(ctx));
	print_cache(ctx);
	fflush(stdout);
	if ((r = cli_fetch(ctx, &o, &tok)) != EXIT_OK) {
		printf("token:       FAILED for %s (the lines above say why)\n", o.req.resource);
		azmi_ctx_free(ctx);
		return r;
	}
	printf("token:       ok for %s from %s, expires in %lld s\n", tok->resource, tok->source,
	       (long long)(tok->expires_on - util_now()));
	azmi_token_release(tok);
	print_machine(ctx);
	azmi_ctx_free(ctx);
	return EXIT_OK;
}

/*
 * cmd_ssh.c - `az ssh vm` certificates on this machine: "azmi ssh-ca
 * refresh|show" keeps sshd's TrustedUserCAKeys file (the cloud's Entra
 * signing keys), and "azmi ssh-principals USER CERT" is sshd's
 * AuthorizedPrincipalsCommand: offline, it prints the certificate's
 * principal only when the certificate may log in as USER (ssh_login.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <openssl/evp.h>

#include "cli.h"
#include "decide.h"
#include "frontend.h"
#include "jwt.h"
#include "login_conf.h"
#include "ssh_ca.h"
#include "ssh_login.h"
#include "ssh_ticket.h"
#include "util.h"

#define REFRESH_TIMEOUT_MS 30000L

static const char ca_usage[] =
    "Usage: azmi ssh-ca refresh|show [--config FILE] [--verbose]\n"
    "Keep sshd's TrustedUserCAKeys file (ssh_ca_file, default /var/lib/azmi/ssh-ca.pub)\n"
    "holding the cloud's Microsoft Entra signing keys, which also sign the OpenSSH\n"
    "certificates of `az ssh vm`.\n"
    "  refresh  fetch the key set and replace the file atomically; when the fetch\n"
    "           fails the last good set stays until it is ssh_ca_keep seconds old,\n"
    "           then the file is emptied (no certificate is trusted)\n"
    "  show     the file's keys, their age and whether they are trusted now\n"
    "\n"
    "Exit status: 0 fresh keys (refresh) or trusted keys (show), 2 configuration\n"
    "problem, 5 the fetch failed (the last good set kept or the file emptied) or\n"
    "no trusted key, 1 internal error.\n";

static const char principals_usage[] =
    "Usage: azmi ssh-principals [--config FILE] USER CERTIFICATE\n"
    "sshd's AuthorizedPrincipalsCommand (\"azmi ssh-principals %u %k\"): print the\n"
    "principal of the Entra SSH certificate CERTIFICATE (base64) when it may log in\n"
    "as USER: its CA is one of the cloud's Entra keys in the CA file, its key ID and\n"
    "tid@ extension name this machine's tenant, oid@ agrees, and the principal maps\n"
    "to USER. Offline; writes nothing. Refusals go to syslog (authpriv).\n"
    "\n"
    "Exit status: 0 accepted (the principal printed), 4 refused, 2 usage or\n"
    "configuration problem.\n";

/* --config and --verbose, then the positional arguments from optind. */
static int parse_common(int argc, char **argv, const char *usage, const char **config, int *verbose)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
		switch (c) {
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
	return 0;
}

/* A context and the login settings from its file; NULL after printing why. */
static struct azmi_ctx *open_conf(const char *config, int verbose, struct login_conf *conf, int *code)
{
	struct azmi_ctx *ctx;
	char why[512];

	login_conf_init(conf);
	if ((ctx = cli_ctx_open(config, verbose, code)) == NULL)
		return NULL;
	if (!login_conf_from_file(conf, ctx_config(ctx), why, sizeof(why))) {
		fprintf(stderr, "azmi: %s\n", why);
		azmi_ctx_free(ctx);
		*code = EXIT_USAGE;
		return NULL;
	}
	return ctx;
}

/* "SHA256:..." as ssh-keygen -l prints it. */
static void fingerprint(const unsigned char *blob, size_t len, char *out, size_t outlen)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char *b64;

	snprintf(out, outlen, "-");
	if (EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    (b64 = jwt_b64_encode(md, mdlen, false)) == NULL)
		return;
	b64[strcspn(b64, "=")] = '\0';
	snprintf(out, outlen, "SHA256:%s", b64);
	free(b64);
}

static int ca_show(const struct login_conf *conf)
{
	struct ssh_ca_set set;
	char why[400];
	int64_t now = util_now();

	printf("%-10s %s\n", "file", conf->ssh_ca_file);
	if (!ssh_ca_load(conf->ssh_ca_file, &set, why, sizeof(why))) {
		printf("%-10s not usable: %s\n", "status", why);
		return EXIT_FAILED;
	}
	if (set.fetched > 0)
		printf("%-10s %lld s ago (trusted until %lld s old: ssh_ca_keep)\n", "fetched",
		       (long long)(now - set.fetched), (long long)conf->ssh_ca_keep);
	for (size_t i = 0; i < set.n; i++) {
		char fp[80];
		fingerprint(set.keys[i], set.lens[i], fp, sizeof(fp));
		printf("%-10s RSA %s kid %s\n", "key", fp, set.kids[i][0] ? set.kids[i] : "-");
	}
	if (set.n == 0 || set.fetched <= 0 || now - set.fetched >= conf->ssh_ca_keep) {
		printf("%-10s no key is trusted now (%s)\n", "status",
		       set.n == 0 ? "the file holds none" : "the set is older than ssh_ca_keep");
		ssh_ca_set_free(&set);
		return EXIT_FAILED;
	}
	printf("%-10s %zu key(s) trusted\n", "status", set.n);
	ssh_ca_set_free(&set);
	return EXIT_OK;
}

static int ca_refresh(struct azmi_ctx *ctx, const struct login_conf *conf)
{
	const struct settings *s = ctx_settings(ctx);
	struct ssh_ca_refresh_opts o = {.authority = conf->authority[0] ? conf->authority : s->authority_host,
	                                .tenant = conf->tenant[0] ? conf->tenant : "common",
	                                .path = conf->ssh_ca_file,
	                                .ca_file = s->ca_file,
	                                .proxy = settings_proxy(s),
	                                .timeout_ms = REFRESH_TIMEOUT_MS,
	                                .keep = conf->ssh_ca_keep};
	struct azmi_error err = AZMI_ERROR_INIT, ferr = AZMI_ERROR_INIT;
	enum ssh_ca_outcome out;
	size_t n = 0;

	if (ssh_ca_refresh(&o, &out, &n, &ferr, &err) != AZMI_OK) {
		cli_print_error(&err);
		return cli_exit_code(err.code) == EXIT_OK ? EXIT_INTERNAL : cli_exit_code(err.code);
	}
	if (out != SSH_CA_FRESH)
		cli_print_error(&ferr);
	printf("ssh-ca: %s: %zu key(s) in %s%s\n", ssh_ca_outcome_name(out), n, conf->ssh_ca_file,
	       out == SSH_CA_KEPT      ? " (the last good set, kept until it is ssh_ca_keep old)"
	       : out == SSH_CA_EMPTIED ? " (no good set younger than ssh_ca_keep: no certificate is trusted)"
	                               : "");
	return out == SSH_CA_FRESH ? EXIT_OK : EXIT_FAILED;
}

int cmd_ssh_ca(int argc, char **argv)
{
	struct login_conf conf;
	struct azmi_ctx *ctx;
	const char *config = NULL, *what;
	int verbose = 0, code;

	if ((code = parse_common(argc, argv, ca_usage, &config, &verbose)) != 0)
		return code < 0 ? EXIT_OK : code;
	if (optind != argc - 1)
		return cli_usage_error("ssh-ca takes one of refresh, show");
	what = argv[optind];
	if (strcmp(what, "refresh") != 0 && strcmp(what, "show") != 0)
		return cli_usage_error("ssh-ca: unknown action '%s' (refresh, show)", what);
	if ((ctx = open_conf(config, verbose, &conf, &code)) == NULL)
		return code;
	login_ctx_defaults(ctx);
	code = strcmp(what, "show") == 0 ? ca_show(&conf) : ca_refresh(ctx, &conf);
	azmi_ctx_free(ctx);
	return code;
}

/* `text` for a key="value" log field: printable, double quotes made single. */
static void quoted(char *dst, size_t len, const char *src)
{
	util_sanitize(dst, len, src, strlen(src));
	for (char *p = dst; *p; p++)
		if (*p == '"')
			*p = '\'';
}

int cmd_ssh_principals(int argc, char **argv)
{
	struct login_conf conf;
	struct azmi_ctx *ctx;
	struct sshcert *cert = NULL;
	struct ssh_ca_set cas = {0};
	struct ssh_login_check *r = NULL;
	const char *config = NULL, *user;
	char why[400], u[LOGIN_NAME_MAX], p[SSHCERT_NAME_MAX + 8], reason[512];
	int verbose = 0, code;

	if ((code = parse_common(argc, argv, principals_usage, &config, &verbose)) != 0)
		return code < 0 ? EXIT_OK : code;
	if (optind != argc - 2)
		return cli_usage_error("ssh-principals takes USER and CERTIFICATE (sshd's %%u %%k)");
	user = argv[optind];
	if ((ctx = open_conf(config, verbose, &conf, &code)) == NULL)
		return code;
	openlog("azmi-ssh", LOG_PID, LOG_AUTHPRIV);
	code = EXIT_INTERNAL;
	if ((cert = malloc(sizeof(*cert))) == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		goto out;
	code = EXIT_REFUSED;
	if (!sshcert_parse_text(argv[optind + 1], strlen(argv[optind + 1]), cert, why, sizeof(why))) {
		snprintf(r->check, sizeof(r->check), "format");
		snprintf(r->reason, sizeof(r->reason), "%s", why);
	} else if (!ssh_ca_load(conf.ssh_ca_file, &cas, why, sizeof(why))) {
		snprintf(r->check, sizeof(r->check), "ca");
		snprintf(r->reason, sizeof(r->reason), "CA file: %.300s", why);
	} else if (ssh_login_check(&conf, user, login_local_uid(user), cert, &cas, util_now(), true, r)) {
		printf("%s\n", r->principal);
		code = EXIT_OK;
		/* for the account phase, which cannot see the certificate (ssh_ticket.h); best effort */
		if (!ssh_ticket_write(AZMI_SSH_RUNDIR, user, argv[optind + 1], why, sizeof(why)) && verbose)
			fprintf(stderr, "azmi: ssh-principals: %s\n", why);
	}
	quoted(u, sizeof(u), user);
	quoted(p, sizeof(p), r->principal[0] ? r->principal : "-");
	quoted(reason, sizeof(reason), r->reason);
	if (code == EXIT_OK)
		syslog(LOG_INFO, "ssh-principals: user=\"%s\" principal=\"%s\" oid=%s kid=%s result=accepted",
		       u, p, r->oid, r->kid[0] ? r->kid : "-");
	else {
		syslog(LOG_NOTICE,
		       "ssh-principals: user=\"%s\" principal=\"%s\" oid=%s result=refused check=%s "
		       "reason=\"%s\"",
		       u, p, r->oid[0] ? r->oid : "-", r->check, reason);
		fprintf(stderr, "azmi: ssh-principals: %s: refused (%s): %s\n", u, r->check, reason);
	}
out:
	ssh_ca_set_free(&cas);
	free(cert);
	free(r);
	closelog();
	azmi_ctx_free(ctx);
	return code;
}

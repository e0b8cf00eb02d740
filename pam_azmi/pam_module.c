/*
 * pam_module.c - pam_azmi's entry points.  The account phase decides through
 * decide.c, applies the decision to the uid table and the admin group, logs
 * one line and maps the outcome to a PAM code (pam_code, the one place).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "admins.h"
#include "auth.h"
#include "buf.h"
#include "cert.h"
#include "decide.h"
#include "frontend.h"
#include "jwt_verify.h"
#include "login_conf.h"
#include "machine_kind.h"
#include "ssh_ticket.h"
#include "statefile.h"
#include "uidmap.h"
#include "util.h"

#define PAM_AZMI_EXPORT __attribute__((visibility("default")))

#define TOKEN_PROMPT      "Entra access token: "
#define TOKEN_MORE_PROMPT "Entra access token, continued: "
#define TOKEN_MAX_PROMPTS 32

/* The one place a decision becomes a PAM code. */
static int pam_code(const struct login_result *r)
{
	switch (r->outcome) {
	case LOGIN_NOT_MINE:
		return PAM_IGNORE;
	case LOGIN_GRANTED:
		return PAM_SUCCESS;
	case LOGIN_DENIED:
		return PAM_PERM_DENIED;
	case LOGIN_UNREACHABLE:
		return PAM_AUTHINFO_UNAVAIL;
	case LOGIN_CONFIG:
		return PAM_SERVICE_ERR;
	case LOGIN_INTERNAL:
		break;
	}
	return r->err == AZMI_ERR_NOMEM ? PAM_BUF_ERR : PAM_SYSTEM_ERR;
}

struct pam_log {
	pam_handle_t *pamh;
	bool debug;
};

/* The core's log hook: warnings always, the rest with `debug`. */
static void log_hook(void *userdata, enum azmi_log_level level, const char *line)
{
	const struct pam_log *pl = userdata;

	if (level <= AZMI_LOG_WARNING)
		pam_syslog(pl->pamh, level == AZMI_LOG_ERR ? LOG_ERR : LOG_WARNING, "%s", line);
	else if (pl->debug)
		pam_syslog(pl->pamh, LOG_DEBUG, "%s", line);
}

/* Module arguments: "debug", "config=FILE" or any file key as key=value (they override the file). */
static void parse_args(pam_handle_t *pamh, struct login_conf *c, int argc, const char **argv, bool report)
{
	for (int i = 0; i < argc; i++) {
		char key[64], why[320];
		const char *eq = strchr(argv[i], '=');
		size_t klen = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
		enum lconf_result r;

		if (klen >= sizeof(key)) {
			if (report)
				pam_syslog(pamh, LOG_ERR, "unknown option ignored: %.60s...", argv[i]);
			continue;
		}
		memcpy(key, argv[i], klen);
		key[klen] = '\0';
		r = login_conf_set(c, key, eq ? eq + 1 : NULL, why, sizeof(why));
		if (r != LCONF_OK && report)
			pam_syslog(pamh, LOG_ERR, "%s%s",
			           r == LCONF_UNKNOWN_KEY ? "ignored: " : "bad option: ", why);
	}
}

/* Settings and a context: defaults, the file, then the arguments.  false with r->outcome set on failure. */
static bool setup(pam_handle_t *pamh, int argc, const char **argv, struct login_conf *c, struct pam_log *pl,
                  struct azmi_ctx **ctx, struct login_result *r)
{
	struct azmi_error err = AZMI_ERROR_INIT;
	char why[512];

	login_conf_init(c);
	parse_args(pamh, c, argc, argv, false); /* config= and debug first */
	pl->pamh = pamh;
	pl->debug = c->debug;
	if (azmi_ctx_new(ctx, c->config_path[0] ? c->config_path : NULL, &err) != AZMI_OK) {
		r->outcome = LOGIN_CONFIG;
		r->err = err.code;
		util_sanitize(r->reason, sizeof(r->reason), err.message, strcspn(err.message, "\n"));
		return false;
	}
	if (!login_conf_from_file(c, ctx_config(*ctx), why, sizeof(why))) {
		r->outcome = LOGIN_CONFIG;
		r->err = AZMI_ERR_CONFIG;
		snprintf(r->reason, sizeof(r->reason), "%s", why);
		return false;
	}
	parse_args(pamh, c, argc, argv, true);
	pl->debug = c->debug;
	login_ctx_defaults(*ctx);
	azmi_ctx_set_log(*ctx, log_hook, pl); /* reports unknown keys of the file */
	return true;
}

/* The object id the auth phase (issue 6) left for this transaction, or NULL. */
static const char *token_oid(pam_handle_t *pamh)
{
	const void *data = NULL;

	if (pam_get_data(pamh, PAM_AZMI_DATA_OID, &data) != PAM_SUCCESS || data == NULL)
		return NULL;
	return data;
}

/* The level the auth phase found in the token's roles (require=token/both), RBAC_DENY when none. */
static enum rbac_level token_level(pam_handle_t *pamh)
{
	const void *data = NULL;

	if (pam_get_data(pamh, PAM_AZMI_DATA_LEVEL, &data) != PAM_SUCCESS || data == NULL)
		return RBAC_DENY;
	return strcmp(data, "admin") == 0 ? RBAC_ADMIN : strcmp(data, "user") == 0 ? RBAC_USER : RBAC_DENY;
}

/*
 * require=token: the validated token alone grants (no Azure call); the
 * principal is its object id, the local name the login name's canonical one.
 * require=both: the lower of the two levels.
 */
static bool decide_by_token(const struct login_conf *c, const char *user, const char *oid,
                            enum rbac_level lvl, struct login_result *r)
{
	if (c->require != LOGIN_REQUIRE_TOKEN || oid == NULL || lvl == RBAC_DENY)
		return false;
	if (principal_resolve(c, user, login_local_uid(user), &r->principal) != 0 ||
	    r->principal.via == PRINCIPAL_NONE)
		return false; /* login_decide tells why */
	r->outcome = LOGIN_GRANTED;
	r->source = LOGIN_FROM_TOKEN;
	r->level = lvl;
	r->decided_at = util_now();
	r->principal.via = PRINCIPAL_TOKEN;
	r->principal.is_oid = true;
	snprintf(r->principal.id, sizeof(r->principal.id), "%s", oid);
	snprintf(r->oid, sizeof(r->oid), "%s", oid);
	snprintf(r->d.role, sizeof(r->d.role), "%s",
	         lvl == RBAC_ADMIN ? "token app role (admin_roles)" : "token app roles and groups");
	return true;
}

/* Is `user` one of azmi's (an Entra principal, not refused)? */
static bool is_entra_user(const struct login_conf *c, const char *user, long local_uid)
{
	struct principal p;

	return principal_resolve(c, user, local_uid, &p) == 0 && p.via != PRINCIPAL_NONE && !p.refused;
}

static void quoted(char *dst, size_t len, const char *src);

/*
 * A login made with an Entra SSH certificate (SSH_AUTH_INFO_0, else the one
 * the principals command left, cert.h): its object id, checked again, becomes
 * the principal (no Graph look-up).  False with r filled when an Entra user's
 * certificate is refused.
 */
static bool by_certificate(pam_handle_t *pamh, const struct login_conf *c, const char *user,
                           struct login_opts *o, char cert_oid[40], struct login_result *r)
{
	struct ssh_login_check *cr = calloc(1, sizeof(*cr));
	enum cert_outcome co;
	const char *info;
	char u[LOGIN_NAME_MAX], p[LOGIN_NAME_MAX], reason[512];
	bool ok = true;

	if (cr == NULL) {
		r->outcome = LOGIN_INTERNAL;
		r->err = AZMI_ERR_NOMEM;
		snprintf(r->reason, sizeof(r->reason), "out of memory");
		return false;
	}
	info = pam_getenv(pamh, "SSH_AUTH_INFO_0");
	if (c->debug)
		pam_syslog(pamh, LOG_DEBUG, "ssh-cert: SSH_AUTH_INFO_0 %s (%zu bytes): %.60s",
		           info ? "set" : "unset", info ? strlen(info) : 0, info ? info : "");
	co = cert_check(c, user, o->local_uid, info, AZMI_SSH_RUNDIR, util_now(), cr);
	if (co == CERT_NONE ||
	    ((co == CERT_REFUSED || co == CERT_ERROR) && !is_entra_user(c, user, o->local_uid)))
		goto out;
	if (co == CERT_TICKET && o->token_oid != NULL)
		goto out; /* a token of this transaction says who: a left certificate does not */
	if (co == CERT_OK && o->token_oid != NULL && strcasecmp(o->token_oid, cr->oid) != 0) {
		co = CERT_REFUSED;
		snprintf(cr->check, sizeof(cr->check), "oid");
		snprintf(cr->reason, sizeof(cr->reason),
		         "the certificate and the token name different users");
	}
	quoted(u, sizeof(u), user);
	quoted(p, sizeof(p), cr->principal[0] ? cr->principal : "-");
	quoted(reason, sizeof(reason), cr->reason);
	if (co == CERT_OK || co == CERT_TICKET) {
		pam_syslog(pamh, LOG_INFO,
		           "ssh-cert: user=\"%s\" principal=\"%s\" oid=%s kid=%s from=%s result=ok", u, p,
		           cr->oid, cr->kid[0] ? cr->kid : "-",
		           co == CERT_OK ? "auth-info" : "principals-command");
		snprintf(cert_oid, 40, "%s", cr->oid);
		o->token_oid = cert_oid;
		goto out;
	}
	pam_syslog(pamh, LOG_NOTICE,
	           "ssh-cert: user=\"%s\" principal=\"%s\" oid=%s result=refused check=%s reason=\"%s\"", u,
	           p, cr->oid[0] ? cr->oid : "-", co == CERT_ERROR ? "format" : cr->check, reason);
	r->outcome = LOGIN_DENIED;
	snprintf(r->reason, sizeof(r->reason), "SSH certificate refused: %.400s", reason);
	ok = false;
out:
	free(cr);
	return ok;
}

/*
 * Make the state match the decision: a granted NSS user's name is bound to
 * its UID and object id; admin decisions join the admin group, user and
 * denied ones leave it.  Failing to leave it turns the result into a refusal.
 */
static void apply(pam_handle_t *pamh, const struct login_conf *c, struct login_result *r)
{
	const char *name = r->principal.user;
	char note[512];
	bool changed;
	int e;

	if (r->outcome != LOGIN_GRANTED && r->outcome != LOGIN_DENIED)
		return;
	login_bind_uid(c, r, true, note, sizeof(note));
	if (note[0])
		pam_syslog(pamh, LOG_NOTICE, "%s", note);
	if (r->outcome == LOGIN_INTERNAL)
		return;
	if (name[0] == '\0')
		return;
	e = admins_set(name, r->outcome == LOGIN_GRANTED && r->level == RBAC_ADMIN, &changed);
	if (e == 0) {
		if (changed && c->debug)
			pam_syslog(pamh, LOG_DEBUG, "%s %s %s", name,
			           r->level == RBAC_ADMIN && r->outcome == LOGIN_GRANTED ? "added to"
			                                                                 : "removed from",
			           c->admin_group);
		return;
	}
	if (r->outcome == LOGIN_GRANTED && r->level == RBAC_ADMIN) {
		pam_syslog(pamh, LOG_WARNING, "cannot add %s to %s: %s; logging in without admin rights",
		           name, c->admin_group, strerror(-e));
		r->level = RBAC_USER;
		return;
	}
	r->outcome = LOGIN_INTERNAL;
	r->err = AZMI_ERR_SYSTEM;
	snprintf(r->reason, sizeof(r->reason), "cannot remove %.200s from %s (%s): refused", name,
	         c->admin_group, strerror(-e));
}

/* `src` for a key="value" field: sanitised, double quotes made single. */
static void quoted(char *dst, size_t len, const char *src)
{
	util_sanitize(dst, len, src, strlen(src));
	for (char *p = dst; *p; p++)
		if (*p == '"')
			*p = '\'';
}

/* The one line a decision gets (LOG_AUTHPRIV through pam_syslog). */
static void log_decision(pam_handle_t *pamh, const char *user, const struct login_result *r)
{
	char u[LOGIN_NAME_MAX], p[LOGIN_NAME_MAX], scope[512], what[1200], role[256], rscope[512],
	    reason[512], dscope[512], kind[600];
	int prio = LOG_NOTICE;

	quoted(u, sizeof(u), user);
	quoted(p, sizeof(p), r->principal.id[0] ? r->principal.id : "-");
	quoted(scope, sizeof(scope), r->vm.resource_id[0] ? r->vm.resource_id : "-");
	quoted(role, sizeof(role), r->d.role);
	quoted(rscope, sizeof(rscope), r->d.scope);
	quoted(reason, sizeof(reason), r->reason);
	if (r->outcome == LOGIN_GRANTED) {
		prio = LOG_INFO;
		char age[48] = "";
		if (r->source != LOGIN_FROM_AZURE)
			snprintf(age, sizeof(age), " age=%llds", (long long)(util_now() - r->decided_at));
		snprintf(what, sizeof(what),
		         "decision=granted level=%s role=\"%s\" role_scope=\"%s\" source=%s%s",
		         rbac_level_name(r->level), role, rscope, login_source_name(r->source), age);
	} else {
		if (r->outcome != LOGIN_DENIED)
			prio = LOG_ERR;
		snprintf(what, sizeof(what), "decision=%s reason=\"%s\"", login_outcome_name(r->outcome),
		         reason);
	}
	/* Which kind of machine, and the scope that decided when it is not the machine's own (Uniform). */
	quoted(dscope, sizeof(dscope), r->d.decided_scope);
	snprintf(kind, sizeof(kind), " kind=%s%s%s%s",
	         r->vm.resource_id[0] ? machine_kind_name(r->vm.kind) : "-",
	         dscope[0] && strcmp(dscope, scope) != 0 ? " decided_scope=\"" : "",
	         dscope[0] && strcmp(dscope, scope) != 0 ? dscope : "",
	         dscope[0] && strcmp(dscope, scope) != 0 ? "\"" : "");
	pam_syslog(pamh, prio, "user=\"%s\" principal=\"%s\" oid=%s vm=\"%s\"%s %s correlation_id=%s", u, p,
	           r->oid[0] ? r->oid : "-", scope, kind, what,
	           r->d.correlation_id[0] ? r->d.correlation_id : "-");
}

PAM_AZMI_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login_conf conf;
	struct login_result *r = calloc(1, sizeof(*r));
	struct azmi_ctx *ctx = NULL;
	struct pam_log pl = {pamh, false};
	const char *user = NULL;
	char cert_oid[40] = "";
	int code;

	(void)flags;
	if (r == NULL)
		return PAM_BUF_ERR;
	if ((code = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		pam_syslog(pamh, LOG_ERR, "cannot get the user name: %s", pam_strerror(pamh, code));
		free(r);
		return code == PAM_SUCCESS ? PAM_USER_UNKNOWN : code;
	}
	if (setup(pamh, argc, argv, &conf, &pl, &ctx, r)) {
		struct login_opts o = {.use_cache = true,
		                       .update_cache = true,
		                       .token_oid = token_oid(pamh),
		                       .local_uid = login_local_uid(user)};
		enum rbac_level tl = token_level(pamh);
		/* a refused certificate has decided already (r says why) */
		if (by_certificate(pamh, &conf, user, &o, cert_oid, r) &&
		    !decide_by_token(&conf, user, o.token_oid, tl, r)) {
			login_decide(ctx, &conf, user, &o, r);
			if (conf.require == LOGIN_REQUIRE_BOTH && o.token_oid != NULL && tl == RBAC_USER &&
			    r->outcome == LOGIN_GRANTED)
				r->level = RBAC_USER; /* both must say admin */
		}
		apply(pamh, &conf, r);
	}
	if (conf.debug)
		for (int i = 0; i < r->nsteps; i++)
			pam_syslog(pamh, LOG_DEBUG, "%s", r->steps[i]);
	if (r->outcome != LOGIN_NOT_MINE)
		log_decision(pamh, user, r);
	code = pam_code(r);
	azmi_ctx_free(ctx);
	free(r);
	return code;
}

/* The one place an auth outcome becomes a PAM code. */
static int auth_pam_code(enum auth_outcome o)
{
	switch (o) {
	case AUTH_NOT_MINE:
		return PAM_IGNORE;
	case AUTH_OK:
		return PAM_SUCCESS;
	case AUTH_DENIED:
		return PAM_AUTH_ERR;
	case AUTH_UNAVAILABLE:
		return PAM_AUTHINFO_UNAVAIL;
	case AUTH_CONFIG:
		return PAM_SERVICE_ERR;
	case AUTH_INTERNAL:
		break;
	}
	return PAM_BUF_ERR;
}

/* pam_set_data cleanup of the strings handed to the account phase. */
static void wipe_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	if (data != NULL) {
		explicit_bzero(data, strlen(data));
		free(data);
	}
}

/*
 * Ask for the token through the conversation.  Clients may cap one answer
 * (OpenSSH's ssh reads at most 1023 bytes a prompt): an answer ending in '\'
 * asks for more, up to TOKEN_MAX_PROMPTS answers and 16 KiB in all.  The
 * token lands in `b` (wiped by buf_free).  A PAM code; PAM_AUTH_ERR when too long.
 */
static int ask_token(pam_handle_t *pamh, struct buf *b)
{
	for (int i = 0; i < TOKEN_MAX_PROMPTS; i++) {
		char *resp = NULL;
		size_t n, start = 0;
		bool more, ok;
		int rc =
		    pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", i ? TOKEN_MORE_PROMPT : TOKEN_PROMPT);

		if (rc != PAM_SUCCESS)
			return rc;
		if (resp == NULL)
			return PAM_CONV_ERR;
		n = strlen(resp);
		while (n > 0 && (resp[n - 1] == '\n' || resp[n - 1] == '\r' || resp[n - 1] == ' '))
			n--;
		while (start < n && resp[start] == ' ')
			start++;
		more = n > start && resp[n - 1] == '\\';
		ok = buf_append(b, resp + start, n - start - (more ? 1 : 0));
		explicit_bzero(resp, strlen(resp));
		free(resp);
		if (!ok)
			return b->overflow ? PAM_AUTH_ERR : PAM_BUF_ERR;
		if (!more)
			return PAM_SUCCESS;
	}
	return PAM_AUTH_ERR;
}

/* Hand the token's object id (and, for require=token/both, its level) to the account phase. */
static int hand_over(pam_handle_t *pamh, const struct login_conf *c, const struct auth_result *ar)
{
	char *oid = strdup(ar->oid), *lvl = NULL;

	if (oid == NULL || pam_set_data(pamh, PAM_AZMI_DATA_OID, oid, wipe_data) != PAM_SUCCESS) {
		free(oid);
		return PAM_BUF_ERR;
	}
	if (c->require == LOGIN_REQUIRE_RBAC)
		return PAM_SUCCESS;
	lvl = strdup(ar->level == RBAC_ADMIN ? "admin" : "user");
	if (lvl == NULL || pam_set_data(pamh, PAM_AZMI_DATA_LEVEL, lvl, wipe_data) != PAM_SUCCESS) {
		free(lvl);
		return PAM_BUF_ERR;
	}
	return PAM_SUCCESS;
}

/* The one line an authentication gets: never the token, its fingerprint at most. */
static void log_auth(pam_handle_t *pamh, const char *user, const struct auth_result *ar)
{
	char u[LOGIN_NAME_MAX], p[LOGIN_NAME_MAX], reason[512];
	int prio = ar->outcome == AUTH_OK ? LOG_INFO : ar->outcome == AUTH_DENIED ? LOG_NOTICE : LOG_ERR;

	quoted(u, sizeof(u), user);
	quoted(p, sizeof(p), ar->principal[0] ? ar->principal : "-");
	quoted(reason, sizeof(reason), ar->reason);
	pam_syslog(pamh, prio,
	           "auth: user=\"%s\" principal=\"%s\" token=%s oid=%s result=%s%s%s%s reason=\"%s\"", u, p,
	           ar->fingerprint[0] ? ar->fingerprint : "-", ar->oid[0] ? ar->oid : "-",
	           auth_outcome_name(ar->outcome), ar->check[0] ? " check=" : "", ar->check,
	           ar->keys_stale ? " keys=stale" : "", reason);
}

/*
 * The auth phase: an Entra access token for this VM's application, given at
 * the password or keyboard-interactive prompt, validated offline; its object
 * id goes to the account phase, which then decides for exactly that principal.
 */
PAM_AZMI_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login_conf conf;
	struct login_result *r = calloc(1, sizeof(*r));
	struct auth_result ar;
	struct azmi_ctx *ctx = NULL;
	struct pam_log pl = {pamh, false};
	struct principal who;
	struct buf tok;
	const char *user = NULL;
	char u[LOGIN_NAME_MAX]; /* the name for log lines */
	long uid;
	int code;

	(void)flags;
	buf_init(&tok, JWT_VERIFY_MAX_TOKEN);
	if (r == NULL)
		return PAM_BUF_ERR;
	if ((code = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS || user == NULL || user[0] == '\0') {
		free(r);
		return code == PAM_SUCCESS ? PAM_USER_UNKNOWN : code;
	}
	quoted(u, sizeof(u), user);
	if (!setup(pamh, argc, argv, &conf, &pl, &ctx, r)) {
		pam_syslog(pamh, LOG_ERR, "auth: user=\"%s\" result=config-error reason=\"%s\"", u,
		           r->reason);
		code = pam_code(r);
		goto out;
	}
	uid = login_local_uid(user);
	/* Not azmi's user (or no tenant): no prompt at all. */
	if (!auth_enabled(&conf) ||
	    (principal_resolve(&conf, user, uid, &who) == 0 && who.via == PRINCIPAL_NONE)) {
		if (conf.debug)
			pam_syslog(pamh, LOG_DEBUG, "auth: %s: not an Entra token login here", u);
		code = PAM_IGNORE;
		goto out;
	}
	if ((code = ask_token(pamh, &tok)) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_NOTICE, "auth: user=\"%s\" result=%s reason=\"%s\"", u,
		           code == PAM_AUTH_ERR ? "denied check=format" : "no-token",
		           code == PAM_AUTH_ERR ? "the token is over 16 KiB" : pam_strerror(pamh, code));
		goto out;
	}
	{
		struct auth_opts o = {.cache_dir = AZMI_STATEDIR, .local_uid = uid};
		int dirfd = -1;
		/* The key cache lives in the state directory: made the one way, with its fixed mode. */
		if (sfile_state_dir(true, &dirfd) == 0)
			close(dirfd);
		auth_check_token(ctx, &conf, user, tok.data, tok.len, &o, &ar);
	}
	buf_free(&tok);
	if (ar.outcome == AUTH_OK && (code = hand_over(pamh, &conf, &ar)) != PAM_SUCCESS) {
		ar.outcome = AUTH_INTERNAL;
		snprintf(ar.reason, sizeof(ar.reason), "cannot hand the object id to the account phase");
	}
	log_auth(pamh, user, &ar);
	code = auth_pam_code(ar.outcome);
out:
	buf_free(&tok);
	azmi_ctx_free(ctx);
	free(r);
	return code;
}

/*
 * No credentials to set; but for the users this module authenticates, its
 * part of the setcred chain must succeed (as pam_unix's does), or a stack
 * ending in pam_deny refuses the session after a good token.  sshd runs the
 * keyboard-interactive authentication in a child process, so the PAM data
 * of the auth phase cannot tell: the settings and the principal do.
 */
PAM_AZMI_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login_conf conf;
	struct login_result *r;
	struct azmi_ctx *ctx = NULL;
	struct pam_log pl = {pamh, false};
	struct principal who;
	const char *user = NULL;
	int code = PAM_IGNORE;

	(void)flags;
	if (token_oid(pamh) != NULL)
		return PAM_SUCCESS;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL ||
	    (r = calloc(1, sizeof(*r))) == NULL)
		return PAM_IGNORE;
	if (setup(pamh, argc, argv, &conf, &pl, &ctx, r) && auth_enabled(&conf) &&
	    principal_resolve(&conf, user, login_local_uid(user), &who) == 0 && who.via != PRINCIPAL_NONE)
		code = PAM_SUCCESS;
	azmi_ctx_free(ctx);
	free(r);
	return code;
}

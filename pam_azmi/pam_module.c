/*
 * pam_module.c - pam_azmi's entry points.  The account phase decides through
 * decide.c, applies the decision to the uid table and the admin group, logs
 * one line and maps the outcome to a PAM code (pam_code, the one place).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#define PAM_SM_ACCOUNT
#define PAM_SM_AUTH
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "admins.h"
#include "ctx.h"
#include "decide.h"
#include "login_conf.h"
#include "uidmap.h"
#include "util.h"

#define PAM_AZMI_EXPORT __attribute__((visibility("default")))

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
	struct azmi_error err;
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
	if (!login_conf_from_file(c, &(*ctx)->config, why, sizeof(why))) {
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

/*
 * Make the state match the decision: a granted NSS user's UID goes into the
 * uid table; admin decisions join the admin group, user and denied ones
 * leave it.  Failing to leave it turns the result into a refusal.
 */
static void apply(pam_handle_t *pamh, const struct login_conf *c, struct login_result *r)
{
	const char *name = r->principal.user;
	bool changed;
	uint32_t uid;
	int e;

	if (r->outcome != LOGIN_GRANTED && r->outcome != LOGIN_DENIED)
		return;
	if (r->outcome == LOGIN_GRANTED && !uidmap_passwd_has(name) &&
	    (e = uidmap_record(c, name, &uid)) != 0)
		pam_syslog(pamh, LOG_WARNING, "cannot record the uid of %s in %s/%s: %s", name, AZMI_STATEDIR,
		           UIDTAB_FILE, strerror(e));
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
		           name, c->admin_group, strerror(e));
		r->level = RBAC_USER;
		return;
	}
	r->outcome = LOGIN_INTERNAL;
	r->err = AZMI_ERR_SYSTEM;
	snprintf(r->reason, sizeof(r->reason), "cannot remove %.200s from %s (%s): refused", name,
	         c->admin_group, strerror(e));
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
	    reason[512];
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
	pam_syslog(pamh, prio, "user=\"%s\" principal=\"%s\" oid=%s vm=\"%s\" %s correlation_id=%s", u, p,
	           r->oid[0] ? r->oid : "-", scope, what, r->d.correlation_id[0] ? r->d.correlation_id : "-");
}

PAM_AZMI_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct login_conf conf;
	struct login_result *r = calloc(1, sizeof(*r));
	struct azmi_ctx *ctx = NULL;
	struct pam_log pl = {pamh, false};
	const char *user = NULL;
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
		login_decide(ctx, &conf, user, &o, r);
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

/*
 * The auth phase belongs to issue 6: validate an Entra access token (from
 * the conversation or an SSH certificate), then
 * pam_set_data(pamh, PAM_AZMI_DATA_OID, strdup(oid), cleanup) so that the
 * account phase decides for exactly that principal.  Until then: no part.
 */
PAM_AZMI_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

PAM_AZMI_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}

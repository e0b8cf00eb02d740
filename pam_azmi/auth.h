/*
 * auth.h - pam_azmi's auth phase without PAM: an Entra access token checked
 * offline (login/jwt_verify.h) for the login name's principal, then the
 * token's app roles and groups as policy.  pam_module.c asks the user for
 * the token and maps the outcome to a PAM code.
 */
#ifndef AZMI_AUTH_H
#define AZMI_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "login_conf.h"
#include "rbac.h"

/* The auth phase's level for the account phase (require=token/both), under this pam_set_data name. */
#define PAM_AZMI_DATA_LEVEL "pam_azmi_entra_level"

enum auth_outcome {
	AUTH_NOT_MINE = 0, /* no tenant configured, or not an Entra user: PAM_IGNORE */
	AUTH_OK,           /* a valid token of this user that the policy accepts */
	AUTH_DENIED,       /* invalid, someone else's, or refused by the policy: PAM_AUTH_ERR */
	AUTH_UNAVAILABLE,  /* the keys (or Graph, for an overage) could not be had: PAM_AUTHINFO_UNAVAIL */
	AUTH_CONFIG,       /* configuration or map file wrong: PAM_SERVICE_ERR */
	AUTH_INTERNAL,     /* out of memory: PAM_BUF_ERR */
};

struct auth_result {
	enum auth_outcome outcome;
	char check[32];        /* the check that failed ("signature", "audience", "roles", ...) or "" */
	char reason[400];      /* one line, never any part of the token */
	char oid[40];          /* the token's object id (on AUTH_OK) */
	char principal[256];   /* the login name's principal */
	char fingerprint[17];  /* short SHA-256 fingerprint of the token, "" when none was given */
	enum rbac_level level; /* from admin_roles (on AUTH_OK) */
	bool keys_stale;       /* the last good key set served while the endpoint failed */
};

struct auth_opts {
	const char *cache_dir; /* where the key sets are cached; NULL: no cache */
	long local_uid;        /* the local account's uid, -1 when none */
	int64_t now;           /* 0: the clock */
};

/* True when the auth phase is configured (a tenant and at least one audience). */
bool auth_enabled(const struct login_conf *c);

/* Check `token` ([token, token+len)) for local user `user`.  Always fills `out`. */
void auth_check_token(struct azmi_ctx *ctx, const struct login_conf *c, const char *user, const char *token,
                      size_t len, const struct auth_opts *o, struct auth_result *out);

/* "not-managed", "ok", "denied", "unavailable", "config-error", "internal-error". */
const char *auth_outcome_name(enum auth_outcome o);

#endif

/*
 * decide.h - the login decision shared by pam_azmi and `azmi check-login`:
 * principal, decision cache, the machine's scope, the principal's object id,
 * Azure RBAC, offline grace; each step recorded so a person can read it.
 * Nothing here talks HTTP itself: the core's rbac.h does.
 */
#ifndef AZMI_DECIDE_H
#define AZMI_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "azmi.h"
#include "login_conf.h"
#include "principal.h"
#include "rbac.h"

/*
 * The auth phase (issue 6) stores the object id of the Entra token it
 * validated under this pam_set_data name (a NUL-terminated string); the
 * account phase then takes it as the principal before anything else.
 */
#define PAM_AZMI_DATA_OID "pam_azmi_entra_oid"

enum login_outcome {
	LOGIN_NOT_MINE = 0, /* no Entra principal: the rest of the stack decides (PAM_IGNORE) */
	LOGIN_GRANTED,      /* a login role (user or admin) */
	LOGIN_DENIED,       /* Azure answered: no login role, a deny assignment, no such user */
	LOGIN_UNREACHABLE,  /* Azure could not be asked, or answered nonsense */
	LOGIN_CONFIG,       /* the configuration or the map file is wrong */
	LOGIN_INTERNAL,     /* out of memory, a system call or a state file failed */
};

enum login_source { LOGIN_FROM_AZURE = 0, LOGIN_FROM_CACHE, LOGIN_FROM_GRACE, LOGIN_FROM_TOKEN };

#define LOGIN_MAX_STEPS 12
#define LOGIN_STEP_LEN  640

struct login_result {
	enum login_outcome outcome;
	enum login_source source;
	enum rbac_level level; /* RBAC_USER or RBAC_ADMIN when granted */
	struct principal principal;
	char oid[64];           /* the principal's object id, "" when not known */
	struct vm_info vm;      /* vm.resource_id is "" when not known */
	struct rbac_decision d; /* role, scope, reason and correlation id of the decision used */
	int64_t decided_at;     /* when the decision used was made (cache and grace: earlier) */
	azmi_err err;           /* the error behind UNREACHABLE, CONFIG and INTERNAL */
	long http_status;
	char reason[512]; /* one line: why denied or why no decision */
	char steps[LOGIN_MAX_STEPS][LOGIN_STEP_LEN];
	int nsteps;
};

struct login_opts {
	bool use_cache;        /* reuse a positive decision younger than cache_ttl */
	bool update_cache;     /* store positive decisions, forget them on a denial */
	const char *token_oid; /* oid of an Entra token validated in this transaction, or NULL */
	long local_uid;        /* the local account's uid, -1 when there is none */
	int64_t now;           /* 0: the clock */
};

/*
 * Seconds each Azure step (instance metadata, Graph, Resource Manager) may
 * take in a login unless the file sets `timeout`: the core's default suits
 * tokens, not a person waiting at sshd's LoginGraceTime (120 s).
 */
#define LOGIN_DEFAULT_TIMEOUT_MS 15000L

/* The uid of the account `user` (through NSS, nss_azmi included), -1 when there is none. */
long login_local_uid(const char *user);

/*
 * Apply the login defaults to a context: the timeout above, and no trust in
 * the environment (proxies come from azmi.conf only; the Azure CLI is never run).
 */
void login_ctx_defaults(struct azmi_ctx *ctx);

/* Decide for local user `user`.  Always fills `out`; out->outcome says what came of it. */
void login_decide(struct azmi_ctx *ctx, const struct login_conf *c, const char *user,
                  const struct login_opts *o, struct login_result *out);

/*
 * A granted Entra user's name is bound to its UID and object id in the uid
 * table (with `write`; without, the answer binding would give).  A name whose
 * UID slot or record is someone else's turns the grant into a denial whose
 * reason tells the administrator what to do; a table that cannot be written
 * into an internal error.  `note` gets a remark for the log (a renamed user).
 */
void login_bind_uid(const struct login_conf *c, struct login_result *r, bool write, char *note,
                    size_t notelen);

/*
 * The one place an azmi_err becomes an outcome.  *grace_ok tells whether the
 * failure means "Azure unreachable" (no connection, timeout, 429, 5xx), the
 * only case in which offline_grace may honour an earlier decision.
 */
enum login_outcome login_outcome_of(azmi_err e, long http_status, bool *grace_ok);

/* "not-managed", "granted", "denied", "unavailable", "config-error", "internal-error". */
const char *login_outcome_name(enum login_outcome o);

/* "azure", "cache", "offline-grace", "token". */
const char *login_source_name(enum login_source s);

#endif

/*
 * login_conf.h - the settings pam_azmi, nss_azmi and `azmi check-login` share:
 * built-in defaults, then the keys of /etc/azmi.conf, then (PAM only) module
 * arguments, all through one setter.
 */
#ifndef AZMI_LOGIN_CONF_H
#define AZMI_LOGIN_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#ifndef AZMI_STATEDIR
#define AZMI_STATEDIR "/var/lib/azmi"
#endif

#define LOGIN_MAX_DOMAINS 32
#define LOGIN_NAME_MAX    256 /* login names and UPNs, with the NUL */
#define LOGIN_GROUP_MAX   33  /* admin group name, with the NUL */
#define LOGIN_PATH_MAX    1024

#define LOGIN_DEFAULT_ADMIN_GROUP "azmi-admins"
#define LOGIN_USERS_GROUP         "azmi-users" /* every Entra user's primary group: no private groups */
#define LOGIN_DEFAULT_CACHE_TTL   300
#define LOGIN_DEFAULT_UID_MIN     70000u
#define LOGIN_DEFAULT_UID_MAX     99999u
#define LOGIN_DEFAULT_SSH_CA_FILE AZMI_STATEDIR "/ssh-ca.pub"
#define LOGIN_DEFAULT_SSH_CA_KEEP (3L * 86400) /* seconds the last good key set outlives failed refreshes */

/* The auth phase (Entra access tokens). */
#define LOGIN_MAX_AUDIENCES 8
#define LOGIN_MAX_ROLES     16
#define LOGIN_ROLE_MAX      128 /* an app role value, with the NUL */
#define LOGIN_MAX_GROUPS    20  /* Graph checkMemberGroups takes at most 20 ids */
#define LOGIN_GUID_SIZE     37

/* How a token-authenticated login is authorised (key `require`). */
enum login_require {
	LOGIN_REQUIRE_RBAC = 0, /* the token proves who; Azure RBAC decides in the account phase */
	LOGIN_REQUIRE_TOKEN,    /* the token's roles and groups decide; no Azure call in the account phase */
	LOGIN_REQUIRE_BOTH,     /* both must grant; the lower level wins */
};

struct login_conf {
	char domains[LOGIN_MAX_DOMAINS][LOGIN_NAME_MAX]; /* lower case, no '@' */
	size_t ndomains;
	char user_map[LOGIN_PATH_MAX];   /* "" when none */
	char upn_suffix[LOGIN_NAME_MAX]; /* domain appended to local names, "" when none */
	char admin_group[LOGIN_GROUP_MAX];
	long cache_ttl;     /* seconds a positive decision is reused; 0: never */
	long offline_grace; /* seconds a positive decision is honoured while Azure is unreachable; 0: off */
	uint32_t
	    uid_min; /* the admin group's GID, uid_min+1 the users group's; users get uid_min+2 .. uid_max */
	uint32_t uid_max;
	bool debug;
	char config_path[LOGIN_PATH_MAX]; /* module argument config=, "" for the default */
	/* auth phase */
	char tenant[LOGIN_NAME_MAX];    /* tenant id of accepted tokens; "" turns the auth phase off */
	char authority[LOGIN_PATH_MAX]; /* https base of the key endpoint and v2 issuer; "" for the cloud's */
	char audiences[LOGIN_MAX_AUDIENCES][LOGIN_NAME_MAX];
	size_t naudiences;
	enum login_require require;
	char required_roles[LOGIN_MAX_ROLES][LOGIN_ROLE_MAX]; /* every one must be in `roles` */
	size_t nrequired_roles;
	char admin_roles[LOGIN_MAX_ROLES][LOGIN_ROLE_MAX]; /* any one in `roles` makes an administrator */
	size_t nadmin_roles;
	char required_groups[LOGIN_MAX_GROUPS]
	                    [LOGIN_GUID_SIZE]; /* every one must be in `groups` (lower case) */
	size_t nrequired_groups;
	/* SSH certificates (`az ssh vm`, ssh_ca.h) */
	char ssh_ca_file[LOGIN_PATH_MAX]; /* sshd's TrustedUserCAKeys file */
	long ssh_ca_keep;                 /* seconds a key set is trusted after it was fetched */
};

enum lconf_result { LCONF_OK = 0, LCONF_BAD_VALUE, LCONF_UNKNOWN_KEY };

/* The built-in defaults. */
void login_conf_init(struct login_conf *c);

/*
 * The one setter.  `key` is a file key (allowed_domains, user_map, upn_suffix,
 * admin_group, cache_ttl, offline_grace, uid_range; for tokens tenant,
 * authority, audiences, require, required_roles, admin_roles,
 * required_groups; for SSH certificates ssh_ca_file, ssh_ca_keep) or a module-only key
 * (config, debug).  On LCONF_BAD_VALUE `why` says what is wrong.
 */
enum lconf_result login_conf_set(struct login_conf *c, const char *key, const char *value, char *why,
                                 size_t whylen);

/* Apply the file keys found in `cf` (marking them used).  False with `why` on a bad value. */
bool login_conf_from_file(struct login_conf *c, struct config_file *cf, char *why, size_t whylen);

/*
 * Read the configuration file for the NSS module, which has no context and
 * no arguments: $AZMI_CONFIG (ignored in setuid programs), else /etc/azmi.conf;
 * a missing default file leaves the defaults.
 */
bool login_conf_load_nss(struct login_conf *c);

/* True when `domain` (any case) is one of allowed_domains. */
bool login_conf_domain_allowed(const struct login_conf *c, const char *domain, size_t len);

#endif

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
#define LOGIN_DEFAULT_CACHE_TTL   300
#define LOGIN_DEFAULT_UID_MIN     70000u
#define LOGIN_DEFAULT_UID_MAX     99999u

struct login_conf {
	char domains[LOGIN_MAX_DOMAINS][LOGIN_NAME_MAX]; /* lower case, no '@' */
	size_t ndomains;
	char user_map[LOGIN_PATH_MAX];   /* "" when none */
	char upn_suffix[LOGIN_NAME_MAX]; /* domain appended to local names, "" when none */
	char admin_group[LOGIN_GROUP_MAX];
	long cache_ttl;     /* seconds a positive decision is reused; 0: never */
	long offline_grace; /* seconds a positive decision is honoured while Azure is unreachable; 0: off */
	uint32_t uid_min;   /* the admin group's GID; users get uid_min+1 .. uid_max */
	uint32_t uid_max;
	bool debug;
	char config_path[LOGIN_PATH_MAX]; /* module argument config=, "" for the default */
};

enum lconf_result { LCONF_OK = 0, LCONF_BAD_VALUE, LCONF_UNKNOWN_KEY };

/* The built-in defaults. */
void login_conf_init(struct login_conf *c);

/*
 * The one setter.  `key` is a file key (allowed_domains, user_map, upn_suffix,
 * admin_group, cache_ttl, offline_grace, uid_range) or a module-only key
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

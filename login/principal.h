/*
 * principal.h - who the Entra principal behind a local login name is, from
 * local facts only (no network): the map file, a UPN-shaped login name under
 * allowed_domains, or a local account's name with upn_suffix.  The token of
 * the auth phase, when there is one, comes first (decide.c).
 */
#ifndef AZMI_PRINCIPAL_H
#define AZMI_PRINCIPAL_H

#include <stdbool.h>

#include "error.h"
#include "login_conf.h"

#define PRINCIPAL_MAP_MAX        (256 * 1024)
#define PRINCIPAL_SYSTEM_UID_MAX 999 /* upn_suffix never applies to root and system accounts */

enum principal_via {
	PRINCIPAL_NONE = 0, /* no Entra principal: pam_azmi answers PAM_IGNORE */
	PRINCIPAL_TOKEN,    /* the oid of an Entra token validated in this PAM transaction (auth phase) */
	PRINCIPAL_MAP,      /* a user_map line */
	PRINCIPAL_NAME,     /* the login name is a UPN under allowed_domains */
	PRINCIPAL_SUFFIX,   /* a plain name with upn_suffix appended (never a system account's) */
};

struct principal {
	enum principal_via via;
	bool is_oid;               /* id is an object id; otherwise a UPN */
	char id[LOGIN_NAME_MAX];   /* the UPN (lower case) or object id; "" for PRINCIPAL_NONE */
	char user[LOGIN_NAME_MAX]; /* the local name: canonical (lower case) unless a local account's */
	bool refused;              /* azmi's name, but one it never serves (names.h): why says why */
	bool local;                /* an existing account's name (not nss_azmi's): no uid table entry */
	char why[320];             /* how it was found, or why there is none */
};

/* A login name nss_azmi may serve: printable ASCII, no space, ':', '/' or '\', not "-..." or "."-led, < 256. */
bool principal_name_ok(const char *name);

/* An object id: 8-4-4-4-12 hexadecimal digits. */
bool principal_is_guid(const char *s);

/* A UPN: local@domain, one '@', a plain local part and a DNS domain. */
bool principal_is_upn(const char *s);

/*
 * Resolve `user`: the map file (names in any case), else a UPN-shaped name
 * under allowed_domains, else name@upn_suffix unless `local_uid` (the uid of
 * the account of that name, -1 when there is none; the NSS module passes -1)
 * is root's or a system account's.  A local account (in /etc/passwd, or a uid
 * outside uid_range) keeps its name; any other name becomes canonical (lower
 * case) in out->user, and one names_servable refuses gets PRINCIPAL_NONE with
 * out->refused.  Returns 0 with `out` filled (out->via may be
 * PRINCIPAL_NONE), or -errno when the map file cannot be trusted or parsed
 * (out->why says why; fail closed).
 */
AZMI_MUST_CHECK int principal_resolve(const struct login_conf *c, const char *user, long local_uid,
                                      struct principal *out);

/*
 * Parse map file text (NUL-terminated, modified in place) for `user`: 0 with
 * *found and out->id set when the map names it (lower case; "-" for nobody),
 * or -EINVAL with out->why naming the first malformed line (the whole file is
 * then refused).
 */
AZMI_MUST_CHECK int principal_map_parse(const char *name_of_map, char *text, const char *user,
                                        struct principal *out, bool *found);

/* A short English name of `via` ("map file", "login name", ...). */
const char *principal_via_name(enum principal_via via);

#endif

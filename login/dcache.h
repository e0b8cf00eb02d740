/*
 * dcache.h - the decision cache: positive decisions only, one root-only file
 * per login name in AZMI_STATEDIR/decisions (directory 0700, files 0600).
 * A positive decision is reused for cache_ttl seconds and, while Azure is
 * unreachable, honoured for offline_grace seconds; a denial removes it.
 */
#ifndef AZMI_DCACHE_H
#define AZMI_DCACHE_H

#include <stdint.h>

#include "error.h"

#include "login_conf.h"

#define DCACHE_SUBDIR "decisions" /* in AZMI_STATEDIR */
#define DCACHE_MAX    8192

enum dcache_level { DCACHE_USER = 1, DCACHE_ADMIN = 2 };

struct dcache_entry {
	char user[LOGIN_NAME_MAX];      /* the local name it is for */
	char principal[LOGIN_NAME_MAX]; /* the principal it was made for (UPN or object id) */
	char oid[64];
	int level; /* enum dcache_level */
	char role[256];
	char scope[512];
	char correlation_id[64];
	int64_t when; /* epoch seconds of the decision */
};

/* Parse a decision file's text (NUL-terminated, modified in place).  0, or -EINVAL when anything is off. */
AZMI_MUST_CHECK int dcache_parse(char *text, struct dcache_entry *e);

/* Load the entry for `user`.  0, -ENOENT (none), or -errno (an unsafe or corrupt file, not trusted). */
AZMI_MUST_CHECK int dcache_load(const char *user, struct dcache_entry *e);

/* Store a positive decision (creating the directory).  0 or -errno. */
AZMI_MUST_CHECK int dcache_store(const struct dcache_entry *e);

/* Forget `user`'s decision.  0 (also when there was none) or -errno. */
AZMI_MUST_CHECK int dcache_drop(const char *user);

#endif

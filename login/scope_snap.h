/*
 * scope_snap.h - a machine scope's shared view of Azure RBAC: every role
 * assignment and deny assignment at or above the scope, and the role
 * definitions they name, as Resource Manager answered them for nobody in
 * particular.  Nothing in it depends on who logs in, so one copy serves
 * every principal and every process for a while: one file, "scope.snap", in
 * root's private cache directory (0600, replaced by rename), like vm.info.
 * This file only reads and writes it; scope_read.c fills and uses it.
 */
#ifndef AZMI_SCOPE_SNAP_H
#define AZMI_SCOPE_SNAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rbac_parse.h"

#define SCOPE_SNAP_FILE      "scope.snap" /* a dot: not a token file name */
#define SCOPE_SNAP_LOCK      "scope.lock"
#define SCOPE_SNAP_MAX_BYTES (4 * 1024 * 1024)
#define SCOPE_SNAP_MAX_ROLES 64   /* definitions kept; more distinct roles: no shared view */
#define SCOPE_SNAP_ROLE_TTL  3600 /* seconds a definition is reused across refreshes */

struct scope_snap_role {
	struct rbac_role role;
	int64_t fetched; /* wall clock */
};

struct scope_snap {
	char key[RBAC_MAX_SCOPE]; /* the machine's resource id: the view is for this machine only */
	bool arc;
	char scope[RBAC_MAX_SCOPE]; /* where Resource Manager was asked: the machine's, or a Uniform set's */
	char note[256];             /* why that scope ("" for the machine's own) */
	int64_t made;               /* when it was read */
	int64_t refresh_at;         /* from then on a login tries to read it again, keeping this one */
	int64_t expires;            /* never used at or after this */
	bool per_user;              /* too large to share: per-principal reads until `expires` */
	struct rbac_list list;      /* assignments and deny assignments */
	struct scope_snap_role roles[SCOPE_SNAP_MAX_ROLES];
	size_t nroles;
};

void scope_snap_free(struct scope_snap *s);

/* The definition of role `guid` in the view, or NULL. */
const struct rbac_role *scope_snap_role(const struct scope_snap *s, const char *guid);

/* The file's text (malloc'd JSON), or NULL when out of memory. */
char *scope_snap_format(const struct scope_snap *s);

/*
 * Parse the file's text strictly: for machine `key` and kind `arc`, made no
 * later than `now` + 60 s and not expired at `now`, every id, scope, name and
 * count checked as rbac_parse.h checks Resource Manager's answers.  True with
 * `out` filled (free it with scope_snap_free); false for anything else.
 */
bool scope_snap_parse(const char *text, size_t len, const char *key, bool arc, int64_t now,
                      struct scope_snap *out);

/* Load from `dirfd` (-1: nothing): a private regular file of ours, at most SCOPE_SNAP_MAX_BYTES. */
bool scope_snap_load(int dirfd, const char *key, bool arc, int64_t now, struct scope_snap *out);

/* Replace the file in `dirfd` (temporary file, 0600, rename); failures are silent (it is a cache). */
void scope_snap_store(int dirfd, const struct scope_snap *s);

#endif

/*
 * uidmap.h - stable, modest UIDs for Entra users.
 *
 * A user's UID is deterministic: FNV-1a of the lower-cased name picks a slot
 * in uid_range (above its first number, which is the admin group's GID);
 * when that UID (or the same GID) is taken in /etc/passwd or /etc/group
 * (read directly, never through NSS) or by another name in the uid table,
 * the next free one is taken.  Once pam_azmi authorised a login the UID is
 * written to the root-owned uid table (AZMI_STATEDIR/uids, "name:uid"
 * lines), and the table wins from then on, whatever changes around it.
 */
#ifndef AZMI_UIDMAP_H
#define AZMI_UIDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "login_conf.h"

#define UIDTAB_FILE       "uids"
#define UIDTAB_LOCK       ".uids.lock"
#define UIDTAB_MAX        (4 * 1024 * 1024)
#define UIDMAP_MAX_PROBES 4096
#define UIDMAP_PASSWD     "/etc/passwd"
#define UIDMAP_GROUP      "/etc/group"

struct uid_entry {
	char *name;
	uint32_t uid;
};

struct uid_table {
	struct uid_entry *v;
	size_t n;
};

/* UIDs of /etc/passwd and GIDs of /etc/group, sorted, and whether a name is a local account. */
struct local_ids {
	uint32_t *ids;
	size_t n;
};

/* Load the uid table (a missing file is an empty table).  0 or an errno. */
int uidtab_load(struct uid_table *t);
void uidtab_free(struct uid_table *t);
/*
 * Add the "name:uid" lines of `text` (NUL-terminated, modified in place) to
 * `t`; malformed lines and later duplicates of a name or UID are skipped.  0 or ENOMEM.
 */
int uidtab_parse(struct uid_table *t, char *text);
const struct uid_entry *uidtab_find_name(const struct uid_table *t, const char *name);
const struct uid_entry *uidtab_find_uid(const struct uid_table *t, uint32_t uid);

int local_ids_load(struct local_ids *ids);
void local_ids_free(struct local_ids *ids);

/* True when /etc/passwd itself (not NSS) has an account `name`. */
bool uidmap_passwd_has(const char *name);

/* The hash behind the UID (FNV-1a 32 of the lower-cased name). */
uint32_t uidmap_hash(const char *name);

/*
 * The UID `name` gets: its table entry, else the first free UID from its
 * hash slot.  0, or ENOSPC when the range is full.
 */
int uidmap_assign(const struct login_conf *c, const struct uid_table *t, const struct local_ids *ids,
                  const char *name, uint32_t *uid);

/* uidmap_assign with everything loaded for the caller (the NSS module).  0 or an errno. */
int uidmap_lookup(const struct login_conf *c, const char *name, uint32_t *uid);

/*
 * Record `name` in the uid table (under its lock) with the UID it gets now,
 * unless it is there already; *uid is the UID recorded.  0 or an errno.
 */
int uidmap_record(const struct login_conf *c, const char *name, uint32_t *uid);

#endif

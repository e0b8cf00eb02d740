/*
 * uidmap.h - stable, modest UIDs for Entra users, bound to their object ids.
 *
 * A name's UID is its uid table entry or, before it has one, its slot: FNV-1a
 * of the canonical name picks one UID in uid_range (above its first two
 * numbers, the GIDs of the admin and users groups).  There is no probing: a
 * slot taken in /etc/passwd (read directly, never through NSS) or by another
 * name in the table makes the name unserved until an administrator pins a
 * UID for it, so the answer sshd gets before authentication is the one the
 * session runs with.  Once pam_azmi authorised a login the name is recorded
 * in the root-owned uid table (AZMI_STATEDIR/uids, "name:uid:objectid"
 * lines; "name:uid" is a pin whose object id the next login fills in), and
 * the table wins from then on; a recorded name never passes to another
 * object id.
 */
#ifndef AZMI_UIDMAP_H
#define AZMI_UIDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#include "login_conf.h"

#define UIDTAB_FILE       "uids"
#define UIDTAB_LOCK       ".uids.lock"
#define UIDTAB_MAX        (4 * 1024 * 1024)
#define UIDMAP_MAX_PROBES 4096
#define UIDMAP_PASSWD     "/etc/passwd"

#define UIDMAP_OID_SIZE 37 /* an object id, lower case, with the NUL */

struct uid_entry {
	char *name;
	uint32_t uid;
	char oid[UIDMAP_OID_SIZE]; /* "" when not known yet (an administrator's pin) */
};

struct uid_table {
	struct uid_entry *v;
	size_t n;
};

/* The UIDs of /etc/passwd, sorted. */
struct local_ids {
	uint32_t *ids;
	size_t n;
};

/* Load the uid table (a missing file is an empty table).  0 or -errno. */
AZMI_MUST_CHECK int uidtab_load(struct uid_table *t);
void uidtab_free(struct uid_table *t);
/*
 * Add the "name:uid[:objectid]" lines of `text` (NUL-terminated, modified in
 * place) to `t`; malformed lines and later duplicates of a name or UID are
 * skipped (an object id may have several names).  0 or -ENOMEM.
 */
AZMI_MUST_CHECK int uidtab_parse(struct uid_table *t, char *text);
const struct uid_entry *uidtab_find_name(const struct uid_table *t, const char *name);
const struct uid_entry *uidtab_find_uid(const struct uid_table *t, uint32_t uid);

AZMI_MUST_CHECK int local_ids_load(struct local_ids *ids);
void local_ids_free(struct local_ids *ids);

/* The hash behind the UID (FNV-1a 32 of the lower-cased name). */
uint32_t uidmap_hash(const char *name);

/* The slot of `name` (canonical): the UID it gets unless pinned. */
uint32_t uidmap_slot(const struct login_conf *c, const char *name);

/*
 * The UID `name` (canonical) gets: its table entry, else its slot when that
 * is free.  0, or -EADDRINUSE when the slot is taken (by a local account or
 * another recorded name).
 */
AZMI_MUST_CHECK int uidmap_assign(const struct login_conf *c, const struct uid_table *t,
                                  const struct local_ids *ids, const char *name, uint32_t *uid);

/* A free UID of uid_range near `name`'s slot, to suggest as a pin; 0 when the range is full. */
uint32_t uidmap_suggest(const struct login_conf *c, const struct uid_table *t, const struct local_ids *ids,
                        const char *name);

/*
 * uidmap_assign with everything loaded for the caller (the NSS module).  0 or
 * -errno; with -EADDRINUSE `why` says whose the slot is and how to pin a UID.
 */
AZMI_MUST_CHECK int uidmap_lookup(const struct login_conf *c, const char *name, uint32_t *uid, char *why,
                                  size_t whylen);

/*
 * Bind `name` (canonical) to object id `oid` in the uid table, under its
 * lock: a new name gets its slot, a pin without an object id gets `oid`.
 * 0 with *uid; -EADDRINUSE when the slot belongs to someone else, -EKEYREJECTED
 * when the name is recorded for another object id: `why` then tells the
 * administrator what to do.  0 also sets `why` when the object id is
 * recorded under another name as well (a renamed user: a note).  Else -errno.
 * Without `write` nothing is written: the answer the binding would give.
 */
AZMI_MUST_CHECK int uidmap_record(const struct login_conf *c, const char *name, const char *oid,
                                  uint32_t *uid, char *why, size_t whylen, bool write);

#endif

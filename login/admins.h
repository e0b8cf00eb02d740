/*
 * admins.h - the members of the admin group (admin_group, default
 * azmi-admins): a root-owned state file (AZMI_STATEDIR/admins, one local
 * name a line) that pam_azmi rewrites after each decision and nss_azmi
 * serves as the group's members.  /etc/group is never edited.
 */
#ifndef AZMI_ADMINS_H
#define AZMI_ADMINS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define ADMINS_FILE "admins"
#define ADMINS_LOCK ".admins.lock"
#define ADMINS_MAX  (1024 * 1024)

struct name_list {
	char **v;
	size_t n;
};

/* Load the members (a missing file or state directory: none).  0 or -errno. */
AZMI_MUST_CHECK int admins_load(struct name_list *l);
void admins_free(struct name_list *l);
bool admins_has(const struct name_list *l, const char *name);

/*
 * Make `name` a member or not, under the file's lock; the file is rewritten
 * only when that changes it.  *changed tells whether it did.  0 or -errno.
 */
AZMI_MUST_CHECK int admins_set(const char *name, bool member, bool *changed);

#endif

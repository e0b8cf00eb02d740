/*
 * names.h - which names nss_azmi may serve.  A person is their object id; a
 * name is only a label, so a label that means something else on the machine
 * is never handed out: not a local account or group (in any case), not the
 * admin or users group, not a name that sudoers, polkit or a distribution
 * give rights to (root, admin, sudo, wheel, adm, staff, docker, lxd,
 * systemd-*, ...).  Served names are canonical: lower case.
 */
#ifndef AZMI_NAMES_H
#define AZMI_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "login_conf.h"

#define NAMES_PASSWD "/etc/passwd"
#define NAMES_GROUP  "/etc/group"

/* The canonical form of a served name: ASCII lower case. */
void names_canon(char *dst, size_t dstlen, const char *src);

/* Is `name` an account of /etc/passwd: exactly, or with `anycase` in any case? */
bool names_in_passwd(const char *name, bool anycase);

/* True for a name reserved on Linux systems (exact, canonical). */
bool names_reserved(const char *canon);

/*
 * May `canon` be served as an Entra user's name?  False with `why` when it is
 * reserved, the admin or users group, or equal in any case to an account in
 * /etc/passwd or a group in /etc/group (read as files, never through NSS).
 */
bool names_servable(const struct login_conf *c, const char *canon, char *why, size_t whylen);

#endif

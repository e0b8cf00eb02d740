/*
 * cert.h - the account phase of a login made with an Entra SSH certificate
 * (`az ssh vm`): the certificate (sshd's SSH_AUTH_INFO_0, or the one the
 * principals command accepted, ssh_ticket.h), when its CA is one of the
 * cloud's Entra keys in the CA file, is checked again (ssh_login.h) and its
 * object id becomes the principal, so the RBAC decision needs no Microsoft
 * Graph look-up.
 */
#ifndef AZMI_PAM_CERT_H
#define AZMI_PAM_CERT_H

#include <stdint.h>

#include "login_conf.h"
#include "ssh_login.h"

enum cert_outcome {
	CERT_NONE = 0, /* no certificate, or one of another CA: the login name decides as before */
	CERT_OK,       /* the certificate of this login (SSH_AUTH_INFO_0) passes: r->oid is the principal */
	CERT_TICKET,   /* the certificate the principals command accepted for this name passes: r->oid */
	CERT_REFUSED,  /* an Entra certificate that fails a check (r->check, r->reason) */
	CERT_ERROR,    /* the certificate or the CA file cannot be read (r->reason): fail closed */
};

/*
 * Decide from `auth_info` (SSH_AUTH_INFO_0, may be NULL), else from the
 * ticket left in `ticket_dir` (may be NULL), for local name `user` at `now`.
 */
enum cert_outcome cert_check(const struct login_conf *c, const char *user, long local_uid,
                             const char *auth_info, const char *ticket_dir, int64_t now,
                             struct ssh_login_check *r);

#endif

/*
 * ssh_ticket.h - the certificate an sshd login was accepted with, handed
 * from `azmi ssh-principals` (unprivileged) to pam_azmi's account phase.
 *
 * OpenSSH runs the PAM account phase before it records the method that
 * succeeded, so SSH_AUTH_INFO_0 is empty there for a one-method login
 * (monitor.c: PAM account, then auth2_update_session_info).  The principals
 * command therefore leaves the certificate it accepted, one file per login
 * name, in a directory of its own.  The file is not trusted: pam_azmi checks
 * the certificate again in full (ssh_login.h), and a valid Entra certificate
 * is a signed statement "this principal of this tenant is this object id",
 * whoever put it there.
 */
#ifndef AZMI_SSH_TICKET_H
#define AZMI_SSH_TICKET_H

#include <stdbool.h>
#include <stddef.h>

#include "sshcert.h"

#ifndef AZMI_SSH_RUNDIR
#define AZMI_SSH_RUNDIR "/run/azmi-ssh"
#endif
#define SSH_TICKET_MAX (SSHCERT_MAX_BLOB * 2)

/*
 * Leave `cert_text` (what sshd passed as %k) for `user` in `dir`: a
 * temporary file renamed over t-<hash of the name>.  Only when `dir` is a
 * directory of the caller's, 0700.  False with `why` when nothing was written.
 */
bool ssh_ticket_write(const char *dir, const char *user, const char *cert_text, char *why, size_t whylen);

/*
 * The certificate left for `user` in `dir`, parsed (not checked): false when
 * there is none, or it is not a regular file within the cap, or not a certificate.
 */
bool ssh_ticket_read(const char *dir, const char *user, struct sshcert *out, char *why, size_t whylen);

#endif

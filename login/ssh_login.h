/*
 * ssh_login.h - may this Entra SSH certificate log in as this local name?
 * One offline check shared by sshd's AuthorizedPrincipalsCommand (`azmi
 * ssh-principals`), pam_azmi's account phase and `azmi check-login --cert`:
 * the CA is one of the cloud's Entra keys in the CA file (ssh_ca.h) and its
 * signature verifies, the key ID is `<oid>@<tid>` with this VM's tenant (the
 * `tenant` key), the tid@/oid@sshservice.azure.net extensions agree, and the
 * one principal maps to the login name as principal.h maps names.
 */
#ifndef AZMI_SSH_LOGIN_H
#define AZMI_SSH_LOGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "login_conf.h"
#include "ssh_ca.h"
#include "sshcert.h"

#define SSH_LOGIN_MAX_STEPS 12
#define SSH_LOGIN_STEP_LEN  400

struct ssh_login_check {
	bool ok;
	char oid[40];                     /* the certificate's object id (lower case), "" until known */
	char tid[40];                     /* its tenant id (lower case) */
	char principal[SSHCERT_NAME_MAX]; /* exactly as issued */
	char kid[JWT_KID_MAX + 1];        /* the Entra key that signed it */
	char check[24];                   /* the failed check's name: "ca", "tenant", "principal", ... */
	char reason[400];
	char steps[SSH_LOGIN_MAX_STEPS][SSH_LOGIN_STEP_LEN];
	int nsteps;
};

/*
 * Check `cert` for local name `user` (`local_uid` as principal_resolve takes
 * it) against `cas` at `now`.  Idempotent and offline; nothing is written.
 * `dates`: also refuse outside the validity dates (sshd checks them after
 * the principals command, so that one may leave them to sshd).
 */
bool ssh_login_check(const struct login_conf *c, const char *user, long local_uid, const struct sshcert *cert,
                     const struct ssh_ca_set *cas, int64_t now, bool dates, struct ssh_login_check *out);

/*
 * The certificate that authenticated an sshd login, from SSH_AUTH_INFO_0's
 * text ("publickey TYPE BASE64" lines): 1 found (parsed into `out`), 0 no
 * certificate among the methods, -1 malformed or more than one certificate.
 */
int ssh_login_from_auth_info(const char *info, struct sshcert *out, char *why, size_t whylen);

#endif

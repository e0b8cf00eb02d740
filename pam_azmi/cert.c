/*
 * cert.c - an Entra SSH certificate in the account phase: the one in
 * SSH_AUTH_INFO_0 when sshd put it there, else the one the principals
 * command accepted for this name (ssh_ticket.h); either is checked again.
 */
#include "cert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ssh_ticket.h"

/* The CA file, when certificates are set up here; CERT_NONE when they are not, CERT_ERROR when unreadable. */
static enum cert_outcome load_cas(const struct login_conf *c, struct ssh_ca_set *cas,
                                  struct ssh_login_check *r)
{
	char why[320];

	if (access(c->ssh_ca_file, F_OK) != 0 && errno == ENOENT)
		return CERT_NONE; /* certificates are not set up here: sshd trusts no Entra key */
	if (!ssh_ca_load(c->ssh_ca_file, cas, why, sizeof(why))) {
		snprintf(r->reason, sizeof(r->reason), "CA file: %s", why);
		return CERT_ERROR;
	}
	return CERT_OK;
}

enum cert_outcome cert_check(const struct login_conf *c, const char *user, long local_uid,
                             const char *auth_info, const char *ticket_dir, int64_t now,
                             struct ssh_login_check *r)
{
	struct sshcert *cert;
	struct ssh_ca_set cas;
	enum cert_outcome out;
	char why[320];
	int found = 0;

	memset(r, 0, sizeof(*r));
	if ((cert = malloc(sizeof(*cert))) == NULL) {
		snprintf(r->reason, sizeof(r->reason), "out of memory");
		return CERT_ERROR;
	}
	if (auth_info != NULL && (found = ssh_login_from_auth_info(auth_info, cert, why, sizeof(why))) < 0) {
		snprintf(r->reason, sizeof(r->reason), "SSH_AUTH_INFO_0: %s", why);
		free(cert);
		return CERT_ERROR;
	}
	if (found == 0 &&
	    (ticket_dir == NULL || !ssh_ticket_read(ticket_dir, user, cert, why, sizeof(why)))) {
		free(cert);
		return CERT_NONE;
	}
	if ((out = load_cas(c, &cas, r)) != CERT_OK) {
		free(cert);
		return out;
	}
	if (!ssh_ca_has(&cas, cert->blob + cert->ca_off, cert->ca_len))
		out = CERT_NONE; /* another CA's certificate: not an Entra login */
	else if (ssh_login_check(c, user, local_uid, cert, &cas, now, true, r))
		out = found ? CERT_OK : CERT_TICKET;
	else
		out = found ? CERT_REFUSED
		            : CERT_NONE; /* a left certificate that no longer passes: not this login's */
	ssh_ca_set_free(&cas);
	free(cert);
	return out;
}

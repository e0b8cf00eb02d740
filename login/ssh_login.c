/* ssh_login.c - an Entra SSH certificate against the CA file, the tenant and the login name. */
#include "ssh_login.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "principal.h"

#define AUTH_INFO_MAX (64 * 1024)

static void step(struct ssh_login_check *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void step(struct ssh_login_check *r, const char *fmt, ...)
{
	va_list ap;

	if (r->nsteps >= SSH_LOGIN_MAX_STEPS)
		return;
	va_start(ap, fmt);
	vsnprintf(r->steps[r->nsteps++], SSH_LOGIN_STEP_LEN, fmt, ap);
	va_end(ap);
}

static bool refuse(struct ssh_login_check *r, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool refuse(struct ssh_login_check *r, const char *check, const char *fmt, ...)
{
	va_list ap;

	snprintf(r->check, sizeof(r->check), "%s", check);
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
	va_end(ap);
	step(r, "%s: refused: %s", check, r->reason);
	r->ok = false;
	return false;
}

static void lower_copy(char *dst, size_t len, const char *src, size_t n)
{
	size_t i = 0;

	for (; i < n && i + 1 < len; i++)
		dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] + 32 : src[i]);
	dst[i] = '\0';
}

/* Key ID "<oid>@<tid>", both object ids. */
static bool split_key_id(const char *id, struct ssh_login_check *r)
{
	const char *at = strchr(id, '@');

	if (at == NULL || strchr(at + 1, '@') != NULL || (size_t)(at - id) >= sizeof(r->oid) ||
	    strlen(at + 1) >= sizeof(r->tid))
		return false;
	lower_copy(r->oid, sizeof(r->oid), id, (size_t)(at - id));
	lower_copy(r->tid, sizeof(r->tid), at + 1, strlen(at + 1));
	return principal_is_guid(r->oid) && principal_is_guid(r->tid);
}

/* Does the login name's principal name this certificate's user: its object id, or its UPN in any case? */
static bool maps_to(const struct login_conf *c, const char *user, long local_uid, struct ssh_login_check *r)
{
	struct principal p;

	if (principal_resolve(c, user, local_uid, &p) != 0)
		return refuse(r, "principal", "cannot tell who %.100s is: %s", user, p.why);
	if (p.refused || p.via == PRINCIPAL_NONE)
		return refuse(r, "principal", "%.100s is no Entra user here: %s", user, p.why);
	if (p.is_oid ? strcasecmp(p.id, r->oid) != 0 : strcasecmp(p.id, r->principal) != 0)
		return refuse(r, "principal",
		              "%.100s is %.200s (%s), not the certificate's %.200s (object id %s)", user,
		              p.id, principal_via_name(p.via), r->principal, r->oid);
	step(r, "principal: %s maps to %s (%s)", user, p.id, principal_via_name(p.via));
	return true;
}

bool ssh_login_check(const struct login_conf *c, const char *user, long local_uid, const struct sshcert *cert,
                     const struct ssh_ca_set *cas, int64_t now, bool dates, struct ssh_login_check *r)
{
	char why[300];

	memset(r, 0, sizeof(*r));
	if (cert->type != SSHCERT_USER)
		return refuse(r, "type", "not a user certificate");
	if (!ssh_ca_trusts(cas, cert->blob + cert->ca_off, cert->ca_len, now, c->ssh_ca_keep, r->kid, why,
	                   sizeof(why)))
		return refuse(r, "ca", "%s", why);
	if (!sshcert_verify(cert, why, sizeof(why)))
		return refuse(r, "signature", "%s", why);
	step(r, "ca: signed by Entra key %s of the CA file", r->kid[0] ? r->kid : "(no kid)");
	if (c->tenant[0] == '\0')
		return refuse(r, "tenant",
		              "no `tenant` is configured: certificates cannot be bound to a tenant");
	if (!split_key_id(cert->key_id, r))
		return refuse(r, "key-id", "key ID \"%.100s\" is not <object id>@<tenant id>", cert->key_id);
	if (strcmp(r->tid, c->tenant) != 0)
		return refuse(r, "tenant", "issued for tenant %s, this machine's tenant is %s", r->tid,
		              c->tenant);
	if (strcasecmp(cert->ext_tid, r->tid) != 0)
		return refuse(r, "tenant", "tid@sshservice.azure.net \"%.60s\" does not match the key ID",
		              cert->ext_tid);
	if (strcasecmp(cert->ext_oid, r->oid) != 0)
		return refuse(r, "oid", "oid@sshservice.azure.net \"%.60s\" does not match the key ID",
		              cert->ext_oid);
	step(r, "identity: object id %s in tenant %s (key ID and extensions agree)", r->oid, r->tid);
	if (dates && (now < 0 || (uint64_t)now < cert->valid_after || (uint64_t)now >= cert->valid_before))
		return refuse(r, "dates", "outside its validity (%llu..%llu, now %lld)",
		              (unsigned long long)cert->valid_after, (unsigned long long)cert->valid_before,
		              (long long)now);
	if (cert->nprincipals != 1)
		return refuse(r, "principal", "%zu principals; Entra issues exactly one", cert->nprincipals);
	if (cert->principals[0][strcspn(cert->principals[0], " \t")] != '\0' || cert->principals[0][0] == '#')
		return refuse(r, "principal", "the principal holds a blank or starts with '#'");
	snprintf(r->principal, sizeof(r->principal), "%s", cert->principals[0]);
	if (!maps_to(c, user, local_uid, r))
		return false;
	r->ok = true;
	return true;
}

int ssh_login_from_auth_info(const char *info, struct sshcert *out, char *why, size_t whylen)
{
	size_t len = strnlen(info, AUTH_INFO_MAX + 1), off = 0;
	int found = 0;

	if (len > AUTH_INFO_MAX) {
		snprintf(why, whylen, "SSH_AUTH_INFO_0 over 64 KiB");
		return -1;
	}
	while (off < len) {
		const char *line = info + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		static const char tag[] = "publickey " SSHCERT_TYPE " ";
		off += n + (nl ? 1 : 0);
		if (n <= strlen(tag) || memcmp(line, tag, strlen(tag)) != 0)
			continue;
		if (found++ > 0) {
			snprintf(why, whylen, "more than one certificate among the methods");
			return -1;
		}
		if (!sshcert_parse_text(line + strlen("publickey "), n - strlen("publickey "), out, why,
		                        whylen))
			return -1;
	}
	return found;
}

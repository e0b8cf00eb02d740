/*
 * fuzz_sshcert.c - the SSH certificate parsers on arbitrary input: the
 * first byte picks the blob parser (then the signature check), the text
 * form, the TrustedUserCAKeys file parser or SSH_AUTH_INFO_0.  No crash, no
 * leak; an accepted certificate's fields stay within their caps and inside
 * the blob.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh_ca.h"
#include "ssh_login.h"
#include "sshcert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct sshcert *c)
{
	if (c->ca_off + c->ca_len > c->len || c->sig_off + c->sig_len > c->len || c->signed_len > c->len ||
	    c->nprincipals == 0 || c->nprincipals > SSHCERT_MAX_PRINCIPALS ||
	    strnlen(c->key_id, sizeof(c->key_id)) == sizeof(c->key_id))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sshcert c;
	char why[200], *text;

	if (size < 1)
		return 0;
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] & 3) {
	case 0:
		if (sshcert_parse(data + 1, size - 1, &c, why, sizeof(why))) {
			check(&c);
			(void)sshcert_verify(&c, why, sizeof(why));
		}
		break;
	case 1:
		if (sshcert_parse_text(text, size - 1, &c, why, sizeof(why)))
			check(&c);
		break;
	case 2: {
		struct ssh_ca_set s;
		char *exact =
		    malloc(size - 1 ? size - 1 : 1); /* no NUL after it: the parser must keep to len */
		if (exact == NULL)
			break;
		memcpy(exact, data + 1, size - 1);
		if (ssh_ca_parse(exact, size - 1, &s, why, sizeof(why))) {
			if (s.n > SSH_CA_MAX_KEYS)
				__builtin_trap();
			ssh_ca_set_free(&s);
		}
		free(exact);
		break;
	}
	default:
		if (ssh_login_from_auth_info(text, &c, why, sizeof(why)) == 1)
			check(&c);
		break;
	}
	free(text);
	return 0;
}

/*
 * fuzz_acr.c - the Container Registry parsers on arbitrary input: the
 * exchange and token answers (acr_answer_parse), their error bodies
 * (acr_error_text), registry names, scopes and the challenge check.  No
 * crash or leak; accepted tokens are valid bearer tokens with a sane expiry;
 * accepted names are registry hosts; reasons are printable and bounded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acr.h"
#include "expiry.h"
#include "token.h"
#include "util.h"

#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answers(const char *body, size_t size)
{
	static const char *const fields[] = {"refresh_token", "access_token"};

	for (size_t i = 0; i < 2; i++) {
		struct azmi_token *tok = NULL;
		char why[256];
		azmi_err rc;

		why[0] = '\0';
		rc = acr_answer_parse(body, size, fields[i], NOW, "myreg.azurecr.io", &tok, why, sizeof(why));
		if (rc == AZMI_OK) {
			if (tok == NULL || !token_text_valid(tok->access_token, tok->access_token_len) ||
			    tok->expires_on <= NOW || tok->expires_on > NOW + EXPIRY_MAX_LIFETIME ||
			    strcmp(tok->resource, "myreg.azurecr.io") != 0)
				__builtin_trap();
			azmi_token_release(tok);
		} else if (tok != NULL || why[0] == '\0' || !util_is_printable(why, strlen(why))) {
			__builtin_trap();
		}
	}
}

/* Host names accepted are lower case <label>.azurecr.{io,us,cn}, and normalising is idempotent. */
static void names(const char *in, size_t size)
{
	char out[ACR_MAX_HOST + 1], again[ACR_MAX_HOST + 1];
	size_t n;

	if (!acr_registry_name(in, size, out))
		return;
	n = strlen(out);
	if (n == 0 || n > ACR_MAX_HOST || !util_is_printable(out, n) ||
	    strpbrk(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZ :/@"))
		__builtin_trap();
	if (!(n > 11 &&
	      (strcmp(out + n - 11, ".azurecr.io") == 0 || strcmp(out + n - 11, ".azurecr.us") == 0 ||
	       strcmp(out + n - 11, ".azurecr.cn") == 0)) ||
	    memchr(out, '.', n - 11) != NULL)
		__builtin_trap();
	if (!acr_registry_name(out, n, again) || strcmp(out, again) != 0)
		__builtin_trap();
}

/* The input split in three NUL-separated strings: realm, service, scope. */
static void challenge(const char *in, size_t size)
{
	char *copy = malloc(size + 3), *realm, *service, *scope, why[200];
	size_t n;

	if (copy == NULL)
		return;
	memcpy(copy, in, size);
	copy[size] = copy[size + 1] = copy[size + 2] = '\0';
	realm = copy;
	service = realm + strlen(realm) + 1;
	scope = service + strlen(service) + 1;
	if (service > copy + size)
		service = copy + size + 1;
	if (scope > copy + size + 1)
		scope = copy + size + 2;
	why[0] = '\0';
	if (acr_challenge_ok("myreg.azurecr.io", realm, service, scope, why, sizeof(why))) {
		/* only the registry's own token endpoint, only valid scopes */
		const char *p;
		if (strncasecmp(realm, "https://myreg.azurecr.io", 24) != 0)
			__builtin_trap();
		p = realm + 24;
		if (strncmp(p, ":443", 4) == 0)
			p += 4;
		if (strcmp(p, "/oauth2/token") != 0 || (scope[0] != '\0' && !acr_scope_valid(scope)))
			__builtin_trap();
	} else if ((n = strlen(why)) == 0 || !util_is_printable(why, n)) {
		__builtin_trap();
	}
	(void)acr_scope_valid(realm);
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	char text[300];

	answers(in, size);
	memset(text, 'Z', sizeof(text));
	acr_error_text(in, size, text, 256);
	if (memchr(text, '\0', 256) == NULL || !util_is_printable(text, strlen(text)) || text[256] != 'Z')
		__builtin_trap();
	names(in, size);
	challenge(in, size);
	return 0;
}

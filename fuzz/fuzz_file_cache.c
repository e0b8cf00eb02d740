/*
 * fuzz_file_cache.c - file_cache_parse on arbitrary file contents, for a key
 * chosen by the first byte: no crash or leak; an accepted token is valid,
 * fresh at `now` and consistent.
 */
#include <stddef.h>
#include <stdint.h>

#include "cache_file.h"
#include "token.h"

#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cache_key keys[] = {
    {"imds", AZMI_ID_SYSTEM, NULL, "https://storage.azure.com"},
    {"imds", AZMI_ID_CLIENT_ID, "11111111-2222-3333-4444-555555555555", "https://management.azure.com"},
    {"appservice", AZMI_ID_OBJECT_ID, "o", "https://vault.azure.net"},
    {"imds", AZMI_ID_RESOURCE_ID, "/subscriptions/s/resourcegroups/g/providers/x/y/id", "r"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct cache_key *k;
	struct azmi_token *tok;
	const struct expiry *x;

	if (size < 1)
		return 0;
	k = &keys[data[0] % 4];
	tok = file_cache_parse((const char *)data + 1, size - 1, k, NOW);
	if (tok == NULL)
		return 0;
	x = token_expiry(tok);
	if (!token_text_valid(tok->access_token, tok->access_token_len) || NOW >= x->stale_on ||
	    x->refresh_on > x->stale_on || x->stale_on > x->expires_on ||
	    x->expires_on - NOW > EXPIRY_MAX_LIFETIME)
		__builtin_trap();
	azmi_token_release(tok);
	return 0;
}

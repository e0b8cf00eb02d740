/*
 * fuzz_jwt_verify.c - jwks_parse and jwt_verify on arbitrary bytes: the first
 * byte picks the key set parser (even) or the token validator (odd, against a
 * key set made at start-up).  No crash, no leak, and nothing forged is valid.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jwks_store.h"
#include "jwt.h"
#include "jwt_verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct jwks *keys;

static char *param_b64(const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		return NULL;
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return jwt_b64_encode(buf, (size_t)n, true);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *k = EVP_RSA_gen(2048);
	char *n, *e, text[2048];

	(void)argc;
	(void)argv;
	if (k == NULL)
		abort();
	n = param_b64(k, OSSL_PKEY_PARAM_RSA_N);
	e = param_b64(k, OSSL_PKEY_PARAM_RSA_E);
	snprintf(text, sizeof(text),
	         "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"n\":\"%s\",\"e\":\"%s\"}]}", n, e);
	keys = jwks_parse(text, strlen(text), NULL, 0);
	free(n);
	free(e);
	EVP_PKEY_free(k);
	if (keys == NULL)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const auds[] = {"api://azmi"};
	struct jwt_policy p = {.tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47",
	                       .audiences = auds,
	                       .naudiences = 1,
	                       .now = 1800000000,
	                       .skew = -1};
	struct jwt_claims c;
	char why[256];

	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0) {
		struct jwks *ks = jwks_parse((const char *)data + 1, size - 1, why, sizeof(why));
		if (ks != NULL && (jwks_count(ks) == 0 || jwks_count(ks) > JWKS_MAX_KEYS))
			__builtin_trap();
		jwks_free(ks);
		return 0;
	}
	/* No input can carry a valid signature of the start-up key. */
	if (jwt_verify((const char *)data + 1, size - 1, keys, &p, &c, why, sizeof(why)) == JWT_VALID)
		__builtin_trap();
	(void)jwt_peek_version((const char *)data + 1, size - 1);
	return 0;
}

/*
 * rsa_pub.h - an RSA public key from its modulus and exponent, the one
 * OpenSSL 3 construction shared by the key set (jwks.c) and SSH
 * certificates (sshcert.c); each caller applies its own size limits first.
 */
#ifndef AZMI_RSA_PUB_H
#define AZMI_RSA_PUB_H

#include <openssl/bn.h>
#include <openssl/evp.h>

/* The key, or NULL when e is not odd and at least 2 bits, or OpenSSL refuses it. */
EVP_PKEY *rsa_pub_from_ne(const BIGNUM *n, const BIGNUM *e);

#endif

/*
 * certfile.h - a service principal's certificate file, as the SDKs read
 * AZURE_CLIENT_CERTIFICATE_PATH: PEM (certificates and a private key, the key
 * optionally encrypted) or PKCS#12 (.pfx/.p12, with or without a password).
 */
#ifndef AZMI_CERTFILE_H
#define AZMI_CERTFILE_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "azmi.h"
#include "error.h"

#define CERTFILE_MAX       (256 * 1024)
#define CERTFILE_MAX_CHAIN 8

struct certfile {
	EVP_PKEY *key;                   /* an RSA key */
	X509 *certs[CERTFILE_MAX_CHAIN]; /* in file order (PKCS#12: the key's certificate first) */
	int ncerts;
	int leaf; /* index of the certificate matching the key */
};

/*
 * Load `path` (at most 256 KiB, a regular file) into `out`.  PEM when it holds
 * "-----BEGIN", else PKCS#12.  `password` (may be NULL) decrypts the PEM key or
 * the PKCS#12 file.  On failure `out` is empty and `err` says why, naming `path`.
 */
AZMI_MUST_CHECK azmi_err certfile_load(const char *path, const char *password, struct certfile *out,
                                       struct azmi_error *err);

/* The same from memory; `what` names the data in messages (exposed for tests and fuzzing). */
AZMI_MUST_CHECK azmi_err certfile_parse(const char *data, size_t len, const char *password, const char *what,
                                        struct certfile *out, struct azmi_error *err);

/* Free what `cf` holds (accepts an empty or half-filled one) and empty it. */
void certfile_free(struct certfile *cf);

#endif

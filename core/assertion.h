/*
 * assertion.h - the signed JWT a service principal with a certificate
 * presents to Entra instead of a secret (client_assertion): PS256 with
 * x5t#S256, optional x5c chain, valid for 10 minutes.
 */
#ifndef AZMI_ASSERTION_H
#define AZMI_ASSERTION_H

#include <stdbool.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"

#define ASSERTION_LIFETIME 600

/*
 * Sign an assertion for `client_id` addressed to `audience` (the token URL)
 * at time `now`, with the certificate and RSA key in `cert_path`, PEM or
 * PKCS#12 (certfile.h; `password` may be NULL).  `send_chain` adds x5c.
 * *out is a new string; wipe it after use.
 */
AZMI_MUST_CHECK azmi_err assertion_sign(const char *cert_path, const char *password, bool send_chain,
                                        const char *client_id, const char *audience, int64_t now, char **out,
                                        struct azmi_error *err);

#endif

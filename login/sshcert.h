/*
 * sshcert.h - a bounded parser of OpenSSH RSA user certificates
 * (ssh-rsa-cert-v01@openssh.com, PROTOCOL.certkeys) as Microsoft Entra issues
 * them for `az ssh`: key ID `<oid>@<tid>`, one UPN principal and the
 * oid@/tid@sshservice.azure.net extensions.  Nothing here trusts sshd: the
 * CA signature is checked again with OpenSSL.
 */
#ifndef AZMI_SSHCERT_H
#define AZMI_SSHCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SSHCERT_TYPE           "ssh-rsa-cert-v01@openssh.com"
#define SSHCERT_MAX_BLOB       8192 /* bytes of a decoded certificate: RSA 8192 key and CA fit */
#define SSHCERT_MAX_PRINCIPALS 8
#define SSHCERT_NAME_MAX       256 /* key ID, principals and extension values, with the NUL */
#define SSHCERT_MAX_OPTIONS    32  /* critical options plus extensions */
#define SSHCERT_USER           1

struct sshcert {
	unsigned char blob[SSHCERT_MAX_BLOB]; /* the certificate as decoded */
	size_t len;
	uint64_t serial;
	uint32_t type; /* SSHCERT_USER or 2 (host) */
	char key_id[SSHCERT_NAME_MAX];
	char principals[SSHCERT_MAX_PRINCIPALS][SSHCERT_NAME_MAX];
	size_t nprincipals;
	uint64_t valid_after, valid_before;
	size_t ncritical;               /* critical options: Entra sets none */
	char ext_oid[SSHCERT_NAME_MAX]; /* oid@sshservice.azure.net, "" when absent */
	char ext_tid[SSHCERT_NAME_MAX]; /* tid@sshservice.azure.net, "" when absent */
	size_t ca_off, ca_len;          /* the CA's public key blob inside `blob` */
	size_t signed_len;              /* bytes the signature covers: blob[0, signed_len) */
	size_t sig_off, sig_len;        /* the signature blob inside `blob` */
	unsigned bits;                  /* the certified key's modulus size */
};

/*
 * Parse a certificate blob.  True with `out` filled; false with `why` naming
 * the first thing wrong (any other type, a field over its cap, trailing or
 * missing bytes, an option or extension twice, a principal that is not
 * printable text).  Does not check the signature or the dates.
 */
bool sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *out, char *why, size_t whylen);

/*
 * The same from text: "BASE64", or "TYPE BASE64 [comment]" as in a
 * -cert.pub file, AuthorizedPrincipalsCommand's %k or sshd's SSH_AUTH_INFO_0.
 */
bool sshcert_parse_text(const char *text, size_t len, struct sshcert *out, char *why, size_t whylen);

/*
 * Does the CA signature verify with the certificate's own CA key (RSA
 * 2048-8192 bits, rsa-sha2-256 or rsa-sha2-512; SHA-1 refused)?  Whether
 * that CA is trusted is the caller's question (ssh_ca.h).
 */
bool sshcert_verify(const struct sshcert *c, char *why, size_t whylen);

/* Strict standard base64 (padding required): a new buffer of at most `max` bytes, NULL when malformed. */
unsigned char *sshcert_b64_decode(const char *in, size_t inlen, size_t max, size_t *outlen);

/* The RSA public key (e, n) of an OpenSSH "ssh-rsa" key blob; NULL when not one of 2048-8192 bits. */
struct evp_pkey_st *sshcert_rsa_key(const unsigned char *blob, size_t len);

/* The same shape check without making a key (no OpenSSL): for reading the CA file at every login. */
bool sshcert_rsa_key_ok(const unsigned char *blob, size_t len);

#endif

/*
 * ssh_ca.h - sshd's TrustedUserCAKeys file from the cloud's Entra signing
 * keys (the key set that signs tokens also signs `az ssh` certificates).
 * The file holds the RSA keys of the last good set and the time it was
 * fetched; it is replaced atomically (0644, root's, in a root-owned
 * directory), and once the set is older than ssh_ca_keep it is emptied and
 * no longer trusted (fail closed).
 */
#ifndef AZMI_SSH_CA_H
#define AZMI_SSH_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"
#include "jwt_verify.h"
#include "login_conf.h"

#define SSH_CA_MAX_BYTES (256 * 1024)
#define SSH_CA_MAX_KEYS  JWKS_MAX_KEYS

/* The file's text for `ks` fetched at `fetched`: a header, then one "ssh-rsa BASE64 entra-kid:KID" a key. */
char *ssh_ca_render(const struct jwks *ks, int64_t fetched, const char *origin);

/* The text of an emptied file (no key: sshd trusts nothing), saying why. */
char *ssh_ca_render_empty(const char *why);

/* A parsed CA file: the key blobs and when they were fetched (0: emptied or unknown). */
struct ssh_ca_set {
	unsigned char *keys[SSH_CA_MAX_KEYS];
	size_t lens[SSH_CA_MAX_KEYS];
	char kids[SSH_CA_MAX_KEYS][JWT_KID_MAX + 1];
	size_t n;
	int64_t fetched;
};

/* Parse CA file text (any NUL-free text; lines that are not ours are refused).  False with `why`. */
bool ssh_ca_parse(const char *text, size_t len, struct ssh_ca_set *out, char *why, size_t whylen);
void ssh_ca_set_free(struct ssh_ca_set *s);

/*
 * Read `path`: a regular file (no link) owned by root, not writable by group
 * or others, in a root-owned directory that is not either, at most 256 KiB.
 */
bool ssh_ca_load(const char *path, struct ssh_ca_set *out, char *why, size_t whylen);

/*
 * Is `blob` (a CA key from a certificate) in the set, and the set younger
 * than `keep` seconds at `now`?  `kid` (may be NULL, JWT_KID_MAX+1 bytes) gets its kid.
 */
bool ssh_ca_trusts(const struct ssh_ca_set *s, const unsigned char *blob, size_t len, int64_t now, long keep,
                   char *kid, char *why, size_t whylen);

/* Is `blob` one of the set's keys, whatever the set's age? */
bool ssh_ca_has(const struct ssh_ca_set *s, const unsigned char *blob, size_t len);

struct ssh_ca_refresh_opts {
	const char *authority; /* https base of the key endpoint */
	const char *tenant;    /* tenant id, or "common" */
	const char *path;      /* the CA file */
	const char *ca_file;   /* TLS CA bundle, or NULL */
	const char *proxy;
	long timeout_ms;
	long keep;   /* ssh_ca_keep */
	int64_t now; /* 0: the clock */
};

enum ssh_ca_outcome {
	SSH_CA_FRESH = 0, /* the key set was fetched and written */
	SSH_CA_KEPT,      /* the fetch failed; the last good set is younger than keep and stays */
	SSH_CA_EMPTIED,   /* the fetch failed and there was no good set younger than keep: file emptied */
};

/*
 * Fetch the key set and replace the file.  AZMI_OK with *outcome and *nkeys
 * (keys now in the file); `err` holds the fetch's error when the outcome is
 * not SSH_CA_FRESH.  Errors: the file cannot be written, or its directory is
 * not root's.
 */
AZMI_MUST_CHECK azmi_err ssh_ca_refresh(const struct ssh_ca_refresh_opts *o, enum ssh_ca_outcome *outcome,
                                        size_t *nkeys, struct azmi_error *fetch_err, struct azmi_error *err);

/* "fresh", "kept", "emptied". */
const char *ssh_ca_outcome_name(enum ssh_ca_outcome o);

#endif

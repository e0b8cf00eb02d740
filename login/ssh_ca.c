/* ssh_ca.c - the Entra signing keys as sshd's TrustedUserCAKeys file: render, parse, check, refresh. */
#include "ssh_ca.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "buf.h"
#include "jwks_store.h"
#include "jwt.h"
#include "sshcert.h"
#include "statefile.h"
#include "util.h"

#define HEADER      "# azmi ssh-ca: Microsoft Entra signing keys for sshd's TrustedUserCAKeys; do not edit\n"
#define FETCHED_TAG "# fetched "
#define KEY_TAG     "ssh-rsa "
#define KID_TAG     "entra-kid:"
#define MAX_LINE    4096

static bool say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Append an SSH string (u32 length, bytes). */
static bool put_str(struct buf *b, const void *data, size_t len)
{
	unsigned char l[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
	                      (unsigned char)(len >> 8), (unsigned char)len};

	return buf_append(b, (const char *)l, 4) && buf_append(b, data, len);
}

/* Append a positive BIGNUM as an SSH mpint (a zero byte first when the top bit is set). */
static bool put_mpint(struct buf *b, const BIGNUM *bn)
{
	unsigned char raw[1 + 8192 / 8];
	int n = BN_num_bytes(bn);

	if (n <= 0 || n > (int)sizeof(raw) - 1)
		return false;
	raw[0] = 0;
	BN_bn2bin(bn, raw + 1);
	return (raw[1] & 0x80) ? put_str(b, raw, (size_t)n + 1) : put_str(b, raw + 1, (size_t)n);
}

/* The OpenSSH "ssh-rsa" public key blob of `pkey`, base64 (a new string), NULL on failure. */
static char *rsa_blob_b64(const EVP_PKEY *pkey)
{
	BIGNUM *n = NULL, *e = NULL;
	struct buf b;
	char *out = NULL;

	buf_init(&b, 4096);
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e) == 1 && put_str(&b, "ssh-rsa", 7) &&
	    put_mpint(&b, e) && put_mpint(&b, n))
		out = jwt_b64_encode((const unsigned char *)b.data, b.len, false);
	BN_free(n);
	BN_free(e);
	buf_free(&b);
	return out;
}

/* A kid as a comment word: characters other than [A-Za-z0-9._-] become '_'. */
static void kid_word(char *dst, size_t len, const char *kid)
{
	size_t i = 0;

	for (; kid[i] && i + 1 < len; i++) {
		char ch = kid[i];
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		          ch == '.' || ch == '_' || ch == '-';
		dst[i] = ok ? ch : '_';
	}
	dst[i] = '\0';
}

char *ssh_ca_render(const struct jwks *ks, int64_t fetched, const char *origin)
{
	struct buf b;
	char line[256], when[32], org[200];
	struct tm tm;
	time_t t = (time_t)fetched;
	char *out = NULL;
	bool ok;

	buf_init(&b, SSH_CA_MAX_BYTES);
	if (gmtime_r(&t, &tm) == NULL || strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "-");
	util_sanitize(org, sizeof(org), origin ? origin : "-", origin ? strlen(origin) : 1);
	snprintf(line, sizeof(line), "# from %s\n" FETCHED_TAG "%lld %s\n", org, (long long)fetched, when);
	ok = buf_append(&b, HEADER, strlen(HEADER)) && buf_append(&b, line, strlen(line));
	for (size_t i = 0; ok && i < jwks_count(ks); i++) {
		const char *kid = NULL;
		const EVP_PKEY *k = jwks_key_at(ks, i, &kid);
		char *b64 = rsa_blob_b64(k), word[JWT_KID_MAX + 1];
		kid_word(word, sizeof(word), kid);
		ok = b64 != NULL && buf_append(&b, KEY_TAG, strlen(KEY_TAG)) &&
		     buf_append(&b, b64, strlen(b64)) && buf_append(&b, " " KID_TAG, strlen(" " KID_TAG)) &&
		     buf_append(&b, word, strlen(word)) && buf_append(&b, "\n", strlen("\n"));
		free(b64);
	}
	if (ok)
		out = strndup(b.data, b.len);
	buf_free(&b);
	return out;
}

char *ssh_ca_render_empty(const char *why)
{
	char reason[300];
	char *out = NULL;

	util_sanitize(reason, sizeof(reason), why, strlen(why));
	if (asprintf(&out, HEADER "# no keys: %s\n", reason) < 0)
		return NULL;
	return out;
}

void ssh_ca_set_free(struct ssh_ca_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	memset(s, 0, sizeof(*s));
}

/* One "ssh-rsa BASE64 entra-kid:KID" line into the set. */
static bool parse_key_line(const char *line, size_t len, struct ssh_ca_set *s, char *why, size_t whylen)
{
	const char *b64 = line + strlen(KEY_TAG), *end = line + len, *sp;
	size_t rawlen = 0;
	unsigned char *raw;
	if (s->n == SSH_CA_MAX_KEYS)
		return say(why, whylen, "more than %d keys", SSH_CA_MAX_KEYS);
	if ((sp = memchr(b64, ' ', (size_t)(end - b64))) == NULL)
		sp = end;
	if ((raw = sshcert_b64_decode(b64, (size_t)(sp - b64), 2048, &rawlen)) == NULL)
		return say(why, whylen, "a key line is not base64");
	if (!sshcert_rsa_key_ok(raw, rawlen)) {
		free(raw);
		return say(why, whylen, "a key is not an RSA key of 2048-8192 bits");
	}
	if (sp < end && (size_t)(end - sp) > strlen(" " KID_TAG) &&
	    memcmp(sp, " " KID_TAG, strlen(" " KID_TAG)) == 0) {
		size_t n = (size_t)(end - sp) - strlen(" " KID_TAG);
		snprintf(s->kids[s->n], sizeof(s->kids[s->n]), "%.*s",
		         (int)(n > JWT_KID_MAX ? JWT_KID_MAX : n), sp + strlen(" " KID_TAG));
	}
	s->keys[s->n] = raw;
	s->lens[s->n] = rawlen;
	s->n++;
	return true;
}

bool ssh_ca_parse(const char *text, size_t len, struct ssh_ca_set *s, char *why, size_t whylen)
{
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	if (len > SSH_CA_MAX_BYTES || memchr(text, '\0', len) != NULL)
		return say(why, whylen, "over 256 KiB or not text");
	while (off < len) {
		const char *line = text + off, *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		off += n + (nl ? 1 : 0);
		if (n > MAX_LINE) {
			ssh_ca_set_free(s);
			return say(why, whylen, "a line over %d bytes", MAX_LINE);
		}
		if (n > strlen(FETCHED_TAG) && memcmp(line, FETCHED_TAG, strlen(FETCHED_TAG)) == 0) {
			const char *v = line + strlen(FETCHED_TAG);
			size_t dl = 0, rest = n - strlen(FETCHED_TAG);
			int64_t t;
			while (dl < rest &&
			       v[dl] != ' ') /* within the line: the text need not end in a NUL */
				dl++;
			if (!util_parse_int64(v, dl, 1, INT64_MAX / 2, &t)) {
				ssh_ca_set_free(s);
				return say(why, whylen, "the fetched time is malformed");
			}
			s->fetched = t;
			continue;
		}
		if (n == 0 || line[0] == '#')
			continue;
		if (n <= strlen(KEY_TAG) || memcmp(line, KEY_TAG, strlen(KEY_TAG)) != 0 ||
		    !parse_key_line(line, n, s, why, whylen)) {
			if (why != NULL && why[0] == '\0')
				say(why, whylen, "a line is neither a comment nor an ssh-rsa key");
			ssh_ca_set_free(s);
			return false;
		}
	}
	return true;
}

/* A directory or file of root's that only root can write. */
static bool root_only(const struct stat *st)
{
	return st->st_uid == 0 && (st->st_mode & 022) == 0;
}

static bool dir_ok(const char *path, char *why, size_t whylen)
{
	char copy[LOGIN_PATH_MAX];
	struct stat st;

	snprintf(copy, sizeof(copy), "%s", path);
	if (stat(dirname(copy), &st) != 0 || !S_ISDIR(st.st_mode) || !root_only(&st))
		return say(why, whylen, "directory of %.200s missing, not root's, or writable by others",
		           path);
	return true;
}

bool ssh_ca_load(const char *path, struct ssh_ca_set *out, char *why, size_t whylen)
{
	struct stat st;
	char *text = NULL;
	ssize_t got;
	bool ok = false;
	int fd;

	memset(out, 0, sizeof(*out));
	if (!dir_ok(path, why, whylen))
		return false;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return say(why, whylen, "cannot open %.200s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !root_only(&st) || st.st_size > SSH_CA_MAX_BYTES) {
		say(why, whylen,
		    "%.200s is not a root-owned regular file of at most 256 KiB, writable by root only",
		    path);
		goto out;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		say(why, whylen, "out of memory");
		goto out;
	}
	got = read(fd, text, (size_t)st.st_size);
	if (got != st.st_size) {
		say(why, whylen, "cannot read %.200s", path);
		goto out;
	}
	ok = ssh_ca_parse(text, (size_t)got, out, why, whylen);
out:
	free(text);
	close(fd);
	return ok;
}

bool ssh_ca_has(const struct ssh_ca_set *s, const unsigned char *blob, size_t len)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->lens[i] == len && memcmp(s->keys[i], blob, len) == 0)
			return true;
	return false;
}

bool ssh_ca_trusts(const struct ssh_ca_set *s, const unsigned char *blob, size_t len, int64_t now, long keep,
                   char *kid, char *why, size_t whylen)
{
	if (s->n == 0)
		return say(why, whylen, "the CA file holds no key (emptied or never refreshed)");
	if (s->fetched <= 0 || now - s->fetched >= keep || s->fetched > now + 300)
		return say(why, whylen,
		           "the CA file's key set was fetched %lld s ago, over ssh_ca_keep (%ld s)",
		           (long long)(now - s->fetched), keep);
	for (size_t i = 0; i < s->n; i++)
		if (s->lens[i] == len && memcmp(s->keys[i], blob, len) == 0) {
			if (kid != NULL)
				snprintf(kid, JWT_KID_MAX + 1, "%s", s->kids[i]);
			return true;
		}
	return say(why, whylen, "the certificate's CA key is none of the cloud's Entra signing keys");
}

/* Write `text` to `path` atomically, 0644: sfile_write in its directory (temporary file, fsync, rename). */
static bool write_atomic(const char *path, const char *text, struct azmi_error *err)
{
	char dir[LOGIN_PATH_MAX], base[LOGIN_PATH_MAX];
	int dirfd, r;

	snprintf(dir, sizeof(dir), "%s", path);
	snprintf(base, sizeof(base), "%s", path);
	if ((dirfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = -errno;
	else {
		r = sfile_write(dirfd, basename(base), 0644, text, strlen(text));
		close(dirfd);
	}
	if (r != 0) {
		err_set(err, AZMI_ERR_SYSTEM, "ssh-ca", 0, "ssh-ca: cannot write %.300s: %s", path,
		        strerror(-r));
		return false;
	}
	return true;
}

const char *ssh_ca_outcome_name(enum ssh_ca_outcome o)
{
	return o == SSH_CA_FRESH ? "fresh" : o == SSH_CA_KEPT ? "kept" : "emptied";
}

/* The fetch failed: keep a good set younger than `keep`, else empty the file. */
static azmi_err after_failure(const struct ssh_ca_refresh_opts *o, int64_t now, enum ssh_ca_outcome *outcome,
                              size_t *nkeys, struct azmi_error *err)
{
	struct ssh_ca_set old;
	char why[300], *text;
	bool keep;

	keep = ssh_ca_load(o->path, &old, why, sizeof(why)) && old.n > 0 && old.fetched > 0 &&
	       now - old.fetched < o->keep && old.fetched <= now + 300;
	*nkeys = keep ? old.n : 0;
	ssh_ca_set_free(&old);
	if (keep) {
		*outcome = SSH_CA_KEPT;
		return AZMI_OK;
	}
	*outcome = SSH_CA_EMPTIED;
	snprintf(why, sizeof(why), "no key set fetched in the last %ld s (ssh_ca_keep): fail closed",
	         o->keep);
	if ((text = ssh_ca_render_empty(why)) == NULL)
		return err_set(err, AZMI_ERR_NOMEM, "ssh-ca", 0, "out of memory");
	if (!write_atomic(o->path, text, err)) {
		free(text);
		return err->code;
	}
	free(text);
	return AZMI_OK;
}

azmi_err ssh_ca_refresh(const struct ssh_ca_refresh_opts *o, enum ssh_ca_outcome *outcome, size_t *nkeys,
                        struct azmi_error *fetch_err, struct azmi_error *err)
{
	struct jwks_source src = {.authority = o->authority,
	                          .tenant = o->tenant,
	                          .cache_dir = NULL, /* always ask: the file itself is the last good set */
	                          .ca_file = o->ca_file,
	                          .proxy = o->proxy,
	                          .timeout_ms = o->timeout_ms,
	                          .now = o->now};
	int64_t now = o->now ? o->now : util_now();
	struct jwks *ks = NULL;
	char why[300], origin[LOGIN_PATH_MAX + 300], *text;
	bool ok;

	err_clear(err);
	err_clear(fetch_err);
	*nkeys = 0;
	*outcome = SSH_CA_EMPTIED;
	if (!dir_ok(o->path, why, sizeof(why)))
		return err_set(err, AZMI_ERR_CONFIG, "ssh-ca", 0, "ssh-ca: %s", why);
	if (jwks_load(&src, 2, false, &ks, NULL, fetch_err) != AZMI_OK)
		return after_failure(o, now, outcome, nkeys, err);
	snprintf(origin, sizeof(origin), "%s/%s/discovery/v2.0/keys", o->authority, o->tenant);
	text = ssh_ca_render(ks, now, origin);
	*nkeys = jwks_count(ks);
	jwks_free(ks);
	if (text == NULL)
		return err_set(err, AZMI_ERR_NOMEM, "ssh-ca", 0, "out of memory");
	ok = write_atomic(o->path, text, err);
	free(text);
	if (!ok)
		return err->code;
	*outcome = SSH_CA_FRESH;
	return AZMI_OK;
}

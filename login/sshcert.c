/* sshcert.c - OpenSSH RSA user certificates: bounded parse and CA signature check. */
#include "sshcert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/evp.h>

#include "rsa_pub.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BITS 8192
#define EXT_OID      "oid@sshservice.azure.net"
#define EXT_TID      "tid@sshservice.azure.net"

/* A cursor over SSH wire data: every read checks the bytes left. */
struct rd {
	const unsigned char *p;
	size_t len, off;
};

static bool rd_u32(struct rd *r, uint32_t *v)
{
	if (r->len - r->off < 4)
		return false;
	*v = (uint32_t)r->p[r->off] << 24 | (uint32_t)r->p[r->off + 1] << 16 |
	     (uint32_t)r->p[r->off + 2] << 8 | r->p[r->off + 3];
	r->off += 4;
	return true;
}

static bool rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (!rd_u32(r, &hi) || !rd_u32(r, &lo))
		return false;
	*v = (uint64_t)hi << 32 | lo;
	return true;
}

/* A string: its bytes stay in the buffer; *s points at them. */
static bool rd_str(struct rd *r, const unsigned char **s, size_t *n)
{
	uint32_t len;

	if (!rd_u32(r, &len) || len > r->len - r->off)
		return false;
	*s = r->p + r->off;
	*n = len;
	r->off += len;
	return true;
}

/* A string that must be printable ASCII text of fewer than `max` bytes, copied with its NUL. */
static bool rd_text(struct rd *r, char *dst, size_t max)
{
	const unsigned char *s;
	size_t n;

	if (!rd_str(r, &s, &n) || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

static bool str_is(const unsigned char *s, size_t n, const char *lit)
{
	return n == strlen(lit) && memcmp(s, lit, n) == 0;
}

static bool fail(char *why, size_t whylen, const char *text)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", text);
	return false;
}

/* An mpint that is a positive number of at most `maxbits`; its significant bits in *bits. */
static bool rd_mpint(struct rd *r, unsigned maxbits, const unsigned char **s, size_t *n, unsigned *bits)
{
	size_t i = 0;

	if (!rd_str(r, s, n) || *n == 0 || ((*s)[0] & 0x80) != 0)
		return false;
	while (i < *n && (*s)[i] == 0)
		i++;
	if (i == *n || i > 1 || (i == 1 && ((*s)[1] & 0x80) == 0)) /* zero, or not minimal */
		return false;
	*bits = (unsigned)(*n - i) * 8;
	for (unsigned char top = (*s)[i]; (top & 0x80) == 0; top = (unsigned char)(top << 1))
		(*bits)--;
	return *bits <= maxbits;
}

/* The principals: packed strings, each printable text, at least one. */
static bool parse_principals(const unsigned char *s, size_t n, struct sshcert *c)
{
	struct rd r = {s, n, 0};

	while (r.off < r.len) {
		if (c->nprincipals == SSHCERT_MAX_PRINCIPALS ||
		    !rd_text(&r, c->principals[c->nprincipals], SSHCERT_NAME_MAX) ||
		    c->principals[c->nprincipals][0] == '\0')
			return false;
		c->nprincipals++;
	}
	return c->nprincipals > 0;
}

/*
 * Critical options or extensions: (name, data) pairs, names in strictly
 * increasing order (so none twice, as PROTOCOL.certkeys requires).  Entra's
 * oid@ and tid@ values are an SSH string inside the data.
 */
static bool parse_options(const unsigned char *s, size_t n, bool ext, struct sshcert *c, size_t *count)
{
	struct rd r = {s, n, 0};
	const unsigned char *prev = NULL, *name, *data;
	size_t prevlen = 0, nlen, dlen;

	while (r.off < r.len) {
		if (++*count > SSHCERT_MAX_OPTIONS || !rd_str(&r, &name, &nlen) || nlen == 0 ||
		    !rd_str(&r, &data, &dlen))
			return false;
		if (prev != NULL) {
			int cmp = memcmp(prev, name, prevlen < nlen ? prevlen : nlen);
			if (cmp > 0 || (cmp == 0 && prevlen >= nlen))
				return false;
		}
		prev = name;
		prevlen = nlen;
		if (ext && (str_is(name, nlen, EXT_OID) || str_is(name, nlen, EXT_TID))) {
			struct rd d = {data, dlen, 0};
			char *dst = str_is(name, nlen, EXT_OID) ? c->ext_oid : c->ext_tid;
			if (!rd_text(&d, dst, SSHCERT_NAME_MAX) || d.off != d.len)
				return false;
		}
	}
	return true;
}

bool sshcert_parse(const unsigned char *blob, size_t len, struct sshcert *c, char *why, size_t whylen)
{
	struct rd r = {blob, len, 0};
	const unsigned char *s;
	size_t n, ext_count = 0;
	unsigned bits;

	memset(c, 0, sizeof(*c));
	if (blob == NULL || len == 0 || len > SSHCERT_MAX_BLOB)
		return fail(why, whylen, "certificate empty or over 8 KiB");
	memcpy(c->blob, blob, len);
	c->len = len;
	r.p = c->blob;
	if (!rd_str(&r, &s, &n) || !str_is(s, n, SSHCERT_TYPE))
		return fail(why, whylen, "not an " SSHCERT_TYPE " certificate");
	if (!rd_str(&r, &s, &n) || n < 16 || n > 64)
		return fail(why, whylen, "certificate nonce missing or over 64 bytes");
	if (!rd_mpint(&r, 64, &s, &n, &bits) || !rd_mpint(&r, RSA_MAX_BITS, &s, &n, &c->bits) ||
	    c->bits < RSA_MIN_BITS)
		return fail(why, whylen, "certified key is not an RSA key of 2048-8192 bits");
	if (!rd_u64(&r, &c->serial) || !rd_u32(&r, &c->type) || (c->type != 1 && c->type != 2))
		return fail(why, whylen, "certificate serial or type malformed");
	if (!rd_text(&r, c->key_id, SSHCERT_NAME_MAX))
		return fail(why, whylen, "key ID is not printable text under 256 bytes");
	if (!rd_str(&r, &s, &n) || !parse_principals(s, n, c))
		return fail(why, whylen, "principals missing, over 8, or not printable text under 256 bytes");
	if (!rd_u64(&r, &c->valid_after) || !rd_u64(&r, &c->valid_before))
		return fail(why, whylen, "validity dates missing");
	if (!rd_str(&r, &s, &n) || !parse_options(s, n, false, c, &c->ncritical))
		return fail(why, whylen, "critical options malformed, repeated or over 32");
	if (!rd_str(&r, &s, &n) || !parse_options(s, n, true, c, &ext_count))
		return fail(why, whylen, "extensions malformed, repeated or over 32");
	if (!rd_str(&r, &s, &n))
		return fail(why, whylen, "reserved field missing");
	c->ca_off = r.off + 4;
	if (!rd_str(&r, &s, &n) || n == 0)
		return fail(why, whylen, "CA key missing");
	c->ca_len = n;
	c->signed_len = r.off;
	c->sig_off = r.off + 4;
	if (!rd_str(&r, &s, &n) || n == 0)
		return fail(why, whylen, "signature missing");
	c->sig_len = n;
	if (r.off != r.len)
		return fail(why, whylen, "bytes after the signature");
	return true;
}

static int b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

unsigned char *sshcert_b64_decode(const char *in, size_t inlen, size_t max, size_t *outlen)
{
	unsigned char *out;
	size_t o = 0;

	if (inlen == 0 || inlen % 4 != 0 || inlen / 4 * 3 > max + 2 || (out = malloc(inlen / 4 * 3)) == NULL)
		return NULL;
	for (size_t i = 0; i < inlen; i += 4) {
		int v[4], pad = 0;
		for (int k = 0; k < 4; k++) {
			unsigned char ch = (unsigned char)in[i + k];
			v[k] = ch == '=' && i + 4 == inlen && k >= 2 ? 0 : b64_value(ch);
			if (ch == '=' && v[k] == 0)
				pad++;
			else if (pad > 0 || v[k] < 0)
				goto bad;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	if (o > max)
		goto bad;
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

bool sshcert_parse_text(const char *text, size_t len, struct sshcert *c, char *why, size_t whylen)
{
	const char *b = text, *end = text + len;
	unsigned char *raw;
	size_t rawlen = 0, blen;
	bool ok;

	while (b < end && (*b == ' ' || *b == '\t'))
		b++;
	blen = (size_t)(end - b);
	if (blen > strlen(SSHCERT_TYPE) && memcmp(b, SSHCERT_TYPE, strlen(SSHCERT_TYPE)) == 0 &&
	    (b[strlen(SSHCERT_TYPE)] == ' ' || b[strlen(SSHCERT_TYPE)] == '\t')) {
		b += strlen(SSHCERT_TYPE);
		while (b < end && (*b == ' ' || *b == '\t'))
			b++;
	}
	blen = 0;
	while (b + blen < end && b[blen] != ' ' && b[blen] != '\t' && b[blen] != '\n' && b[blen] != '\r')
		blen++;
	if ((raw = sshcert_b64_decode(b, blen, SSHCERT_MAX_BLOB, &rawlen)) == NULL)
		return fail(why, whylen, "certificate is not base64 text of at most 8 KiB");
	ok = sshcert_parse(raw, rawlen, c, why, whylen);
	free(raw);
	return ok;
}

/* An RSA public key from big-endian n and e. */
static EVP_PKEY *rsa_key(const unsigned char *e, size_t elen, const unsigned char *n, size_t nlen)
{
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL), *be = BN_bin2bn(e, (int)elen, NULL);
	EVP_PKEY *pkey = bn != NULL && be != NULL ? rsa_pub_from_ne(bn, be) : NULL;

	BN_free(bn);
	BN_free(be);
	return pkey;
}

/* The (e, n) of an "ssh-rsa" key blob of 2048-8192 bits with an odd exponent; false when not one. */
static bool rsa_fields(const unsigned char *blob, size_t len, const unsigned char **e, size_t *elen,
                       const unsigned char **n, size_t *nlen)
{
	struct rd r = {blob, len, 0};
	const unsigned char *s;
	size_t slen;
	unsigned ebits, nbits;

	return rd_str(&r, &s, &slen) && str_is(s, slen, "ssh-rsa") && rd_mpint(&r, 64, e, elen, &ebits) &&
	       ebits >= 2 && ((*e)[*elen - 1] & 1) && rd_mpint(&r, RSA_MAX_BITS, n, nlen, &nbits) &&
	       nbits >= RSA_MIN_BITS && r.off == r.len;
}

bool sshcert_rsa_key_ok(const unsigned char *blob, size_t len)
{
	const unsigned char *e, *n;
	size_t elen, nlen;

	return rsa_fields(blob, len, &e, &elen, &n, &nlen);
}

struct evp_pkey_st *sshcert_rsa_key(const unsigned char *blob, size_t len)
{
	const unsigned char *e, *n;
	size_t elen, nlen;

	if (!rsa_fields(blob, len, &e, &elen, &n, &nlen))
		return NULL;
	return rsa_key(e, elen, n, nlen);
}

bool sshcert_verify(const struct sshcert *c, char *why, size_t whylen)
{
	struct rd r = {c->blob + c->sig_off, c->sig_len, 0};
	const unsigned char *alg, *sig;
	unsigned char padded[RSA_MAX_BITS / 8];
	size_t alglen, siglen, modlen;
	const char *md;
	EVP_PKEY *ca = NULL;
	EVP_MD_CTX *mctx = NULL;
	bool ok = false;

	if (!rd_str(&r, &alg, &alglen) || !rd_str(&r, &sig, &siglen) || r.off != r.len)
		return fail(why, whylen, "signature malformed");
	if (str_is(alg, alglen, "rsa-sha2-256"))
		md = "SHA256";
	else if (str_is(alg, alglen, "rsa-sha2-512"))
		md = "SHA512";
	else
		return fail(why, whylen, "signature algorithm is not rsa-sha2-256 or rsa-sha2-512");
	if ((ca = sshcert_rsa_key(c->blob + c->ca_off, c->ca_len)) == NULL)
		return fail(why, whylen, "CA key is not an RSA key of 2048-8192 bits");
	modlen = (size_t)EVP_PKEY_get_size(ca);
	if (siglen == 0 || siglen > modlen || modlen > sizeof(padded)) {
		fail(why, whylen, "signature length does not match the CA key");
		goto out;
	}
	/* A signer may drop leading zero bytes (OpenSSH pads them back too). */
	memset(padded, 0, modlen - siglen);
	memcpy(padded + (modlen - siglen), sig, siglen);
	if ((mctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestVerifyInit_ex(mctx, NULL, md, NULL, NULL, ca, NULL) != 1 ||
	    EVP_DigestVerify(mctx, padded, modlen, c->blob, c->signed_len) != 1) {
		fail(why, whylen, "CA signature does not verify");
		goto out;
	}
	ok = true;
out:
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(ca);
	return ok;
}

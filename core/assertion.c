/* assertion.c - certificate-based client assertions signed with OpenSSL. */
#include "assertion.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "certfile.h"
#include "error.h"
#include "jwt.h"

static char *cert_b64(X509 *x, bool url, bool sha256)
{
	unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int len = i2d_X509(x, &der);
	char *out = NULL;

	if (len <= 0)
		return NULL;
	if (!sha256)
		out = jwt_b64_encode(der, (size_t)len, url);
	else if (EVP_Digest(der, (size_t)len, md, &mdlen, EVP_sha256(), NULL))
		out = jwt_b64_encode(md, mdlen, url);
	OPENSSL_free(der);
	return out;
}

static void uuid4(char out[37])
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		memset(b, 0, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
	         b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/* base64url of a JSON object's compact text. */
static char *json_part(struct json_object *o)
{
	const char *s =
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return s ? jwt_b64_encode((const unsigned char *)s, strlen(s), true) : NULL;
}

static char *signing_input(const struct certfile *p, bool send_chain, const char *client_id,
                           const char *audience, int64_t now)
{
	struct json_object *h = json_object_new_object(), *c = json_object_new_object(), *x5c;
	char jti[37], *x5t = cert_b64(p->certs[p->leaf], true, true), *hb = NULL, *cb = NULL, *out = NULL;

	uuid4(jti);
	if (h == NULL || c == NULL || x5t == NULL)
		goto out;
	json_object_object_add(h, "alg", json_object_new_string("PS256"));
	json_object_object_add(h, "typ", json_object_new_string("JWT"));
	json_object_object_add(h, "x5t#S256", json_object_new_string(x5t));
	if (send_chain) {
		x5c = json_object_new_array();
		/* Leaf first, then the rest in file order. */
		for (int i = -1; x5c && i < p->ncerts; i++) {
			char *b;
			if (i == p->leaf)
				continue;
			b = cert_b64(p->certs[i < 0 ? p->leaf : i], false, false);
			if (b)
				json_object_array_add(x5c, json_object_new_string(b));
			free(b);
		}
		json_object_object_add(h, "x5c", x5c);
	}
	json_object_object_add(c, "aud", json_object_new_string(audience));
	json_object_object_add(c, "iss", json_object_new_string(client_id));
	json_object_object_add(c, "sub", json_object_new_string(client_id));
	json_object_object_add(c, "jti", json_object_new_string(jti));
	json_object_object_add(c, "iat", json_object_new_int64(now));
	json_object_object_add(c, "nbf", json_object_new_int64(now));
	json_object_object_add(c, "exp", json_object_new_int64(now + ASSERTION_LIFETIME));
	if ((hb = json_part(h)) == NULL || (cb = json_part(c)) == NULL || asprintf(&out, "%s.%s", hb, cb) < 0)
		out = NULL;
out:
	json_object_put(h);
	json_object_put(c);
	free(x5t);
	free(hb);
	free(cb);
	return out;
}

static char *sign_ps256(EVP_PKEY *key, const char *input)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	char *b = NULL;

	if (md && EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, key) == 1 &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input, strlen(input)) == 1 &&
	    (sig = OPENSSL_malloc(siglen)) != NULL &&
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input, strlen(input)) == 1)
		b = jwt_b64_encode(sig, siglen, true);
	OPENSSL_free(sig);
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return b;
}

azmi_err assertion_sign(const char *cert_path, const char *password, bool send_chain, const char *client_id,
                        const char *audience, int64_t now, char **out, struct azmi_error *err)
{
	struct certfile p = {0};
	char *input = NULL, *sig = NULL;
	azmi_err r;

	*out = NULL;
	if ((r = certfile_load(cert_path, password, &p, err)) != AZMI_OK)
		goto out;
	r = err_set(err, AZMI_ERR_SYSTEM, "environment", 0,
	            "environment: signing the client assertion failed");
	if ((input = signing_input(&p, send_chain, client_id, audience, now)) == NULL ||
	    (sig = sign_ps256(p.key, input)) == NULL)
		goto out;
	if (asprintf(out, "%s.%s", input, sig) < 0) {
		*out = NULL;
		goto out;
	}
	err_clear(err);
	r = AZMI_OK;
out:
	certfile_free(&p);
	free(input);
	free(sig);
	return r;
}

/* certfile.c - reading a certificate and its private key from PEM or PKCS#12. */
#include "certfile.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>

#include "error.h"
#include "fileio.h"

void certfile_free(struct certfile *cf)
{
	EVP_PKEY_free(cf->key);
	for (int i = 0; i < cf->ncerts; i++)
		X509_free(cf->certs[i]);
	memset(cf, 0, sizeof(*cf));
}

static int password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *pw = u;
	size_t len = pw ? strlen(pw) : 0;

	(void)rwflag;
	if ((int)len >= size)
		return -1;
	memcpy(buf, pw ? pw : "", len);
	return (int)len;
}

static azmi_err pem_parse(const char *data, size_t len, const char *password, const char *what,
                          struct certfile *cf, struct azmi_error *err)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	X509 *x;

	while (bio && cf->ncerts < CERTFILE_MAX_CHAIN &&
	       (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		cf->certs[cf->ncerts++] = x;
	BIO_free(bio);
	ERR_clear_error();
	bio = BIO_new_mem_buf(data, (int)len);
	cf->key = bio ? PEM_read_bio_PrivateKey(bio, NULL, password_cb, (void *)(uintptr_t)password) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (cf->key == NULL)
		return err_set(err, AZMI_ERR_CONFIG, "environment", 0,
		               "environment: no usable private key in %s (%s)", what,
		               password ? "is AZURE_CLIENT_CERTIFICATE_PASSWORD right?"
		                        : "encrypted? set AZURE_CLIENT_CERTIFICATE_PASSWORD");
	return AZMI_OK;
}

/* Key, its certificate and the others (chain) from a PKCS#12 file; the password is checked first. */
static azmi_err p12_parse(const char *data, size_t len, const char *password, const char *what,
                          struct certfile *cf, struct azmi_error *err)
{
	const unsigned char *p = (const unsigned char *)data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	STACK_OF(X509) *ca = NULL;
	X509 *cert = NULL;
	azmi_err r = AZMI_ERR_CONFIG;

	if (p12 == NULL || p != (const unsigned char *)data + len) {
		err_set(err, r, "environment", 0, "environment: %s is neither PEM nor PKCS#12 (.pfx/.p12)",
		        what);
		goto out;
	}
	/* NULL stands for "no password": OpenSSL then tries both an empty and an absent one. */
	if (PKCS12_mac_present(p12) && !PKCS12_verify_mac(p12, password, -1) &&
	    (password != NULL || !PKCS12_verify_mac(p12, "", 0))) {
		err_set(err, r, "environment", 0, "environment: %s: %s", what,
		        password
		            ? "AZURE_CLIENT_CERTIFICATE_PASSWORD is not this PKCS#12 file's password"
		            : "this PKCS#12 file needs a password: set AZURE_CLIENT_CERTIFICATE_PASSWORD");
		goto out;
	}
	if (!PKCS12_parse(p12, password, &cf->key, &cert, &ca) || cf->key == NULL || cert == NULL) {
		err_set(err, r, "environment", 0,
		        "environment: %s: cannot decrypt this PKCS#12 file's key and certificate (a legacy "
		        "cipher such as RC2-40? re-export it with AES, or convert it to PEM)",
		        what);
		goto out;
	}
	cf->certs[cf->ncerts++] = cert;
	cert = NULL;
	while (ca && sk_X509_num(ca) > 0 && cf->ncerts < CERTFILE_MAX_CHAIN)
		cf->certs[cf->ncerts++] = sk_X509_shift(ca);
	r = AZMI_OK;
out:
	X509_free(cert);
	sk_X509_pop_free(ca, X509_free);
	PKCS12_free(p12);
	ERR_clear_error();
	return r;
}

azmi_err certfile_parse(const char *data, size_t len, const char *password, const char *what,
                        struct certfile *out, struct azmi_error *err)
{
	struct certfile cf = {0};
	azmi_err r;

	memset(out, 0, sizeof(*out));
	if (len > CERTFILE_MAX)
		return err_set(err, AZMI_ERR_CONFIG, "environment", 0,
		               "environment: %s is larger than 256 KiB", what);
	if (memmem(data, len, "-----BEGIN", 10) != NULL)
		r = pem_parse(data, len, password, what, &cf, err);
	else
		r = p12_parse(data, len, password, what, &cf, err);
	if (r != AZMI_OK)
		goto fail;
	r = AZMI_ERR_CONFIG;
	if (EVP_PKEY_base_id(cf.key) != EVP_PKEY_RSA) {
		err_set(err, r, "environment", 0,
		        "environment: the key in %s is not an RSA key; Entra certificate credentials use RSA",
		        what);
		goto fail;
	}
	for (cf.leaf = 0; cf.leaf < cf.ncerts; cf.leaf++)
		if (X509_check_private_key(cf.certs[cf.leaf], cf.key) == 1)
			break;
	ERR_clear_error();
	if (cf.leaf == cf.ncerts) {
		err_set(err, r, "environment", 0,
		        "environment: %s holds no certificate matching its private key", what);
		goto fail;
	}
	*out = cf;
	return AZMI_OK;
fail:
	certfile_free(&cf);
	return r;
}

azmi_err certfile_load(const char *path, const char *password, struct certfile *out, struct azmi_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int e = fileio_read(path, CERTFILE_MAX, true, &text, &len);
	azmi_err r;

	memset(out, 0, sizeof(*out));
	if (e != 0)
		return err_set(err, AZMI_ERR_CONFIG, "environment", 0,
		               "environment: cannot read AZURE_CLIENT_CERTIFICATE_PATH %s: %s", path,
		               e == -EFBIG    ? "larger than 256 KiB"
		               : e == -EINVAL ? "not a regular file"
		                              : strerror(-e));
	r = certfile_parse(text, len, password, path, out, err);
	explicit_bzero(text, len);
	free(text);
	return r;
}

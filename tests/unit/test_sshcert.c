/*
 * test_sshcert.c - Entra SSH certificates: the bounded parser, the CA
 * signature check, the JWKS -> TrustedUserCAKeys conversion and its parser,
 * the tenant/object id/principal binding, SSH_AUTH_INFO_0 and the ticket.
 * Certificates are built here field by field and signed with OpenSSL, so
 * each row changes exactly one thing.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "jwt.h"
#include "jwt_verify.h"
#include "login_conf.h"
#include "ssh_ca.h"
#include "ssh_login.h"
#include "ssh_ticket.h"
#include "sshcert.h"

#define TENANT "72f988bf-86f1-41af-91ab-2d7cd011db47"
#define OTHER  "11111111-2222-4333-8444-555555555555"
#define OID    "0f0f0f0f-1111-4222-8333-444455556666"
#define NOW    1800000000LL

static EVP_PKEY *ca_key, *user_key, *other_key;

/* A growing byte buffer for SSH wire data. */
struct wb {
	unsigned char d[SSHCERT_MAX_BLOB * 2];
	size_t n;
};

static void put_u32(struct wb *b, uint32_t v)
{
	b->d[b->n++] = (unsigned char)(v >> 24);
	b->d[b->n++] = (unsigned char)(v >> 16);
	b->d[b->n++] = (unsigned char)(v >> 8);
	b->d[b->n++] = (unsigned char)v;
}

static void put_u64(struct wb *b, uint64_t v)
{
	put_u32(b, (uint32_t)(v >> 32));
	put_u32(b, (uint32_t)v);
}

static void put_bytes(struct wb *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	memcpy(b->d + b->n, p, n);
	b->n += n;
}

static void put_cstr(struct wb *b, const char *s)
{
	put_bytes(b, s, strlen(s));
}

static void put_bn(struct wb *b, const EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char raw[1100];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(k, name, &bn), 1);
	raw[0] = 0;
	n = BN_bn2bin(bn, raw + 1);
	BN_free(bn);
	if (raw[1] & 0x80)
		put_bytes(b, raw, (size_t)n + 1);
	else
		put_bytes(b, raw + 1, (size_t)n);
}

static void put_pubkey(struct wb *b, const EVP_PKEY *k)
{
	struct wb key = {.n = 0};

	put_cstr(&key, "ssh-rsa");
	put_bn(&key, k, OSSL_PKEY_PARAM_RSA_E);
	put_bn(&key, k, OSSL_PKEY_PARAM_RSA_N);
	put_bytes(b, key.d, key.n);
}

/* What a test certificate holds; each row of a table changes one field. */
struct spec {
	const char *key_id, *principal, *principal2, *ext_oid, *ext_tid, *alg;
	uint32_t type;
	int64_t after, before;
	EVP_PKEY *signer;   /* the key that signs */
	EVP_PKEY *ca_named; /* the CA key written into the certificate */
	bool dup_ext, trailing, flip_sig;
};

static void default_spec(struct spec *s)
{
	memset(s, 0, sizeof(*s));
	s->key_id = OID "@" TENANT;
	s->principal = "Alice@Contoso.com";
	s->ext_oid = OID;
	s->ext_tid = TENANT;
	s->alg = "rsa-sha2-256";
	s->type = 1;
	s->after = NOW - 300;
	s->before = NOW + 3600;
	s->signer = ca_key;
	s->ca_named = ca_key;
}

static void put_ext(struct wb *b, const char *name, const char *value)
{
	struct wb v = {.n = 0};

	put_cstr(b, name);
	if (value == NULL) {
		put_bytes(b, "", 0);
		return;
	}
	put_cstr(&v, value);
	put_bytes(b, v.d, v.n);
}

/* The certificate blob of `s` (malloc'd wb). */
static struct wb *build(const struct spec *s)
{
	struct wb *b = calloc(1, sizeof(*b)), prin = {.n = 0}, ext = {.n = 0}, sig = {.n = 0};
	unsigned char nonce[32] = {1}, raw[1100];
	size_t rawlen = sizeof(raw);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	put_cstr(b, SSHCERT_TYPE);
	put_bytes(b, nonce, sizeof(nonce));
	put_bn(b, user_key, OSSL_PKEY_PARAM_RSA_E);
	put_bn(b, user_key, OSSL_PKEY_PARAM_RSA_N);
	put_u64(b, 0);
	put_u32(b, s->type);
	put_cstr(b, s->key_id);
	put_cstr(&prin, s->principal);
	if (s->principal2)
		put_cstr(&prin, s->principal2);
	put_bytes(b, prin.d, prin.n);
	put_u64(b, (uint64_t)s->after);
	put_u64(b, (uint64_t)s->before);
	put_bytes(b, "", 0); /* critical options */
	put_ext(&ext, "displayname@sshservice.azure.net", "Alice");
	if (s->ext_oid)
		put_ext(&ext, "oid@sshservice.azure.net", s->ext_oid);
	if (s->dup_ext)
		put_ext(&ext, "oid@sshservice.azure.net", s->ext_oid);
	put_ext(&ext, "permit-pty", NULL);
	if (s->ext_tid)
		put_ext(&ext, "tid@sshservice.azure.net", s->ext_tid);
	put_bytes(b, ext.d, ext.n);
	put_bytes(b, "", 0); /* reserved */
	put_pubkey(b, s->ca_named);
	assert_int_equal(EVP_DigestSignInit(md, NULL,
	                                    strcmp(s->alg, "rsa-sha2-512") == 0 ? EVP_sha512()
	                                    : strcmp(s->alg, "ssh-rsa") == 0    ? EVP_sha1()
	                                                                        : EVP_sha256(),
	                                    NULL, s->signer),
	                 1);
	assert_int_equal(EVP_DigestSign(md, raw, &rawlen, b->d, b->n), 1);
	EVP_MD_CTX_free(md);
	if (s->flip_sig)
		raw[10] ^= 1;
	put_cstr(&sig, s->alg);
	put_bytes(&sig, raw, rawlen);
	put_bytes(b, sig.d, sig.n);
	if (s->trailing)
		b->d[b->n++] = 0;
	return b;
}

static EVP_PKEY *rsa(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);

	assert_non_null(k);
	return k;
}

static int setup(void **state)
{
	(void)state;
	ca_key = rsa(2048);
	user_key = rsa(2048);
	other_key = rsa(2048);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(user_key);
	EVP_PKEY_free(other_key);
	return 0;
}

/* A JWKS document with `k` as kid `kid` (n, e base64url). */
static char *jwks_of(const EVP_PKEY *k, const char *kid)
{
	BIGNUM *n = NULL, *e = NULL;
	unsigned char nb[1100], eb[16];
	int nl, el;
	char *n64, *e64, *out = NULL;

	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_E, &e);
	nl = BN_bn2bin(n, nb);
	el = BN_bn2bin(e, eb);
	n64 = jwt_b64_encode(nb, (size_t)nl, true);
	e64 = jwt_b64_encode(eb, (size_t)el, true);
	assert_true(
	    asprintf(&out,
	             "{\"keys\":[{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"},"
	             "{\"kty\":\"EC\",\"kid\":\"ec1\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}",
	             kid, n64, e64) > 0);
	BN_free(n);
	BN_free(e);
	free(n64);
	free(e64);
	return out;
}

/* The CA set of `k` rendered (fetched at `fetched`) and parsed back. */
static void ca_set_of(const EVP_PKEY *k, int64_t fetched, struct ssh_ca_set *out)
{
	char *doc = jwks_of(k, "kid/1 x"), *text, why[200] = "";
	struct jwks *ks = jwks_parse(doc, strlen(doc), why, sizeof(why));

	assert_non_null(ks);
	text = ssh_ca_render(ks, fetched, "https://login.example/" TENANT "/discovery/v2.0/keys");
	assert_non_null(text);
	assert_true(ssh_ca_parse(text, strlen(text), out, why, sizeof(why)));
	assert_int_equal(out->n, 1);
	assert_int_equal(out->fetched, fetched);
	assert_string_equal(out->kids[0], "kid_1_x");
	free(text);
	free(doc);
	jwks_free(ks);
}

static void conf_of(struct login_conf *c)
{
	char why[200];

	login_conf_init(c);
	assert_int_equal(login_conf_set(c, "allowed_domains", "contoso.com", why, sizeof(why)), LCONF_OK);
	assert_int_equal(login_conf_set(c, "tenant", TENANT, why, sizeof(why)), LCONF_OK);
	assert_int_equal(login_conf_set(c, "ssh_ca_keep", "3600", why, sizeof(why)), LCONF_OK);
}

static void test_parse_good(void **state)
{
	struct spec s;
	struct wb *b;
	struct sshcert *c = malloc(sizeof(*c));
	char why[200] = "", *b64, *line = NULL;

	(void)state;
	default_spec(&s);
	b = build(&s);
	assert_true(sshcert_parse(b->d, b->n, c, why, sizeof(why)));
	assert_string_equal(c->key_id, OID "@" TENANT);
	assert_int_equal(c->nprincipals, 1);
	assert_string_equal(c->principals[0], "Alice@Contoso.com");
	assert_string_equal(c->ext_oid, OID);
	assert_string_equal(c->ext_tid, TENANT);
	assert_int_equal(c->valid_after, NOW - 300);
	assert_int_equal(c->bits, 2048);
	assert_true(sshcert_verify(c, why, sizeof(why)));
	/* the text forms: bare base64, "TYPE BASE64 comment" */
	b64 = jwt_b64_encode(b->d, b->n, false);
	assert_true(sshcert_parse_text(b64, strlen(b64), c, why, sizeof(why)));
	assert_true(asprintf(&line, "%s %s alice@laptop\n", SSHCERT_TYPE, b64) > 0);
	assert_true(sshcert_parse_text(line, strlen(line), c, why, sizeof(why)));
	free(line);
	free(b64);
	free(b);
	free(c);
}

/* Each row: one thing wrong; the parser or the signature check refuses it. */
static void test_parse_bad(void **state)
{
	struct sshcert *c = malloc(sizeof(*c));
	int fails = 0;

	(void)state;
	for (int row = 0; row < 6; row++) {
		struct spec s;
		struct wb *b;
		char why[200] = "";
		bool parsed, verified = false;
		default_spec(&s);
		switch (row) {
		case 0:
			s.dup_ext = true;
			break;
		case 1:
			s.trailing = true;
			break;
		case 2:
			s.principal = "bad\nname";
			break;
		case 3:
			s.flip_sig = true;
			break;
		case 4:
			s.alg = "ssh-rsa";
			break;
		case 5:
			s.signer = other_key;
			break; /* signed by another key than the one it names */
		}
		b = build(&s);
		parsed = sshcert_parse(b->d, b->n, c, why, sizeof(why));
		if (parsed)
			verified = sshcert_verify(c, why, sizeof(why));
		CHECK(fails, !verified && why[0] != '\0', "row %d (%s)", row, why);
		free(b);
	}
	/* truncated at every length: never accepted, never read past the end */
	{
		struct spec s;
		struct wb *b;
		char why[200];
		default_spec(&s);
		b = build(&s);
		for (size_t n = 0; n < b->n; n++)
			CHECK(fails, !sshcert_parse(b->d, n, c, why, sizeof(why)), "truncated at %zu", n);
		free(b);
	}
	{
		size_t len = 0;
		unsigned char *raw = sshcert_b64_decode("QUJD", 4, 16, &len);
		CHECK(fails, raw != NULL && len == 3 && memcmp(raw, "ABC", 3) == 0, "b64 ABC");
		free(raw);
		CHECK(fails, sshcert_b64_decode("QUJ", 3, 16, &len) == NULL, "b64 unpadded");
		CHECK(fails, sshcert_b64_decode("Q=JD", 4, 16, &len) == NULL, "b64 inner pad");
		CHECK(fails, sshcert_b64_decode("QUJDRA==", 8, 3, &len) == NULL, "b64 over max");
	}
	free(c);
	TABLE_DONE(fails);
}

/* The binding: each row one field, the expected check name. */
static void test_binding(void **state)
{
	static const struct {
		const char *user, *key_id, *ext_oid, *ext_tid, *principal2;
		int64_t before;
		bool foreign_ca, ok;
		const char *check;
	} rows[] = {
	    {"alice@contoso.com", NULL, NULL, NULL, NULL, 0, false, true, ""},
	    {"ALICE@CONTOSO.COM", NULL, NULL, NULL, NULL, 0, false, true, ""},
	    {"bob@contoso.com", NULL, NULL, NULL, NULL, 0, false, false, "principal"},
	    {"alice@contoso.com", OID "@" OTHER, NULL, OTHER, NULL, 0, false, false, "tenant"},
	    {"alice@contoso.com", NULL, NULL, OTHER, NULL, 0, false, false, "tenant"},
	    {"alice@contoso.com", NULL, "0f0f0f0f-1111-4222-8333-000000000000", NULL, NULL, 0, false, false,
	     "oid"},
	    {"alice@contoso.com", "alice@" TENANT, NULL, NULL, NULL, 0, false, false, "key-id"},
	    {"alice@contoso.com", OID, NULL, NULL, NULL, 0, false, false, "key-id"},
	    {"alice@contoso.com", NULL, NULL, NULL, "bob@contoso.com", 0, false, false, "principal"},
	    {"alice@contoso.com", NULL, NULL, NULL, NULL, NOW - 1, false, false, "dates"},
	    {"alice@contoso.com", NULL, NULL, NULL, NULL, 0, true, false, "ca"},
	    {"root", NULL, NULL, NULL, NULL, 0, false, false, "principal"},
	};
	struct login_conf conf;
	struct ssh_ca_set cas;
	struct sshcert *c = malloc(sizeof(*c));
	struct ssh_login_check *r = malloc(sizeof(*r));
	int fails = 0;

	(void)state;
	conf_of(&conf);
	ca_set_of(ca_key, NOW - 60, &cas);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct spec s;
		struct wb *b;
		char why[200];
		bool ok;
		default_spec(&s);
		if (rows[i].key_id)
			s.key_id = rows[i].key_id;
		if (rows[i].ext_oid)
			s.ext_oid = rows[i].ext_oid;
		if (rows[i].ext_tid)
			s.ext_tid = rows[i].ext_tid;
		s.principal2 = rows[i].principal2;
		if (rows[i].before)
			s.before = rows[i].before;
		if (rows[i].foreign_ca)
			s.signer = s.ca_named = other_key;
		b = build(&s);
		assert_true(sshcert_parse(b->d, b->n, c, why, sizeof(why)));
		ok = ssh_login_check(&conf, rows[i].user, -1, c, &cas, NOW, true, r);
		CHECK(fails, ok == rows[i].ok && strcmp(r->check, rows[i].check) == 0,
		      "row %zu: ok=%d check=%s (%s)", i, ok, r->check, r->reason);
		if (ok)
			CHECK(fails,
			      strcmp(r->principal, "Alice@Contoso.com") == 0 && strcmp(r->oid, OID) == 0,
			      "row %zu: printed exactly as issued", i);
		free(b);
	}
	/* a principal sshd would split into options and a name: refused */
	{
		struct spec s;
		struct wb *b;
		char why[200];
		default_spec(&s);
		s.principal = "command=\"/bin/sh\" alice@contoso.com";
		b = build(&s);
		assert_true(sshcert_parse(b->d, b->n, c, why, sizeof(why)));
		CHECK(fails,
		      !ssh_login_check(&conf, "alice@contoso.com", -1, c, &cas, NOW, true, r) &&
		          strcmp(r->check, "principal") == 0,
		      "principal with a blank (%s)", r->reason);
		free(b);
	}
	/* no tenant configured: nothing can be bound, refused */
	{
		struct spec s;
		struct wb *b;
		char why[200];
		default_spec(&s);
		b = build(&s);
		conf.tenant[0] = '\0';
		assert_true(sshcert_parse(b->d, b->n, c, why, sizeof(why)));
		CHECK(fails, !ssh_login_check(&conf, "alice@contoso.com", -1, c, &cas, NOW, true, r),
		      "no tenant");
		free(b);
	}
	ssh_ca_set_free(&cas);
	free(c);
	free(r);
	TABLE_DONE(fails);
}

/* The set's age: trusted within ssh_ca_keep, not after; an emptied file trusts nothing. */
static void test_ca_age_and_empty(void **state)
{
	struct ssh_ca_set cas;
	struct spec s;
	struct wb *b;
	struct sshcert *c = malloc(sizeof(*c));
	char why[300], *text;
	int fails = 0;

	(void)state;
	default_spec(&s);
	b = build(&s);
	assert_true(sshcert_parse(b->d, b->n, c, why, sizeof(why)));
	ca_set_of(ca_key, NOW - 3599, &cas);
	CHECK(fails, ssh_ca_trusts(&cas, c->blob + c->ca_off, c->ca_len, NOW, 3600, NULL, why, sizeof(why)),
	      "fresh");
	CHECK(fails,
	      !ssh_ca_trusts(&cas, c->blob + c->ca_off, c->ca_len, NOW + 1, 3600, NULL, why, sizeof(why)),
	      "past keep");
	CHECK(fails, ssh_ca_has(&cas, c->blob + c->ca_off, c->ca_len), "has, whatever the age");
	ssh_ca_set_free(&cas);
	text = ssh_ca_render_empty("test");
	CHECK(fails,
	      ssh_ca_parse(text, strlen(text), &cas, why, sizeof(why)) && cas.n == 0 && cas.fetched == 0,
	      "empty file");
	CHECK(fails, !ssh_ca_trusts(&cas, c->blob + c->ca_off, c->ca_len, NOW, 3600, NULL, why, sizeof(why)),
	      "empty trusts nothing");
	free(text);
	{
		static const char *const bad[] = {
		    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ comment\n",
		    "ssh-rsa AAAA!!!\n",
		    "# fetched soon\n",
		    "garbage\n",
		    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAAQC=\n", /* a 1-byte modulus */
		};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			CHECK(fails, !ssh_ca_parse(bad[i], strlen(bad[i]), &cas, why, sizeof(why)),
			      "bad line %zu", i);
	}
	free(b);
	free(c);
	TABLE_DONE(fails);
}

/* SSH_AUTH_INFO_0 and the ticket a principals command leaves. */
static void test_auth_info_and_ticket(void **state)
{
	struct spec s;
	struct wb *b;
	struct sshcert *c = malloc(sizeof(*c));
	char why[300], *b64, *info = NULL, *dir = unit_tmpdir();
	int fails = 0;

	(void)state;
	default_spec(&s);
	b = build(&s);
	b64 = jwt_b64_encode(b->d, b->n, false);
	assert_true(asprintf(&info, "publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\npublickey %s %s\n",
	                     SSHCERT_TYPE, b64) > 0);
	CHECK(fails,
	      ssh_login_from_auth_info(info, c, why, sizeof(why)) == 1 && strcmp(c->key_id, s.key_id) == 0,
	      "a certificate among the methods (%s)", why);
	CHECK(fails,
	      ssh_login_from_auth_info("publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\n", c, why, sizeof(why)) ==
	          0,
	      "a plain key: none");
	CHECK(fails, ssh_login_from_auth_info("", c, why, sizeof(why)) == 0, "empty: none");
	free(info);
	assert_true(
	    asprintf(&info, "publickey %s %s\npublickey %s %s\n", SSHCERT_TYPE, b64, SSHCERT_TYPE, b64) > 0);
	CHECK(fails, ssh_login_from_auth_info(info, c, why, sizeof(why)) == -1, "two certificates: refused");
	free(info);
	CHECK(fails, ssh_ticket_write(dir, "alice@contoso.com", b64, why, sizeof(why)), "ticket written (%s)",
	      why);
	CHECK(fails,
	      ssh_ticket_read(dir, "alice@contoso.com", c, why, sizeof(why)) &&
	          strcmp(c->key_id, s.key_id) == 0,
	      "ticket read back (%s)", why);
	CHECK(fails, !ssh_ticket_read(dir, "bob@contoso.com", c, why, sizeof(why)),
	      "no ticket for another name");
	chmod(dir, 0755);
	CHECK(fails, !ssh_ticket_write(dir, "alice@contoso.com", b64, why, sizeof(why)),
	      "not written to a 0755 dir");
	unit_rmtree(dir);
	free(dir);
	free(b64);
	free(b);
	free(c);
	TABLE_DONE(fails);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_good),
	    cmocka_unit_test(test_parse_bad),
	    cmocka_unit_test(test_binding),
	    cmocka_unit_test(test_ca_age_and_empty),
	    cmocka_unit_test(test_auth_info_and_ticket),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

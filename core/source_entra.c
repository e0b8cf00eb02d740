/*
 * source_entra.c - Entra's token endpoint with client credentials: the
 * environment's service principal (secret or certificate) and workload
 * identity (a federated Kubernetes token as the client assertion).
 * POST {authority}/{tenant}/oauth2/v2.0/token, https only, through the
 * environment's proxy like any remote request.
 */
#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "error.h"
#include "fileio.h"
#include "retry.h"
#include "util.h"

#define JWT_BEARER          "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
#define FEDERATED_TOKEN_MAX (64 * 1024)

/* Tenants and client ids go into a URL path: GUIDs or domain names only. */
static bool plain_id(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 256)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
			return false;
	return true;
}

/* Common part: URL, form fields before the credential, proxy and retry rules. */
static azmi_err entra_begin(const char *name, const struct settings *s, const char *resource,
                            struct src_request *out, char **form, struct azmi_error *err)
{
	char *scope = NULL, *escope = NULL, *cid = NULL;
	size_t len = strlen(resource);
	azmi_err r = AZMI_ERR_NOMEM;

	if (!plain_id(s->tenant_id) || !plain_id(s->azure_client_id))
		return err_set(err, AZMI_ERR_CONFIG, name, 0,
		               "%s: AZURE_TENANT_ID and AZURE_CLIENT_ID must be GUIDs or domain names", name);
	while (len > 0 && resource[len - 1] == '/')
		len--;
	out->method = "POST";
	out->use_proxy = true;
	out->kind = EP_ENTRA;
	if (asprintf(&out->url, "%s/%s/oauth2/v2.0/token", s->authority_host, s->tenant_id) < 0) {
		out->url = NULL;
		goto out;
	}
	if ((out->display_url = strdup(out->url)) == NULL)
		goto out;
	if (asprintf(&scope, "%.*s/.default", (int)len, resource) < 0) {
		scope = NULL;
		goto out;
	}
	if ((escope = http_escape(scope)) == NULL || (cid = http_escape(s->azure_client_id)) == NULL)
		goto out;
	if (asprintf(form, "grant_type=client_credentials&client_id=%s&scope=%s", cid, escope) < 0) {
		*form = NULL;
		goto out;
	}
	if (src_request_header(out, "Content-Type", "application/x-www-form-urlencoded") != AZMI_OK)
		goto out;
	r = AZMI_OK;
out:
	free(scope);
	free(escope);
	free(cid);
	if (r != AZMI_OK)
		err_set(err, r, name, 0, "out of memory building the request");
	return r;
}

/* Append "&name=<escaped value>" to the form as the request body; the value is a secret. */
static azmi_err entra_finish(const char *name, struct src_request *out, char *form, const char *field,
                             const char *value, struct azmi_error *err)
{
	char *ev = http_escape(value);
	int n = ev ? asprintf(&out->body, "%s%s%s", form, field, ev) : -1;

	util_free_secret(ev);
	util_free_secret(form);
	if (n < 0) {
		out->body = NULL;
		return err_set(err, AZMI_ERR_NOMEM, name, 0, "out of memory building the request");
	}
	return AZMI_OK;
}

static azmi_err secret_build(const struct settings *s, const struct identity *id, const char *resource,
                             struct src_request *out, struct azmi_error *err)
{
	char *form = NULL;
	azmi_err r;

	(void)id;
	if ((r = entra_begin("environment", s, resource, out, &form, err)) != AZMI_OK)
		return r;
	return entra_finish("environment", out, form, "&client_secret=", s->client_secret, err);
}

static azmi_err cert_build(const struct settings *s, const struct identity *id, const char *resource,
                           struct src_request *out, struct azmi_error *err)
{
	char *form = NULL, *jwt = NULL;
	azmi_err r;

	(void)id;
	if ((r = entra_begin("environment", s, resource, out, &form, err)) != AZMI_OK)
		return r;
	if ((r = assertion_sign(s->client_cert_path, s->client_cert_password, s->send_cert_chain,
	                        s->azure_client_id, out->url, util_now(), &jwt, err)) != AZMI_OK) {
		util_free_secret(form);
		return r;
	}
	r = entra_finish("environment", out, form,
	                 "&client_assertion_type=" JWT_BEARER "&client_assertion=", jwt, err);
	util_free_secret(jwt);
	return r;
}

/* The federated token is re-read at every request: Kubernetes rotates it. */
static azmi_err wi_build(const struct settings *s, const struct identity *id, const char *resource,
                         struct src_request *out, struct azmi_error *err)
{
	char *form = NULL, *tok = NULL;
	size_t len = 0, start = 0;
	azmi_err r;
	int e;

	(void)id;
	e = fileio_read(s->federated_token_file, FEDERATED_TOKEN_MAX, true, &tok, &len);
	if (e != 0)
		return err_set(err, AZMI_ERR_UNAVAILABLE, "workload_identity", 0,
		               "workload_identity: cannot read AZURE_FEDERATED_TOKEN_FILE %s: %s",
		               s->federated_token_file,
		               e == -EFBIG    ? "larger than 64 KiB"
		               : e == -EINVAL ? "not a regular file"
		                              : strerror(-e));
	while (len > 0 && isspace((unsigned char)tok[len - 1]))
		tok[--len] = '\0';
	while (start < len && isspace((unsigned char)tok[start]))
		start++;
	if (start == len || !util_is_printable(tok + start, len - start)) {
		util_free_secret(tok);
		return err_set(err, AZMI_ERR_UNAVAILABLE, "workload_identity", 0,
		               "workload_identity: %s is %s", s->federated_token_file,
		               start == len ? "empty" : "not a token (control characters)");
	}
	if ((r = entra_begin("workload_identity", s, resource, out, &form, err)) == AZMI_OK)
		r = entra_finish("workload_identity", out, form,
		                 "&client_assertion_type=" JWT_BEARER "&client_assertion=", tok + start, err);
	util_free_secret(tok);
	return r;
}

static void entra_hint(long status, struct azmi_error *err)
{
	if (status == 400)
		err_append(
		    err, "hint: Entra found the request invalid: check AZURE_TENANT_ID, AZURE_CLIENT_ID and "
		         "the resource");
	else if (status == 401)
		err_append(
		    err, "hint: Entra refused the client credential: a wrong or expired secret, a "
		         "certificate not uploaded to the app registration, or a federated credential whose "
		         "issuer/subject does not match");
	else if (status == 429 || status >= 500)
		err_append(err, "hint: Entra is throttling or failing; try again later");
}

const struct source source_entra_secret = {
    .name = "environment",
    .title = "service principal with a client secret (AZURE_CLIENT_SECRET)",
    .build = secret_build,
    .hint = entra_hint,
};

const struct source source_entra_cert = {
    .name = "environment",
    .title = "service principal with a certificate (AZURE_CLIENT_CERTIFICATE_PATH)",
    .build = cert_build,
    .hint = entra_hint,
};

const struct source source_entra_wi = {
    .name = "workload_identity",
    .title = "workload identity (AZURE_FEDERATED_TOKEN_FILE)",
    .build = wi_build,
    .hint = entra_hint,
};

/* acr.c - Container Registry tokens: the Entra token exchange, the refresh-token cache, scoped tokens. */
#include "acr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache_file.h"
#include "ctx.h"
#include "error.h"
#include "http.h"
#include "json.h"
#include "jwt.h"
#include "exchange.h"
#include "token.h"
#include "util.h"

#define REGISTRY_AUDIENCE "https://containerregistry.azure.net/"
#define MAX_CLAIM         128

/* The Resource Manager audience of the registry's cloud, from its suffix. */
static const char *arm_audience(const char *registry)
{
	size_t len = strlen(registry);

	if (len > 11 && strcmp(registry + len - 11, ".azurecr.us") == 0)
		return "https://management.usgovcloudapi.net/";
	if (len > 11 && strcmp(registry + len - 11, ".azurecr.cn") == 0)
		return "https://management.chinacloudapi.cn/";
	return "https://management.azure.com/";
}

/* Who the Entra token speaks for: the exchange needs the tenant; the cache keys on tenant and object id. */
struct who {
	char tid[MAX_CLAIM];
	char oid[MAX_CLAIM];
	char key_id[2 * MAX_CLAIM + 2];
};

static bool claim_copy(struct json_object *claims, const char *name, char *dst)
{
	size_t len;
	const char *v = json_get_string(claims, name, &len);

	if (v == NULL || len == 0 || len >= MAX_CLAIM || !util_is_printable(v, len) || memchr(v, ' ', len) ||
	    memchr(v, '/', len))
		return false;
	memcpy(dst, v, len + 1);
	return true;
}

static azmi_err who_from_token(const struct azmi_token *entra, struct who *w, struct azmi_error *err)
{
	struct json_object *claims = jwt_decode_part(entra->access_token, entra->access_token_len, 1);
	bool ok = claims != NULL && claim_copy(claims, "tid", w->tid) && claim_copy(claims, "oid", w->oid);

	json_object_put(claims);
	if (!ok)
		return err_set(err, AZMI_ERR_PROTOCOL, "acr", 0,
		               "acr: the Entra token for %s (from %s) is not a JWT with tid and oid claims; "
		               "the registry "
		               "exchange needs the identity's tenant",
		               entra->resource, entra->source);
	snprintf(w->key_id, sizeof(w->key_id), "%s/%s", w->tid, w->oid);
	return AZMI_OK;
}

/* An Entra token for `resource` and the request's identity, within the deadline. */
static azmi_err entra_token(struct azmi_ctx *ctx, const struct acr_request *req, const char *resource,
                            int64_t deadline, struct azmi_token **out, struct azmi_error *err)
{
	struct azmi_request r = AZMI_REQUEST_INIT;
	struct azmi_error terr = AZMI_ERROR_INIT;
	int64_t left = deadline - util_mono_ms();
	azmi_err rc;

	if (left <= 0)
		return err_set(err, AZMI_ERR_TIMEOUT, "acr", 0,
		               "acr: no time left to get an Entra token for %s", resource);
	r.resource = resource;
	r.id_kind = req->id_kind;
	r.id_value = req->id_value;
	r.credential = req->credential;
	r.timeout_ms = (long)left;
	if ((rc = azmi_get_token(ctx, &r, out, &terr)) != AZMI_OK)
		err_copy(err, &terr);
	return rc;
}

static void transport_hint(void *arg, bool answered, azmi_err rc, const struct http_response *resp,
                           struct azmi_error *err)
{
	const char *registry = arg;

	if (answered)
		return;
	if (rc == AZMI_ERR_UNAVAILABLE)
		err_append(err,
		           "hint: nothing answers at %s: check the registry's name (az acr show), DNS, a "
		           "firewall, or the proxy settings (https_proxy)",
		           registry);
	else if (rc == AZMI_ERR_PROTOCOL && !resp->connected)
		err_append(
		    err, "hint: the registry's certificate is not trusted; ca_file / AZMI_CA_FILE adds a CA");
	else if (rc == AZMI_ERR_TIMEOUT)
		err_append(err,
		           "hint: no answer within the time allowed (--timeout, or timeout in azmi.conf)");
}

/*
 * POST `form` to https://<registry><path> through the exchange (408, 429,
 * 5xx and dropped connections retried until `deadline`) and take the bearer
 * token in the answer's `field`.  *status gets the last HTTP status (0 if
 * none); on failure the error names the request, the status and the
 * registry's error text, or the transport's error.
 */
static azmi_err registry_token(struct azmi_ctx *ctx, const char *registry, const char *path,
                               const char *about, const char *form, const char *field, int64_t deadline,
                               struct azmi_token **out, long *status, struct azmi_error *err)
{
	char url[ACR_MAX_HOST + 32], what[1024], why[256];
	struct http_request hr = {0};
	struct http_response resp;
	struct exchange x = {
	    .kind = EP_REGISTRY,
	    .name = "acr",
	    .about = about,
	    .req = &hr,
	    .body_cap = ACR_MAX_BODY,
	    .deadline_ms = deadline,
	    .log = &ctx->log,
	    .hint = transport_hint,
	    .error_text = acr_error_text,
	    .arg = (void *)(uintptr_t)registry,
	};
	azmi_err r;

	snprintf(url, sizeof(url), "https://%s%s", registry, path);
	hr.method = "POST";
	hr.url = url;
	hr.headers[0] = "Content-Type: application/x-www-form-urlencoded";
	hr.body = form;
	hr.body_len = strlen(form);
	hr.ca_file = ctx->settings.ca_file;
	hr.proxy = settings_proxy(&ctx->settings);
	r = exchange_perform(&x, &resp, err);
	*status = resp.status;
	if (r == AZMI_OK && (r = acr_answer_parse(resp.body.data, resp.body.len, field, util_now(), registry,
	                                          out, why, sizeof(why))) != AZMI_OK) {
		exchange_describe(&x, what, sizeof(what));
		err_set(err, r, "acr", 200, "%s: HTTP 200 but %s", what, why);
	}
	http_response_free(&resp);
	return r;
}

/* "name=<escaped value>" appended to the form; false when out of memory.  Values may be secrets. */
static bool form_add(char **form, const char *name, const char *value)
{
	char *esc = http_escape(value), *next = NULL;
	int n;

	if (esc == NULL)
		return false;
	n = asprintf(&next, "%s%s%s=%s", *form ? *form : "", *form ? "&" : "", name, esc);
	util_free_secret(esc);
	if (n < 0)
		return false;
	util_free_secret(*form);
	*form = next;
	return true;
}

/* One exchange of `entra` at the registry; *status gets the HTTP status (0 if none). */
static azmi_err exchange(struct azmi_ctx *ctx, const char *registry, const struct azmi_token *entra,
                         const struct who *w, int64_t deadline, struct azmi_token **out, long *status,
                         struct azmi_error *err)
{
	char what[ACR_MAX_HOST + 160], about[128];
	char *form = NULL;
	azmi_err r;

	*status = 0;
	snprintf(about, sizeof(about), "with an Entra token for %s", entra->resource);
	snprintf(what, sizeof(what), "POST https://%s/oauth2/exchange %s", registry, about);
	if (!form_add(&form, "grant_type", "access_token") || !form_add(&form, "service", registry) ||
	    !form_add(&form, "tenant", w->tid) || !form_add(&form, "access_token", entra->access_token)) {
		util_free_secret(form);
		return err_set(err, AZMI_ERR_NOMEM, "acr", 0, "acr: out of memory");
	}
	log_line(&ctx->log, AZMI_LOG_INFO, "acr: %s", what);
	r = registry_token(ctx, registry, "/oauth2/exchange", about, form, "refresh_token", deadline, out,
	                   status, err);
	util_free_secret(form);
	return r;
}

static void exchange_hint(const char *registry, long status, const struct who *w, struct azmi_error *err)
{
	if (status == 401 || status == 403)
		err_append(
		    err,
		    "hint: the registry refused the identity (object id %s): give it the AcrPull role on "
		    "%s (az role assignment create --role AcrPull --assignee-object-id %s "
		    "--assignee-principal-"
		    "type ServicePrincipal --scope <the registry's resource id>); new roles take a few "
		    "minutes",
		    w->oid, registry, w->oid);
	else if (status == 404)
		err_append(
		    err,
		    "hint: %s has no token exchange endpoint: is it a container registry's login server?",
		    registry);
	else if (status == 400)
		err_append(err,
		           "hint: the registry found the exchange invalid: is the identity in the registry's "
		           "tenant?");
	else if (status >= 500)
		err_append(err, "hint: the registry is failing; try again later");
}

/* Note in `info` how the refresh token was had. */
static void info_set(struct acr_info *info, enum acr_audience aud, const char *resource, bool cached)
{
	info->audience = aud;
	info->from_cache = cached;
	snprintf(info->entra_resource, sizeof(info->entra_resource), "%s", resource ? resource : "");
}

/*
 * The exchange with the ARM-audience token, then, when the registry refuses
 * it (401/403), with a registry-audience token.  `*entra` may be replaced.
 */
static azmi_err exchange_both(struct azmi_ctx *ctx, const struct acr_request *req, const char *registry,
                              struct azmi_token **entra, enum acr_audience *aud, const struct who *w,
                              int64_t deadline, struct azmi_token **out, struct acr_info *info,
                              struct azmi_error *err)
{
	struct azmi_token *second = NULL;
	long status = 0;
	azmi_err r = exchange(ctx, registry, *entra, w, deadline, out, &status, err);

	if (r == AZMI_ERR_REFUSED && *aud == ACR_AUD_ARM && (status == 401 || status == 403)) {
		info->arm_refused = true;
		log_line(&ctx->log, AZMI_LOG_INFO,
		         "acr: %s refused the ARM-audience token (%s); trying the audience %s", registry,
		         err->message, REGISTRY_AUDIENCE);
		if ((r = entra_token(ctx, req, REGISTRY_AUDIENCE, deadline, &second, err)) != AZMI_OK)
			return r;
		azmi_token_release(*entra);
		*entra = second;
		*aud = ACR_AUD_REGISTRY;
		r = exchange(ctx, registry, *entra, w, deadline, out, &status, err);
		if (r == AZMI_ERR_REFUSED)
			err_append(err, "(the ARM-audience token %s was refused first)",
			           arm_audience(registry));
	}
	if (r != AZMI_OK)
		exchange_hint(registry, status, w, err);
	return r;
}

/* The refresh token, with everything decided by the caller: registry normalised, deadline set. */
static azmi_err refresh_token(struct azmi_ctx *ctx, const struct acr_request *req, const char *registry,
                              int64_t deadline, struct azmi_token **out, struct acr_info *info,
                              struct azmi_error *err)
{
	struct azmi_token *entra = NULL, *tok = NULL, *fresh = NULL;
	enum acr_audience aud = ACR_AUD_ARM;
	struct file_cache *fc;
	struct cache_key key;
	struct who w;
	int lockfd = -1;
	bool use_cache;
	azmi_err r;

	r = entra_token(ctx, req, arm_audience(registry), deadline, &entra, err);
	if (r == AZMI_ERR_REFUSED) {
		/* No ARM-audience token for this identity: the registry's own audience may still do. */
		log_line(&ctx->log, AZMI_LOG_INFO, "acr: no ARM-audience token (%s); trying the audience %s",
		         err->message, REGISTRY_AUDIENCE);
		aud = ACR_AUD_REGISTRY;
		r = entra_token(ctx, req, REGISTRY_AUDIENCE, deadline, &entra, err);
	}
	if (r != AZMI_OK || (r = who_from_token(entra, &w, err)) != AZMI_OK)
		goto out;
	key.source = ACR_CACHE_SOURCE;
	key.kind = AZMI_ID_OBJECT_ID;
	key.id = w.key_id;
	key.resource = registry;
	fc = ctx_files(ctx);
	use_cache = !(req->flags & AZMI_NO_CACHE) && file_cache_enabled(fc);
	if (use_cache) {
		if ((tok = file_cache_load(fc, &key, util_now())) != NULL &&
		    util_now() < token_expiry(tok)->refresh_on)
			goto cached;
		/* Whoever holds the lock is exchanging; when we get it, their refresh token is on disk. */
		if ((lockfd = file_cache_lock(fc, &key, deadline)) >= 0) {
			struct azmi_token *again = file_cache_load(fc, &key, util_now());
			if (again != NULL) {
				azmi_token_release(tok);
				tok = again;
				if (util_now() < token_expiry(tok)->refresh_on)
					goto cached;
			}
		}
	}
	r = exchange_both(ctx, req, registry, &entra, &aud, &w, deadline, &fresh, info, err);
	if (r != AZMI_OK) {
		if (tok == NULL || util_now() >= token_expiry(tok)->stale_on)
			goto out;
		log_line(&ctx->log, AZMI_LOG_WARNING,
		         "acr: refresh failed, using the cached refresh token until %lld: %s",
		         (long long)token_expiry(tok)->stale_on, err->message);
		err_clear(err);
		r = AZMI_OK;
		goto cached;
	}
	log_line(&ctx->log, AZMI_LOG_INFO,
	         "acr: refresh token for %s from the %s audience (%s), valid until %lld", registry,
	         aud == ACR_AUD_ARM ? "ARM" : "registry", entra->resource, (long long)fresh->expires_on);
	if (file_cache_enabled(fc) && file_cache_store(fc, &key, fresh) != AZMI_OK)
		log_line(&ctx->log, AZMI_LOG_INFO,
		         "acr: the refresh token for %s is kept in this process only", registry);
	info_set(info, aud, entra->resource, false);
	*out = fresh;
	fresh = NULL;
	goto out;
cached:
	info_set(info, ACR_AUD_NONE, NULL, true);
	*out = tok;
	tok = NULL;
out:
	file_cache_unlock(lockfd);
	azmi_token_release(tok);
	azmi_token_release(fresh);
	azmi_token_release(entra);
	return r;
}

/* Check the request and fill the normalised registry and the deadline. */
static azmi_err begin(struct azmi_ctx *ctx, const struct acr_request *req, char *registry, int64_t *deadline,
                      struct azmi_error *err)
{
	if (ctx == NULL || req == NULL || req->registry == NULL)
		return err_set(err, AZMI_ERR_USAGE, "acr", 0, "acr: no context or no registry");
	if (!acr_registry_name(req->registry, strnlen(req->registry, 2048), registry)) {
		char shown[96];
		util_sanitize(shown, sizeof(shown), req->registry, strnlen(req->registry, 95));
		return err_set(err, AZMI_ERR_USAGE, "acr", 0,
		               "acr: \"%s\" is not a container registry login server (<name>.azurecr.io, "
		               ".azurecr.us or .azurecr.cn, over https)",
		               shown);
	}
	*deadline = util_mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : ctx->settings.timeout_ms);
	return AZMI_OK;
}

azmi_err acr_refresh_token(struct azmi_ctx *ctx, const struct acr_request *req, struct azmi_token **out,
                           struct acr_info *info, struct azmi_error *err)
{
	char registry[ACR_MAX_HOST + 1];
	struct acr_info local_info;
	struct azmi_error local_err;
	int64_t deadline;
	azmi_err r;

	*out = NULL;
	if (info == NULL)
		info = &local_info;
	if (err == NULL)
		err = &local_err;
	memset(info, 0, sizeof(*info));
	err_clear(err);
	if ((r = begin(ctx, req, registry, &deadline, err)) != AZMI_OK)
		return r;
	return refresh_token(ctx, req, registry, deadline, out, info, err);
}

/* One scoped token request; *status gets the HTTP status (0 if none). */
static azmi_err scoped_token(struct azmi_ctx *ctx, const char *registry, const char *scope,
                             const struct azmi_token *refresh, int64_t deadline, struct azmi_token **out,
                             long *status, struct azmi_error *err)
{
	char about[ACR_MAX_SCOPE + 32], one[ACR_MAX_SCOPE + 1];
	char *form = NULL;
	bool ok;
	azmi_err r;

	*status = 0;
	snprintf(about, sizeof(about), "for scope \"%s\"", scope);
	ok = form_add(&form, "grant_type", "refresh_token") && form_add(&form, "service", registry);
	/* Several scopes go as several scope parameters. */
	for (const char *s = scope; ok && *s != '\0';) {
		size_t n = strcspn(s, " ");
		memcpy(one, s, n);
		one[n] = '\0';
		ok = form_add(&form, "scope", one);
		s += n + (s[n] == ' ');
	}
	if (!ok || !form_add(&form, "refresh_token", refresh->access_token)) {
		util_free_secret(form);
		return err_set(err, AZMI_ERR_NOMEM, "acr", 0, "acr: out of memory");
	}
	r = registry_token(ctx, registry, "/oauth2/token", about, form, "access_token", deadline, out, status,
	                   err);
	util_free_secret(form);
	return r;
}

azmi_err acr_access_token(struct azmi_ctx *ctx, const struct acr_request *req, const char *scope,
                          struct azmi_token **out, struct acr_info *info, struct azmi_error *err)
{
	char registry[ACR_MAX_HOST + 1];
	struct acr_info local_info;
	struct azmi_error local_err;
	struct azmi_token *refresh = NULL;
	struct acr_request again;
	int64_t deadline;
	long status = 0;
	azmi_err r;

	*out = NULL;
	if (info == NULL)
		info = &local_info;
	if (err == NULL)
		err = &local_err;
	memset(info, 0, sizeof(*info));
	err_clear(err);
	if (scope == NULL)
		scope = "";
	if (scope[0] != '\0' && !acr_scope_valid(scope))
		return err_set(err, AZMI_ERR_USAGE, "acr", 0,
		               "acr: the scope must be up to %d space-separated registry scopes such as "
		               "repository:NAME:pull or registry:catalog:*",
		               ACR_MAX_SCOPES);
	if ((r = begin(ctx, req, registry, &deadline, err)) != AZMI_OK ||
	    (r = refresh_token(ctx, req, registry, deadline, &refresh, info, err)) != AZMI_OK)
		return r;
	r = scoped_token(ctx, registry, scope, refresh, deadline, out, &status, err);
	if (r == AZMI_ERR_REFUSED && status == 401 && info->from_cache) {
		/* The cached refresh token was revoked or the registry forgot it: exchange once more. */
		log_line(&ctx->log, AZMI_LOG_INFO,
		         "acr: %s refused the cached refresh token; exchanging again", registry);
		azmi_token_release(refresh);
		refresh = NULL;
		again = *req;
		again.flags |= AZMI_NO_CACHE;
		memset(info, 0, sizeof(*info));
		err_clear(err);
		if ((r = refresh_token(ctx, &again, registry, deadline, &refresh, info, err)) == AZMI_OK)
			r = scoped_token(ctx, registry, scope, refresh, deadline, out, &status, err);
	}
	if (r == AZMI_ERR_REFUSED && (status == 401 || status == 403))
		err_append(
		    err,
		    "hint: the registry refused the refresh token it issued; check the identity's role on "
		    "%s (AcrPull to pull)",
		    registry);
	azmi_token_release(refresh);
	return r;
}

struct name_list {
	char **names;
	size_t n;
	bool failed;
};

static void list_add(struct name_list *l, const char *name)
{
	char **grown;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->names[i], name) == 0)
			return;
	if (l->n >= 1024 || (grown = realloc(l->names, (l->n + 2) * sizeof(*grown))) == NULL) {
		l->failed = true;
		return;
	}
	l->names = grown;
	if ((l->names[l->n] = strdup(name)) == NULL) {
		l->failed = true;
		return;
	}
	l->names[++l->n] = NULL;
}

static void list_from_cache(void *userdata, const struct cache_key *k)
{
	char name[ACR_MAX_HOST + 1];

	if (acr_registry_name(k->resource, strlen(k->resource), name))
		list_add(userdata, name);
}

void acr_list_free(char **list)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

azmi_err acr_list(struct azmi_ctx *ctx, char ***out, struct azmi_error *err)
{
	struct name_list l = {0};
	struct file_cache *fc;
	char name[ACR_MAX_HOST + 1];

	*out = NULL;
	err_clear(err);
	for (size_t i = 0; i < ctx->config.count; i++) {
		const struct config_kv *kv = &ctx->config.items[i];
		const char *v = kv->value;
		if (strcmp(kv->key, "acr_registries") != 0)
			continue;
		ctx->config.items[i].used = true;
		while (*v != '\0') {
			size_t n = strcspn(v, " \t,");
			if (n > 0 && acr_registry_name(v, n, name))
				list_add(&l, name);
			else if (n > 0)
				log_line(
				    &ctx->log, AZMI_LOG_WARNING,
				    "%s:%u: acr_registries: \"%.*s\" is not a registry login server; ignored",
				    ctx->config.path, kv->line, (int)(n < 80 ? n : 80), v);
			v += n;
			v += strspn(v, " \t,");
		}
	}
	fc = ctx_files(ctx);
	file_cache_each(fc, ACR_CACHE_SOURCE, util_now(), list_from_cache, &l);
	if (l.failed) {
		acr_list_free(l.names);
		return err_set(err, AZMI_ERR_NOMEM, "acr", 0, "acr: out of memory listing registries");
	}
	if (l.names == NULL && (l.names = calloc(1, sizeof(*l.names))) == NULL)
		return err_set(err, AZMI_ERR_NOMEM, "acr", 0, "acr: out of memory listing registries");
	*out = l.names;
	return AZMI_OK;
}

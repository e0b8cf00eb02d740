/* ctx.c - contexts and the token lookup: memory cache, file cache, then the source. */
#include "ctx.h"

#include <stdlib.h>
#include <string.h>

#include "azcli.h"
#include "error.h"
#include "fetch.h"
#include "http.h"
#include "token.h"
#include "util.h"

#define MAX_RESOURCE_LEN         1024
#define MAX_ID_LEN               1024
#define CONNECT_TIMEOUT_MS       5000L
#define PROBE_CONNECT_TIMEOUT_MS 1000L
#define SCOPE_SUFFIX             "/.default"

static void warn_unknown_keys(struct azmi_ctx *ctx)
{
	for (size_t i = 0; i < ctx->config.count; i++) {
		const struct config_kv *kv = &ctx->config.items[i];
		if (!kv->used && !config_key_is_known(kv->key))
			log_line(&ctx->log, AZMI_LOG_WARNING, "%s:%u: unknown key \"%s\" ignored",
			         ctx->config.path, kv->line, kv->key);
	}
}

static azmi_err ctx_new(struct azmi_ctx **out, const char *config_path, struct azmi_error *err)
{
	struct azmi_ctx *ctx;
	const char *path = config_path;
	bool required = true;
	azmi_err r;

	err_clear(err);
	if (path == NULL)
		path = secure_getenv("AZMI_CONFIG");
	if (path == NULL || path[0] == '\0') {
		path = CONFIG_DEFAULT_PATH;
		required = false;
	}
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return err_set(err, AZMI_ERR_NOMEM, "", 0, "out of memory");
	ctx->files.dirfd = -1;
	if (cache_mem_init(&ctx->mem) != 0) {
		free(ctx);
		return err_set(err, AZMI_ERR_SYSTEM, "", 0, "cannot initialise the token cache lock");
	}
	pthread_mutex_init(&ctx->files_lock, NULL);
	pthread_mutex_init(&ctx->slots_lock, NULL);
	if ((r = config_read(&ctx->config, path, required, err)) != AZMI_OK ||
	    (r = settings_load(&ctx->settings, &ctx->config, err)) != AZMI_OK) {
		azmi_ctx_free(ctx);
		return r;
	}
	ctx->mi_source = source_detect(&ctx->settings, &ctx->mi_why);
	if ((ctx->nchain = credential_chain(&ctx->settings, ctx->chain, err)) < 0) {
		azmi_ctx_free(ctx);
		return AZMI_ERR_CONFIG;
	}
	atomic_init(&ctx->sticky, -1);
	atomic_init(&ctx->fast_state, 0);
	*out = ctx;
	return AZMI_OK;
}

azmi_err azmi_ctx_new(struct azmi_ctx **out, const char *config_path, struct azmi_error *err)
{
	size_t size;
	azmi_err r;

	*out = NULL;
	if (!err_size_ok(err))
		return AZMI_ERR_USAGE; /* nowhere safe to say why: azmi.h documents it */
	size = err ? err->size : 0;
	r = ctx_new(out, config_path, err);
	if (err)
		err->size = size;
	return r;
}

void azmi_ctx_free(struct azmi_ctx *ctx)
{
	if (ctx == NULL)
		return;
	cache_mem_destroy(&ctx->mem);
	file_cache_close(&ctx->files);
	free(ctx->fast_id);
	pthread_mutex_destroy(&ctx->files_lock);
	for (int i = 0; i < CTX_SLOT_COUNT; i++)
		if (ctx->slot[i] != NULL)
			ctx->slot_free[i](ctx->slot[i]);
	pthread_mutex_destroy(&ctx->slots_lock);
	settings_free(&ctx->settings);
	config_file_free(&ctx->config);
	free(ctx);
}

void *ctx_slot(struct azmi_ctx *ctx, enum ctx_slot slot, void *(*make)(void), void (*release)(void *data))
{
	void *data;

	pthread_mutex_lock(&ctx->slots_lock);
	if ((data = ctx->slot[slot]) == NULL && (data = make()) != NULL) {
		ctx->slot[slot] = data;
		ctx->slot_free[slot] = release;
	}
	pthread_mutex_unlock(&ctx->slots_lock);
	return data;
}

void azmi_ctx_set_log(struct azmi_ctx *ctx, azmi_log_fn *fn, void *userdata)
{
	ctx->log.fn = fn;
	ctx->log.userdata = userdata;
	warn_unknown_keys(ctx);
}

const char *azmi_ctx_source(const struct azmi_ctx *ctx)
{
	int sticky = atomic_load(&ctx->sticky);
	char why[256];

	for (int i = sticky >= 0 ? sticky : 0; i < ctx->nchain; i++) {
		enum cred_id c = ctx->chain[i];
		const struct source *src = credential_source(&ctx->settings, c, ctx->mi_source);
		if (credential_configured(&ctx->settings, c, why, sizeof(why)))
			return src ? src->name : credential_name(c);
	}
	return "none";
}

struct file_cache *ctx_files(struct azmi_ctx *ctx)
{
	pthread_mutex_lock(&ctx->files_lock);
	if (!ctx->files_opened) {
		if (ctx->settings.cache_enabled)
			file_cache_open(&ctx->files, ctx->settings.cache_dir, &ctx->log);
		ctx->files_opened = true;
	}
	pthread_mutex_unlock(&ctx->files_lock);
	return &ctx->files;
}

void ctx_budget_start(struct azmi_ctx *ctx)
{
	ctx->deadline_ms = util_mono_ms() + ctx->settings.timeout_ms;
}

int64_t ctx_deadline(const struct azmi_ctx *ctx)
{
	int64_t d = util_mono_ms() + ctx->settings.timeout_ms;

	return ctx->deadline_ms > 0 && ctx->deadline_ms < d ? ctx->deadline_ms : d;
}

/* Printable, no spaces, bounded: these strings go into URLs, file contents and messages. */
static bool plain_text(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	return len > 0 && len <= max && util_is_printable(s, len) && strchr(s, ' ') == NULL;
}

static azmi_err check_request(const struct azmi_request *req, char *resource, struct azmi_error *err)
{
	size_t len;

	if (req != NULL && req->size != sizeof(*req))
		return err_set(
		    err, AZMI_ERR_USAGE, "", 0,
		    "struct azmi_request has size %zu, which this libazmi does not know (it expects %zu): "
		    "initialise it with AZMI_REQUEST_INIT",
		    req->size, sizeof(*req));
	if (req == NULL || req->resource == NULL || !plain_text(req->resource, MAX_RESOURCE_LEN))
		return err_set(err, AZMI_ERR_USAGE, "", 0,
		               "the resource must be a URI of at most %d printable characters without spaces",
		               MAX_RESOURCE_LEN);
	len = strlen(req->resource);
	memcpy(resource, req->resource, len + 1);
	/* A scope "X/.default" asks for the same token as the resource "X". */
	if (len > strlen(SCOPE_SUFFIX) && strcmp(resource + len - strlen(SCOPE_SUFFIX), SCOPE_SUFFIX) == 0)
		resource[len - strlen(SCOPE_SUFFIX)] = '\0';
	switch (req->id_kind) {
	case AZMI_ID_DEFAULT:
	case AZMI_ID_SYSTEM:
		return AZMI_OK;
	case AZMI_ID_CLIENT_ID:
	case AZMI_ID_OBJECT_ID:
	case AZMI_ID_RESOURCE_ID:
		if (req->id_value == NULL || !plain_text(req->id_value, MAX_ID_LEN))
			return err_set(
			    err, AZMI_ERR_USAGE, "", 0,
			    "the identity id must be at most %d printable characters without spaces",
			    MAX_ID_LEN);
		return AZMI_OK;
	}
	return err_set(err, AZMI_ERR_USAGE, "", 0, "unknown identity kind %d", (int)req->id_kind);
}

/* What one link of the chain is asked with: its source, the identity, the cache key. */
struct link {
	enum cred_id cred;
	const struct source *source; /* NULL for the Azure CLI */
	struct identity id;
	struct cache_key key;
	char key_id[2 * MAX_ID_LEN + 2];
	bool probe;
};

static azmi_err link_setup(struct azmi_ctx *ctx, enum cred_id c, const struct azmi_request *req,
                           const char *resource, struct link *l, struct azmi_error *err)
{
	const struct settings *s = &ctx->settings;

	memset(l, 0, sizeof(*l));
	l->cred = c;
	l->source = credential_source(s, c, ctx->mi_source);
	l->id.kind = AZMI_ID_SYSTEM;
	l->key.id = NULL;
	if (c == CRED_MANAGED) {
		l->id.kind = req->id_kind;
		l->id.value = req->id_value;
		if (req->id_kind == AZMI_ID_DEFAULT) {
			l->id.kind = s->azure_client_id ? AZMI_ID_CLIENT_ID : AZMI_ID_SYSTEM;
			l->id.value = s->azure_client_id;
			if (l->id.value && !plain_text(l->id.value, MAX_ID_LEN))
				return err_set(err, AZMI_ERR_CONFIG, "", 0,
				               "AZURE_CLIENT_ID is not a plausible client id");
		} else if (req->id_kind == AZMI_ID_SYSTEM) {
			l->id.value = NULL;
		}
		l->key.id = l->id.value;
	} else if (c == CRED_ENVIRONMENT || c == CRED_WORKLOAD) {
		/* The app registration is the identity: tenant and client id tell one from another. */
		l->id.kind = AZMI_ID_CLIENT_ID;
		snprintf(l->key_id, sizeof(l->key_id), "%.*s/%.*s", MAX_ID_LEN, s->tenant_id, MAX_ID_LEN,
		         s->azure_client_id);
		l->id.value = l->key_id;
		l->key.id = l->key_id;
	}
	l->key.source = l->source ? l->source->name : credential_name(c);
	l->key.kind = l->id.kind;
	l->key.resource = resource;
	return AZMI_OK;
}

/* Ask the link's endpoint (or the Azure CLI), bypassing the caches. */
static azmi_err link_fetch(struct azmi_ctx *ctx, const struct link *l, int64_t deadline,
                           struct azmi_token **out, struct azmi_error *err)
{
	struct fetch_params fp = {&ctx->settings, l->source,
	                          &l->id,         l->key.resource,
	                          deadline,       l->probe ? PROBE_CONNECT_TIMEOUT_MS : CONNECT_TIMEOUT_MS,
	                          l->probe,       &ctx->log};

	if (l->source == NULL)
		return azcli_get_token(l->key.resource, deadline, out, err);
	return fetch_token(&fp, out, err);
}

/* Cold path: the file cache, then the endpoint, with the file lock held around the fetch. */
static azmi_err lookup_slow(struct azmi_ctx *ctx, const struct link *l, bool use_cache, int64_t deadline,
                            struct azmi_token **out, struct azmi_error *err, struct azmi_error *refresh_err)
{
	struct file_cache *fc = ctx_files(ctx);
	const struct cache_key *k = &l->key;
	struct azmi_token *tok = NULL, *fresh = NULL;
	int lockfd = -1;
	azmi_err r;

	if (use_cache && file_cache_enabled(fc)) {
		if ((tok = file_cache_load(fc, k, ctx->mem.now())) != NULL &&
		    ctx->mem.now() < token_expiry(tok)->refresh_on)
			goto done;
		/* Whoever holds the lock is fetching; when we get it, their answer is on disk. */
		lockfd = file_cache_lock(fc, k, deadline);
		if (lockfd >= 0) {
			struct azmi_token *again = file_cache_load(fc, k, ctx->mem.now());
			if (again) {
				azmi_token_release(tok);
				tok = again;
				if (ctx->mem.now() < token_expiry(tok)->refresh_on)
					goto done;
			}
		}
	}
	r = link_fetch(ctx, l, deadline, &fresh, err);
	if (r != AZMI_OK) {
		/* Keep serving a still-valid token when its refresh fails. */
		if (tok == NULL || ctx->mem.now() >= token_expiry(tok)->stale_on) {
			azmi_token_release(tok);
			file_cache_unlock(lockfd);
			return r;
		}
		log_line(&ctx->log, AZMI_LOG_WARNING, "refresh failed, using the cached token until %lld: %s",
		         (long long)token_expiry(tok)->stale_on, err->message);
		*refresh_err = *err;
		refresh_err->code = r;
		err_clear(err);
		goto done;
	}
	azmi_token_release(tok);
	tok = fresh;
	if (file_cache_enabled(fc) && file_cache_store(fc, k, tok) != AZMI_OK)
		log_line(&ctx->log, AZMI_LOG_INFO, "the token for %s is kept in this process only",
		         k->resource);
done:
	file_cache_unlock(lockfd);
	*out = tok;
	return AZMI_OK;
}

/* One link: the in-process cache (single flight), then lookup_slow. */
static azmi_err lookup(struct azmi_ctx *ctx, const struct link *l, const struct azmi_request *req,
                       int64_t deadline, struct azmi_token **out, struct azmi_error *err)
{
	struct azmi_token *tok = NULL, *stale;
	struct azmi_error failure;
	azmi_err r;

	err_clear(&failure);
	if (req->flags & AZMI_NO_CACHE) {
		if ((r = lookup_slow(ctx, l, false, deadline, &tok, err, &failure)) != AZMI_OK)
			return r;
		cache_mem_put(&ctx->mem, &l->key, tok);
		*out = tok;
		return AZMI_OK;
	}
	switch (cache_mem_acquire(&ctx->mem, &l->key, ctx->mem.now(), deadline, &tok, err)) {
	case MEM_HIT:
		*out = tok;
		return AZMI_OK;
	case MEM_FAILED:
		return err->code != AZMI_OK ? err->code : AZMI_ERR_ENDPOINT;
	case MEM_FETCH:
		break;
	}
	stale = tok;
	tok = NULL;
	r = lookup_slow(ctx, l, true, deadline, &tok, err, &failure);
	if (r != AZMI_OK) {
		failure = *err;
		failure.code = r;
		if (stale && ctx->mem.now() < token_expiry(stale)->stale_on) {
			log_line(&ctx->log, AZMI_LOG_WARNING,
			         "refresh failed, using the cached token until %lld: %s",
			         (long long)token_expiry(stale)->stale_on, failure.message);
			tok = token_ref(stale);
			r = AZMI_OK;
			err_clear(err);
		}
	}
	cache_mem_complete(&ctx->mem, &l->key, tok, failure.code != AZMI_OK ? &failure : NULL);
	azmi_token_release(stale);
	if (r == AZMI_OK)
		*out = tok;
	return r;
}

/* Append "  name: first line of the message" to the chain's account of skipped links. */
static void note_skip(char *notes, size_t size, enum cred_id c, const char *why)
{
	size_t len = strlen(notes);
	int n = (int)strcspn(why, "\n");

	snprintf(notes + len, size - len, "%s  %s: %.*s", len ? "\n" : "", credential_name(c), n, why);
}

/*
 * Whether a failed link lets the chain go on, as the SDKs' CredentialUnavailableError does: only a
 * link that is absent here passes.  That is IMDS not answering the probe, IMDS's 400 (no identity,
 * or not this user-assigned one, on this VM) and the Azure CLI not installed or not logged in.  A
 * configured service principal, workload identity or platform endpoint that fails for any other
 * reason (unreachable, refused, a bad file) ends the chain with its own error: falling through would
 * hand out a token for another identity.
 */
static bool chain_goes_on(const struct link *l, azmi_err r, const struct azmi_error *err, bool more)
{
	if (r == AZMI_ERR_UNAVAILABLE)
		return l->probe || l->cred == CRED_AZURE_CLI;
	return more && l->source == &source_imds && r == AZMI_ERR_REFUSED && err->http_status == 400;
}

static azmi_err get_token_slow(struct azmi_ctx *ctx, const struct azmi_request *req, struct azmi_token **out,
                               struct azmi_error *err);

/* Remember the settled chain's key for default requests (once; racing threads write the same). */
static void fast_publish(struct azmi_ctx *ctx, const struct link *l)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&ctx->fast_state, &expected, 1))
		return;
	ctx->fast_key = l->key;
	ctx->fast_key.resource = NULL;
	ctx->fast_id = l->key.id ? strdup(l->key.id) : NULL;
	ctx->fast_key.id = ctx->fast_id;
	if (l->key.id && ctx->fast_id == NULL) {
		atomic_store(&ctx->fast_state, 0);
		return;
	}
	atomic_store_explicit(&ctx->fast_state, 2, memory_order_release);
}

/*
 * A default request's fresh token straight from memory: no validation (an
 * invalid resource matches no entry), no deadline, no chain.  NULL otherwise.
 */
static struct azmi_token *fast_lookup(struct azmi_ctx *ctx, const struct azmi_request *req)
{
	char resource[MAX_RESOURCE_LEN + 1];
	struct cache_key k;
	size_t len, n = sizeof(SCOPE_SUFFIX) - 1;

	if (atomic_load_explicit(&ctx->fast_state, memory_order_acquire) != 2 || req->credential ||
	    req->id_kind != AZMI_ID_DEFAULT || (req->flags & AZMI_NO_CACHE) || req->resource == NULL)
		return NULL;
	len = strnlen(req->resource, MAX_RESOURCE_LEN + 1);
	if (len == 0 || len > MAX_RESOURCE_LEN)
		return NULL;
	memcpy(resource, req->resource, len + 1);
	if (len > n && memcmp(resource + len - n, SCOPE_SUFFIX, n) == 0)
		resource[len - n] = '\0';
	k = ctx->fast_key;
	k.resource = resource;
	return cache_mem_peek(&ctx->mem, &k, ctx->mem.now());
}

azmi_err azmi_get_token(struct azmi_ctx *ctx, const struct azmi_request *req, struct azmi_token **out,
                        struct azmi_error *err)
{
	size_t size;
	azmi_err r;

	if (!err_size_ok(err)) {
		*out = NULL;
		if (ctx)
			log_line(&ctx->log, AZMI_LOG_ERR,
			         "azmi_get_token: struct azmi_error has size %zu, which this libazmi "
			         "does not know (it expects %zu): initialise it with AZMI_ERROR_INIT",
			         err->size, sizeof(*err));
		return AZMI_ERR_USAGE;
	}
	if (ctx && req && req->size == sizeof(*req) && (*out = fast_lookup(ctx, req)) != NULL) {
		err_clear(err);
		return AZMI_OK;
	}
	/* internal errors are copied whole: keep the caller's size */
	size = err ? err->size : 0;
	r = get_token_slow(ctx, req, out, err);
	if (err)
		err->size = size;
	return r;
}

static azmi_err get_token_slow(struct azmi_ctx *ctx, const struct azmi_request *req, struct azmi_token **out,
                               struct azmi_error *err)
{
	char resource[MAX_RESOURCE_LEN + 1], notes[sizeof(err->message)];
	enum cred_id only[1];
	const enum cred_id *links;
	struct azmi_error local;
	struct link l;
	int n, sticky, named;
	bool chain;
	int64_t deadline;
	azmi_err r;

	*out = NULL;
	notes[0] = '\0';
	if (err == NULL)
		err = &local;
	err_clear(err);
	if (ctx == NULL)
		return err_set(err, AZMI_ERR_USAGE, "", 0, "no context");
	if ((r = check_request(req, resource, err)) != AZMI_OK)
		return r;
	deadline = util_mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : ctx->settings.timeout_ms);
	named = req->credential ? credential_by_name(req->credential) : -1;
	if (req->credential && named < 0)
		return err_set(
		    err, AZMI_ERR_USAGE, "", 0,
		    "unknown credential \"%.64s\" (environment, workload_identity, managed_identity, "
		    "azure_cli)",
		    req->credential);
	if (named < 0 && req->id_kind >= AZMI_ID_CLIENT_ID)
		named = CRED_MANAGED; /* a user-assigned identity is a managed identity */
	sticky = atomic_load_explicit(&ctx->sticky, memory_order_relaxed);
	if (named >= 0) {
		only[0] = (enum cred_id)named;
		links = only;
		n = 1;
	} else if (sticky >= 0) {
		links = &ctx->chain[sticky];
		n = 1;
	} else {
		links = ctx->chain;
		n = ctx->nchain;
	}
	/* Only an undecided chain probes IMDS and moves on when a link is absent. */
	chain = named < 0 && sticky < 0 && n > 1;
	for (int i = 0; i < n; i++) {
		char why[256];
		if (!credential_configured(&ctx->settings, links[i], why, sizeof(why))) {
			note_skip(notes, sizeof(notes), links[i], why);
			continue;
		}
		if (credential_unsupported(&ctx->settings, links[i], why, sizeof(why)))
			return err_set(err, AZMI_ERR_CONFIG, credential_name(links[i]), 0, "%s: %s",
			               credential_name(links[i]), why);
		if ((r = link_setup(ctx, links[i], req, resource, &l, err)) != AZMI_OK)
			return r;
		l.probe = chain && l.source == &source_imds;
		r = lookup(ctx, &l, req, deadline, out, err);
		if (r == AZMI_OK) {
			if (chain)
				atomic_store(&ctx->sticky, (int)(&links[i] - ctx->chain));
			if (named < 0 && req->id_kind == AZMI_ID_DEFAULT)
				fast_publish(ctx, &l);
			return AZMI_OK;
		}
		if (!chain || !chain_goes_on(&l, r, err, i + 1 < n))
			return r;
		note_skip(notes, sizeof(notes), links[i], err->message);
		log_line(&ctx->log, AZMI_LOG_INFO, "%s unavailable, trying the next credential: %s",
		         credential_name(links[i]), err->message);
	}
	if (chain && !ctx->settings.use_azure_cli && ctx->settings.token_credentials == NULL)
		note_skip(notes, sizeof(notes), CRED_AZURE_CLI,
		          "off (use_azure_cli = yes in azmi.conf, or AZURE_TOKEN_CREDENTIALS=dev)");
	err_set(err, AZMI_ERR_UNAVAILABLE, "", 0, "no credential is available here:\n%s", notes);
	return AZMI_ERR_UNAVAILABLE;
}

/* The core's side of frontend.h: what azmi's front ends may see of a context. */

_Static_assert(CRED_COUNT <= CTX_CHAIN_MAX, "CTX_CHAIN_MAX holds every link");

const struct settings *ctx_settings(const struct azmi_ctx *ctx)
{
	return &ctx->settings;
}

struct config_file *ctx_config(struct azmi_ctx *ctx)
{
	return &ctx->config;
}

void ctx_set_timeout(struct azmi_ctx *ctx, long timeout_ms)
{
	ctx->settings.timeout_ms = timeout_ms;
}

void ctx_distrust_environment(struct azmi_ctx *ctx)
{
	ctx->settings.env_trusted = false;
	http_distrust_environment();
}

int ctx_chain(const struct azmi_ctx *ctx, struct ctx_link out[CTX_CHAIN_MAX])
{
	const struct settings *s = &ctx->settings;

	for (int i = 0; i < ctx->nchain; i++) {
		enum cred_id c = ctx->chain[i];
		const struct source *src = credential_source(s, c, ctx->mi_source);
		struct ctx_link *l = &out[i];

		memset(l, 0, sizeof(*l));
		l->credential = credential_name(c);
		l->source = src ? src->name : credential_name(c);
		l->title = src ? src->title : "az account get-access-token";
		l->managed = c == CRED_MANAGED;
		l->because = l->managed ? ctx->mi_why : NULL;
		l->imds_endpoint = l->managed && ctx->mi_source == &source_imds ? s->imds_endpoint : NULL;
		l->configured = credential_configured(s, c, l->why, sizeof(l->why));
		l->refused = l->configured && credential_unsupported(s, c, l->why, sizeof(l->why));
	}
	return ctx->nchain;
}

enum ctx_cache_state ctx_cache(struct azmi_ctx *ctx, const char **dir, int *dirfd)
{
	struct file_cache *fc;

	*dir = NULL;
	*dirfd = -1;
	if (!ctx->settings.cache_enabled)
		return CTX_CACHE_OFF;
	fc = ctx_files(ctx);
	*dir = fc->dir;
	if (!file_cache_enabled(fc))
		return CTX_CACHE_UNUSABLE;
	*dirfd = fc->dirfd;
	return CTX_CACHE_READY;
}

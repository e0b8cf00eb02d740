/* ctx.c - contexts and the token lookup: memory cache, file cache, then the source. */
#include "ctx.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "fetch.h"
#include "http.h"
#include "token.h"
#include "util.h"

#define MAX_RESOURCE_LEN 1024
#define MAX_ID_LEN 1024
#define CONNECT_TIMEOUT_MS 5000L
#define SCOPE_SUFFIX "/.default"

static void warn_unknown_keys(struct azmi_ctx *ctx)
{
	for (size_t i = 0; i < ctx->config.count; i++) {
		const struct config_kv *kv = &ctx->config.items[i];
		if (!kv->used && !config_key_is_known(kv->key))
			log_line(&ctx->log, AZMI_LOG_WARNING, "%s:%u: unknown key \"%s\" ignored", ctx->config.path,
				 kv->line, kv->key);
	}
}

azmi_err azmi_ctx_new(struct azmi_ctx **out, const char *config_path, struct azmi_error *err)
{
	struct azmi_ctx *ctx;
	const char *path = config_path;
	bool required = true;
	azmi_err r;

	err_clear(err);
	*out = NULL;
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
	http_global_init();
	if ((r = config_read(&ctx->config, path, required, err)) != AZMI_OK ||
	    (r = settings_load(&ctx->settings, &ctx->config, err)) != AZMI_OK) {
		azmi_ctx_free(ctx);
		return r;
	}
	ctx->source = source_detect(&ctx->settings);
	*out = ctx;
	return AZMI_OK;
}

void azmi_ctx_free(struct azmi_ctx *ctx)
{
	if (ctx == NULL)
		return;
	cache_mem_destroy(&ctx->mem);
	file_cache_close(&ctx->files);
	pthread_mutex_destroy(&ctx->files_lock);
	settings_free(&ctx->settings);
	config_file_free(&ctx->config);
	free(ctx);
}

void azmi_ctx_set_log(struct azmi_ctx *ctx, azmi_log_fn *fn, void *userdata)
{
	ctx->log.fn = fn;
	ctx->log.userdata = userdata;
	warn_unknown_keys(ctx);
}

const char *azmi_ctx_source(const struct azmi_ctx *ctx)
{
	return ctx->source->name;
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

/* Printable, no spaces, bounded: these strings go into URLs, file contents and messages. */
static bool plain_text(const char *s, size_t max)
{
	size_t len = strnlen(s, max + 1);

	return len > 0 && len <= max && util_is_printable(s, len) && strchr(s, ' ') == NULL;
}

static azmi_err check_request(const struct azmi_ctx *ctx, const struct azmi_request *req, struct identity *id,
			      char *resource, struct azmi_error *err)
{
	size_t len;

	if (req == NULL || req->resource == NULL || !plain_text(req->resource, MAX_RESOURCE_LEN))
		return err_set(err, AZMI_ERR_USAGE, "", 0,
			       "the resource must be a URI of at most %d printable characters without spaces",
			       MAX_RESOURCE_LEN);
	len = strlen(req->resource);
	memcpy(resource, req->resource, len + 1);
	/* A scope "X/.default" asks for the same token as the resource "X". */
	if (len > strlen(SCOPE_SUFFIX) && strcmp(resource + len - strlen(SCOPE_SUFFIX), SCOPE_SUFFIX) == 0)
		resource[len - strlen(SCOPE_SUFFIX)] = '\0';
	id->kind = req->id_kind;
	id->value = req->id_value;
	switch (req->id_kind) {
	case AZMI_ID_DEFAULT:
		id->kind = ctx->settings.azure_client_id ? AZMI_ID_CLIENT_ID : AZMI_ID_SYSTEM;
		id->value = ctx->settings.azure_client_id;
		if (id->value && !plain_text(id->value, MAX_ID_LEN))
			return err_set(err, AZMI_ERR_CONFIG, "", 0, "AZURE_CLIENT_ID is not a plausible client id");
		break;
	case AZMI_ID_SYSTEM:
		id->value = NULL;
		break;
	case AZMI_ID_CLIENT_ID:
	case AZMI_ID_OBJECT_ID:
	case AZMI_ID_RESOURCE_ID:
		if (id->value == NULL || !plain_text(id->value, MAX_ID_LEN))
			return err_set(err, AZMI_ERR_USAGE, "", 0,
				       "the identity id must be at most %d printable characters without spaces",
				       MAX_ID_LEN);
		break;
	default:
		return err_set(err, AZMI_ERR_USAGE, "", 0, "unknown identity kind %d", (int)req->id_kind);
	}
	return AZMI_OK;
}

/* Cold path: the file cache, then the source, with the file lock held around the fetch. */
static azmi_err lookup_slow(struct azmi_ctx *ctx, const struct cache_key *k, const struct identity *id,
			    bool use_cache, int64_t deadline, struct azmi_token **out, struct azmi_error *err,
			    struct azmi_error *refresh_err)
{
	struct file_cache *fc = ctx_files(ctx);
	struct fetch_params fp = {&ctx->settings, ctx->source, id, k->resource, deadline, CONNECT_TIMEOUT_MS,
				  &ctx->log};
	struct azmi_token *tok = NULL;
	int lockfd = -1;
	azmi_err r;

	if (use_cache && file_cache_enabled(fc)) {
		if ((tok = file_cache_load(fc, k, util_now())) != NULL &&
		    util_now() < token_expiry(tok)->refresh_on)
			goto done;
		/* Whoever holds the lock is fetching; when we get it, their answer is on disk. */
		lockfd = file_cache_lock(fc, k, deadline);
		if (lockfd >= 0) {
			struct azmi_token *again = file_cache_load(fc, k, util_now());
			if (again && util_now() < token_expiry(again)->refresh_on) {
				azmi_token_release(tok);
				tok = again;
				goto done;
			}
			if (again) {
				azmi_token_release(tok);
				tok = again;
			}
		}
	}
	{
		struct azmi_token *fresh = NULL;
		r = fetch_token(&fp, &fresh, err);
		if (r != AZMI_OK) {
			/* Keep serving a still-valid token when its refresh fails. */
			if (tok == NULL || util_now() >= token_expiry(tok)->stale_on) {
				azmi_token_release(tok);
				file_cache_unlock(lockfd);
				return r;
			}
			log_line(&ctx->log, AZMI_LOG_WARNING, "refresh failed, using the cached token until %lld: %s",
				 (long long)token_expiry(tok)->stale_on, err ? err->message : "");
			if (refresh_err && err)
				*refresh_err = *err;
			err_clear(err);
			goto done;
		}
		azmi_token_release(tok);
		tok = fresh;
		if (file_cache_enabled(fc))
			file_cache_store(fc, k, tok);
	}
done:
	file_cache_unlock(lockfd);
	*out = tok;
	return AZMI_OK;
}

azmi_err azmi_get_token(struct azmi_ctx *ctx, const struct azmi_request *req, struct azmi_token **out,
			struct azmi_error *err)
{
	char resource[MAX_RESOURCE_LEN + 1];
	struct identity id;
	struct cache_key k;
	struct azmi_token *tok = NULL;
	struct azmi_error local;
	bool use_cache;
	int64_t deadline;
	azmi_err r;

	*out = NULL;
	if (err == NULL)
		err = &local;
	err_clear(err);
	if (ctx == NULL)
		return err_set(err, AZMI_ERR_USAGE, "", 0, "no context");
	if ((r = check_request(ctx, req, &id, resource, err)) != AZMI_OK)
		return r;
	k.source = ctx->source->name;
	k.kind = id.kind;
	k.id = id.value;
	k.resource = resource;
	use_cache = !(req->flags & AZMI_NO_CACHE);
	deadline = util_mono_ms() + (req->timeout_ms > 0 ? req->timeout_ms : ctx->settings.timeout_ms);
	if (!use_cache) {
		if ((r = lookup_slow(ctx, &k, &id, false, deadline, &tok, err, NULL)) != AZMI_OK)
			return r;
		cache_mem_put(&ctx->mem, &k, tok);
		*out = tok;
		return AZMI_OK;
	}
	switch (cache_mem_acquire(&ctx->mem, &k, util_now(), deadline, &tok, err)) {
	case MEM_HIT:
		*out = tok;
		return AZMI_OK;
	case MEM_FAILED:
		return err ? err->code : AZMI_ERR_ENDPOINT;
	case MEM_FETCH:
		break;
	}
	{
		struct azmi_token *stale = tok;
		struct azmi_error failure;
		err_clear(&failure);
		tok = NULL;
		r = lookup_slow(ctx, &k, &id, true, deadline, &tok, err, &failure);
		if (r != AZMI_OK) {
			failure = err ? *err : failure;
			failure.code = r;
			if (stale && util_now() < token_expiry(stale)->stale_on) {
				log_line(&ctx->log, AZMI_LOG_WARNING,
					 "refresh failed, using the cached token until %lld: %s",
					 (long long)token_expiry(stale)->stale_on, failure.message);
				tok = token_ref(stale);
				r = AZMI_OK;
				err_clear(err);
			}
		}
		cache_mem_complete(&ctx->mem, &k, tok, failure.code != AZMI_OK ? &failure : NULL);
		azmi_token_release(stale);
	}
	if (r != AZMI_OK)
		return r;
	*out = tok;
	return AZMI_OK;
}

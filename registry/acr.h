/*
 * acr.h - Azure Container Registry with the machine's identity.
 *
 * An Entra token (ARM audience, or https://containerregistry.azure.net/ when
 * the registry refuses ARM-audience tokens) is exchanged at
 * POST https://<registry>/oauth2/exchange for a registry refresh token,
 * which is cached across processes until it expires (the file cache, under
 * the source name "acr-refresh", keyed by the identity's tenant and object id
 * and the registry).  POST https://<registry>/oauth2/token turns it into
 * access tokens for repository scopes.  Only https, only registry hosts
 * <name>.azurecr.io, .azurecr.us and .azurecr.cn; bodies are capped and every
 * token is wiped when let go.
 */
#ifndef AZMI_ACR_H
#define AZMI_ACR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"

#define ACR_MAX_HOST         253
#define ACR_MAX_SCOPE        1024        /* all scopes of one request, space-separated */
#define ACR_MAX_SCOPES       8           /* scopes in one request */
#define ACR_MAX_BODY         (64 * 1024) /* largest exchange or token answer read */
#define ACR_CACHE_SOURCE     "acr-refresh"
#define ACR_USERNAME         "00000000-0000-0000-0000-000000000000" /* the user that goes with a refresh token */
#define ACR_DEFAULT_LIFETIME 600 /* seconds, for a registry token whose expiry cannot be read */

/* Which Entra audience the registry accepted. */
enum acr_audience {
	ACR_AUD_NONE = 0, /* not known (a cached refresh token) */
	ACR_AUD_ARM,      /* https://management.azure.com/ (or the registry's cloud's) */
	ACR_AUD_REGISTRY, /* https://containerregistry.azure.net/ */
};

/* One registry request: which registry, which identity, how long. */
struct acr_request {
	const char *registry;      /* a login server, normalised by acr_registry_name() */
	enum azmi_id_kind id_kind; /* as in struct azmi_request */
	const char *id_value;
	const char *credential; /* as in struct azmi_request; NULL: the chain */
	unsigned int flags;     /* AZMI_NO_CACHE: exchange again even when a cached refresh token is fresh */
	long timeout_ms;        /* 0: the configured default */
};

/* What happened, for messages ("say which audience worked"). */
struct acr_info {
	enum acr_audience audience;
	bool from_cache;  /* the refresh token came from the cache */
	bool arm_refused; /* the registry refused the ARM-audience token first */
	char entra_resource[64];
};

/*
 * Normalise a registry as people and Docker name it ("myreg.azurecr.io",
 * "https://MyReg.azurecr.io/", "myreg.azurecr.io:443", "myreg.azurecr.io/v2/")
 * into its lower case host name.  False when it is not
 * <name>.azurecr.io, .azurecr.us or .azurecr.cn (name: letters, digits and
 * inner hyphens, 1-63 characters), has another port, a user, or plain http.
 */
bool acr_registry_name(const char *in, size_t len, char out[ACR_MAX_HOST + 1]);

/*
 * True when `scope` is one to ACR_MAX_SCOPES space-separated registry scopes
 * "type:name:actions" (repository:app/web:pull, registry:catalog:*), each of
 * letters, digits and ._-/:,*() only.
 */
bool acr_scope_valid(const char *scope);

/*
 * Whether a 401 challenge from `registry` (a normalised host) may be
 * followed: the realm must be exactly https://<registry>/oauth2/token
 * (":443" allowed), the service the registry itself, and the scope valid.
 * False with a sentence in `why` otherwise.
 */
bool acr_challenge_ok(const char *registry, const char *realm, const char *service, const char *scope,
                      char *why, size_t whylen);

/*
 * Parse a registry answer received at `now`: field `field` ("refresh_token"
 * from /oauth2/exchange, "access_token" from /oauth2/token) must be a bearer
 * token; its expiry is its JWT "exp" claim, else ACR_DEFAULT_LIFETIME.
 * On failure AZMI_ERR_PROTOCOL (or NOMEM) with a sentence in `why` that never
 * quotes the token.
 */
AZMI_MUST_CHECK azmi_err acr_answer_parse(const char *body, size_t len, const char *field, int64_t now,
                                          const char *registry, struct azmi_token **out, char *why,
                                          size_t whylen);

/* A printable summary of a registry error answer ({"errors":[{"code","message"}]} or the OAuth shapes). */
void acr_error_text(const char *body, size_t len, char *out, size_t outlen);

/*
 * The registry refresh token for the request's identity: from the cache,
 * else by an exchange (ARM audience first, then the registry audience when
 * the registry refuses it).  On success *out holds a token to release
 * (token->resource is the registry); `info` (may be NULL) says how.
 */
AZMI_MUST_CHECK azmi_err acr_refresh_token(struct azmi_ctx *ctx, const struct acr_request *req,
                                           struct azmi_token **out, struct acr_info *info,
                                           struct azmi_error *err);

/*
 * An access token for `scope` (see acr_scope_valid) at the registry, from
 * the refresh token (exchanged again once when the registry refuses a
 * cached one).  On success *out holds a token to release.
 */
AZMI_MUST_CHECK azmi_err acr_access_token(struct azmi_ctx *ctx, const struct acr_request *req,
                                          const char *scope, struct azmi_token **out, struct acr_info *info,
                                          struct azmi_error *err);

/*
 * The registries this machine serves: those named by acr_registries in the
 * configuration file, then those with an unexpired refresh token in the
 * cache, without duplicates.  *out is a NULL-terminated malloc'd array of
 * malloc'd names (free with acr_list_free).
 */
AZMI_MUST_CHECK azmi_err acr_list(struct azmi_ctx *ctx, char ***out, struct azmi_error *err);
void acr_list_free(char **list);

#endif

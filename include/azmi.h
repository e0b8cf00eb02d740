/*
 * azmi.h - Microsoft Entra access tokens from the machine's own identity.
 *
 * The public API of libazmi: one context per process (or per PAM handle),
 * tokens looked up through an in-process cache, a cross-process cache and
 * the credential sources the Azure SDKs' DefaultAzureCredential knows.
 * All functions are thread-safe unless said otherwise.
 */
#ifndef AZMI_H
#define AZMI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define AZMI_VERSION "0.1.0"

#if defined(__GNUC__)
#define AZMI_EXPORT __attribute__((visibility("default")))
#else
#define AZMI_EXPORT
#endif

/* Error codes.  azmi_strerror() gives a short English phrase for each. */
typedef enum azmi_err {
	AZMI_OK = 0,
	AZMI_ERR_USAGE,       /* a bad argument from the caller */
	AZMI_ERR_NOMEM,       /* out of memory */
	AZMI_ERR_CONFIG,      /* the configuration file or environment is wrong */
	AZMI_ERR_UNAVAILABLE, /* no credential source exists on this machine */
	AZMI_ERR_REFUSED,     /* the endpoint answered with a 4xx refusal */
	AZMI_ERR_ENDPOINT,    /* the endpoint failed: 5xx, reset, unreachable */
	AZMI_ERR_TIMEOUT,     /* the deadline passed before a token came */
	AZMI_ERR_PROTOCOL,    /* the answer was not a valid token response */
	AZMI_ERR_CACHE,       /* the cache directory or file is unsafe */
	AZMI_ERR_SYSTEM,      /* a system call failed (see the message) */
} azmi_err;

/* A short phrase for `err`; never NULL. */
AZMI_EXPORT const char *azmi_strerror(azmi_err err);

/*
 * The caller allocates struct azmi_error and struct azmi_request and sets
 * `size` to the size its header declared: initialise them with
 * AZMI_ERROR_INIT and AZMI_REQUEST_INIT.  Members may be added at the end in
 * later versions; the library refuses, with AZMI_ERR_USAGE, a size it does
 * not know.  It never writes `size`, so a struct can be reused.
 */
#if defined(__cplusplus)
#define AZMI_ERROR_INIT   azmi_error_init_()
#define AZMI_REQUEST_INIT azmi_request_init_()
#else
#define AZMI_ERROR_INIT                                                                                      \
	{                                                                                                    \
		.size = sizeof(struct azmi_error)                                                            \
	}
#define AZMI_REQUEST_INIT                                                                                    \
	{                                                                                                    \
		.size = sizeof(struct azmi_request)                                                          \
	}
#endif

/*
 * What went wrong, filled in by every call that can fail.  `message` is one
 * or more lines a person can act on: what was tried, against which endpoint,
 * what came back and what to do.  It never contains a token or a secret.
 */
struct azmi_error {
	size_t size; /* sizeof(struct azmi_error): AZMI_ERROR_INIT */
	azmi_err code;
	long http_status; /* last HTTP status seen, 0 if none */
	char source[32];  /* credential source tried, "" if none */
	char message[1024];
};

/* How a user-assigned managed identity is named. */
enum azmi_id_kind {
	AZMI_ID_DEFAULT = 0, /* AZURE_CLIENT_ID when set, else system-assigned */
	AZMI_ID_SYSTEM,      /* the system-assigned identity, ignoring AZURE_CLIENT_ID */
	AZMI_ID_CLIENT_ID,   /* application (client) id */
	AZMI_ID_OBJECT_ID,   /* object (principal) id */
	AZMI_ID_RESOURCE_ID, /* ARM resource id of the identity */
};

/* Flags for struct azmi_request. */
#define AZMI_NO_CACHE 0x1u /* skip both caches for the lookup (the answer is still stored) */

/*
 * One token request.  `resource` is a resource URI (https://storage.azure.com/)
 * or a scope (https://storage.azure.com/.default); both name the same token.
 * `timeout_ms` bounds the whole lookup including retries; 0 takes the
 * configured default.
 */
struct azmi_request {
	size_t size; /* sizeof(struct azmi_request): AZMI_REQUEST_INIT */
	const char *resource;
	enum azmi_id_kind id_kind;
	const char *id_value; /* for CLIENT_ID, OBJECT_ID, RESOURCE_ID */
	unsigned int flags;
	long timeout_ms;
	/*
	 * NULL: the credential chain (environment, workload identity, managed
	 * identity; AZURE_TOKEN_CREDENTIALS narrows it).  Or one credential:
	 * "environment", "workload_identity", "managed_identity", "azure_cli".
	 * Naming a user-assigned identity (id_kind) implies "managed_identity".
	 */
	const char *credential;
};

#if defined(__cplusplus)
/* C++ before C++20 has no designated initialisers: the same value, built by a function. */
static inline struct azmi_error azmi_error_init_(void)
{
	struct azmi_error e = azmi_error();
	e.size = sizeof(e);
	return e;
}
static inline struct azmi_request azmi_request_init_(void)
{
	struct azmi_request r = azmi_request();
	r.size = sizeof(r);
	return r;
}
#endif

/*
 * A token.  Immutable and reference-counted: it stays valid until the
 * holder calls azmi_token_release(), however the caches change meanwhile.
 */
struct azmi_token {
	const char *access_token; /* the bearer token; a secret */
	size_t access_token_len;
	int64_t expires_on;     /* absolute expiry, seconds since the epoch */
	const char *token_type; /* "Bearer" */
	const char *resource;   /* the resource as normalised (no /.default) */
	const char *source;     /* credential source: "imds", "appservice", ... */
};

struct azmi_ctx;

/* Log levels for the optional log hook. */
enum azmi_log_level { AZMI_LOG_ERR = 3, AZMI_LOG_WARNING = 4, AZMI_LOG_INFO = 6, AZMI_LOG_DEBUG = 7 };
typedef void azmi_log_fn(void *userdata, enum azmi_log_level level, const char *line);

/*
 * Create a context: reads the configuration file (`config_path`, or
 * $AZMI_CONFIG, or /etc/azmi.conf; a missing default file is fine) and the
 * environment.  On failure returns an error, fills `err` and sets *out NULL.
 * `err` may be NULL; when its size is wrong the call fails with
 * AZMI_ERR_USAGE and writes nothing into it.
 */
AZMI_EXPORT azmi_err azmi_ctx_new(struct azmi_ctx **out, const char *config_path, struct azmi_error *err);

/* Free a context and wipe every token it cached.  Accepts NULL. */
AZMI_EXPORT void azmi_ctx_free(struct azmi_ctx *ctx);

/*
 * Install a log hook (NULL to remove).  The library never prints; warnings
 * such as an unsafe cache directory reach the caller only through this hook.
 * Not thread-safe: call before sharing the context.
 */
AZMI_EXPORT void azmi_ctx_set_log(struct azmi_ctx *ctx, azmi_log_fn *fn, void *userdata);

/*
 * Get a token: from the in-process cache, else the cross-process cache,
 * else the credential source, refreshing ahead of expiry.  Concurrent
 * callers asking for the same token cause one fetch.  On success *out holds
 * a token the caller must release; on failure *out is NULL and `err` says why.
 * `err` may be NULL.  A request whose size is wrong fails with
 * AZMI_ERR_USAGE and a message in `err`; an `err` whose size is wrong fails
 * with AZMI_ERR_USAGE, reported through the log hook only.
 */
AZMI_EXPORT azmi_err azmi_get_token(struct azmi_ctx *ctx, const struct azmi_request *req,
                                    struct azmi_token **out, struct azmi_error *err);

/* Drop a reference; the last one wipes and frees the token.  Accepts NULL. */
AZMI_EXPORT void azmi_token_release(struct azmi_token *tok);

/*
 * The credential source this context uses: the one that last worked, else
 * the first configured link of the chain ("environment", "imds", ...).
 */
AZMI_EXPORT const char *azmi_ctx_source(const struct azmi_ctx *ctx);

#ifdef __cplusplus
}
#endif
#endif /* AZMI_H */

/*
 * frontend.h - what the core offers azmi's own front ends (cli/, pam_azmi/,
 * libcurl_auth/, acr/) and the libraries above it, beyond include/azmi.h.
 * Not installed and not exported by libazmi.so.1: azmi's programs link the
 * core's internal archive.  A front end is compiled with include/ and this
 * folder only, so the context's layout (ctx.h) and the rest of the core are
 * out of its reach.
 */
#ifndef AZMI_FRONTEND_H
#define AZMI_FRONTEND_H

#include <stdbool.h>
#include <stdint.h>

#include "azmi.h"
#include "config.h"

/* The settings the context read from its file and the environment. */
const struct settings *ctx_settings(const struct azmi_ctx *ctx);

/* The context's configuration file, for the keys a front end owns (config_get marks them used). */
struct config_file *ctx_config(struct azmi_ctx *ctx);

/* The time limit of each request from now on, in milliseconds (a login's `timeout`). */
void ctx_set_timeout(struct azmi_ctx *ctx, long timeout_ms);

/*
 * The environment is a caller's (a login inside su, sudo or sshd): proxies
 * from azmi.conf only, never az, libcurl without SSLKEYLOGFILE.
 */
void ctx_distrust_environment(struct azmi_ctx *ctx);

/* Start a decision's one time budget: `timeout` from now, for every step that follows. */
void ctx_budget_start(struct azmi_ctx *ctx);

/* The deadline of one step: `timeout` from now, but never past the decision's budget. */
int64_t ctx_deadline(const struct azmi_ctx *ctx);

#define CTX_CHAIN_MAX 8

/* One link of the context's credential chain, as `azmi whoami` and `azmi doctor` show it. */
struct ctx_link {
	const char *credential;    /* "environment", "workload_identity", "managed_identity", "azure_cli" */
	const char *source;        /* the source name a token of this link carries (azmi_token.source) */
	const char *title;         /* for people: "Azure IMDS", ..., "az account get-access-token" */
	bool managed;              /* the managed-identity link */
	const char *because;       /* managed: why its source was chosen */
	const char *imds_endpoint; /* managed through IMDS: the endpoint's base URL; else NULL */
	bool configured;           /* false: `why` says what is missing */
	bool refused;              /* configured but not supported: `why` says why */
	char why[256];
};

/* The chain in its order into out[0 .. CTX_CHAIN_MAX); returns the number of links. */
int ctx_chain(const struct azmi_ctx *ctx, struct ctx_link out[CTX_CHAIN_MAX]);

enum ctx_cache_state { CTX_CACHE_OFF, CTX_CACHE_UNUSABLE, CTX_CACHE_READY };

/*
 * The cross-process cache, opened if it was not yet: off (cache = no), not
 * usable (*dir is the directory passed over, or NULL), or ready (*dir and
 * *dirfd, which stays the context's).
 */
enum ctx_cache_state ctx_cache(struct azmi_ctx *ctx, const char **dir, int *dirfd);

#endif

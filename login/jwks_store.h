/*
 * jwks_store.h - the signing keys of an Entra tenant: fetched from
 * {authority}/{tenant}/discovery[/v2.0]/keys with a bounded GET (no bearer),
 * cached in a root-only file for 24 h, refreshed on an unknown kid at most
 * every 5 minutes, and the last good set kept when a refresh fails.
 */
#ifndef AZMI_JWKS_STORE_H
#define AZMI_JWKS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "azmi.h"
#include "error.h"
#include "jwt_verify.h"

#define JWKS_CACHE_TTL     (24 * 3600) /* seconds a fetched set is used without asking again */
#define JWKS_REFRESH_EVERY 300         /* least seconds between fetches caused by unknown kids */

/* The key of `kid` in the set, NULL when none (EVP_PKEY, owned by the set). */
const struct evp_pkey_st *jwks_find(const struct jwks *ks, const char *kid);

struct jwks_source {
	const char *authority; /* https base URL of the key endpoint, no trailing slash */
	const char *tenant;    /* tenant id: a GUID or a domain name */
	const char *cache_dir; /* directory of jwks-<tenant>[-v1].json; NULL: no cache */
	const char *ca_file;   /* extra CA bundle, or NULL */
	const char *proxy;     /* as http_request.proxy: NULL the environment's, "" none, or a URL */
	long timeout_ms;       /* the whole fetch */
	int64_t now;           /* 0: the clock (a seam for tests) */
};

/*
 * The key set for tokens of version `ver` (1 or 2).  `kid_unknown`: the set
 * returned before lacks the token's kid, so fetch again unless a fetch was
 * tried in the last 5 minutes.  On a failed fetch the cached set (even an
 * old one) is returned with AZMI_OK and *stale set (may be NULL); without
 * one, the fetch's error.  The caller frees *out with jwks_free.
 */
AZMI_MUST_CHECK azmi_err jwks_load(const struct jwks_source *src, int ver, bool kid_unknown,
                                   struct jwks **out, bool *stale, struct azmi_error *err);

#endif

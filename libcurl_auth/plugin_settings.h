/*
 * plugin_settings.h - the token context and the plug-in's own configuration
 * keys, loaded once per process on first use:
 *   curl_rule = <host pattern> <scope>|none   (any number of lines; first match wins)
 *   storage_version = YYYY-MM-DD              (x-ms-version sent to Storage; default 2021-08-06)
 *   curl_retry_on_challenge = yes|no          (one refresh-and-retry on a Storage 401 challenge; default no)
 *   cloud = AzureCloud|AzureUSGovernment|AzureChinaCloud   (shared with the core: whose built-in
 *                                             host rules apply; default AzureCloud)
 * The file is the one the core reads: $AZMI_CONFIG, else /etc/azmi.conf.
 */
#ifndef AZMI_PLUGIN_SETTINGS_H
#define AZMI_PLUGIN_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "hostrule.h"

#define PLUGIN_DEFAULT_STORAGE_VERSION "2021-08-06"

struct plugin_settings {
	struct azmi_ctx *ctx;      /* NULL when the context or the file could not be loaded */
	struct azmi_error ctx_err; /* why, when ctx is NULL */
	struct hostrule *rules;    /* the administrator's rules */
	enum azmi_cloud cloud;     /* only this cloud's built-in rules apply */
	size_t nrules;
	char storage_version[16];
	bool retry_on_challenge;
};

/* The settings, loaded on the first call (thread-safe); never NULL. */
const struct plugin_settings *plugin_settings(void);

/*
 * Parse the value of one curl_rule line into `rule` (strings allocated).
 * False with a reason in `why` when it is not "<pattern> <https scope>|none".
 */
bool plugin_parse_rule(const char *value, struct hostrule *rule, char *why, size_t whylen);

#endif

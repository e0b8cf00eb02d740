/* plugin_settings.c - the plug-in's configuration keys and its token context. */
#include "plugin_settings.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static pthread_once_t settings_once = PTHREAD_ONCE_INIT;
static struct plugin_settings settings;

bool plugin_parse_rule(const char *value, struct hostrule *rule, char *why, size_t whylen)
{
	char pattern[HOSTRULE_MAX_HOST + 1], scope[HOSTRULE_MAX_SCOPE];
	size_t plen = strcspn(value, " \t"), rest;
	const char *s = value + plen;
	char *pat = NULL, *sc = NULL;

	memset(rule, 0, sizeof(*rule));
	s += strspn(s, " \t");
	rest = strcspn(s, " \t");
	if (plen == 0 || plen > HOSTRULE_MAX_HOST || rest == 0 || rest >= sizeof(scope) ||
	    s[rest + strspn(s + rest, " \t")] != '\0') {
		snprintf(why, whylen, "expected \"<host pattern> <scope>\" or \"<host pattern> none\"");
		return false;
	}
	for (size_t i = 0; i < plen; i++)
		pattern[i] = (value[i] >= 'A' && value[i] <= 'Z') ? (char)(value[i] - 'A' + 'a') : value[i];
	pattern[plen] = '\0';
	memcpy(scope, s, rest);
	scope[rest] = '\0';
	if (!hostrule_pattern_valid(pattern)) {
		snprintf(why, whylen,
		         "bad host pattern (labels of a-z 0-9 - _ and *, at least two labels, no * in the "
		         "last two)");
		return false;
	}
	if (strcmp(scope, "none") == 0) {
		rule->kind = HOSTRULE_NONE;
	} else if (hostrule_scope_valid(scope)) {
		rule->kind = hostrule_kind_for_scope(scope);
		if ((sc = strdup(scope)) == NULL)
			goto nomem;
	} else {
		snprintf(why, whylen,
		         "the scope must be an https:// URL (such as https://example.com/.default) or none");
		return false;
	}
	if ((pat = strdup(pattern)) == NULL)
		goto nomem;
	rule->pattern = pat;
	rule->scope = sc;
	return true;
nomem:
	free(sc);
	snprintf(why, whylen, "out of memory");
	return false;
}

static bool valid_version(const char *v)
{
	/* YYYY-MM-DD */
	if (strlen(v) != 10 || v[4] != '-' || v[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (v[i] < '0' || v[i] > '9'))
			return false;
	return true;
}

static azmi_err fail(const char *where, unsigned int line, const char *what)
{
	struct azmi_error *e = &settings.ctx_err;

	e->code = AZMI_ERR_CONFIG;
	snprintf(e->source, sizeof(e->source), "config");
	snprintf(e->message, sizeof(e->message), "%s:%u: %s", where, line, what);
	return AZMI_ERR_CONFIG;
}

static azmi_err read_keys(struct config_file *cf)
{
	const char *where = cf->path ? cf->path : "configuration";
	char why[160];

	for (size_t i = 0; i < cf->count; i++) {
		struct config_kv *kv = &cf->items[i];
		if (strcmp(kv->key, "curl_rule") == 0) {
			struct hostrule *r = reallocarray(settings.rules, settings.nrules + 1, sizeof(*r));
			if (r == NULL)
				return fail(where, kv->line, "out of memory");
			settings.rules = r;
			if (!plugin_parse_rule(kv->value, &r[settings.nrules], why, sizeof(why)))
				return fail(where, kv->line, why);
			settings.nrules++;
			kv->used = true;
		} else if (strcmp(kv->key, "cloud") == 0) {
			/* The core reads it too (and marks it used); here it picks the built-in host rules. */
			if (!settings_parse_cloud(kv->value, &settings.cloud))
				return fail(where, kv->line,
				            "cloud must be AzureCloud, AzureUSGovernment or AzureChinaCloud");
		} else if (strcmp(kv->key, "storage_version") == 0) {
			if (!valid_version(kv->value))
				return fail(where, kv->line, "storage_version must look like 2021-08-06");
			snprintf(settings.storage_version, sizeof(settings.storage_version), "%s", kv->value);
			kv->used = true;
		} else if (strcmp(kv->key, "curl_retry_on_challenge") == 0) {
			if (strcmp(kv->value, "yes") != 0 && strcmp(kv->value, "no") != 0)
				return fail(where, kv->line, "curl_retry_on_challenge must be yes or no");
			settings.retry_on_challenge = strcmp(kv->value, "yes") == 0;
			kv->used = true;
		}
	}
	return AZMI_OK;
}

static void load(void)
{
	struct config_file cf = {0};
	const char *path = secure_getenv("AZMI_CONFIG");
	bool required = path != NULL && path[0] != '\0';
	azmi_err r;

	snprintf(settings.storage_version, sizeof(settings.storage_version), "%s",
	         PLUGIN_DEFAULT_STORAGE_VERSION);
	settings.ctx_err.size = sizeof(settings.ctx_err);
	r = config_read(&cf, required ? path : CONFIG_DEFAULT_PATH, required, &settings.ctx_err);
	if (r == AZMI_OK)
		r = read_keys(&cf);
	config_file_free(&cf);
	if (r != AZMI_OK)
		return; /* fail closed: no context, every matching request reports the error */
	if (azmi_ctx_new(&settings.ctx, NULL, &settings.ctx_err) != AZMI_OK)
		settings.ctx = NULL;
}

const struct plugin_settings *plugin_settings(void)
{
	pthread_once(&settings_once, load);
	return &settings;
}

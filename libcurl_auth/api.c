/* api.c - the public C API of libazmi_curl (include/azmi_curl.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

#include "azmi_curl.h"

#define API __attribute__((visibility("default")))

/* Empty the caller's `err`, keeping its size (AZMI_ERROR_INIT). */
static void err_reset(struct azmi_error *err)
{
	size_t size = err->size;

	memset(err, 0, sizeof(*err));
	err->size = size;
}

static azmi_err not_loaded(struct azmi_error *err)
{
	if (err != NULL) {
		err_reset(err);
		err->code = AZMI_ERR_SYSTEM;
		snprintf(err->message, sizeof(err->message),
		         "azmi: the libcurl functions could not be found");
	}
	return AZMI_ERR_SYSTEM;
}

API azmi_err azmi_curl_prepare(CURL *h, const char *url, struct azmi_error *err)
{
	struct azmi_error local = AZMI_ERROR_INIT;
	struct handle_state *st;
	enum decision d;

	if (err == NULL)
		err = &local;
	if (err->size != sizeof(*err))
		return AZMI_ERR_USAGE; /* a struct this library does not know: nothing written into it */
	err_reset(err);
	if (!plugin_init())
		return not_loaded(err);
	if (h == NULL) {
		err->code = AZMI_ERR_USAGE;
		snprintf(err->message, sizeof(err->message), "azmi_curl_prepare: no handle");
		return AZMI_ERR_USAGE;
	}
	if (url != NULL) {
		char *copy = strdup(url);
		if (copy == NULL || real.easy_setopt(h, CURLOPT_URL, url) != CURLE_OK) {
			free(copy);
			err->code = AZMI_ERR_NOMEM;
			snprintf(err->message, sizeof(err->message),
			         "azmi_curl_prepare: could not set the URL");
			return AZMI_ERR_NOMEM;
		}
		handles_lock();
		st = handles_get(h);
		if (st != NULL) {
			free(st->url);
			st->url = copy;
			copy = NULL;
			st->curlu = NULL;
			st->url_unknown = false;
		}
		handles_unlock();
		free(copy);
		if (st == NULL) {
			err->code = AZMI_ERR_NOMEM;
			snprintf(err->message, sizeof(err->message), "azmi_curl_prepare: out of memory");
			return AZMI_ERR_NOMEM;
		}
	}
	d = plugin_decide(h, NULL, false, err);
	if (d == DECIDE_NO_TOKEN || d == DECIDE_REFUSED)
		return err->code != AZMI_OK ? err->code : AZMI_ERR_UNAVAILABLE;
	err_reset(err);
	return AZMI_OK;
}

API azmi_err azmi_curl_install(struct azmi_error *err)
{
	if (err != NULL) {
		if (err->size != sizeof(*err))
			return AZMI_ERR_USAGE; /* a struct this library does not know: nothing written into it */
		err_reset(err);
	}
	if (!plugin_init())
		return not_loaded(err);
	plugin_set_installed();
	return AZMI_OK;
}

API const char *azmi_curl_scope(const char *url)
{
	return url ? plugin_scope_for_url(url) : NULL;
}

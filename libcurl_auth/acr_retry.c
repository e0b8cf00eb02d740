/* acr_retry.c - answering a container registry's 401 challenge (see acr_retry.h). */
#include "acr_retry.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "acr.h"
#include "challenge.h"
#include "challenge_retry.h"
#include "plugin_settings.h"
#include "util.h"

/*
 * A registry that gave no token is not asked again for NEGATIVE_SECONDS in
 * this process, so a script pulling many tags does not repeat a failing
 * exchange at every request.
 */
#define NEGATIVE_SECONDS 30

static pthread_mutex_t negative_mutex = PTHREAD_MUTEX_INITIALIZER;
static char negative_registry[ACR_MAX_HOST + 1];
static int64_t negative_until_ms;
static char negative_why[512];

static bool negative_get(const char *registry, char *why, size_t len)
{
	bool hit;

	pthread_mutex_lock(&negative_mutex);
	hit = strcmp(negative_registry, registry) == 0 && negative_until_ms > util_mono_ms();
	if (hit)
		snprintf(why, len, "%s", negative_why);
	pthread_mutex_unlock(&negative_mutex);
	return hit;
}

static void negative_put(const char *registry, const char *why)
{
	pthread_mutex_lock(&negative_mutex);
	snprintf(negative_registry, sizeof(negative_registry), "%s", registry);
	negative_until_ms = util_mono_ms() + NEGATIVE_SECONDS * 1000;
	snprintf(negative_why, sizeof(negative_why), "%.*s", (int)strcspn(why, "\n"), why);
	pthread_mutex_unlock(&negative_mutex);
}

/* One stderr line for a challenge azmi could not answer; the verdict strict mode asks for. */
static enum hold_verdict give_up(const struct registry_target *t, const char *scope, const char *why)
{
	char line[1000];

	snprintf(line, sizeof(line), "azmi: no registry token for %.200s (scope \"%.200s\"): %s; %s",
	         t->registry, scope, why,
	         plugin_strict() ? "the transfer fails (AZMI_CURL_STRICT=1)"
	                         : "the registry's 401 goes to the application");
	plugin_warn_once(line);
	return plugin_strict() ? HOLD_FAIL : HOLD_RELEASE;
}

enum hold_verdict acr_answer(CURL *h, const struct registry_target *t, const char *value)
{
	const struct plugin_settings *ps;
	struct acr_request req = {0};
	struct azmi_token *tok = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct challenge ch;
	char why[512];
	enum hold_verdict v = HOLD_RELEASE;

	if (!challenge_parse(value, strlen(value), &ch) || ch.realm[0] == '\0')
		return HOLD_RELEASE; /* no Bearer challenge: nothing for azmi to answer */
	if (!acr_challenge_ok(t->registry, ch.realm, ch.service, ch.scope, why, sizeof(why)))
		return give_up(t, ch.scope, why); /* a realm elsewhere never gets a token */
	ps = plugin_settings();
	if (ps->ctx == NULL)
		return give_up(t, ch.scope,
		               ps->ctx_err.message[0] ? ps->ctx_err.message : "no configuration");
	if (negative_get(t->registry, why, sizeof(why)))
		return give_up(t, ch.scope, why);
	req.registry = t->registry;
	req.id_kind = AZMI_ID_DEFAULT;
	plugin_busy++;
	if (acr_access_token(ps->ctx, &req, ch.scope, &tok, NULL, &err) != AZMI_OK) {
		negative_put(t->registry, err.message);
		snprintf(why, sizeof(why), "%.*s", (int)strcspn(err.message, "\n"), err.message);
		v = give_up(t, ch.scope, why);
	} else if (!plugin_token_ok(tok) || !plugin_attach(h, t, tok)) {
		v = give_up(t, ch.scope, "could not set the bearer option on the handle");
	} else {
		v = HOLD_RETRY;
	}
	plugin_busy--;
	azmi_token_release(tok);
	return v;
}

static enum hold_verdict registry_answer(CURL *h, const char *value, void *arg)
{
	return acr_answer(h, arg, value);
}

/* The warning for a registry call whose credentials would follow redirects to other hosts. */
static void warn_refused(const struct registry_target *t)
{
	char line[600];

	snprintf(line, sizeof(line),
	         "azmi: not answering the registry challenge of %s: this transfer may resend credentials "
	         "after a redirect to another host (--location-trusted / CURLOPT_UNRESTRICTED_AUTH)",
	         t->registry);
	plugin_warn_once(line);
}

bool acr_retry_perform(CURL *h, CURLcode *rc)
{
	struct registry_target t;
	enum acr_target which;

	if (!plugin_installed())
		return false;
	which = plugin_acr_target(h, &t);
	if (which == ACR_TARGET_REFUSED)
		warn_refused(&t);
	if (which != ACR_TARGET_YES)
		return false;
	*rc = challenge_hold_perform(h, registry_answer, &t);
	return true;
}

void acr_arm_multi(CURL *h)
{
	struct registry_target t;
	enum acr_target which;

	if (!plugin_installed())
		return;
	which = plugin_acr_target(h, &t);
	if (which == ACR_TARGET_REFUSED)
		warn_refused(&t);
	if (which == ACR_TARGET_YES && !plugin_arm(h, &t))
		plugin_warn_once(
		    "azmi: registry challenges under the multi interface need libcurl 7.84 or later; "
		    "the registry's 401 goes to the application");
}

/* urlfacts.c - what a URL says (see urlfacts.h). */
#include "urlfacts.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "plugin.h"
#include "plugin_settings.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* True when a query parameter is named "sig" (a SAS signature), percent-decoding names. */
static bool query_has_sig(const char *q)
{
	while (*q != '\0') {
		size_t n = strcspn(q, "&"), name = strcspn(q, "=&");
		char dec[4];
		size_t d = 0;

		for (size_t i = 0; i < name && d < sizeof(dec); i++) {
			if (q[i] == '%' && i + 2 < name && hexval(q[i + 1]) >= 0 && hexval(q[i + 2]) >= 0) {
				dec[d++] = (char)(hexval(q[i + 1]) * 16 + hexval(q[i + 2]));
				i += 2;
			} else {
				dec[d++] = q[i];
			}
		}
		if (d == 3 && strncasecmp(dec, "sig", 3) == 0 && (name >= 3 && name <= 9))
			return true;
		q += n;
		if (*q == '&')
			q++;
	}
	return false;
}

/* "scheme://host:port", lower case, without the host's trailing dot. */
static void set_origin(struct url_facts *f, const char *scheme, const char *host, const char *port)
{
	size_t hl = strlen(host);
	int n;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	n = snprintf(f->origin, sizeof(f->origin), "%.10s://%.*s:%.5s", scheme, (int)hl, host, port);
	if (n < 0 || (size_t)n >= sizeof(f->origin)) {
		f->origin[0] = '\0';
		return;
	}
	for (char *c = f->origin; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
}

bool url_inspect(const char *url, struct url_facts *f)
{
	CURLU *u = real.url();
	char *scheme = NULL, *host = NULL, *query = NULL, *user = NULL, *pass = NULL, *path = NULL,
	     *port = NULL, *dport = NULL;
	bool ok = false;

	memset(f, 0, sizeof(*f));
	if (u == NULL || url == NULL)
		goto out;
	if (real.url_set(u, CURLUPART_URL, url, CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
		goto out;
	if (real.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    real.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	f->https = strcasecmp(scheme, "https") == 0 && strstr(url, "://") != NULL;
	f->user = real.url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	          real.url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK;
	f->sas = real.url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK && query_has_sig(query);
	f->v2 = real.url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	        (strcmp(path, "/v2") == 0 || strncmp(path, "/v2/", 4) == 0);
	f->default_port = real.url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK || strcmp(port, "443") == 0;
	if (strlen(host) > HOSTRULE_MAX_HOST ||
	    real.url_get(u, CURLUPART_PORT, &dport, CURLU_DEFAULT_PORT) != CURLUE_OK)
		goto out;
	snprintf(f->host, sizeof(f->host), "%s", host);
	f->rule = hostrule_find(host, strlen(host), plugin_settings()->rules, plugin_settings()->nrules,
	                        plugin_settings()->cloud);
	set_origin(f, scheme, host, dport);
	ok = true;
out:
	if (!ok)
		memset(f, 0, sizeof(*f));
	if (scheme)
		real.free(scheme);
	if (host)
		real.free(host);
	if (query)
		real.free(query);
	if (user)
		real.free(user);
	if (pass)
		real.free(pass);
	if (path)
		real.free(path);
	if (port)
		real.free(port);
	if (dport)
		real.free(dport);
	if (u)
		real.url_cleanup(u);
	return ok;
}

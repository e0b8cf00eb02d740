/* acr_parse.c - the Container Registry's names, scopes, challenges and answers (no I/O). */
#include "acr.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "expiry.h"
#include "json.h"
#include "jwt.h"
#include "token.h"
#include "util.h"

static const char *const registry_suffixes[] = {".azurecr.io", ".azurecr.us", ".azurecr.cn"};

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A registry name label: 1-63 of [a-z0-9-], no hyphen at either end. */
static bool name_label_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* True when the lower case `host` is <label><suffix> for a known registry suffix. */
static bool registry_host_ok(const char *host, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(registry_suffixes); i++) {
		size_t n = strlen(registry_suffixes[i]);
		if (len > n && memcmp(host + len - n, registry_suffixes[i], n) == 0)
			return name_label_ok(host, len - n);
	}
	return false;
}

bool acr_registry_name(const char *in, size_t len, char out[ACR_MAX_HOST + 1])
{
	size_t start = 0, end = len, hlen = 0, i;
	char host[ACR_MAX_HOST + 1];

	out[0] = '\0';
	if (in == NULL)
		return false;
	while (start < end && is_space(in[start]))
		start++;
	while (end > start && is_space(in[end - 1]))
		end--;
	in += start;
	len = end - start;
	if (len >= 8 && strncasecmp(in, "https://", 8) == 0) {
		in += 8;
		len -= 8;
	} else if (memmem(in, len, "://", 3) != NULL) {
		return false; /* http:// or anything else: never */
	}
	for (i = 0; i < len && in[i] != ':' && in[i] != '/'; i++) {
		if (hlen >= ACR_MAX_HOST || (unsigned char)in[i] <= 0x20 || (unsigned char)in[i] >= 0x7f)
			return false;
		host[hlen++] = lower(in[i]);
	}
	host[hlen] = '\0';
	if (hlen > 0 && host[hlen - 1] == '.')
		host[--hlen] = '\0';
	if (i < len && in[i] == ':') {
		/* Only the https port itself. */
		if (len - i < 4 || memcmp(in + i, ":443", 4) != 0 || (len - i > 4 && in[i + 4] != '/'))
			return false;
		i += 4;
	}
	/* Whatever path follows ("/", "/v2/") names the same registry; it must still be plain text. */
	if (!util_is_printable(in + i, len - i) || memchr(in + i, ' ', len - i) != NULL)
		return false;
	if (!registry_host_ok(host, hlen))
		return false;
	memcpy(out, host, hlen + 1);
	return true;
}

static bool scope_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("._-/:,*()", c) != NULL);
}

/* One scope "type:name:actions": allowed characters, a type and actions around a non-empty name. */
static bool one_scope_ok(const char *s, size_t len)
{
	const char *c1 = memchr(s, ':', len), *c2;

	if (c1 == NULL || c1 == s)
		return false;
	c2 = memrchr(s, ':', len);
	if (c2 == c1 || c2 == c1 + 1 || c2 == s + len - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!scope_char(s[i]))
			return false;
	return true;
}

bool acr_scope_valid(const char *scope)
{
	size_t len, n = 0;

	if (scope == NULL || (len = strnlen(scope, ACR_MAX_SCOPE + 1)) == 0 || len > ACR_MAX_SCOPE)
		return false;
	while (*scope != '\0') {
		size_t l = strcspn(scope, " ");
		if (l == 0 || ++n > ACR_MAX_SCOPES || !one_scope_ok(scope, l))
			return false;
		scope += l;
		if (*scope == ' ' && *++scope == '\0')
			return false; /* a trailing space */
	}
	return true;
}

bool acr_challenge_ok(const char *registry, const char *realm, const char *service, const char *scope,
                      char *why, size_t whylen)
{
	static const char path[] = "/oauth2/token";
	size_t rlen = strlen(registry), n;
	char host[ACR_MAX_HOST + 1];

	if (realm == NULL || strncasecmp(realm, "https://", 8) != 0) {
		snprintf(why, whylen, "the challenge's realm is not an https:// URL");
		return false;
	}
	n = strcspn(realm + 8, ":/");
	if (n != rlen || n > ACR_MAX_HOST) {
		snprintf(why, whylen, "the challenge's realm is on another host than %s", registry);
		return false;
	}
	for (size_t i = 0; i < n; i++)
		host[i] = lower(realm[8 + i]);
	host[n] = '\0';
	if (strcmp(host, registry) != 0) {
		snprintf(why, whylen, "the challenge's realm is on another host than %s", registry);
		return false;
	}
	realm += 8 + n;
	if (strncmp(realm, ":443", 4) == 0)
		realm += 4;
	if (strcmp(realm, path) != 0) {
		snprintf(why, whylen, "the challenge's realm is not https://%s%s", registry, path);
		return false;
	}
	if (service == NULL || strcasecmp(service, registry) != 0) {
		snprintf(why, whylen, "the challenge's service is not %s", registry);
		return false;
	}
	if (scope != NULL && scope[0] != '\0' && !acr_scope_valid(scope)) {
		snprintf(why, whylen, "the challenge's scope is not a registry scope (type:name:actions)");
		return false;
	}
	return true;
}

/* The "exp" claim of a JWT, or -1 when the token is no JWT or has none. */
static int64_t jwt_exp(const char *tok, size_t len)
{
	struct json_object *claims = jwt_decode_part(tok, len, 1);
	int64_t exp = -1;

	if (claims != NULL && json_get_int64(claims, "exp", 1, 253402300799, &exp) != 0)
		exp = -1;
	json_object_put(claims);
	return exp;
}

azmi_err acr_answer_parse(const char *body, size_t len, const char *field, int64_t now, const char *registry,
                          struct azmi_token **out, char *why, size_t whylen)
{
	struct json_object *obj = json_parse_bounded(body, len);
	const char *tok;
	size_t toklen;
	struct expiry x;
	int64_t exp, expires_in;
	azmi_err r = AZMI_ERR_PROTOCOL;

	*out = NULL;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "the answer is not a JSON object%s",
		         len > 0 && body[0] == '<' ? " (it looks like HTML: is a proxy answering?)" : "");
		goto out;
	}
	if ((tok = json_get_string(obj, field, &toklen)) == NULL) {
		snprintf(why, whylen, "the answer has no %s string", field);
		goto out;
	}
	if (!token_text_valid(tok, toklen)) {
		snprintf(why, whylen,
		         "field %s is not a bearer token (%zu bytes; at most %d allowed, letters, digits "
		         "and -._~+/= only)",
		         field, toklen, TOKEN_MAX_LEN);
		goto out;
	}
	exp = jwt_exp(tok, toklen);
	if (exp < 0 && json_get_int64(obj, "expires_in", 1, EXPIRY_MAX_LIFETIME, &expires_in) == 0)
		exp = now + expires_in;
	if (exp < 0)
		exp = now + ACR_DEFAULT_LIFETIME;
	if (exp <= now) {
		snprintf(why, whylen, "the %s is already expired (expiry %lld, now %lld): check the clock",
		         field, (long long)exp, (long long)now);
		goto out;
	}
	x.expires_on = exp - now > EXPIRY_MAX_LIFETIME ? now + EXPIRY_MAX_LIFETIME : exp;
	expiry_schedule(&x, now, -1);
	if ((*out = token_new(tok, toklen, &x, registry,
	                      strcmp(field, "refresh_token") == 0 ? ACR_CACHE_SOURCE : "acr-access")) ==
	    NULL) {
		snprintf(why, whylen, "out of memory");
		r = AZMI_ERR_NOMEM;
		goto out;
	}
	r = AZMI_OK;
out:
	json_object_put(obj);
	return r;
}

void acr_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	struct json_object *obj = len > 0 ? json_parse_bounded(body, len) : NULL;
	struct json_object *errors, *first;
	const char *code = NULL, *msg = NULL;

	if (obj && json_object_object_get_ex(obj, "errors", &errors) &&
	    json_object_is_type(errors, json_type_array) && json_object_array_length(errors) > 0 &&
	    (first = json_object_array_get_idx(errors, 0)) != NULL &&
	    json_object_is_type(first, json_type_object)) {
		code = json_get_string(first, "code", NULL);
		msg = json_get_string(first, "message", NULL);
	}
	if (code || msg) {
		answer_format_error(code, msg, out, outlen);
	} else {
		answer_error_text(body, len, out, outlen);
	}
	json_object_put(obj);
}

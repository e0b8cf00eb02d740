/* hostrule.c - host name -> scope rules, matched on label boundaries. */
#include "hostrule.h"

#include <stdint.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

#define STORAGE_SCOPE "https://storage.azure.com/.default"

/* Built-in rules: public cloud, US Government, China; only the configured cloud's apply (builtin_cloud). */
static const struct hostrule builtin[] = {
    {"*.blob.core.windows.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.dfs.core.windows.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.queue.core.windows.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.table.core.windows.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.file.core.windows.net", STORAGE_SCOPE, HOSTRULE_FILES},
    {"*.z*.blob.storage.azure.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.z*.dfs.storage.azure.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.z*.queue.storage.azure.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.z*.table.storage.azure.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.z*.file.storage.azure.net", STORAGE_SCOPE, HOSTRULE_FILES},
    {"management.azure.com", "https://management.azure.com/.default", HOSTRULE_PLAIN},
    {"*.vault.azure.net", "https://vault.azure.net/.default", HOSTRULE_PLAIN},
    {"*.managedhsm.azure.net", "https://managedhsm.azure.net/.default", HOSTRULE_PLAIN},
    {"*.azurecr.io", NULL, HOSTRULE_ACR},

    /* Azure DevOps (Azure Repos over https, ...): Entra tokens for its resource, public cloud only. */
    {"dev.azure.com", "499b84ac-1321-427f-aa17-267ca6975798/.default", HOSTRULE_PLAIN},
    {"*.visualstudio.com", "499b84ac-1321-427f-aa17-267ca6975798/.default", HOSTRULE_PLAIN},

    {"*.blob.core.usgovcloudapi.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.dfs.core.usgovcloudapi.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.queue.core.usgovcloudapi.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.table.core.usgovcloudapi.net", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.file.core.usgovcloudapi.net", STORAGE_SCOPE, HOSTRULE_FILES},
    {"management.usgovcloudapi.net", "https://management.usgovcloudapi.net/.default", HOSTRULE_PLAIN},
    {"*.vault.usgovcloudapi.net", "https://vault.usgovcloudapi.net/.default", HOSTRULE_PLAIN},
    {"*.managedhsm.usgovcloudapi.net", "https://managedhsm.usgovcloudapi.net/.default", HOSTRULE_PLAIN},
    {"*.azurecr.us", NULL, HOSTRULE_ACR},

    {"*.blob.core.chinacloudapi.cn", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.dfs.core.chinacloudapi.cn", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.queue.core.chinacloudapi.cn", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.table.core.chinacloudapi.cn", STORAGE_SCOPE, HOSTRULE_STORAGE},
    {"*.file.core.chinacloudapi.cn", STORAGE_SCOPE, HOSTRULE_FILES},
    {"management.chinacloudapi.cn", "https://management.chinacloudapi.cn/.default", HOSTRULE_PLAIN},
    {"*.vault.azure.cn", "https://vault.azure.cn/.default", HOSTRULE_PLAIN},
    {"*.managedhsm.azure.cn", "https://managedhsm.azure.cn/.default", HOSTRULE_PLAIN},
    {"*.azurecr.cn", NULL, HOSTRULE_ACR},
};

/*
 * The cloud a built-in rule belongs to, from its pattern's suffix: a VM lives in one cloud, so only
 * the configured cloud's hosts get tokens (curl_rule adds any other).  Anything else is public.
 */
static enum azmi_cloud builtin_cloud(const char *pattern)
{
	static const struct {
		const char *suffix;
		enum azmi_cloud cloud;
	} sovereign[] = {
	    {".usgovcloudapi.net", CLOUD_USGOV}, {".azurecr.us", CLOUD_USGOV},
	    {".chinacloudapi.cn", CLOUD_CHINA},  {".azure.cn", CLOUD_CHINA},
	    {".azurecr.cn", CLOUD_CHINA},
	};
	size_t len = strlen(pattern);

	for (size_t i = 0; i < sizeof(sovereign) / sizeof(sovereign[0]); i++) {
		size_t n = strlen(sovereign[i].suffix);
		if (len > n && strcmp(pattern + len - n, sovereign[i].suffix) == 0)
			return sovereign[i].cloud;
	}
	return CLOUD_PUBLIC;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool host_char(char c)
{
	c = lower(c);
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/*
 * One label against one pattern label.  '*' matches one or more characters;
 * the classic single-backtrack glob walk, so the cost stays linear-ish.
 */
static bool label_match(const char *p, size_t plen, const char *h, size_t hlen)
{
	size_t pi = 0, hi = 0, star = SIZE_MAX, mark = 0;

	while (hi < hlen) {
		if (pi < plen && p[pi] == '*') {
			star = pi++;
			mark = ++hi; /* the star takes at least one character */
		} else if (pi < plen && p[pi] == lower(h[hi])) {
			pi++;
			hi++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			hi = ++mark;
		} else {
			return false;
		}
	}
	return pi == plen;
}

/* The label ending just before `end` (exclusive), scanning back from it. */
static size_t label_start(const char *s, size_t end)
{
	while (end > 0 && s[end - 1] != '.')
		end--;
	return end;
}

bool hostrule_pattern_match(const char *pattern, const char *host, size_t len)
{
	size_t pend = strlen(pattern), hend = len;

	for (;;) {
		size_t ps = label_start(pattern, pend), hs = label_start(host, hend);

		if (hend == hs || pend == ps) /* empty label */
			return false;
		if (!label_match(pattern + ps, pend - ps, host + hs, hend - hs))
			return false;
		if (ps == 0 || hs == 0)
			return ps == 0 && hs == 0; /* same number of labels */
		pend = ps - 1;
		hend = hs - 1;
	}
}

/* A plain DNS name: labels of 1-63 host characters, at most 253 bytes. */
static bool host_valid(const char *host, size_t len)
{
	size_t label = 0;

	if (len == 0 || len > HOSTRULE_MAX_HOST)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (host[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!host_char(host[i]) || ++label > 63) {
			return false;
		}
	}
	return label > 0;
}

const struct hostrule *hostrule_find(const char *host, size_t len, const struct hostrule *extra,
                                     size_t nextra, enum azmi_cloud cloud)
{
	if (len > 0 && host[len - 1] == '.')
		len--;
	if (!host_valid(host, len))
		return NULL;
	for (size_t i = 0; i < nextra; i++)
		if (hostrule_pattern_match(extra[i].pattern, host, len))
			return &extra[i];
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (builtin_cloud(builtin[i].pattern) == cloud &&
		    hostrule_pattern_match(builtin[i].pattern, host, len))
			return &builtin[i];
	return NULL;
}

bool hostrule_pattern_valid(const char *pattern)
{
	size_t len = strlen(pattern), labels = 0, label = 0;
	const char *last_star = strrchr(pattern, '*');
	const char *second_dot = NULL;

	if (len == 0 || len > HOSTRULE_MAX_HOST)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = pattern[i];
		if (c == '.') {
			if (label == 0)
				return false;
			labels++;
			label = 0;
		} else if (c == '*' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		           c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	if (label == 0 || ++labels < 2)
		return false;
	/* The last two labels must be fixed: find the dot before them. */
	for (size_t i = len, dots = 0; i > 0; i--) {
		if (pattern[i - 1] == '.' && ++dots == 2) {
			second_dot = pattern + i - 1;
			break;
		}
	}
	if (last_star == NULL)
		return true;
	return second_dot != NULL && last_star < second_dot;
}

/* An application id as Entra writes it: 8-4-4-4-12 hexadecimal digits. */
static bool is_guid(const char *s, size_t len)
{
	if (len != 36)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

bool hostrule_scope_valid(const char *scope)
{
	static const char suffix[] = "/.default";
	size_t len = strlen(scope), slen = sizeof(suffix) - 1;

	if (len >= HOSTRULE_MAX_SCOPE)
		return false;
	/* An application's id with /.default, as Azure DevOps' resource is named. */
	if (len > slen && strcmp(scope + len - slen, suffix) == 0 && is_guid(scope, len - slen))
		return true;
	if (len <= 8 || strncmp(scope, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (scope[i] <= 0x20 || scope[i] >= 0x7f)
			return false;
	return true;
}

/* [s, s+*len) without "/.default" and then one trailing '/'. */
static void resource_trim(const char *s, size_t *len)
{
	static const char suffix[] = "/.default";
	size_t slen = sizeof(suffix) - 1;

	if (*len >= slen && strncasecmp(s + *len - slen, suffix, slen) == 0)
		*len -= slen;
	if (*len > 0 && s[*len - 1] == '/')
		(*len)--;
}

bool hostrule_same_resource(const char *resource, size_t len, const char *scope)
{
	size_t slen = strlen(scope);

	resource_trim(resource, &len);
	resource_trim(scope, &slen);
	return len > 0 && len == slen && strncasecmp(resource, scope, len) == 0;
}

enum hostrule_kind hostrule_kind_for_scope(const char *scope)
{
	static const char storage[] = "https://storage.azure.com";

	return hostrule_same_resource(storage, sizeof(storage) - 1, scope) ? HOSTRULE_STORAGE
	                                                                   : HOSTRULE_PLAIN;
}

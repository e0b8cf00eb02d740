/* login_conf.c - defaults, the file keys and module arguments of the login modules, through one setter. */
#include "login_conf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "principal.h"
#include "util.h"

/* The file keys this library owns: config_keys.def beside this file (the core's list includes them). */
static const char *const file_keys[] = {
#define CONFIG_KEY(name)        #name,
#define CONFIG_KEY_DIRECT(name) /* read where it is used, not a login_conf field */
#include "config_keys.def"
#undef CONFIG_KEY
#undef CONFIG_KEY_DIRECT
};

void login_conf_init(struct login_conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->admin_group, sizeof(c->admin_group), "%s", LOGIN_DEFAULT_ADMIN_GROUP);
	c->cache_ttl = LOGIN_DEFAULT_CACHE_TTL;
	c->offline_grace = 0;
	c->uid_min = LOGIN_DEFAULT_UID_MIN;
	c->uid_max = LOGIN_DEFAULT_UID_MAX;
	snprintf(c->ssh_ca_file, sizeof(c->ssh_ca_file), "%s", LOGIN_DEFAULT_SSH_CA_FILE);
	c->ssh_ca_keep = LOGIN_DEFAULT_SSH_CA_KEEP;
}

static bool is_domain_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '.';
}

/* A DNS name: letters, digits, '-' and '.', not starting or ending with a dot, copied in lower case. */
static bool copy_domain(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (len == 0 || len >= dstlen || src[0] == '.' || src[len - 1] == '.' || src[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_domain_char(src[i]) || (src[i] == '.' && src[i + 1] == '.'))
			return false;
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	}
	dst[len] = '\0';
	return true;
}

static enum lconf_result bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum lconf_result bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return LCONF_BAD_VALUE;
}

/* "a.example, b.example" or "a.example b.example". */
static enum lconf_result set_domains(struct login_conf *c, const char *v, char *why, size_t whylen)
{
	size_t n = 0;

	while (*v) {
		size_t len;
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			break;
		len = strcspn(v, " \t,");
		if (n == LOGIN_MAX_DOMAINS)
			return bad(why, whylen, "allowed_domains: more than %d domains", LOGIN_MAX_DOMAINS);
		if (*v == '@') {
			v++;
			len--;
		}
		if (!copy_domain(c->domains[n], sizeof(c->domains[n]), v, len)) {
			snprintf(why, whylen, "allowed_domains: \"%.*s\" is not a domain name", (int)len, v);
			return LCONF_BAD_VALUE;
		}
		n++;
		v += len;
	}
	c->ndomains = n;
	return LCONF_OK;
}

static enum lconf_result set_seconds(long *dst, const char *key, const char *v, int64_t max, char *why,
                                     size_t whylen)
{
	int64_t n;

	if (!util_parse_int64(v, strlen(v), 0, max, &n)) {
		snprintf(why, whylen, "%s: \"%s\" is not a whole number of seconds from 0 to %lld", key, v,
		         (long long)max);
		return LCONF_BAD_VALUE;
	}
	*dst = (long)n;
	return LCONF_OK;
}

/* "MIN-MAX": the admin group takes GID MIN, the users group GID MIN+1, users UIDs MIN+2..MAX. */
static enum lconf_result set_uid_range(struct login_conf *c, const char *v, char *why, size_t whylen)
{
	const char *dash = strchr(v, '-');
	int64_t lo, hi;

	if (dash == NULL || !util_parse_int64(v, (size_t)(dash - v), 1000, 2147483646, &lo) ||
	    !util_parse_int64(dash + 1, strlen(dash + 1), 1000, 2147483646, &hi) || hi - lo < 2)
		return bad(
		    why, whylen,
		    "uid_range: \"%s\" must be MIN-MAX with 1000 <= MIN, MIN + 2 <= MAX <= 2147483646 (the "
		    "admin group takes MIN, the users group MIN+1)",
		    v);
	c->uid_min = (uint32_t)lo;
	c->uid_max = (uint32_t)hi;
	return LCONF_OK;
}

/* A group name as useradd accepts it: [a-z_][a-z0-9_-]*, at most 32 bytes. */
static enum lconf_result set_group(struct login_conf *c, const char *v, char *why, size_t whylen)
{
	size_t len = strlen(v);

	if (len == 0 || len >= sizeof(c->admin_group) || !((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_'))
		return bad(why, whylen, "admin_group: \"%s\" is not a group name", v);
	for (size_t i = 1; i < len; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' ||
		      v[i] == '-'))
			return bad(why, whylen, "admin_group: \"%s\" is not a group name", v);
	if (strcmp(v, LOGIN_USERS_GROUP) == 0)
		return bad(why, whylen, "admin_group: \"%s\" is the users group", v);
	memcpy(c->admin_group, v, len + 1);
	return LCONF_OK;
}

static enum lconf_result set_path(char *dst, size_t dstlen, const char *key, const char *v, char *why,
                                  size_t whylen)
{
	if (v[0] != '/' || strlen(v) >= dstlen || !util_is_printable(v, strlen(v))) {
		snprintf(why, whylen, "%s: must be an absolute path", key);
		return LCONF_BAD_VALUE;
	}
	memcpy(dst, v, strlen(v) + 1);
	return LCONF_OK;
}

/*
 * A list of words separated by spaces or commas into rows of `width` bytes:
 * printable, no quotes; `guid` requires object ids (stored in lower case).
 */
static enum lconf_result set_list(const char *key, const char *v, char *rows, size_t width, size_t max,
                                  size_t *n, bool guid, char *why, size_t whylen)
{
	size_t count = 0;

	while (*v) {
		size_t len;
		char *row;
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			break;
		len = strcspn(v, " \t,");
		if (count == max)
			return bad(why, whylen, "%s: more than %zu values", key, max);
		row = rows + count * width;
		if (len >= width || !util_is_printable(v, len) || memchr(v, '"', len) != NULL)
			return bad(why, whylen, "%s: \"%.*s\" is not a valid value", key,
			           (int)(len > 80 ? 80 : len), v);
		for (size_t i = 0; i < len; i++)
			row[i] = guid && v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] + 32) : v[i];
		row[len] = '\0';
		if (guid && !principal_is_guid(row))
			return bad(why, whylen, "%s: \"%s\" is not an object id", key, row);
		count++;
		v += len;
	}
	*n = count;
	return LCONF_OK;
}

static enum lconf_result set_token_key(struct login_conf *c, const char *key, const char *v, char *why,
                                       size_t whylen)
{
	if (strcmp(key, "tenant") == 0) {
		if (v[0] != '\0' && !principal_is_guid(v))
			return bad(why, whylen, "tenant: \"%.80s\" is not a tenant id (GUID)", v);
		snprintf(c->tenant, sizeof(c->tenant), "%s", v);
		for (char *p = c->tenant; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		return LCONF_OK;
	}
	if (strcmp(key, "authority") == 0) {
		size_t len = strlen(v);
		if (strncmp(v, "https://", 8) != 0 || len < 9 || len >= sizeof(c->authority) ||
		    !util_is_printable(v, len) || strchr(v, '?') != NULL || strchr(v, '#') != NULL)
			return bad(why, whylen, "authority: must be an https URL");
		while (len > 8 && v[len - 1] == '/')
			len--;
		memcpy(c->authority, v, len);
		c->authority[len] = '\0';
		return LCONF_OK;
	}
	if (strcmp(key, "audiences") == 0)
		return set_list(key, v, &c->audiences[0][0], sizeof(c->audiences[0]), LOGIN_MAX_AUDIENCES,
		                &c->naudiences, false, why, whylen);
	if (strcmp(key, "required_roles") == 0)
		return set_list(key, v, &c->required_roles[0][0], LOGIN_ROLE_MAX, LOGIN_MAX_ROLES,
		                &c->nrequired_roles, false, why, whylen);
	if (strcmp(key, "admin_roles") == 0)
		return set_list(key, v, &c->admin_roles[0][0], LOGIN_ROLE_MAX, LOGIN_MAX_ROLES,
		                &c->nadmin_roles, false, why, whylen);
	if (strcmp(key, "required_groups") == 0)
		return set_list(key, v, &c->required_groups[0][0], LOGIN_GUID_SIZE, LOGIN_MAX_GROUPS,
		                &c->nrequired_groups, true, why, whylen);
	if (strcmp(v, "rbac") == 0)
		c->require = LOGIN_REQUIRE_RBAC;
	else if (strcmp(v, "token") == 0)
		c->require = LOGIN_REQUIRE_TOKEN;
	else if (strcmp(v, "both") == 0)
		c->require = LOGIN_REQUIRE_BOTH;
	else
		return bad(why, whylen, "require: \"%.40s\" is none of rbac, token, both", v);
	return LCONF_OK;
}

enum lconf_result login_conf_set(struct login_conf *c, const char *key, const char *value, char *why,
                                 size_t whylen)
{
	if (strcmp(key, "debug") == 0) {
		c->debug = value == NULL || strcmp(value, "yes") == 0 || strcmp(value, "1") == 0;
		return LCONF_OK;
	}
	if (value == NULL)
		return bad(why, whylen, "%s: needs a value (key=value)", key);
	if (strcmp(key, "config") == 0)
		return set_path(c->config_path, sizeof(c->config_path), key, value, why, whylen);
	if (strcmp(key, "allowed_domains") == 0)
		return set_domains(c, value, why, whylen);
	if (strcmp(key, "user_map") == 0)
		return set_path(c->user_map, sizeof(c->user_map), key, value, why, whylen);
	if (strcmp(key, "upn_suffix") == 0) {
		const char *d = value[0] == '@' ? value + 1 : value;
		if (!copy_domain(c->upn_suffix, sizeof(c->upn_suffix), d, strlen(d)))
			return bad(why, whylen, "upn_suffix: \"%s\" is not a domain name", value);
		return LCONF_OK;
	}
	if (strcmp(key, "admin_group") == 0)
		return set_group(c, value, why, whylen);
	if (strcmp(key, "cache_ttl") == 0)
		return set_seconds(&c->cache_ttl, key, value, 86400, why, whylen);
	if (strcmp(key, "offline_grace") == 0)
		return set_seconds(&c->offline_grace, key, value, 30L * 86400, why, whylen);
	if (strcmp(key, "uid_range") == 0)
		return set_uid_range(c, value, why, whylen);
	if (strcmp(key, "ssh_ca_file") == 0)
		return set_path(c->ssh_ca_file, sizeof(c->ssh_ca_file), key, value, why, whylen);
	if (strcmp(key, "ssh_ca_keep") == 0) {
		if (set_seconds(&c->ssh_ca_keep, key, value, 30L * 86400, why, whylen) != LCONF_OK)
			return LCONF_BAD_VALUE;
		if (c->ssh_ca_keep < 60)
			return bad(why, whylen, "ssh_ca_keep: at least 60 seconds");
		return LCONF_OK;
	}
	if (strcmp(key, "tenant") == 0 || strcmp(key, "authority") == 0 || strcmp(key, "audiences") == 0 ||
	    strcmp(key, "require") == 0 || strcmp(key, "required_roles") == 0 ||
	    strcmp(key, "admin_roles") == 0 || strcmp(key, "required_groups") == 0)
		return set_token_key(c, key, value, why, whylen);
	snprintf(why, whylen, "unknown option \"%s\"", key);
	return LCONF_UNKNOWN_KEY;
}

bool login_conf_from_file(struct login_conf *c, struct config_file *cf, char *why, size_t whylen)
{
	for (size_t i = 0; i < ARRAY_SIZE(file_keys); i++) {
		const char *v = config_get(cf, file_keys[i]);
		char detail[256];
		if (v == NULL)
			continue;
		if (login_conf_set(c, file_keys[i], v, detail, sizeof(detail)) != LCONF_OK) {
			snprintf(why, whylen, "%s: %s", cf->path ? cf->path : "configuration", detail);
			return false;
		}
	}
	return true;
}

bool login_conf_load_nss(struct login_conf *c)
{
	struct config_file cf = {0};
	const char *path = secure_getenv("AZMI_CONFIG");
	bool required = path != NULL && path[0] != '\0';
	char why[512];
	bool ok;

	login_conf_init(c);
	if (config_read(&cf, required ? path : CONFIG_DEFAULT_PATH, required, NULL) != AZMI_OK) {
		config_file_free(&cf);
		return false;
	}
	ok = login_conf_from_file(c, &cf, why, sizeof(why));
	config_file_free(&cf);
	return ok;
}

bool login_conf_domain_allowed(const struct login_conf *c, const char *domain, size_t len)
{
	for (size_t i = 0; i < c->ndomains; i++)
		if (strlen(c->domains[i]) == len && strncasecmp(c->domains[i], domain, len) == 0)
			return true;
	return false;
}

/* principal.c - login name -> Entra principal, from the map file and the configured domains. */
#include "principal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "names.h"
#include "statefile.h"

bool principal_name_ok(const char *name)
{
	size_t len = strnlen(name, LOGIN_NAME_MAX);

	if (len == 0 || len >= LOGIN_NAME_MAX || name[0] == '-' || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = name[i];
		if (ch <= 0x20 || ch > 0x7e || ch == ':' || ch == '/' || ch == '\\')
			return false;
	}
	return true;
}

static bool is_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

bool principal_is_guid(const char *s)
{
	static const int groups[] = {8, 4, 4, 4, 12};
	size_t pos = 0;

	for (size_t g = 0; g < 5; g++) {
		for (int i = 0; i < groups[g]; i++, pos++)
			if (!is_hex(s[pos]))
				return false;
		if (s[pos] != (g == 4 ? '\0' : '-'))
			return false;
		pos++;
	}
	return true;
}

static bool upn_local_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       strchr("._-'#!^~+", ch) != NULL;
}

static bool domain_ok(const char *d, size_t len)
{
	if (len == 0 || d[0] == '.' || d[0] == '-' || d[len - 1] == '.' || memchr(d, '.', len) == NULL)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((d[i] >= 'a' && d[i] <= 'z') || (d[i] >= 'A' && d[i] <= 'Z') ||
		      (d[i] >= '0' && d[i] <= '9') || d[i] == '-' || (d[i] == '.' && d[i + 1] != '.')))
			return false;
	return true;
}

bool principal_is_upn(const char *s)
{
	const char *at = strchr(s, '@');
	size_t len = strnlen(s, LOGIN_NAME_MAX);

	if (at == NULL || at == s || len >= LOGIN_NAME_MAX || strchr(at + 1, '@') != NULL)
		return false;
	for (const char *p = s; p < at; p++)
		if (!upn_local_char(*p))
			return false;
	return domain_ok(at + 1, strlen(at + 1));
}

static void lower_copy(char *dst, size_t dstlen, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < dstlen; i++)
		dst[i] = (char)((src[i] >= 'A' && src[i] <= 'Z') ? src[i] + 32 : src[i]);
	dst[i] = '\0';
}

const char *principal_via_name(enum principal_via via)
{
	switch (via) {
	case PRINCIPAL_NONE:
		return "none";
	case PRINCIPAL_TOKEN:
		return "entra token";
	case PRINCIPAL_MAP:
		return "map file";
	case PRINCIPAL_NAME:
		return "login name";
	case PRINCIPAL_SUFFIX:
		return "upn_suffix";
	}
	return "?";
}

/* Split one map line into its two fields; 0 blank/comment, 1 fields set, -1 malformed. */
static int map_fields(char *line, char **name, char **target)
{
	char *p = line, *end;

	while (*p == ' ' || *p == '\t' || *p == '\r')
		p++;
	if (*p == '\0' || *p == '#')
		return 0;
	*name = p;
	p += strcspn(p, " \t\r");
	if (*p == '\0')
		return -1;
	*p++ = '\0';
	p += strspn(p, " \t\r");
	*target = p;
	end = p + strcspn(p, " \t\r#");
	if (end == p)
		return -1;
	if (*end != '\0') {
		*end++ = '\0';
		end += strspn(end, " \t\r");
		if (*end != '\0' && *end != '#')
			return -1;
	}
	return 1;
}

int principal_map_parse(const char *name_of_map, char *text, const char *user, struct principal *out,
                        bool *found)
{
	char *line, *next;
	unsigned int lineno = 0;

	*found = false;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		char *name, *target;
		int f;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		lineno++;
		f = map_fields(line, &name, &target);
		if (f == 0)
			continue;
		if (f < 0 || !principal_name_ok(name) ||
		    !(strcmp(target, "-") == 0 || principal_is_guid(target) || principal_is_upn(target))) {
			snprintf(out->why, sizeof(out->why),
			         "user_map %.200s:%u: expected \"localname UPN-or-object-id\" (or "
			         "\"localname -\")",
			         name_of_map, lineno);
			*found = false;
			return -EINVAL;
		}
		if (!*found && strcasecmp(name, user) == 0) {
			lower_copy(out->id, sizeof(out->id), target);
			*found = true; /* keep reading: a malformed later line still fails the whole file */
		}
	}
	return 0;
}

/* The map's target for `user`, into out->id (*found); 0, or -errno with out->why. */
static int map_lookup(const struct login_conf *c, const char *user, struct principal *out, bool *found)
{
	char *text = NULL;
	size_t len;
	int r = sfile_read(AT_FDCWD, c->user_map, PRINCIPAL_MAP_MAX, false, &text, &len);

	*found = false;
	if (r != 0) {
		snprintf(out->why, sizeof(out->why), "user_map %.200s: %s%s", c->user_map, strerror(-r),
		         r == -EPERM ? " (it must be owned by root and not writable by group or others)"
		                     : "");
		return r;
	}
	if (memchr(text, '\0', len) != NULL) {
		snprintf(out->why, sizeof(out->why), "user_map %.200s: contains a NUL byte", c->user_map);
		free(text);
		return -EINVAL;
	}
	r = principal_map_parse(c->user_map, text, user, out, found);
	free(text);
	return r;
}

/* The map's say on `user` (*decided: it names the user, to a principal or to nobody); 0 or -errno. */
static int from_map(const struct login_conf *c, const char *user, struct principal *out, bool *decided)
{
	int r = map_lookup(c, user, out, decided);

	if (r != 0 || !*decided)
		return r;
	if (strcmp(out->id, "-") == 0) {
		out->id[0] = '\0';
		snprintf(out->why, sizeof(out->why), "mapped to nobody (\"-\") in %.200s", c->user_map);
		return 0;
	}
	out->via = PRINCIPAL_MAP;
	out->is_oid = principal_is_guid(out->id);
	snprintf(out->why, sizeof(out->why), "mapped in %.200s", c->user_map);
	return 0;
}

/* The Entra principal of `name`, by map, UPN shape or upn_suffix; via stays NONE when none applies. */
static int resolve_name(const struct login_conf *c, const char *name, long local_uid, bool local,
                        struct principal *out)
{
	const char *at;
	bool mapped = false;
	int r;

	snprintf(out->user, sizeof(out->user), "%s", name);
	if (c->user_map[0] != '\0' && ((r = from_map(c, name, out, &mapped)) != 0 || mapped))
		return r;
	at = strchr(name, '@');
	if (at != NULL) {
		if (!principal_is_upn(name) || !login_conf_domain_allowed(c, at + 1, strlen(at + 1))) {
			snprintf(out->why, sizeof(out->why), "domain \"%.200s\" is not in allowed_domains",
			         at + 1);
			return 0;
		}
		lower_copy(out->id, sizeof(out->id), name);
		out->via = PRINCIPAL_NAME;
		snprintf(out->why, sizeof(out->why), "login name under allowed domain %.200s", at + 1);
		return 0;
	}
	if (c->upn_suffix[0] != '\0' && (local_uid < 0 || local_uid > PRINCIPAL_SYSTEM_UID_MAX) &&
	    strlen(name) + 1 + strlen(c->upn_suffix) < sizeof(out->id)) {
		size_t nlen = strlen(name);
		memcpy(out->id, name, nlen); /* fits: checked above */
		out->id[nlen] = '@';
		memcpy(out->id + nlen + 1, c->upn_suffix, strlen(c->upn_suffix) + 1);
		lower_copy(out->id, sizeof(out->id), out->id);
		if (principal_is_upn(out->id)) {
			out->via = PRINCIPAL_SUFFIX;
			if (!local)
				snprintf(out->why, sizeof(out->why), "login name with upn_suffix %s",
				         c->upn_suffix);
			else
				snprintf(out->why, sizeof(out->why),
				         "local account (uid %ld) with upn_suffix %s", local_uid,
				         c->upn_suffix);
			return 0;
		}
		out->id[0] = '\0';
	}
	snprintf(out->why, sizeof(out->why), "%s",
	         local ? "local account not mapped to Entra ID"
	               : "not mapped and not a UPN under allowed_domains");
	return 0;
}

int principal_resolve(const struct login_conf *c, const char *user, long local_uid, struct principal *out)
{
	char canon[LOGIN_NAME_MAX];
	bool local;
	int r;

	memset(out, 0, sizeof(*out));
	if (!principal_name_ok(user)) {
		snprintf(out->why, sizeof(out->why), "not a name azmi handles");
		return 0;
	}
	/* An account of /etc/passwd (or of another NSS source, outside uid_range) keeps its own name. */
	local = names_in_passwd(user, false) ||
	        (local_uid >= 0 && ((uint32_t)local_uid <= c->uid_min || (uint32_t)local_uid > c->uid_max));
	if (local) {
		out->local = true;
		return resolve_name(c, user, local_uid, true, out);
	}
	names_canon(canon, sizeof(canon), user);
	if ((r = resolve_name(c, canon, -1, false, out)) != 0 || out->via == PRINCIPAL_NONE)
		return r;
	if (!names_servable(c, canon, out->why, sizeof(out->why))) {
		out->via = PRINCIPAL_NONE;
		out->id[0] = '\0';
		out->is_oid = false;
		out->refused = true;
	}
	return 0;
}

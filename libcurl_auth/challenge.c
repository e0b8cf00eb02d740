/* challenge.c - parsing the Bearer challenge of WWW-Authenticate. */
#include "challenge.h"

#include <string.h>
#include <strings.h>

struct cursor {
	const char *s;
	size_t len;
	size_t pos;
};

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* RFC 7230 tchar, plus '/' and ':' so unquoted URLs (Storage's form) read as one token. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~/:?;@[]", c) != NULL);
}

static void skip_separators(struct cursor *c)
{
	while (c->pos < c->len && (is_ws(c->s[c->pos]) || c->s[c->pos] == ','))
		c->pos++;
}

static void skip_ws(struct cursor *c)
{
	while (c->pos < c->len && is_ws(c->s[c->pos]))
		c->pos++;
}

/* A token at the cursor: its start and length (0 when none). */
static size_t read_token(struct cursor *c, const char **start)
{
	*start = c->s + c->pos;
	while (c->pos < c->len && is_tchar(c->s[c->pos]))
		c->pos++;
	return (size_t)(c->s + c->pos - *start);
}

/*
 * A parameter value (quoted string or token, '=' allowed inside tokens for
 * token68-like values) copied into dst; false when it does not fit or a
 * quoted string is not closed.
 */
static bool read_value(struct cursor *c, char *dst, size_t dstlen)
{
	size_t n = 0;

	if (c->pos < c->len && c->s[c->pos] == '"') {
		c->pos++;
		while (c->pos < c->len && c->s[c->pos] != '"') {
			char ch = c->s[c->pos++];
			if (ch == '\\' && c->pos < c->len)
				ch = c->s[c->pos++];
			if ((unsigned char)ch < 0x20 || ch == 0x7f || n + 1 >= dstlen)
				return false;
			dst[n++] = ch;
		}
		if (c->pos >= c->len)
			return false;
		c->pos++; /* closing quote */
	} else {
		while (c->pos < c->len && (is_tchar(c->s[c->pos]) || c->s[c->pos] == '=')) {
			if (n + 1 >= dstlen)
				return false;
			dst[n++] = c->s[c->pos++];
		}
	}
	dst[n] = '\0';
	return true;
}

/* Where a parameter's value goes, or NULL to skip it. */
static char *field_for(struct challenge *out, const char *name, size_t len, size_t *cap)
{
#define FIELD(n)                                                                                             \
	if (len == sizeof(#n) - 1 && strncasecmp(name, #n, len) == 0) {                                      \
		*cap = sizeof(out->n);                                                                       \
		return out->n;                                                                               \
	}
	FIELD(authorization_uri)
	FIELD(resource_id)
	FIELD(realm)
	FIELD(service)
	FIELD(scope)
	FIELD(error)
#undef FIELD
	if (len == 13 && strncasecmp(name, "authorization", 13) == 0) { /* Entra's older spelling */
		*cap = sizeof(out->authorization_uri);
		return out->authorization_uri;
	}
	return NULL;
}

/*
 * Parameters of one challenge, until the next scheme name or the end.
 * Returns false on a malformed or oversized value.
 */
static bool read_params(struct cursor *c, struct challenge *out, bool keep)
{
	char skipped[CHALLENGE_MAX_HEADER];

	for (;;) {
		const char *name;
		size_t save, nlen, cap = sizeof(skipped);
		char *dst;

		skip_separators(c);
		save = c->pos;
		nlen = read_token(c, &name);
		if (nlen == 0)
			return c->pos >= c->len; /* end, or a stray character */
		skip_ws(c);
		if (c->pos >= c->len || c->s[c->pos] != '=') {
			c->pos = save; /* the next challenge's scheme */
			return true;
		}
		c->pos++;
		skip_ws(c);
		dst = keep ? field_for(out, name, nlen, &cap) : NULL;
		if (dst == NULL)
			dst = skipped;
		if (!read_value(c, dst, cap))
			return false;
	}
}

bool challenge_parse(const char *value, size_t len, struct challenge *out)
{
	struct cursor c = {value, len, 0};

	memset(out, 0, sizeof(*out));
	if (value == NULL || len > CHALLENGE_MAX_HEADER)
		return false;
	for (;;) {
		const char *scheme;
		size_t slen;
		bool bearer;

		skip_separators(&c);
		slen = read_token(&c, &scheme);
		if (slen == 0)
			break;
		bearer = slen == 6 && strncasecmp(scheme, "Bearer", 6) == 0;
		if (!read_params(&c, out, bearer))
			break;
		if (bearer)
			return true;
	}
	memset(out, 0, sizeof(*out));
	return false;
}

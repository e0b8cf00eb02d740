/* token.c - immutable, reference-counted tokens, wiped when the last holder lets go. */
#include "token.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct token_obj {
	struct azmi_token pub;
	struct expiry exp;
	atomic_int refs;
	size_t size;
	char data[]; /* access token, resource, source, each NUL-terminated */
};

#define TOKEN_OBJ(t)       ((struct token_obj *)((char *)(t)-offsetof(struct token_obj, pub)))
#define TOKEN_OBJ_CONST(t) ((const struct token_obj *)((const char *)(t)-offsetof(struct token_obj, pub)))

bool token_text_valid(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > TOKEN_MAX_LEN)
		return false;
	while (i < len) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
			break;
		i++;
	}
	if (i == 0)
		return false;
	while (i < len && s[i] == '=')
		i++;
	return i == len;
}

struct azmi_token *token_new(const char *access_token, size_t len, const struct expiry *exp,
                             const char *resource, const char *source)
{
	size_t rlen = strlen(resource), slen = strlen(source);
	size_t size = sizeof(struct token_obj) + len + rlen + slen + 3;
	struct token_obj *t = malloc(size);
	char *p;

	if (t == NULL)
		return NULL;
	t->size = size;
	atomic_init(&t->refs, 1);
	t->exp = *exp;
	p = t->data;
	memcpy(p, access_token, len);
	p[len] = '\0';
	t->pub.access_token = p;
	t->pub.access_token_len = len;
	p += len + 1;
	memcpy(p, resource, rlen + 1);
	t->pub.resource = p;
	p += rlen + 1;
	memcpy(p, source, slen + 1);
	t->pub.source = p;
	t->pub.token_type = "Bearer";
	t->pub.expires_on = exp->expires_on;
	return &t->pub;
}

struct azmi_token *token_ref(struct azmi_token *tok)
{
	atomic_fetch_add_explicit(&TOKEN_OBJ(tok)->refs, 1, memory_order_relaxed);
	return tok;
}

const struct expiry *token_expiry(const struct azmi_token *tok)
{
	return &TOKEN_OBJ_CONST(tok)->exp;
}

void azmi_token_release(struct azmi_token *tok)
{
	struct token_obj *t;

	if (tok == NULL)
		return;
	t = TOKEN_OBJ(tok);
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	explicit_bzero(t, t->size);
	free(t);
}

/* answer.c - token answers and error answers of token endpoints. */
#include "answer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "expiry.h"
#include "json.h"
#include "token.h"
#include "util.h"

azmi_err answer_parse(const char *body, size_t len, int64_t now, const char *resource, const char *source,
                      struct azmi_token **out, char *why, size_t whylen)
{
	struct json_object *obj = json_parse_bounded(body, len);
	struct expiry exp;
	struct json_object *tt;
	const char *tok, *type;
	size_t toklen;
	azmi_err r = AZMI_ERR_PROTOCOL;

	*out = NULL;
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "the answer is not a JSON object%s",
		         len > 0 && body[0] == '<' ? " (it looks like HTML: is a proxy answering?)" : "");
		goto out;
	}
	if ((tok = json_get_string(obj, "access_token", &toklen)) == NULL) {
		snprintf(why, whylen, "the answer has no access_token string");
		goto out;
	}
	if (!token_text_valid(tok, toklen)) {
		snprintf(why, whylen,
		         "field access_token is not a bearer token (%zu bytes; at most %d allowed, "
		         "letters, digits and -._~+/= only)",
		         toklen, TOKEN_MAX_LEN);
		goto out;
	}
	if (json_object_object_get_ex(obj, "token_type", &tt) && tt != NULL &&
	    ((type = json_get_string(obj, "token_type", NULL)) == NULL || strcasecmp(type, "Bearer") != 0)) {
		snprintf(why, whylen, "field token_type is not Bearer");
		goto out;
	}
	if (expiry_from_answer(obj, now, &exp, why, whylen) != AZMI_OK)
		goto out;
	if ((*out = token_new(tok, toklen, &exp, resource, source)) == NULL) {
		snprintf(why, whylen, "out of memory");
		r = AZMI_ERR_NOMEM;
		goto out;
	}
	r = AZMI_OK;
out:
	json_object_put(obj);
	return r;
}

/* The first string found at one of the OAuth / App Service / ARM error places. */
static void error_fields(struct json_object *obj, const char **code, const char **desc)
{
	struct json_object *inner;

	*code = json_get_string(obj, "error", NULL);
	*desc = json_get_string(obj, "error_description", NULL);
	if (*desc == NULL)
		*desc = json_get_string(obj, "message", NULL);
	if (*desc == NULL)
		*desc = json_get_string(obj, "Message", NULL);
	if (*code == NULL && json_object_object_get_ex(obj, "error", &inner) &&
	    json_object_is_type(inner, json_type_object)) {
		*code = json_get_string(inner, "code", NULL);
		if (*desc == NULL)
			*desc = json_get_string(inner, "message", NULL);
	}
}

void answer_format_error(const char *code, const char *desc, char *out, size_t outlen)
{
	char a[64], b[256];

	util_sanitize(a, sizeof(a), code ? code : "", code ? strlen(code) : 0);
	/* Entra appends "\r\nTrace ID: ..." lines: the first line is the one a person needs. */
	util_sanitize(b, sizeof(b), desc ? desc : "", desc ? strcspn(desc, "\r\n") : 0);
	snprintf(out, outlen, "%s%s%s", a, a[0] && b[0] ? ": " : "", b);
}

void answer_error_text(const char *body, size_t len, char *out, size_t outlen)
{
	struct json_object *obj;
	const char *code = NULL, *desc = NULL;
	char b[81];

	out[0] = '\0';
	if (len == 0)
		return;
	obj = json_parse_bounded(body, len);
	if (obj && json_object_is_type(obj, json_type_object))
		error_fields(obj, &code, &desc);
	if (code || desc) {
		answer_format_error(code, desc, out, outlen);
	} else {
		util_sanitize(b, sizeof(b), body, len);
		snprintf(out, outlen, "(not an error JSON: \"%s%s\")", b, len > 80 ? "..." : "");
	}
	json_object_put(obj);
}

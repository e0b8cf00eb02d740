/* json.c - bounded JSON parsing on top of json-c. */
#include "json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "util.h"

struct json_object *json_parse_bounded(const char *text, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;

	if (len > INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		json_tokener_free(tok);
		return NULL;
	}
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (end < len && (text[end] == ' ' || text[end] == '\t' || text[end] == '\r' || text[end] == '\n'))
		end++;
	if (end != len) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

const char *json_get_string(struct json_object *obj, const char *key, size_t *len)
{
	struct json_object *v;

	if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	if (len)
		*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

int json_get_int64(struct json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	int64_t n;
	double d;

	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return 1;
	switch (json_object_get_type(v)) {
	case json_type_int:
		errno = 0;
		n = json_object_get_int64(v);
		if (errno != 0 || n < min || n > max)
			return -1;
		*out = n;
		return 0;
	case json_type_double:
		d = json_object_get_double(v);
		if (!isfinite(d) || d < (double)min || d > (double)max || (double)(int64_t)d != d)
			return -1;
		*out = (int64_t)d;
		return 0;
	case json_type_string:
		if (!util_parse_int64(json_object_get_string(v), (size_t)json_object_get_string_len(v), min,
		                      max, out))
			return -1;
		return 0;
	default:
		return -1;
	}
}

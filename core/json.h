/* json.h - bounded JSON parsing on top of json-c. */
#ifndef AZMI_JSON_H
#define AZMI_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define JSON_MAX_DEPTH 16

/* Parse exactly one JSON value spanning [text, text+len) (whitespace around it allowed). NULL on error. */
struct json_object *json_parse_bounded(const char *text, size_t len);

/* The string member `key` of `obj` and its length, or NULL when absent or not a string. */
const char *json_get_string(struct json_object *obj, const char *key, size_t *len);

/*
 * A whole number from member `key`: a JSON integer, an integral double, or a
 * string of decimal digits.  0 when found, 1 when absent or null, -1 when present but invalid.
 */
int json_get_int64(struct json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out);

#endif

/* expiry.c - expiry and refresh times of a token answer. */
#include "expiry.h"

#include <stdio.h>
#include <string.h>

#include "json.h"
#include "timefmt.h"
#include "util.h"

void expiry_schedule(struct expiry *e, int64_t now, int64_t refresh_in)
{
	int64_t life = e->expires_on - now;

	/* A token living less than the margin is handed out but never served from a cache. */
	e->stale_on = e->expires_on - EXPIRY_MARGIN;
	if (refresh_in > 0 && now + refresh_in < e->stale_on)
		e->refresh_on = now + refresh_in;
	else if (life >= EXPIRY_HALF_LIFE_FROM)
		e->refresh_on = now + life / 2;
	else
		e->refresh_on = e->stale_on;
}

/* expires_on: an epoch number, a string of digits, or one of the date formats. */
static int absolute_expiry(struct json_object *answer, int64_t *out, char *why, size_t whylen)
{
	struct json_object *v;
	const char *s;
	size_t len;
	int r = json_get_int64(answer, "expires_on", 0, 253402300799, out);

	if (r <= 0) {
		if (r < 0 && json_object_object_get_ex(answer, "expires_on", &v) &&
		    json_object_is_type(v, json_type_string)) {
			s = json_object_get_string(v);
			len = (size_t)json_object_get_string_len(v);
			if (timefmt_parse(s, len, out) == 0)
				return 0;
		}
		if (r < 0) {
			char shown[48];
			s = json_object_object_get_ex(answer, "expires_on", &v)
			        ? json_object_to_json_string(v)
			        : "";
			util_sanitize(shown, sizeof(shown), s, strlen(s));
			snprintf(why, whylen, "field expires_on has an unknown format: %s", shown);
			return -1;
		}
		return 0;
	}
	snprintf(why, whylen, "the answer has no expiry (neither expires_in nor expires_on)");
	return -1;
}

azmi_err expiry_from_answer(struct json_object *answer, int64_t now, struct expiry *out, char *why,
                            size_t whylen)
{
	int64_t expires_in = 0, refresh_in = -1, expires_on;
	int r;

	r = json_get_int64(answer, "expires_in", 0, EXPIRY_MAX_LIFETIME, &expires_in);
	if (r < 0) {
		snprintf(why, whylen, "field expires_in is not a number of seconds up to %d",
		         EXPIRY_MAX_LIFETIME);
		return AZMI_ERR_PROTOCOL;
	}
	if (r == 0) {
		expires_on = now + expires_in;
	} else if (absolute_expiry(answer, &expires_on, why, whylen) != 0) {
		return AZMI_ERR_PROTOCOL;
	}
	if (expires_on <= now) {
		snprintf(why, whylen, "the token is already expired (expiry %lld, now %lld): check the clock",
		         (long long)expires_on, (long long)now);
		return AZMI_ERR_PROTOCOL;
	}
	if (expires_on - now > EXPIRY_MAX_LIFETIME) {
		snprintf(why, whylen, "the expiry is %lld s away, more than the %d s any Entra token lives",
		         (long long)(expires_on - now), EXPIRY_MAX_LIFETIME);
		return AZMI_ERR_PROTOCOL;
	}
	if (json_get_int64(answer, "refresh_in", 1, EXPIRY_MAX_LIFETIME, &refresh_in) < 0) {
		snprintf(why, whylen, "field refresh_in is not a number of seconds");
		return AZMI_ERR_PROTOCOL;
	}
	out->expires_on = expires_on;
	expiry_schedule(out, now, refresh_in);
	return AZMI_OK;
}

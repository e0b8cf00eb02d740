/* fuzz_expiry.c - expiry_from_answer on any JSON: no crash, a consistent schedule, a printable reason. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "expiry.h"
#include "json.h"
#include "util.h"

#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *obj = json_parse_bounded((const char *)data, size);
	struct expiry e;
	char why[256];

	if (obj == NULL)
		return 0;
	if (json_object_is_type(obj, json_type_object)) {
		why[0] = '\0';
		if (expiry_from_answer(obj, NOW, &e, why, sizeof(why)) == AZMI_OK) {
			if (e.expires_on <= NOW || e.expires_on - NOW > EXPIRY_MAX_LIFETIME)
				__builtin_trap();
			if (e.refresh_on > e.stale_on || e.stale_on > e.expires_on)
				__builtin_trap();
		} else if (why[0] == '\0' || !util_is_printable(why, strlen(why))) {
			__builtin_trap();
		}
	}
	json_object_put(obj);
	return 0;
}

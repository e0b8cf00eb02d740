/* fuzz_jwt.c - jwt_b64url_decode and jwt_decode_part on arbitrary bytes: no crash or leak, sane sizes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	size_t outlen = 0;
	unsigned char *out = jwt_b64url_decode(s, size, &outlen);

	if (out != NULL) {
		if (outlen > size * 3 / 4 || out[outlen] != '\0')
			__builtin_trap();
		free(out);
	}
	for (int i = -1; i <= 2; i++) {
		struct json_object *o = jwt_decode_part(s, size, i);
		if (o != NULL && (i < 0 || i > 1 || !json_object_is_type(o, json_type_object)))
			__builtin_trap();
		json_object_put(o);
	}
	return 0;
}

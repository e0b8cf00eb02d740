/*
 * fuzz_certfile.c - certfile_parse on arbitrary bytes (PEM or PKCS#12, with a
 * password): no crash, no leak, and an accepted file has a key and its certificate.
 */
#include <stddef.h>
#include <stdint.h>

#include "certfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const passwords[] = {"pw", NULL};
	struct certfile cf;
	struct azmi_error err = AZMI_ERROR_INIT;

	for (int i = 0; i < 2; i++) {
		if (certfile_parse((const char *)data, size, passwords[i], "input", &cf, &err) == AZMI_OK &&
		    (cf.key == NULL || cf.leaf < 0 || cf.leaf >= cf.ncerts || cf.ncerts > CERTFILE_MAX_CHAIN))
			__builtin_trap();
		certfile_free(&cf);
	}
	return 0;
}

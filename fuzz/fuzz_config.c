/*
 * fuzz_config.c - config_parse, then settings_load, on arbitrary file text:
 * no crash or leak; every parsed key and value is printable text on one line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void clear_env(void)
{
	static const char *const names[] = {"AZMI_CA_FILE",    "AZMI_CACHE_DIR",
	                                    "AZURE_CLIENT_ID", "IDENTITY_ENDPOINT",
	                                    "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unsetenv(names[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config_file cf = {0};
	struct settings s;
	struct azmi_error err = AZMI_ERROR_INIT;
	static int once;

	if (!once) {
		clear_env();
		once = 1;
	}
	if (config_parse(&cf, "fuzz.conf", (const char *)data, size, &err) == AZMI_OK) {
		for (size_t i = 0; i < cf.count; i++) {
			const char *k = cf.items[i].key, *v = cf.items[i].value;
			if (k[0] == '\0' || strpbrk(k, "\r\n= \t") != NULL || strpbrk(v, "\r\n") != NULL ||
			    strlen(v) > CONFIG_MAX_VALUE)
				__builtin_trap();
		}
		if (settings_load(&s, &cf, &err) == AZMI_OK) {
			if (s.imds_endpoint == NULL || s.timeout_ms < 1000 || s.timeout_ms > 3600000 ||
			    (s.cache_dir != NULL && s.cache_dir[0] != '/'))
				__builtin_trap();
		}
		settings_free(&s);
	} else if (err.code != AZMI_ERR_CONFIG && err.code != AZMI_ERR_NOMEM) {
		__builtin_trap();
	}
	config_file_free(&cf);
	return 0;
}

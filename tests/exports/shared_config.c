/*
 * shared_config.c - a program of someone else's that links only libazmi.so.1
 * (suite 05-exports): it creates a context from the azmi.conf named by
 * AZMI_CONFIG and prints every line the library logs.  The keys of the
 * login, registry and curl parts must pass without a warning; a typo must not.
 */
#include <stdio.h>

#include <azmi.h>

static void on_log(void *userdata, enum azmi_log_level level, const char *line)
{
	(void)userdata;
	printf("log %d: %s\n", (int)level, line);
}

int main(void)
{
	struct azmi_ctx *ctx = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;

	if (azmi_ctx_new(&ctx, NULL, &err) != AZMI_OK) {
		printf("azmi_ctx_new: %s\n", err.message);
		return 1;
	}
	azmi_ctx_set_log(ctx, on_log, NULL);
	azmi_ctx_free(ctx);
	return 0;
}

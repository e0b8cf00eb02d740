/*
 * fuzz_answer.c - answer_parse and answer_error_text on arbitrary bodies: no
 * crash or leak, accepted tokens are valid bearer tokens, reasons and error
 * summaries are printable and bounded.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "answer.h"
#include "token.h"
#include "util.h"

#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct azmi_token *tok = NULL;
	char why[256], text[300];
	azmi_err rc;

	why[0] = '\0';
	rc = answer_parse(body, size, NOW, "https://storage.azure.com", "imds", &tok, why, sizeof(why));
	if (rc == AZMI_OK) {
		if (tok == NULL || !token_text_valid(tok->access_token, tok->access_token_len) ||
		    tok->expires_on <= NOW || strcmp(tok->token_type, "Bearer") != 0)
			__builtin_trap();
		azmi_token_release(tok);
	} else if (tok != NULL || why[0] == '\0' || !util_is_printable(why, strlen(why))) {
		__builtin_trap();
	}

	memset(text, 'Z', sizeof(text));
	answer_error_text(body, size, text, 256);
	if (memchr(text, '\0', 256) == NULL || !util_is_printable(text, strlen(text)) || text[256] != 'Z')
		__builtin_trap();
	return 0;
}

/*
 * docker_credential.c - docker-credential-azmi, a Docker credential helper
 * that answers with a registry refresh token from the machine's identity.
 *
 * Docker runs `docker-credential-azmi ACTION` with the input on stdin:
 *   get      the server URL             -> {"ServerURL","Username","Secret"} on stdout
 *   store    {"ServerURL","Username","Secret"}  (read and dropped: nothing is stored)
 *   erase    the server URL             (read and dropped: nothing to erase)
 *   list     nothing                    -> {"<registry>": "<username>", ...}
 *   version                             -> one line
 * On failure the message goes to stdout (Docker shows it) and the exit status
 * is 1; a server that is not an Azure container registry gets Docker's
 * "credentials not found in native keychain", so Docker goes on without
 * credentials.  Details go to stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "acr.h"
#include "azmi.h"

#define INPUT_MAX (64 * 1024)
#define NOT_FOUND "credentials not found in native keychain"
#define NO_SERVER "no credentials server URL"

static const char usage[] = "Usage: docker-credential-azmi <store|get|erase|list|version>\n";

/* Read all of stdin (at most INPUT_MAX bytes; more is an error).  Wiped and freed by the caller. */
static char *read_input(size_t *len, bool *too_long)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *grown;
	ssize_t r;

	*too_long = false;
	if (buf == NULL)
		return NULL;
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= INPUT_MAX) {
				*too_long = true;
				break;
			}
			if ((grown = malloc(cap * 2)) == NULL)
				break;
			memcpy(grown, buf, n);
			explicit_bzero(buf, cap);
			free(buf);
			buf = grown;
			cap *= 2;
		}
		r = read(STDIN_FILENO, buf + n, cap - n - 1);
		if (r == 0) {
			buf[n] = '\0';
			*len = n;
			return buf;
		}
		if (r < 0)
			break;
		n += (size_t)r;
	}
	explicit_bzero(buf, cap);
	free(buf);
	return NULL;
}

static void drop_input(void)
{
	size_t len = 0;
	bool too_long;
	char *in = read_input(&len, &too_long);

	if (in != NULL) {
		explicit_bzero(in, len);
		free(in);
	}
}

/* The protocol's error: the message on stdout, exit status 1. */
static int fail(const char *message)
{
	printf("%s\n", message);
	fflush(stdout);
	return 1;
}

static void log_to_stderr(void *userdata, enum azmi_log_level level, const char *line)
{
	(void)userdata;
	if (level <= AZMI_LOG_WARNING)
		fprintf(stderr, "docker-credential-azmi: %s\n", line);
}

static struct azmi_ctx *open_ctx(struct azmi_error *err)
{
	struct azmi_ctx *ctx = NULL;

	if (azmi_ctx_new(&ctx, NULL, err) != AZMI_OK)
		return NULL;
	azmi_ctx_set_log(ctx, log_to_stderr, NULL);
	return ctx;
}

/* The first line of `msg` on stdout (what Docker shows), all of it on stderr. */
static int fail_error(const struct azmi_error *err)
{
	int n = (int)strcspn(err->message, "\n");

	fprintf(stderr, "docker-credential-azmi: %s\n",
	        err->message[0] ? err->message : azmi_strerror(err->code));
	printf("azmi: %.*s\n", n, err->message[0] ? err->message : azmi_strerror(err->code));
	fflush(stdout);
	return 1;
}

/* Print `s` as a JSON string (json-c escapes it); -1 on failure. */
static int print_quoted(const char *s)
{
	struct json_object *o = json_object_new_string(s);
	int r = o ? fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_NOSLASHESCAPE), stdout) : EOF;

	json_object_put(o);
	return r < 0 ? -1 : 0;
}

static int action_get(void)
{
	char registry[ACR_MAX_HOST + 1];
	struct acr_request req = {0};
	struct azmi_token *tok = NULL;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_ctx *ctx;
	size_t len = 0, start = 0;
	bool too_long;
	char *in = read_input(&len, &too_long);
	int r;

	if (in == NULL)
		return fail(too_long ? "the server URL is too long"
		                     : "cannot read the server URL from stdin");
	while (len > 0 &&
	       (in[len - 1] == '\n' || in[len - 1] == '\r' || in[len - 1] == ' ' || in[len - 1] == '\t'))
		in[--len] = '\0';
	while (start < len && (in[start] == ' ' || in[start] == '\t'))
		start++;
	if (start == len) {
		free(in);
		return fail(NO_SERVER);
	}
	if (!acr_registry_name(in + start, len - start, registry)) {
		free(in);
		return fail(NOT_FOUND); /* not ours: Docker goes on without credentials */
	}
	if ((ctx = open_ctx(&err)) == NULL) {
		free(in);
		return fail_error(&err);
	}
	req.registry = registry;
	req.id_kind = AZMI_ID_DEFAULT;
	if (acr_refresh_token(ctx, &req, &tok, NULL, &err) != AZMI_OK) {
		free(in);
		azmi_ctx_free(ctx);
		return fail_error(&err);
	}
	/* The token needs no escaping (letters, digits and -._~+/= only); it is printed from the token itself. */
	r = fputs("{\"ServerURL\":", stdout) < 0 || print_quoted(in + start) < 0 ||
	    printf(",\"Username\":\"%s\",\"Secret\":\"%s\"}\n", ACR_USERNAME, tok->access_token) < 0 ||
	    fflush(stdout) != 0;
	azmi_token_release(tok);
	azmi_ctx_free(ctx);
	free(in);
	if (r) {
		fputs("docker-credential-azmi: cannot write to stdout\n", stderr);
		return 1;
	}
	return 0;
}

static int action_list(void)
{
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_ctx *ctx;
	char **names = NULL;
	int r = 0;

	if ((ctx = open_ctx(&err)) == NULL)
		return fail_error(&err);
	if (acr_list(ctx, &names, &err) != AZMI_OK) {
		azmi_ctx_free(ctx);
		return fail_error(&err);
	}
	r |= fputs("{", stdout) < 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		if (i > 0)
			r |= fputs(",", stdout) < 0;
		r |= print_quoted(names[i]) < 0;
		r |= printf(":\"%s\"", ACR_USERNAME) < 0;
	}
	r |= puts("}") < 0 || fflush(stdout) != 0;
	acr_list_free(names);
	azmi_ctx_free(ctx);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fputs(usage, stdout);
		return 1;
	}
	if (strcmp(argv[1], "get") == 0)
		return action_get();
	if (strcmp(argv[1], "store") == 0 || strcmp(argv[1], "erase") == 0) {
		/* The identity is the credential: nothing is stored, so nothing needs erasing. */
		drop_input();
		return 0;
	}
	if (strcmp(argv[1], "list") == 0)
		return action_list();
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("docker-credential-azmi (azmi) %s\n", AZMI_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return 0;
	}
	fprintf(stdout, "unknown credential action `%.64s`\n", argv[1]);
	fputs(usage, stdout);
	return 1;
}

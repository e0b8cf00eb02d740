/* serve.h - what the parts of `azmi serve` share: its configuration and their entry points. */
#ifndef AZMI_SERVE_H
#define AZMI_SERVE_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "serve_http.h"

#define SERVE_SECRET_MIN 32
#define SERVE_SECRET_MAX 256
#define SERVE_ALLOW_MAX  16
#define SERVE_ID_MAX     512   /* an identity named on the command line or in a request */
#define SERVE_OUT_MAX    81920 /* one whole response: a token is at most 64 KiB */
#define SERVE_PATH_MAX   128

/* An identity the service hands tokens for. */
struct serve_allow {
	enum azmi_id_kind kind; /* CLIENT_ID, OBJECT_ID or RESOURCE_ID */
	char value[SERVE_ID_MAX];
};

struct serve_config {
	struct azmi_ctx *ctx;
	char secret[SERVE_SECRET_MAX + 1]; /* what X-IDENTITY-HEADER must carry; wiped at exit */
	size_t secret_len;
	char path[SERVE_PATH_MAX]; /* the endpoint's path, e.g. /msi/token */
	unsigned int port;         /* the TCP port, for the Host check (0: Unix socket only) */
	const char *listen_host;   /* 127.0.0.1 or ::1 */
	const char *unix_path;     /* optional Unix socket */
	long unix_mode;            /* its mode, 0660 unless given */
	struct serve_allow allow[SERVE_ALLOW_MAX];
	size_t nallow;
	bool deny_default;      /* refuse requests that name no identity */
	bool allow_any;         /* any identity the machine has */
	const char *credential; /* NULL: the chain; else one credential (struct azmi_request) */
	long token_timeout_ms;
	int client_timeout_ms; /* a client has this long to send its request */
	int threads;
	int max_conns;
	int verbose;
};

/*
 * Answer one parsed request: decide whether it may have a token, get it, and
 * write the whole HTTP response into out[0..outlen).  Returns the length
 * written; *status gets the HTTP status.  The caller wipes `out` afterwards.
 */
size_t serve_answer(const struct serve_config *cfg, const struct http_request *req, char *out, size_t outlen,
                    int *status);

/* An App Service-shaped error response for `status` with `message`; returns its length. */
size_t serve_error(int status, const char *message, char *out, size_t outlen);

/* Log a line on stderr; refusals and errors are rate-limited so a flood cannot fill the journal. */
void serve_log(const struct serve_config *cfg, bool refusal, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* serve_env.c: the environment file that holds the endpoint and its secret. */
#define SERVE_ENV_MAX          4096
#define SERVE_DEFAULT_ENDPOINT "http://127.0.0.1:50342/msi/token"

/*
 * Read IDENTITY_HEADER (the secret) and IDENTITY_ENDPOINT from `path`, a file
 * of KEY=VALUE lines that must be a regular file, not a link, owned by root
 * or by us, readable by no one but its owner and group, and writable by no
 * one else.  The endpoint sets the listen address and path.  0 or an exit code.
 */
int serve_env_read(const char *path, struct serve_config *cfg);

/* Write a new environment file with a fresh secret: mode 0640, group `group` (or ours). 0 or an exit code. */
int serve_env_init(const char *path, const char *group, const char *endpoint);

/* Take host, port and path from http://LOOPBACK:PORT/PATH; refuse any other address.  0 or an exit code. */
int serve_parse_endpoint(const char *url, struct serve_config *cfg);

/* Listen and serve until SIGTERM or SIGINT.  Returns a cli exit code. */
int serve_run(struct serve_config *cfg);

#endif

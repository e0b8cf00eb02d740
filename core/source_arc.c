/*
 * source_arc.c - Azure Arc-enabled servers: the local himds agent answers a
 * first request with 401 and the path of a key file only root and the himds
 * group can read; its contents, sent back as Basic credentials, prove the
 * caller may have a token.  The path is checked strictly before it is opened.
 */
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "util.h"

#define ARC_KEY_DIR "/var/opt/azcmagent/tokens"
#define ARC_KEY_MAX 4096

static azmi_err arc_build(const struct settings *s, const struct identity *id, const char *resource,
                          struct src_request *out, struct azmi_error *err)
{
	static const char *const names[3] = {"client_id", "object_id", "msi_res_id"};
	const char *base = s->identity_endpoint ? s->identity_endpoint : ARC_DEFAULT_ENDPOINT;

	return source_build_get(out, "arc", base, "2020-06-01", resource, id, names, "Metadata", "true", err);
}

/* The key file path from "Basic realm=<path>", checked: ARC_KEY_DIR/<name>.key and nothing else. */
static azmi_err arc_key_path(const char *challenge, char *path, size_t pathlen, struct azmi_error *err)
{
	const char *p = challenge, *name;
	size_t len;

	if (p == NULL || strncasecmp(p, "Basic", 5) != 0)
		return err_set(
		    err, AZMI_ERR_PROTOCOL, "arc", 401,
		    "arc: HTTP 401 without a \"WWW-Authenticate: Basic realm=<key file>\" challenge");
	p += 5;
	while (*p == ' ')
		p++;
	if (strncasecmp(p, "realm=", 6) != 0)
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401, "arc: the 401 challenge names no realm");
	p += 6;
	len = strlen(p);
	if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
		p++;
		len -= 2;
	}
	if (len >= pathlen || len <= sizeof(ARC_KEY_DIR) || !util_is_printable(p, len))
		return err_set(
		    err, AZMI_ERR_PROTOCOL, "arc", 401,
		    "arc: the key file path in the challenge is invalid: it must be a .key file directly "
		    "in " ARC_KEY_DIR);
	memcpy(path, p, len);
	path[len] = '\0';
	name = path + sizeof(ARC_KEY_DIR);
	if (strncmp(path, ARC_KEY_DIR "/", sizeof(ARC_KEY_DIR)) != 0 || strchr(name, '/') != NULL)
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401,
		               "arc: refusing key file %s: it is not directly in " ARC_KEY_DIR, path);
	if (strlen(name) <= 4 || strcmp(name + strlen(name) - 4, ".key") != 0)
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401,
		               "arc: refusing key file %s: its name does not end in .key", path);
	return AZMI_OK;
}

static azmi_err arc_read_key(const char *path, char *key, size_t keylen, struct azmi_error *err)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0 && errno == EACCES)
		return err_set(
		    err, AZMI_ERR_REFUSED, "arc", 401,
		    "arc: permission denied reading %s: only root and members of the himds group may "
		    "use the Arc identity (usermod -aG himds USER)",
		    path);
	if (fd < 0)
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401, "arc: refusing key file %s: %s", path,
		               errno == ELOOP ? "it is a symbolic link" : strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ARC_KEY_MAX || st.st_size <= 0) {
		close(fd);
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401,
		               "arc: refusing key file %s: not a regular file of 1 to %d bytes", path,
		               ARC_KEY_MAX);
	}
	n = read(fd, key, keylen - 1);
	close(fd);
	if (n <= 0 || n != st.st_size) {
		explicit_bzero(key, keylen);
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401, "arc: cannot read key file %s", path);
	}
	key[n] = '\0';
	if (!util_is_printable(key, (size_t)n)) {
		explicit_bzero(key, keylen);
		return err_set(err, AZMI_ERR_PROTOCOL, "arc", 401,
		               "arc: refusing key file %s: it holds control characters", path);
	}
	return AZMI_OK;
}

static azmi_err arc_challenge(const struct http_response *resp, struct src_request *req,
                              struct azmi_error *err)
{
	char path[512], key[ARC_KEY_MAX + 1], *header = NULL;
	azmi_err r;

	if ((r = arc_key_path(resp->www_authenticate, path, sizeof(path), err)) != AZMI_OK)
		return r;
	if ((r = arc_read_key(path, key, sizeof(key), err)) != AZMI_OK)
		return r;
	if (asprintf(&header, "Basic %s", key) < 0)
		header = NULL;
	explicit_bzero(key, sizeof(key));
	if (header == NULL)
		return err_set(err, AZMI_ERR_NOMEM, "arc", 0, "out of memory");
	r = src_request_header(req, "Authorization", header);
	util_free_secret(header);
	return r == AZMI_OK ? AZMI_OK : err_set(err, r, "arc", 0, "cannot add the Authorization header");
}

/* A user-assigned identity must come back as the one asked for. */
static azmi_err arc_verify(const struct identity *id, struct json_object *answer, struct azmi_error *err)
{
	static const char *const fields[] = {NULL, NULL, "client_id", "object_id", "msi_res_id"};
	const char *field = id->kind < sizeof(fields) / sizeof(fields[0]) ? fields[id->kind] : NULL;
	const char *got;

	if (field == NULL)
		return AZMI_OK;
	got = answer ? json_get_string(answer, field, NULL) : NULL;
	if (got == NULL || strcasecmp(got, id->value) != 0)
		return err_set(
		    err, AZMI_ERR_PROTOCOL, "arc", 200,
		    "arc: the answer is for another identity (%s %s asked, %s received); refusing it", field,
		    id->value, got ? "another" : "none");
	return AZMI_OK;
}

const struct source source_arc = {
    .name = "arc",
    .title = "Azure Arc-enabled server (himds)",
    .build = arc_build,
    .challenge = arc_challenge,
    .verify = arc_verify,
};

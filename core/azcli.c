/* azcli.c - tokens from the Azure CLI's login, for developer machines. */
#include "azcli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "error.h"
#include "expiry.h"
#include "json.h"
#include "timefmt.h"
#include "token.h"
#include "util.h"

extern char **environ;

/*
 * expires_on (epoch seconds, Azure CLI 2.54 and later) when present; else expiresOn, a naive local
 * time that older versions (Debian 12 ships 2.45) print alone.
 */
static azmi_err read_expiry(struct json_object *o, int64_t *expires_on, struct azmi_error *err)
{
	const char *text;
	size_t len;

	switch (json_get_int64(o, "expires_on", 0, 253402300799, expires_on)) {
	case 0:
		return AZMI_OK;
	case -1:
		return err_set(err, AZMI_ERR_PROTOCOL, "azure_cli", 0,
		               "azure_cli: az's expires_on is not a number of seconds since 1970");
	}
	if ((text = json_get_string(o, "expiresOn", &len)) == NULL)
		return err_set(err, AZMI_ERR_PROTOCOL, "azure_cli", 0,
		               "azure_cli: az's output has neither expires_on nor expiresOn");
	if (timefmt_parse_local(text, len, expires_on) != 0)
		return err_set(
		    err, AZMI_ERR_PROTOCOL, "azure_cli", 0,
		    "azure_cli: az's expiresOn is not a local time like 2030-01-02 03:04:05.000000");
	return AZMI_OK;
}

azmi_err azcli_parse(const char *text, size_t len, const char *resource, int64_t now, struct azmi_token **out,
                     struct azmi_error *err)
{
	struct json_object *o = json_parse_bounded(text, len);
	struct expiry x;
	const char *tok;
	size_t toklen;
	azmi_err r = AZMI_ERR_PROTOCOL;

	*out = NULL;
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		err_set(err, r, "azure_cli", 0, "azure_cli: az printed something that is not a JSON object");
		goto out;
	}
	if ((tok = json_get_string(o, "accessToken", &toklen)) == NULL || !token_text_valid(tok, toklen)) {
		err_set(err, r, "azure_cli", 0, "azure_cli: az's output has no valid accessToken");
		goto out;
	}
	if (read_expiry(o, &x.expires_on, err) != AZMI_OK)
		goto out;
	if (x.expires_on <= now || x.expires_on - now > EXPIRY_MAX_LIFETIME) {
		err_set(err, r, "azure_cli", 0,
		        "azure_cli: az's token expires at %lld, which is not plausible",
		        (long long)x.expires_on);
		goto out;
	}
	expiry_schedule(&x, now, -1);
	if ((*out = token_new(tok, toklen, &x, resource, "azure_cli")) == NULL) {
		r = err_set(err, AZMI_ERR_NOMEM, "azure_cli", 0, "out of memory");
		goto out;
	}
	r = AZMI_OK;
out:
	json_object_put(o);
	return r;
}

/* Drain both pipes until EOF or the deadline; false on timeout. */
static bool collect(int outfd, int errfd, struct buf *out, struct buf *errb, int64_t deadline_ms)
{
	struct pollfd p[2] = {{outfd, POLLIN, 0}, {errfd, POLLIN, 0}};
	char chunk[4096];

	while (p[0].fd >= 0 || p[1].fd >= 0) {
		int64_t left = deadline_ms - util_mono_ms();
		if (left <= 0 || poll(p, 2, (int)left) == 0)
			return false;
		for (int i = 0; i < 2; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(p[i].fd, chunk, sizeof(chunk));
			if (n <= 0) {
				p[i].fd = -1;
				continue;
			}
			buf_append(i == 0 ? out : errb, chunk,
			           (size_t)n); /* past the cap: dropped, flagged */
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	return true;
}

static azmi_err explain_failure(int status, const struct buf *errb, struct azmi_error *err)
{
	char text[300];
	const char *e = errb->data ? errb->data : "";

	util_sanitize(text, sizeof(text), e, strnlen(e, errb->len));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return err_set(err, AZMI_ERR_UNAVAILABLE, "azure_cli", 0,
		               "azure_cli: the Azure CLI is not installed (no az on PATH)");
	if (strstr(e, "az login") != NULL)
		return err_set(err, AZMI_ERR_UNAVAILABLE, "azure_cli", 0,
		               "azure_cli: not logged in: run 'az login' (az said: %s)", text);
	return err_set(err, AZMI_ERR_REFUSED, "azure_cli", 0, "azure_cli: az failed (%s %d): %s",
	               WIFEXITED(status) ? "exit status" : "signal",
	               WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), text);
}

azmi_err azcli_get_token(const char *resource, int64_t deadline_ms, struct azmi_token **out,
                         struct azmi_error *err)
{
	/* posix_spawn wants writable strings. */
	char a0[] = "az", a1[] = "account", a2[] = "get-access-token", a3[] = "--output", a4[] = "json",
	     a5[] = "--resource", res[1025];
	char *argv[] = {a0, a1, a2, a3, a4, a5, res, NULL};
	int outp[2] = {-1, -1}, errp[2] = {-1, -1}, status = 0;
	posix_spawn_file_actions_t fa;
	struct buf ob, eb;
	pid_t pid;
	int64_t limit = util_mono_ms() + AZCLI_TIMEOUT_MS;
	azmi_err r;
	int e;

	*out = NULL;
	/* The last guard: a setuid program would run the caller's az (PATH) with its privileges. */
	if (getauxval(AT_SECURE) != 0)
		return err_set(err, AZMI_ERR_UNAVAILABLE, "azure_cli", 0,
		               "azure_cli: the Azure CLI is never run from a setuid program");
	if (resource[0] == '-' || strlen(resource) >= sizeof(res))
		return err_set(err, AZMI_ERR_USAGE, "azure_cli", 0,
		               "azure_cli: a resource cannot start with '-' or exceed 1024 characters");
	memcpy(res, resource, strlen(resource) + 1);
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
		r = err_set(err, AZMI_ERR_SYSTEM, "azure_cli", 0, "azure_cli: pipe: %s", strerror(errno));
		if (outp[0] >= 0) {
			close(outp[0]);
			close(outp[1]);
		}
		return r;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, outp[1], 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	e = posix_spawnp(&pid, "az", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(outp[1]);
	close(errp[1]);
	if (e != 0) {
		close(outp[0]);
		close(errp[0]);
		if (e == ENOENT)
			return err_set(err, AZMI_ERR_UNAVAILABLE, "azure_cli", 0,
			               "azure_cli: the Azure CLI is not installed (no az on PATH)");
		return err_set(err, AZMI_ERR_SYSTEM, "azure_cli", 0, "azure_cli: cannot run az: %s",
		               strerror(e));
	}
	buf_init(&ob, AZCLI_MAX_OUTPUT);
	buf_init(&eb, 8192);
	if (!collect(outp[0], errp[0], &ob, &eb, limit < deadline_ms ? limit : deadline_ms)) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		r = err_set(err, AZMI_ERR_TIMEOUT, "azure_cli", 0,
		            "azure_cli: az account get-access-token did not finish within %d s; killed it",
		            (int)((limit < deadline_ms ? AZCLI_TIMEOUT_MS
		                                       : deadline_ms - (limit - AZCLI_TIMEOUT_MS)) /
		                  1000));
	} else if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		r = explain_failure(status, &eb, err);
	} else if (ob.overflow) {
		r = err_set(err, AZMI_ERR_PROTOCOL, "azure_cli", 0,
		            "azure_cli: az printed more than %d bytes", AZCLI_MAX_OUTPUT);
	} else {
		r = azcli_parse(ob.data ? ob.data : "", ob.len, resource, util_now(), out, err);
	}
	close(outp[0]);
	close(errp[0]);
	buf_free(&ob);
	buf_free(&eb);
	return r;
}

/* jwks_store.c - an Entra tenant's signing keys: bounded fetch, root-only 24 h cache, rate-limited refresh. */
#include "jwks_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "exchange.h"
#include "util.h"

#define PATH_BUF 1200

/* A tenant as it may appear in a path and a URL: a GUID or a domain name. */
static bool tenant_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > 128 || t[0] == '.' || t[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '.'))
			return false;
	return true;
}

struct cached {
	struct jwks *keys;
	int64_t fetched; /* mtime of the cache file: when it was fetched */
	int64_t tried;   /* mtime of the attempt marker: the last fetch attempt */
};

/* The cache file, when it is a regular file of ours, private and within the cap. */
static char *read_private(const char *path, size_t *len, int64_t *mtime)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *text = NULL;
	ssize_t got;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0 || st.st_size <= 0 || st.st_size > JWKS_MAX_BYTES ||
	    (text = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	got = read(fd, text, (size_t)st.st_size);
	if (got != st.st_size) {
		free(text);
		text = NULL;
		goto out;
	}
	text[got] = '\0';
	*len = (size_t)got;
	*mtime = (int64_t)st.st_mtime;
out:
	close(fd);
	return text;
}

static void load_cache(const char *path, const char *marker, struct cached *c)
{
	struct stat st;
	size_t len = 0;
	char *text = read_private(path, &len, &c->fetched);

	if (text != NULL)
		c->keys = jwks_parse(text, len, NULL, 0);
	free(text);
	c->tried = c->keys ? c->fetched : 0;
	if (lstat(marker, &st) == 0 && S_ISREG(st.st_mode) && (int64_t)st.st_mtime > c->tried)
		c->tried = (int64_t)st.st_mtime;
}

/* Set a file's times to `now` (the clock seam makes the ages testable). */
static void stamp(int fd, int64_t now)
{
	struct timespec ts[2] = {{.tv_sec = (time_t)now}, {.tv_sec = (time_t)now}};

	(void)futimens(fd, ts);
}

static void mark_attempt(const char *marker, int64_t now)
{
	int fd = open(marker, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return;
	stamp(fd, now);
	close(fd);
}

/* Write the set atomically (0600, temporary file then rename). */
static void save_cache(const char *path, const char *text, size_t len, int64_t now)
{
	char tmp[PATH_BUF];
	int fd;
	bool ok;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
		return;
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return;
	ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, 0600) == 0;
	stamp(fd, now);
	ok = fsync(fd) == 0 && ok;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0)
		(void)unlink(tmp);
}

/* GET the key set; AZMI_OK with *keys set, or an error naming the URL and what came back. */
static azmi_err fetch(const struct jwks_source *src, int ver, const char *path, int64_t now,
                      struct jwks **keys, struct azmi_error *err)
{
	struct http_request req = {0};
	struct http_response resp;
	struct exchange x = {.kind = EP_KEY_SET, .name = "jwks", .req = &req, .body_cap = JWKS_MAX_BYTES};
	char *url = NULL, what[512], why[160];
	azmi_err rc;

	if (asprintf(&url, "%s/%s/discovery/%skeys", src->authority, src->tenant, ver == 1 ? "" : "v2.0/") <
	    0)
		return err_set(err, AZMI_ERR_NOMEM, "jwks", 0, "out of memory");
	req.method = "GET";
	req.url = url;
	req.headers[0] = "Accept: application/json";
	req.ca_file = src->ca_file;
	req.proxy = src->proxy;
	x.deadline_ms = util_mono_ms() + (src->timeout_ms > 0 ? src->timeout_ms : 15000L);
	rc = exchange_perform(&x, &resp, err);
	if (rc == AZMI_OK && (*keys = jwks_parse(resp.body.data, resp.body.len, why, sizeof(why))) == NULL) {
		exchange_describe(&x, what, sizeof(what));
		rc = err_set(err, AZMI_ERR_PROTOCOL, "jwks", 200, "%s: %s", what, why);
	} else if (rc == AZMI_OK && path != NULL) {
		save_cache(path, resp.body.data, resp.body.len, now);
	}
	http_response_free(&resp);
	free(url);
	return rc;
}

azmi_err jwks_load(const struct jwks_source *src, int ver, bool kid_unknown, struct jwks **out, bool *stale,
                   struct azmi_error *err)
{
	char path[PATH_BUF - 32], marker[PATH_BUF];
	struct cached c = {0};
	struct jwks *fresh = NULL;
	int64_t now;
	azmi_err rc;

	err_clear(err);
	*out = NULL;
	if (stale != NULL)
		*stale = false;
	if (src == NULL || src->authority == NULL || !tenant_ok(src->tenant))
		return err_set(err, AZMI_ERR_CONFIG, "jwks", 0,
		               "jwks: no valid tenant or authority configured");
	if (strncmp(src->authority, "https://", 8) != 0)
		return err_set(err, AZMI_ERR_CONFIG, "jwks", 0, "jwks: the authority must be an https URL");
	now = src->now ? src->now : util_now();
	path[0] = marker[0] = '\0';
	if (src->cache_dir != NULL && snprintf(path, sizeof(path), "%s/jwks-%s%s.json", src->cache_dir,
	                                       src->tenant, ver == 1 ? "-v1" : "") < (int)sizeof(path)) {
		snprintf(marker, sizeof(marker), "%s.attempt", path);
		load_cache(path, marker, &c);
	}
	if (c.keys != NULL && !kid_unknown && now - c.fetched < JWKS_CACHE_TTL && now >= c.fetched)
		goto use_cache;
	if (c.keys != NULL && kid_unknown && now - c.tried < JWKS_REFRESH_EVERY && now >= c.tried)
		goto use_cache;
	if (marker[0])
		mark_attempt(marker, now);
	rc = fetch(src, ver, path[0] ? path : NULL, now, &fresh, err);
	if (rc == AZMI_OK) {
		jwks_free(c.keys);
		*out = fresh;
		return AZMI_OK;
	}
	if (c.keys == NULL)
		return rc;
	if (stale != NULL)
		*stale = true; /* the last good set, kept while the endpoint fails */
use_cache:
	*out = c.keys;
	return AZMI_OK;
}

/*
 * serve_env.c - the file that pairs `azmi serve` with its clients: the
 * IDENTITY_ENDPOINT and IDENTITY_HEADER lines the SDKs read from their
 * environment.  Who can read it can have tokens, so it is opened as a secret.
 */
#include "serve.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jwt.h"
#include "util.h"

static bool secret_chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

int serve_parse_endpoint(const char *url, struct serve_config *cfg)
{
	static const struct {
		const char *prefix, *host;
	} hosts[] = {
	    {"http://127.0.0.1:", "127.0.0.1"}, {"http://localhost:", "127.0.0.1"}, {"http://[::1]:", "::1"}};
	const char *p = NULL, *slash;
	int64_t port;

	for (size_t i = 0; i < ARRAY_SIZE(hosts) && p == NULL; i++)
		if (strncmp(url, hosts[i].prefix, strlen(hosts[i].prefix)) == 0) {
			p = url + strlen(hosts[i].prefix);
			cfg->listen_host = hosts[i].host;
		}
	if (p == NULL)
		return cli_usage_error(
		    "endpoint %s: azmi serve listens only on loopback: "
		    "http://127.0.0.1:PORT/PATH, http://localhost:PORT/PATH or http://[::1]:PORT/PATH",
		    url);
	slash = strchr(p, '/');
	if (slash == NULL || !util_parse_int64(p, (size_t)(slash - p), 0, 65535, &port))
		return cli_usage_error("endpoint %s: expected a port number and a path after the host", url);
	if (strlen(slash) >= sizeof(cfg->path) || strpbrk(slash, "?# \t") ||
	    !util_is_printable(slash, strlen(slash)))
		return cli_usage_error("endpoint %s: the path must be plain and shorter than %zu bytes", url,
		                       sizeof(cfg->path));
	cfg->port = (unsigned int)port;
	memcpy(cfg->path, slash, strlen(slash) + 1);
	return 0;
}

/* Open the file as a secret: no link, regular, small, nobody else may write it or read it. */
static int open_env(const char *path, int *fdp)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		fprintf(stderr, "azmi: cannot open %s: %s%s\n", path, strerror(errno),
		        errno == ELOOP ? " (a symbolic link is refused)" : "");
		return EXIT_USAGE;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SERVE_ENV_MAX) {
		fprintf(stderr, "azmi: %s must be a regular file of at most %d bytes\n", path, SERVE_ENV_MAX);
		close(fd);
		return EXIT_USAGE;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 0027) != 0) {
		fprintf(stderr,
		        "azmi: %s holds the secret: it must be owned by root (or this user), "
		        "writable by its owner only and not readable by others (chmod 0640)\n",
		        path);
		close(fd);
		return EXIT_USAGE;
	}
	*fdp = fd;
	return 0;
}

static int take_line(const char *path, int lineno, char *line, struct serve_config *cfg, bool *have_secret)
{
	char *eq = strchr(line, '=');

	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if (eq == NULL) {
		fprintf(stderr, "azmi: %s line %d: expected KEY=VALUE\n", path, lineno);
		return EXIT_USAGE;
	}
	*eq = '\0';
	if (strcmp(line, "IDENTITY_HEADER") == 0) {
		size_t n = strlen(eq + 1);
		if (n < SERVE_SECRET_MIN || n > SERVE_SECRET_MAX || !secret_chars_ok(eq + 1, n)) {
			fprintf(
			    stderr,
			    "azmi: %s line %d: IDENTITY_HEADER must be %d to %d letters, digits, '-' or '_' "
			    "(azmi serve --init writes a good one)\n",
			    path, lineno, SERVE_SECRET_MIN, SERVE_SECRET_MAX);
			return EXIT_USAGE;
		}
		memcpy(cfg->secret, eq + 1, n + 1);
		cfg->secret_len = n;
		*have_secret = true;
	} else if (strcmp(line, "IDENTITY_ENDPOINT") == 0) {
		return serve_parse_endpoint(eq + 1, cfg);
	} else {
		fprintf(stderr, "azmi: %s line %d: ignoring unknown key %s\n", path, lineno, line);
	}
	return 0;
}

int serve_env_read(const char *path, struct serve_config *cfg)
{
	char buf[SERVE_ENV_MAX + 1];
	ssize_t n;
	size_t len = 0;
	int fd, r, lineno = 0;
	bool have_secret = false;

	if ((r = open_env(path, &fd)) != 0)
		return r;
	while (len < SERVE_ENV_MAX && (n = read(fd, buf + len, SERVE_ENV_MAX - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "azmi: cannot read %s: %s\n", path, strerror(errno));
			close(fd);
			return EXIT_USAGE;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	for (char *line = buf, *next; r == 0 && line < buf + len; line = next) {
		next = line + strcspn(line, "\n");
		if (*next)
			*next++ = '\0';
		r = take_line(path, ++lineno, line, cfg, &have_secret);
	}
	explicit_bzero(buf, sizeof(buf));
	if (r == 0 && !have_secret) {
		fprintf(stderr, "azmi: %s has no IDENTITY_HEADER line (azmi serve --init %s writes one)\n",
		        path, path);
		r = EXIT_USAGE;
	}
	return r;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A fresh secret: 32 random bytes in base64url, 43 characters. */
static char *new_secret(void)
{
	unsigned char r[32];
	char *s = NULL;

	if (getrandom(r, sizeof(r), 0) == (ssize_t)sizeof(r))
		s = jwt_b64_encode(r, sizeof(r), true);
	explicit_bzero(r, sizeof(r));
	return s;
}

int serve_env_init(const char *path, const char *group, const char *endpoint)
{
	struct serve_config check = {0};
	char *dup = strdup(path), tmp[4096], text[1024];
	char *secret = new_secret();
	gid_t gid = (gid_t)-1;
	int fd = -1, r = EXIT_INTERNAL, len;

	if (serve_parse_endpoint(endpoint, &check) != 0) {
		r = EXIT_USAGE;
		goto out;
	}
	if (group) {
		struct group *g = getgrnam(group);
		if (g == NULL) {
			r = cli_usage_error("--group %s: no such group", group);
			goto out;
		}
		gid = g->gr_gid;
	}
	if (dup == NULL || secret == NULL ||
	    snprintf(tmp, sizeof(tmp), "%s/.serve.env.XXXXXX", dirname(dup)) >= (int)sizeof(tmp))
		goto out;
	len = snprintf(text, sizeof(text),
	               "# azmi serve: the local managed-identity endpoint and its secret.\n"
	               "# Whoever can read this file can have the machine's tokens.\n"
	               "IDENTITY_ENDPOINT=%s\nIDENTITY_HEADER=%s\n",
	               endpoint, secret);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || fchmod(fd, 0640) < 0 ||
	    (group && fchown(fd, (uid_t)-1, gid) < 0) || write_all(fd, text, (size_t)len) < 0 ||
	    fsync(fd) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "azmi: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		goto out;
	}
	fprintf(stderr, "azmi serve: wrote %s (mode 0640%s%s)\n", path, group ? ", group " : "",
	        group ? group : "");
	r = EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(text, sizeof(text));
	util_free_secret(secret);
	free(dup);
	return r;
}

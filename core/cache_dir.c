/* cache_dir.c - choosing and opening a user's token cache directory safely. */
#include "cache_dir.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_file.h"
#include "fileio.h"

char *file_cache_default_dir(void)
{
	char *dir = NULL;

	if (geteuid() == 0)
		return strdup("/run/azmi");
	if (asprintf(&dir, "/tmp/azmi-%u", (unsigned)geteuid()) < 0)
		return NULL;
	return dir;
}

/* Owned by us and private; says why not in `why`. */
static bool private_to_us(int fd, const char **why, struct stat *st)
{
	if (fstat(fd, st) != 0) {
		*why = "unreadable";
		return false;
	}
	if (st->st_uid != geteuid()) {
		*why = "owned by another user";
		return false;
	}
	if (st->st_mode & 077) {
		*why = "readable or writable by group or others";
		return false;
	}
	return true;
}

/*
 * `name` under `atfd` made or opened and checked private; the descriptor, or
 * -1 with *why (and st for the message) set.
 */
static int open_private(int atfd, const char *name, const char **why, struct stat *st)
{
	int fd, e = fileio_dir_open(atfd, name, 0700, true, false, &fd);

	memset(st, 0, sizeof(*st));
	if (e != 0) {
		*why = e == -ELOOP    ? "not a directory (a symbolic link?)"
		       : e == -ENOENT ? "missing and cannot be created (no such parent directory)"
		                      : strerror(-e);
		return -1;
	}
	if (!private_to_us(fd, why, st)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A parent directory (XDG_RUNTIME_DIR, home, ~/.cache) fit to hold ours: the user's, not writable by others. */
static int open_parent(int atfd, const char *name, bool create)
{
	struct stat st;
	int fd;

	if (fileio_dir_open(atfd, name, 0700, create, false, &fd) != 0)
		return -1;
	if (fstat(fd, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The user's home from the password database (never $HOME: a setuid program's caller sets that). */
static char *home_dir(void)
{
	struct passwd pw, *res = NULL;
	char buf[4096], *home = NULL;

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res != NULL && pw.pw_dir != NULL &&
	    pw.pw_dir[0] == '/')
		home = strdup(pw.pw_dir);
	return home;
}

/* $XDG_RUNTIME_DIR/azmi when the runtime directory is safe; -1 otherwise. */
static int try_runtime(const struct log_sink *log, char **path)
{
	const char *xdg = secure_getenv("XDG_RUNTIME_DIR");
	const char *why = NULL;
	struct stat st;
	int parent, fd = -1;

	if (xdg == NULL || xdg[0] != '/')
		return -1;
	if ((parent = open_parent(AT_FDCWD, xdg, false)) < 0) {
		log_line(log, AZMI_LOG_DEBUG,
		         "token cache: XDG_RUNTIME_DIR %.200s is not a directory of uid %u "
		         "closed to others; not using it",
		         xdg, (unsigned)geteuid());
		return -1;
	}
	fd = open_private(parent, "azmi", &why, &st);
	close(parent);
	if (fd < 0)
		log_line(log, AZMI_LOG_DEBUG, "token cache: %.200s/azmi is %s; not using it", xdg, why);
	else if (asprintf(path, "%s/azmi", xdg) < 0)
		*path = NULL;
	return fd;
}

/* ~/.cache/azmi, when home and ~/.cache are the user's own. */
static int try_home(const struct log_sink *log, char **path)
{
	char *home = home_dir();
	const char *why = "not a directory of this user";
	struct stat st;
	int h = -1, c = -1, fd = -1;

	if (home == NULL)
		why = "unknown (no password database entry)";
	else if ((h = open_parent(AT_FDCWD, home, false)) >= 0 && (c = open_parent(h, ".cache", true)) >= 0 &&
	         (fd = open_private(c, "azmi", &why, &st)) >= 0 && asprintf(path, "%s/.cache/azmi", home) < 0)
		*path = NULL;
	if (fd < 0)
		log_line(log, AZMI_LOG_DEBUG, "token cache: %.200s%s is %s; not using it",
		         home ? home : "home",
		         h >= 0 && c >= 0 ? "/.cache/azmi"
		         : h >= 0         ? "/.cache"
		                          : "",
		         why);
	if (c >= 0)
		close(c);
	if (h >= 0)
		close(h);
	free(home);
	return fd;
}

static int open_explicit(const char *dir, const struct log_sink *log)
{
	const char *why = NULL;
	struct stat st;
	int fd = open_private(AT_FDCWD, dir, &why, &st);

	if (fd < 0)
		log_line(
		    log, AZMI_LOG_WARNING,
		    "token cache off: %s is %s (mode %04o, uid %u); it must be a 0700 directory of uid %u",
		    dir, why, (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid, (unsigned)geteuid());
	return fd;
}

int cache_dir_open(const char *dir, const struct log_sink *log, char **path)
{
	const char *why = NULL;
	struct stat st;
	char *first;
	int fd;

	*path = NULL;
	if (dir != NULL) {
		if ((*path = strdup(dir)) == NULL)
			return -1;
		return open_explicit(dir, log);
	}
	if ((first = file_cache_default_dir()) == NULL)
		return -1;
	if (geteuid() == 0) {
		*path = first;
		return open_explicit(first, log);
	}
	if ((fd = try_runtime(log, path)) >= 0) {
		free(first);
		return fd;
	}
	if ((fd = open_private(AT_FDCWD, first, &why, &st)) >= 0) {
		*path = first;
		return fd;
	}
	/* Anyone may make /tmp/azmi-<uid> first: then the home directory, which nobody else can. */
	log_line(log, AZMI_LOG_INFO, "token cache: %s is %s (uid %u, mode %04o); using ~/.cache/azmi instead",
	         first, why, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
	if ((fd = try_home(log, path)) >= 0) {
		free(first);
		return fd;
	}
	log_line(log, AZMI_LOG_DEBUG,
	         "token cache off: no directory private to uid %u (tried %s and "
	         "~/.cache/azmi)",
	         (unsigned)geteuid(), first);
	*path = first;
	return -1;
}

/* ssh_ticket.c - the accepted certificate, from the principals command to the account phase. */
#include "ssh_ticket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BUF 1200

/*
 * dir/t-<FNV-1a 64 of the name in hex>: no name text in the directory
 * listing.  Not a secret and not trusted: two names sharing a file would only
 * see each other's certificate refused by the check that follows.
 */
static bool ticket_path(const char *dir, const char *user, char *out, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return snprintf(out, len, "%s/t-%016llx", dir, (unsigned long long)h) < (int)len;
}

bool ssh_ticket_write(const char *dir, const char *user, const char *cert_text, char *why, size_t whylen)
{
	char path[PATH_BUF], tmp[PATH_BUF + 32];
	size_t len = strlen(cert_text);
	struct stat st;
	bool ok;
	int fd;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) != 0) {
		snprintf(why, whylen, "%.200s is not a 0700 directory of this user", dir);
		return false;
	}
	if (len == 0 || len > SSH_TICKET_MAX || !ticket_path(dir, user, path, sizeof(path)) ||
	    snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(why, whylen, "certificate or path too long");
		return false;
	}
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, whylen, "cannot create %.200s: %s", tmp, strerror(errno));
		return false;
	}
	ok = write(fd, cert_text, len) == (ssize_t)len && write(fd, "\n", 1) == 1;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(why, whylen, "cannot write %.200s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return false;
	}
	return true;
}

bool ssh_ticket_read(const char *dir, const char *user, struct sshcert *out, char *why, size_t whylen)
{
	char path[PATH_BUF], *text = NULL;
	struct stat st;
	ssize_t got;
	bool ok = false;
	int fd;

	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || !ticket_path(dir, user, path, sizeof(path))) {
		snprintf(why, whylen, "no ticket directory");
		return false;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "no certificate left for this name");
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > SSH_TICKET_MAX + 1 || (text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(why, whylen, "the ticket is not a regular file within %d bytes", SSH_TICKET_MAX);
		goto out;
	}
	got = read(fd, text, (size_t)st.st_size);
	if (got != st.st_size) {
		snprintf(why, whylen, "cannot read the ticket");
		goto out;
	}
	ok = sshcert_parse_text(text, (size_t)got, out, why, whylen);
out:
	free(text);
	close(fd);
	return ok;
}

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

#include "statefile.h"

#define PATH_BUF        1200
#define TICKET_NAME_LEN 24 /* "t-" and 16 hex digits */

/*
 * t-<FNV-1a 64 of the name in hex>: no name text in the directory
 * listing.  Not a secret and not trusted: two names sharing a file would only
 * see each other's certificate refused by the check that follows.
 */
static void ticket_name(const char *user, char out[TICKET_NAME_LEN])
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	snprintf(out, TICKET_NAME_LEN, "t-%016llx", (unsigned long long)h);
}

bool ssh_ticket_write(const char *dir, const char *user, const char *cert_text, char *why, size_t whylen)
{
	char name[TICKET_NAME_LEN], *data;
	size_t len = strlen(cert_text);
	struct stat st;
	int dirfd, r;

	if (len == 0 || len > SSH_TICKET_MAX) {
		snprintf(why, whylen, "certificate too long");
		return false;
	}
	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(dirfd, &st) != 0 ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		snprintf(why, whylen, "%.200s is not a 0700 directory of this user", dir);
		if (dirfd >= 0)
			close(dirfd);
		return false;
	}
	if ((data = malloc(len + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		close(dirfd);
		return false;
	}
	memcpy(data, cert_text, len);
	data[len] = '\n';
	ticket_name(user, name);
	r = sfile_write(dirfd, name, 0600, data, len + 1);
	free(data);
	close(dirfd);
	if (r != 0) {
		snprintf(why, whylen, "cannot write %.200s/%s: %s", dir, name, strerror(-r));
		return false;
	}
	return true;
}

bool ssh_ticket_read(const char *dir, const char *user, struct sshcert *out, char *why, size_t whylen)
{
	char path[PATH_BUF], name[TICKET_NAME_LEN], *text = NULL;
	struct stat st;
	ssize_t got;
	bool ok = false;
	int fd;

	ticket_name(user, name);
	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
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

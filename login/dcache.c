/* dcache.c - positive login decisions kept in root-only files for cache_ttl and offline_grace. */
#include "dcache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statefile.h"
#include "util.h"

#define DCACHE_MAGIC "azmi-decision 1"

/* The file holding `user`'s decision: FNV-1a 64 of the name (the name inside is checked too). */
static void dcache_name(const char *user, char *out, size_t outlen)
{
	uint64_t h = 14695981039346656037ull;

	for (const unsigned char *p = (const unsigned char *)user; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	snprintf(out, outlen, "d-%016llx", (unsigned long long)h);
}

static int dcache_dir(bool create, int *fd)
{
	int statefd, r;

	*fd = -1;
	if ((r = sfile_state_dir(create, &statefd)) != 0)
		return r;
	r = sfile_dir_open(statefd, DCACHE_SUBDIR, create, 0700, fd);
	close(statefd);
	return r;
}

static bool set_field(char *dst, size_t dstlen, const char *v)
{
	size_t len = strlen(v);

	if (len >= dstlen)
		return false;
	memcpy(dst, v, len + 1);
	return true;
}

int dcache_parse(char *text, struct dcache_entry *e)
{
	char *line = text, *next;
	bool magic = false;

	memset(e, 0, sizeof(*e));
	for (; line != NULL && *line; line = next) {
		char *sp;
		bool ok = true;
		int64_t n;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (!magic) {
			if (strcmp(line, DCACHE_MAGIC) != 0)
				return -EINVAL;
			magic = true;
			continue;
		}
		if ((sp = strchr(line, ' ')) == NULL)
			return -EINVAL;
		*sp++ = '\0';
		if (strcmp(line, "user") == 0)
			ok = set_field(e->user, sizeof(e->user), sp);
		else if (strcmp(line, "principal") == 0)
			ok = set_field(e->principal, sizeof(e->principal), sp);
		else if (strcmp(line, "oid") == 0)
			ok = set_field(e->oid, sizeof(e->oid), sp);
		else if (strcmp(line, "role") == 0)
			ok = set_field(e->role, sizeof(e->role), sp);
		else if (strcmp(line, "scope") == 0)
			ok = set_field(e->scope, sizeof(e->scope), sp);
		else if (strcmp(line, "correlation") == 0)
			ok = set_field(e->correlation_id, sizeof(e->correlation_id), sp);
		else if (strcmp(line, "level") == 0) {
			ok = util_parse_int64(sp, strlen(sp), DCACHE_USER, DCACHE_ADMIN, &n);
			e->level = ok ? (int)n : 0;
		} else if (strcmp(line, "time") == 0) {
			ok = util_parse_int64(sp, strlen(sp), 1, INT64_MAX / 2, &n);
			e->when = ok ? n : 0;
		}
		if (!ok)
			return -EINVAL;
	}
	return magic && e->user[0] && e->principal[0] && e->level && e->when ? 0 : -EINVAL;
}

int dcache_load(const char *user, struct dcache_entry *e)
{
	char name[32], *text;
	size_t len;
	int dirfd, r;

	memset(e, 0, sizeof(*e));
	if ((r = dcache_dir(false, &dirfd)) != 0)
		return r;
	dcache_name(user, name, sizeof(name));
	r = sfile_read(dirfd, name, DCACHE_MAX, true, &text, &len);
	close(dirfd);
	if (r != 0)
		return r;
	if (memchr(text, '\0', len) != NULL)
		r = -EINVAL;
	else
		r = dcache_parse(text, e);
	free(text);
	if (r == 0 && strcmp(e->user, user) != 0)
		r = -ENOENT; /* another name's file (a hash collision): not ours */
	if (r != 0)
		memset(e, 0, sizeof(*e));
	return r;
}

int dcache_store(const struct dcache_entry *e)
{
	char name[32], text[DCACHE_MAX], f[6][600];
	const char *src[6] = {e->user, e->principal, e->oid, e->role, e->scope, e->correlation_id};
	int dirfd, r, len;

	for (size_t i = 0; i < 6; i++)
		util_sanitize(f[i], sizeof(f[i]), src[i], strlen(src[i]));
	len = snprintf(text, sizeof(text),
	               DCACHE_MAGIC
	               "\nuser %s\nprincipal %s\noid %s\nlevel %d\nrole %s\nscope %s\ncorrelation %s\n"
	               "time %lld\n",
	               f[0], f[1], f[2], e->level, f[3], f[4], f[5], (long long)e->when);
	if (len < 0 || (size_t)len >= sizeof(text))
		return -EFBIG;
	if ((r = dcache_dir(true, &dirfd)) != 0)
		return r;
	dcache_name(e->user, name, sizeof(name));
	r = sfile_write(dirfd, name, 0600, text, (size_t)len);
	close(dirfd);
	return r;
}

int dcache_drop(const char *user)
{
	char name[32];
	int dirfd, r;

	if ((r = dcache_dir(false, &dirfd)) != 0)
		return r == -ENOENT ? 0 : r;
	dcache_name(user, name, sizeof(name));
	r = unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -errno;
	close(dirfd);
	return r;
}

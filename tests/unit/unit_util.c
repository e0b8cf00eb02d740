/* unit_util.c - helpers shared by the unit test programs (see unit.h). */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *unit_show(const char *s, size_t len)
{
	static char out[200];
	size_t n = 0;
	size_t i;

	for (i = 0; i < len && n + 8 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[n++] = (char)c;
		} else {
			snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
			n += 4;
		}
	}
	if (i < len)
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	return out;
}

char *unit_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char *path = NULL;

	if (base == NULL || base[0] != '/')
		base = "/tmp";
	if (asprintf(&path, "%s/azmi-unit-XXXXXX", base) < 0)
		return NULL;
	if (mkdtemp(path) == NULL || chmod(path, 0700) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void unit_rmtree(const char *path)
{
	if (path != NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *unit_path(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int unit_write_file(const char *path, const void *data, size_t len, unsigned int mode)
{
	const char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -1;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fchmod(fd, (mode_t)mode) != 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

char *unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	size_t n = 0, alloc = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > alloc) {
			char *more = realloc(data, alloc + 8192);
			if (more == NULL) {
				free(data);
				fclose(f);
				return NULL;
			}
			data = more;
			alloc += 8192;
		}
		size_t got = fread(data + n, 1, 4096, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	data[n] = '\0';
	if (len)
		*len = n;
	return data;
}

bool unit_is_root(void)
{
	return geteuid() == 0;
}

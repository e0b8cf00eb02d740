/* fileio.c - bounded reads of small files; the state directories. */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read(const char *path, size_t max, bool follow, char **out, size_t *len)
{
	struct stat st;
	char *data;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	int e;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	e = got == (size_t)st.st_size ? 0 : -EIO;
	close(fd);
	if (e != 0) {
		explicit_bzero(data, (size_t)st.st_size + 1);
		free(data);
		return e;
	}
	data[got] = '\0';
	*out = data;
	*len = got;
	return 0;
}

int fileio_dir_open(int atfd, const char *path, mode_t mode, bool create, bool repair, int *fd)
{
	struct stat st;
	bool made = false;
	int d;

	*fd = -1;
	d = openat(atfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d < 0 && errno == ENOENT && create) {
		if (mkdirat(atfd, path, mode & 07777) == 0)
			made = true;
		else if (errno != EEXIST)
			return -errno;
		d = openat(atfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (d < 0)
		return errno == ENOTDIR ? -ELOOP : -errno;
	if (fstat(d, &st) != 0) {
		int e = -errno;
		close(d);
		return e;
	}
	if ((made || repair) && st.st_uid == geteuid() && (st.st_mode & 07777) != (mode & 07777) &&
	    fchmod(d, mode & 07777) != 0) {
		int e = -errno;
		close(d);
		return e;
	}
	*fd = d;
	return 0;
}

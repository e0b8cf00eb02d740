/* statefile.c - reading and replacing the login modules' root-owned files safely. */
#include "statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "login_conf.h"
#include "util.h"

static bool owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

int sfile_read(int dirfd, const char *path, size_t max, bool private_file, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int r = -EINVAL;
	int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*out = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode))
		goto out;
	r = -EPERM;
	if (!owner_ok(&st) || (st.st_mode & (private_file ? 077 : 022)) != 0)
		goto out;
	r = -EFBIG;
	if ((size_t)st.st_size > max)
		goto out;
	r = -ENOMEM;
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto out;
	/* One read of one byte more than the size: a file that grew meanwhile is refused. */
	n = read(fd, buf, (size_t)st.st_size + 1);
	r = n < 0 ? -errno : -EFBIG;
	if (n < 0 || n > st.st_size)
		goto out;
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int sfile_dir_open(int atfd, const char *path, bool create, mode_t mode, int *fd)
{
	struct stat st;
	int d, r;

	*fd = -1;
	/* Writers (create) also put back the mode an earlier umask took away: NSS reads this in every process. */
	if ((r = fileio_dir_open(atfd, path, mode, create, create, &d)) != 0)
		return r;
	if (fstat(d, &st) != 0 || !owner_ok(&st) || (st.st_mode & 022) != 0 ||
	    ((mode & 077) == 0 && (st.st_mode & 077) != 0)) {
		close(d);
		return -EPERM;
	}
	*fd = d;
	return 0;
}

int sfile_write(int dirfd, const char *name, mode_t mode, const char *data, size_t len)
{
	char tmp[128];
	int fd, r = 0;
	size_t off = 0;

	if (snprintf(tmp, sizeof(tmp), ".%s.%u.%08x", name, (unsigned)getpid(),
	             util_random_below(UINT32_MAX)) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) != 0)
		r = -errno;
	while (r == 0 && off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) != 0)
		r = -errno;
	if (close(fd) != 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) != 0)
		r = -errno;
	if (r != 0)
		unlinkat(dirfd, tmp, 0);
	return r;
}

int sfile_lock(int dirfd, const char *name, int *fd)
{
	int f = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	*fd = -1;
	if (f < 0)
		return -errno;
	while (flock(f, LOCK_EX) != 0) {
		if (errno != EINTR) {
			int e = -errno;
			close(f);
			return e;
		}
	}
	*fd = f;
	return 0;
}

static const char *state_dir = AZMI_STATEDIR;

void sfile_use_state_dir(const char *dir)
{
	state_dir = dir != NULL ? dir : AZMI_STATEDIR;
}

int sfile_state_dir(bool create, int *fd)
{
	return sfile_dir_open(AT_FDCWD, state_dir, create, 0755, fd);
}

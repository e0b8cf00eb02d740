/* vm_cache.c - the machine's instance metadata, cached between logins in a private file. */
#include "vm_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define MAGIC "azmi-vm-info 2"

/* The next line, which must be `name` + ' ' + a printable value without spaces (may be empty). */
static bool field(const char **p, const char *end, const char *name, char *out, size_t outlen)
{
	size_t n = strlen(name), vlen;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p)), *v;

	if (nl == NULL || (size_t)(nl - *p) <= n || strncmp(*p, name, n) != 0 || (*p)[n] != ' ')
		return false;
	v = *p + n + 1;
	vlen = (size_t)(nl - v);
	if (vlen >= outlen || !util_is_printable(v, vlen) || memchr(v, ' ', vlen) != NULL)
		return false;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	*p = nl + 1;
	return true;
}

bool vm_cache_parse(const char *text, size_t len, const char *base, bool arc, int64_t now,
                    struct vm_info *out)
{
	const char *p = text, *end = text + len;
	char got_base[2048], kind[4], when[24], id[sizeof(out->resource_id)], set[sizeof(out->scale_set)];
	struct vm_info info;
	int64_t t;

	memset(&info, 0, sizeof(info));
	if (len > VM_CACHE_MAX_BYTES || len < sizeof(MAGIC) || memcmp(p, MAGIC "\n", sizeof(MAGIC)) != 0)
		return false;
	p += sizeof(MAGIC);
	if (!field(&p, end, "base", got_base, sizeof(got_base)) || strcmp(got_base, base) != 0 ||
	    !field(&p, end, "arc", kind, sizeof(kind)) || strcmp(kind, arc ? "1" : "0") != 0 ||
	    !field(&p, end, "time", when, sizeof(when)) ||
	    !util_parse_int64(when, strlen(when), 0, INT64_MAX / 2, &t) || t > now ||
	    now - t >= VM_CACHE_TTL || !field(&p, end, "resource_id", id, sizeof(id)) ||
	    !field(&p, end, "vm_id", info.vm_id, sizeof(info.vm_id)) ||
	    !field(&p, end, "az_environment", info.az_environment, sizeof(info.az_environment)) ||
	    !field(&p, end, "scale_set", set, sizeof(set)) || p != end)
		return false;
	if (!vm_info_split(id, arc, &info))
		return false;
	/* A Uniform instance's set comes from its id and must agree; a VM with a set is Flexible. */
	if (info.kind == MACHINE_UNIFORM && strcasecmp(set, info.scale_set) != 0)
		return false;
	if (info.kind == MACHINE_VM && set[0] != '\0') {
		info.kind = MACHINE_FLEXIBLE;
		snprintf(info.scale_set, sizeof(info.scale_set), "%s", set);
	}
	if (info.kind == MACHINE_ARC && set[0] != '\0')
		return false;
	info.arc = arc;
	*out = info;
	return true;
}

char *vm_cache_format(const struct vm_info *info, const char *base, int64_t now)
{
	char *text = NULL;

	if (asprintf(&text,
	             MAGIC "\nbase %s\narc %d\ntime %lld\nresource_id %s\nvm_id %s\naz_environment %s\n"
	                   "scale_set %s\n",
	             base, info->arc ? 1 : 0, (long long)now, info->resource_id, info->vm_id,
	             info->az_environment, info->scale_set) < 0)
		return NULL;
	return text;
}

bool vm_cache_load(int dirfd, const char *base, bool arc, int64_t now, struct vm_info *out)
{
	char text[VM_CACHE_MAX_BYTES + 1];
	struct stat st;
	ssize_t n;
	bool ok = false;
	int fd;

	if (dirfd < 0)
		return false;
	fd = openat(dirfd, VM_CACHE_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	    st.st_size <= VM_CACHE_MAX_BYTES && (n = read(fd, text, sizeof(text))) >= 0 &&
	    n <= VM_CACHE_MAX_BYTES)
		ok = vm_cache_parse(text, (size_t)n, base, arc, now, out);
	close(fd);
	return ok;
}

void vm_cache_store(int dirfd, const struct vm_info *info, const char *base, int64_t now)
{
	char tmp[64], *text;
	size_t len;
	bool ok;
	int fd;

	if (dirfd < 0 || (text = vm_cache_format(info, base, now)) == NULL)
		return;
	len = strlen(text);
	snprintf(tmp, sizeof(tmp), "." VM_CACHE_FILE ".%ld.%08x", (long)getpid(),
	         util_random_below(UINT32_MAX));
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ok = fchmod(fd, 0600) == 0 && write(fd, text, len) == (ssize_t)len;
		ok = close(fd) == 0 && ok;
		if (!ok || renameat(dirfd, tmp, dirfd, VM_CACHE_FILE) != 0)
			(void)unlinkat(dirfd, tmp, 0);
	}
	free(text);
}

/* cache_file.c - the cross-process token cache. */
#include "cache_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cache_dir.h"
#include "token.h"
#include "util.h"

#define CACHE_MAGIC "azmi-token-cache 1"

/* Owned by us and private; says why not in `why`. */
static bool private_to_us(const struct stat *st, const char **why)
{
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

void file_cache_open(struct file_cache *fc, const char *dir, const struct log_sink *log)
{
	fc->log = log;
	fc->dirfd = cache_dir_open(dir, log, &fc->dir);
}

void file_cache_close(struct file_cache *fc)
{
	if (fc->dirfd >= 0)
		close(fc->dirfd);
	fc->dirfd = -1;
	free(fc->dir);
	fc->dir = NULL;
}

bool file_cache_enabled(const struct file_cache *fc)
{
	return fc->dirfd >= 0;
}

/* FNV-1a over the key's fields, each followed by a NUL, from a given offset basis. */
static uint64_t name_hash(const struct cache_key *k, uint64_t h)
{
	const char *parts[3] = {k->source, k->id ? k->id : "", k->resource};

	h = (h ^ (uint64_t)('0' + k->kind)) * 1099511628211ULL;
	for (int i = 0; i < 3; i++) {
		for (const unsigned char *p = (const unsigned char *)parts[i]; *p; p++)
			h = (h ^ *p) * 1099511628211ULL;
		h *= 1099511628211ULL; /* the NUL separator */
	}
	return h;
}

void file_cache_name(const struct cache_key *k, char out[41])
{
	/*
	 * A fixed-length name that shows no identity or resource text.  Not a
	 * cryptographic hash, on purpose: a collision only makes two keys share
	 * a file, and the file is matched against the full key before use.
	 * (SHA-256 here would make every cache hit initialise OpenSSL.)
	 */
	static const uint64_t bases[3] = {14695981039346656037ULL, 0x9e3779b97f4a7c15ULL,
	                                  0xc2b2ae3d27d4eb4fULL};

	char hex[3 * 16 + 1];

	for (int i = 0; i < 3; i++) {
		uint64_t h = name_hash(k, bases[i]);
		h ^= h >> 29; /* spread the last bytes' influence over the high digits too */
		h *= 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 32;
		snprintf(hex + 16 * i, 17, "%016llx", (unsigned long long)h);
	}
	memcpy(out, hex, 40);
	out[40] = '\0';
}

/* The next line of the text (without its newline) if it starts with `name` + ' '. */
static bool next_field(const char **p, const char *end, const char *name, const char **val, size_t *vlen)
{
	size_t n = strlen(name);
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL || (size_t)(nl - *p) < n + 1 || memcmp(*p, name, n) != 0 || (*p)[n] != ' ')
		return false;
	*val = *p + n + 1;
	*vlen = (size_t)(nl - *val);
	*p = nl + 1;
	return true;
}

static bool field_is(const char *val, size_t vlen, const char *want)
{
	return strlen(want) == vlen && memcmp(val, want, vlen) == 0;
}

static bool field_int(const char *val, size_t vlen, int64_t *out)
{
	return util_parse_int64(val, vlen, 0, 253402300799, out);
}

struct azmi_token *file_cache_parse(const char *text, size_t len, const struct cache_key *k, int64_t now)
{
	const char *p = text, *end = text + len, *v;
	size_t vl;
	char kind[2] = {(char)('0' + k->kind), '\0'};
	struct expiry x;

	if (len < sizeof(CACHE_MAGIC) || memcmp(p, CACHE_MAGIC "\n", sizeof(CACHE_MAGIC)) != 0)
		return NULL;
	p += sizeof(CACHE_MAGIC);
	if (!next_field(&p, end, "source", &v, &vl) || !field_is(v, vl, k->source) ||
	    !next_field(&p, end, "kind", &v, &vl) || !field_is(v, vl, kind) ||
	    !next_field(&p, end, "id", &v, &vl) || !field_is(v, vl, k->id ? k->id : "-") ||
	    !next_field(&p, end, "resource", &v, &vl) || !field_is(v, vl, k->resource) ||
	    !next_field(&p, end, "expires_on", &v, &vl) || !field_int(v, vl, &x.expires_on) ||
	    !next_field(&p, end, "refresh_on", &v, &vl) || !field_int(v, vl, &x.refresh_on) ||
	    !next_field(&p, end, "stale_on", &v, &vl) || !field_int(v, vl, &x.stale_on) ||
	    !next_field(&p, end, "token", &v, &vl) || p != end)
		return NULL;
	if (!token_text_valid(v, vl) || x.refresh_on > x.stale_on || x.stale_on > x.expires_on ||
	    now >= x.stale_on || x.expires_on - now > EXPIRY_MAX_LIFETIME)
		return NULL;
	return token_new(v, vl, &x, k->resource, k->source);
}

/* Open `name` in the cache directory for reading: a private regular file of ours, bounded. */
static int open_checked(struct file_cache *fc, const char *name, int flags, const char **why)
{
	struct stat st;
	int fd = openat(fc->dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);

	if (fd < 0) {
		*why = errno == ELOOP ? "a symbolic link" : NULL;
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*why = "not a regular file";
	} else if (!private_to_us(&st, why)) {
		/* why is set */
	} else if (st.st_size > CACHE_FILE_MAX_BYTES) {
		*why = "too large";
	} else {
		return fd;
	}
	close(fd);
	return -1;
}

/* Read the file `name` of the cache directory into `b` when it is safe; false otherwise. */
static bool read_checked(struct file_cache *fc, const char *name, struct buf *b)
{
	const char *why = NULL;
	char chunk[4096];
	ssize_t n;
	int fd;

	if ((fd = open_checked(fc, name, O_RDONLY, &why)) < 0) {
		if (why)
			log_line(fc->log, AZMI_LOG_WARNING, "token cache: ignoring %s/%s: %s", fc->dir, name,
			         why);
		return false;
	}
	buf_init(b, CACHE_FILE_MAX_BYTES);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && buf_append(b, chunk, (size_t)n))
		;
	explicit_bzero(chunk, sizeof(chunk));
	close(fd);
	return n == 0 && b->data != NULL;
}

struct azmi_token *file_cache_load(struct file_cache *fc, const struct cache_key *k, int64_t now)
{
	char name[41];
	struct buf b;
	struct azmi_token *tok = NULL;

	if (fc->dirfd < 0)
		return NULL;
	file_cache_name(k, name);
	buf_init(&b, CACHE_FILE_MAX_BYTES);
	if (read_checked(fc, name, &b)) {
		tok = file_cache_parse(b.data, b.len, k, now);
		if (tok == NULL && b.len > 0)
			log_line(fc->log, AZMI_LOG_DEBUG,
			         "token cache: %s/%s is expired or malformed; not used", fc->dir, name);
	}
	buf_free(&b);
	return tok;
}

/* Copy the value of the next line `name` into dst (non-empty, fits); false otherwise. */
static bool copy_field(const char **p, const char *end, const char *name, char *dst, size_t dstlen)
{
	const char *v;
	size_t vl;

	if (!next_field(p, end, name, &v, &vl) || vl == 0 || vl >= dstlen)
		return false;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
	return true;
}

static bool is_cache_name(const char *name)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return i == 40;
}

/* One file of file_cache_each: its key from its own header, then the full check of file_cache_parse. */
static void scan_one(struct file_cache *fc, const char *name, const char *source, int64_t now,
                     file_cache_each_fn *fn, void *userdata)
{
	char src[64], kind[2], id[1100], resource[1100], again[41];
	struct cache_key k;
	struct azmi_token *tok;
	const char *p, *end;
	struct buf b;

	buf_init(&b, CACHE_FILE_MAX_BYTES);
	if (!read_checked(fc, name, &b) || b.len < sizeof(CACHE_MAGIC) ||
	    memcmp(b.data, CACHE_MAGIC "\n", sizeof(CACHE_MAGIC)) != 0)
		goto out;
	p = b.data + sizeof(CACHE_MAGIC);
	end = b.data + b.len;
	if (!copy_field(&p, end, "source", src, sizeof(src)) || strcmp(src, source) != 0 ||
	    !copy_field(&p, end, "kind", kind, sizeof(kind)) || kind[0] < '0' || kind[0] > '4' ||
	    !copy_field(&p, end, "id", id, sizeof(id)) ||
	    !copy_field(&p, end, "resource", resource, sizeof(resource)))
		goto out;
	k.source = src;
	k.kind = (enum azmi_id_kind)(kind[0] - '0');
	k.id = strcmp(id, "-") == 0 ? NULL : id;
	k.resource = resource;
	file_cache_name(&k, again);
	if (strcmp(again, name) != 0)
		goto out;
	if ((tok = file_cache_parse(b.data, b.len, &k, now)) != NULL) {
		fn(userdata, &k);
		azmi_token_release(tok);
	}
out:
	buf_free(&b);
}

void file_cache_each(struct file_cache *fc, const char *source, int64_t now, file_cache_each_fn *fn,
                     void *userdata)
{
	struct dirent *e;
	unsigned int seen = 0;
	DIR *d;
	int fd;

	if (fc->dirfd < 0 || (fd = openat(fc->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL && seen < CACHE_FILE_SCAN_MAX) {
		if (!is_cache_name(e->d_name))
			continue;
		seen++;
		scan_one(fc, e->d_name, source, now, fn, userdata);
	}
	closedir(d);
}

int file_cache_lock(struct file_cache *fc, const struct cache_key *k, int64_t deadline_ms)
{
	char name[41 + 5];
	const char *why = NULL;
	long pause = 2;
	int fd;

	if (fc->dirfd < 0)
		return -1;
	file_cache_name(k, name);
	strcat(name, ".lock");
	if ((fd = open_checked(fc, name, O_RDWR | O_CREAT, &why)) < 0) {
		log_line(fc->log, AZMI_LOG_WARNING, "token cache: cannot use lock %s/%s: %s", fc->dir, name,
		         why ? why : strerror(errno));
		return -1;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if ((errno != EWOULDBLOCK && errno != EINTR) || util_mono_ms() + pause >= deadline_ms) {
			close(fd);
			return -1;
		}
		util_sleep_ms(pause);
		if (pause < 20)
			pause *= 2;
	}
	return fd;
}

void file_cache_unlock(int lockfd)
{
	if (lockfd >= 0)
		close(lockfd); /* closing the descriptor releases the flock */
}

static bool write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

azmi_err file_cache_store(struct file_cache *fc, const struct cache_key *k, const struct azmi_token *tok)
{
	const struct expiry *x = token_expiry(tok);
	char name[41], tmp[80];
	char *text = NULL;
	int fd, len;
	azmi_err r = AZMI_ERR_CACHE;

	if (fc->dirfd < 0)
		return AZMI_OK;
	file_cache_name(k, name);
	snprintf(tmp, sizeof(tmp), ".%s.%ld.%u.tmp", name, (long)getpid(), util_random_below(1u << 30));
	len = asprintf(&text,
	               CACHE_MAGIC "\nsource %s\nkind %d\nid %s\nresource %s\nexpires_on %lld\n"
	                           "refresh_on %lld\nstale_on %lld\ntoken %s\n",
	               k->source, (int)k->kind, k->id ? k->id : "-", k->resource, (long long)x->expires_on,
	               (long long)x->refresh_on, (long long)x->stale_on, tok->access_token);
	if (len < 0) {
		log_line(fc->log, AZMI_LOG_WARNING, "token cache: cannot write %s/%s: out of memory", fc->dir,
		         name);
		return AZMI_ERR_NOMEM;
	}
	fd = openat(fc->dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	if (fchmod(fd, 0600) != 0 || !write_all(fd, text, (size_t)len)) {
		close(fd);
		unlinkat(fc->dirfd, tmp, 0);
		goto out;
	}
	if (close(fd) != 0 || renameat(fc->dirfd, tmp, fc->dirfd, name) != 0) {
		unlinkat(fc->dirfd, tmp, 0);
		goto out;
	}
	r = AZMI_OK;
out:
	if (r != AZMI_OK)
		log_line(fc->log, AZMI_LOG_WARNING, "token cache: cannot write %s/%s: %s", fc->dir, name,
		         strerror(errno));
	explicit_bzero(text, (size_t)len);
	free(text);
	return r;
}

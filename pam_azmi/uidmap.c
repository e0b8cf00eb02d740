/* uidmap.c - the hash-and-probe UID scheme, the uid table and the local id files. */
#include "uidmap.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "principal.h"
#include "statefile.h"
#include "util.h"

uint32_t uidmap_hash(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		unsigned char ch = (*p >= 'A' && *p <= 'Z') ? (unsigned char)(*p + 32) : *p;
		h ^= ch;
		h *= 16777619u;
	}
	return h;
}

void uidtab_free(struct uid_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->v[i].name);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

const struct uid_entry *uidtab_find_name(const struct uid_table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return &t->v[i];
	return NULL;
}

const struct uid_entry *uidtab_find_uid(const struct uid_table *t, uint32_t uid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].uid == uid)
			return &t->v[i];
	return NULL;
}

static int uidtab_add(struct uid_table *t, const char *name, uint32_t uid)
{
	struct uid_entry *v = reallocarray(t->v, t->n + 1, sizeof(*v));
	char *copy;

	if (v == NULL)
		return ENOMEM;
	t->v = v;
	if ((copy = strdup(name)) == NULL)
		return ENOMEM;
	t->v[t->n].name = copy;
	t->v[t->n].uid = uid;
	t->n++;
	return 0;
}

int uidtab_parse(struct uid_table *t, char *text)
{
	char *line = text, *next;

	for (; line != NULL && *line; line = next) {
		char *colon;
		int64_t uid;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		colon = strrchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		if (!principal_name_ok(line) ||
		    !util_parse_int64(colon + 1, strlen(colon + 1), 1000, 2147483646, &uid))
			continue;
		if (uidtab_find_name(t, line) || uidtab_find_uid(t, (uint32_t)uid))
			continue;
		if (uidtab_add(t, line, (uint32_t)uid) != 0)
			return ENOMEM;
	}
	return 0;
}

static int uidtab_load_at(int dirfd, struct uid_table *t)
{
	char *text;
	size_t len;
	int r = sfile_read(dirfd, UIDTAB_FILE, UIDTAB_MAX, false, &text, &len);

	t->v = NULL;
	t->n = 0;
	if (r == ENOENT)
		return 0;
	if (r != 0)
		return r;
	r = uidtab_parse(t, text);
	free(text);
	if (r != 0)
		uidtab_free(t);
	return r;
}

int uidtab_load(struct uid_table *t)
{
	int dirfd, r = sfile_state_dir(false, &dirfd);

	t->v = NULL;
	t->n = 0;
	if (r == ENOENT)
		return 0;
	if (r != 0)
		return r;
	r = uidtab_load_at(dirfd, t);
	close(dirfd);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int ids_push(struct local_ids *ids, uint32_t id, size_t *cap)
{
	if (ids->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 128;
		uint32_t *v = reallocarray(ids->ids, ncap, sizeof(*v));
		if (v == NULL)
			return ENOMEM;
		ids->ids = v;
		*cap = ncap;
	}
	ids->ids[ids->n++] = id;
	return 0;
}

/* Read one of the files with fgetpwent_r / fgetgrent_r (plain parsers: no NSS). */
static int ids_from_file(struct local_ids *ids, size_t *cap, bool group)
{
	FILE *f = fopen(group ? UIDMAP_GROUP : UIDMAP_PASSWD, "re");
	size_t buflen = 4096;
	char *buf = malloc(buflen);
	int r = 0;

	if (f == NULL || buf == NULL) {
		r = f == NULL ? errno : ENOMEM;
		goto out;
	}
	for (;;) {
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int e =
		    group ? fgetgrent_r(f, &gr, buf, buflen, &grp) : fgetpwent_r(f, &pw, buf, buflen, &pwp);
		if (e == ERANGE && buflen < (1u << 20)) {
			char *nb = realloc(buf, buflen * 4);
			if (nb == NULL) {
				r = ENOMEM;
				break;
			}
			buf = nb;
			buflen *= 4;
			continue; /* glibc rewinds to the start of the entry on ERANGE */
		}
		if (e != 0)
			break; /* ENOENT at the end */
		if ((r = ids_push(ids, group ? (uint32_t)gr.gr_gid : (uint32_t)pw.pw_uid, cap)) != 0)
			break;
	}
out:
	if (f != NULL)
		fclose(f);
	free(buf);
	return r;
}

int local_ids_load(struct local_ids *ids)
{
	size_t cap = 0;
	int r;

	ids->ids = NULL;
	ids->n = 0;
	if ((r = ids_from_file(ids, &cap, false)) != 0 || (r = ids_from_file(ids, &cap, true)) != 0) {
		local_ids_free(ids);
		return r;
	}
	qsort(ids->ids, ids->n, sizeof(*ids->ids), cmp_u32);
	return 0;
}

void local_ids_free(struct local_ids *ids)
{
	free(ids->ids);
	ids->ids = NULL;
	ids->n = 0;
}

static bool local_ids_has(const struct local_ids *ids, uint32_t id)
{
	return bsearch(&id, ids->ids, ids->n, sizeof(*ids->ids), cmp_u32) != NULL;
}

bool uidmap_passwd_has(const char *name)
{
	FILE *f = fopen(UIDMAP_PASSWD, "re");
	size_t buflen = 4096;
	char *buf = malloc(buflen);
	bool found = false;

	while (f != NULL && buf != NULL) {
		struct passwd pw, *pwp = NULL;
		int e = fgetpwent_r(f, &pw, buf, buflen, &pwp);
		if (e == ERANGE && buflen < (1u << 20)) {
			char *nb = realloc(buf, buflen * 4);
			if (nb == NULL)
				break;
			buf = nb;
			buflen *= 4;
			continue;
		}
		if (e != 0)
			break;
		if (strcmp(pw.pw_name, name) == 0) {
			found = true;
			break;
		}
	}
	if (f != NULL)
		fclose(f);
	free(buf);
	return found;
}

int uidmap_assign(const struct login_conf *c, const struct uid_table *t, const struct local_ids *ids,
                  const char *name, uint32_t *uid)
{
	const struct uid_entry *e = uidtab_find_name(t, name);
	uint32_t span = c->uid_max - c->uid_min, slot, probes;

	if (e != NULL) {
		*uid = e->uid;
		return 0;
	}
	slot = uidmap_hash(name) % span;
	probes = span < UIDMAP_MAX_PROBES ? span : UIDMAP_MAX_PROBES;
	for (uint32_t k = 0; k < probes; k++) {
		uint32_t cand = c->uid_min + 1 + (slot + k) % span;
		if (local_ids_has(ids, cand) || uidtab_find_uid(t, cand) != NULL)
			continue;
		*uid = cand;
		return 0;
	}
	return ENOSPC;
}

int uidmap_lookup(const struct login_conf *c, const char *name, uint32_t *uid)
{
	struct uid_table t;
	struct local_ids ids;
	const struct uid_entry *e;
	int r;

	if ((r = uidtab_load(&t)) != 0)
		return r;
	if ((e = uidtab_find_name(&t, name)) != NULL) {
		*uid = e->uid;
		uidtab_free(&t);
		return 0;
	}
	if ((r = local_ids_load(&ids)) == 0) {
		r = uidmap_assign(c, &t, &ids, name, uid);
		local_ids_free(&ids);
	}
	uidtab_free(&t);
	return r;
}

static int uidtab_write(int dirfd, const struct uid_table *t)
{
	size_t cap = 64, len = 0;
	char *text = malloc(cap);
	int r = 0;

	if (text == NULL)
		return ENOMEM;
	text[0] = '\0';
	for (size_t i = 0; i < t->n && r == 0; i++) {
		size_t need = strlen(t->v[i].name) + 16;
		if (len + need >= cap) {
			char *nt;
			while (len + need >= cap)
				cap *= 2;
			if ((nt = realloc(text, cap)) == NULL) {
				r = ENOMEM;
				break;
			}
			text = nt;
		}
		len +=
		    (size_t)snprintf(text + len, cap - len, "%s:%u\n", t->v[i].name, (unsigned)t->v[i].uid);
	}
	if (r == 0)
		r = len > UIDTAB_MAX ? EFBIG : sfile_write(dirfd, UIDTAB_FILE, 0644, text, len);
	free(text);
	return r;
}

int uidmap_record(const struct login_conf *c, const char *name, uint32_t *uid)
{
	struct uid_table t = {0};
	struct local_ids ids = {0};
	int dirfd = -1, lockfd = -1, r;

	if ((r = sfile_state_dir(true, &dirfd)) != 0 || (r = sfile_lock(dirfd, UIDTAB_LOCK, &lockfd)) != 0 ||
	    (r = uidtab_load_at(dirfd, &t)) != 0)
		goto out;
	if (uidtab_find_name(&t, name) != NULL) {
		*uid = uidtab_find_name(&t, name)->uid;
		goto out;
	}
	if ((r = local_ids_load(&ids)) != 0 || (r = uidmap_assign(c, &t, &ids, name, uid)) != 0 ||
	    (r = uidtab_add(&t, name, *uid)) != 0)
		goto out;
	r = uidtab_write(dirfd, &t);
out:
	local_ids_free(&ids);
	uidtab_free(&t);
	if (lockfd >= 0)
		close(lockfd);
	if (dirfd >= 0)
		close(dirfd);
	return r;
}

/* uidmap.c - the hashed UID slots, the uid table (name, UID, object id) and /etc/passwd's UIDs. */
#include "uidmap.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

static void lower_oid(char dst[UIDMAP_OID_SIZE], const char *oid)
{
	size_t i = 0;

	for (; oid[i] && i + 1 < UIDMAP_OID_SIZE; i++)
		dst[i] = (char)((oid[i] >= 'A' && oid[i] <= 'Z') ? oid[i] + 32 : oid[i]);
	dst[i] = '\0';
}

static int uidtab_add(struct uid_table *t, const char *name, uint32_t uid, const char *oid)
{
	struct uid_entry *v = reallocarray(t->v, t->n + 1, sizeof(*v));
	char *copy;

	if (v == NULL)
		return -ENOMEM;
	t->v = v;
	if ((copy = strdup(name)) == NULL)
		return -ENOMEM;
	t->v[t->n].name = copy;
	t->v[t->n].uid = uid;
	lower_oid(t->v[t->n].oid, oid);
	t->n++;
	return 0;
}

int uidtab_parse(struct uid_table *t, char *text)
{
	char *line = text, *next;

	for (; line != NULL && *line; line = next) {
		char *colon, *oid;
		int64_t uid;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		if ((oid = strchr(colon + 1, ':')) != NULL)
			*oid++ = '\0';
		if (!principal_name_ok(line) ||
		    !util_parse_int64(colon + 1, strlen(colon + 1), 1000, 2147483646, &uid) ||
		    (oid != NULL && !principal_is_guid(oid)))
			continue;
		if (uidtab_find_name(t, line) || uidtab_find_uid(t, (uint32_t)uid))
			continue;
		if (uidtab_add(t, line, (uint32_t)uid, oid ? oid : "") != 0)
			return -ENOMEM;
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
	if (r == -ENOENT)
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
	if (r == -ENOENT)
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
			return -ENOMEM;
		ids->ids = v;
		*cap = ncap;
	}
	ids->ids[ids->n++] = id;
	return 0;
}

/* Read /etc/passwd with fgetpwent_r (a plain parser: no NSS). */
static int ids_from_file(struct local_ids *ids, size_t *cap)
{
	FILE *f = fopen(UIDMAP_PASSWD, "re");
	size_t buflen = 4096;
	char *buf = malloc(buflen);
	int r = 0;

	if (f == NULL || buf == NULL) {
		r = f == NULL ? -errno : -ENOMEM;
		goto out;
	}
	for (;;) {
		struct passwd pw, *pwp = NULL;
		int e = fgetpwent_r(f, &pw, buf, buflen, &pwp);
		if (e == ERANGE && buflen < (1u << 20)) {
			char *nb = realloc(buf, buflen * 4);
			if (nb == NULL) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			buflen *= 4;
			continue; /* glibc rewinds to the start of the entry on ERANGE */
		}
		if (e != 0)
			break; /* ENOENT at the end */
		if ((r = ids_push(ids, (uint32_t)pw.pw_uid, cap)) != 0)
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
	if ((r = ids_from_file(ids, &cap)) != 0) {
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

uint32_t uidmap_slot(const struct login_conf *c, const char *name)
{
	uint32_t span = c->uid_max - c->uid_min - 1;

	return c->uid_min + 2 + uidmap_hash(name) % span;
}

static bool uid_free(const struct uid_table *t, const struct local_ids *ids, uint32_t uid)
{
	return !local_ids_has(ids, uid) && uidtab_find_uid(t, uid) == NULL;
}

int uidmap_assign(const struct login_conf *c, const struct uid_table *t, const struct local_ids *ids,
                  const char *name, uint32_t *uid)
{
	const struct uid_entry *e = uidtab_find_name(t, name);
	uint32_t slot = uidmap_slot(c, name);

	if (e != NULL) {
		*uid = e->uid;
		return 0;
	}
	if (!uid_free(t, ids, slot))
		return -EADDRINUSE;
	*uid = slot;
	return 0;
}

uint32_t uidmap_suggest(const struct login_conf *c, const struct uid_table *t, const struct local_ids *ids,
                        const char *name)
{
	uint32_t span = c->uid_max - c->uid_min - 1, first = uidmap_slot(c, name) - c->uid_min - 2;

	for (uint32_t k = 0; k < span && k < UIDMAP_MAX_PROBES; k++) {
		uint32_t cand = c->uid_min + 2 + (first + k) % span;
		if (uid_free(t, ids, cand))
			return cand;
	}
	return 0;
}

/* Why `name` cannot have its slot, and the pin that would let it in. */
static void explain_taken(const struct login_conf *c, const struct uid_table *t, const struct local_ids *ids,
                          const char *name, char *why, size_t whylen)
{
	uint32_t slot = uidmap_slot(c, name), pin = uidmap_suggest(c, t, ids, name);
	const struct uid_entry *holder = uidtab_find_uid(t, slot);
	char pinline[64] = "no free UID is left in uid_range";

	if (pin != 0)
		snprintf(pinline, sizeof(pinline), "for instance %u", (unsigned)pin);
	snprintf(why, whylen,
	         "uid %u, the slot of %.200s, belongs to %.200s: refused, never moved to another uid; to "
	         "let %.200s in, pin a free uid in uid_range (%s): add the line \"%.200s:UID\" to %s/%s",
	         (unsigned)slot, name, holder ? holder->name : "a local account in /etc/passwd", name,
	         pinline, name, AZMI_STATEDIR, UIDTAB_FILE);
}

int uidmap_lookup(const struct login_conf *c, const char *name, uint32_t *uid, char *why, size_t whylen)
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
		if ((r = uidmap_assign(c, &t, &ids, name, uid)) == -EADDRINUSE)
			explain_taken(c, &t, &ids, name, why, whylen);
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
		return -ENOMEM;
	text[0] = '\0';
	for (size_t i = 0; i < t->n && r == 0; i++) {
		size_t need = strlen(t->v[i].name) + 16 + UIDMAP_OID_SIZE;
		if (len + need >= cap) {
			char *nt;
			while (len + need >= cap)
				cap *= 2;
			if ((nt = realloc(text, cap)) == NULL) {
				r = -ENOMEM;
				break;
			}
			text = nt;
		}
		len += (size_t)snprintf(text + len, cap - len, "%s:%u%s%s\n", t->v[i].name,
		                        (unsigned)t->v[i].uid, t->v[i].oid[0] ? ":" : "", t->v[i].oid);
	}
	if (r == 0)
		r = len > UIDTAB_MAX ? -EFBIG : sfile_write(dirfd, UIDTAB_FILE, 0644, text, len);
	free(text);
	return r;
}

/* The binding of `name` to `oid` against the loaded table: 0 (and *dirty when `t` changed) or the refusal. */
static int bind_oid(const struct login_conf *c, struct uid_table *t, const struct local_ids *ids,
                    const char *name, const char *oid, uint32_t *uid, bool *dirty, char *why, size_t whylen)
{
	struct uid_entry *e = NULL;
	const struct uid_entry *other = NULL;
	int r;

	for (size_t i = 0; i < t->n && e == NULL; i++)
		if (strcmp(t->v[i].name, name) == 0)
			e = &t->v[i];
	for (size_t i = 0; oid[0] != '\0' && i < t->n && other == NULL; i++)
		if (&t->v[i] != e && strcasecmp(t->v[i].oid, oid) == 0)
			other = &t->v[i];
	*dirty = false;
	if (e != NULL && e->oid[0] != '\0' && oid[0] != '\0' && strcasecmp(e->oid, oid) != 0) {
		snprintf(
		    why, whylen,
		    "%.200s (uid %u) is recorded for object id %s, and the name now belongs to object id "
		    "%s: refused, the new holder of the name does not get the old account; if this is "
		    "a new person, move the old home directory aside and delete the line \"%.200s:%u:%s\" "
		    "from %s/%s (the next login then records the new person)",
		    name, (unsigned)e->uid, e->oid, oid, name, (unsigned)e->uid, e->oid, AZMI_STATEDIR,
		    UIDTAB_FILE);
		return -EKEYREJECTED;
	}
	if (other != NULL)
		snprintf(
		    why, whylen,
		    "object id %s is also recorded as %.200s (uid %u): a renamed user gets a new uid; to "
		    "keep the old one, rename that line of %s/%s before the first login",
		    oid, other->name, (unsigned)other->uid, AZMI_STATEDIR, UIDTAB_FILE);
	if (e != NULL) {
		*uid = e->uid;
		if (e->oid[0] == '\0' && oid[0] != '\0') {
			lower_oid(e->oid, oid); /* a pin: the first login names its person */
			*dirty = true;
		}
		return 0;
	}
	if ((r = uidmap_assign(c, t, ids, name, uid)) != 0) {
		explain_taken(c, t, ids, name, why, whylen);
		return r;
	}
	if ((r = uidtab_add(t, name, *uid, oid)) != 0)
		return r;
	*dirty = true;
	return 0;
}

int uidmap_record(const struct login_conf *c, const char *name, const char *oid, uint32_t *uid, char *why,
                  size_t whylen, bool write)
{
	struct uid_table t = {0};
	struct local_ids ids = {0};
	int dirfd = -1, lockfd = -1, r;
	bool dirty = false;

	why[0] = '\0';
	if (!write) {
		if ((r = uidtab_load(&t)) == 0 && (r = local_ids_load(&ids)) == 0)
			r = bind_oid(c, &t, &ids, name, oid, uid, &dirty, why, whylen);
		goto out;
	}
	if ((r = sfile_state_dir(true, &dirfd)) != 0 || (r = sfile_lock(dirfd, UIDTAB_LOCK, &lockfd)) != 0 ||
	    (r = uidtab_load_at(dirfd, &t)) != 0 || (r = local_ids_load(&ids)) != 0)
		goto out;
	if ((r = bind_oid(c, &t, &ids, name, oid, uid, &dirty, why, whylen)) == 0 && dirty)
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

/* scope_snap.c - the scope's shared RBAC view as a private JSON file, written and read strictly. */
#include "scope_snap.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "rbac_match.h"
#include "util.h"

#define VERSION 1

void scope_snap_free(struct scope_snap *s)
{
	if (s != NULL)
		rbac_list_free(&s->list);
}

const struct rbac_role *scope_snap_role(const struct scope_snap *s, const char *guid)
{
	for (size_t i = 0; i < s->nroles; i++)
		if (strcasecmp(s->roles[i].role.guid, guid) == 0)
			return &s->roles[i].role;
	return NULL;
}

/* --- writing ------------------------------------------------------------------------------ */

static struct json_object *str(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *principals(const struct rbac_principal *p, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < n; i++) {
		struct json_object *one = json_object_new_array();
		json_object_array_add(one, str(p[i].id));
		json_object_array_add(one, json_object_new_boolean(p[i].group));
		json_object_array_add(a, one);
	}
	return a;
}

static struct json_object *assignments(const struct rbac_list *l)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < l->nassignments; i++) {
		const struct rbac_assignment *x = &l->assignments[i];
		struct json_object *one = json_object_new_array();
		json_object_array_add(one, str(x->roledef_id));
		json_object_array_add(one, str(x->principal_id));
		json_object_array_add(one, str(x->principal_type));
		json_object_array_add(one, str(x->scope));
		json_object_array_add(one, json_object_new_boolean(x->conditional));
		json_object_array_add(a, one);
	}
	return a;
}

static struct json_object *denies(const struct rbac_list *l)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < l->ndenies; i++) {
		const struct rbac_deny *x = &l->denies[i];
		struct json_object *one = json_object_new_array();
		json_object_array_add(one, str(x->name));
		json_object_array_add(one, str(x->scope));
		json_object_array_add(one, json_object_new_boolean(x->no_children));
		json_object_array_add(one, json_object_new_int64(x->denies));
		json_object_array_add(one, principals(x->principals, x->nprincipals));
		json_object_array_add(one, principals(x->excluded, x->nexcluded));
		json_object_array_add(a, one);
	}
	return a;
}

static struct json_object *roles(const struct scope_snap *s)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < s->nroles; i++) {
		struct json_object *one = json_object_new_array();
		json_object_array_add(one, str(s->roles[i].role.guid));
		json_object_array_add(one, str(s->roles[i].role.name));
		json_object_array_add(one, json_object_new_int64(s->roles[i].role.grants));
		json_object_array_add(one, json_object_new_int64(s->roles[i].fetched));
		json_object_array_add(a, one);
	}
	return a;
}

char *scope_snap_format(const struct scope_snap *s)
{
	struct json_object *o = json_object_new_object();
	char *text = NULL;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "v", json_object_new_int(VERSION));
	json_object_object_add(o, "key", str(s->key));
	json_object_object_add(o, "arc", json_object_new_boolean(s->arc));
	json_object_object_add(o, "scope", str(s->scope));
	json_object_object_add(o, "note", str(s->note));
	json_object_object_add(o, "made", json_object_new_int64(s->made));
	json_object_object_add(o, "refresh_at", json_object_new_int64(s->refresh_at));
	json_object_object_add(o, "expires", json_object_new_int64(s->expires));
	json_object_object_add(o, "per_user", json_object_new_boolean(s->per_user));
	json_object_object_add(o, "assignments", assignments(&s->list));
	json_object_object_add(o, "denies", denies(&s->list));
	json_object_object_add(o, "roles", roles(s));
	text = strdup(
	    json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

/* --- reading ------------------------------------------------------------------------------ */

/* Element i of array `a` as a printable string shorter than `outlen` (may be empty when `empty_ok`). */
static bool item_str(struct json_object *a, size_t i, char *out, size_t outlen, bool empty_ok)
{
	struct json_object *v = json_object_array_get_idx(a, i);
	size_t len;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return false;
	len = (size_t)json_object_get_string_len(v);
	if (len >= outlen || (len == 0 && !empty_ok) || !util_is_printable(json_object_get_string(v), len))
		return false;
	memcpy(out, json_object_get_string(v), len);
	out[len] = '\0';
	return true;
}

static bool item_bool(struct json_object *a, size_t i, bool *out)
{
	struct json_object *v = json_object_array_get_idx(a, i);

	if (v == NULL || !json_object_is_type(v, json_type_boolean))
		return false;
	*out = json_object_get_boolean(v);
	return true;
}

static bool item_int(struct json_object *a, size_t i, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v = json_object_array_get_idx(a, i);

	if (v == NULL || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return *out >= min && *out <= max;
}

/* An array member of `o` with at most `max` elements, each an array of exactly `width`. */
static struct json_object *table(struct json_object *o, const char *key, size_t max, size_t width)
{
	struct json_object *a;
	size_t n;

	if (!json_object_object_get_ex(o, key, &a) || a == NULL || !json_object_is_type(a, json_type_array) ||
	    (n = json_object_array_length(a)) > max)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(a, i);
		if (row == NULL || !json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) != width)
			return NULL;
	}
	return a;
}

static bool lower_guid(const char *in, char out[RBAC_GUID_LEN + 1])
{
	if (!rbac_guid_valid(in, strlen(in)))
		return false;
	for (size_t i = 0; i <= RBAC_GUID_LEN; i++)
		out[i] = in[i] >= 'A' && in[i] <= 'F' ? (char)(in[i] - 'A' + 'a') : in[i];
	return true;
}

static bool scope_ok(const char *s)
{
	return s[0] == '/';
}

static bool parse_assignments(struct json_object *o, struct rbac_list *l)
{
	struct json_object *a = table(o, "assignments", RBAC_MAX_ITEMS, 5);
	size_t n;

	if (a == NULL)
		return false;
	n = json_object_array_length(a);
	if (n > 0 && (l->assignments = calloc(n, sizeof(*l->assignments))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(a, i);
		struct rbac_assignment *x = &l->assignments[i];
		char pid[64];
		if (!item_str(row, 0, x->roledef_id, sizeof(x->roledef_id), false) ||
		    !rbac_roledef_id_parse(x->roledef_id, strlen(x->roledef_id), x->roledef_guid) ||
		    !item_str(row, 1, pid, sizeof(pid), false) || !lower_guid(pid, x->principal_id) ||
		    !item_str(row, 2, x->principal_type, sizeof(x->principal_type), true) ||
		    !item_str(row, 3, x->scope, sizeof(x->scope), false) || !scope_ok(x->scope) ||
		    !item_bool(row, 4, &x->conditional))
			return false;
		l->nassignments = i + 1;
	}
	return true;
}

static bool parse_principals(struct json_object *a, struct rbac_principal **out, size_t *n)
{
	size_t count;

	if (a == NULL || !json_object_is_type(a, json_type_array) ||
	    (count = json_object_array_length(a)) > RBAC_MAX_PRINCIPALS)
		return false;
	if (count > 0 && (*out = calloc(count, sizeof(**out))) == NULL)
		return false;
	for (size_t i = 0; i < count; i++) {
		struct json_object *row = json_object_array_get_idx(a, i);
		char id[64];
		if (row == NULL || !json_object_is_type(row, json_type_array) ||
		    json_object_array_length(row) != 2 || !item_str(row, 0, id, sizeof(id), false) ||
		    !lower_guid(id, (*out)[i].id) || !item_bool(row, 1, &(*out)[i].group))
			return false;
		*n = i + 1;
	}
	return true;
}

static bool parse_denies(struct json_object *o, struct rbac_list *l)
{
	struct json_object *a = table(o, "denies", RBAC_MAX_ITEMS, 6);
	size_t n;

	if (a == NULL)
		return false;
	n = json_object_array_length(a);
	if (n > 0 && (l->denies = calloc(n, sizeof(*l->denies))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(a, i);
		struct rbac_deny *x = &l->denies[i];
		int64_t bits;
		l->ndenies = i + 1; /* counted first: whatever was allocated is freed */
		if (!item_str(row, 0, x->name, sizeof(x->name), true) ||
		    !item_str(row, 1, x->scope, sizeof(x->scope), false) || !scope_ok(x->scope) ||
		    !item_bool(row, 2, &x->no_children) || !item_int(row, 3, 0, RBAC_ACT_ALL, &bits) ||
		    !parse_principals(json_object_array_get_idx(row, 4), &x->principals, &x->nprincipals) ||
		    !parse_principals(json_object_array_get_idx(row, 5), &x->excluded, &x->nexcluded))
			return false;
		x->denies = (unsigned int)bits;
	}
	return true;
}

static bool parse_roles(struct json_object *o, struct scope_snap *s)
{
	struct json_object *a = table(o, "roles", SCOPE_SNAP_MAX_ROLES, 4);
	size_t n;

	if (a == NULL)
		return false;
	n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) {
		struct json_object *row = json_object_array_get_idx(a, i);
		struct scope_snap_role *r = &s->roles[i];
		char guid[64];
		int64_t bits;
		if (!item_str(row, 0, guid, sizeof(guid), false) || !lower_guid(guid, r->role.guid) ||
		    !item_str(row, 1, r->role.name, sizeof(r->role.name), true) ||
		    !item_int(row, 2, 0, RBAC_ACT_ALL, &bits) ||
		    !item_int(row, 3, 0, INT64_MAX / 2, &r->fetched))
			return false;
		r->role.grants = (unsigned int)bits;
		s->nroles = i + 1;
	}
	return true;
}

static bool header(struct json_object *o, const char *key, bool arc, int64_t now, struct scope_snap *s)
{
	const char *v;
	size_t len;
	struct json_object *b;

	if (json_get_int64(o, "v", VERSION, VERSION, &s->made) != 0 ||
	    (v = json_get_string(o, "key", &len)) == NULL || len >= sizeof(s->key) || strcmp(v, key) != 0 ||
	    !json_object_object_get_ex(o, "arc", &b) || !json_object_is_type(b, json_type_boolean) ||
	    json_object_get_boolean(b) != arc || !json_object_object_get_ex(o, "per_user", &b) ||
	    !json_object_is_type(b, json_type_boolean))
		return false;
	s->per_user = json_object_get_boolean(b);
	snprintf(s->key, sizeof(s->key), "%s", key);
	s->arc = arc;
	if ((v = json_get_string(o, "scope", &len)) == NULL || len == 0 || len >= sizeof(s->scope) ||
	    !util_is_printable(v, len) || v[0] != '/')
		return false;
	memcpy(s->scope, v, len + 1);
	if ((v = json_get_string(o, "note", &len)) == NULL || len >= sizeof(s->note) ||
	    !util_is_printable(v, len))
		return false;
	memcpy(s->note, v, len + 1);
	if (json_get_int64(o, "made", 0, INT64_MAX / 2, &s->made) != 0 ||
	    json_get_int64(o, "refresh_at", 0, INT64_MAX / 2, &s->refresh_at) != 0 ||
	    json_get_int64(o, "expires", 0, INT64_MAX / 2, &s->expires) != 0)
		return false;
	/* Written in the future (clock stepped back), or past its end: not used. */
	return s->made <= now + 60 && now < s->expires && s->refresh_at <= s->expires;
}

bool scope_snap_parse(const char *text, size_t len, const char *key, bool arc, int64_t now,
                      struct scope_snap *out)
{
	struct json_object *o;
	struct scope_snap *s = calloc(1, sizeof(*s));
	bool ok = false;

	if (s == NULL)
		return false;
	o = len <= SCOPE_SNAP_MAX_BYTES ? json_parse_bounded(text, len) : NULL;
	if (o != NULL && json_object_is_type(o, json_type_object) && header(o, key, arc, now, s) &&
	    parse_assignments(o, &s->list) && parse_denies(o, &s->list) && parse_roles(o, s))
		ok = true;
	json_object_put(o);
	if (ok)
		*out = *s;
	else
		scope_snap_free(s);
	free(s);
	return ok;
}

/* --- the file ------------------------------------------------------------------------------ */

bool scope_snap_load(int dirfd, const char *key, bool arc, int64_t now, struct scope_snap *out)
{
	struct stat st;
	char *text = NULL;
	ssize_t n = -1;
	bool ok = false;
	int fd;

	if (dirfd < 0)
		return false;
	fd = openat(dirfd, SCOPE_SNAP_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() && (st.st_mode & 077) == 0 &&
	    st.st_size <= SCOPE_SNAP_MAX_BYTES && (text = malloc((size_t)st.st_size + 1)) != NULL)
		n = read(fd, text, (size_t)st.st_size + 1);
	if (n >= 0 && n <= st.st_size)
		ok = scope_snap_parse(text, (size_t)n, key, arc, now, out);
	free(text);
	close(fd);
	return ok;
}

void scope_snap_store(int dirfd, const struct scope_snap *s)
{
	char tmp[64], *text;
	size_t len;
	bool ok;
	int fd;

	if (dirfd < 0 || (text = scope_snap_format(s)) == NULL)
		return;
	len = strlen(text);
	snprintf(tmp, sizeof(tmp), "." SCOPE_SNAP_FILE ".%ld.%08x", (long)getpid(),
	         util_random_below(UINT32_MAX));
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ok = fchmod(fd, 0600) == 0 && len <= SCOPE_SNAP_MAX_BYTES &&
		     write(fd, text, len) == (ssize_t)len;
		ok = close(fd) == 0 && ok;
		if (!ok || renameat(dirfd, tmp, dirfd, SCOPE_SNAP_FILE) != 0)
			(void)unlinkat(dirfd, tmp, 0);
	}
	free(text);
}

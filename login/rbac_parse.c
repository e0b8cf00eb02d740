/* rbac_parse.c - role assignments, deny assignments and role definitions from Resource Manager. */
#include "rbac_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "rbac_match.h"
#include "util.h"

#define MAX_RAW_NAME 4096 /* longest name string read (then cut to RBAC_MAX_NAME) */
#define ROLEDEF_PATH "/providers/Microsoft.Authorization/roleDefinitions/"
#define MG_PREFIX    "/providers/Microsoft.Management/managementGroups/"
#define MAX_MG_NAME  90

void rbac_list_free(struct rbac_list *l)
{
	for (size_t i = 0; i < l->ndenies; i++) {
		free(l->denies[i].principals);
		free(l->denies[i].excluded);
	}
	free(l->assignments);
	free(l->denies);
	memset(l, 0, sizeof(*l));
}

bool rbac_guid_valid(const char *s, size_t len)
{
	if (len != RBAC_GUID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
		if (dash ? c != '-' : !hex)
			return false;
	}
	return true;
}

static void copy_lower(char *dst, const char *src, size_t len)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
	dst[len] = '\0';
}

static bool prefix_ci(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

static bool mg_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > MAX_MG_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_' || c == '.' || c == '(' || c == ')'))
			return false;
	}
	return true;
}

bool rbac_roledef_id_parse(const char *id, size_t len, char guid[RBAC_GUID_LEN + 1])
{
	const char *p = id;
	size_t rest = len, n;

	if (prefix_ci(p, rest, "/subscriptions/")) {
		p += 15;
		rest -= 15;
		if (rest < RBAC_GUID_LEN || !rbac_guid_valid(p, RBAC_GUID_LEN))
			return false;
		p += RBAC_GUID_LEN;
		rest -= RBAC_GUID_LEN;
	} else if (prefix_ci(p, rest, MG_PREFIX)) {
		p += strlen(MG_PREFIX);
		rest -= strlen(MG_PREFIX);
		n = 0;
		while (n < rest && p[n] != '/')
			n++;
		if (!mg_name_valid(p, n))
			return false;
		p += n;
		rest -= n;
	}
	if (!prefix_ci(p, rest, ROLEDEF_PATH))
		return false;
	p += strlen(ROLEDEF_PATH);
	rest -= strlen(ROLEDEF_PATH);
	if (!rbac_guid_valid(p, rest))
		return false;
	copy_lower(guid, p, RBAC_GUID_LEN);
	return true;
}

bool rbac_scope_covers(const char *scope, const char *vm_scope)
{
	size_t len = strlen(scope), vlen = strlen(vm_scope);

	if (strcmp(scope, "/") == 0)
		return true;
	if (prefix_ci(scope, len, MG_PREFIX))
		return mg_name_valid(scope + strlen(MG_PREFIX), len - strlen(MG_PREFIX));
	while (len > 1 && scope[len - 1] == '/')
		len--;
	return len > 1 && len <= vlen && strncasecmp(scope, vm_scope, len) == 0 &&
	       (len == vlen || vm_scope[len] == '/');
}

/* --- small JSON helpers ---------------------------------------------------------------------- */

/* Member `key` when present and not null; NULL otherwise. */
static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

/* A required string of 1..max-1 printable bytes copied into out; false otherwise. */
static bool get_plain(struct json_object *o, const char *key, char *out, size_t max)
{
	size_t len;
	const char *s = json_get_string(o, key, &len);

	if (s == NULL || len == 0 || len >= max || !util_is_printable(s, len))
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* A display name: any string up to MAX_RAW_NAME bytes, sanitised and cut; absent or null gives "". */
static bool get_name(struct json_object *o, const char *key, char *out, size_t max)
{
	struct json_object *v = member(o, key);
	size_t len;

	out[0] = '\0';
	if (v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	len = (size_t)json_object_get_string_len(v);
	if (len > MAX_RAW_NAME)
		return false;
	util_sanitize(out, max, json_object_get_string(v), len);
	return true;
}

/* The "value" array and "nextLink" of a list page. */
static struct json_object *page_open(const char *body, size_t len, struct json_object **value, char *next,
                                     size_t nextlen, char *why, size_t whylen)
{
	struct json_object *obj = json_parse_bounded(body, len), *nl;
	size_t n;
	const char *s;

	next[0] = '\0';
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "the answer is not a JSON object");
		goto bad;
	}
	*value = member(obj, "value");
	if (*value == NULL || !json_object_is_type(*value, json_type_array)) {
		snprintf(why, whylen, "the answer has no \"value\" array");
		goto bad;
	}
	if ((nl = member(obj, "nextLink")) != NULL) {
		s = json_get_string(obj, "nextLink", &n);
		if (s == NULL || n >= nextlen || n > RBAC_MAX_NEXTLINK || !util_is_printable(s, n) ||
		    memchr(s, ' ', n) != NULL) {
			snprintf(why, whylen, "its nextLink is not a plain URL of at most %d bytes",
			         RBAC_MAX_NEXTLINK);
			goto bad;
		}
		memcpy(next, s, n);
		next[n] = '\0';
	}
	return obj;
bad:
	json_object_put(obj);
	return NULL;
}

/*
 * The RBAC_ACT_* bits a list of action strings covers (absent or null: none).
 * -1 when it is not an array of printable strings within the caps.
 */
static int pattern_list(struct json_object *perm, const char *key, size_t *count, unsigned int *mask)
{
	struct json_object *arr = member(perm, key), *s;
	size_t n, len;

	*mask = 0;
	if (arr == NULL)
		return 0;
	if (!json_object_is_type(arr, json_type_array))
		return -1;
	n = json_object_array_length(arr);
	if (n > RBAC_MAX_PATTERN_COUNT || *count + n > RBAC_MAX_PATTERN_COUNT)
		return -1;
	*count += n;
	for (size_t i = 0; i < n; i++) {
		s = json_object_array_get_idx(arr, i);
		if (s == NULL || !json_object_is_type(s, json_type_string))
			return -1;
		len = (size_t)json_object_get_string_len(s);
		if (len == 0 || len > RBAC_MAX_PATTERN || !util_is_printable(json_object_get_string(s), len))
			return -1;
		*mask |= rbac_pattern_mask(json_object_get_string(s), len);
	}
	return 0;
}

/*
 * A permissions array: granted/denied bits.  A role grants its dataActions
 * less all its notDataActions (`per_block` false: the narrower reading); a
 * deny assignment denies each block's dataActions less that block's
 * notDataActions (`per_block` true: the wider reading).  Both readings err
 * on the side of no login.
 */
static int permissions_mask(struct json_object *perms, bool per_block, unsigned int *out)
{
	unsigned int all_da = 0, all_nda = 0, result = 0, da, nda;
	size_t count = 0, n;

	if (perms == NULL || !json_object_is_type(perms, json_type_array))
		return -1;
	n = json_object_array_length(perms);
	if (n > 64)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(perms, i);
		unsigned int ignored;
		if (p == NULL || !json_object_is_type(p, json_type_object))
			return -1;
		if (pattern_list(p, "dataActions", &count, &da) != 0 ||
		    pattern_list(p, "notDataActions", &count, &nda) != 0 ||
		    pattern_list(p, "actions", &count, &ignored) != 0 ||
		    pattern_list(p, "notActions", &count, &ignored) != 0)
			return -1;
		result |= da & ~nda;
		all_da |= da;
		all_nda |= nda;
	}
	*out = per_block ? result : all_da & ~all_nda;
	return 0;
}

static struct json_object *item_properties(struct json_object *value, size_t i)
{
	struct json_object *item = json_object_array_get_idx(value, i), *props;

	if (item == NULL || !json_object_is_type(item, json_type_object))
		return NULL;
	props = member(item, "properties");
	return props && json_object_is_type(props, json_type_object) ? props : NULL;
}

static bool scope_valid(const char *s)
{
	return s[0] == '/';
}

/* --- role assignments -------------------------------------------------------------------------- */

static bool assignment_parse(struct json_object *props, struct rbac_assignment *a)
{
	char pid[64];
	struct json_object *cond = member(props, "condition");
	size_t len;

	memset(a, 0, sizeof(*a));
	if (!get_plain(props, "roleDefinitionId", a->roledef_id, sizeof(a->roledef_id)) ||
	    !rbac_roledef_id_parse(a->roledef_id, strlen(a->roledef_id), a->roledef_guid))
		return false;
	if (!get_plain(props, "principalId", pid, sizeof(pid)) || !rbac_guid_valid(pid, strlen(pid)))
		return false;
	copy_lower(a->principal_id, pid, RBAC_GUID_LEN);
	if (member(props, "principalType") != NULL &&
	    !get_plain(props, "principalType", a->principal_type, sizeof(a->principal_type)))
		return false;
	if (!get_plain(props, "scope", a->scope, sizeof(a->scope)) || !scope_valid(a->scope))
		return false;
	if (cond != NULL) {
		if (!json_object_is_type(cond, json_type_string))
			return false;
		len = (size_t)json_object_get_string_len(cond);
		a->conditional = len > 0;
	}
	return true;
}

azmi_err rbac_parse_assignments(const char *body, size_t len, struct rbac_list *l, char *next, size_t nextlen,
                                char *why, size_t whylen)
{
	struct json_object *value = NULL, *obj = page_open(body, len, &value, next, nextlen, why, whylen);
	struct rbac_assignment *grown;
	size_t n;
	azmi_err r = AZMI_ERR_PROTOCOL;

	if (obj == NULL)
		return AZMI_ERR_PROTOCOL;
	n = json_object_array_length(value);
	if (n > RBAC_MAX_ITEMS - l->nassignments) {
		snprintf(why, whylen, "more than %d role assignments", RBAC_MAX_ITEMS);
		goto out;
	}
	if (n > 0) {
		if ((grown = reallocarray(l->assignments, l->nassignments + n, sizeof(*grown))) == NULL) {
			snprintf(why, whylen, "out of memory");
			r = AZMI_ERR_NOMEM;
			goto out;
		}
		l->assignments = grown;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *props = item_properties(value, i);
		if (props == NULL || !assignment_parse(props, &l->assignments[l->nassignments])) {
			snprintf(why, whylen,
			         "role assignment %zu is malformed (properties.roleDefinitionId, "
			         "principalId, scope "
			         "and condition are checked)",
			         i);
			goto out;
		}
		l->nassignments++;
	}
	r = AZMI_OK;
out:
	json_object_put(obj);
	return r;
}

/* --- deny assignments -------------------------------------------------------------------------- */

static bool principals_parse(struct json_object *arr, struct rbac_principal **out, size_t *nout)
{
	size_t n;

	*out = NULL;
	*nout = 0;
	if (arr == NULL)
		return true;
	if (!json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) > RBAC_MAX_PRINCIPALS)
		return false;
	if (n == 0)
		return true;
	if ((*out = calloc(n, sizeof(**out))) == NULL)
		return false;
	for (size_t i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(arr, i);
		char id[64], type[32];
		if (p == NULL || !json_object_is_type(p, json_type_object) ||
		    !get_plain(p, "id", id, sizeof(id)) || !rbac_guid_valid(id, strlen(id)))
			return false;
		type[0] = '\0';
		if (member(p, "type") != NULL && !get_plain(p, "type", type, sizeof(type)))
			return false;
		copy_lower((*out)[i].id, id, RBAC_GUID_LEN);
		(*out)[i].group = strcasecmp(type, "Group") == 0;
		*nout = i + 1;
	}
	return true;
}

static bool deny_parse(struct json_object *props, struct rbac_deny *d)
{
	struct json_object *nc = member(props, "doNotApplyToChildScopes");

	if (!get_name(props, "denyAssignmentName", d->name, sizeof(d->name)))
		return false;
	if (!get_plain(props, "scope", d->scope, sizeof(d->scope)) || !scope_valid(d->scope))
		return false;
	if (nc != NULL) {
		if (!json_object_is_type(nc, json_type_boolean))
			return false;
		d->no_children = json_object_get_boolean(nc);
	}
	if (permissions_mask(member(props, "permissions"), true, &d->denies) != 0)
		return false;
	return principals_parse(member(props, "principals"), &d->principals, &d->nprincipals) &&
	       principals_parse(member(props, "excludePrincipals"), &d->excluded, &d->nexcluded);
}

azmi_err rbac_parse_denies(const char *body, size_t len, struct rbac_list *l, char *next, size_t nextlen,
                           char *why, size_t whylen)
{
	struct json_object *value = NULL, *obj = page_open(body, len, &value, next, nextlen, why, whylen);
	struct rbac_deny *grown;
	size_t n;
	azmi_err r = AZMI_ERR_PROTOCOL;

	if (obj == NULL)
		return AZMI_ERR_PROTOCOL;
	n = json_object_array_length(value);
	if (n > RBAC_MAX_ITEMS - l->ndenies) {
		snprintf(why, whylen, "more than %d deny assignments", RBAC_MAX_ITEMS);
		goto out;
	}
	if (n > 0) {
		if ((grown = reallocarray(l->denies, l->ndenies + n, sizeof(*grown))) == NULL) {
			snprintf(why, whylen, "out of memory");
			r = AZMI_ERR_NOMEM;
			goto out;
		}
		l->denies = grown;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *props = item_properties(value, i);
		struct rbac_deny *d = &l->denies[l->ndenies];
		memset(d, 0, sizeof(*d));
		/* Counted before parsing, so that a half-parsed one is freed with the list. */
		l->ndenies++;
		if (props == NULL || !deny_parse(props, d)) {
			snprintf(
			    why, whylen,
			    "deny assignment %zu is malformed (properties.scope, permissions, principals and "
			    "excludePrincipals are checked)",
			    i);
			goto out;
		}
	}
	r = AZMI_OK;
out:
	json_object_put(obj);
	return r;
}

/* --- role definitions ---------------------------------------------------------------------------- */

azmi_err rbac_parse_role(const char *body, size_t len, const char *want_guid, struct rbac_role *out,
                         char *why, size_t whylen)
{
	struct json_object *obj = json_parse_bounded(body, len), *props;
	char name[64];
	azmi_err r = AZMI_ERR_PROTOCOL;

	memset(out, 0, sizeof(*out));
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "the answer is not a JSON object");
		goto out;
	}
	if (!rbac_guid_valid(want_guid, strlen(want_guid)) || !get_plain(obj, "name", name, sizeof(name)) ||
	    strcasecmp(name, want_guid) != 0) {
		snprintf(why, whylen, "the answer is not the role definition %s asked for", want_guid);
		goto out;
	}
	props = member(obj, "properties");
	if (props == NULL || !json_object_is_type(props, json_type_object) ||
	    !get_name(props, "roleName", out->name, sizeof(out->name))) {
		snprintf(why, whylen, "role definition %s has no properties.roleName", want_guid);
		goto out;
	}
	if (permissions_mask(member(props, "permissions"), false, &out->grants) != 0) {
		snprintf(
		    why, whylen,
		    "role definition %s: properties.permissions is not an array of permission objects with "
		    "lists of printable action strings",
		    want_guid);
		goto out;
	}
	copy_lower(out->guid, want_guid, RBAC_GUID_LEN);
	if (out->name[0] == '\0')
		snprintf(out->name, sizeof(out->name), "%s", out->guid);
	r = AZMI_OK;
out:
	if (r != AZMI_OK)
		memset(out, 0, sizeof(*out));
	json_object_put(obj);
	return r;
}

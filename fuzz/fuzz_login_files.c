/*
 * fuzz_login_files.c - the parsers of the login modules' files.
 *
 * Input: one selector byte, then the file's text.
 *   0  user_map lines (principal_map_parse), looked up for a name taken from the text
 *   1  the uid table (uidtab_parse; "name:uid[:objectid]"), then UID slots against it
 *   2  a decision cache file (dcache_parse)
 *   3  a "key = value" setting through login_conf_set
 * Checks what each promises: a map target is a UPN, an object id or "-"; table
 * entries are valid names with UIDs of at least 1000, no name or UID twice,
 * an object id empty or a lower-case one; a name gets its table UID or its
 * own free slot, never another (no probing), and a suggested pin is free;
 * a parsed decision has a user, a principal, a level 1..2 and a time.
 * Extra sources: pam_azmi/{login_conf,principal,names,statefile,uidmap,dcache}.c (pam_azmi/build.mk).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcache.h"
#include "login_conf.h"
#include "principal.h"
#include "uidmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void map_case(char *text)
{
	struct principal p;
	char user[LOGIN_NAME_MAX] = "deploy";
	size_t n = strcspn(text, " \t\n");
	bool found = false;
	int r;

	if (n > 0 && n < sizeof(user)) {
		memcpy(user, text, n);
		user[n] = '\0';
	}
	memset(&p, 0, sizeof(p));
	r = principal_map_parse("fuzz", text, user, &p, &found);
	if ((r != 0 && (r != -EINVAL || found)) ||
	    (found && !(strcmp(p.id, "-") == 0 || principal_is_guid(p.id) || principal_is_upn(p.id))))
		abort();
	if (r < 0 && p.why[0] == '\0')
		abort();
}

static bool oid_ok(const char *oid)
{
	if (oid[0] == '\0')
		return true;
	for (const char *p = oid; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return false;
	return principal_is_guid(oid);
}

/* Each entry's name against a small range: its own UID, and a free slot or a free suggestion. */
static void slot_case(const struct uid_table *t)
{
	struct login_conf c;
	uint32_t local[] = {1003, 1005}, uid, pin;
	struct local_ids ids = {local, 2};

	login_conf_init(&c);
	c.uid_min = 1000;
	c.uid_max = 1009;
	for (size_t i = 0; i < t->n; i++) {
		const char *name = t->v[i].name;
		char other[LOGIN_NAME_MAX + 2];
		int r = uidmap_assign(&c, t, &ids, name, &uid);
		if (r != 0 || uid != t->v[i].uid)
			abort();
		snprintf(other, sizeof(other), "%s.x", name);
		if (uidtab_find_name(t, other) != NULL)
			continue;
		r = uidmap_assign(&c, t, &ids, other, &uid);
		if ((r == 0 && (uid != uidmap_slot(&c, other) || uidtab_find_uid(t, uid) != NULL ||
		                uid == 1003 || uid == 1005)) ||
		    (r != 0 && r != -EADDRINUSE))
			abort();
		pin = uidmap_suggest(&c, t, &ids, other);
		if (pin != 0 && (pin < 1002 || pin > 1009 || uidtab_find_uid(t, pin) != NULL || pin == 1003 ||
		                 pin == 1005))
			abort();
	}
}

static void uid_case(char *text)
{
	struct uid_table t = {0};

	if (uidtab_parse(&t, text) != 0)
		abort();
	for (size_t i = 0; i < t.n; i++) {
		if (!principal_name_ok(t.v[i].name) || t.v[i].uid < 1000 || !oid_ok(t.v[i].oid))
			abort();
		if (uidtab_find_name(&t, t.v[i].name) != &t.v[i] ||
		    uidtab_find_uid(&t, t.v[i].uid) != &t.v[i])
			abort();
	}
	slot_case(&t);
	uidtab_free(&t);
}

static void dcache_case(char *text)
{
	struct dcache_entry e;

	if (dcache_parse(text, &e) == 0 && (e.user[0] == '\0' || e.principal[0] == '\0' ||
	                                    e.level < DCACHE_USER || e.level > DCACHE_ADMIN || e.when < 1))
		abort();
}

static void setting_case(char *text)
{
	static const char *const keys[] = {"allowed_domains", "user_map",      "upn_suffix", "admin_group",
	                                   "cache_ttl",       "offline_grace", "uid_range",  "config",
	                                   "debug",           "nonsense"};
	struct login_conf c;
	char why[256];
	size_t k = (unsigned char)text[0] % (sizeof(keys) / sizeof(keys[0]));

	login_conf_init(&c);
	if (login_conf_set(&c, keys[k], text[0] ? text + 1 : text, why, sizeof(why)) == LCONF_OK &&
	    (c.uid_min >= c.uid_max || c.ndomains > LOGIN_MAX_DOMAINS || c.cache_ttl < 0 ||
	     c.offline_grace < 0))
		abort();
	for (size_t i = 0; i < c.ndomains; i++)
		if (!login_conf_domain_allowed(&c, c.domains[i], strlen(c.domains[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1 || size > 65536)
		return 0;
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 4) {
	case 0:
		map_case(text);
		break;
	case 1:
		uid_case(text);
		break;
	case 2:
		dcache_case(text);
		break;
	default:
		setting_case(text);
		break;
	}
	free(text);
	return 0;
}

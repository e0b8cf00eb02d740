/*
 * fuzz_rbac.c - the login decision's parsers and matcher on arbitrary input.
 * The first byte picks the target:
 *   0  rbac_action_match / rbac_pattern_mask: "pattern\naction"
 *   1  a role assignment page, then a decision over it (every role granting
 *      what the input's second byte says)
 *   2  a deny assignment page, then a decision with one admin grant
 *   3  a role definition
 * No crash or leak; the mask agrees with the matcher; nothing grants unless a
 * parsed role does; every reason is printable and bounded.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rbac.h"
#include "rbac_match.h"
#include "rbac_parse.h"
#include "util.h"

#define VM                                                                                                   \
	"/subscriptions/0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40/resourceGroups/rg/providers/Microsoft.Compute/" \
	"virtualMachines/vm"
#define OID   "6f1e2d3c-4b5a-4978-8a6b-5c4d3e2f1a01"
#define ROLE  "fb879df8-f326-4884-b1cf-06f3ad86be52"
#define GROUP "7a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c01"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decision(const struct rbac_decision *d)
{
	size_t len = strnlen(d->reason, sizeof(d->reason));

	if (len == 0 || len >= sizeof(d->reason) || !util_is_printable(d->reason, len))
		__builtin_trap();
	if ((d->level == RBAC_DENY) != (d->role[0] == '\0' && d->scope[0] == '\0'))
		__builtin_trap();
	if (d->level > RBAC_ADMIN)
		__builtin_trap();
}

static void fuzz_match(const char *s, size_t len)
{
	const char *nl = memchr(s, '\n', len);
	size_t plen = nl ? (size_t)(nl - s) : len;
	const char *action = nl ? nl + 1 : "";
	size_t alen = nl ? len - plen - 1 : 0;
	unsigned int mask = rbac_pattern_mask(s, plen), want = 0;

	(void)rbac_action_match(s, plen, action, alen);
	for (unsigned int bit = 1; bit <= RBAC_ACT_ARC_ADMIN; bit <<= 1) {
		const char *name = rbac_action_name(bit);
		if (rbac_action_match(s, plen, name, strlen(name)))
			want |= bit;
	}
	if (mask != want)
		__builtin_trap();
	/* A pattern always matches itself when it has no star; "*" matches everything. */
	if (memchr(s, '*', plen) == NULL && !rbac_action_match(s, plen, s, plen))
		__builtin_trap();
	if (!rbac_action_match("*", 1, action, alen))
		__builtin_trap();
}

static void fuzz_assignments(const char *s, size_t len, unsigned int grants)
{
	struct rbac_list list = {0};
	struct rbac_role *roles;
	struct rbac_decision d;
	char next[RBAC_MAX_NEXTLINK + 1], why[256];
	azmi_err rc = rbac_parse_assignments(s, len, &list, next, sizeof(next), why, sizeof(why));
	struct rbac_eval e = {VM, (grants & 0x10) != 0, OID, &list, NULL, NULL, NULL, 0};

	if (rc != AZMI_OK && (why[0] == '\0' || !util_is_printable(why, strlen(why))))
		__builtin_trap();
	if (rc == AZMI_OK && strlen(next) > RBAC_MAX_NEXTLINK)
		__builtin_trap();
	roles = calloc(list.nassignments + 1, sizeof(*roles));
	if (roles == NULL)
		goto out;
	for (size_t i = 0; i < list.nassignments; i++) {
		memcpy(roles[i].guid, list.assignments[i].roledef_guid, sizeof(roles[i].guid));
		memcpy(roles[i].name, "fuzzed role", sizeof("fuzzed role"));
		roles[i].grants = grants & RBAC_ACT_ALL;
	}
	e.roles = roles;
	rbac_evaluate(&e, &d);
	check_decision(&d);
	if (d.level != RBAC_DENY && (grants & RBAC_ACT_ALL) == 0)
		__builtin_trap();
	free(roles);
out:
	rbac_list_free(&list);
}

static void fuzz_denies(const char *s, size_t len)
{
	static const char page[] = "{\"value\":[{\"properties\":{\"roleDefinitionId\":\"/providers/"
	                           "Microsoft.Authorization/roleDefinitions/" ROLE "\",\"principalId\":\"" OID
	                           "\",\"principalType\":\"User\",\"scope\":\"/\"}}]}";
	struct rbac_list list = {0};
	struct rbac_role role = {ROLE, "admin", RBAC_ACT_ALL};
	struct rbac_decision d;
	char next[RBAC_MAX_NEXTLINK + 1], why[256];
	const char *groups[8], *known[1] = {GROUP};
	bool member[1] = {true};
	struct rbac_eval e = {VM, false, OID, &list, &role, known, member, 1};
	size_t n;

	if (rbac_parse_assignments(page, sizeof(page) - 1, &list, next, sizeof(next), why, sizeof(why)) !=
	    AZMI_OK)
		__builtin_trap();
	if (rbac_parse_denies(s, len, &list, next, sizeof(next), why, sizeof(why)) != AZMI_OK &&
	    (why[0] == '\0' || !util_is_printable(why, strlen(why))))
		__builtin_trap();
	n = rbac_deny_groups(&list, VM, false, OID, groups, 8);
	if (n != (size_t)-1 && n > 8)
		__builtin_trap();
	rbac_evaluate(&e, &d);
	check_decision(&d);
	rbac_list_free(&list);
}

static void fuzz_role(const char *s, size_t len)
{
	struct rbac_role role;
	char why[256];
	azmi_err rc = rbac_parse_role(s, len, ROLE, &role, why, sizeof(why));

	if (rc == AZMI_OK) {
		if (strcmp(role.guid, ROLE) != 0 || (role.grants & ~RBAC_ACT_ALL) != 0 ||
		    role.name[0] == '\0' || !util_is_printable(role.name, strlen(role.name)))
			__builtin_trap();
	} else if (role.guid[0] != '\0' || role.grants != 0 || why[0] == '\0') {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 2;
	size_t len;

	if (size < 2)
		return 0;
	len = size - 2;
	switch (data[0] % 4) {
	case 0:
		fuzz_match(s, len);
		break;
	case 1:
		fuzz_assignments(s, len, data[1]);
		break;
	case 2:
		fuzz_denies(s, len);
		break;
	default:
		fuzz_role(s, len);
		break;
	}
	return 0;
}

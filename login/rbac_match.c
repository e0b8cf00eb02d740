/* rbac_match.c - Azure permission patterns against the login data actions. */
#include "rbac_match.h"

#include <string.h>

#include "rbac.h"

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * Glob matching with '*' only.  On a mismatch after a star the star takes
 * one more character and the rest is tried again; the last star is the only
 * one ever revisited, which is enough for '*' patterns and keeps the work
 * within plen * alen steps.
 */
bool rbac_action_match(const char *pattern, size_t plen, const char *action, size_t alen)
{
	size_t p = 0, a = 0, star = (size_t)-1, mark = 0;

	while (a < alen) {
		if (p < plen && pattern[p] == '*') {
			star = p++;
			mark = a;
		} else if (p < plen && lower(pattern[p]) == lower(action[a])) {
			p++;
			a++;
		} else if (star != (size_t)-1) {
			p = star + 1;
			a = ++mark;
		} else {
			return false;
		}
	}
	while (p < plen && pattern[p] == '*')
		p++;
	return p == plen;
}

static const struct {
	unsigned int bit;
	const char *action;
} actions[] = {
    {RBAC_ACT_LOGIN, RBAC_ACTION_LOGIN},
    {RBAC_ACT_ADMIN, RBAC_ACTION_ADMIN},
    {RBAC_ACT_ARC_LOGIN, RBAC_ACTION_ARC_LOGIN},
    {RBAC_ACT_ARC_ADMIN, RBAC_ACTION_ARC_ADMIN},
};

unsigned int rbac_pattern_mask(const char *pattern, size_t plen)
{
	unsigned int mask = 0;

	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (rbac_action_match(pattern, plen, actions[i].action, strlen(actions[i].action)))
			mask |= actions[i].bit;
	return mask;
}

const char *rbac_action_name(unsigned int bit)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].bit == bit)
			return actions[i].action;
	return NULL;
}

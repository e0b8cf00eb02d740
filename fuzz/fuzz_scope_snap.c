/*
 * fuzz_scope_snap.c - scope_snap_parse (the scope's shared RBAC view, a
 * root-private file) on arbitrary contents: no crash or leak; an accepted
 * view is for the asked machine, unexpired, and every id in it well formed.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rbac_parse.h"
#include "scope_snap.h"

#define KEY                                                                                                  \
	"/subscriptions/0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40/resourceGroups/rg-1/providers/"                 \
	"Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/42"
#define NOW 1100

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scope_snap s;

	if (!scope_snap_parse((const char *)data, size, KEY, false, NOW, &s))
		return 0;
	if (strcmp(s.key, KEY) != 0 || NOW >= s.expires || s.nroles > SCOPE_SNAP_MAX_ROLES ||
	    s.list.nassignments > RBAC_MAX_ITEMS || s.list.ndenies > RBAC_MAX_ITEMS)
		__builtin_trap();
	for (size_t i = 0; i < s.list.nassignments; i++)
		if (!rbac_guid_valid(s.list.assignments[i].principal_id,
		                     strlen(s.list.assignments[i].principal_id)))
			__builtin_trap();
	scope_snap_free(&s);
	return 0;
}

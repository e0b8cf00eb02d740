/*
 * fuzz_arc_meta.c - arc_meta_parse (the Arc agent's configuration file) on
 * arbitrary contents: no crash or leak; an accepted file names an Arc
 * machine whose resource id has the accepted shape.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "arc_meta.h"
#include "rbac.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_info info;
	char why[256];

	if (arc_meta_parse((const char *)data, size, &info, why, sizeof(why)) != AZMI_OK)
		return 0;
	if (!info.arc || info.kind != MACHINE_ARC || !vm_info_resource_id_valid(info.resource_id, true) ||
	    strnlen(info.vm_id, sizeof(info.vm_id)) == sizeof(info.vm_id))
		__builtin_trap();
	return 0;
}

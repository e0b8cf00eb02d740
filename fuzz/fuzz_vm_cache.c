/*
 * fuzz_vm_cache.c - vm_cache_parse on arbitrary file contents: no crash or
 * leak; an accepted entry is for the asked endpoint and kind and holds a
 * resource id of the accepted shape.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rbac.h"
#include "vm_cache.h"

#define NOW 1700000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_info info;
	bool arc;

	if (size < 1)
		return 0;
	arc = data[0] & 1;
	if (!vm_cache_parse((const char *)data + 1, size - 1, "http://169.254.169.254", arc, NOW, &info))
		return 0;
	if (info.arc != arc || !vm_info_resource_id_valid(info.resource_id, arc) ||
	    strnlen(info.vm_id, sizeof(info.vm_id)) == sizeof(info.vm_id) ||
	    (info.kind == MACHINE_UNIFORM && info.set_scope[0] == '\0') || (info.kind == MACHINE_ARC) != arc)
		__builtin_trap();
	return 0;
}

/*
 * machine_kind.h - what kind of Azure machine this is, and at which scopes a
 * login is decided: a single VM, an instance of a Uniform scale set (its own
 * scope, and the scale set's when Resource Manager refuses the instance's),
 * an instance of a Flexible scale set (an ordinary VM resource), or an Azure
 * Arc-enabled server (HybridCompute, with its own login data actions).
 */
#ifndef AZMI_MACHINE_KIND_H
#define AZMI_MACHINE_KIND_H

#include <stdbool.h>
#include <stddef.h>

#include "rbac.h"

#define MACHINE_UNIFORM_PROVIDER "/providers/Microsoft.Compute/virtualMachineScaleSets/"

/* "vm", "uniform", "flexible" or "arc". */
const char *machine_kind_name(enum machine_kind kind);

/* A sentence for people: "a single VM", "an instance of Uniform scale set S", ... */
void machine_describe(const struct vm_info *vm, char *out, size_t outlen);

/* The data actions that allow a login (and an admin login) on this kind of machine. */
const char *machine_login_action(const struct vm_info *vm);
const char *machine_admin_action(const struct vm_info *vm);

struct azmi_ctx;

/*
 * After reading role assignments at `scope` ended in `rc`: true when this is
 * a Uniform instance whose own scope Resource Manager refused (400 or 404),
 * so the caller should read at vm->set_scope instead; `out->scope_note`
 * then says why and the error is cleared.  False leaves everything as it was.
 */
bool machine_scope_fallback(struct azmi_ctx *ctx, const struct vm_info *vm, const char *scope, azmi_err rc,
                            struct azmi_error *err, struct rbac_decision *out);

#endif

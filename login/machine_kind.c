/* machine_kind.c - Uniform scale-set instance ids, and naming a machine's kind. */
#include "machine_kind.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "error.h"
#include "rbac_parse.h"

const char *machine_kind_name(enum machine_kind kind)
{
	switch (kind) {
	case MACHINE_UNIFORM:
		return "uniform";
	case MACHINE_FLEXIBLE:
		return "flexible";
	case MACHINE_ARC:
		return "arc";
	case MACHINE_VM:
		break;
	}
	return "vm";
}

void machine_describe(const struct vm_info *vm, char *out, size_t outlen)
{
	switch (vm->kind) {
	case MACHINE_UNIFORM:
		snprintf(out, outlen, "instance %s of Uniform scale set %s", vm->instance_id, vm->scale_set);
		break;
	case MACHINE_FLEXIBLE:
		snprintf(out, outlen, "VM %s of Flexible scale set %s", vm->name, vm->scale_set);
		break;
	case MACHINE_ARC:
		snprintf(out, outlen, "Azure Arc-enabled server %s", vm->name);
		break;
	case MACHINE_VM:
		snprintf(out, outlen, "single VM %s", vm->name);
		break;
	}
}

const char *machine_login_action(const struct vm_info *vm)
{
	return vm->arc ? RBAC_ACTION_ARC_LOGIN : RBAC_ACTION_LOGIN;
}

const char *machine_admin_action(const struct vm_info *vm)
{
	return vm->arc ? RBAC_ACTION_ARC_ADMIN : RBAC_ACTION_ADMIN;
}

bool machine_scope_fallback(struct azmi_ctx *ctx, const struct vm_info *vm, const char *scope, azmi_err rc,
                            struct azmi_error *err, struct rbac_decision *out)
{
	long status = err->http_status;

	if (rc != AZMI_ERR_REFUSED || (status != 400 && status != 404) || vm->kind != MACHINE_UNIFORM ||
	    vm->set_scope[0] == '\0' || strcmp(scope, vm->resource_id) != 0)
		return false;
	snprintf(out->scope_note, sizeof(out->scope_note),
	         "Resource Manager refused the instance's scope (HTTP %ld): decided at scale set %.64s",
	         status, vm->scale_set);
	log_line(&ctx->log, AZMI_LOG_INFO, "rbac: %s", out->scope_note);
	err_clear(err);
	return true;
}

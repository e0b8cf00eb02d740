/* machine_kind.c - Uniform scale-set instance ids, and naming a machine's kind. */
#include "machine_kind.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "error.h"
#include "rbac_parse.h"

#define INSTANCES "/virtualMachines/"

/* Letters, digits and ._()- (parens only in resource group names); no trailing dot. */
static bool name_ok(const char *s, size_t len, size_t max, bool parens)
{
	if (len == 0 || len > max || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_' || c == '.' || (parens && (c == '(' || c == ')'))))
			return false;
	}
	return true;
}

/* A decimal instance id without a sign or leading zeros ("0" itself is fine). */
static bool instance_ok(const char *s, size_t len)
{
	if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool machine_uniform_split(const char *id, struct vm_info *out)
{
	size_t len = strlen(id), plen = strlen(MACHINE_UNIFORM_PROVIDER), ilen = strlen(INSTANCES);
	const char *rg, *end, *set, *slash, *inst;
	size_t rglen, setlen, instlen;

	if (len >= sizeof(out->resource_id) || strncasecmp(id, "/subscriptions/", 15) != 0 || len < 15 + 36 ||
	    !rbac_guid_valid(id + 15, 36) || strncasecmp(id + 51, "/resourceGroups/", 16) != 0)
		return false;
	rg = id + 67;
	if ((end = strchr(rg, '/')) == NULL)
		return false;
	rglen = (size_t)(end - rg);
	if (!name_ok(rg, rglen, 90, true) || strncasecmp(end, MACHINE_UNIFORM_PROVIDER, plen) != 0)
		return false;
	set = end + plen;
	if ((slash = strchr(set, '/')) == NULL)
		return false;
	setlen = (size_t)(slash - set);
	if (!name_ok(set, setlen, 64, false) || strncasecmp(slash, INSTANCES, ilen) != 0)
		return false;
	inst = slash + ilen;
	instlen = strlen(inst);
	if (!instance_ok(inst, instlen))
		return false;
	snprintf(out->resource_id, sizeof(out->resource_id), "%s", id);
	snprintf(out->subscription_id, sizeof(out->subscription_id), "%.36s", id + 15);
	snprintf(out->resource_group, sizeof(out->resource_group), "%.*s", (int)rglen, rg);
	snprintf(out->scale_set, sizeof(out->scale_set), "%.*s", (int)setlen, set);
	snprintf(out->instance_id, sizeof(out->instance_id), "%s", inst);
	snprintf(out->name, sizeof(out->name), "%.*s_%s", (int)setlen, set, inst);
	snprintf(out->set_scope, sizeof(out->set_scope), "%.*s", (int)(slash - id), id);
	out->kind = MACHINE_UNIFORM;
	out->arc = false;
	return true;
}

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

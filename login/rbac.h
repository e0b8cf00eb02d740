/*
 * rbac.h - the Azure RBAC login decision, for pam_azmi (account and auth
 * phases) and `azmi check-login` (the NSS module, which never goes to the
 * network, does not use it): the machine's scope from instance
 * metadata, the principal's role assignments on it from Resource Manager,
 * the role definitions and deny assignments, and Microsoft Graph for names
 * and group membership.  Every answer from outside is bounded and checked;
 * anything unexpected is an error, never a grant.
 */
#ifndef AZMI_RBAC_H
#define AZMI_RBAC_H

#include <stdbool.h>
#include <stddef.h>

#include "azmi.h"
#include "error.h"

struct azmi_ctx;

/* The principal every deny assignment may name for "everyone". */
#define RBAC_EVERYONE "00000000-0000-0000-0000-000000000000"

/* The data actions that allow a login (Arc-enabled servers have their own). */
#define RBAC_ACTION_LOGIN     "Microsoft.Compute/virtualMachines/login/action"
#define RBAC_ACTION_ADMIN     "Microsoft.Compute/virtualMachines/loginAsAdmin/action"
#define RBAC_ACTION_ARC_LOGIN "Microsoft.HybridCompute/machines/login/action"
#define RBAC_ACTION_ARC_ADMIN "Microsoft.HybridCompute/machines/loginAsAdmin/action"

/* What kind of machine (login/machine_kind.h). */
enum machine_kind { MACHINE_VM = 0, MACHINE_UNIFORM, MACHINE_FLEXIBLE, MACHINE_ARC };

struct vm_info {
	char resource_id[512]; /* compute.resourceId */
	char subscription_id[64], resource_group[128], name[128], vm_id[64], az_environment[64];
	bool arc; /* an Arc-enabled server (HybridCompute): the HybridCompute login actions apply */
	enum machine_kind kind;
	char scale_set[128];  /* vmScaleSetName: Uniform and Flexible instances; "" otherwise */
	char instance_id[16]; /* Uniform: the instance's decimal id */
	char set_scope[512];  /* Uniform: the scale set's resource id, the fallback scope; "" otherwise */
};

/*
 * The machine's scope from instance metadata.  An Azure VM asks IMDS
 * (GET {imds_endpoint}/metadata/instance?api-version=2021-02-01, Metadata:
 * true, never through a proxy); its resourceId must be
 * /subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Compute/virtualMachines/<name>
 * (a single VM, or a Flexible scale-set instance when vmScaleSetName is set)
 * or .../virtualMachineScaleSets/<set>/virtualMachines/<n> (a Uniform instance).
 * When the context's managed-identity source is Azure Arc, the Arc agent's
 * own metadata service answers instead (GET {IMDS_ENDPOINT, default
 * http://127.0.0.1:40342}/metadata/instance?api-version=2020-06-01) and the
 * resourceId must name a Microsoft.HybridCompute/machines resource; `arc`
 * is then set.  When the agent does not answer, its configuration file
 * (arc_agent_config, default /var/opt/azcmagent/agentconfig.json) names the
 * machine instead.  429 and 5xx are retried within the context's timeout.
 */
AZMI_MUST_CHECK azmi_err vm_info_get(struct azmi_ctx *ctx, struct vm_info *out, struct azmi_error *err);

/*
 * Fill out's resource_id, subscription_id, resource_group and name from
 * `resource_id` when it has the shape vm_info_get accepts; false otherwise.
 */
bool vm_info_split(const char *resource_id, bool arc, struct vm_info *out);

/* True when `resource_id` has the shape vm_info_get accepts (a VM's, or with `arc` an Arc server's). */
bool vm_info_resource_id_valid(const char *resource_id, bool arc);

enum rbac_level { RBAC_DENY = 0, RBAC_USER, RBAC_ADMIN };

struct rbac_decision {
	enum rbac_level level;
	char role[256];          /* the granting role's roleName (or its definition id); "" when denied */
	char scope[512];         /* the granting assignment's scope; "" when denied */
	char reason[512];        /* one readable sentence: why granted or denied */
	char correlation_id[64]; /* x-ms-correlation-request-id (or x-ms-request-id) of the last ARM answer */
	char decided_scope[512]; /* the scope whose assignments decided: the machine's, or its scale set's */
	char scope_note[256];    /* why that scope, for people ("" for the machine's own) */
	int arm_requests;        /* Resource Manager requests this decision made (0: all from the cache) */
};

/*
 * Decide for principal `oid` (the object id of a user or service principal,
 * never a group) on `vm`'s scope: role assignments at or above the scope
 * (through transitive group membership too), their role definitions'
 * dataActions/notDataActions (wildcards; cached in the context for five
 * minutes), then deny assignments.  An assignment with a condition grants
 * nothing.  Admin wins over user.  AZMI_OK with out->level set on a
 * decision, a denial included; an error when Resource Manager could not be
 * asked or answered nonsense: the caller must then deny (fail closed).
 * A deny assignment naming a group needs Graph (graph_check_groups).
 */
AZMI_MUST_CHECK azmi_err rbac_decide(struct azmi_ctx *ctx, const struct vm_info *vm, const char *oid,
                                     struct rbac_decision *out, struct azmi_error *err);

/*
 * A user principal name (or object id) to the user's object id through
 * Microsoft Graph (GET {graph_endpoint}/v1.0/users/{upn}?$select=id,userPrincipalName).
 * AZMI_ERR_REFUSED with "no such user" when Graph does not know it, and with
 * a hint about the User.Read.All application permission on 403.
 */
AZMI_MUST_CHECK azmi_err graph_user_oid(struct azmi_ctx *ctx, const char *upn, char oid[64],
                                        struct azmi_error *err);

/*
 * Transitive group membership of directory object `oid` (user or service
 * principal): which of `group_ids` (object ids) it is a member of, through
 * POST {graph_endpoint}/v1.0/directoryObjects/{oid}/checkMemberGroups (20 ids
 * a request; at most RBAC_MAX_GROUP_CHECK in all).  Fills member[0..n-1].
 */
#define RBAC_MAX_GROUP_CHECK 200
AZMI_MUST_CHECK azmi_err graph_check_groups(struct azmi_ctx *ctx, const char *oid,
                                            const char *const *group_ids, size_t n, bool *member,
                                            struct azmi_error *err);

/* "deny", "user" or "admin". */
const char *rbac_level_name(enum rbac_level level);

#endif

/*
 * rbac_match.h - Azure permission patterns such as "Microsoft.Compute/<star>"
 * or "<star>/login/action".  Matching is ASCII case-insensitive and a '*'
 * stands for any run of characters, '/' included, as Azure evaluates
 * actions and data actions.
 */
#ifndef AZMI_RBAC_MATCH_H
#define AZMI_RBAC_MATCH_H

#include <stdbool.h>
#include <stddef.h>

/* The four login data actions as bits. */
#define RBAC_ACT_LOGIN     0x1u /* Microsoft.Compute/virtualMachines/login/action */
#define RBAC_ACT_ADMIN     0x2u /* Microsoft.Compute/virtualMachines/loginAsAdmin/action */
#define RBAC_ACT_ARC_LOGIN 0x4u /* Microsoft.HybridCompute/machines/login/action */
#define RBAC_ACT_ARC_ADMIN 0x8u /* Microsoft.HybridCompute/machines/loginAsAdmin/action */
#define RBAC_ACT_ALL       0xfu

#define RBAC_MAX_PATTERN 512 /* longest permission string accepted */

/* True when `action` (alen bytes) matches `pattern` (plen bytes) in full. */
bool rbac_action_match(const char *pattern, size_t plen, const char *action, size_t alen);

/* The RBAC_ACT_* bits of the login actions `pattern` matches. */
unsigned int rbac_pattern_mask(const char *pattern, size_t plen);

/* The action string of one RBAC_ACT_* bit (NULL for anything else). */
const char *rbac_action_name(unsigned int bit);

#endif

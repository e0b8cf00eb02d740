/*
 * arc_meta.h - an Azure Arc-enabled server's identity from the Connected
 * Machine agent's own configuration file, for when the agent's metadata
 * service (himds) does not answer: the file names the machine
 * (resourceName, resourceGroup, subscriptionId, tenantId), so a login can
 * still be decided against Resource Manager.
 */
#ifndef AZMI_ARC_META_H
#define AZMI_ARC_META_H

#include <stddef.h>

#include "azmi.h"
#include "rbac.h"

#define ARC_AGENT_CONFIG_DEFAULT   "/var/opt/azcmagent/agentconfig.json"
#define ARC_AGENT_CONFIG_KEY       "arc_agent_config" /* azmi.conf key that names another file */
#define ARC_AGENT_CONFIG_MAX_BYTES (64 * 1024)

/*
 * Parse the file's text: a JSON object whose resourceName, resourceGroup and
 * subscriptionId (strings) name a HybridCompute machine with the shapes
 * vm_info_split accepts; tenantId, when present, a GUID; cloud, when present,
 * AzureCloud, AzureUSGovernment or AzureChinaCloud.  AZMI_OK with `out` filled
 * (kind MACHINE_ARC), else AZMI_ERR_PROTOCOL with a sentence in `why`.
 */
AZMI_MUST_CHECK azmi_err arc_meta_parse(const char *text, size_t len, struct vm_info *out, char *why,
                                        size_t whylen);

/*
 * Read and parse `path`: a regular file (not a link), owned by root or us,
 * not writable by group or others, at most ARC_AGENT_CONFIG_MAX_BYTES.
 * AZMI_ERR_UNAVAILABLE when missing or unreadable, AZMI_ERR_CONFIG when
 * unsafe, AZMI_ERR_PROTOCOL when malformed; `why` says which.
 */
AZMI_MUST_CHECK azmi_err arc_meta_read(const char *path, struct vm_info *out, char *why, size_t whylen);

#endif

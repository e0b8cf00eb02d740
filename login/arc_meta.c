/* arc_meta.c - the Arc agent's configuration file as the machine's scope when himds is silent. */
#include "arc_meta.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rbac_parse.h"
#include "statefile.h"
#include "util.h"

#define ARC_PROVIDER "/providers/Microsoft.HybridCompute/machines/"

/* A string member of at most outlen-1 printable characters; `required` says whether it may be absent. */
static bool member(struct json_object *obj, const char *key, bool required, char *out, size_t outlen)
{
	struct json_object *v;
	size_t len;

	out[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return !required;
	if (!json_object_is_type(v, json_type_string))
		return false;
	len = (size_t)json_object_get_string_len(v);
	if (len >= outlen || (required && len == 0) || !util_is_printable(json_object_get_string(v), len))
		return false;
	memcpy(out, json_object_get_string(v), len);
	out[len] = '\0';
	return true;
}

/* The agent's cloud names to the IMDS azEnvironment names rest.c knows. */
static bool cloud_environment(const char *cloud, char *out, size_t outlen)
{
	static const struct {
		const char *cloud, *env;
	} map[] = {
	    {"AzureCloud", "AzurePublicCloud"},
	    {"AzureUSGovernment", "AzureUSGovernmentCloud"},
	    {"AzureChinaCloud", "AzureChinaCloud"},
	};

	if (cloud[0] == '\0') {
		out[0] = '\0';
		return true;
	}
	for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
		if (strcmp(cloud, map[i].cloud) == 0) {
			snprintf(out, outlen, "%s", map[i].env);
			return true;
		}
	}
	return false;
}

azmi_err arc_meta_parse(const char *text, size_t len, struct vm_info *out, char *why, size_t whylen)
{
	struct json_object *obj = json_parse_bounded(text, len);
	char name[128], rg[128], sub[64], tenant[64], cloud[64], vmid[64], id[600];
	struct vm_info info;
	azmi_err r = AZMI_ERR_PROTOCOL;

	memset(&info, 0, sizeof(info));
	if (obj == NULL || !json_object_is_type(obj, json_type_object)) {
		snprintf(why, whylen, "it is not a JSON object");
		goto out;
	}
	if (!member(obj, "resourceName", true, name, sizeof(name)) ||
	    !member(obj, "resourceGroup", true, rg, sizeof(rg)) ||
	    !member(obj, "subscriptionId", true, sub, sizeof(sub)) ||
	    !member(obj, "tenantId", false, tenant, sizeof(tenant)) ||
	    !member(obj, "cloud", false, cloud, sizeof(cloud)) ||
	    !member(obj, "vmId", false, vmid, sizeof(vmid))) {
		snprintf(why, whylen,
		         "resourceName, resourceGroup and subscriptionId must be short printable strings "
		         "(tenantId, cloud and vmId too when present)");
		goto out;
	}
	if (tenant[0] != '\0' && !rbac_guid_valid(tenant, strlen(tenant))) {
		snprintf(why, whylen, "tenantId is not a GUID");
		goto out;
	}
	if (!cloud_environment(cloud, info.az_environment, sizeof(info.az_environment))) {
		snprintf(why, whylen, "cloud \"%.40s\" is not one azmi knows", cloud);
		goto out;
	}
	snprintf(id, sizeof(id), "/subscriptions/%s/resourceGroups/%s" ARC_PROVIDER "%s", sub, rg, name);
	if (!vm_info_split(id, true, &info)) {
		snprintf(
		    why, whylen,
		    "subscriptionId, resourceGroup and resourceName do not make a HybridCompute machine's "
		    "id");
		goto out;
	}
	snprintf(info.vm_id, sizeof(info.vm_id), "%s", vmid);
	*out = info;
	r = AZMI_OK;
out:
	json_object_put(obj);
	return r;
}

azmi_err arc_meta_read(const char *path, struct vm_info *out, char *why, size_t whylen)
{
	char *text = NULL;
	size_t len = 0;
	azmi_err r;
	int e = sfile_read(AT_FDCWD, path, ARC_AGENT_CONFIG_MAX_BYTES, false, &text, &len);

	if (e == -ENOENT || e == -EACCES) {
		snprintf(why, whylen, "%s: %s", path, strerror(-e));
		return AZMI_ERR_UNAVAILABLE;
	}
	if (e != 0) {
		snprintf(why, whylen,
		         "%s: refused (%s): it must be a regular file of root's, not "
		         "writable by others, at most %d bytes",
		         path, strerror(-e), ARC_AGENT_CONFIG_MAX_BYTES);
		return AZMI_ERR_CONFIG;
	}
	r = arc_meta_parse(text, len, out, why, whylen);
	free(text);
	return r;
}

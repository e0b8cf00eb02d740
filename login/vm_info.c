/*
 * vm_info.c - the machine's Azure scope from instance metadata: IMDS on an
 * Azure VM, the Arc agent's metadata service (himds) on an Arc-enabled
 * server.  Plain http on a local address: never through a proxy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "error.h"
#include "frontend.h"
#include "http.h"
#include "arc_meta.h"
#include "json.h"
#include "machine_kind.h"
#include "rbac.h"
#include "rbac_parse.h"
#include "exchange.h"
#include "source.h"
#include "util.h"
#include "vm_cache.h"

#define IMDS_INSTANCE_QUERY "/metadata/instance?api-version=2021-02-01"
#define ARC_INSTANCE_QUERY  "/metadata/instance?api-version=2020-06-01"
#define ARC_DEFAULT_BASE    "http://127.0.0.1:40342"
#define VM_PROVIDER         "/providers/Microsoft.Compute/virtualMachines/"
#define ARC_PROVIDER        "/providers/Microsoft.HybridCompute/machines/"
#define SET_INSTANCES       "/virtualMachines/"
#define INSTANCE_MAX_BODY   (256 * 1024)

/* Resource group names: letters, digits and ._()- (Azure allows Unicode letters too; azmi does not). */
static bool name_chars(const char *s, size_t len, size_t max, bool parens)
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

/*
 * The rest of a Uniform scale-set instance's id, `tail` = "<set>/virtualMachines/<n>"
 * after MACHINE_UNIFORM_PROVIDER: the set, the instance, IMDS's name for it
 * ("<set>_<n>") and the set's scope.
 */
static bool split_uniform(const char *id, const char *tail, struct vm_info *out)
{
	const char *slash = strchr(tail, '/'), *inst;
	size_t setlen, ilen = strlen(SET_INSTANCES);

	if (slash == NULL)
		return false;
	setlen = (size_t)(slash - tail);
	if (!name_chars(tail, setlen, 64, false) || strncasecmp(slash, SET_INSTANCES, ilen) != 0)
		return false;
	inst = slash + ilen;
	if (!instance_ok(inst, strlen(inst)))
		return false;
	snprintf(out->scale_set, sizeof(out->scale_set), "%.*s", (int)setlen, tail);
	snprintf(out->instance_id, sizeof(out->instance_id), "%s", inst);
	snprintf(out->name, sizeof(out->name), "%.*s_%s", (int)setlen, tail, inst);
	snprintf(out->set_scope, sizeof(out->set_scope), "%.*s", (int)(slash - id), id);
	out->kind = MACHINE_UNIFORM;
	return true;
}

/*
 * Split a machine's resource id into its parts:
 * /subscriptions/<guid>/resourceGroups/<rg><provider><name>, the fixed words case-insensitive.
 */
bool vm_info_split(const char *id, bool arc, struct vm_info *out)
{
	const char *provider = arc ? ARC_PROVIDER : VM_PROVIDER;
	size_t len = strlen(id), plen = strlen(provider), uplen = strlen(MACHINE_UNIFORM_PROVIDER), rglen,
	       nlen;
	const char *rg, *end, *name;

	if (len >= sizeof(out->resource_id) || strncasecmp(id, "/subscriptions/", 15) != 0 || len < 15 + 36 ||
	    !rbac_guid_valid(id + 15, 36) || strncasecmp(id + 51, "/resourceGroups/", 16) != 0)
		return false;
	rg = id + 67;
	if ((end = strchr(rg, '/')) == NULL)
		return false;
	rglen = (size_t)(end - rg);
	if (!name_chars(rg, rglen, 90, true))
		return false;
	if (!arc && strncasecmp(end, MACHINE_UNIFORM_PROVIDER, uplen) == 0) {
		if (!split_uniform(id, end + uplen, out))
			return false;
	} else {
		if (strncasecmp(end, provider, plen) != 0)
			return false;
		name = end + plen;
		nlen = strlen(name);
		if (!name_chars(name, nlen, 64, false))
			return false;
		snprintf(out->name, sizeof(out->name), "%s", name);
		out->kind = arc ? MACHINE_ARC : MACHINE_VM;
		out->scale_set[0] = out->instance_id[0] = out->set_scope[0] = '\0';
	}
	snprintf(out->resource_id, sizeof(out->resource_id), "%s", id);
	snprintf(out->subscription_id, sizeof(out->subscription_id), "%.36s", id + 15);
	snprintf(out->resource_group, sizeof(out->resource_group), "%.*s", (int)rglen, rg);
	out->arc = arc;
	return true;
}

bool vm_info_resource_id_valid(const char *resource_id, bool arc)
{
	struct vm_info scratch;

	return resource_id != NULL && vm_info_split(resource_id, arc, &scratch);
}

/* An optional printable string member that must fit `out`; false when present but unfit. */
static bool optional_field(struct json_object *obj, const char *key, char *out, size_t outlen)
{
	struct json_object *v;
	size_t len;

	out[0] = '\0';
	if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	len = (size_t)json_object_get_string_len(v);
	if (len >= outlen || !util_is_printable(json_object_get_string(v), len))
		return false;
	memcpy(out, json_object_get_string(v), len);
	out[len] = '\0';
	return true;
}

static bool same_ci(const char *a, const char *b)
{
	return b[0] == '\0' || strcasecmp(a, b) == 0;
}

static azmi_err parse_instance(const char *body, size_t len, bool arc, struct vm_info *out, char *why,
                               size_t whylen)
{
	struct json_object *obj = json_parse_bounded(body, len), *compute = NULL;
	char id[sizeof(out->resource_id)], sub[64], rg[128], name[128], set[128];
	azmi_err r = AZMI_ERR_PROTOCOL;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, "compute", &compute) || compute == NULL ||
	    !json_object_is_type(compute, json_type_object)) {
		snprintf(why, whylen, "the answer is not a JSON object with a \"compute\" object");
		goto out;
	}
	if (!optional_field(compute, "resourceId", id, sizeof(id)) || id[0] == '\0' ||
	    !vm_info_split(id, arc, out)) {
		snprintf(why, whylen, "compute.resourceId is not the id of %s",
		         arc ? "an Arc-enabled server (.../providers/Microsoft.HybridCompute/machines/<name>)"
		             : "a VM (.../providers/Microsoft.Compute/virtualMachines/<name>) or a scale-set "
		               "instance (.../virtualMachineScaleSets/<set>/virtualMachines/<n>)");
		goto out;
	}
	if (!optional_field(compute, "subscriptionId", sub, sizeof(sub)) ||
	    !optional_field(compute, "resourceGroupName", rg, sizeof(rg)) ||
	    !optional_field(compute, "name", name, sizeof(name)) ||
	    !optional_field(compute, "vmId", out->vm_id, sizeof(out->vm_id)) ||
	    !optional_field(compute, "azEnvironment", out->az_environment, sizeof(out->az_environment)) ||
	    !optional_field(compute, "vmScaleSetName", set, sizeof(set))) {
		snprintf(why, whylen,
		         "a compute field (subscriptionId, resourceGroupName, name, vmId, azEnvironment, "
		         "vmScaleSetName) is not a short printable string");
		goto out;
	}
	/* The kind comes from resourceId; vmScaleSetName only marks a Flexible instance and must agree. */
	if (out->kind == MACHINE_UNIFORM && !same_ci(out->scale_set, set)) {
		snprintf(why, whylen, "compute.vmScaleSetName disagrees with resourceId's scale set");
		goto out;
	}
	if (set[0] != '\0' && !name_chars(set, strlen(set), 64, false)) {
		snprintf(why, whylen, "compute.vmScaleSetName is not a scale set's name");
		goto out;
	}
	if (out->kind == MACHINE_VM && set[0] != '\0') {
		out->kind = MACHINE_FLEXIBLE;
		snprintf(out->scale_set, sizeof(out->scale_set), "%s", set);
	}
	if (!same_ci(out->subscription_id, sub) || !same_ci(out->resource_group, rg) ||
	    !same_ci(out->name, name)) {
		snprintf(why, whylen,
		         "compute.subscriptionId, resourceGroupName or name disagrees with resourceId");
		goto out;
	}
	out->arc = arc;
	r = AZMI_OK;
out:
	json_object_put(obj);
	return r;
}

/* Which instance metadata service is asked, for the hint of a failure. */
struct vm_where {
	bool arc;
	const char *base;
};

static void transport_hint(void *arg, bool answered, azmi_err rc, const struct http_response *resp,
                           struct azmi_error *err)
{
	const struct vm_where *w = arg;

	(void)resp;
	if (answered)
		return;
	if (rc == AZMI_ERR_UNAVAILABLE && w->arc)
		err_append(err,
		           "hint: the Arc agent's metadata service does not answer at %s: is himds running "
		           "(azcmagent show)?",
		           w->base);
	else if (rc == AZMI_ERR_UNAVAILABLE)
		err_append(err,
		           "hint: nothing answers at %s: this is not an Azure VM, or a firewall blocks IMDS",
		           w->base);
	else if (rc == AZMI_ERR_TIMEOUT)
		err_append(err, "hint: no answer within the time allowed (timeout in azmi.conf)");
}

/* One exchange, then retries as IMDS asks, within the deadline; on success resp holds a 200. */
static azmi_err ask(struct azmi_ctx *ctx, const char *name, const char *base, bool arc, const char *url,
                    int64_t deadline, struct http_response *resp, struct azmi_error *err)
{
	struct http_request hr = {.method = "GET", .url = url, .no_proxy = true};
	struct vm_where where = {arc, base};
	struct exchange x = {
	    .kind = EP_INSTANCE_METADATA,
	    .name = name,
	    .req = &hr,
	    .body_cap = INSTANCE_MAX_BODY,
	    .deadline_ms = deadline,
	    .log = &ctx->log,
	    .hint = transport_hint,
	    .arg = &where,
	};

	hr.headers[0] = "Metadata: true";
	return exchange_perform(&x, resp, err);
}

/*
 * himds did not answer (transport, timeout, 5xx): the agent's configuration
 * file names the machine instead.  True with `info` filled; false leaves the
 * error as it was, with the file's problem appended.
 */
static bool arc_offline(struct azmi_ctx *ctx, azmi_err rc, struct vm_info *info, struct azmi_error *err)
{
	const char *path = config_get(ctx_config(ctx), ARC_AGENT_CONFIG_KEY);
	char why[400];

	if (rc != AZMI_ERR_UNAVAILABLE && rc != AZMI_ERR_TIMEOUT && rc != AZMI_ERR_ENDPOINT)
		return false;
	if (path == NULL)
		path = ARC_AGENT_CONFIG_DEFAULT;
	if (arc_meta_read(path, info, why, sizeof(why)) != AZMI_OK) {
		err_append(err, "the agent's configuration file did not help either: %s", why);
		return false;
	}
	log_line(&ctx->log, AZMI_LOG_INFO,
	         "arc: the agent's metadata service did not answer; the machine's scope from %s", path);
	err_clear(err);
	return true;
}

/* The private directory of the token cache, where the scope is kept between logins; -1 when off. */
static int cache_dir(struct azmi_ctx *ctx)
{
	struct file_cache *fc = ctx_files(ctx);

	return file_cache_enabled(fc) ? fc->dirfd : -1;
}

azmi_err vm_info_get(struct azmi_ctx *ctx, struct vm_info *out, struct azmi_error *err)
{
	struct http_response resp;
	struct vm_info info;
	bool arc;
	const char *base, *name;
	char *url = NULL, why[256];
	azmi_err rc;

	err_clear(err);
	if (ctx == NULL || out == NULL)
		return err_set(err, AZMI_ERR_USAGE, "", 0,
		               "vm_info_get: no context or no place for the answer");
	memset(&info, 0, sizeof(info));
	arc = ctx->mi_source == &source_arc;
	base = arc ? (ctx->settings.arc_imds_endpoint ? ctx->settings.arc_imds_endpoint : ARC_DEFAULT_BASE)
	           : ctx->settings.imds_endpoint;
	name = arc ? "arc" : "imds";
	if (asprintf(&url, "%s%s", base, arc ? ARC_INSTANCE_QUERY : IMDS_INSTANCE_QUERY) < 0)
		return err_set(err, AZMI_ERR_NOMEM, name, 0, "out of memory");
	if (ctx->settings.cache_enabled && vm_cache_load(cache_dir(ctx), base, arc, util_now(), out)) {
		log_line(&ctx->log, AZMI_LOG_DEBUG, "%s: the machine's scope from the cache (%d s at most)",
		         name, VM_CACHE_TTL);
		free(url);
		return AZMI_OK;
	}
	rc = ask(ctx, name, base, arc, url, ctx_deadline(ctx), &resp, err);
	if (rc != AZMI_OK && arc && arc_offline(ctx, rc, &info, err)) {
		rc = AZMI_OK;
	} else if (rc == AZMI_OK) {
		rc = parse_instance(resp.body.data ? resp.body.data : "", resp.body.len, arc, &info, why,
		                    sizeof(why));
		if (rc != AZMI_OK)
			err_set(err, rc, name, 200, "%s: GET %s: HTTP 200 but %s", name, url, why);
		else if (ctx->settings.cache_enabled)
			vm_cache_store(cache_dir(ctx), &info, base, util_now());
	}
	http_response_free(&resp);
	free(url);
	if (rc == AZMI_OK)
		*out = info;
	return rc;
}

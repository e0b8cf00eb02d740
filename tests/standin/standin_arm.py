"""The stand-in's Azure Resource Manager (authorization) and Microsoft Graph.

Served on any listener of role "main" (tests use the https "entra" listener,
whose certificate comes from the test CA).  Every answer carries
x-ms-correlation-request-id and x-ms-request-id (ARM) or request-id (Graph).
Bearer tokens are checked: an RS256 JWT this stand-in signed, not expired,
with the service's audience.

ARM paths ({scope} is "", /subscriptions/S[/resourceGroups/RG[/providers/...]]
or /providers/Microsoft.Management/managementGroups/M):
  GET {scope}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01[&$filter=F]
        F: atScope() | atScope() and assignedTo('{oid}') | assignedTo('{oid}') | principalId eq '{oid}'
        atScope(): assignments at the scope or above it (its resource group, subscription, the
        subscription's management groups, the root "/"); assignedTo(): the principal's own and
        those of every group it is in, transitively.  Paged by page_size, nextLink with $skipToken.
  GET {scope}/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01[&$filter=F]
        F: atScope() | atScope() and assignedTo('{oid}') | principalId eq '{oid}'; paged likewise
  GET {scope}/providers/Microsoft.Authorization/roleDefinitions[/{guid}]?api-version=2022-04-01
Graph paths (app permissions of the caller from graph.permissions):
  GET  /v1.0/users/{upn-or-id}[?$select=...]           User.Read.All (or Directory.Read.All)
  POST /v1.0/{users|directoryObjects|servicePrincipals}/{id}/checkMemberGroups {"groupIds": [...]}
                                                       GroupMember.Read.All (or Group/Directory.Read.All)

Configuration (POST /_standin/config; each key merged over DEFAULTS below):
  "arm": {
    "audiences": accepted token audiences,
    "readers": null (any valid token may read) or [object ids allowed to read authorization data],
    "page_size": items per page,
    "next_link_base": null (the request's own https://host) or a base URL for nextLink,
    "management_groups": the subscription's management groups, nearest first,
    "role_definitions": custom roles, each {"id": GUID, "roleName", "permissions": [{"actions",
        "notActions", "dataActions", "notDataActions"}], "type"?}; the built-ins (BUILTIN_ROLES:
        Owner, Contributor, Reader, the two login roles) are always there,
    "role_assignments": [{"principal_id", "role": GUID or roleName, "scope": "vm" | "machine" |
        "rg" | "subscription" | "mg:NAME" | "root" | a full scope, "condition"?, "principal_type"?,
        "id"?}],
    "deny_assignments": [{"name", "scope" (as above), "permissions": [...], "principals":
        [{"id", "type"}], "exclude_principals": [...], "do_not_apply_to_child_scopes": false}]
  },
  "graph": {"audiences": [...], "permissions": ["User.Read.All", "GroupMember.Read.All"]},
  "directory": {"users": [{"id", "upn", "display_name"?}], "groups": [{"id", "name", "members":
        [object ids of users, service principals or groups]}], "service_principals": [{"id", "name"}]}
Scope "vm" is the configured VM's resource id, "machine" the same name as an Arc
(HybridCompute) machine.  Faults come from /_standin/script on these paths as on any other.
"""

import copy
import json
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

AUTHZ = "/providers/microsoft.authorization/"
MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"
ARM_API_VERSIONS = ("2022-04-01", "2020-04-01-preview", "2018-07-01")
EVERYONE = "00000000-0000-0000-0000-000000000000"

BUILTIN_ROLES = [
    {"id": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "roleName": "Owner", "type": "BuiltInRole",
     "permissions": [{"actions": ["*"], "notActions": [], "dataActions": [], "notDataActions": []}]},
    {"id": "b24988ac-6180-42a0-ab88-20f7382dd24c", "roleName": "Contributor", "type": "BuiltInRole",
     "permissions": [{"actions": ["*"],
                      "notActions": ["Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
                                     "Microsoft.Authorization/elevateAccess/Action",
                                     "Microsoft.Blueprint/blueprintAssignments/write",
                                     "Microsoft.Blueprint/blueprintAssignments/delete",
                                     "Microsoft.Compute/galleries/share/action"],
                      "dataActions": [], "notDataActions": []}]},
    {"id": "acdd72a7-3385-48ef-bd42-f606fba81ae7", "roleName": "Reader", "type": "BuiltInRole",
     "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]},
    {"id": "fb879df8-f326-4884-b1cf-06f3ad86be52", "roleName": "Virtual Machine User Login",
     "type": "BuiltInRole",
     "permissions": [{"actions": ["Microsoft.Network/publicIPAddresses/read",
                                  "Microsoft.Network/virtualNetworks/read",
                                  "Microsoft.Network/loadBalancers/read",
                                  "Microsoft.Network/networkInterfaces/read",
                                  "Microsoft.Compute/virtualMachines/*/read",
                                  "Microsoft.HybridCompute/machines/*/read",
                                  "Microsoft.HybridConnectivity/endpoints/listCredentials/action"],
                      "notActions": [],
                      "dataActions": ["Microsoft.Compute/virtualMachines/login/action",
                                      "Microsoft.HybridCompute/machines/login/action"],
                      "notDataActions": []}]},
    {"id": "1c0163c0-47e6-4577-8991-ea5c82e286e4", "roleName": "Virtual Machine Administrator Login",
     "type": "BuiltInRole",
     "permissions": [{"actions": ["Microsoft.Network/publicIPAddresses/read",
                                  "Microsoft.Network/virtualNetworks/read",
                                  "Microsoft.Network/loadBalancers/read",
                                  "Microsoft.Network/networkInterfaces/read",
                                  "Microsoft.Compute/virtualMachines/*/read",
                                  "Microsoft.HybridCompute/machines/*/read",
                                  "Microsoft.HybridConnectivity/endpoints/listCredentials/action"],
                      "notActions": [],
                      "dataActions": ["Microsoft.Compute/virtualMachines/login/action",
                                      "Microsoft.Compute/virtualMachines/loginAsAdmin/action",
                                      "Microsoft.HybridCompute/machines/login/action",
                                      "Microsoft.HybridCompute/machines/loginAsAdmin/action"],
                      "notDataActions": []}]},
]

DEFAULTS = {
    "arm": {
        "audiences": ["https://management.azure.com", "https://management.core.windows.net"],
        "readers": None,
        "page_size": 100,
        "next_link_base": None,
        "management_groups": ["mg-azmi", "mg-tenant-root"],
        "role_definitions": [],
        "role_assignments": [],
        "deny_assignments": [],
        # [{"scope": "vm" (as role assignment scopes), "status": 404 | 400}]: list requests at
        # exactly that scope are refused (as ARM may refuse a Uniform scale-set instance's scope).
        "refuse_scopes": [],
        # null, or {"burst": 250, "refill_per_s": 25}: ARM's read token bucket, one per caller
        # (the token's oid); an empty bucket answers 429 with Retry-After (whole seconds until
        # one token is back) and every answer carries x-ms-ratelimit-remaining-subscription-reads.
        "throttle": None,
    },
    "graph": {
        "audiences": ["https://graph.microsoft.com"],
        "permissions": ["User.Read.All", "GroupMember.Read.All"],
    },
    "directory": {"users": [], "groups": [], "service_principals": []},
}


def settings(c, key):
    out = copy.deepcopy(DEFAULTS[key])
    out.update(c.get(key) or {})
    return out


def is_arm_path(path):
    low = path.lower()
    return AUTHZ in low and (low.startswith("/subscriptions/") or low.startswith("/providers/"))


def is_graph_path(path):
    return path.startswith("/v1.0/")


# --- scopes ----------------------------------------------------------------------------------

def subscription_scope(c):
    return "/subscriptions/%s" % c["subscription_id"]


def rg_scope(c):
    return "%s/resourceGroups/%s" % (subscription_scope(c), c["resource_group"])


def vm_scope(c):
    """The machine's own scope: a VM, or a Uniform scale-set instance (config scale_set)."""
    ss = c.get("scale_set") or {}
    if ss.get("mode") == "uniform":
        return "%s/virtualMachines/%s" % (scale_set_scope(c), ss.get("instance_id", "0"))
    return "%s/providers/Microsoft.Compute/virtualMachines/%s" % (rg_scope(c), c["vm_name"])


def scale_set_scope(c):
    ss = c.get("scale_set") or {}
    return "%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s" % (rg_scope(c), ss.get("name", "vmss"))


def machine_scope(c):
    return "%s/providers/Microsoft.HybridCompute/machines/%s" % (rg_scope(c), c["vm_name"])


def expand_scope(c, s):
    if s == "vm":
        return vm_scope(c)
    if s == "machine":
        return machine_scope(c)
    if s == "scale_set":
        return scale_set_scope(c)
    if s == "rg":
        return rg_scope(c)
    if s == "subscription":
        return subscription_scope(c)
    if s == "root":
        return "/"
    if s.startswith("mg:"):
        return MG_PREFIX + s[3:]
    return s


def norm(scope):
    s = scope.rstrip("/").lower()
    return s or "/"


def is_mg(scope):
    return norm(scope).startswith(MG_PREFIX.lower())


def covers(c, above, scope):
    """True when `above` is `scope` itself or one of its ancestors."""
    a, s = norm(above), norm(scope)
    if a == "/" or a == s:
        return True
    if is_mg(a):
        mgs = [MG_PREFIX.lower() + m.lower() for m in settings(c, "arm")["management_groups"]]
        if a not in mgs:
            return False
        if is_mg(s):  # an MG covers the MGs below it in the chain
            return s in mgs and mgs.index(s) < mgs.index(a)
        return s.startswith(norm(subscription_scope(c)))
    return s.startswith(a + "/")


# --- the directory ---------------------------------------------------------------------------

def groups_of(c, oid):
    """Every group `oid` is in, transitively (cycles are harmless)."""
    d = settings(c, "directory")
    found, todo = set(), [oid.lower()]
    while todo:
        member = todo.pop()
        for g in d["groups"]:
            gid = g["id"].lower()
            if gid not in found and member in [m.lower() for m in g.get("members") or []]:
                found.add(gid)
                todo.append(gid)
    return found


def principal_type(c, pid):
    d = settings(c, "directory")
    pid = pid.lower()
    if any(u["id"].lower() == pid for u in d["users"]):
        return "User"
    if any(g["id"].lower() == pid for g in d["groups"]):
        return "Group"
    if any(s["id"].lower() == pid for s in d["service_principals"]):
        return "ServicePrincipal"
    if pid == EVERYONE:
        return "SystemDefined"
    return "User"


def directory_object(c, key):
    d = settings(c, "directory")
    k = key.lower()
    for kind, items in (("user", d["users"]), ("group", d["groups"]), ("sp", d["service_principals"])):
        for o in items:
            if o["id"].lower() == k or (kind == "user" and (o.get("upn") or "").lower() == k):
                return kind, o
    return None, None


# --- tokens ----------------------------------------------------------------------------------

def _b64d(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def check_bearer(st, handler, audiences):
    """(claims, None) for a good token, else (None, why)."""
    auth = handler.headers.get("Authorization") or ""
    if not auth.startswith("Bearer "):
        return None, "the request has no bearer token"
    tok = auth[len("Bearer "):].strip()
    try:
        h, p, s = tok.split(".")
        header, claims = json.loads(_b64d(h)), json.loads(_b64d(p))
        st.signer.key.public_key().verify(_b64d(s), (h + "." + p).encode("ascii"), padding.PKCS1v15(),
                                          hashes.SHA256())
    except Exception:  # noqa: BLE001 - any flaw is the same refusal
        return None, "the token is malformed or its signature is invalid"
    if header.get("alg") != "RS256":
        return None, "the token's algorithm is not RS256"
    now = time.time()
    if not isinstance(claims.get("exp"), int) or claims["exp"] < now:
        return None, "the token has expired"
    if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + 300:
        return None, "the token is not valid yet"
    aud = str(claims.get("aud", "")).rstrip("/")
    if aud not in [a.rstrip("/") for a in audiences]:
        return None, "the token's audience '%s' is not accepted here" % aud
    return claims, None


# --- ARM ----------------------------------------------------------------------------------------

def arm_error(status, code, message):
    return status, {"error": {"code": code, "message": message}}, {}


def split_arm_path(path):
    """(scope, rest) where rest is roleAssignments, roleDefinitions[/guid], denyAssignments."""
    low = path.lower()
    at = low.rfind(AUTHZ)
    return path[:at] or "/", path[at + len(AUTHZ):]


def parse_filter(f):
    """('at'|'principal'|'all', oid or None, assigned_to: bool); None when unsupported."""
    if f is None or f.strip() == "":
        return ("all", None, False)
    f = " ".join(f.split())
    if f == "atScope()":
        return ("at", None, False)
    for prefix, mode in (("atScope() and assignedTo('", "at"), ("assignedTo('", "all")):
        if f.startswith(prefix) and f.endswith("')"):
            return (mode, f[len(prefix):-2].lower(), True)
    if f.startswith("principalId eq '") and f.endswith("'"):
        return ("all", f[len("principalId eq '"):-1].lower(), False)
    return None


def rd_id(c, scope, guid):
    if norm(scope).startswith("/subscriptions/"):
        return "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (subscription_scope(c), guid)
    return "/providers/Microsoft.Authorization/roleDefinitions/%s" % guid


def all_roles(c):
    return BUILTIN_ROLES + list(settings(c, "arm")["role_definitions"])


def find_role(c, key):
    k = str(key).lower()
    for r in all_roles(c):
        if r["id"].lower() == k or r["roleName"].lower() == k:
            return r
    return None


def render_role(role, scope):
    prefix = "" if norm(scope) == "/" else scope.rstrip("/")
    return {
        "id": "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (prefix, role["id"]),
        "name": role["id"],
        "type": "Microsoft.Authorization/roleDefinitions",
        "properties": {
            "roleName": role["roleName"],
            "type": role.get("type", "CustomRole"),
            "description": role.get("description", role["roleName"]),
            "assignableScopes": role.get("assignableScopes", ["/"]),
            "permissions": role["permissions"],
            "createdOn": "2021-01-01T00:00:00.0000000Z",
            "updatedOn": "2021-01-01T00:00:00.0000000Z",
        },
    }


def render_assignment(c, a, index):
    scope = expand_scope(c, a["scope"])
    role = find_role(c, a["role"])
    guid = role["id"] if role else str(a["role"])
    aid = a.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, "ra/%d/%s/%s" % (index, a["principal_id"], scope)))
    prefix = "" if norm(scope) == "/" else scope
    props = {
        "roleDefinitionId": rd_id(c, scope, guid),
        "principalId": a["principal_id"],
        "principalType": a.get("principal_type") or principal_type(c, a["principal_id"]),
        "scope": scope,
        "condition": a.get("condition"),
        "conditionVersion": "2.0" if a.get("condition") else None,
        "createdOn": "2024-01-01T00:00:00.0000000Z",
        "updatedOn": "2024-01-01T00:00:00.0000000Z",
        "createdBy": None,
        "updatedBy": None,
        "delegatedManagedIdentityResourceId": None,
        "description": None,
    }
    return {"id": "%s/providers/Microsoft.Authorization/roleAssignments/%s" % (prefix, aid),
            "type": "Microsoft.Authorization/roleAssignments", "name": aid, "properties": props}


def render_deny(c, d, index):
    scope = expand_scope(c, d["scope"])
    did = d.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, "da/%d/%s" % (index, scope)))
    prefix = "" if norm(scope) == "/" else scope
    return {
        "id": "%s/providers/Microsoft.Authorization/denyAssignments/%s" % (prefix, did),
        "type": "Microsoft.Authorization/denyAssignments",
        "name": did,
        "properties": {
            "denyAssignmentName": d.get("name", "deny assignment %d" % index),
            "description": d.get("description", ""),
            "permissions": d.get("permissions", []),
            "scope": scope,
            "doNotApplyToChildScopes": bool(d.get("do_not_apply_to_child_scopes", False)),
            "principals": d.get("principals", []),
            "excludePrincipals": d.get("exclude_principals", []),
            "isSystemProtected": True,
        },
    }


def below(c, scope, other):
    """`other` is at or below `scope`."""
    return covers(c, scope, other)


def select(c, items, req_scope, mode, oid, assigned_to, principals_of):
    ids = None
    if oid is not None:
        ids = {oid} | (groups_of(c, oid) if assigned_to else set())
    out = []
    for item, scope in items:
        if mode == "at" and not covers(c, scope, req_scope):
            continue
        if mode == "all" and not (covers(c, scope, req_scope) or below(c, req_scope, scope)):
            continue
        if ids is not None and not (principals_of(item) & (ids | ({EVERYONE} if assigned_to else set()))):
            continue
        out.append(item)
    return out


def page(handler, c, path, query, items):
    size = max(1, int(settings(c, "arm")["page_size"]))
    skip = query.get("$skipToken", ["0"])[0]
    try:
        start = int(skip)
    except ValueError:
        return arm_error(400, "InvalidSkipToken", "The skip token '%s' is not valid" % skip)
    body = {"value": items[start:start + size]}
    if start + size < len(items):
        base = settings(c, "arm")["next_link_base"] or "https://%s" % (handler.headers.get("Host") or "localhost")
        q = "api-version=%s" % query["api-version"][0]
        if "$filter" in query:
            q += "&$filter=" + urllib.parse.quote(query["$filter"][0], safe="()'")
        body["nextLink"] = "%s%s?%s&$skipToken=%d" % (base.rstrip("/"), path, q, start + size)
    return 200, body, {}


_buckets = {}


def take_token(st, arm, who):
    """None when the caller's bucket had a token (taken), else the 429 answer."""
    t = arm.get("throttle")
    if not t:
        return None
    burst, rate = float(t.get("burst", 250)), float(t.get("refill_per_s", 25))
    now = time.monotonic()
    with st.lock:
        tokens, last = _buckets.get(who, (burst, now))
        tokens = min(burst, tokens + (now - last) * rate)
        if tokens >= 1:
            _buckets[who] = (tokens - 1, now)
            st.arm_remaining = int(tokens - 1)
            return None
        _buckets[who] = (tokens, now)
    wait = max(1, int((1 - tokens) / rate + 0.999))
    status, body, headers = arm_error(429, "TooManyRequests",
                                      "Number of 'read' requests for subscription actor '%s' exceeded. "
                                      "Please try again after '%d' seconds after the additional tokens are "
                                      "available." % (who, wait))
    headers["Retry-After"] = str(wait)
    headers["x-ms-ratelimit-remaining-subscription-reads"] = "0"
    return status, body, headers


def reset_buckets():
    _buckets.clear()


def arm_route(handler, st, c, method, path, query):
    arm = settings(c, "arm")
    scope, rest = split_arm_path(path)
    claims, why = check_bearer(st, handler, arm["audiences"])
    if claims is None:
        status, body, headers = arm_error(401, "InvalidAuthenticationToken", "The access token is invalid: " + why)
        headers["WWW-Authenticate"] = ('Bearer authorization_uri="https://login.microsoftonline.com/%s", '
                                       'error="invalid_token", error_description="%s"' % (c["tenant_id"], why))
        return status, body, headers
    api = query.get("api-version", [None])[0]
    if api is None:
        return arm_error(400, "MissingApiVersionParameter",
                         "The api-version query parameter (?api-version=) is required for all requests.")
    if api not in ARM_API_VERSIONS:
        return arm_error(400, "InvalidApiVersionParameter",
                         "The api-version '%s' is invalid. The supported versions are '%s'."
                         % (api, ",".join(ARM_API_VERSIONS)))
    if method != "GET":
        return arm_error(405, "MethodNotAllowed", "The stand-in only reads authorization data")
    kind = rest.split("/")[0].lower()
    readers = arm["readers"]
    if readers is not None and str(claims.get("oid", "")).lower() not in [r.lower() for r in readers]:
        return arm_error(403, "AuthorizationFailed",
                         "The client '%s' with object id '%s' does not have authorization to perform action "
                         "'Microsoft.Authorization/%s/read' over scope '%s' or the scope is invalid. If access "
                         "was recently granted, please refresh your credentials."
                         % (claims.get("oid"), claims.get("oid"), kind, scope))
    throttled = take_token(st, arm, str(claims.get("oid", "")).lower())
    if throttled is not None:
        return throttled
    flt = query.get("$filter", [None])[0]
    for r in arm.get("refuse_scopes") or []:
        if kind in ("roleassignments", "denyassignments") and norm(expand_scope(c, r["scope"])) == norm(scope):
            status = int(r.get("status", 404))
            return arm_error(status, "InvalidResourceType" if status == 400 else "ResourceNotFound",
                             "The scope '%s' cannot be used to list %s." % (scope, kind))
    if kind == "roledefinitions":
        parts = rest.split("/")
        if len(parts) == 2 and parts[1]:
            role = find_role(c, parts[1]) if len(parts[1]) == 36 else None
            if role is None:
                return arm_error(404, "RoleDefinitionDoesNotExist", "The specified role definition with ID "
                                 "'%s' does not exist." % parts[1])
            return 200, render_role(role, scope), {}
        return 200, {"value": [render_role(r, scope) for r in all_roles(c)]}, {}
    if kind not in ("roleassignments", "denyassignments") or "/" in rest.strip("/"):
        return arm_error(404, "NotFound", "No such path: %s" % path)
    parsed = parse_filter(flt)
    if parsed is None:
        return arm_error(400, "UnsupportedQuery", "The filter '%s' is not supported." % flt)
    mode, oid, assigned_to = parsed
    if kind == "roleassignments":
        items = [(render_assignment(c, a, i), expand_scope(c, a["scope"]))
                 for i, a in enumerate(arm["role_assignments"])]
        chosen = select(c, items, scope, mode, oid, assigned_to,
                        lambda it: {it["properties"]["principalId"].lower()})
    else:
        items = [(render_deny(c, d, i), expand_scope(c, d["scope"])) for i, d in enumerate(arm["deny_assignments"])]
        chosen = select(c, items, scope, mode, oid, assigned_to,
                        lambda it: {p["id"].lower() for p in it["properties"]["principals"]})
    return page(handler, c, path, query, chosen)


def arm_headers(headers, remaining=None):
    headers.setdefault("x-ms-correlation-request-id", str(uuid.uuid4()))
    headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    headers.setdefault("x-ms-ratelimit-remaining-tenant-reads", "11999")
    if remaining is not None:
        headers.setdefault("x-ms-ratelimit-remaining-subscription-reads", str(remaining))
    return headers


# --- Graph ------------------------------------------------------------------------------------

def graph_error(status, code, message):
    return status, {"error": {"code": code, "message": message,
                              "innerError": {"date": time.strftime("%Y-%m-%dT%H:%M:%S"),
                                             "request-id": str(uuid.uuid4())}}}, {}


def graph_headers(handler, headers):
    headers.setdefault("request-id", str(uuid.uuid4()))
    cid = handler.headers.get("client-request-id")
    if cid:
        headers.setdefault("client-request-id", cid)
    return headers


def has_permission(g, wanted):
    return any(p in (g.get("permissions") or []) for p in wanted)


def graph_route(handler, st, c, method, path, query, entry):
    g = settings(c, "graph")
    claims, why = check_bearer(st, handler, g["audiences"])
    if claims is None:
        return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure: " + why)
    parts = [urllib.parse.unquote(p) for p in path.split("/")[2:]]
    if method == "GET" and len(parts) == 2 and parts[0] == "users":
        if not has_permission(g, ("User.Read.All", "Directory.Read.All", "User.ReadWrite.All")):
            return graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        kind, obj = directory_object(c, parts[1])
        if kind != "user":
            return graph_error(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                               "reference-property objects are not present." % parts[1])
        full = {"businessPhones": [], "displayName": obj.get("display_name", obj["upn"].split("@")[0]),
                "givenName": None, "jobTitle": None, "mail": obj.get("mail"), "mobilePhone": None,
                "officeLocation": None, "preferredLanguage": None, "surname": None,
                "userPrincipalName": obj["upn"], "id": obj["id"]}
        sel = query.get("$select", [None])[0]
        if sel:
            fields = [f.strip() for f in sel.split(",") if f.strip()]
            body = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users(%s)/$entity" % sel}
            body.update({f: full.get(f) for f in fields})
        else:
            body = dict({"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity"}, **full)
        return 200, body, {}
    if method == "POST" and len(parts) == 3 and parts[2] == "checkMemberGroups" and \
            parts[0] in ("users", "directoryObjects", "servicePrincipals", "groups"):
        if not has_permission(g, ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All")):
            return graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        kind, obj = directory_object(c, parts[1])
        expect = {"users": "user", "servicePrincipals": "sp", "groups": "group"}.get(parts[0])
        if kind is None or (expect and kind != expect):
            return graph_error(404, "Request_ResourceNotFound", "Resource '%s' does not exist or one of its queried "
                               "reference-property objects are not present." % parts[1])
        try:
            doc = json.loads(entry["body"] or "null")
            ids = doc["groupIds"]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise ValueError()
        except (ValueError, KeyError, TypeError):
            return graph_error(400, "Request_BadRequest", "Invalid request body: expected {\"groupIds\": [...]}")
        if len(ids) > 20:
            return graph_error(400, "Request_BadRequest", "The number of group ids cannot exceed 20.")
        mine = groups_of(c, obj["id"])
        return 200, {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)",
                     "value": [i for i in ids if i.lower() in mine]}, {}
    return graph_error(404, "Request_UnsupportedQuery", "Unsupported request: %s %s" % (method, path))


def route(handler, st, c, method, path, query, entry):
    """(status, body, headers) for an ARM or Graph path, else None."""
    if is_arm_path(path):
        st.arm_remaining = None
        status, body, headers = arm_route(handler, st, c, method, path, query)
        return status, body, arm_headers(headers, getattr(st, "arm_remaining", None))
    if is_graph_path(path):
        status, body, headers = graph_route(handler, st, c, method, path, query, entry)
        return status, body, graph_headers(handler, headers)
    return None


def decorate(handler, path, headers):
    """The headers every ARM or Graph answer carries, scripted ones too."""
    if is_arm_path(path):
        arm_headers(headers)
    elif is_graph_path(path):
        graph_headers(handler, headers)


# --- Arc's metadata service (listener role "arc") ------------------------------------------------

def arc_instance(c, vm_id):
    return {
        "compute": {
            "azEnvironment": c["az_environment"],
            "isHostCompatibilityLayerVm": "",
            "location": c["location"],
            "name": c["vm_name"],
            "offer": "",
            "osType": "linux",
            "placementGroupId": "",
            "plan": {"name": "", "product": "", "publisher": ""},
            "platformFaultDomain": "",
            "platformUpdateDomain": "",
            "provider": "Microsoft.HybridCompute",
            "publicKeys": [],
            "publisher": "",
            "resourceGroupName": c["resource_group"],
            "resourceId": machine_scope(c),
            "sku": "",
            "subscriptionId": c["subscription_id"],
            "tags": "",
            "tagsList": [],
            "version": "",
            "vmId": vm_id,
            "vmScaleSetName": "",
            "vmSize": "",
            "zone": "",
        },
        "network": {"interface": []},
    }

"""The stand-in's Azure Container Registry (listener role "acr").

One https listener serves every registry; the Host header says which one
(tests map <name>.azurecr.io to 127.0.0.1 in a private /etc/hosts and serve
a certificate of the test CA for those names).  Paths:

  GET  /v2/                        401 challenge without a valid token, else {}
  GET  /v2/_catalog                needs registry:catalog:*
  GET  /v2/<repo>/tags/list        needs repository:<repo>:pull
  GET  /v2/<repo>/manifests/<tag>  needs repository:<repo>:pull; a small image manifest
  GET  /v2/<repo>/blobs/<digest>   needs repository:<repo>:pull; 307 to the registry's blob_redirect URL + digest
  POST /oauth2/exchange            grant_type=access_token, service, tenant, access_token (an Entra token
                                   this stand-in signed, audience ARM or containerregistry) -> refresh_token
  POST /oauth2/token               grant_type=refresh_token, service, scope (repeatable), refresh_token
                                   -> access_token with the granted access
  GET  /oauth2/token?service=&scope=   the same with HTTP Basic auth (user 0000..., password the refresh token),
                                   as Docker asks

Behaviour per registry comes from the stand-in config, key "acr" (see DEFAULTS;
POST /_standin/config {"acr": {"registries": {"myregistry.azurecr.io": {"arm_audience": false}}}}):
  arm_audience  accept ARM-audience Entra tokens at the exchange (false: only containerregistry)
  deny          refuse every exchange (the identity lacks a role on the registry)
  pull          object ids allowed to pull, or ["*"]
  realm         the realm named in challenges (null: this registry's own /oauth2/token)
  blob_redirect where blob downloads are redirected (as ACR sends them to Storage); null: 404
  repositories  {name: [tags]}
Registry tokens are RS256 JWTs signed with the stand-in's key; requests are
recorded like any other (GET /_standin/requests?listener=acr&path=/oauth2/exchange).
"""

import base64
import copy
import hashlib
import json
import time
import urllib.parse
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

ACR_USERNAME = "00000000-0000-0000-0000-000000000000"
REGISTRY_AUDIENCE = "https://containerregistry.azure.net"
ARM_AUDIENCES = ("https://management.azure.com", "https://management.usgovcloudapi.net",
                 "https://management.chinacloudapi.cn", "https://management.core.windows.net")
REFRESH_ISSUER = "Azure Container Registry"

DEFAULTS = {
    "refresh_lifetime": 10800,  # ACR refresh tokens live about three hours
    "access_lifetime": 4500,
    "registries": {
        "myregistry.azurecr.io": {
            "arm_audience": True, "deny": False, "pull": ["*"], "realm": None,
            "repositories": {"app": ["v1", "v2", "latest"], "tools/base": ["1.0"]},
            "blob_redirect": "https://attacker.azurecr.io/blobdata",
        },
        "noarm.azurecr.io": {
            "arm_audience": False, "deny": False, "pull": ["*"], "realm": None,
            "repositories": {"app": ["v1"]},
        },
        "denied.azurecr.io": {
            "arm_audience": True, "deny": True, "pull": ["*"], "realm": None,
            "repositories": {"app": ["v1"]},
        },
        "evilrealm.azurecr.io": {
            "arm_audience": True, "deny": False, "pull": ["*"],
            "realm": "https://attacker.azurecr.io/oauth2/token",
            "repositories": {"app": ["v1"]},
        },
        "govreg.azurecr.us": {
            "arm_audience": True, "deny": False, "pull": ["*"], "realm": None,
            "repositories": {"app": ["v1"]},
        },
    },
}


def settings(c):
    """The registry config: DEFAULTS with the stand-in config's "acr" merged in."""
    out = copy.deepcopy(DEFAULTS)
    mine = c.get("acr") or {}
    for k, v in mine.items():
        if k == "registries" and isinstance(v, dict):
            for name, reg in v.items():
                merged = out["registries"].get(name, {}) if reg is not None else None
                if merged is None:
                    out["registries"].pop(name, None)
                    continue
                merged.update(reg)
                out["registries"][name] = merged
        else:
            out[k] = v
    return out


def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify_jwt(signer, token):
    """The claims of an RS256 JWT signed with the stand-in's key, or None."""
    try:
        h, p, s = token.split(".")
        header = json.loads(_b64url_decode(h))
        if header.get("alg") != "RS256":
            return None
        signer.key.public_key().verify(_b64url_decode(s), (h + "." + p).encode("ascii"), padding.PKCS1v15(),
                                       hashes.SHA256())
        claims = json.loads(_b64url_decode(p))
    except Exception:  # noqa: BLE001 - anything wrong is simply "not valid"
        return None
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time():
        return None
    return claims


def acr_error(status, code, message, headers=None):
    return status, {"errors": [{"code": code, "message": message, "detail": None}]}, headers or {}


def oauth_error(status, message):
    return status, {"errors": [{"code": "UNAUTHORIZED", "message": message}]}, {}


def form_of(entry, method, query):
    if method == "POST":
        return urllib.parse.parse_qs(entry.get("body") or "", keep_blank_values=True)
    return query


def one(form, name):
    v = form.get(name) or []
    return v[0] if len(v) == 1 else None


def challenge(host, reg, scope):
    realm = reg.get("realm") or "https://%s/oauth2/token" % host
    value = 'Bearer realm="%s",service="%s"' % (realm, host)
    if scope:
        value += ',scope="%s"' % scope
    return acr_error(401, "UNAUTHORIZED", "authentication required, visit https://aka.ms/acr/authorization for more "
                     "information.", {"WWW-Authenticate": value, "Docker-Distribution-API-Version": "registry/2.0"})


def token_grants(claims, host, typ, name, action):
    """True when a registry access token (claims) grants action on typ:name."""
    if claims.get("aud") != host or claims.get("grant_type") != "access_token":
        return False
    for a in claims.get("access") or []:
        if a.get("type") == typ and a.get("name") == name and (action in (a.get("actions") or [])
                                                                 or "*" in (a.get("actions") or [])):
            return True
    return False


def bearer_claims(handler, st):
    auth = handler.headers.get("Authorization") or ""
    if not auth.startswith("Bearer "):
        return None
    return verify_jwt(st.signer, auth[7:].strip())


def exchange(st, c, cfg, host, reg, form):
    if one(form, "grant_type") != "access_token":
        return oauth_error(400, "grant_type must be access_token")
    if one(form, "service") != host:
        return oauth_error(400, "service must be %s" % host)
    entra = one(form, "access_token")
    claims = verify_jwt(st.signer, entra or "")
    if claims is None:
        return oauth_error(401, "the access token is not valid (signature, expiry)")
    aud = (claims.get("aud") or "").rstrip("/")
    tid = one(form, "tenant")
    if tid != claims.get("tid") or tid != c["tenant_id"]:
        return oauth_error(400, "tenant does not match the token's tid")
    if aud in ARM_AUDIENCES:
        if not reg.get("arm_audience", True):
            return oauth_error(401, "arm aad token disallowed")
    elif aud != REGISTRY_AUDIENCE:
        return oauth_error(401, "the access token's audience %s is not accepted" % aud)
    if reg.get("deny"):
        return oauth_error(401, "the identity %s is not authorized on registry %s" % (claims.get("oid"), host))
    now = int(time.time())
    refresh = st.signer.sign_jwt({
        "jti": str(uuid.uuid4()), "sub": claims.get("oid"), "nbf": now - 60, "exp": now + int(cfg["refresh_lifetime"]),
        "iat": now, "iss": REFRESH_ISSUER, "aud": host, "version": "1.0", "rid": uuid.uuid4().hex,
        "grant_type": "refresh_token", "tenant": tid, "oid": claims.get("oid"),
        "permissions": {"actions": ["read"], "notActions": None}, "roles": [],
    })
    return 200, {"refresh_token": refresh}, {}


def access_for(reg, oid, scopes):
    """What the refresh token's identity gets for the asked scopes."""
    allowed = "*" in (reg.get("pull") or []) or oid in (reg.get("pull") or [])
    out = []
    for s in scopes:
        parts = s.split(":")
        if len(parts) < 3:
            continue
        typ, name, actions = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
        if typ == "repository" and allowed:
            granted = [a for a in actions if a in ("pull", "metadata_read")]
        elif typ == "registry" and name == "catalog" and allowed:
            granted = ["*"]
        else:
            granted = []
        out.append({"type": typ, "name": name, "actions": granted})
    return out


def token(st, cfg, host, reg, method, form, handler):
    refresh = None
    if method == "GET":
        auth = handler.headers.get("Authorization") or ""
        if auth.startswith("Basic "):
            try:
                user, _, refresh = base64.b64decode(auth[6:].strip()).decode().partition(":")
            except Exception:  # noqa: BLE001
                return oauth_error(401, "bad Basic credentials")
            if user != ACR_USERNAME:
                return oauth_error(401, "only refresh tokens are accepted here")
    else:
        if one(form, "grant_type") != "refresh_token":
            return oauth_error(400, "grant_type must be refresh_token")
        refresh = one(form, "refresh_token")
    if one(form, "service") != host:
        return oauth_error(400, "service must be %s" % host)
    claims = verify_jwt(st.signer, refresh or "")
    if claims is None or claims.get("aud") != host or claims.get("grant_type") != "refresh_token":
        return oauth_error(401, "the refresh token is not valid for %s" % host)
    scopes = form.get("scope") or []
    now = int(time.time())
    access = st.signer.sign_jwt({
        "jti": str(uuid.uuid4()), "sub": claims.get("oid"), "nbf": now - 60, "exp": now + int(cfg["access_lifetime"]),
        "iat": now, "iss": REFRESH_ISSUER, "aud": host, "version": "1.0", "grant_type": "access_token",
        "tenant": claims.get("tenant"), "access": access_for(reg, claims.get("oid"), scopes),
    })
    return 200, {"access_token": access}, {}


def registry_api(st, host, reg, path, handler):
    rest = path[len("/v2/"):]
    claims = bearer_claims(handler, st)
    if rest == "":
        if claims is None or claims.get("aud") != host:
            return challenge(host, reg, None)
        return 200, {}, {"Docker-Distribution-API-Version": "registry/2.0"}
    if rest == "_catalog":
        if claims is None or not token_grants(claims, host, "registry", "catalog", "*"):
            return challenge(host, reg, "registry:catalog:*")
        return 200, {"repositories": sorted(reg.get("repositories") or {})}, {}
    for kind in ("/manifests/", "/blobs/"):
        if kind in rest:
            name, _, ref = rest.rpartition(kind)
            if claims is None or not token_grants(claims, host, "repository", name, "pull"):
                return challenge(host, reg, "repository:%s:pull" % name)
            tags = (reg.get("repositories") or {}).get(name)
            if tags is None:
                return acr_error(404, "NAME_UNKNOWN", "repository %s is not found" % name)
            if kind == "/blobs/":
                if not reg.get("blob_redirect"):
                    return acr_error(404, "BLOB_UNKNOWN", "blob %s is not found" % ref)
                return 307, "", {"Location": reg["blob_redirect"] + "/" + ref}
            if ref not in tags:
                return acr_error(404, "MANIFEST_UNKNOWN", "manifest %s:%s is not found" % (name, ref))
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                                   "digest": "sha256:" + hashlib.sha256(("%s:%s" % (name, ref)).encode()).hexdigest()},
                        "layers": []}
            digest = "sha256:" + hashlib.sha256(json.dumps(manifest, separators=(",", ":")).encode()).hexdigest()
            return 200, manifest, {"Docker-Content-Digest": digest}
    if rest.endswith("/tags/list"):
        name = rest[: -len("/tags/list")]
        scope = "repository:%s:pull" % name
        if claims is None or not token_grants(claims, host, "repository", name, "pull"):
            return challenge(host, reg, scope)
        repos = reg.get("repositories") or {}
        if name not in repos:
            return acr_error(404, "NAME_UNKNOWN", "repository %s is not found" % name)
        return 200, {"name": name, "tags": list(repos[name])}, {}
    return acr_error(404, "NOT_FOUND", "no such registry path %s" % path)


def route(handler, st, c, method, path, query, entry):
    """(status, body, headers) for a request on an "acr" listener."""
    cfg = settings(c)
    host = (handler.headers.get("Host") or "").split(":")[0].lower()
    reg = cfg["registries"].get(host)
    if reg is None:
        return acr_error(404, "NOT_FOUND", "no registry %s here" % host)
    form = form_of(entry, method, query)
    if path == "/oauth2/exchange" and method == "POST":
        return exchange(st, c, cfg, host, reg, form)
    if path == "/oauth2/token" and method in ("POST", "GET"):
        return token(st, cfg, host, reg, method, form, handler)
    if (path == "/v2/" or path.startswith("/v2/")) and method in ("GET", "HEAD"):
        return registry_api(st, host, reg, path, handler)
    if path == "/v2":
        return 301, "", {"Location": "/v2/"}
    return acr_error(404, "NOT_FOUND", "no such path %s %s" % (method, path))

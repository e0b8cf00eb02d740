#!/usr/bin/python3
"""A local stand-in for the Azure endpoints azmi talks to.

It answers like the Azure Instance Metadata Service (token, instance
metadata, identity info), the App Service managed-identity endpoint
(2019-08-01, and the legacy 2017-09-01 form), Azure ML, Cloud Shell, Azure
Arc (with its key-file challenge), Service Fabric, the Entra v2.0 token
endpoint (client secret, certificate assertion, federated workload-identity
assertion) and the Entra key and discovery documents.  Access tokens are real
RS256 JWTs shaped like v1 Entra tokens, signed with a key the tests can fetch
from the control API.

One process can listen on several ports ("listeners"), all sharing one state
(config, scripts, recorded requests).  Each listener has a role:
  main  every path below except Arc and Service Fabric (http or https)
  arc   Azure Arc's himds: GET /metadata/identity/oauth2/token, 401 challenge
  sf    Service Fabric: GET /metadata/identity/oauth2/token (serve it over
        https with a self-signed certificate)
  acr   Azure Container Registry: /v2/ API, /oauth2/exchange, /oauth2/token
        (https; see standin_acr.py)
The main role also answers Resource Manager's authorization API (role and
deny assignments, role definitions) and Microsoft Graph (users,
checkMemberGroups), bearer-checked: see standin_arm.py for the paths and the
"arm", "graph" and "directory" config keys.  The arc role also serves
himds's GET /metadata/instance (the machine as a HybridCompute resource).
Paths of the main role:
  GET  /metadata/identity/oauth2/token     IMDS (Metadata: true)
  GET  /metadata/identity/info, /metadata/instance[/...]
  GET  /msi/token                          App Service 2019-08-01 and 2017-09-01
  GET  /MSI/auth                           Azure ML (2017-09-01, expires_on integer)
  POST /oauth2/token                       Cloud Shell (form resource=R)
  POST /{tenant}/oauth2/v2.0/token         Entra client credentials (token_type=ssh-cert: an OpenSSH
                                           certificate, see standin_sshcert.py)
  GET  /{tenant}/discovery[/v2.0]/keys, /{tenant}[/v2.0]/.well-known/openid-configuration

Workload identity: the federated assertion must be a JWT this stand-in issued
(POST /_standin/federated-token) whose iss, sub and aud match a federated
credential of the service principal (config service_principals[].federated).

The control API lives under /_standin/ on every listener and is never recorded:
  POST /_standin/reset            forget requests and scripts, default config
  POST /_standin/config           JSON merged into the config (lists replace)
  GET  /_standin/config
  POST /_standin/script           {"path": P, "responses": [R, ...], "listener": NAME?}
                                  (without "listener" the script serves any listener)
  GET  /_standin/requests[?path=][&listener=]  recorded requests, arrival order
  GET  /_standin/state            config, public key, kid, JWKS, listener ports
  POST /_standin/federated-token  {"subject","issuer","audience","lifetime","nbf_offset"}
                                  -> {"token": a Kubernetes-style service-account JWT}
  POST /_standin/rotate-key       {"keep_old": bool} -> {"kid"}: a new signing key (JWTs, JWKS, SSH
                                  certificates); the old one stays in the JWKS with keep_old
  POST /_standin/mint             {"resource", "client_id"?, "lifetime"?, "claims"?}
                                  -> {"access_token", "expires_on"} (e.g. for a fake az)

Only the Python standard library and `cryptography` are used.  It listens
where it is told (tests use 127.0.0.1, or 169.254.169.254 inside a private
network namespace) and never connects anywhere.
"""

import argparse
import base64
import copy
import datetime
import hashlib
import http
import http.server
import json
import os
import re
import secrets
import socket
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

CONTROL_PREFIX = "/_standin/"
RECORD_CAP = 1 << 20  # bytes of each answer kept in the request record
IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"
IMDS_INFO_PATH = "/metadata/identity/info"
IMDS_INSTANCE_PATH = "/metadata/instance"
APPSERVICE_PATH = "/msi/token"
AZUREML_PATH = "/MSI/auth"
CLOUDSHELL_PATH = "/oauth2/token"
ARC_PATH = IMDS_TOKEN_PATH          # on the "arc" listener
SERVICEFABRIC_PATH = IMDS_TOKEN_PATH  # on the "sf" listener
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
ARC_API_VERSIONS = ("2019-11-01", "2020-06-01")
SERVICEFABRIC_API_VERSION = "2019-07-01-preview"

IMDS_TOKEN_API_VERSIONS = ("2018-02-01", "2019-08-01", "2019-11-01", "2020-06-01", "2021-02-01")
IMDS_INSTANCE_API_VERSIONS = (
    "2017-03-01", "2017-04-02", "2017-08-01", "2017-12-01", "2018-02-01", "2018-04-02",
    "2018-10-01", "2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01", "2019-06-04",
    "2019-08-01", "2019-08-15", "2019-11-01", "2020-06-01", "2020-07-15", "2020-09-01",
    "2020-10-01", "2020-12-01", "2021-01-01", "2021-02-01", "2021-03-01", "2021-05-01",
    "2021-10-01", "2021-11-01", "2021-11-15", "2021-12-13", "2022-02-01", "2022-03-01",
    "2022-07-01", "2022-08-01", "2022-11-01", "2023-07-01", "2023-11-15", "2024-03-15",
)

# /fleet/<n>/metadata/...: IMDS as instance <n> of a simulated fleet (bench/fleet.py).
FLEET_PREFIX = re.compile(r"^/fleet/(\d{1,6})(/metadata/.*)$")


def fleet_instance(c, n):
    """The config as instance `n` of the fleet (config "fleet": {"mode": "uniform" | "own", "name"}):
    uniform: instance n of a Uniform scale set, all sharing the set's identity; own: a Flexible
    instance (VM <name>_<n>) with an identity of its own (as every Arc-enabled server has)."""
    f = c.get("fleet") or {}
    name = f.get("name", "vmss-fleet")
    if f.get("mode") == "uniform":
        c["scale_set"] = {"mode": "uniform", "name": name, "instance_id": str(n)}
    else:
        c["scale_set"] = {"mode": "flexible", "name": name}
        c["vm_name"] = "%s_%06d" % (name, n)
        c["vm_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "fleet-vm/%d" % n))
        c["system_identity"] = {"client_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "fleet-client/%d" % n)),
                                "object_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "fleet-object/%d" % n))}
    return c


# Made-up but well-formed identifiers.  Every default can be changed through
# POST /_standin/config.
DEFAULT_CONFIG = {
    "tenant_id": "5c1e8a7d-3f0b-4e42-9a6d-2b7f4c0d9e11",
    "subscription_id": "0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40",
    "resource_group": "rg-azmi-test",
    "vm_name": "vm-azmi-test",
    "vm_id": "e4a7c2f1-8b3d-4d6e-9f10-a2b4c6d8e0f3",
    "location": "westeurope",
    "az_environment": "AzurePublicCloud",
    "private_ip": "10.0.0.4",
    # A scale-set instance: null (a single VM), or {"mode": "uniform" | "flexible", "name": set name,
    # "instance_id": decimal id (uniform)}.  Uniform: resourceId .../virtualMachineScaleSets/<name>/
    # virtualMachines/<id> and compute.name <name>_<id>; flexible: an ordinary VM (vm_name) whose
    # vmScaleSetName is <name>.
    "scale_set": None,
    # The VM's system-assigned identity; null means the VM has none.
    "system_identity": {
        "client_id": "7f3e2d1c-0b9a-4876-a5c4-3e2f1d0c9b8a",
        "object_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    },
    # User-assigned identities attached to the VM.  resource_id is derived
    # from subscription_id, resource_group and name when left empty.
    "user_identities": [
        {
            "name": "id-azmi-one",
            "client_id": "11111111-2222-4333-8444-555555555501",
            "object_id": "99999999-8888-4777-a666-555555555501",
            "resource_id": "",
        },
        {
            "name": "id-azmi-two",
            "client_id": "11111111-2222-4333-8444-555555555502",
            "object_id": "99999999-8888-4777-a666-555555555502",
            "resource_id": "",
        },
    ],
    # The secret the App Service endpoint expects in X-IDENTITY-HEADER (2019)
    # or `secret` (2017).
    "identity_header": "standin-identity-header-secret",
    "token_lifetime": 86400,
    # When a list, only these resources (after dropping one trailing slash)
    # are known; others get 400 invalid_resource.  null: any resource.
    "resources": None,
    # Extra claims added to every minted token (e.g. roles, groups).
    "extra_claims": {},
    # {"per_second": 20, "concurrent": 5} makes the IMDS token endpoint answer
    # 429 beyond those limits, as IMDS does.  null: no limit.
    "imds_rate_limit": None,
    # Base URL used in discovery documents and as the expected `aud` of client
    # assertions; null: derived from the request (scheme and Host header).
    "authority_base": None,
    # --- Entra token endpoint (POST /{tenant}/oauth2/v2.0/token) ---
    # Service principals.  secrets: accepted client secrets; certificates: PEM
    # certificates whose keys may sign client assertions; federated: the
    # federated credentials (issuer, subject, audience) accepted as workload
    # identity assertions.
    "service_principals": [
        {
            "name": "sp-azmi",
            "client_id": "3e0c5a1f-6b2d-4c8e-9f71-0a2b4c6d8e01",
            "object_id": "4f1d6b2a-7c3e-4d9f-8a82-1b3c5d7e9f02",
            "secrets": ["standin-client-secret~0123456789abcdef"],
            "certificates": [],
            "federated": [
                {
                    "issuer": "https://oidc.standin.invalid/5c1e8a7d/",
                    "subject": "system:serviceaccount:default:azmi",
                    "audience": "api://AzureADTokenExchange",
                }
            ],
        }
    ],
    # expires_in of Entra answers (the minted token lives this long).
    "entra_token_lifetime": 3599,
    # Client assertions: exp - nbf at most this, and this much clock skew.
    "assertion_max_lifetime": 600,
    "assertion_skew": 60,
    # Defaults of POST /_standin/federated-token.
    "federated_issuer": "https://oidc.standin.invalid/5c1e8a7d/",
    "federated_subject": "system:serviceaccount:default:azmi",
    # --- Azure Arc (listener role "arc") ---
    # key_dir: where the stand-in writes the challenge's key file (a host
    # path; null: a private temporary directory).  realm_dir: the directory
    # named in WWW-Authenticate (what the client sees, e.g. through a bind
    # mount); null: key_dir.  realm: a fixed realm instead (no file written,
    # the test prepares it); secret: a fixed accepted secret (besides those
    # written).  key_mode: mode of the written file.  echo: fields forced into
    # the 200 answer (null removes one), e.g. {"client_id": "other"}.
    "arc": {
        "key_dir": None,
        "realm_dir": None,
        "realm": None,
        "secret": None,
        "key_mode": 0o640,
        "echo": {},
    },
}

_STATUS_TEXT = {
    400: "The request is malformed or names something that does not exist",
    401: "The caller is not authorised to use this endpoint",
    403: "The caller is not allowed to get this token",
    404: "The managed identity endpoint is not available yet; it is being set up",
    405: "The method is not allowed on this endpoint",
    408: "The managed identity endpoint did not get the request in time",
    410: "The managed identity endpoint is being updated; try again shortly",
    429: "Too many requests to the managed identity endpoint; slow down and retry",
    500: "The managed identity endpoint failed to produce a token",
    502: "The managed identity endpoint got a bad answer upstream",
    503: "The managed identity endpoint is temporarily unavailable",
    504: "The managed identity endpoint timed out upstream",
}

_IMDS_ERROR_CODE = {
    400: "invalid_request",
    401: "unauthorized_client",
    403: "access_denied",
    404: "not_found",
    405: "invalid_request",
    408: "request_timeout",
    410: "service_unavailable",
    429: "too_many_requests",
    500: "unknown_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(s):
    if not isinstance(s, str) or any(ch in s for ch in "+/= \n"):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_uint(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def deep_merge(dst, src):
    """Merge src into dst: dicts recursively, anything else replaced."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def http_reason(status):
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Status %d" % status


class Signer:
    """The RSA key, its self-signed certificate, kid and x5t."""

    def __init__(self, key_pem_path=None):
        if key_pem_path:
            with open(key_pem_path, "rb") as f:
                self.key = serialization.load_pem_private_key(f.read(), password=None)
        else:
            self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "standin signing key")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(int.from_bytes(hashlib.sha256(self.public_pem().encode()).digest()[:8], "big"))
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .sign(self.key, hashes.SHA256())
        )
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self.cert_der_b64 = base64.b64encode(der).decode("ascii")
        self.x5t = b64url(hashlib.sha1(der).digest())
        self.kid = self.x5t  # Entra uses the thumbprint as the key id

    def public_pem(self):
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def jwk(self, issuer):
        nums = self.key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.x5t,
            "n": b64url_uint(nums.n),
            "e": b64url_uint(nums.e),
            "x5c": [self.cert_der_b64],
            "issuer": issuer,
        }

    def sign_jwt(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "kid": self.kid, "x5t": self.x5t}
        h = b64url(json.dumps(header, separators=(",", ":")).encode())
        p = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signing_input = (h + "." + p).encode("ascii")
        sig = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return h + "." + p + "." + b64url(sig)


class Reset(Exception):
    """Raised to abandon a request after resetting its connection."""


class Standin:
    """State shared by every handler thread."""

    def __init__(self, signer, initial_overrides=None, verbose=False):
        self.signer = signer
        self.old_signers = []    # rotated-out keys still published (POST /_standin/rotate-key)
        self.verbose = verbose
        self.lock = threading.Lock()
        self.initial_overrides = initial_overrides or {}
        self.rate_times = []
        self.rate_active = 0
        self.ports = {}          # listener name -> port
        self.arc_secrets = set()
        self.arc_tmp = None
        self.reset()

    def reset(self):
        with self.lock:
            self.config = deep_merge(copy.deepcopy(DEFAULT_CONFIG), self.initial_overrides)
            self.requests = []
            self.scripts = {}
            self.rate_times = []
            self.arc_secrets = set()
        import standin_arm  # its token buckets start full again
        standin_arm.reset_buckets()

    def log(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("standin: " + (fmt % args) + "\n")
            sys.stderr.flush()

    # --- derived configuration -------------------------------------------------

    def cfg(self):
        with self.lock:
            return copy.deepcopy(self.config)

    @staticmethod
    def vm_resource_id(c, arm_case=True):
        rg = "resourceGroups" if arm_case else "resourcegroups"
        ss = c.get("scale_set") or {}
        if ss.get("mode") == "uniform":
            return "/subscriptions/%s/%s/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/" \
                "virtualMachines/%s" % (c["subscription_id"], rg, c["resource_group"], ss["name"],
                                        ss.get("instance_id", "0"))
        return "/subscriptions/%s/%s/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
            c["subscription_id"], rg, c["resource_group"], c["vm_name"])

    @staticmethod
    def vm_compute_name(c):
        ss = c.get("scale_set") or {}
        if ss.get("mode") == "uniform":
            return "%s_%s" % (ss["name"], ss.get("instance_id", "0"))
        return c["vm_name"]

    @staticmethod
    def user_identities(c):
        out = []
        for ident in c.get("user_identities") or []:
            ident = dict(ident)
            if not ident.get("resource_id"):
                ident["resource_id"] = (
                    "/subscriptions/%s/resourcegroups/%s/providers/"
                    "Microsoft.ManagedIdentity/userAssignedIdentities/%s"
                    % (c["subscription_id"], c["resource_group"], ident.get("name", "identity")))
            out.append(ident)
        return out

    def state(self):
        c = self.cfg()
        issuer_v2 = "https://login.microsoftonline.com/%s/v2.0" % c["tenant_id"]
        system = c.get("system_identity")
        if system:
            system = dict(system, resource_id=self.vm_resource_id(c, arm_case=False))
        return {
            "config": c,
            "tenant_id": c["tenant_id"],
            "vm_resource_id": self.vm_resource_id(c),
            "system_identity": system,
            "user_identities": self.user_identities(c),
            "kid": self.signer.kid,
            "x5t": self.signer.x5t,
            "public_key_pem": self.signer.public_pem(),
            "certificate_der_b64": self.signer.cert_der_b64,
            "jwks": {"keys": [self.signer.jwk(issuer_v2)]},
            "ports": dict(self.ports),
        }

    # --- recording and scripts -------------------------------------------------

    def record(self, entry):
        with self.lock:
            self.requests.append(entry)

    def next_scripted(self, listener, path):
        """The next scripted answer for `path` on `listener`: a script made
        for that listener first, then one made for any listener."""
        with self.lock:
            for key in ((listener, path), (None, path)):
                q = self.scripts.get(key)
                if q:
                    r = q.pop(0)
                    if not q:
                        del self.scripts[key]
                    return r
        return None

    def add_script(self, path, responses, listener=None):
        expanded = []
        for r in responses:
            if not isinstance(r, dict):
                raise ValueError("each response must be an object")
            n = int(r.get("repeat", 1))
            r = {k: v for k, v in r.items() if k != "repeat"}
            expanded.extend(copy.deepcopy(r) for _ in range(n))
        with self.lock:
            self.scripts.setdefault((listener, path), []).extend(expanded)

    # --- rate limit (IMDS managed-identity category) ----------------------------

    def rate_enter(self, limit):
        now = time.monotonic()
        with self.lock:
            self.rate_times = [t for t in self.rate_times if now - t < 1.0]
            per_s = int(limit.get("per_second", 0) or 0)
            conc = int(limit.get("concurrent", 0) or 0)
            if (per_s and len(self.rate_times) >= per_s) or (conc and self.rate_active >= conc):
                return False
            self.rate_times.append(now)
            self.rate_active += 1
            return True

    def rate_leave(self):
        with self.lock:
            self.rate_active = max(0, self.rate_active - 1)

    # --- tokens ---------------------------------------------------------------

    def mint(self, c, identity, resource, now, lifetime=None, appidacr="2", extra=None):
        """A v1-shaped access token for `identity` (dict with client_id,
        object_id, resource_id; a service principal has no resource_id, and
        its token no xms_mirid) and `resource`; returns (token, iat, nbf, exp)."""
        tid = c["tenant_id"]
        if lifetime is None:
            lifetime = int(c.get("token_lifetime", 86400))
        iat = now - 300  # Entra back-dates iat and nbf by five minutes
        exp = now + lifetime
        aud = resource
        if aud.endswith("/.default"):
            aud = aud[: -len("/.default")]
        if aud.endswith("/"):
            aud = aud[:-1]  # v1 tokens for https://storage.azure.com/ carry it without the slash
        sts = "https://sts.windows.net/%s/" % tid
        claims = {
            "aud": aud,
            "iss": sts,
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "aio": b64url(secrets.token_bytes(48)),
            "appid": identity["client_id"],
            "appidacr": appidacr,
            "idp": sts,
            "idtyp": "app",
            "oid": identity["object_id"],
            "rh": "0." + b64url(secrets.token_bytes(51)) + ".",
            "sub": identity["object_id"],
            "tid": tid,
            "uti": b64url(secrets.token_bytes(16)),
            "ver": "1.0",
            "xms_mirid": identity.get("resource_id"),
        }
        if not identity.get("resource_id"):
            del claims["xms_mirid"]
        claims.update(c.get("extra_claims") or {})
        claims.update(extra or {})
        return self.signer.sign_jwt(claims), iat, iat, exp

    # --- Entra: service principals and assertions ---------------------------------

    @staticmethod
    def find_sp(c, client_id):
        for sp in c.get("service_principals") or []:
            if (sp.get("client_id") or "").lower() == (client_id or "").lower() and client_id:
                return sp
        return None

    def federated_token(self, c, doc):
        """A Kubernetes-style projected service-account token, signed with the
        stand-in's key: the assertion a workload identity presents."""
        now = int(time.time())
        lifetime = int(doc.get("lifetime", 3600))
        nbf = now + int(doc.get("nbf_offset", 0))
        claims = {
            "aud": [doc.get("audience", TOKEN_EXCHANGE_AUDIENCE)],
            "exp": nbf + lifetime,
            "iat": nbf,
            "iss": doc.get("issuer", c["federated_issuer"]),
            "kubernetes.io": {
                "namespace": "default",
                "pod": {"name": "azmi-pod", "uid": str(uuid.uuid4())},
                "serviceaccount": {"name": "azmi", "uid": str(uuid.uuid4())},
            },
            "nbf": nbf,
            "sub": doc.get("subject", c["federated_subject"]),
        }
        return self.signer.sign_jwt(claims)

    # --- Azure Arc ---------------------------------------------------------------------

    def arc_challenge(self, c):
        """(realm, secret or None): write a fresh key file unless the config
        fixes the realm."""
        arc = c.get("arc") or {}
        if arc.get("realm"):
            return arc["realm"], None
        key_dir = arc.get("key_dir")
        if not key_dir:
            with self.lock:
                if self.arc_tmp is None:
                    self.arc_tmp = tempfile.mkdtemp(prefix="standin-arc-")
                key_dir = self.arc_tmp
        secret = secrets.token_hex(32)
        name = secrets.token_hex(16) + ".key"
        path = os.path.join(key_dir, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.fchmod(fd, int(arc.get("key_mode", 0o640)))
            os.write(fd, secret.encode())
        finally:
            os.close(fd)
        with self.lock:
            self.arc_secrets.add(secret)
        realm_dir = arc.get("realm_dir") or key_dir
        return realm_dir.rstrip("/") + "/" + name, secret

    def arc_secret_ok(self, c, got):
        fixed = (c.get("arc") or {}).get("secret")
        if fixed and secrets.compare_digest(got.encode(), str(fixed).encode()):
            return True
        with self.lock:
            return any(secrets.compare_digest(got.encode(), k.encode()) for k in self.arc_secrets)

    def find_identity(self, c, kind, value):
        """kind: None (system), 'client_id', 'object_id', 'resource_id'."""
        if kind is None:
            sysid = c.get("system_identity")
            if not sysid:
                return None
            return {
                "client_id": sysid["client_id"],
                "object_id": sysid["object_id"],
                "resource_id": self.vm_resource_id(c, arm_case=False),
            }
        for ident in self.user_identities(c):
            if (ident.get(kind) or "").lower() == value.lower() and value:
                return ident
        return None

    def resource_problem(self, c, resource):
        if resource.endswith("/.default"):
            return "'%s' is a scope, not a resource: drop '/.default'" % resource
        known = c.get("resources")
        if known is not None:
            norm = [k.rstrip("/") for k in known]
            if resource.rstrip("/") not in norm:
                return "No service principal is registered for resource '%s'" % resource
        return None


class Answer:
    def __init__(self, status, body=None, headers=None, content_type="application/json; charset=utf-8"):
        self.status = status
        self.obj = body if isinstance(body, (dict, list)) else None
        if isinstance(body, (dict, list)):
            self.raw = None
        elif isinstance(body, str):
            self.raw = body.encode("utf-8")
        else:
            self.raw = body if body is not None else b""
        self.headers = dict(headers or {})
        self.content_type = content_type

    def bytes(self):
        if self.obj is not None:
            return json.dumps(self.obj, separators=(",", ":")).encode("utf-8")
        return self.raw


def imds_error(status, desc, code=None):
    return Answer(status, {"error": code or _IMDS_ERROR_CODE.get(status, "invalid_request"),
                           "error_description": desc})


def appservice_error(status, message):
    return Answer(status, {"statusCode": status, "message": message,
                           "correlationId": str(uuid.uuid4())})


def entra_error(status, error, code, text, headers=None):
    """An Entra-shaped error: error, AADSTS description with trace and
    correlation ids, error_codes, timestamp."""
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    trace_id = str(uuid.uuid4())
    corr = (headers or {}).get("client-request-id") or str(uuid.uuid4())
    desc = "AADSTS%d: %s\r\nTrace ID: %s\r\nCorrelation ID: %s\r\nTimestamp: %s" % (
        code, text, trace_id, corr, now.strftime("%Y-%m-%d %H:%M:%S.") + "%07dZ" % (now.microsecond * 10))
    return Answer(status, {
        "error": error,
        "error_description": desc,
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace_id,
        "correlation_id": corr,
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code,
    })


def servicefabric_error(status, code, message):
    return Answer(status, {"error": {"code": code, "message": message, "correlationId": str(uuid.uuid4())}})


def default_error(path, status, role="main"):
    text = _STATUS_TEXT.get(status, http_reason(status))
    if role == "sf":
        return servicefabric_error(status, http_reason(status).replace(" ", ""), text)
    if path.startswith(APPSERVICE_PATH) or path.startswith(AZUREML_PATH):
        return appservice_error(status, text)
    if "/oauth2/v2.0/token" in path:
        return entra_error(status, "temporarily_unavailable" if status >= 500 else "invalid_request",
                           50000 + status, text)
    if path.startswith("/metadata/"):
        return imds_error(status, text)
    return Answer(status, {"error": {"code": http_reason(status).replace(" ", ""), "message": text}})


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin/1.0"
    # Headers and body go out in two writes: without TCP_NODELAY the body waits for the client's
    # delayed ACK (about 40 ms a request), which no Azure endpoint adds.
    disable_nagle_algorithm = True

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        self.server.standin.log("%s %s", self.address_string(), fmt % args)

    # Every method goes through one dispatcher.
    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self, method):
        st = self.server.standin
        arrived = time.time()
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        parsed = urllib.parse.urlsplit(self.path)
        path = parsed.path
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.fleet_n = None
        m = FLEET_PREFIX.match(path)
        if m and self.server.role == "main":  # one instance of a simulated fleet (config "fleet")
            self.fleet_n, path = int(m.group(1)), m.group(2)
        try:
            if path.startswith(CONTROL_PREFIX):
                self.send_answer(self.control(method, path, query, body))
                return
            headers = {}
            for k, v in self.headers.items():
                k = k.lower()
                headers[k] = headers[k] + ", " + v if k in headers else v
            entry = {
                "listener": self.server.name,
                "scheme": "https" if self.server.tls else "http",
                "method": method,
                "path": path,
                "query": query,
                "raw_query": parsed.query,
                "target": self.path,
                "headers": headers,
                "body": body.decode("utf-8", "replace"),
                "time": arrived,
                "http_version": self.request_version,
            }
            st.record(entry)
            scripted = st.next_scripted(self.server.name, path)
            answer = self.scripted(scripted, method, path, query, entry) if scripted else \
                self.route(method, path, query, entry)
            if answer is None:
                return  # already answered (streamed, truncated)
            import standin_arm
            standin_arm.decorate(self, path, answer.headers)  # correlation ids, scripted answers too
            entry["response_headers"] = dict(answer.headers)
            data = answer.bytes()
            entry["status"] = answer.status
            entry["response_body"] = data[:RECORD_CAP].decode("utf-8", "replace")
            self.send_answer(answer, data)
        except Reset:
            return
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
            self.close_connection = True

    def send_answer(self, answer, data=None):
        if data is None:
            data = answer.bytes()
        self.send_response(answer.status, http_reason(answer.status))
        names = {k.lower() for k in answer.headers}
        if "content-type" not in names and answer.content_type:
            self.send_header("Content-Type", answer.content_type)
        for k, v in answer.headers.items():
            self.send_header(k, str(v))
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    # --- scripted answers --------------------------------------------------------

    def reset_connection(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        try:
            fd = self.connection.detach()
            os.close(fd)
        except OSError:
            pass
        self.close_connection = True
        raise Reset()

    def scripted(self, r, method, path, query, entry):
        st = self.server.standin
        entry["scripted"] = True
        delay = r.get("delay_ms")
        if delay:
            time.sleep(float(delay) / 1000.0)
        if r.get("reset"):
            entry["status"] = "reset"
            self.reset_connection()
        status = int(r.get("status", 200))
        extra_headers = r.get("headers") or {}
        if r.get("size_mb") is not None:
            entry["status"] = status
            entry["response_body"] = "(%s MiB streamed)" % r["size_mb"]
            self.stream_junk(status, int(float(r["size_mb"]) * 1024 * 1024), extra_headers,
                             chunked=bool(r.get("chunked")))
            return None
        if "body" in r:
            body = r["body"]
            if isinstance(body, (dict, list)):
                answer = Answer(status, body, extra_headers)
            else:
                answer = Answer(status, body if body is not None else "", extra_headers)
        elif status == 200:
            answer = self.route(method, path, query, entry)
            answer.headers.update(extra_headers)
            fields = r.get("fields")
            if fields and answer.status == 200 and isinstance(answer.obj, dict):
                for k, v in fields.items():
                    if v is None:
                        answer.obj.pop(k, None)
                    else:
                        answer.obj[k] = v
        else:
            answer = default_error(path, status, self.server.role)
            answer.headers.update(extra_headers)
        if r.get("truncate") is not None:
            data = answer.bytes()
            cut = max(0, min(int(r["truncate"]), len(data)))
            entry["status"] = answer.status
            entry["response_body"] = data[:cut].decode("utf-8", "replace")
            self.send_response(answer.status, http_reason(answer.status))
            self.send_header("Content-Type", answer.content_type)
            for k, v in answer.headers.items():
                self.send_header(k, str(v))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:cut])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            return None
        st.log("scripted answer %s for %s", answer.status, path)
        return answer

    def stream_junk(self, status, size, extra_headers, chunked=False):
        """A JSON-looking body of `size` bytes: {"access_token":"AAAA...AAA"}"""
        head = b'{"access_token":"'
        tail = b'","token_type":"Bearer"}'
        self.send_response(status, http_reason(status))
        self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in extra_headers.items():
            self.send_header(k, str(v))
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(size))
        self.end_headers()
        self.close_connection = True
        fill = max(0, size - len(head) - len(tail))
        block = b"A" * 65536

        def put(data):
            if chunked:
                self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")
            else:
                self.wfile.write(data)

        try:
            put(head)
            while fill > 0:
                n = min(fill, len(block))
                put(block[:n])
                fill -= n
            put(tail)
            if chunked:
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            pass

    # --- normal answers --------------------------------------------------------------

    def route(self, method, path, query, entry):
        st = self.server.standin
        c = st.cfg()
        if getattr(self, "fleet_n", None) is not None:
            c = fleet_instance(c, self.fleet_n)
        role = self.server.role
        if role == "arc":
            if path == ARC_PATH:
                return self.arc_token(c, method, query)
            if path == IMDS_INSTANCE_PATH:
                return self.arc_instance(c, method, query)
            return imds_error(404, "No such path: %s" % path, "not_found")
        if role == "acr":
            import standin_acr  # the container registry lives in its own module
            status, body, headers = standin_acr.route(self, st, c, method, path, query, entry)
            return Answer(status, body, headers)
        if role == "sf":
            if path == SERVICEFABRIC_PATH:
                return self.servicefabric_token(c, method, query)
            return servicefabric_error(404, "NotFound", "No such path: %s" % path)
        import standin_arm  # Resource Manager's authorization API and Graph live in their own module
        arm = standin_arm.route(self, st, c, method, path, query, entry)
        if arm is not None:
            return Answer(*arm)
        parts = [p for p in path.split("/") if p]
        if len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            return self.entra_token(c, method, parts[0], path, entry)
        if path == CLOUDSHELL_PATH:
            return self.cloudshell(c, method, query, entry)
        if path == AZUREML_PATH:
            return self.azureml(c, method, query)
        if path == IMDS_TOKEN_PATH:
            return self.imds_token(c, method, query)
        if path == IMDS_INFO_PATH:
            return self.imds_info(c, method, query)
        if path == IMDS_INSTANCE_PATH or path.startswith(IMDS_INSTANCE_PATH + "/"):
            return self.imds_instance(c, method, path, query)
        if path == APPSERVICE_PATH:
            return self.appservice(c, method, query)
        if len(parts) >= 3 and parts[1] == "discovery" and parts[-1] == "keys" and method == "GET":
            return self.jwks(c, parts)
        if path.endswith("/.well-known/openid-configuration") and method == "GET":
            return self.discovery(c, parts)
        if path.startswith("/metadata/"):
            return imds_error(404, "No such metadata path: %s" % path, "not_found")
        return Answer(404, {"error": {"code": "NotFound", "message": "No such path: %s" % path}})

    def imds_common(self, method, query, versions):
        """Checks IMDS makes of every request; returns an Answer on failure."""
        if method != "GET":
            return imds_error(405, "Only GET is allowed here", "invalid_request")
        if self.headers.get("X-Forwarded-For") is not None:
            return imds_error(400, "Requests carrying X-Forwarded-For are refused", "invalid_request")
        if (self.headers.get("Metadata") or "").strip().lower() != "true":
            return imds_error(400, "Required metadata header not specified", "invalid_request")
        for name, values in query.items():
            if len(values) > 1:
                return imds_error(400, "Query parameter '%s' given more than once" % name)
        api = query.get("api-version", [None])[0]
        if not api:
            return imds_error(400, "Required query variable 'api-version' is missing")
        if api not in versions:
            return imds_error(400, "api-version '%s' is not supported" % api)
        return None

    def imds_token(self, c, method, query):
        st = self.server.standin
        bad = self.imds_common(method, query, IMDS_TOKEN_API_VERSIONS)
        if bad:
            return bad
        limit = c.get("imds_rate_limit")
        if limit:
            if not st.rate_enter(limit):
                return Answer(429, {"error": "too_many_requests",
                                    "error_description": _STATUS_TEXT[429]})
        try:
            resource = query.get("resource", [None])[0]
            if not resource:
                return imds_error(400, "Required query variable 'resource' is missing")
            selectors = [(k, q) for k, q in (("client_id", "client_id"), ("object_id", "object_id"),
                                             ("resource_id", "msi_res_id")) if q in query]
            if len(selectors) > 1:
                return imds_error(400, "Only one of client_id, object_id and msi_res_id may be given")
            kind, value = (selectors[0][0], query[selectors[0][1]][0]) if selectors else (None, None)
            ident = st.find_identity(c, kind, value)
            if ident is None:
                return imds_error(400, "Identity not found")
            problem = st.resource_problem(c, resource)
            if problem:
                return imds_error(400, problem, "invalid_resource")
            now = int(time.time())
            token, iat, nbf, exp = st.mint(c, ident, resource, now)
            return Answer(200, {
                "access_token": token,
                "client_id": ident["client_id"],
                "expires_in": str(exp - now),
                "expires_on": str(exp),
                "ext_expires_in": str(exp - now),
                "not_before": str(nbf),
                "resource": resource,
                "token_type": "Bearer",
            })
        finally:
            if limit:
                st.rate_leave()

    def imds_info(self, c, method, query):
        bad = self.imds_common(method, query, IMDS_TOKEN_API_VERSIONS)
        if bad:
            return bad
        return Answer(200, {"tenantId": c["tenant_id"], "subscriptionId": c["subscription_id"]})

    def instance_doc(self, c):
        st = self.server.standin
        ids = [i["resource_id"] for i in st.user_identities(c)]
        return {
            "compute": {
                "azEnvironment": c["az_environment"],
                "isHostCompatibilityLayerVm": "false",
                "location": c["location"],
                "name": st.vm_compute_name(c),
                "osType": "Linux",
                "provider": "Microsoft.Compute",
                "resourceGroupName": c["resource_group"],
                "resourceId": st.vm_resource_id(c),
                "subscriptionId": c["subscription_id"],
                "tags": "",
                "tagsList": [],
                "vmId": c["vm_id"],
                "vmScaleSetName": (c.get("scale_set") or {}).get("name", ""),
                "vmSize": "Standard_B2s",
                "zone": "",
                "userAssignedIdentities": ids,
            },
            "network": {
                "interface": [{
                    "ipv4": {
                        "ipAddress": [{"privateIpAddress": c["private_ip"], "publicIpAddress": ""}],
                        "subnet": [{"address": "10.0.0.0", "prefix": "24"}],
                    },
                    "ipv6": {"ipAddress": []},
                    "macAddress": "000D3A1B2C3D",
                }]
            },
        }

    def imds_instance(self, c, method, path, query):
        if method != "GET":
            return imds_error(405, "Only GET is allowed here")
        if self.headers.get("X-Forwarded-For") is not None:
            return Answer(400, {"error": "Requests carrying X-Forwarded-For are refused"})
        if (self.headers.get("Metadata") or "").strip().lower() != "true":
            return Answer(400, {"error": "Bad request: the Metadata: true header is required"})
        api = query.get("api-version", [None])[0]
        if not api or api not in IMDS_INSTANCE_API_VERSIONS:
            return Answer(400, {"error": "Bad request: api-version is missing or not supported",
                                "newest-versions": list(IMDS_INSTANCE_API_VERSIONS[-3:][::-1])})
        node = self.instance_doc(c)
        for part in [p for p in path[len(IMDS_INSTANCE_PATH):].split("/") if p]:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return Answer(404, {"error": "Not found: %s" % path})
        fmt = query.get("format", ["json"])[0]
        if fmt == "text":
            if isinstance(node, (dict, list)):
                return Answer(400, {"error": "format=text works on leaf values only"})
            return Answer(200, str(node), content_type="text/plain; charset=utf-8")
        return Answer(200, node if isinstance(node, (dict, list)) else json.dumps(node))

    def appservice(self, c, method, query):
        st = self.server.standin
        if method != "GET":
            return appservice_error(405, "Only GET is allowed here")
        for name, values in query.items():
            if len(values) > 1:
                return appservice_error(400, "Query parameter '%s' given more than once" % name)
        api = query.get("api-version", [None])[0]
        if api == "2017-09-01":
            return self.appservice_2017(c, query)
        if api != "2019-08-01":
            return appservice_error(400, "api-version must be 2019-08-01 (or 2017-09-01 with the secret header)")
        got = self.headers.get("X-IDENTITY-HEADER")
        if got is None:
            return appservice_error(400, "The X-IDENTITY-HEADER header is missing")
        if not secrets.compare_digest(got.encode(), str(c["identity_header"]).encode()):
            return appservice_error(401, "The X-IDENTITY-HEADER value is wrong")
        resource = query.get("resource", [None])[0]
        if not resource:
            return appservice_error(400, "The resource query parameter is missing")
        selectors = [(k, q) for k, q in (("client_id", "client_id"), ("object_id", "principal_id"),
                                         ("object_id", "object_id"), ("resource_id", "mi_res_id"))
                     if q in query]
        if len(selectors) > 1:
            return appservice_error(400, "Only one identity may be named")
        kind, value = (selectors[0][0], query[selectors[0][1]][0]) if selectors else (None, None)
        ident = st.find_identity(c, kind, value)
        if ident is None:
            return appservice_error(400, "Unable to find the managed identity that was asked for")
        problem = st.resource_problem(c, resource)
        if problem:
            return appservice_error(400, problem)
        now = int(time.time())
        token, _, _, exp = st.mint(c, ident, resource, now)
        return Answer(200, {
            "access_token": token,
            "expires_on": str(exp),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": ident["client_id"],
        })

    def appservice_2017(self, c, query):
        st = self.server.standin
        got = self.headers.get("secret")
        if got is None or not secrets.compare_digest(got.encode(), str(c["identity_header"]).encode()):
            return appservice_error(401, "The secret header is missing or wrong")
        resource = query.get("resource", [None])[0]
        if not resource:
            return appservice_error(400, "The resource query parameter is missing")
        cid = query.get("clientid", [None])[0]
        ident = st.find_identity(c, "client_id" if cid is not None else None, cid)
        if ident is None:
            return appservice_error(400, "Unable to find the managed identity that was asked for")
        now = int(time.time())
        token, _, _, exp = st.mint(c, ident, resource, now)
        when = datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
        return Answer(200, {
            "access_token": token,
            "expires_on": when.strftime("%m/%d/%Y %H:%M:%S +00:00"),
            "resource": resource,
            "token_type": "Bearer",
        })

    # --- Azure ML, Cloud Shell ---------------------------------------------------------

    def azureml(self, c, method, query):
        """Azure ML compute: the 2017-09-01 App Service shape, but expires_on
        is an integer.  clientid names the identity (the compute's own
        identity, i.e. the system one here, may be named too)."""
        st = self.server.standin
        if method != "GET":
            return appservice_error(405, "Only GET is allowed here")
        for name, values in query.items():
            if len(values) > 1:
                return appservice_error(400, "Query parameter '%s' given more than once" % name)
        if query.get("api-version", [None])[0] != "2017-09-01":
            return appservice_error(400, "api-version must be 2017-09-01")
        got = self.headers.get("secret")
        if got is None or not secrets.compare_digest(got.encode(), str(c["identity_header"]).encode()):
            return appservice_error(401, "The secret header is missing or wrong")
        resource = query.get("resource", [None])[0]
        if not resource:
            return appservice_error(400, "The resource query parameter is missing")
        extra = sorted(set(query) - {"api-version", "resource", "clientid"})
        if extra:
            return appservice_error(400, "Unexpected query parameters: %s" % ", ".join(extra))
        cid = query.get("clientid", [None])[0]
        sysid = c.get("system_identity") or {}
        if cid and cid.lower() == (sysid.get("client_id") or "").lower():
            cid = None
        ident = st.find_identity(c, "client_id" if cid else None, cid)
        if ident is None:
            return appservice_error(400, "Unable to find the managed identity that was asked for")
        problem = st.resource_problem(c, resource)
        if problem:
            return appservice_error(400, problem)
        now = int(time.time())
        token, _, _, exp = st.mint(c, ident, resource, now)
        return Answer(200, {
            "access_token": token,
            "expires_on": exp,
            "resource": resource,
            "token_type": "Bearer",
        })

    def cloudshell(self, c, method, query, entry):
        """Cloud Shell: POST, form body resource=R, Metadata: true; system
        identity only (the signed-in user's, really)."""
        st = self.server.standin
        if method != "POST":
            return imds_error(405, "Only POST is allowed here")
        if (self.headers.get("Metadata") or "").strip().lower() != "true":
            return imds_error(400, "Required metadata header not specified")
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return imds_error(400, "The body must be application/x-www-form-urlencoded, not '%s'" % ctype)
        if query:
            return imds_error(400, "Cloud Shell takes no query parameters")
        form = urllib.parse.parse_qs(entry["body"], keep_blank_values=True)
        if any(len(v) > 1 for v in form.values()):
            return imds_error(400, "A form field is given more than once")
        extra = sorted(set(form) - {"resource"})
        if extra:
            return imds_error(400, "Cloud Shell does not support %s (no user-assigned identities)"
                              % ", ".join(extra))
        resource = form.get("resource", [None])[0]
        if not resource:
            return imds_error(400, "Required form field 'resource' is missing")
        problem = st.resource_problem(c, resource)
        if problem:
            return imds_error(400, problem, "invalid_resource")
        ident = st.find_identity(c, None, None)
        if ident is None:
            return imds_error(400, "No identity is signed in to Cloud Shell")
        now = int(time.time())
        token, _, nbf, exp = st.mint(c, ident, resource, now)
        return Answer(200, {
            "access_token": token,
            "expires_in": str(exp - now),
            "expires_on": str(exp),
            "not_before": str(nbf),
            "resource": resource,
            "token_type": "Bearer",
        })

    # --- Azure Arc (listener role "arc") ------------------------------------------------

    def arc_token(self, c, method, query):
        st = self.server.standin
        if method != "GET":
            return imds_error(405, "Only GET is allowed here")
        if (self.headers.get("Metadata") or "").strip().lower() != "true":
            return imds_error(400, "Required metadata header not specified")
        for name, values in query.items():
            if len(values) > 1:
                return imds_error(400, "Query parameter '%s' given more than once" % name)
        api = query.get("api-version", [None])[0]
        if api not in ARC_API_VERSIONS:
            return imds_error(400, "api-version '%s' is not supported" % api)
        resource = query.get("resource", [None])[0]
        if not resource:
            return imds_error(400, "Required query variable 'resource' is missing")
        auth = self.headers.get("Authorization")
        if auth is None:
            try:
                realm, _ = st.arc_challenge(c)
            except OSError as e:
                return imds_error(500, "cannot write the key file: %s" % e, "unknown_error")
            return Answer(401, {"error": "unauthorized_client",
                                "error_description": "Read the key file named in WWW-Authenticate and "
                                                     "send its contents as Basic authorization"},
                          headers={"WWW-Authenticate": "Basic realm=" + realm})
        if not auth.startswith("Basic ") or not st.arc_secret_ok(c, auth[len("Basic "):].strip()):
            return imds_error(401, "The key in the Authorization header is not valid", "unauthorized_client")
        selectors = [(k, q) for k, q in (("client_id", "client_id"), ("object_id", "object_id"),
                                         ("resource_id", "msi_res_id")) if q in query]
        if len(selectors) > 1:
            return imds_error(400, "Only one of client_id, object_id and msi_res_id may be given")
        kind, value = (selectors[0][0], query[selectors[0][1]][0]) if selectors else (None, None)
        ident = st.find_identity(c, kind, value)
        if ident is None:
            return imds_error(400, "Identity not found")
        problem = st.resource_problem(c, resource)
        if problem:
            return imds_error(400, problem, "invalid_resource")
        now = int(time.time())
        token, _, nbf, exp = st.mint(c, ident, resource, now)
        body = {
            "access_token": token,
            "client_id": ident["client_id"],
            "expires_in": str(exp - now),
            "expires_on": str(exp),
            "ext_expires_in": str(exp - now),
            "not_before": str(nbf),
            "resource": resource,
            "token_type": "Bearer",
        }
        if kind == "object_id":
            body["object_id"] = ident["object_id"]
        elif kind == "resource_id":
            body["msi_res_id"] = ident["resource_id"]
        for k, v in ((c.get("arc") or {}).get("echo") or {}).items():
            if v is None:
                body.pop(k, None)
            else:
                body[k] = v
        return Answer(200, body)

    def arc_instance(self, c, method, query):
        """himds's instance metadata: the machine as a Microsoft.HybridCompute resource."""
        import standin_arm
        if method != "GET":
            return imds_error(405, "Only GET is allowed here")
        if (self.headers.get("Metadata") or "").strip().lower() != "true":
            return imds_error(400, "Required metadata header not specified")
        if query.get("api-version", [None])[0] not in ARC_API_VERSIONS + ("2021-02-01",):
            return imds_error(400, "api-version is missing or not supported")
        return Answer(200, standin_arm.arc_instance(c, c["vm_id"]))

    # --- Service Fabric (listener role "sf") --------------------------------------------

    def servicefabric_token(self, c, method, query):
        st = self.server.standin
        if method != "GET":
            return servicefabric_error(405, "MethodNotAllowed", "Only GET is allowed here")
        for name, values in query.items():
            if len(values) > 1:
                return servicefabric_error(400, "BadRequest", "Query parameter '%s' given more than once" % name)
        if query.get("api-version", [None])[0] != SERVICEFABRIC_API_VERSION:
            return servicefabric_error(400, "InvalidApiVersion", "api-version must be %s" % SERVICEFABRIC_API_VERSION)
        got = self.headers.get("Secret")
        if got is None:
            return servicefabric_error(401, "SecretHeaderNotFound", "The Secret header is missing")
        if not secrets.compare_digest(got.encode(), str(c["identity_header"]).encode()):
            return servicefabric_error(401, "SecretHeaderInvalid", "The Secret header is wrong")
        resource = query.get("resource", [None])[0]
        if not resource:
            return servicefabric_error(400, "ResourceNotFound", "The resource query parameter is missing")
        extra = sorted(set(query) - {"api-version", "resource"})
        if extra:
            return servicefabric_error(400, "BadRequest", "Unexpected query parameters: %s" % ", ".join(extra))
        ident = st.find_identity(c, None, None)
        if ident is None:
            return servicefabric_error(400, "IdentityNotFound", "The application has no managed identity")
        now = int(time.time())
        token, _, _, exp = st.mint(c, ident, resource, now)
        return Answer(200, {"access_token": token, "expires_on": exp, "token_type": "Bearer",
                            "resource": resource})

    # --- Entra token endpoint -----------------------------------------------------------

    def entra_token(self, c, method, tenant, path, entry):
        st = self.server.standin
        hdrs = entry["headers"]

        def err(status, error, code, text):
            return entra_error(status, error, code, text, hdrs)

        if method != "POST":
            return err(405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
        if tenant.lower() != c["tenant_id"].lower():
            if tenant.lower() in ("common", "organizations", "consumers"):
                return err(400, "invalid_request", 50059,
                           "No tenant-identifying information found in the request: name the tenant "
                           "for the client credentials grant.")
            return err(400, "invalid_request", 90002,
                       "Tenant '%s' not found. Check that the tenant id is right and that you are "
                       "signing in to the right cloud." % tenant)
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            return err(400, "invalid_request", 900144,
                       "The request body must be application/x-www-form-urlencoded.")
        form = urllib.parse.parse_qs(entry["body"], keep_blank_values=True)
        for k, v in form.items():
            if len(v) > 1:
                return err(400, "invalid_request", 90015, "Parameter '%s' is duplicated." % k)
        f = {k: v[0] for k, v in form.items()}
        for name in ("grant_type", "client_id", "scope"):
            if not f.get(name):
                return err(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: '%s'." % name)
        if f["grant_type"] != "client_credentials":
            return err(400, "unsupported_grant_type", 70003,
                       "The app requested an unsupported grant type '%s'." % f["grant_type"])
        scopes = f["scope"].split()
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return err(400, "invalid_scope", 1002012,
                       "The provided value for scope %s is not valid. Client credential flows must have "
                       "a scope value with /.default suffixed to the resource identifier "
                       "(application ID URI)." % f["scope"])
        resource = scopes[0][: -len("/.default")]
        sp = st.find_sp(c, f["client_id"])
        if sp is None:
            return err(400, "unauthorized_client", 700016,
                       "Application with identifier '%s' was not found in the directory '%s'."
                       % (f["client_id"], c["tenant_id"]))
        has_secret = "client_secret" in f
        has_assertion = "client_assertion" in f or "client_assertion_type" in f
        if has_secret and has_assertion:
            return err(400, "invalid_request", 90023,
                       "Send either client_secret or client_assertion, not both.")
        if has_secret:
            ok = any(secrets.compare_digest(f["client_secret"].encode(), str(x).encode())
                     for x in sp.get("secrets") or [])
            if not ok:
                return err(401, "invalid_client", 7000215,
                           "Invalid client secret provided. Ensure the secret being sent in the request "
                           "is the client secret value, not the client secret ID, for a secret added "
                           "to app '%s'." % sp["client_id"])
            appidacr = "1"
        elif has_assertion:
            if f.get("client_assertion_type") != JWT_BEARER:
                return err(400, "invalid_request", 50027 if f.get("client_assertion_type") else 900144,
                           "client_assertion_type must be %s." % JWT_BEARER)
            if not f.get("client_assertion"):
                return err(400, "invalid_request", 900144,
                           "The request body must contain the following parameter: 'client_assertion'.")
            token_url = self.authority_base(c) + path
            bad = self.check_assertion(c, sp, f["client_assertion"], token_url, entry)
            if bad:
                return err(*bad)
            appidacr = "2"
        else:
            return err(401, "invalid_client", 7000218,
                       "The request body must contain the following parameter: 'client_assertion' "
                       "or 'client_secret'.")
        if f.get("token_type") == "ssh-cert":
            import standin_sshcert
            if scopes[0] not in standin_sshcert.PAS_SCOPES:
                return err(400, "invalid_scope", 1002012, "ssh-cert tokens are issued for the Azure Linux VM "
                                                          "Sign-In scope only, not %s." % scopes[0])
            why = standin_sshcert.problem(f)
            if why:
                return err(400, "invalid_request", 900144, "Invalid ssh-cert request: %s." % why)
            blob = standin_sshcert.issue(st.signer, c, sp, f)
            return Answer(200, {"token_type": "ssh-cert", "expires_in": 3599, "ext_expires_in": 3599,
                                "access_token": blob})
        problem = st.resource_problem(c, resource)
        if problem:
            return err(400, "invalid_resource", 500011,
                       "The resource principal named %s was not found in the tenant." % resource)
        now = int(time.time())
        lifetime = int(c.get("entra_token_lifetime", 3599))
        ident = {"client_id": sp["client_id"], "object_id": sp["object_id"], "resource_id": None}
        token, _, _, exp = st.mint(c, ident, resource, now, lifetime=lifetime, appidacr=appidacr)
        return Answer(200, {"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime,
                            "access_token": token})

    def check_assertion(self, c, sp, assertion, token_url, entry):
        """None when the assertion is good, else (status, error, code, text).
        A certificate assertion has iss = sub = client id; anything else is
        taken as a federated (workload identity) assertion.  What was checked
        goes into the request record under "assertion"."""
        from cryptography.exceptions import InvalidSignature

        def bad(code, text, status=401, error="invalid_client"):
            entry["assertion"] = dict(entry.get("assertion") or {}, ok=False, why=text)
            return (status, error, code, text)

        parts = assertion.split(".")
        if len(parts) != 3:
            return bad(50027, "The client assertion is not a valid JWT (it must have three parts).",
                       400, "invalid_request")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            sig = _b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError):
            return bad(50027, "The client assertion is not a valid JWT (bad base64url or JSON).",
                       400, "invalid_request")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return bad(50027, "The client assertion is not a valid JWT.", 400, "invalid_request")
        signing_input = (parts[0] + "." + parts[1]).encode("ascii")
        now = int(time.time())
        skew = int(c.get("assertion_skew", 60))
        entry["assertion"] = {"header": header, "claims": claims}
        cid = sp["client_id"]
        if claims.get("iss") == cid and claims.get("sub") == cid:
            entry["assertion"]["kind"] = "certificate"
            alg = header.get("alg")
            if alg not in ("PS256", "RS256"):
                return bad(700027, "Client assertion uses the unsupported algorithm %r." % alg)
            certs = []
            for pem in sp.get("certificates") or []:
                cert = x509.load_pem_x509_certificate(pem.encode() if isinstance(pem, str) else pem)
                certs.append((cert, cert.public_bytes(serialization.Encoding.DER)))
            found = None
            for cert, der in certs:
                if header.get("x5t#S256") and header["x5t#S256"] == b64url(hashlib.sha256(der).digest()):
                    found = (cert, der)
                elif header.get("x5t") and header["x5t"] == b64url(hashlib.sha1(der).digest()):
                    found = (cert, der)
            if found is None:
                return bad(700027, "Client assertion failed signature validation: the key named by "
                                   "x5t#S256/x5t was not found among the application's certificates.")
            cert, der = found
            if "x5c" in header:
                chain = header["x5c"]
                try:
                    leaf = base64.b64decode(chain[0], validate=True) if isinstance(chain, list) and chain else b""
                except ValueError:
                    leaf = b""
                if leaf != der:
                    return bad(700027, "Client assertion x5c does not start with the registered certificate.")
            pub = cert.public_key()
            try:
                if alg == "PS256":
                    pub.verify(sig, signing_input,
                               padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                               hashes.SHA256())
                else:
                    pub.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
            except (InvalidSignature, ValueError, TypeError):
                return bad(700027, "Client assertion contains an invalid signature.")
            if claims.get("aud") != token_url:
                return bad(700027, "The audience of the client assertion is %r; it must be the token "
                                   "endpoint %r." % (claims.get("aud"), token_url))
            if not claims.get("jti") or not isinstance(claims.get("jti"), str):
                return bad(700027, "The client assertion has no jti claim.")
            nbf, exp = claims.get("nbf"), claims.get("exp")
            if not isinstance(exp, int) or (nbf is not None and not isinstance(nbf, int)):
                return bad(700027, "The client assertion's exp and nbf must be integers.")
            if nbf is None:
                nbf = claims.get("iat") if isinstance(claims.get("iat"), int) else exp - 600
            if nbf > now + skew or exp < now - skew:
                return bad(700024, "Client assertion is not within its valid time range "
                                   "(nbf %s, exp %s, now %s)." % (nbf, exp, now))
            if exp - nbf > int(c.get("assertion_max_lifetime", 600)) + skew:
                return bad(700027, "The client assertion lives %d s; at most %s s is allowed."
                           % (exp - nbf, c.get("assertion_max_lifetime", 600)))
            entry["assertion"]["ok"] = True
            return None
        # A federated assertion: a token this stand-in issued.
        entry["assertion"]["kind"] = "federated"
        if header.get("alg") != "RS256" or header.get("kid") != self.server.standin.signer.kid:
            return bad(700027, "Client assertion failed signature validation (unknown signing key).")
        try:
            self.server.standin.signer.key.public_key().verify(sig, signing_input, padding.PKCS1v15(),
                                                               hashes.SHA256())
        except InvalidSignature:
            return bad(700027, "Client assertion contains an invalid signature.")
        creds = sp.get("federated") or []
        by_issuer = [fc for fc in creds if fc.get("issuer") == claims.get("iss")]
        if not by_issuer:
            return bad(700211, "No matching federated identity record found for presented assertion "
                               "issuer '%s'." % claims.get("iss"), 400, "invalid_request")
        by_subject = [fc for fc in by_issuer if fc.get("subject") == claims.get("sub")]
        if not by_subject:
            return bad(700213, "No matching federated identity record found for presented assertion "
                               "subject '%s'." % claims.get("sub"), 400, "invalid_request")
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(fc.get("audience", TOKEN_EXCHANGE_AUDIENCE) in auds for fc in by_subject):
            return bad(700212, "No matching federated identity record found for presented assertion "
                               "audience '%s'." % aud, 400, "invalid_request")
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat"))
        if not isinstance(exp, int) or exp < now - skew or (isinstance(nbf, int) and nbf > now + skew):
            return bad(700024, "Client assertion is not within its valid time range "
                               "(nbf %s, exp %s, now %s)." % (nbf, exp, now), 400, "invalid_request")
        entry["assertion"]["ok"] = True
        return None

    def authority_base(self, c):
        if c.get("authority_base"):
            return c["authority_base"].rstrip("/")
        scheme = "https" if self.server.tls else "http"
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "%s://%s" % (scheme, host)

    def tenant_ok(self, c, tid):
        return tid.lower() in (c["tenant_id"].lower(), "common", "organizations")

    def tenant_error(self, tid):
        return Answer(400, {"error": "invalid_tenant",
                            "error_description": "Tenant '%s' is not known here" % tid})

    def jwks(self, c, parts):
        st = self.server.standin
        tid = parts[0]
        if not self.tenant_ok(c, tid):
            return self.tenant_error(tid)
        if parts[1:] not in (["discovery", "keys"], ["discovery", "v2.0", "keys"]):
            return Answer(404, {"error": {"code": "NotFound", "message": "No such path"}})
        issuer = "https://login.microsoftonline.com/%s/v2.0" % (c["tenant_id"] if tid in ("common", "organizations") else tid)
        if parts[2] != "v2.0":
            issuer = "https://login.microsoftonline.com/{tenantid}/v2.0"
        return Answer(200, {"keys": [st.signer.jwk(issuer)] + [o.jwk(issuer) for o in st.old_signers]})

    def discovery(self, c, parts):
        tid = parts[0] if parts else ""
        v2 = parts[1:] == ["v2.0", ".well-known", "openid-configuration"]
        v1 = parts[1:] == [".well-known", "openid-configuration"]
        if not (v1 or v2):
            return Answer(404, {"error": {"code": "NotFound", "message": "No such path"}})
        if not self.tenant_ok(c, tid):
            return self.tenant_error(tid)
        real_tid = c["tenant_id"]
        base = self.authority_base(c)
        if v2:
            doc = {
                "token_endpoint": "%s/%s/oauth2/v2.0/token" % (base, tid),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": "%s/%s/discovery/v2.0/keys" % (base, tid),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": "https://login.microsoftonline.com/%s/v2.0" % real_tid,
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (base, tid),
                "device_authorization_endpoint": "%s/%s/oauth2/v2.0/devicecode" % (base, tid),
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": "%s/%s/oauth2/v2.0/logout" % (base, tid),
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                     "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        else:
            doc = {
                "token_endpoint": "%s/%s/oauth2/token" % (base, tid),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": "%s/%s/discovery/keys" % (base, tid),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "token id_token", "token"],
                "scopes_supported": ["openid"],
                "issuer": "https://sts.windows.net/%s/" % real_tid,
                "microsoft_multi_refresh_token": True,
                "authorization_endpoint": "%s/%s/oauth2/authorize" % (base, tid),
                "device_authorization_endpoint": "%s/%s/oauth2/devicecode" % (base, tid),
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": "%s/%s/oauth2/logout" % (base, tid),
                "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                     "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat",
                                     "auth_time", "acr", "amr", "nonce", "email", "given_name",
                                     "family_name", "nickname"],
                "check_session_iframe": "%s/%s/oauth2/checksession" % (base, tid),
                "userinfo_endpoint": "%s/%s/openid/userinfo" % (base, tid),
                "kerberos_endpoint": "%s/%s/kerberos" % (base, tid),
                "tenant_region_scope": "EU",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net",
            }
        return Answer(200, doc)

    # --- control API -----------------------------------------------------------

    def control(self, method, path, query, body):
        st = self.server.standin
        name = path[len(CONTROL_PREFIX):].strip("/")

        def parse():
            try:
                return json.loads(body.decode("utf-8") or "{}")
            except (ValueError, UnicodeDecodeError) as e:
                raise ValueError("body is not JSON: %s" % e)

        try:
            if name == "reset" and method == "POST":
                st.reset()
                return Answer(200, {"ok": True})
            if name == "config" and method == "POST":
                doc = parse()
                if not isinstance(doc, dict):
                    raise ValueError("config must be a JSON object")
                with st.lock:
                    deep_merge(st.config, doc)
                return Answer(200, {"ok": True, "config": st.cfg()})
            if name == "config" and method == "GET":
                return Answer(200, st.cfg())
            if name == "script" and method == "POST":
                doc = parse()
                if not isinstance(doc, dict) or not isinstance(doc.get("path"), str) \
                        or not isinstance(doc.get("responses"), list):
                    raise ValueError('expected {"path": "...", "responses": [...]}')
                listener = doc.get("listener")
                if listener is not None and not isinstance(listener, str):
                    raise ValueError("listener must be a name")
                st.add_script(doc["path"], doc["responses"], listener)
                return Answer(200, {"ok": True})
            if name == "requests" and method == "GET":
                want = query.get("path", [None])[0]
                lis = query.get("listener", [None])[0]
                with st.lock:
                    out = [r for r in st.requests if (want is None or r["path"] == want)
                           and (lis is None or r.get("listener") == lis)]
                    out = copy.deepcopy(out)
                return Answer(200, out)
            if name == "rotate-key" and method == "POST":
                doc = parse()
                with st.lock:
                    st.old_signers = [st.signer] + st.old_signers if doc.get("keep_old") else []
                    st.signer = Signer()
                return Answer(200, {"ok": True, "kid": st.signer.kid})
            if name == "federated-token" and method == "POST":
                doc = parse()
                if not isinstance(doc, dict):
                    raise ValueError("expected a JSON object")
                return Answer(200, {"token": st.federated_token(st.cfg(), doc)})
            if name == "mint" and method == "POST":
                doc = parse()
                if not isinstance(doc, dict) or not isinstance(doc.get("resource"), str):
                    raise ValueError('expected {"resource": "...", ...}')
                c = st.cfg()
                cid = doc.get("client_id")
                ident = st.find_identity(c, "client_id" if cid else None, cid) if cid else \
                    st.find_identity(c, None, None)
                if ident is None:
                    sp = st.find_sp(c, cid)
                    if sp is None:
                        raise ValueError("no identity or service principal %r" % cid)
                    ident = {"client_id": sp["client_id"], "object_id": sp["object_id"], "resource_id": None}
                now = int(time.time())
                token, _, _, exp = st.mint(c, ident, doc["resource"], now, lifetime=doc.get("lifetime"),
                                           extra=doc.get("claims"))
                return Answer(200, {"access_token": token, "expires_on": exp})
            if name == "state" and method == "GET":
                return Answer(200, st.state())
            if name == "health" and method == "GET":
                return Answer(200, {"ok": True})
        except ValueError as e:
            return Answer(400, {"error": str(e)})
        return Answer(404, {"error": "unknown control path %s %s" % (method, path)})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, addr, standin, tls_ctx=None, name="main", role="main"):
        self.standin = standin
        self.tls = tls_ctx
        self.name = name
        self.role = role
        super().__init__(addr, Handler)

    def finish_request(self, request, client_address):
        if self.tls is not None:
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
                request.settimeout(None)
            except (ssl.SSLError, OSError) as e:
                self.standin.log("TLS handshake with %s failed: %s", client_address, e)
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        if self.standin.verbose:
            super().handle_error(request, client_address)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local stand-in for Azure managed-identity endpoints")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--port-file", help="written with the port once listening")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--state", help="JSON file merged into the default config at start (and at every reset)")
    ap.add_argument("--dump-state", help="write the state (config, public key, kid) here once listening")
    ap.add_argument("--signing-key", help="PEM RSA private key to sign tokens with (default: a new one)")
    ap.add_argument("--listener", action="append", default=[], metavar="SPEC",
                    help="another listener sharing the state: name=N,role=main|arc|sf|acr[,port=P]"
                         "[,cert=PEM,key=PEM] (https with cert and key)")
    ap.add_argument("--ports-file", help="written with {name: port} of every listener once listening")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    overrides = {}
    if args.state:
        with open(args.state) as f:
            overrides = json.load(f)
    signer = Signer(args.signing_key)
    st = Standin(signer, overrides, verbose=args.verbose)

    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)

    server = Server((args.bind, args.port), st, tls_ctx)
    port = server.server_address[1]
    st.ports["main"] = port
    st.log("listening on %s:%d%s", args.bind, port, " (TLS)" if tls_ctx else "")
    extra = []
    for spec in args.listener:
        opts = dict(kv.split("=", 1) for kv in spec.split(",") if kv)
        name, role = opts.get("name"), opts.get("role", "main")
        if not name or name in st.ports or role not in ("main", "arc", "sf", "acr"):
            ap.error("bad --listener %r" % spec)
        ctx = None
        if opts.get("cert"):
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(opts["cert"], opts.get("key"))
        srv = Server((opts.get("bind", args.bind), int(opts.get("port", 0))), st, ctx, name=name, role=role)
        st.ports[name] = srv.server_address[1]
        st.log("listener %s (%s) on %s:%d%s", name, role, opts.get("bind", args.bind), st.ports[name],
               " (TLS)" if ctx else "")
        extra.append(srv)
    for srv in extra:
        threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    if args.ports_file:
        tmp = args.ports_file + ".tmp"
        with open(tmp, "w") as f:
            json.dump(st.ports, f)
        os.replace(tmp, args.ports_file)
    if args.dump_state:
        tmp = args.dump_state + ".tmp"
        with open(tmp, "w") as f:
            json.dump(dict(st.state(), port=port, bind=args.bind), f, indent=1)
        os.replace(tmp, args.dump_state)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if st.arc_tmp:
            import shutil
            shutil.rmtree(st.arc_tmp, ignore_errors=True)
    return 0


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.exit(main())

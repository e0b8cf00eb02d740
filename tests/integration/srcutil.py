"""Helpers shared by the credential-source and chain tests (test_sources.py,
test_chain.py, test_arc.py): environments for each source, the fake Azure
CLI, a black-holed listener, and running azmi in a private mount namespace
or a fresh network namespace."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse

from harness import (AZMI, IMDS_TOKEN_PATH, WRAPPER, AzmiTestCase, Result, shared_pki)
from standin_client import ClientCert, jwt_parts, jwt_verify

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_AZ = os.path.join(HERE, "fake_az.py")

AZUREML_PATH = "/MSI/auth"
CLOUDSHELL_PATH = "/oauth2/token"
ARC_PATH = IMDS_TOKEN_PATH
SF_PATH = IMDS_TOKEN_PATH
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ARC_TOKENS_DIR = "/var/opt/azcmagent/tokens"
LINKS = ("environment", "workload_identity", "managed_identity", "azure_cli")

# Every variable a credential source looks at: never inherited.
SOURCE_VARS = (
    "AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS", "IDENTITY_ENDPOINT", "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "DEFAULT_IDENTITY_CLIENT_ID",
    "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_REGIONAL_AUTHORITY_NAME",
)


def form(body):
    return urllib.parse.parse_qs(body, keep_blank_values=True)


def b64url_decode(s):
    import base64
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def black_hole(addr, port):
    """A listening socket whose accept queue is full, so the kernel drops
    further SYNs and a connect() to it hangs (as to a filtered address).
    Returns the sockets to close afterwards."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(0)
    socks = [srv]
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        try:
            c.connect((addr, port))
        except (BlockingIOError, OSError):
            pass
        socks.append(c)
    time.sleep(0.05)
    probe = socket.socket()
    probe.settimeout(0.4)
    try:
        probe.connect((addr, port))
        hung = False
    except socket.timeout:
        hung = True
    except OSError:
        hung = False
    probe.close()
    if not hung:
        for s in socks:
            s.close()
        raise AssertionError("could not black-hole %s:%d" % (addr, port))
    return socks


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def _can_unshare_mount():
    try:
        return subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


CAN_UNSHARE_MOUNT = None


def can_unshare_mount():
    global CAN_UNSHARE_MOUNT
    if CAN_UNSHARE_MOUNT is None:
        CAN_UNSHARE_MOUNT = _can_unshare_mount()
    return CAN_UNSHARE_MOUNT


class SourceTestCase(AzmiTestCase):
    """AzmiTestCase with environments for every credential source."""

    def base_env(self, imds=True, cache_dir=None):
        env = super().base_env(imds=imds, cache_dir=cache_dir)
        for k in SOURCE_VARS:
            env.pop(k, None)
        return env

    # --- what the stand-in knows ------------------------------------------------------

    def cfg(self):
        return self.standin.state()["config"]

    def tenant(self):
        return self.standin.state()["tenant_id"]

    def sp(self):
        return self.cfg()["service_principals"][0]

    def secret_header(self):
        return self.cfg()["identity_header"]

    def url(self, listener):
        return self.standin.urls[listener]

    def entra_path(self):
        return "/%s/oauth2/v2.0/token" % self.tenant()

    def entra_requests(self):
        return [q for q in self.standin.requests(listener="entra") if q["path"].endswith("/oauth2/v2.0/token")]

    def mi_requests(self):
        """Requests to any managed-identity endpoint (everything but Entra)."""
        return [q for q in self.all_requests() if q.get("listener") != "entra"]

    # --- environments ---------------------------------------------------------------------

    def entra_env(self, env=None, imds=True):
        env = self.base_env(imds=imds) if env is None else env
        env["AZURE_AUTHORITY_HOST"] = self.url("entra")
        env["AZMI_CA_FILE"] = shared_pki()["ca"]
        return env

    def secret_env(self, secret=None, imds=True):
        sp = self.sp()
        env = self.entra_env(imds=imds)
        env["AZURE_TENANT_ID"] = self.tenant()
        env["AZURE_CLIENT_ID"] = sp["client_id"]
        env["AZURE_CLIENT_SECRET"] = sp["secrets"][0] if secret is None else secret
        return env

    def cert_env(self, cc=None, password=None, chain=False, key_first=False, send_chain=None, imds=True,
                 register=True):
        """A service principal certificate (registered with the stand-in) in
        a PEM file; returns (env, ClientCert, pem path)."""
        cc = cc or ClientCert()
        path = os.path.join(self.tmp, "sp-cert.pem")
        cc.write(path, password=password, key_first=key_first, with_chain=chain)
        if register:
            sps = self.cfg()["service_principals"]
            sps[0]["certificates"] = [cc.pem()]
            self.standin.config(service_principals=sps)
        sp = self.sp()
        env = self.entra_env(imds=imds)
        env["AZURE_TENANT_ID"] = self.tenant()
        env["AZURE_CLIENT_ID"] = sp["client_id"]
        env["AZURE_CLIENT_CERTIFICATE_PATH"] = path
        if password is not None:
            env["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = password
        if send_chain is not None:
            env["AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"] = send_chain
        return env, cc, path

    def federated_file(self, token=None, suffix="\n", name="federated-token"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write((token if token is not None else self.standin.federated_token()) + suffix)
        return path

    def wi_env(self, token_file=None, imds=True):
        sp = self.sp()
        env = self.entra_env(imds=imds)
        env["AZURE_TENANT_ID"] = self.tenant()
        env["AZURE_CLIENT_ID"] = sp["client_id"]
        env["AZURE_FEDERATED_TOKEN_FILE"] = token_file or self.federated_file()
        return env

    def azureml_env(self, path=AZUREML_PATH, imds=True):
        env = self.base_env(imds=imds)
        env["MSI_ENDPOINT"] = self.standin.url + path
        env["MSI_SECRET"] = self.secret_header()
        return env

    def cloudshell_env(self, imds=True):
        env = self.base_env(imds=imds)
        env["MSI_ENDPOINT"] = self.standin.url + CLOUDSHELL_PATH
        return env

    def sf_env(self, thumbprint=None, imds=True):
        env = self.base_env(imds=imds)
        env["IDENTITY_ENDPOINT"] = self.url("sf") + SF_PATH
        env["IDENTITY_HEADER"] = self.secret_header()
        env["IDENTITY_SERVER_THUMBPRINT"] = thumbprint or shared_pki()["sf_thumbprint"]
        return env

    def arc_env(self, imds=True):
        env = self.base_env(imds=imds)
        env["IDENTITY_ENDPOINT"] = self.url("arc") + ARC_PATH
        env["IMDS_ENDPOINT"] = "http://127.0.0.1:9"
        return env

    # --- the fake Azure CLI ------------------------------------------------------------

    def fake_az(self, mode="ok", resource="https://management.azure.com", **cfg):
        """Install the fake `az` in a bin dir of this test; returns (bindir,
        the token it prints, its expires_on)."""
        bindir = os.path.join(self.tmp, "azbin")
        os.makedirs(bindir, exist_ok=True)
        shutil.copy(FAKE_AZ, os.path.join(bindir, "az"))
        os.chmod(os.path.join(bindir, "az"), 0o755)
        minted = self.standin.mint(resource, lifetime=3600)
        doc = {"mode": mode, "accessToken": minted["access_token"], "expires_on": minted["expires_on"]}
        doc.update(cfg)
        with open(os.path.join(bindir, "az.json"), "w") as f:
            json.dump(doc, f)
        return bindir, doc["accessToken"], doc["expires_on"]

    def az_log(self):
        path = os.path.join(self.tmp, "azbin", "az.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]

    def with_az(self, env, bindir):
        env["PATH"] = bindir + ":" + env["PATH"]
        return env

    # --- running azmi elsewhere ---------------------------------------------------------

    def run_cmd(self, cmd, args, env, timeout=60):
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("azmi %s did not finish within %s s; stderr: %r"
                                 % (" ".join(args), timeout, (e.stderr or b"")[:2000]))
        return Result(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), time.monotonic() - start)

    def azmi_mountns(self, *args, env, setup=(), user=None, timeout=60):
        """azmi in a private mount namespace after the shell commands in
        `setup` (mounts there never reach the host).  user: (uid, gid) to
        drop to with setpriv, supplementary groups cleared."""
        if not can_unshare_mount():
            self.skipTest("cannot create a private mount namespace here")
        script = "set -e\n" + "\n".join(setup) + '\nexec "$@"\n'
        inner = WRAPPER + [AZMI] + list(args)
        if user is not None:
            inner = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1], "--clear-groups"] + inner
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + inner
        return self.run_cmd(cmd, args, env, timeout)

    def azmi_fresh_netns(self, *args, env, timeout=60):
        """azmi in a new network namespace with only lo up: 169.254.169.254
        is not even an address there."""
        cmd = ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh"] + WRAPPER + [AZMI] + list(args)
        r = self.run_cmd(cmd, args, env, timeout)
        if r.rc != 0 and "unshare failed" in r.stderr:
            self.skipTest("cannot create a network namespace: %s" % r.stderr.strip())
        return r

    # --- checks ------------------------------------------------------------------------------

    def assertJsonSource(self, r, source):
        self.assertOk(r)
        out = json.loads(r.stdout)
        self.assertEqual(out.get("source"), source, r)
        return out

    def check_sp_token(self, token, resource, client_id=None, object_id=None):
        """An app token for the service principal, from the Entra endpoint."""
        st = self.standin.state()
        sp = self.sp()
        claims = jwt_verify(token, st["public_key_pem"])
        self.assertEqual(claims["aud"], resource.rstrip("/"))
        self.assertEqual(claims["appid"], client_id or sp["client_id"])
        self.assertEqual(claims["oid"], object_id or sp["object_id"])
        self.assertEqual(claims["idtyp"], "app")
        self.assertEqual(claims["tid"], st["tenant_id"])
        self.assertNotIn("xms_mirid", claims)
        return claims

    def assertLinkLines(self, r):
        """stderr has one line for each link of the chain, saying why it did
        not give a token ("environment: ...")."""
        lines = []
        for ln in r.stderr.splitlines():
            ln = ln.strip()
            if ln.startswith("azmi:"):
                ln = ln[len("azmi:"):].strip()
            lines.append(ln.lstrip("-*").strip())
        for link in LINKS:
            hits = [ln for ln in lines if ln.lower().startswith(link + ":")]
            self.assertEqual(len(hits), 1, "not one line for %s in: %r" % (link, r))
            self.assertGreater(len(hits[0]), len(link) + 3, "the %s line says nothing: %r" % (link, hits[0]))

    def jwt(self, token):
        return jwt_parts(token)

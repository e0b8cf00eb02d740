"""Start, stop and drive the Azure stand-in (standin.py) from Python tests.

    with Standin() as s:
        s.script("/metadata/identity/oauth2/token", [{"status": 410}, {"status": 200}])
        ... run azmi with AZURE_POD_IDENTITY_AUTHORITY_HOST=s.url ...
        reqs = s.requests("/metadata/identity/oauth2/token")

Control calls go only to the address the stand-in is bound to, with every
proxy setting ignored.
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
STANDIN = os.path.join(HERE, "standin.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token"
APPSERVICE_PATH = "/msi/token"


def _die_with_parent():
    """In the child: get SIGTERM when the process that started it exits, so
    a killed test run leaves no stand-in behind (Linux prctl)."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class StandinError(Exception):
    pass


class Standin:
    """The stand-in as a subprocess.

    bind, port: where it listens (port 0 picks a free one).
    tls: None, or (cert_path, key_path) to serve https.
    signing_key: PEM RSA key path, to skip key generation.
    state: JSON file of config overrides applied at start and at every reset.
    """

    def __init__(self, bind="127.0.0.1", port=0, tls=None, signing_key=None, state=None,
                 verbose=None, start_timeout=15):
        self.bind = bind
        self.port = port
        self.tls = tls
        self.signing_key = signing_key
        self.state_file = state
        self.verbose = os.environ.get("STANDIN_VERBOSE") == "1" if verbose is None else verbose
        self.start_timeout = start_timeout
        self.proc = None
        self.tmp = None
        self.url = None
        self.log_path = None
        handlers = [urllib.request.ProxyHandler({})]
        if tls:
            handlers.append(urllib.request.HTTPSHandler(context=ssl._create_unverified_context()))
        self._opener = urllib.request.build_opener(*handlers)

    # --- life cycle ----------------------------------------------------------

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="standin-")
        port_file = os.path.join(self.tmp, "port")
        self.log_path = os.path.join(self.tmp, "standin.log")
        cmd = [PYTHON, STANDIN, "--bind", self.bind, "--port", str(self.port), "--port-file", port_file]
        if self.tls:
            cmd += ["--tls-cert", self.tls[0], "--tls-key", self.tls[1]]
        if self.signing_key:
            cmd += ["--signing-key", self.signing_key]
        if self.state_file:
            cmd += ["--state", self.state_file]
        if self.verbose:
            cmd.append("--verbose")
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                                     env=env, close_fds=True, preexec_fn=_die_with_parent)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                break
            if self.proc.poll() is not None:
                raise StandinError("stand-in exited with %s: %s" % (self.proc.returncode, self.log_tail()))
            time.sleep(0.02)
        else:
            self.stop()
            raise StandinError("stand-in did not start within %s s" % self.start_timeout)
        host = self.bind if ":" not in self.bind else "[%s]" % self.bind
        scheme = "https" if self.tls else "http"
        default_port = 443 if self.tls else 80
        self.url = "%s://%s" % (scheme, host) if self.port == default_port else \
            "%s://%s:%d" % (scheme, host, self.port)
        return self

    def stop(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
            self._log.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def log_tail(self, n=4000):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    # --- control API ---------------------------------------------------------

    def _call(self, method, path, doc=None, query=None):
        url = self.url + "/_standin/" + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = {}
        if doc is not None:
            data = json.dumps(doc).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=10) as r:
                return json.loads(r.read().decode())
        except urllib.error.HTTPError as e:
            raise StandinError("%s %s: %s %s" % (method, path, e.code, e.read().decode("utf-8", "replace")))

    def reset(self):
        return self._call("POST", "reset", {})

    def config(self, doc=None, **kw):
        merged = dict(doc or {})
        merged.update(kw)
        return self._call("POST", "config", merged)["config"]

    def script(self, path, responses):
        return self._call("POST", "script", {"path": path, "responses": list(responses)})

    def requests(self, path=None):
        return self._call("GET", "requests", query={"path": path} if path else None)

    def state(self):
        return self._call("GET", "state")

    # --- plain requests to the stand-in (for self-tests) -------------------------

    def get(self, path, headers=None):
        """GET path on the stand-in; returns (status, headers, body bytes)."""
        req = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with self._opener.open(req, timeout=10) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()


# --- JWT helpers for tests -----------------------------------------------------

def _b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    """(header dict, claims dict, signing input bytes, signature bytes)."""
    h, p, s = token.split(".")
    return (json.loads(_b64url_decode(h)), json.loads(_b64url_decode(p)),
            (h + "." + p).encode("ascii"), _b64url_decode(s))


def jwt_verify(token, public_key_pem):
    """Check the RS256 signature with the stand-in's key; returns the claims
    or raises cryptography.exceptions.InvalidSignature."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    header, claims, signing_input, sig = jwt_parts(token)
    if header.get("alg") != "RS256":
        raise ValueError("alg is %r" % header.get("alg"))
    key = serialization.load_pem_public_key(public_key_pem.encode())
    key.verify(sig, signing_input, padding.PKCS1v15(), hashes.SHA256())
    return claims


def make_signing_key(path):
    """Write a fresh RSA-2048 PEM key to `path` (to share one key across starts)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return path

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
                 verbose=None, start_timeout=15, listeners=None):
        """listeners: more ports sharing the state, each a dict with name,
        role (main, arc, sf), and optionally port, cert, key (https), bind.
        After start(), urls[name] is each listener's base URL ("main" too)."""
        self.listeners = list(listeners or [])
        self.urls = {}
        self.ports = {}
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
        ports_file = os.path.join(self.tmp, "ports.json")
        if self.listeners:
            cmd += ["--ports-file", ports_file]
        for lis in self.listeners:
            cmd += ["--listener", ",".join("%s=%s" % (k, v) for k, v in lis.items() if v is not None)]
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
        self.urls = {"main": self.url}
        self.ports = {"main": self.port}
        if self.listeners:
            with open(ports_file) as f:
                ports = json.load(f)
            for lis in self.listeners:
                b = lis.get("bind") or self.bind
                h = b if ":" not in b else "[%s]" % b
                self.ports[lis["name"]] = ports[lis["name"]]
                self.urls[lis["name"]] = "%s://%s:%d" % ("https" if lis.get("cert") else "http", h,
                                                         ports[lis["name"]])
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

    def script(self, path, responses, listener=None):
        doc = {"path": path, "responses": list(responses)}
        if listener:
            doc["listener"] = listener
        return self._call("POST", "script", doc)

    def requests(self, path=None, listener=None):
        q = {}
        if path:
            q["path"] = path
        if listener:
            q["listener"] = listener
        return self._call("GET", "requests", query=q or None)

    def federated_token(self, **doc):
        return self._call("POST", "federated-token", doc)["token"]

    def mint(self, resource, **doc):
        return self._call("POST", "mint", dict(doc, resource=resource))

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


# --- certificates for tests ------------------------------------------------------

def _write(path, data, mode=0o600):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def _name(cn):
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _key_pem(key, password=None):
    from cryptography.hazmat.primitives import serialization
    enc = serialization.BestAvailableEncryption(password.encode()) if password else \
        serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def cert_pem(cert):
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.PEM)


def cert_der(cert):
    from cryptography.hazmat.primitives import serialization
    return cert.public_bytes(serialization.Encoding.DER)


AUTHORITY_HOSTS = ("login.microsoftonline.com", "login.microsoftonline.us", "login.chinacloudapi.cn")


def _build(subject, issuer, pub, signer_key, ca=False, server_ip=None, client=False, days=30, dns_names=()):
    import datetime
    import ipaddress
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(pub)
         .serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        b = b.add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                          key_encipherment=False, data_encipherment=False,
                                          key_agreement=False, key_cert_sign=True, crl_sign=True,
                                          encipher_only=False, decipher_only=False), critical=True)
    if server_ip:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address(server_ip)), x509.DNSName("localhost")]
            + [x509.DNSName(n) for n in dns_names]), critical=False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    if client:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    return b.sign(signer_key, hashes.SHA256())


def _rsa():
    from cryptography.hazmat.primitives.asymmetric import rsa
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_test_ca(directory, server_ip="127.0.0.1", dns_names=AUTHORITY_HOSTS):
    """A test CA and a server certificate it issued for `server_ip`,
    localhost and `dns_names` (by default the Entra authority hosts, for
    tests that map them to 127.0.0.1 in a private /etc/hosts).  Returns a
    dict of paths: ca, cert, key."""
    ca_key = _rsa()
    ca = _build(_name("azmi test CA"), _name("azmi test CA"), ca_key.public_key(), ca_key, ca=True,
                days=365)
    key = _rsa()
    cert = _build(_name(server_ip), ca.subject, key.public_key(), ca_key, server_ip=server_ip,
                  dns_names=dns_names)
    return {
        "ca": _write(os.path.join(directory, "test-ca.pem"), cert_pem(ca), 0o644),
        "cert": _write(os.path.join(directory, "server.pem"), cert_pem(cert), 0o644),
        "key": _write(os.path.join(directory, "server-key.pem"), _key_pem(key)),
    }


def make_self_signed(directory, name, server_ip="127.0.0.1"):
    """A self-signed server certificate.  Returns (cert path, key path,
    SHA-1 hex thumbprint of the DER, upper case)."""
    key = _rsa()
    cert = _build(_name("%s self-signed" % name), _name("%s self-signed" % name), key.public_key(), key,
                  server_ip=server_ip)
    import hashlib
    return (_write(os.path.join(directory, name + ".pem"), cert_pem(cert), 0o644),
            _write(os.path.join(directory, name + "-key.pem"), _key_pem(key)),
            hashlib.sha1(cert_der(cert)).hexdigest().upper())


class ClientCert:
    """A service principal's certificate: `leaf` (and its key) issued by an
    intermediate `ca` certificate, so a chain can be sent."""

    def __init__(self):
        self.ca_key = _rsa()
        self.ca = _build(_name("azmi test client CA"), _name("azmi test client CA"),
                         self.ca_key.public_key(), self.ca_key, ca=True)
        self.key = _rsa()
        self.leaf = _build(_name("azmi test service principal"), self.ca.subject, self.key.public_key(),
                           self.ca_key, client=True)

    def pem(self):
        return cert_pem(self.leaf).decode()

    def write(self, path, password=None, key_first=False, with_chain=False):
        """The PEM azmi reads: certificate and private key (optionally
        encrypted with `password`), optionally followed by the CA certificate."""
        parts = [cert_pem(self.leaf), _key_pem(self.key, password)]
        if key_first:
            parts.reverse()
        if with_chain:
            parts.append(cert_pem(self.ca))
        return _write(path, b"".join(parts), 0o600)

    def write_p12(self, path, password=None, with_chain=False, legacy=False):
        """The same as PKCS#12 (.pfx): AES-256 when `password` is given, or
        the SHA-1/3DES encryption older Windows tools write (`legacy`)."""
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.serialization import pkcs12
        if password is None:
            enc = serialization.NoEncryption()
        elif legacy:
            enc = (serialization.PrivateFormat.PKCS12.encryption_builder()
                   .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
                   .hmac_hash(hashes.SHA1()).build(password.encode()))
        else:
            enc = serialization.BestAvailableEncryption(password.encode())
        data = pkcs12.serialize_key_and_certificates(b"azmi test", self.key, self.leaf,
                                                     [self.ca] if with_chain else None, enc)
        return _write(path, data, 0o600)

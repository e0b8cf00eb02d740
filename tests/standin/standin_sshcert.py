"""The stand-in Entra's OpenSSH user certificates (`az ssh vm`).

A client-credentials request with token_type=ssh-cert, req_cnf (the JSON
JWK {"kty":"RSA","n","e","kid"} of the client's RSA key) and key_id = that
kid gets an answer {"token_type":"ssh-cert","access_token":<base64 blob>}
whose certificate is signed with `ssh-keygen -s` by the very RSA key the
stand-in publishes in its JWKS and signs JWTs with, shaped as Entra's: key
ID <oid>@<tid>, one principal (the UPN), the five permit-* extensions and
oid@/tid@/displayname@sshservice.azure.net.

Config "ssh_certs": {client_id: {"oid", "upn", "tid", "name", "validity"}}
says whom a client's certificates name (defaults: the service principal's
object id, its client id as the principal, the stand-in's tenant,
validity "-5m:+60m"); tests use it to play users, guests and other tenants.
"""

import base64
import json
import os
import subprocess
import tempfile

from cryptography.hazmat.primitives import serialization

PAS_SCOPES = ("https://pas.windows.net/CheckMyAccess/Linux/.default",
              "https://pasff.usgovcloudapi.net/CheckMyAccess/Linux/.default",
              "https://pas.chinacloudapi.cn/CheckMyAccess/Linux/.default")


def _b64url_int(s):
    s = s + "=" * (-len(s) % 4)
    return int.from_bytes(base64.urlsafe_b64decode(s), "big")


def _mpint(n):
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if raw and raw[0] & 0x80:
        raw = b"\0" + raw
    return len(raw).to_bytes(4, "big") + raw


def _sshstr(b):
    return len(b).to_bytes(4, "big") + b


def public_key_line(n, e):
    blob = _sshstr(b"ssh-rsa") + _mpint(e) + _mpint(n)
    return "ssh-rsa " + base64.b64encode(blob).decode("ascii")


def problem(form):
    """None when the ssh-cert fields are well formed, else the error text."""
    try:
        cnf = json.loads(form.get("req_cnf", ""))
    except ValueError:
        return "req_cnf is not JSON"
    if not isinstance(cnf, dict) or cnf.get("kty") != "RSA" or not cnf.get("n") or not cnf.get("e"):
        return "req_cnf must be an RSA JWK with n and e"
    if not form.get("key_id") or cnf.get("kid") != form.get("key_id"):
        return "key_id must equal req_cnf's kid"
    try:
        n = _b64url_int(cnf["n"])
    except (ValueError, TypeError):
        return "req_cnf n is not base64url"
    if n.bit_length() < 2048:
        return "the key must be RSA of at least 2048 bits"
    return None


def issue(signer, c, sp, form):
    """The base64 certificate blob for this request (problem() said it is well formed)."""
    cnf = json.loads(form["req_cnf"])
    n, e = _b64url_int(cnf["n"]), _b64url_int(cnf["e"])
    who = dict((c.get("ssh_certs") or {}).get(sp["client_id"]) or {})
    oid = who.get("oid") or sp["object_id"]
    tid = who.get("tid") or c["tenant_id"]
    upn = who.get("upn") or sp["client_id"]
    name = who.get("name") or upn
    validity = who.get("validity") or "-5m:+60m"
    with tempfile.TemporaryDirectory(prefix="standin-ssh-") as d:
        key = os.path.join(d, "ca")
        pem = signer.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption())
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
        pub = os.path.join(d, "user.pub")
        with open(pub, "w") as f:
            f.write(public_key_line(n, e) + "\n")
        argv = ["ssh-keygen", "-q", "-s", key, "-t", "rsa-sha2-256", "-I", "%s@%s" % (oid, tid), "-n", upn,
                "-V", validity, "-O", "clear", "-O", "permit-X11-forwarding", "-O", "permit-agent-forwarding",
                "-O", "permit-port-forwarding", "-O", "permit-pty", "-O", "permit-user-rc",
                "-O", "extension:oid@sshservice.azure.net=%s" % oid,
                "-O", "extension:tid@sshservice.azure.net=%s" % tid,
                "-O", "extension:displayname@sshservice.azure.net=%s" % name, pub]
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        with open(os.path.join(d, "user-cert.pub")) as f:
            return f.read().split()[1]

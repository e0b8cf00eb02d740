#!/usr/bin/python3
"""A stand-in for Azure Repos over https: `git http-backend` behind a small
https front that checks the bearer token, as Azure DevOps does for Entra
tokens of managed identities.

  --require-auth   every request needs "Authorization: Bearer <JWT>" signed by
                   the Azure stand-in's key (--pubkey), audience the Azure
                   DevOps resource, not expired; otherwise 401 with the
                   challenges Azure DevOps sends
  --redirect P=URL requests whose path starts with P get a 302 to URL + the rest

Every request is appended to a JSON-lines log (--log) with its Authorization
values, so a test can tell which server saw which credentials.  Listens on
127.0.0.1 only; standard library, `git http-backend` and python3-cryptography.
"""

import argparse
import base64
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse

ADO_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"
MAX_BODY = 64 * 1024 * 1024
LOCK = threading.Lock()


def b64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def token_ok(auth, public_key):
    """True for "Bearer <RS256 JWT>" signed by the stand-in, for Azure DevOps, not expired."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    if not auth.startswith("Bearer "):
        return False
    try:
        h, p, s = auth[7:].strip().split(".")
        if json.loads(b64url(h)).get("alg") != "RS256":
            return False
        public_key.verify(b64url(s), (h + "." + p).encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        claims = json.loads(b64url(p))
    except Exception:  # noqa: BLE001 - anything wrong is "not valid"
        return False
    return claims.get("aud") == ADO_RESOURCE and int(claims.get("exp", 0)) > time.time()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ado-front"

    def log_message(self, fmt, *args):
        pass

    def body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
                if len(out) > MAX_BODY:
                    raise ValueError("body too large")
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        srv = self.server
        data = self.body()
        auths = self.headers.get_all("Authorization") or []
        with LOCK:
            srv.log.write(json.dumps({"server": srv.name, "method": self.command, "path": self.path,
                                      "host": self.headers.get("Host", ""), "authorization": auths}) + "\n")
            srv.log.flush()
        url = urllib.parse.urlsplit(self.path)
        for prefix, target in srv.redirects:
            if url.path.startswith(prefix):
                loc = target + self.path[len(prefix):]
                return self.answer(302, [("Location", loc)], b"")
        if srv.public_key is not None and not (len(auths) == 1 and token_ok(auths[0], srv.public_key)):
            return self.answer(401, [
                ("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/"
                 "5c1e8a7d-3f0b-4e42-9a6d-2b7f4c0d9e11"),
                ("WWW-Authenticate", 'Basic realm="https://dev.azure.com/"'),
                ("Content-Type", "text/plain")], b"TF400813: The user is not authorized to access this resource.\n")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GIT_PROJECT_ROOT": srv.root,
               "GIT_HTTP_EXPORT_ALL": "1", "REQUEST_METHOD": self.command,
               "PATH_INFO": urllib.parse.unquote(url.path), "QUERY_STRING": url.query,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(data)),
               "REMOTE_USER": "azmi-vm-identity", "REMOTE_ADDR": "127.0.0.1", "GIT_CONFIG_NOSYSTEM": "1",
               "HOME": srv.root}
        for k, v in self.headers.items():
            if k.lower() in ("git-protocol", "content-encoding"):
                env["HTTP_" + k.upper().replace("-", "_")] = v
        res = subprocess.run(["git", "http-backend"], input=data, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, timeout=120)
        head, _, body = res.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, body = res.stdout.partition(b"\n\n")
        status, headers = 200, []
        for line in head.decode("latin-1").splitlines():
            k, _, v = line.partition(":")
            if k.lower() == "status":
                status = int(v.strip().split()[0])
            elif k:
                headers.append((k.strip(), v.strip()))
        self.answer(status, headers, body)

    do_GET = do_POST = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--name", default="ado")
    ap.add_argument("--pubkey", help="PEM public key of the stand-in: require its bearer tokens")
    ap.add_argument("--redirect", action="append", default=[])
    args = ap.parse_args()
    s = Server(("127.0.0.1", args.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
    s.name = args.name
    s.root = args.root
    s.log = open(args.log, "a")
    s.redirects = [tuple(r.split("=", 1)) for r in args.redirect]
    s.public_key = None
    if args.pubkey:
        from cryptography.hazmat.primitives import serialization
        with open(args.pubkey, "rb") as f:
            s.public_key = serialization.load_pem_public_key(f.read())
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    s.serve_forever()


if __name__ == "__main__":
    main()

"""A running `azmi serve` for the serve tests, and a raw HTTP client for it.

The service gets its tokens from the stand-in (AZURE_POD_IDENTITY_AUTHORITY_HOST)
and listens on a private loopback port; its environment file is written by
`azmi serve --init`, as an administrator would."""

import json
import os
import signal
import socket
import subprocess
import time

from harness import AZMI, WRAPPER, AzmiTestCase, free_port

TOKEN_PATH = "/msi/token"
API = "2019-08-01"


class Serve:
    def __init__(self, test, args=(), env=None, port=None, env_file=None):
        self.test = test
        self.port = port or free_port()
        self.env_file = env_file or os.path.join(test.tmp, "serve.env")
        if env_file is None:
            r = test.azmi("serve", "--init", self.env_file, "--listen", "127.0.0.1:%d" % self.port)
            test.assertOk(r)
        self.secret = read_env(self.env_file)["IDENTITY_HEADER"]
        self.endpoint = "http://127.0.0.1:%d%s" % (self.port, TOKEN_PATH)
        self.log = open(os.path.join(test.tmp, "serve-%d.log" % self.port), "w+")
        cmd = WRAPPER + [AZMI, "serve", "--env-file", self.env_file] + list(args)
        self.proc = subprocess.Popen(cmd, env=env or test.base_env(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_listening()

    def wait_listening(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("azmi serve exited %s: %s" % (self.proc.returncode, self.output()))
            if "listening on http://" in self.output():
                return
            time.sleep(0.02)
        raise AssertionError("azmi serve did not start: %s" % self.output())

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def pid(self):
        return self.proc.pid

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("azmi serve ignored SIGTERM")
        if not self.log.closed:
            self.final_output = self.output()
            self.log.close()
        return self.proc.returncode

    def env_for_client(self):
        return {"IDENTITY_ENDPOINT": self.endpoint, "IDENTITY_HEADER": self.secret}

    def query(self, resource="https://storage.azure.com/", **extra):
        from urllib.parse import urlencode
        q = {"api-version": API}
        if resource is not None:
            q["resource"] = resource
        q.update(extra)
        return TOKEN_PATH + "?" + urlencode(q)

    def head(self, target=None, headers=None, method="GET", secret=True, host=True):
        lines = ["%s %s HTTP/1.1" % (method, target or self.query())]
        if host:
            lines.append("Host: 127.0.0.1:%d" % self.port)
        if secret:
            lines.append("X-IDENTITY-HEADER: %s" % (self.secret if secret is True else secret))
        for k, v in (headers or []):
            lines.append("%s: %s" % (k, v))
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def raw(self, data, timeout=10, unix=None):
        """Send bytes, read until the server closes; (status, headers, body) or (None, {}, b"")."""
        if unix:
            s = socket.socket(socket.AF_UNIX)
            s.connect(unix)
        else:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        s.settimeout(timeout)
        try:
            s.sendall(data)
            return read_response(s)
        finally:
            s.close()

    def get(self, target=None, headers=None, **kw):
        status, hdrs, body = self.raw(self.head(target, headers, **kw))
        return status, hdrs, json.loads(body) if body else None


def read_response(s):
    buf = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        buf += chunk
    if not buf:
        return None, {}, b""
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def read_env(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                out[k] = v
    return out


class ServeTestCase(AzmiTestCase):
    serve_args = ()

    def start_serve(self, args=None, **kw):
        srv = Serve(self, self.serve_args if args is None else args, **kw)

        def stop():  # every run must end cleanly: status 0 (under valgrind or a sanitizer: no error)
            rc = srv.stop()
            self.assertEqual(rc, 0, "azmi serve exited %s:\n%s" % (rc, srv.final_output[-3000:]))
        self.addCleanup(stop)
        return srv

    def assertAppServiceError(self, status, hdrs, body, want):
        self.assertEqual(status, want, body)
        self.assertTrue(hdrs.get("content-type", "").startswith("application/json"), hdrs)
        self.assertEqual(body["statusCode"], want)
        self.assertIsInstance(body["message"], str)
        self.assertRegex(body["correlationId"], r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

#!/usr/bin/python3
"""Suite 40-curl, run inside a private network + mount namespace by
tests/suite-40-curl.sh.  Drives the real /usr/bin/curl with the plug-in
preloaded against Azurite (Blob Storage), an https echo server (ARM, Key
Vault, look-alike and foreign hosts) and the Azure stand-in as IMDS at
169.254.169.254:80.  Real Azure host names map to 127.0.0.1 through a
private /etc/hosts.  Last line: "40-curl: N passed, M failed".
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build")
PLUGIN = os.environ.get("AZMI_TEST_PLUGIN") or os.path.join(BUILD, "libazmi_curl.so.1")
AZURITE = os.path.join(BUILD, "node", "node_modules", ".bin", "azurite-blob")
CURL = "/usr/bin/curl"
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import standin_client  # noqa: E402
from report import Results  # noqa: E402

AZ_PORT, ECHO_A, ECHO_A_HTTP, ECHO_B, IMPOSTOR = 10000, 8443, 8080, 9443, 7443
ACCOUNT = "devstoreaccount1"
BLOB_HOST = ACCOUNT + ".blob.core.windows.net"
HOSTS = [
    BLOB_HOST, "acct2.blob.core.windows.net", "share1.file.core.windows.net", "management.azure.com",
    "kv1.vault.azure.net", "kv2.vault.usgovcloudapi.net", "api.contoso.example", "other.example.com",
    "evilmanagement.azure.com.attacker.net", "management.azure.com.attacker.net", "xmanagement.azure.com",
    "flaky.vault.azure.net", "dev.azure.com", "org1.visualstudio.com",
]
GIT_OTHER = 9444

RES = Results("40-curl")
result = RES.check


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def wait_port(port, host="127.0.0.1", timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection((host, port), 0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Rig:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="azmi-curl-")
        self.procs = []
        self.standin = None

    # -- set-up ---------------------------------------------------------------
    def network(self):
        run(["ip", "link", "set", "lo", "up"])
        run(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"])
        with open("/etc/hosts") as f:
            orig = f.read()
        path = os.path.join(self.tmp, "hosts")
        with open(path, "w") as f:
            f.write(orig + "\n127.0.0.1 " + " ".join(HOSTS) + "\n")
        run(["mount", "--bind", path, "/etc/hosts"])

    def certs(self):
        t = self.tmp
        self.ca = os.path.join(t, "ca.pem")
        self.cert = os.path.join(t, "server.pem")
        self.key = os.path.join(t, "server.key")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=azmi test CA",
             "-keyout", os.path.join(t, "ca.key"), "-out", self.ca])
        ext = os.path.join(t, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=" + ",".join(["DNS:" + h for h in HOSTS] + ["DNS:localhost", "IP:127.0.0.1"]) +
                    "\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                    "extendedKeyUsage=serverAuth\n")
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", self.key,
             "-out", os.path.join(t, "server.csr")])
        run(["openssl", "x509", "-req", "-in", os.path.join(t, "server.csr"), "-CA", self.ca, "-CAkey",
             os.path.join(t, "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", self.cert])
        # An impostor: the same names, a self-signed certificate no client here trusts.
        self.bad_cert = os.path.join(t, "impostor.pem")
        self.bad_key = os.path.join(t, "impostor.key")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=impostor",
             "-addext", "subjectAltName=" + ",".join("DNS:" + h for h in HOSTS), "-keyout", self.bad_key,
             "-out", self.bad_cert])

    def spawn(self, cmd, log, cwd=None):
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
                             cwd=cwd)
        self.procs.append(p)
        return p

    def servers(self):
        self.standin = standin_client.Standin(bind="169.254.169.254", port=80)
        self.standin.start()
        self.spawn([AZURITE, "--blobHost", "127.0.0.1", "--blobPort", str(AZ_PORT), "--oauth", "basic", "--cert",
                    self.cert, "--key", self.key, "--disableTelemetry", "--inMemoryPersistence"],
                   os.path.join(self.tmp, "azurite.log"), cwd=self.tmp)
        self.log_a = os.path.join(self.tmp, "echo-a.jsonl")
        self.log_b = os.path.join(self.tmp, "echo-b.jsonl")
        echo = os.path.join(HERE, "echo_server.py")
        self.spawn([sys.executable, echo, "--https-port", str(ECHO_A), "--http-port", str(ECHO_A_HTTP), "--cert",
                    self.cert, "--key", self.key, "--name", "a", "--log", self.log_a], self.log_a + ".out")
        self.spawn([sys.executable, echo, "--https-port", str(ECHO_B), "--cert", self.cert, "--key", self.key,
                    "--name", "b", "--log", self.log_b], self.log_b + ".out")
        self.log_i = os.path.join(self.tmp, "echo-impostor.jsonl")
        self.spawn([sys.executable, echo, "--https-port", str(IMPOSTOR), "--cert", self.bad_cert, "--key",
                    self.bad_key, "--name", "impostor", "--log", self.log_i], self.log_i + ".out")
        for port in (AZ_PORT, ECHO_A, ECHO_A_HTTP, ECHO_B, IMPOSTOR):
            if not wait_port(port):
                logs = ""
                for name in ("azurite.log", "echo-a.jsonl.out", "echo-b.jsonl.out"):
                    try:
                        logs += name + ": " + open(os.path.join(self.tmp, name)).read()[-2000:] + "\n"
                    except OSError:
                        pass
                raise RuntimeError("server on port %d did not start\n%s" % (port, logs))

    def config(self):
        self.cache = os.path.join(self.tmp, "cache")
        os.mkdir(self.cache, 0o700)
        self.conf = os.path.join(self.tmp, "azmi.conf")
        with open(self.conf, "w") as f:
            f.write("# test configuration\n"
                    "curl_rule = api.contoso.example https://contoso.example/.default\n"
                    "curl_rule = *.blob.contoso.example https://storage.azure.com/.default\n"
                    "curl_rule = nope.vault.azure.net none\n")
        os.chmod(self.conf, 0o600)
        self.retry_conf = os.path.join(self.tmp, "azmi-retry.conf")
        with open(self.retry_conf, "w") as f:
            f.write("curl_retry_on_challenge = yes\n")
        os.chmod(self.retry_conf, 0o600)
        env = {k: v for k, v in os.environ.items()
               if not k.lower().endswith("_proxy") and not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "AZMI_"))}
        env.update({"AZMI_CACHE_DIR": self.cache, "AZMI_CONFIG": self.conf, "NO_PROXY": "*"})
        self.env = env

    def stop(self):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        if self.standin:
            self.standin.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- helpers --------------------------------------------------------------
    def curl(self, args, plugin=True, env=None, timeout=60):
        e = dict(self.env)
        if plugin:
            e["LD_PRELOAD"] = PLUGIN
        e.update(env or {})
        return subprocess.run([CURL, "-sS", "--cacert", self.ca] + args, env=e, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)

    def status(self, args, **kw):
        """curl with -o /dev/null -w %{http_code}: (status string, stderr)."""
        r = self.curl(["-o", "/dev/null", "-w", "%{http_code}"] + args, **kw)
        return r.stdout.decode().strip(), r.stderr.decode()

    def seen(self, log, tag):
        """Requests the echo server (log) saw whose path starts with /<tag>/."""
        out = []
        try:
            with open(log) as f:
                for line in f:
                    d = json.loads(line)
                    if d["path"].startswith("/" + tag + "/"):
                        out.append(d)
        except FileNotFoundError:
            pass
        return out


def jwt_aud(auth):
    tok = auth.split(" ", 1)[1]
    payload = tok.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    return json.loads(base64.urlsafe_b64decode(payload))["aud"]


def blob_url(path):
    return "https://%s:%d/%s" % (BLOB_HOST, AZ_PORT, path)


# -- tests --------------------------------------------------------------------
def test_storage(r):
    c = "azmitest%d" % os.getpid()
    st, err = r.status(["-X", "PUT", blob_url(c + "?restype=container")], plugin=False)
    result(st == "403", "without the plug-in Azurite refuses (403)", st + " " + err)
    st, err = r.status(["-X", "PUT", blob_url(c + "?restype=container")])
    result(st == "201", "create container", st + " " + err)
    src = os.path.join(r.tmp, "blob.txt")
    with open(src, "wb") as f:
        f.write(b"hello from azmi\n" * 100)
    st, err = r.status(["-T", src, "-H", "x-ms-blob-type: BlockBlob", blob_url(c + "/b1.txt")])
    result(st == "201", "upload with -T", st + " " + err)
    lst = r.curl([blob_url(c + "?restype=container&comp=list")])
    result(lst.returncode == 0 and b"<Name>b1.txt</Name>" in lst.stdout, "list blobs", lst.stderr.decode())
    dst = os.path.join(r.tmp, "down.txt")
    st, err = r.status([blob_url(c + "/b1.txt")])
    dl = r.curl(["-f", "-o", dst, blob_url(c + "/b1.txt")])
    result(dl.returncode == 0 and open(dst, "rb").read() == open(src, "rb").read(), "download", dl.stderr.decode())
    hdr = os.path.join(r.tmp, "down.hdr")
    dl = r.curl(["-f", "-D", hdr, "-o", dst + "2", blob_url(c + "/b1.txt")], env={"AZMI_CONFIG": r.retry_conf})
    result(dl.returncode == 0 and open(dst + "2", "rb").read() == open(src, "rb").read()
           and "200" in open(hdr).readline(), "download with the challenge retry armed (-D headers, -o body)",
           dl.stderr.decode())
    # --parallel: several uploads then several downloads in one curl.
    args = ["--parallel", "--parallel-max", "4", "-H", "x-ms-blob-type: BlockBlob"]
    for i in range(6):
        p = os.path.join(r.tmp, "p%d.txt" % i)
        with open(p, "w") as f:
            f.write("parallel blob %d\n" % i)
        args += ["-T", p, "-o", "/dev/null", blob_url("%s/p%d.txt" % (c, i))]
    up = r.curl(["-f"] + args)
    dargs = ["-f", "--parallel"]
    for i in range(6):
        dargs += ["-o", os.path.join(r.tmp, "pd%d.txt" % i), blob_url("%s/p%d.txt" % (c, i))]
    down = r.curl(dargs)
    same = all(open(os.path.join(r.tmp, "pd%d.txt" % i)).read() == "parallel blob %d\n" % i for i in range(6)) \
        if down.returncode == 0 else False
    result(up.returncode == 0 and same, "--parallel upload and download of 6 blobs",
           (up.stderr + down.stderr).decode())
    st, err = r.status(["--retry", "2", blob_url(c + "/b1.txt")])
    result(st == "200", "--retry on a blob download", st + " " + err)
    st, err = r.status(["-X", "DELETE", blob_url(c + "/b1.txt")])
    result(st == "202", "delete blob", st + " " + err)
    st, err = r.status(["-X", "DELETE", blob_url(c + "?restype=container")])
    result(st == "202", "delete container", st + " " + err)


def echo_url(host, tag, rest="", port=ECHO_A, scheme="https"):
    return "%s://%s:%d/%s/%s" % (scheme, host, port, tag, rest)


def test_audiences(r):
    cases = [
        ("arm", "management.azure.com", "https://management.azure.com"),
        ("kv", "kv1.vault.azure.net", "https://vault.azure.net"),
        ("rule", "api.contoso.example", "https://contoso.example"),
        ("stor", "acct2.blob.core.windows.net", "https://storage.azure.com"),
    ]
    for tag, host, aud in cases:
        res = r.curl([echo_url(host, tag, "x?api-version=2022-12-01")])
        seen = r.seen(r.log_a, tag)
        auths = seen[0]["authorization"] if seen else []
        ok = len(seen) == 1 and len(auths) == 1 and auths[0].startswith("Bearer ")
        got = jwt_aud(auths[0]) if ok else None
        result(ok and got.rstrip("/") == aud, "audience for %s is %s" % (host, aud),
               "saw %r aud %r %s" % (auths, got, res.stderr.decode()))
    stor = r.seen(r.log_a, "stor")
    result(stor and stor[0]["x_ms_version"] == ["2021-08-06"], "Storage gets x-ms-version 2021-08-06",
           repr(stor))
    r.curl(["-H", "x-ms-version: 2020-10-02", echo_url("acct2.blob.core.windows.net", "stor2")])
    s2 = r.seen(r.log_a, "stor2")
    result(s2 and s2[0]["x_ms_version"] == ["2020-10-02"] and len(s2[0]["authorization"]) == 1,
           "the application's x-ms-version is kept, not duplicated", repr(s2))
    r.curl([echo_url("share1.file.core.windows.net", "files")])
    f = r.seen(r.log_a, "files")
    result(f and f[0]["x_ms_file_request_intent"] == ["backup"] and len(f[0]["authorization"]) == 1,
           "Files gets x-ms-file-request-intent: backup", repr(f))
    r.curl(["-f", "--retry", "2", "--retry-delay", "0", echo_url("flaky.vault.azure.net", "flaky", "kv")])
    fl = [d for d in r.seen(r.log_a, "flaky")]
    result(len(fl) == 2 and all(len(d["authorization"]) == 1 for d in fl),
           "--retry: the retried request carries exactly one bearer too", repr(fl))


def test_cloud(r):
    """Issue 16: only the configured cloud's built-in hosts get tokens (a VM
    lives in one cloud); curl_rule still adds any host."""
    def conf(name, text):
        path = os.path.join(r.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return {"AZMI_CONFIG": path}

    def auths(tag, host, env=None):
        r.curl([echo_url(host, tag, "x")], env=env)
        seen = r.seen(r.log_a, tag)
        return seen[0]["authorization"] if len(seen) == 1 else None

    gov = conf("azmi-gov.conf", "cloud = AzureUSGovernment\n"
               "curl_rule = api.contoso.example https://contoso.example/.default\n")
    cn = conf("azmi-cn.conf", "cloud = AzureChinaCloud\n")
    add = conf("azmi-add.conf", "curl_rule = kv2.vault.usgovcloudapi.net https://vault.usgovcloudapi.net/.default\n")
    for tag, host, env, want in (
            ("cl1", "kv2.vault.usgovcloudapi.net", None, None),
            ("cl2", "kv2.vault.usgovcloudapi.net", gov, "https://vault.usgovcloudapi.net"),
            ("cl3", "kv1.vault.azure.net", gov, None),
            ("cl4", "management.azure.com", gov, None),
            ("cl5", "acct2.blob.core.windows.net", gov, None),
            ("cl6", "api.contoso.example", gov, "https://contoso.example"),
            ("cl7", "management.azure.com", cn, None),
            ("cl8", "kv2.vault.usgovcloudapi.net", cn, None),
            ("cl9", "kv2.vault.usgovcloudapi.net", add, "https://vault.usgovcloudapi.net"),
            ("cl10", "management.azure.com", None, "https://management.azure.com")):
        got = auths(tag, host, env)
        name = "cloud %s: %s gets %s" % ("AzureUSGovernment" if env is gov else "AzureChinaCloud" if env is cn
                                         else "default + curl_rule" if env is add else "default",
                                         host, want or "no token")
        shown = [jwt_aud(a) for a in got] if got else got  # audiences, never the tokens
        if want is None:
            result(got == [], name, "attached: %r" % shown)
        else:
            result(got is not None and len(got) == 1 and jwt_aud(got[0]).rstrip("/") == want, name,
                   "attached: %r" % shown)
    bad = conf("azmi-badcloud.conf", "cloud = AzureGermanCloud\n")
    res = r.curl([echo_url("management.azure.com", "cl11", "x")], env=bad)
    seen = r.seen(r.log_a, "cl11")
    result(seen == [] or seen[0]["authorization"] == [], "an unknown cloud attaches nothing",
           repr((seen, res.stderr.decode())))
    result(b"cloud must be" in res.stderr, "an unknown cloud is reported on stderr", res.stderr.decode())


def no_auth(r, log, tag):
    seen = r.seen(log, tag)
    return bool(seen) and all(not d["authorization"] for d in seen), seen


def test_safety(r):
    target = echo_url("other.example.com", "redir1", "landing", port=ECHO_B)
    r.curl(["-L", echo_url("management.azure.com", "redir1", "redirect?to=" + target)])
    first = r.seen(r.log_a, "redir1")
    ok, second = no_auth(r, r.log_b, "redir1")
    result(ok and first and len(first[0]["authorization"]) == 1,
           "redirect to another host: the second server sees no Authorization", repr((first, second)))

    target = echo_url("other.example.com", "redir2", "landing", port=ECHO_B)
    res = r.curl(["-L", "--location-trusted", echo_url("management.azure.com", "redir2", "redirect?to=" + target)])
    ok1, s1 = no_auth(r, r.log_a, "redir2")
    ok2, s2 = no_auth(r, r.log_b, "redir2")
    err = res.stderr.decode()
    result(ok1 and ok2 and "location-trusted" in err and err.count("azmi:") == 1,
           "--location-trusted: refused, one warning line", repr((s1, s2, err)))

    for i, host in enumerate(["evilmanagement.azure.com.attacker.net", "management.azure.com.attacker.net",
                              "xmanagement.azure.com"]):
        r.curl([echo_url(host, "look%d" % i)])
        ok, s = no_auth(r, r.log_a, "look%d" % i)
        result(ok, "look-alike host %s gets nothing" % host, repr(s))

    r.curl([echo_url("management.azure.com", "plain", port=ECHO_A_HTTP, scheme="http")])
    ok, s = no_auth(r, r.log_a, "plain")
    result(ok, "plain http URL gets nothing", repr(s))

    r.curl(["-H", "Authorization: Bearer app-own-token", echo_url("management.azure.com", "own")])
    s = r.seen(r.log_a, "own")
    result(s and s[0]["authorization"] == ["Bearer app-own-token"],
           "application's own Authorization: exactly one arrives, its own", repr(s))

    r.curl(["--oauth2-bearer", "app-bearer", echo_url("kv1.vault.azure.net", "ownbearer")])
    s = r.seen(r.log_a, "ownbearer")
    result(s and s[0]["authorization"] == ["Bearer app-bearer"], "application's --oauth2-bearer is kept", repr(s))

    r.curl(["-u", "user:pass", echo_url("management.azure.com", "userpass")])
    s = r.seen(r.log_a, "userpass")
    result(s and len(s[0]["authorization"]) == 1 and s[0]["authorization"][0].startswith("Basic "),
           "-u user:pass: only the application's Basic credentials", repr(s))

    r.curl([echo_url("acct2.blob.core.windows.net", "sas", "c/b?sv=2021-08-06&sr=b&sp=r&sig=abc%3D")])
    ok, s = no_auth(r, r.log_a, "sas")
    result(ok, "SAS URL (sig=) gets nothing", repr(s))

    r.curl(["-k", echo_url("management.azure.com", "insecure")])
    ok, s = no_auth(r, r.log_a, "insecure")
    result(ok, "TLS verification off (-k) gets nothing", repr(s))

    # Not in /etc/hosts: curl's own "could not resolve" (exit 6), not a crash or a hang in the plug-in.
    res = r.curl([echo_url("nope.vault.azure.net", "none")])
    result(res.returncode == 6 and b"resolve" in res.stderr.lower(),
           "unresolvable Azure host: curl's own resolve error (exit 6), no crash",
           repr((res.returncode, res.stderr[-300:])))
    res = r.curl([echo_url("other.example.com", "foreign", port=ECHO_B)])
    ok, s = no_auth(r, r.log_b, "foreign")
    result(ok and res.stderr == b"", "foreign host: nothing attached, nothing printed", repr((s, res.stderr)))


def test_no_token(r):
    cache = os.path.join(r.tmp, "cache-empty")
    os.mkdir(cache, 0o700)
    env = {"AZMI_CACHE_DIR": cache, "AZURE_POD_IDENTITY_AUTHORITY_HOST": "http://127.0.0.1:1"}
    t0 = time.time()
    res = r.curl([echo_url("management.azure.com", "notok1"), echo_url("kv1.vault.azure.net", "notok1", "2")],
                 env=env, timeout=120)
    err = res.stderr.decode()
    ok, s = no_auth(r, r.log_a, "notok1")
    lines = [ln for ln in err.splitlines() if ln.startswith("azmi:")]
    result(ok and len(s) == 2 and res.returncode == 0 and len(lines) == 1 and "no token" in lines[0],
           "no token: requests go out unchanged, one stderr line (%.1f s)" % (time.time() - t0), repr((s, err)))
    cache2 = os.path.join(r.tmp, "cache-empty2")
    os.mkdir(cache2, 0o700)
    r.standin.script("/metadata/identity/oauth2/token", [{"status": 400, "body": {
        "error": "invalid_request", "error_description": "Identity not found"}}] * 3)
    before = len(r.standin.requests("/metadata/identity/oauth2/token"))
    res = r.curl([echo_url("management.azure.com", "notok4", str(i)) for i in range(3)],
                 env={"AZMI_CACHE_DIR": cache2}, timeout=120)
    asked = len(r.standin.requests("/metadata/identity/oauth2/token")) - before
    r.standin.reset()
    ok, s = no_auth(r, r.log_a, "notok4")
    result(ok and len(s) == 3 and asked == 1 and res.stderr.decode().count("azmi:") == 1,
           "a failing source is asked once per process, not at every transfer",
           repr((asked, s, res.stderr)))
    env["AZMI_CURL_STRICT"] = "1"
    res = r.curl([echo_url("management.azure.com", "notok2")], env=env, timeout=120)
    s = r.seen(r.log_a, "notok2")
    result(res.returncode != 0 and not s and "AZMI_CURL_STRICT" in res.stderr.decode(),
           "AZMI_CURL_STRICT=1: the transfer fails, nothing is sent", repr((res.returncode, s, res.stderr)))
    res = r.curl(["--parallel", echo_url("management.azure.com", "notok3"), echo_url("other.example.com", "notok3",
                                                                                      port=ECHO_B)],
                 env=env, timeout=120)
    s = r.seen(r.log_a, "notok3")
    ok, sb = no_auth(r, r.log_b, "notok3")
    result(not s and ok, "AZMI_CURL_STRICT=1 with --parallel: only the transfer due a token fails",
           repr((s, sb, res.stderr)))


def test_challenge(r):
    """curl_retry_on_challenge = yes: one refresh-and-retry for Storage GETs whose challenge names Storage."""
    on = {"AZMI_CONFIG": r.retry_conf}
    host = "acct2.blob.core.windows.net"
    out = os.path.join(r.tmp, "challenge.out")
    res = r.curl(["-o", out, "-w", "%{http_code}", echo_url(host, "challenge", "a")], env=on)
    seen = r.seen(r.log_a, "challenge")
    body = open(out).read() if os.path.exists(out) else ""
    result(res.stdout == b"200" and len(seen) == 2 and all(len(d["authorization"]) == 1 for d in seen)
           and "InvalidAuthenticationInfo" not in body and '"path": "/challenge/a"' in body,
           "401 Bearer challenge for Storage: one retry with a fresh token, the 401 never shown",
           repr((res, seen, body)))
    res = r.curl(["-o", out, "-w", "%{http_code}", echo_url(host, "challenge-arm", "b")], env=on)
    seen = r.seen(r.log_a, "challenge-arm")
    body = open(out).read()
    result(res.stdout == b"401" and len(seen) == 1 and "InvalidAuthenticationInfo" in body,
           "a challenge naming another audience is not followed; the 401 reaches the application intact",
           repr((res, seen, body)))
    res = r.curl(["-o", out, "-w", "%{http_code}", echo_url(host, "challenge", "c")])
    seen = r.seen(r.log_a, "challenge")
    result(res.stdout == b"401" and len([d for d in seen if d["path"].startswith("/challenge/c")]) == 1,
           "without curl_retry_on_challenge no retry", repr((res, seen)))
    src = os.path.join(r.tmp, "blob.txt")
    res = r.curl(["-o", out, "-w", "%{http_code}", "-T", src, echo_url(host, "challenge", "d")], env=on)
    seen = [d for d in r.seen(r.log_a, "challenge") if d["path"].startswith("/challenge/d")]
    result(res.stdout == b"401" and len(seen) == 1, "an upload (PUT) is never retried", repr((res, seen)))


def test_identity(r):
    """AZURE_CLIENT_ID selects a user-assigned identity for the plug-in's tokens."""
    cache = os.path.join(r.tmp, "cache-uai")
    os.mkdir(cache, 0o700)
    cid = "11111111-2222-4333-8444-555555555501"
    r.curl([echo_url("management.azure.com", "uai")], env={"AZURE_CLIENT_ID": cid, "AZMI_CACHE_DIR": cache})
    s = r.seen(r.log_a, "uai")
    claims = {}
    if s and s[0]["authorization"]:
        p = s[0]["authorization"][0].split(" ", 1)[1].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    result(claims.get("appid") == cid, "AZURE_CLIENT_ID: the token is the user-assigned identity's", repr(claims))


def test_commands(r):
    """azmi curl / azmi exec set the preload themselves; one curl run, several hosts, decided per URL."""
    azmi = os.path.join(BUILD, "azmi")
    env = dict(r.env)
    res = subprocess.run([azmi, "curl", "-sS", "--cacert", r.ca, echo_url("management.azure.com", "cmd1"),
                          echo_url("other.example.com", "cmd1", port=ECHO_B)], env=env, capture_output=True,
                         timeout=60)
    a = r.seen(r.log_a, "cmd1")
    ok, b = no_auth(r, r.log_b, "cmd1")
    result(res.returncode == 0 and a and len(a[0]["authorization"]) == 1 and ok,
           "azmi curl: bearer for ARM, nothing for the next URL's foreign host", repr((a, b, res.stderr)))
    env["LD_PRELOAD"] = "libm.so.6"
    res = subprocess.run([azmi, "exec", "--", CURL, "-sS", "--cacert", r.ca, echo_url("kv1.vault.azure.net", "cmd2")],
                         env=env, capture_output=True, timeout=60)
    a = r.seen(r.log_a, "cmd2")
    result(res.returncode == 0 and a and len(a[0]["authorization"]) == 1,
           "azmi exec -- curl, appending to an existing LD_PRELOAD", repr((a, res.stderr)))
    env = dict(r.env)
    env["AZMI_CURL_LIBRARY"] = "/nonexistent/libazmi_curl.so.1"
    res = subprocess.run([azmi, "exec", "--", "/bin/true"], env=env, capture_output=True, timeout=60)
    result(res.returncode == 127 and b"AZMI_CURL_LIBRARY" in res.stderr,
           "azmi exec with a wrong AZMI_CURL_LIBRARY: exit 127 and says why", repr(res))
    env = dict(r.env)
    for flag in (["-v"], ["--trace-ascii", "-"]):
        res = subprocess.run([azmi, "curl", "-sS", "-I", "--cacert", r.ca, "-o", os.devnull] + flag +
                             [echo_url("management.azure.com", "verbose")], env=env, capture_output=True, timeout=60)
        out = (res.stdout + res.stderr).decode(errors="replace")
        hidden = "Authorization: Bearer <hidden by azmi>" in out
        a = r.seen(r.log_a, "verbose")
        result(res.returncode == 0 and "eyJ" not in out and hidden and a and len(a[-1]["authorization"]) == 1,
               "azmi curl -I %s: the request carries the token, the output hides it" % flag[0], out[-1500:])


def test_library(r):
    """The shipped library loads with RTLD_NOW and exports exactly its API and the hooks."""
    import ctypes
    try:
        ctypes.CDLL(PLUGIN, mode=os.RTLD_NOW | os.RTLD_LOCAL)
        loaded = True
    except OSError as e:
        loaded = repr(e)
    result(loaded is True, "libazmi_curl.so.1 loads with RTLD_NOW", str(loaded))
    out = subprocess.run(["nm", "-D", "--defined-only", PLUGIN], capture_output=True, text=True).stdout
    syms = sorted(ln.split()[-1] for ln in out.splitlines() if ln.strip())
    want = sorted(["azmi_curl_install", "azmi_curl_prepare", "azmi_curl_scope", "curl_easy_cleanup",
                   "curl_easy_duphandle", "curl_easy_perform", "curl_easy_reset", "curl_easy_setopt",
                   "curl_multi_add_handle"])
    result(syms == want, "exports only the API and the hooks", repr(syms))


def test_capi(r):
    env = dict(r.env)
    prog = os.path.join(BUILD, "tests", "curl", "capi")
    res = subprocess.run([prog, r.ca, "https://management.azure.com:%d" % ECHO_A,
                          "https://acct2.blob.core.windows.net:%d" % ECHO_A, "https://other.example.com:%d" % ECHO_B],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = res.stdout.decode()
    fails = [ln for ln in out.splitlines() if ln.startswith("FAIL")]
    oks = [ln for ln in out.splitlines() if ln.startswith("ok")]
    result(res.returncode == 0 and not fails and len(oks) > 40,
           "C API program: %d checks" % (len(oks) + len(fails)), "\n".join(fails) or out[-3000:])


def test_multi(r):
    """A plain libcurl program on the multi interface, changing handles after curl_multi_add_handle."""
    prog = os.path.join(BUILD, "tests", "curl", "multi")
    env = dict(r.env)
    env["LD_PRELOAD"] = PLUGIN
    res = subprocess.run([prog, r.ca, "https://management.azure.com:%d" % ECHO_A,
                          "https://other.example.com:%d" % ECHO_B, "https://management.azure.com:%d" % IMPOSTOR],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = res.stdout.decode()
    for ln in out.splitlines():
        if ln.startswith("ok - ") or ln.startswith("FAIL - "):
            result(ln.startswith("ok"), "multi program: " + ln.split(" - ", 1)[1])
    result(res.returncode == 0 and "FAIL" not in out, "multi program exits 0", out[-3000:])
    imp = r.seen(r.log_i, "multi")
    result(all(not d["authorization"] for d in imp), "the impostor never saw a token", repr(imp))
    other = r.seen(r.log_b, "multi")
    result(other and all(not d["authorization"] for d in other), "the foreign host never saw a token", repr(other))
    res = subprocess.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                          "--error-exitcode=99", prog, r.ca, "https://management.azure.com:%d" % ECHO_A,
                          "https://other.example.com:%d" % ECHO_B, "https://management.azure.com:%d" % IMPOSTOR],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    result(res.returncode == 0, "valgrind: the multi program with the plug-in, no leaks or errors",
           res.stdout.decode()[-4000:])


def git(r, args, cwd=None, plugin=True, env=None):
    """The real git, through `azmi exec` (the plug-in preloaded into git-remote-https)."""
    e = dict(r.env)
    e.update({"HOME": r.git_home, "GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "GIT_SSL_CAINFO": r.ca,
              "GIT_AUTHOR_NAME": "azmi", "GIT_AUTHOR_EMAIL": "azmi@example.com", "GIT_COMMITTER_NAME": "azmi",
              "GIT_COMMITTER_EMAIL": "azmi@example.com", "AZMI_CURL_LIBRARY": PLUGIN})
    e.update(env or {})
    cmd = ([os.path.join(BUILD, "azmi"), "exec", "--"] if plugin else []) + ["git"] + args
    return subprocess.run(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)


def test_git(r):
    """Azure Repos over https with the VM identity: clone, fetch, push through a bearer-checking front."""
    root = os.path.join(r.tmp, "git-root")
    r.git_home = os.path.join(r.tmp, "git-home")
    os.makedirs(r.git_home)
    bare = os.path.join(root, "ORG", "PROJ", "_git", "REPO")
    os.makedirs(bare)
    run(["git", "init", "-q", "--bare", "-b", "main", bare])
    run(["git", "-C", bare, "config", "http.receivepack", "true"])
    seed = os.path.join(r.tmp, "git-seed")
    res = git(r, ["init", "-q", "-b", "main", seed], plugin=False)
    with open(os.path.join(seed, "README"), "w") as f:
        f.write("seed\n")
    git(r, ["add", "README"], cwd=seed, plugin=False)
    git(r, ["commit", "-q", "-m", "seed"], cwd=seed, plugin=False)
    res = git(r, ["push", "-q", bare, "main"], cwd=seed, plugin=False)
    if res.returncode != 0:
        result(False, "git: seed the bare repository", res)
        return
    pub = os.path.join(r.tmp, "standin-pub.pem")
    with open(pub, "w") as f:
        f.write(r.standin.state()["public_key_pem"])
    front = os.path.join(HERE, "git_front.py")
    log_ado = os.path.join(r.tmp, "git-ado.jsonl")
    log_other = os.path.join(r.tmp, "git-other.jsonl")
    r.spawn([sys.executable, front, "--port", "443", "--cert", r.cert, "--key", r.key, "--root", root, "--log", log_ado,
             "--pubkey", pub, "--redirect", "/ORG/PROJ/_git/MOVED=https://other.example.com:%d/ORG/PROJ/_git/REPO"
             % GIT_OTHER], log_ado + ".out")
    r.spawn([sys.executable, front, "--port", str(GIT_OTHER), "--cert", r.cert, "--key", r.key, "--root", root,
             "--log", log_other, "--name", "other"], log_other + ".out")
    if not (wait_port(443) and wait_port(GIT_OTHER)):
        result(False, "git: the fronts start", open(log_ado + ".out").read())
        return

    def lines(log):
        try:
            return [json.loads(ln) for ln in open(log)]
        except FileNotFoundError:
            return []

    url = "https://dev.azure.com/ORG/PROJ/_git/REPO"
    res = git(r, ["clone", "-q", url, os.path.join(r.tmp, "clone-none")], plugin=False)
    result(res.returncode != 0 and not any(d["authorization"] for d in lines(log_ado)),
           "git clone without the plug-in: refused (401), no credentials sent", res.stderr.decode()[-500:])
    c1 = os.path.join(r.tmp, "clone1")
    res = git(r, ["clone", "-q", url, c1])
    seen = lines(log_ado)
    ok_auth = [d for d in seen if d["authorization"]]
    result(res.returncode == 0 and os.path.exists(os.path.join(c1, "README"))
           and all(len(d["authorization"]) == 1 and d["authorization"][0].startswith("Bearer ") for d in ok_auth)
           and any("git-upload-pack" in d["path"] and d["method"] == "POST" for d in ok_auth),
           "azmi exec -- git clone https://dev.azure.com/ORG/PROJ/_git/REPO with the VM identity",
           (res.stderr.decode()[-1500:], [(d["method"], d["path"], len(d["authorization"])) for d in seen]))
    with open(os.path.join(c1, "NEW"), "w") as f:
        f.write("pushed by the VM identity\n")
    git(r, ["add", "NEW"], cwd=c1, plugin=False)
    git(r, ["commit", "-q", "-m", "from clone1"], cwd=c1, plugin=False)
    res = git(r, ["push", "-q", "origin", "main"], cwd=c1)
    head = run(["git", "-C", bare, "log", "-1", "--format=%s", "main"]).stdout.decode().strip()
    result(res.returncode == 0 and head == "from clone1" and any(
        "git-receive-pack" in d["path"] and d["method"] == "POST" and d["authorization"] for d in lines(log_ado)),
           "git push through the plug-in", (res.stderr.decode()[-1500:], head))
    c2 = os.path.join(r.tmp, "clone2")
    res = git(r, ["clone", "-q", "https://org1.visualstudio.com/ORG/PROJ/_git/REPO", c2])
    result(res.returncode == 0 and os.path.exists(os.path.join(c2, "NEW")),
           "git clone from <org>.visualstudio.com", res.stderr.decode()[-1500:])
    with open(os.path.join(c2, "NEW2"), "w") as f:
        f.write("second\n")
    git(r, ["add", "NEW2"], cwd=c2, plugin=False)
    git(r, ["commit", "-q", "-m", "from clone2"], cwd=c2, plugin=False)
    git(r, ["push", "-q", "origin", "main"], cwd=c2)
    res = git(r, ["fetch", "-q", "origin"], cwd=c1)
    got = run(["git", "-C", c1, "log", "-1", "--format=%s", "origin/main"]).stdout.decode().strip()
    result(res.returncode == 0 and got == "from clone2", "git fetch through the plug-in",
           (res.stderr.decode()[-1500:], got))
    res = git(r, ["clone", "-q", "https://dev.azure.com/ORG/PROJ/_git/MOVED", os.path.join(r.tmp, "clone3")])
    other = lines(log_other)
    result(res.returncode == 0 and other and all(not d["authorization"] for d in other),
           "git clone redirected to another host: that host gets no token", (res.stderr.decode()[-800:], other))
    n = len(lines(log_ado))
    res = git(r, ["-c", "http.extraHeader=Authorization: Bearer app-own-pat", "ls-remote", url])
    mine = lines(log_ado)[n:]
    result(mine and all(d["authorization"] == ["Bearer app-own-pat"] for d in mine),
           "git with its own Authorization header (http.extraHeader): the plug-in steps aside", mine)
    res = git(r, ["ls-remote", "https://ORG@dev.azure.com/ORG/PROJ/_git/REPO"])
    result(res.returncode != 0, "a user name in the URL is the application's credential: the plug-in steps aside",
           res.stderr.decode()[-300:])


def test_threads(r):
    prog = os.path.join(BUILD, "tests", "curl", "threads")
    url = "https://management.azure.com:%d/threads/x" % ECHO_A
    t0 = time.time()
    res = subprocess.run([prog, r.ca, url, "8", "1000"], env=r.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=240)
    result(res.returncode == 0, "8 threads x 1000 requests (%.1f s)" % (time.time() - t0), res.stdout.decode())
    if shutil.which("valgrind") is None:
        result(False, "valgrind is installed")
        return
    res = subprocess.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                          "--error-exitcode=99", prog, r.ca, url, "2", "60"], env=r.env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    result(res.returncode == 0, "valgrind: 2 threads x 60 requests, no leaks or errors", res.stdout.decode()[-4000:])
    env = dict(r.env)
    env["LD_PRELOAD"] = PLUGIN
    res = subprocess.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                          "--error-exitcode=99", CURL, "-sS", "--cacert", r.ca, "-o", "/dev/null", "-o", "/dev/null",
                          "-o", "/dev/null", "-H", "X-A: 1", echo_url("management.azure.com", "vg"),
                          echo_url("acct2.blob.core.windows.net", "vg", "b"), echo_url("other.example.com", "vg",
                                                                                        port=ECHO_B)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    a = r.seen(r.log_a, "vg")
    result(res.returncode == 0 and len(a) == 2 and all(len(d["authorization"]) == 1 for d in a),
           "valgrind: the curl command with the plug-in, three URLs, no leaks or errors",
           res.stdout.decode()[-4000:])
    env["AZMI_CONFIG"] = r.retry_conf
    res = subprocess.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite",
                          "--error-exitcode=99", CURL, "-sS", "--cacert", r.ca, "-o", "/dev/null",
                          echo_url("acct2.blob.core.windows.net", "challenge", "vg")],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=240)
    a = [d for d in r.seen(r.log_a, "challenge") if d["path"].startswith("/challenge/vg")]
    result(res.returncode == 0 and len(a) == 2, "valgrind: the challenge retry, no leaks or errors",
           res.stdout.decode()[-4000:])


def main():
    r = Rig()
    try:
        r.network()
        r.certs()
        r.config()
        r.servers()
        only = sys.argv[1:]  # run only the named tests (test_threads ...), for development
        for t in (test_storage, test_audiences, test_cloud, test_safety, test_no_token, test_challenge, test_identity, test_commands, test_library, test_capi,
                  test_multi, test_git, test_threads):
            if only and t.__name__ not in only:
                continue
            try:
                t(r)
            except Exception:
                result(False, t.__name__, traceback.format_exc())
    except Exception:
        result(False, "set-up", traceback.format_exc())
    finally:
        r.stop()
    print(RES.summary())
    return RES.exit_code()


if __name__ == "__main__":
    sys.exit(main())

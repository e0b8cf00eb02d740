#!/usr/bin/python3
"""Suite 45-acr, run inside a private network + mount namespace by
tests/suite-45-acr.sh.  The Azure stand-in answers as IMDS at
169.254.169.254:80 and as Azure Container Registry (its "acr" listener) on
127.0.0.1:443 over https with a test CA; the registries' real names
(<name>.azurecr.io) map to 127.0.0.1 through a private /etc/hosts.  Drives
docker-credential-azmi as Docker does (action argument, stdin, stdout, exit
status), `azmi acr-token`, and the real /usr/bin/curl with the plug-in.
Last line: "45-acr: N passed, M failed".
"""

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BUILD") or os.path.join(ROOT, "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
AZMI = os.path.join(BUILD, "azmi")
HELPER = os.path.join(BUILD, "docker-credential-azmi")
PLUGIN = os.environ.get("AZMI_TEST_PLUGIN") or os.path.join(BUILD, "libazmi_curl.so.1")
CURL = "/usr/bin/curl"
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import standin_client  # noqa: E402
from report import Results  # noqa: E402

USER = "00000000-0000-0000-0000-000000000000"
REG = "myregistry.azurecr.io"
NOARM = "noarm.azurecr.io"
DENIED = "denied.azurecr.io"
EVIL = "evilrealm.azurecr.io"
ATTACKER = "attacker.azurecr.io"
GOV = "govreg.azurecr.us"
MISSING = "nosuchreg.azurecr.io"  # resolves, but the stand-in serves no such registry
HOSTS = [REG, NOARM, DENIED, EVIL, ATTACKER, GOV, MISSING]
NOT_FOUND = "credentials not found in native keychain"

RES = Results("45-acr")
result = RES.check


def claims(token):
    p = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))


class Rig:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="azmi-acr-")
        self.standin = None

    def network(self):
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"], check=True)
        with open("/etc/hosts") as f:
            orig = f.read()
        path = os.path.join(self.tmp, "hosts")
        with open(path, "w") as f:
            f.write(orig + "\n127.0.0.1 " + " ".join(HOSTS) + "\n")
        subprocess.run(["mount", "--bind", path, "/etc/hosts"], check=True)

    def start(self):
        self.pki = standin_client.make_test_ca(self.tmp, dns_names=HOSTS)
        os.chmod(self.pki["key"], 0o644)
        self.standin = standin_client.Standin(
            bind="169.254.169.254", port=80,
            listeners=[{"name": "acr", "role": "acr", "bind": "127.0.0.1", "port": 443,
                        "cert": self.pki["cert"], "key": self.pki["key"]}])
        self.standin.start()
        self.public_key = self.standin.state()["public_key_pem"]
        self.conf = os.path.join(self.tmp, "azmi.conf")
        with open(self.conf, "w") as f:
            f.write("# the registries docker-credential-azmi list reports\nacr_registries = %s %s\n" % (REG, GOV))
        os.chmod(self.conf, 0o600)
        self.cache = self.new_cache("cache")
        env = {k: v for k, v in os.environ.items()
               if not k.lower().endswith("_proxy") and not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "AZMI_"))}
        env.update({"AZMI_CACHE_DIR": self.cache, "AZMI_CONFIG": self.conf, "AZMI_CA_FILE": self.pki["ca"],
                    "NO_PROXY": "*"})
        self.env = env

    def new_cache(self, name):
        d = os.path.join(self.tmp, name)
        os.mkdir(d, 0o700)
        return d

    def stop(self):
        if self.standin:
            self.standin.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, cmd, stdin=b"", env=None, timeout=120):
        e = dict(self.env)
        e.update(env or {})
        return subprocess.run(cmd, input=stdin, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout)

    def helper(self, action, stdin=b"", **kw):
        return self.run([HELPER, action], stdin=stdin, **kw)

    def azmi(self, args, **kw):
        return self.run([AZMI] + args, **kw)

    def curl(self, args, plugin=True, env=None, timeout=120):
        e = dict(env or {})
        if plugin:
            e["LD_PRELOAD"] = PLUGIN
        return self.run([CURL, "-sS", "--cacert", self.pki["ca"]] + args, env=e, timeout=timeout)

    def requests(self, path, host=None):
        out = self.standin.requests(path, listener="acr")
        if host:
            out = [r for r in out if (r["headers"].get("host") or "").split(":")[0] == host]
        return out

    def exchanges(self, host):
        return self.requests("/oauth2/exchange", host)


def verified(r, token):
    try:
        return standin_client.jwt_verify(token, r.public_key)
    except Exception:  # noqa: BLE001
        return None


def form(req):
    import urllib.parse
    return urllib.parse.parse_qs(req["body"])


# -- the Docker credential helper protocol ------------------------------------------------------------
def test_helper(r):
    res = r.helper("get", (REG + "\n").encode())
    out = {}
    try:
        out = json.loads(res.stdout)
    except ValueError:
        pass
    c = verified(r, out.get("Secret", "")) or {}
    ex = r.exchanges(REG)
    result(res.returncode == 0 and out.get("ServerURL") == REG and out.get("Username") == USER
           and c.get("aud") == REG and c.get("grant_type") == "refresh_token" and len(ex) == 1,
           "get: {ServerURL, Username 0000..., Secret = a refresh token of the registry}, one exchange",
           (res, ex))
    if ex:
        f = form(ex[0])
        ent = claims(f.get("access_token", ["x.e30.x"])[0])
        result(f.get("grant_type") == ["access_token"] and f.get("service") == [REG]
               and f.get("tenant") == [ent.get("tid")] and ent.get("aud") == "https://management.azure.com",
               "the exchange: grant_type=access_token, service, tenant from the token's tid, ARM audience first",
               f.keys())
    secret = out.get("Secret")
    res2 = r.helper("get", b"https://myregistry.azurecr.io\n")
    res3 = r.helper("get", b"MyRegistry.AzureCR.io:443/")
    o2 = json.loads(res2.stdout or b"{}")
    o3 = json.loads(res3.stdout or b"{}")
    result(res2.returncode == 0 and res3.returncode == 0 and o2.get("Secret") == secret == o3.get("Secret")
           and o2.get("ServerURL") == "https://myregistry.azurecr.io" and len(r.exchanges(REG)) == 1,
           "get again (https:// URL, other case, :443): the cached refresh token, no new exchange",
           (res2, res3, len(r.exchanges(REG))))
    cache_files = [os.path.join(r.cache, n) for n in os.listdir(r.cache) if not n.endswith(".lock")]
    modes = {oct(stat.S_IMODE(os.stat(p).st_mode)) for p in cache_files}
    holding = [p for p in cache_files if secret and secret in open(p).read()]
    result(len(holding) == 1 and modes == {"0o600"}, "the refresh token is cached in a 0600 file of the cache",
           (modes, holding))
    for server in (b"docker.io\n", b"https://index.docker.io/v1/\n", b"ghcr.io", b"http://myregistry.azurecr.io",
                   b"myregistry.azurecr.io.evil.example", b"myregistry.azurecr.io:5000", b"a.b.azurecr.io"):
        res = r.helper("get", server)
        result(res.returncode == 1 and res.stdout.decode().strip() == NOT_FOUND,
               "get %s: not ours, exit 1 and \"%s\" on stdout" % (server.decode().strip(), NOT_FOUND), res)
    res = r.helper("get", b"\n")
    result(res.returncode == 1 and res.stdout.decode().strip() == "no credentials server URL",
           "get with no server URL: exit 1, the protocol's message", res)
    before = len(r.exchanges(DENIED))
    res = r.helper("get", DENIED.encode())
    out = res.stdout.decode()
    auds = [claims(form(e)["access_token"][0]).get("aud") for e in r.exchanges(DENIED)[before:]]
    result(res.returncode == 1 and "HTTP 401" in out and "not authorized" in out and out.count("\n") == 1
           and "AcrPull" in res.stderr.decode()
           and auds == ["https://management.azure.com", "https://containerregistry.azure.net"],
           "a registry that refuses the exchange (both audiences): exit 1, one line on stdout, the AcrPull hint "
           "on stderr", (res, auds))
    res = r.helper("get", MISSING.encode())
    result(res.returncode == 1 and "HTTP 404" in res.stdout.decode()
           and "login server" in res.stderr.decode(),
           "an unknown registry name: exit 1, HTTP 404 explained", res)
    res = r.helper("get", NOARM.encode())
    ex = r.exchanges(NOARM)
    auds = [claims(form(e)["access_token"][0]).get("aud") for e in ex]
    out = json.loads(res.stdout or b"{}")
    result(res.returncode == 0 and verified(r, out.get("Secret", "")) is not None
           and auds == ["https://management.azure.com", "https://containerregistry.azure.net"],
           "ARM-audience tokens refused: the containerregistry audience is used", (res, auds))
    res = r.helper("get", GOV.encode())
    ex = r.exchanges(GOV)
    auds = [claims(form(e)["access_token"][0]).get("aud") for e in ex]
    result(res.returncode == 0 and auds == ["https://management.usgovcloudapi.net"],
           "a .azurecr.us registry: the US Government ARM audience", (res, auds))
    n = len(r.requests("/oauth2/exchange"))
    res = r.helper("store", json.dumps({"ServerURL": REG, "Username": "u", "Secret": "s3cr3t"}).encode())
    res2 = r.helper("erase", (REG + "\n").encode())
    res3 = r.helper("get", REG.encode())
    result(res.returncode == 0 and res.stdout == b"" and res2.returncode == 0 and res2.stdout == b""
           and json.loads(res3.stdout or b"{}").get("Secret") == secret and len(r.requests("/oauth2/exchange")) == n,
           "store and erase: accepted, silent, harmless (the cached token still serves)", (res, res2, res3))
    res = r.helper("list")
    lst = json.loads(res.stdout or b"null")
    result(res.returncode == 0 and isinstance(lst, dict) and set(lst) == {REG, NOARM, GOV}
           and set(lst.values()) == {USER},
           "list: the configured registries and those with a cached refresh token", (res, lst))
    res = r.helper("version")
    result(res.returncode == 0 and b"docker-credential-azmi" in res.stdout, "version", res)
    res = r.helper("frobnicate")
    res2 = r.run([HELPER])
    result(res.returncode == 1 and b"Usage" in res.stdout and res2.returncode == 1, "an unknown action: exit 1", res)
    cache = r.new_cache("cache-helper-nocache")
    res = r.helper("get", REG.encode(), env={"AZMI_CACHE_DIR": cache, "AZMI_CA_FILE": "/nonexistent/ca.pem"})
    result(res.returncode == 1 and res.stdout.count(b"\n") == 1 and b"CA" in res.stderr,
           "an untrusted registry certificate: exit 1, the hint names the CA option", res)


# -- azmi acr-token -------------------------------------------------------------------------------------
def test_acr_token(r):
    secret = json.loads(r.helper("get", REG.encode()).stdout or b"{}").get("Secret")
    n = len(r.exchanges(REG))
    res = r.azmi(["acr-token", REG])
    result(res.returncode == 0 and res.stdout.decode().strip() == secret and len(r.exchanges(REG)) == n,
           "acr-token REGISTRY: the refresh token, shared with the credential helper through the cache", res)
    res = r.azmi(["acr-token", REG, "--scope", "repository:app:pull"])
    tok = res.stdout.decode().strip()
    c = verified(r, tok) or {}
    result(res.returncode == 0 and c.get("aud") == REG
           and c.get("access") == [{"type": "repository", "name": "app", "actions": ["pull"]}],
           "acr-token --scope repository:app:pull: an access token for that scope", (res, c))
    res = r.azmi(["acr-token", "--json", "-s", "repository:app:pull", "-s", "registry:catalog:*", REG])
    j = json.loads(res.stdout or b"{}")
    c = verified(r, j.get("token", "")) or {}
    result(res.returncode == 0 and j.get("registry") == REG and j.get("username") == USER
           and j.get("kind") == "access" and j.get("expires_on") == c.get("exp") and len(c.get("access", [])) == 2,
           "acr-token --json with two scopes", (res, j))
    t = r.requests("/oauth2/token", REG)[-1]
    f = form(t)
    result(f.get("grant_type") == ["refresh_token"] and f.get("service") == [REG]
           and f.get("scope") == ["repository:app:pull", "registry:catalog:*"] and f.get("refresh_token") == [secret],
           "the token request: grant_type=refresh_token, service, one scope parameter each, the refresh token", f)
    res = r.azmi(["acr-token", "-v", "--no-cache", NOARM])
    err = res.stderr.decode()
    result(res.returncode == 0 and "refused the ARM-audience token" in err and "containerregistry" in err,
           "acr-token -v says which audience worked", err)
    res = r.azmi(["acr-token", DENIED])
    result(res.returncode == 4 and b"AcrPull" in res.stderr, "a refused exchange: exit 4 and the AcrPull hint", res)
    for args, what in ((["docker.io"], "not a registry"), ([REG, "--scope", "repo"], "a bad scope"),
                       ([REG, "--refresh", "--scope", "repository:a:pull"], "--refresh with --scope"), ([], "no registry"),
                       (["http://" + REG], "plain http")):
        res = r.azmi(["acr-token"] + args)
        result(res.returncode == 2 and res.stdout == b"", "acr-token: %s is a usage error (exit 2)" % what, res)
    res = r.azmi(["acr-token", "--help"])
    result(res.returncode == 0 and b"--scope" in res.stdout, "acr-token --help", res)


# -- the curl plug-in --------------------------------------------------------------------------------
def test_curl(r):
    cache = r.new_cache("cache-curl")
    env = {"AZMI_CACHE_DIR": cache}
    ex0 = len(r.exchanges(REG))
    tok0 = len(r.requests("/oauth2/token", REG))
    res = r.curl(["https://%s/v2/_catalog" % REG], env=env)
    body = json.loads(res.stdout or b"{}")
    result(res.returncode == 0 and body.get("repositories") == ["app", "tools/base"],
           "curl https://<registry>/v2/_catalog with the plug-in", res)
    res = r.curl(["-w", "\n%{http_code}", "https://%s/v2/app/tags/list" % REG], env=env)
    text, _, code = res.stdout.decode().rpartition("\n")
    result(code == "200" and json.loads(text or "{}").get("tags") == ["v1", "v2", "latest"],
           "curl .../v2/app/tags/list: the tags", res)
    res = r.curl(["https://%s/v2/tools/base/tags/list" % REG, "https://%s/v2/" % REG], env=env)
    result(res.returncode == 0 and b'"tools/base"' in res.stdout and res.stdout.endswith(b"{}"),
           "one curl, two URLs: a nested repository's tags and the /v2/ ping", res)
    ex = len(r.exchanges(REG)) - ex0
    toks = len(r.requests("/oauth2/token", REG)) - tok0
    result(ex == 1 and toks == 4, "three curl processes, four requests: one exchange (refresh token reused "
           "across processes), four scoped tokens", (ex, toks))
    hdr = os.path.join(r.tmp, "headers.txt")
    res = r.curl(["-D", hdr, "-o", os.devnull, "https://%s/v2/app/tags/list" % REG], env=env)
    heads = open(hdr).read()
    result(res.returncode == 0 and heads.startswith("HTTP/1.1 200") and "401" not in heads,
           "the 401 is held back: the application sees only the answer to the retry", heads)
    v2 = [q for q in r.requests("/v2/app/tags/list", REG)]
    result(len(v2) >= 2 and not v2[-2]["headers"].get("authorization")
           and v2[-1]["headers"].get("authorization", "").startswith("Bearer "),
           "the first request goes without a token, the retry with the registry's", v2[-2:])

    n = len(r.requests("/oauth2/exchange")) + len(r.requests("/oauth2/token"))
    res = r.curl(["-w", "%{http_code}", "-o", os.devnull, "https://%s/v2/app/tags/list" % EVIL], env=env)
    err = res.stderr.decode()
    attacker = [q for q in r.standin.requests(listener="acr")
                if (q["headers"].get("host") or "").startswith(ATTACKER)]
    result(res.stdout == b"401" and n == len(r.requests("/oauth2/exchange")) + len(r.requests("/oauth2/token"))
           and not attacker and err.count("azmi:") == 1 and "realm" in err,
           "a challenge whose realm is on another host: refused, nothing sent there, the 401 goes through", (res, attacker))

    res = r.curl(["-w", "%{http_code}", "-o", os.devnull, "https://%s/v2/app/tags/list" % REG], plugin=False, env=env)
    result(res.stdout == b"401", "without the plug-in the registry answers 401", res)
    before = len(r.requests("/v2/app/tags/list", REG))
    res = r.curl(["-w", "%{http_code}", "-o", os.devnull, "-u", "someone:pw", "https://%s/v2/app/tags/list" % REG],
                 env=env)
    seen = r.requests("/v2/app/tags/list", REG)[before:]
    result(res.stdout == b"401" and len(seen) == 1 and seen[0]["headers"].get("authorization", "").startswith("Basic "),
           "-u user:pw: the plug-in steps aside", (res, seen))
    before = len(r.requests("/v2/app/tags/list", REG))
    res = r.curl(["-w", "%{http_code}", "-o", os.devnull, "-X", "DELETE", "https://%s/v2/app/tags/list" % REG],
                 env=env)
    result(len(r.requests("/v2/app/tags/list", REG)) - before == 1 and res.stdout != b"200",
           "a DELETE is never retried", res)
    res = r.curl(["-w", "%{http_code}", "-o", os.devnull, "https://%s/v2/app/tags/list" % DENIED], env=env)
    err = res.stderr.decode()
    result(res.stdout == b"401" and err.count("azmi:") == 1 and "no registry token" in err,
           "a registry that refuses the exchange: one stderr line, the 401 goes through", res)
    res = r.curl(["-o", os.devnull, "https://%s/v2/app/tags/list" % DENIED], env=dict(env, AZMI_CURL_STRICT="1"))
    result(res.returncode == 94 and "AZMI_CURL_STRICT" in res.stderr.decode(),
           "AZMI_CURL_STRICT=1: the transfer fails (curl exit 94)", res)
    res = r.run([AZMI, "curl", "-sS", "--cacert", r.pki["ca"], "https://%s/v2/app/tags/list" % NOARM],
                env=dict(env, LD_PRELOAD=""))
    result(res.returncode == 0 and b'"tags"' in res.stdout, "azmi curl against a registry that refuses ARM tokens", res)
    if shutil.which("valgrind") is None:
        result(False, "valgrind is installed")
        return
    cache = r.new_cache("cache-valgrind")
    res = r.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                 CURL, "-sS", "--cacert", r.pki["ca"], "https://%s/v2/_catalog" % REG,
                 "https://%s/v2/app/tags/list" % EVIL],
                env={"LD_PRELOAD": PLUGIN, "AZMI_CACHE_DIR": cache}, timeout=300)
    result(res.returncode == 0 and b'"repositories"' in res.stdout,
           "valgrind: curl with the plug-in, an exchange and a refused realm, no leaks or errors",
           res.stderr.decode()[-3000:])
    res = r.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                 HELPER, "get"], stdin=NOARM.encode(), env={"AZMI_CACHE_DIR": r.new_cache("cache-vg2")}, timeout=300)
    result(res.returncode == 0 and b"Secret" in res.stdout,
           "valgrind: docker-credential-azmi get (two exchanges), no leaks or errors", res.stderr.decode()[-3000:])


def test_parallel(r):
    """curl --parallel (the multi interface): libcurl repeats each request after the challenge, the plug-in
    answers it just before the repeat, with the same realm and service pinning."""
    cache = r.new_cache("cache-parallel")
    env = {"AZMI_CACHE_DIR": cache}
    refs = [("app", "v1"), ("app", "v2"), ("app", "latest"), ("tools/base", "1.0")]
    args = ["--parallel", "--parallel-max", "4", "-f", "-w", "%{http_code}\n"]
    outs = []
    for i, (repo, tag) in enumerate(refs):
        outs.append(os.path.join(r.tmp, "manifest%d.json" % i))
        args += ["-o", outs[-1], "https://%s/v2/%s/manifests/%s" % (REG, repo, tag)]
    before = {p: len(r.requests("/v2/%s/manifests/%s" % p, REG)) for p in refs}
    res = r.curl(args, env=env)
    docs = []
    for o in outs:
        try:
            docs.append(json.load(open(o)))
        except (OSError, ValueError):
            docs.append(None)
    result(res.returncode == 0 and res.stdout.decode().split() == ["200"] * 4
           and all(d and d.get("schemaVersion") == 2 for d in docs) and b"azmi:" not in res.stderr,
           "curl --parallel -f: four manifests of two repositories pulled", (res, docs))
    good = True
    for p in refs:
        seen = r.requests("/v2/%s/manifests/%s" % p, REG)[before[p]:]
        auth = [q["headers"].get("authorization", "") for q in seen]
        c = verified(r, auth[-1][7:]) if auth and auth[-1].startswith("Bearer ") else None
        good = good and len(seen) == 2 and auth[0] == "" and c is not None and c.get("aud") == REG and \
            c.get("access") == [{"type": "repository", "name": p[0], "actions": ["pull"]}]
    result(good, "each manifest: the first request without a token, the repeat with a registry token for its scope")
    n = len(r.requests("/oauth2/exchange")) + len(r.requests("/oauth2/token"))
    res = r.curl(["-Z", "-w", "%{http_code}\n", "-o", os.devnull, "https://%s/v2/app/manifests/v1" % EVIL,
                  "-o", os.devnull, "https://%s/v2/app/manifests/v1" % REG], env=env)
    attacker = [q for q in r.standin.requests(listener="acr") if (q["headers"].get("host") or "").startswith(ATTACKER)]
    err = res.stderr.decode()
    result(sorted(res.stdout.decode().split()) == ["200", "401"] and not attacker and err.count("azmi:") == 1
           and "realm" in err and len(r.requests("/oauth2/exchange")) + len(r.requests("/oauth2/token")) == n + 1,
           "-Z: a challenge whose realm is on another host is refused, nothing sent there; the other pull works",
           (res, attacker))
    for mode in (["--parallel"], []):
        before = len([q for q in r.standin.requests(listener="acr")
                      if (q["headers"].get("host") or "").startswith(ATTACKER)])
        res = r.curl(mode + ["-L", "-o", os.devnull, "-w", "%{http_code}", "https://%s/v2/app/blobs/sha256:%s"
                             % (REG, "ab" * 32)], env=env)
        att = [q for q in r.standin.requests(listener="acr")
               if (q["headers"].get("host") or "").startswith(ATTACKER)][before:]
        result(len(att) == 1 and not att[0]["headers"].get("authorization"),
               "%s: a blob redirected to another host: that host gets no token" % (mode[0] if mode else "serial"),
               (res, att))
    res = r.curl(["--parallel", "-f", "-o", os.devnull, "https://%s/v2/app/manifests/v1" % DENIED], env=env)
    err = res.stderr.decode()
    result(res.returncode == 22 and err.count("azmi:") == 1 and "no registry token" in err,
           "--parallel -f and a registry that refuses the exchange: one stderr line, curl fails on the 401", res)
    res = r.curl(["--parallel", "-f", "-o", os.devnull, "https://%s/v2/app/manifests/v1" % DENIED],
                 env=dict(env, AZMI_CURL_STRICT="1"))
    result(res.returncode != 0 and "AZMI_CURL_STRICT" in res.stderr.decode(),
           "--parallel with AZMI_CURL_STRICT=1 and a refusing registry: the transfer fails", res)
    res = r.curl(["--parallel", "-w", "%{http_code}", "-o", os.devnull, "-u", "someone:pw",
                  "https://%s/v2/app/manifests/v1" % REG], env=env)
    result(res.stdout == b"401", "--parallel -u user:pw: the plug-in steps aside", res)
    res = r.run(["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite", "--error-exitcode=99",
                 CURL, "-sS", "--cacert", r.pki["ca"], "--parallel", "-f", "-o", os.devnull,
                 "https://%s/v2/app/manifests/v1" % REG, "-o", os.devnull, "https://%s/v2/app/manifests/v1" % EVIL,
                 "-L", "-o", os.devnull, "https://%s/v2/app/blobs/sha256:%s" % (REG, "cd" * 32)],
                env={"LD_PRELOAD": PLUGIN, "AZMI_CACHE_DIR": r.new_cache("cache-vg-parallel")}, timeout=300)
    result(b"==" not in res.stderr and res.returncode in (0, 22),
           "valgrind: curl --parallel with the plug-in (answered, refused and redirected), no leaks or errors",
           res.stderr.decode()[-3000:])


def test_concurrent(r):
    """Cold cache, eight credential helpers at once: one exchange (the file lock)."""
    cache = r.new_cache("cache-cold")
    r.standin.config({"acr": {"registries": {REG: {"arm_audience": True}}}})
    before = len(r.exchanges(REG))
    env = dict(r.env, AZMI_CACHE_DIR=cache)
    procs = [subprocess.Popen([HELPER, "get"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=env) for _ in range(8)]
    outs = [p.communicate(REG.encode(), timeout=120) for p in procs]
    secrets_ = {json.loads(o[0] or b"{}").get("Secret") for o in outs}
    result(all(p.returncode == 0 for p in procs) and len(secrets_) == 1 and len(r.exchanges(REG)) - before == 1,
           "eight helpers starting cold at once: one exchange, one refresh token", (len(secrets_),
                                                                                   len(r.exchanges(REG)) - before))


def main():
    r = Rig()
    try:
        r.network()
        r.start()
        only = sys.argv[1:]
        for t in (test_helper, test_acr_token, test_curl, test_parallel, test_concurrent):
            if only and t.__name__ not in only:
                continue
            t0 = time.time()
            try:
                t(r)
            except Exception:
                result(False, t.__name__, traceback.format_exc())
            print("# %s: %.1f s" % (t.__name__, time.time() - t0))
    except Exception:
        result(False, "set-up", traceback.format_exc() + (r.standin.log_tail() if r.standin else ""))
    finally:
        r.stop()
    print(RES.summary())
    return RES.exit_code()


if __name__ == "__main__":
    sys.exit(main())

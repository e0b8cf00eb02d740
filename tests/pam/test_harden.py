"""Issue 11, findings 5-8: what the caller of a login (its umask, its environment) and other local users
must not be able to change, through the real entry points (pamtester under pam_wrapper, NSS through
getent, the azmi command, a setuid copy of it) in the suite's private namespace.

  umask    the state directory keeps 0755 when pam_azmi runs under umask 077
  proxy    the caller's proxy variables never steer pam_azmi; azmi.conf's `proxy` does
  az       a setuid azmi never runs the caller's `az`
  cachedir another user who makes /tmp/azmi-<uid> first cannot switch a user's token cache off
  claims   a token is matched on its oid or `upn`, never on preferred_username / unique_name
  budget   a login's Azure steps share one `timeout` against a slow Azure
  imds     the machine's scope is cached between logins (bounded, private, fail closed)
"""

import os
import pwd
import time
import shutil
import socket
import stat
import subprocess
import threading

import scenario
from pamrun import Pam
from rig import AZMI, STATEDIR, write
from test_auth import AUD, Tokens, drop_cache

VICTIM, ATTACKER = 4711, 4712
PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class ProxyListener:
    """A loopback listener recording every connection and its first line; with `tunnel`, a CONNECT
    proxy (what azmi.conf's `proxy` points at)."""

    def __init__(self, tunnel=False):
        self.tunnel = tunnel
        self.lines = []
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        c.settimeout(10)
        data = b""
        try:
            while b"\r\n\r\n" not in data and len(data) < 65536:
                got = c.recv(4096)
                if not got:
                    break
                data += got
        except OSError:
            pass
        first = data.split(b"\r\n", 1)[0].decode("latin-1")
        with self.lock:
            self.lines.append(first)
        parts = first.split()
        if not self.tunnel or len(parts) < 2 or parts[0] != "CONNECT":
            c.close()
            return
        host, _, port = parts[1].rpartition(":")
        try:
            up = socket.create_connection((host, int(port)), timeout=10)
        except (OSError, ValueError):
            c.close()
            return
        c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        rest = data.split(b"\r\n\r\n", 1)[1]
        if rest:
            up.sendall(rest)
        for a, b in ((c, up), (up, c)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def seen(self):
        with self.lock:
            return list(self.lines)

    def close(self):
        self.sock.close()


def as_user(uid, argv, env=None, timeout=60):
    """Run argv as uid (and its group), no supplementary groups, with exactly `env`."""
    cmd = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups", "env", "-i"]
    cmd += ["%s=%s" % kv for kv in (env or {"PATH": "/usr/bin:/bin"}).items()]
    return subprocess.run(cmd + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)


def auth_conf(rig, tk, **keys):
    rig.conf(cache_ttl="0", tenant=tk.tid, audiences=AUD, **keys)


# --- finding 5: the state directory's mode is not the caller's umask --------------------------------

def umask_cases(rig, res, pam, tk):
    rig.clear_state()
    auth_conf(rig, tk)
    scenario.apply(rig.standin)
    r = pam.auth("alice@contoso.com", tk.good("alice"), acct_args="debug", umask=0o077)
    mode = stat.S_IMODE(os.stat(STATEDIR).st_mode) if os.path.isdir(STATEDIR) else None
    res.check(r.code == "PAM_SUCCESS" and mode == 0o755,
              "umask: a token login under umask 077 leaves %s 0755 (got %s)" % (STATEDIR, oct(mode or 0)), r)
    g = as_user(65534, ["getent", "passwd", "alice@contoso.com"])
    out = g.stdout.decode()
    res.check(g.returncode == 0 and out.startswith("alice@contoso.com:"),
              "umask: ... and an unprivileged process still resolves the Entra user through NSS", out)
    # An installation an older pam_azmi left at 0700 is put right by the next login.
    os.chmod(STATEDIR, 0o700)
    r = pam.acct("alice@contoso.com", umask=0o077)
    mode = stat.S_IMODE(os.stat(STATEDIR).st_mode)
    g = as_user(65534, ["getent", "passwd", "alice@contoso.com"])
    res.check(r.code == "PAM_SUCCESS" and mode == 0o755 and g.returncode == 0,
              "umask: a state directory left 0700 is given back its 0755 at the next login", (r, oct(mode)))
    decisions = os.path.join(STATEDIR, "decisions")
    if os.path.isdir(decisions):
        res.check(stat.S_IMODE(os.stat(decisions).st_mode) == 0o700, "umask: decisions/ stays 0700",
                  oct(os.stat(decisions).st_mode))


# --- finding 6: proxies from azmi.conf only, never the caller's environment --------------------------

def proxy_cases(rig, res, pam, tk):
    trap = ProxyListener()
    env = {v: trap.url for v in PROXY_VARS}
    keylog = os.path.join(rig.tmp, "keylog-pam")
    env.update({"NO_PROXY": "", "no_proxy": "", "SSLKEYLOGFILE": keylog})
    try:
        auth_conf(rig, tk)
        scenario.apply(rig.standin)
        drop_cache()  # the tenant's keys are fetched in this very login
        r = pam.auth("alice@contoso.com", tk.good("alice"), acct_args="debug", env=env)
        res.check(r.code == "PAM_SUCCESS" and not trap.seen(),
                  "proxy: the caller's proxy variables steer neither the key fetch nor Resource Manager "
                  "(token login, %d connections to the trap)" % len(trap.seen()), (r, trap.seen()))
        res.check(not os.path.exists(keylog), "keylog: pam_azmi's libcurl never opens the caller's SSLKEYLOGFILE",
                  keylog)
        r = pam.acct("bob@contoso.com", env=env)
        res.check(r.code == "PAM_SUCCESS" and not trap.seen(),
                  "proxy: ... nor Microsoft Graph and Resource Manager (UPN login, %d connections)"
                  % len(trap.seen()), (r, trap.seen()))
        r = subprocess.run([AZMI, "check-login", "carol@contoso.com"], env=dict(os.environ, **env),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        res.check(r.returncode == 0 and not trap.seen(),
                  "proxy: ... nor `azmi check-login`, which decides as pam_azmi does", (r.stdout[-2000:], trap.seen()))
    finally:
        trap.close()
    # The proxy of azmi.conf is used for the remote services, and only for them.
    proxy = ProxyListener(tunnel=True)
    try:
        auth_conf(rig, tk, proxy=proxy.url)
        scenario.apply(rig.standin)
        drop_cache()
        r = pam.auth("alice@contoso.com", tk.good("alice"), acct_args="debug")
        seen = proxy.seen()
        res.check(r.code == "PAM_SUCCESS" and "CONNECT login.microsoftonline.com:443 HTTP/1.1" in seen and
                  "CONNECT management.azure.com:443 HTTP/1.1" in seen and
                  not any("169.254.169.254" in s for s in seen),
                  "proxy: azmi.conf's proxy carries the key fetch and Resource Manager, never IMDS", (r, seen))
        rig.conf(cache_ttl="0", proxy="ftp://nope")
        r = pam.acct("alice@contoso.com")
        res.check(r.code == "PAM_SERVICE_ERR", "proxy: a proxy that is not an http(s)/socks5 URL fails closed", r)
    finally:
        proxy.close()
    rig.conf(cache_ttl="0")


# --- finding 6: a setuid azmi never runs the caller's az ----------------------------------------------

def az_cases(rig, res):
    d = os.path.join(rig.tmp, "setuid")
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o1777)  # the fake az writes its marker here, as whoever runs it
    bindir = os.path.join(d, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.chmod(bindir, 0o755)
    marker = os.path.join(d, "az-ran")
    write(os.path.join(bindir, "az"), "#!/bin/sh\nid > %s\necho '{}'\nexit 1\n" % marker, 0o755)
    suid = os.path.join(d, "azmi")
    shutil.copy(AZMI, suid)
    os.chown(suid, 0, 0)
    os.chmod(suid, 0o4755)
    rig.conf(cache_ttl="0", imds_endpoint="http://127.0.0.1:9", use_azure_cli="yes", cache="no")
    r = as_user(VICTIM, [suid, "token", "--resource", "https://management.azure.com"],
                env={"PATH": bindir + ":/usr/bin:/bin", "https_proxy": "http://127.0.0.1:9"})
    out = r.stdout.decode("utf-8", "replace")
    res.check(r.returncode != 0 and not os.path.exists(marker) and "setuid" in out,
              "az: a setuid azmi never runs the az on its caller's PATH (AT_SECURE)",
              (out[-1500:], open(marker).read() if os.path.exists(marker) else "az did not run"))
    # Remote requests of a setuid azmi ignore the caller's proxy variables too (a registry's token
    # exchange: the connection may fail, but never through the trap).
    with open("/etc/hosts") as f:
        hosts = f.read()
    if "contosoreg.azurecr.io" not in hosts:
        write("/etc/hosts", hosts + "127.0.0.1 contosoreg.azurecr.io\n")
    rig.conf(cache_ttl="0", cache="no")
    scenario.apply(rig.standin)
    trap = ProxyListener()
    try:
        env = {v: trap.url for v in PROXY_VARS}
        env.update({"PATH": "/usr/bin:/bin", "NO_PROXY": "", "no_proxy": ""})
        keylog = os.path.join(d, "keylog-setuid")
        env["SSLKEYLOGFILE"] = keylog
        r = as_user(VICTIM, [suid, "acr-token", "contosoreg.azurecr.io", "--timeout", "5"], env=env)
        ex = [q for q in rig.standin.requests() if q.get("path") == "/metadata/identity/oauth2/token"]
        res.check(not trap.seen() and ex,
                  "proxy: a setuid azmi's registry exchange ignores the caller's proxy variables (AT_SECURE)",
                  (r.stdout[-1000:], trap.seen()))
        res.check(not os.path.exists(keylog),
                  "keylog: ... and libcurl never opens the caller's SSLKEYLOGFILE (created as root before)",
                  os.stat(keylog) if os.path.exists(keylog) else "")
    finally:
        trap.close()
    rig.conf(cache_ttl="0", imds_endpoint="http://127.0.0.1:9", use_azure_cli="yes", cache="no")
    # The same copy without the setuid bit is the user's own program: az runs, as the user.
    os.chmod(suid, 0o755)
    r = as_user(VICTIM, [suid, "token", "--resource", "https://management.azure.com"],
                env={"PATH": bindir + ":/usr/bin:/bin"})
    ran = open(marker).read() if os.path.exists(marker) else ""
    res.check("uid=%d" % VICTIM in ran, "az: ... while the same program run plainly does use az (control)",
              (r.stdout[-800:], ran))
    rig.conf(cache_ttl="0")


# --- finding 7: /tmp/azmi-<uid> made first by another user ------------------------------------------

def cachedir_cases(rig, res):
    home = "/home/victim"
    for name, uid in (("victim", VICTIM), ("attacker", ATTACKER)):
        try:
            pwd.getpwuid(uid)
        except KeyError:
            rig.add_local(name, uid)
    os.makedirs(home, exist_ok=True)
    os.chown(home, VICTIM, VICTIM)
    os.chmod(home, 0o755)
    shutil.rmtree(os.path.join(home, ".cache"), ignore_errors=True)
    rig.conf()
    scenario.apply(rig.standin)
    # A private /tmp for this case only (the rig's files live in the host's /tmp).
    script = r"""
set -e
cp {azmi} /run/azmi-under-test  # the binary may live under /tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir /tmp/azmi-{v}
chown {a}:{a} /tmp/azmi-{v}
chmod 0777 /tmp/azmi-{v}
for i in 1 2; do
  setpriv --reuid={v} --regid={v} --clear-groups env -i PATH=/usr/bin:/bin /run/azmi-under-test token --resource https://storage.azure.com >/dev/null 2>/tmp/err.$i || echo "run $i failed: $(cat /tmp/err.$i)"
done
echo "stderr: $(cat /tmp/err.1 /tmp/err.2 | tr '\n' ' ')"
echo "attacker-dir: $(ls -A /tmp/azmi-{v} | wc -l)"
rm -f /run/azmi-under-test
""".format(v=VICTIM, a=ATTACKER, azmi=AZMI)
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode("utf-8", "replace")
    token_reqs = [q for q in rig.standin.requests() if q.get("path") == "/metadata/identity/oauth2/token"]
    cache = os.path.join(home, ".cache", "azmi")
    files = os.listdir(cache) if os.path.isdir(cache) else []
    st = os.stat(cache) if os.path.isdir(cache) else None
    res.check(r.returncode == 0 and "failed" not in out and len(token_reqs) == 1,
              "cachedir: with /tmp/azmi-%d made first by uid %d, the second run is still served from a cache "
              "(%d token requests)" % (VICTIM, ATTACKER, len(token_reqs)), out)
    res.check(st is not None and st.st_uid == VICTIM and stat.S_IMODE(st.st_mode) == 0o700 and files,
              "cachedir: ... which is ~/.cache/azmi, 0700 and the victim's", (out, files))
    res.check("attacker-dir: 0" in out, "cachedir: ... and nothing is written into the other user's directory",
              out)
    res.check("token cache off" not in out, "cachedir: ... and no 'token cache off' warning", out)
    shutil.rmtree(os.path.join(home, ".cache"), ignore_errors=True)


# --- finding 8: tokens matched on oid or upn only ------------------------------------------------------

def claims_cases(rig, res, pam, tk):
    mallory = scenario.oid(777)
    auth_conf(rig, tk)
    scenario.apply(rig.standin)
    forged_v2 = tk.good("alice", v2=True, oid=mallory, upn=None)
    r = pam.auth("alice@contoso.com", forged_v2)
    res.check(r.code == "PAM_AUTH_ERR" and r.has("check=user") and r.has("no upn claim"),
              "claims: a v2 token of another object id whose preferred_username is alice's UPN -> refused", r)
    forged_v1 = tk.good("alice", oid=mallory, upn=None)
    r = pam.auth("alice@contoso.com", forged_v1)
    res.check(r.code == "PAM_AUTH_ERR" and r.has("check=user"),
              "claims: a v1 token of another object id with alice's unique_name and no upn -> refused", r)
    r = pam.auth("alice@contoso.com", tk.good("alice", v2=True, upn=None))
    res.check(r.code == "PAM_AUTH_ERR" and r.has("no upn claim"),
              "claims: even alice's own v2 token without upn is refused for a UPN login (no mutable names)", r)
    rig.add_local("alicemap", 1700)
    rig.user_map("alicemap %s\n" % scenario.USERS["alice"].upper())
    auth_conf(rig, tk, user_map="/etc/azmi-users")
    r = pam.auth("alicemap", tk.good("alice", v2=True, upn=None), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS",
              "claims: ... while a login mapped to the object id (upper case in the map) takes it", r)
    rig.conf(cache_ttl="0")


# --- finding 8: one time budget for a login -----------------------------------------------------------

def budget_cases(rig, res, pam):
    rig.conf(cache_ttl="0", timeout="4")
    scenario.apply(rig.standin)
    slow = [{"delay_ms": 3000, "repeat": 10}]
    rig.standin.script("/metadata/instance", slow)
    rig.standin.script("/v1.0/users/alice%40contoso.com", slow)
    rig.standin.script(scenario.arm_path(rig.standin), slow)
    t = time.time()
    r = pam.acct("alice@contoso.com")
    took = time.time() - t
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and took < 4 + 2,
              "budget: IMDS, Graph and ARM each 3 s slow with timeout 4: the login gives up within the one "
              "budget (%.1f s), fail closed" % took, (took, r))
    scenario.apply(rig.standin)
    rig.standin.script("/metadata/instance", [{"delay_ms": 1000}])
    rig.standin.script("/v1.0/users/alice%40contoso.com", [{"delay_ms": 1000}])
    t = time.time()
    r = pam.acct("alice@contoso.com")
    took = time.time() - t
    res.check(r.code == "PAM_SUCCESS" and took < 4,
              "budget: ... while steps that fit in it together still grant (%.1f s)" % took, r)
    rig.conf(cache_ttl="0")
    scenario.apply(rig.standin)


# --- finding 8: the machine's scope cached between logins ---------------------------------------------

def imds_cases(rig, res, pam):
    rig.conf(cache_ttl="0")
    scenario.apply(rig.standin)

    def instance_requests():
        return len([q for q in rig.standin.requests() if q.get("path") == "/metadata/instance"])

    for _ in range(3):
        r = pam.acct("alice@contoso.com")
    n = instance_requests()
    st = os.stat(scenario.VM_CACHE) if os.path.exists(scenario.VM_CACHE) else None
    res.check(r.code == "PAM_SUCCESS" and n == 1,
              "imds: three logins ask IMDS for the instance metadata once (%d requests)" % n, r)
    res.check(st is not None and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600,
              "imds: ... kept in a root-only file (0600 in /run/azmi)", oct(st.st_mode) if st else "no file")
    # Bounded lifetime: an entry older than 10 minutes is asked again.
    with open(scenario.VM_CACHE) as f:
        text = f.read()
    old = "\n".join("time %d" % (int(l.split()[1]) - 601) if l.startswith("time ") else l
                    for l in text.split("\n"))
    write(scenario.VM_CACHE, old, 0o600)
    r = pam.acct("alice@contoso.com")
    res.check(r.code == "PAM_SUCCESS" and instance_requests() == n + 1,
              "imds: an entry older than its 600 s lifetime is not used", r)
    # Fail closed: an unsafe or foreign file is never trusted; IMDS failing with no fresh entry denies.
    os.chmod(scenario.VM_CACHE, 0o644)
    rig.standin.script("/metadata/instance", [{"status": 500, "repeat": 40}])
    r = pam.acct("alice@contoso.com")
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "imds: a cache file readable by others is ignored (IMDS 500 -> "
              "PAM_AUTHINFO_UNAVAIL)", r)
    scenario.apply(rig.standin)
    r = pam.acct("alice@contoso.com")
    with open(scenario.VM_CACHE) as f:
        text = f.read()
    write(scenario.VM_CACHE, text.replace("vm-azmi", "vm-other"), 0o600)
    rig.conf(cache_ttl="0", imds_endpoint="http://169.254.169.254:80")
    rig.standin.script("/metadata/instance", [{"status": 500, "repeat": 40}])
    r = pam.acct("alice@contoso.com")
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "imds: an entry for another endpoint is not used", r)
    rig.conf(cache_ttl="0")
    scenario.apply(rig.standin)


def run_tests(rig, res):
    pam = Pam(rig)
    tk = Tokens(rig)
    umask_cases(rig, res, pam, tk)
    proxy_cases(rig, res, pam, tk)
    az_cases(rig, res)
    cachedir_cases(rig, res)
    claims_cases(rig, res, pam, tk)
    budget_cases(rig, res, pam)
    imds_cases(rig, res, pam)
    rig.clear_state()
    rig.conf(cache_ttl="0")
    scenario.apply(rig.standin)

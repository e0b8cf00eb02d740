"""End to end: the real sshd on 127.0.0.1:2222 with pam_azmi in its account
stack and nss_azmi in nsswitch, a real ssh client with a key (TESTRIG "A
real sshd").  Entra users never added with useradd log in by role; one
without a role is refused; a local user is untouched."""

import os
import re
import shutil
import socket
import subprocess
import time

import scenario
from rig import PAM_SO, ROOT, STATEDIR, run, write

PORT = 2222
SSHD = "/usr/sbin/sshd"


def wait_port(port, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Sshd:
    def __init__(self, rig, name="sshd", port=PORT):
        self.rig = rig
        self.port = port
        self.dir = os.path.join(rig.tmp, name)
        os.makedirs(self.dir)
        self.keys = os.path.join(self.dir, "keys")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(self.dir, "host_key")])
        self.client_key = os.path.join(self.dir, "client_key")
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.client_key])
        self.log = os.path.join(self.dir, "sshd.log")
        self.config = os.path.join(self.dir, "sshd_config")
        write(self.config, "\n".join([
            "Port %d" % port, "ListenAddress 127.0.0.1", "HostKey %s/host_key" % self.dir,
            "PidFile %s/sshd.pid" % self.dir, "UsePAM yes", "AuthorizedKeysFile %s/%%u/authorized_keys" % self.keys,
            "StrictModes no", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
            "PubkeyAuthentication yes", "PermitRootLogin no", "LogLevel VERBOSE", "UseDNS no", ""]))
        # The account phase asks pam_azmi first; a local user goes on to pam_unix as before.
        write("/etc/pam.d/sshd", "\n".join([
            "auth     required pam_deny.so",
            "account  required %s debug" % PAM_SO,
            "account  required pam_unix.so",
            "session  optional pam_mkhomedir.so umask=0077",
            "session  required pam_unix.so",
            "password required pam_deny.so", ""]))
        self.proc = None

    def authorize(self, user):
        d = os.path.join(self.keys, user)
        os.makedirs(d, exist_ok=True)
        shutil.copy(self.client_key + ".pub", os.path.join(d, "authorized_keys"))

    def start(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        self.proc = subprocess.Popen([SSHD, "-D", "-f", self.config, "-E", self.log], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.rig.procs.append(self.proc)
        return wait_port(self.port)

    def ssh(self, user, command="id; echo HOME=$HOME; pwd"):
        r = subprocess.run(self.ssh_argv(user, command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=90)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def ssh_argv(self, user, command):
        return (["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", self.client_key, "-o", "BatchMode=yes",
                            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR",
                            "-l", user, "127.0.0.1", command])

    def log_tail(self):
        try:
            return open(self.log).read()[-3000:]
        except OSError:
            return ""


def decision_lines(rig, mark, user):
    lines = rig.syslog.since(mark, wait_for='user="%s"' % user)
    return [l for l in lines if "pam_azmi(sshd:account)" in l and "decision=" in l and 'user="%s"' % user in l]


def run_tests(rig, res):
    if not os.path.exists(SSHD):
        res.check(False, "sshd: %s is missing (apt-get install openssh-server)" % SSHD)
        return
    rig.clear_state()
    scenario.apply(rig.standin)
    rig.add_local("sshlocal", 1900)
    rig.user_map("# test map\n")
    rig.conf(cache_ttl="0", timeout="10", user_map="/etc/azmi-users")
    sshd = Sshd(rig)
    for u in ("alice@contoso.com", "bob@contoso.com", "heidi@contoso.com", "sshlocal", "mallory@evil.example"):
        sshd.authorize(u)
    if not res.check(sshd.start(), "sshd: a real sshd listens on 127.0.0.1:%d" % PORT, sshd.log_tail()):
        return

    # An Entra admin, never added with useradd: logs in, and id shows the admin group.
    mark = rig.syslog.mark()
    rc, out = sshd.ssh("alice@contoso.com")
    m = re.search(r"uid=(\d+)\(alice@contoso.com\) gid=(\d+)", out)
    res.check(rc == 0 and m is not None and 70001 < int(m.group(1)) <= 99999 and m.group(2) == "70001",
              "sshd: an Entra user with the admin role logs in by key (uid from nss_azmi, group azmi-users)",
              (rc, out, sshd.log_tail()))
    res.check("(azmi-admins)" in out, "sshd: ... and id shows the admin group", out)
    res.check("HOME=/home/alice@contoso.com" in out and out.rstrip().endswith("/home/alice@contoso.com") and
              os.path.isdir("/home/alice@contoso.com"), "sshd: ... home made by pam_mkhomedir", out)
    lines = decision_lines(rig, mark, "alice@contoso.com")
    res.check(len(lines) == 1 and lines[0].startswith("<86>") and "level=admin" in lines[0] and
              "correlation_id=" in lines[0],
              "sshd: one LOG_AUTHPRIV line for the decision (authpriv.info, level, correlation id)",
              rig.syslog.since(mark)[-8:])
    uids = open(STATEDIR + "/uids").read() if os.path.exists(STATEDIR + "/uids") else ""
    res.check(m is not None and "alice@contoso.com:%s" % m.group(1) in uids,
              "sshd: the uid sshd saw before authentication is the one recorded", (uids, out))
    rc2, out2 = sshd.ssh("alice@contoso.com", "id -u")
    res.check(rc2 == 0 and m is not None and out2.strip() == m.group(1), "sshd: the same uid at the next login",
              out2)

    # An Entra user with the user role: in, without the admin group.
    rc, out = sshd.ssh("bob@contoso.com")
    res.check(rc == 0 and "(bob@contoso.com)" in out and "azmi-admins" not in out,
              "sshd: an Entra user with the user role logs in, not an admin", (rc, out, sshd.log_tail()))

    # Without a role: the key is right, the account phase refuses.
    mark = rig.syslog.mark()
    rc, out = sshd.ssh("heidi@contoso.com")
    lines = decision_lines(rig, mark, "heidi@contoso.com")
    res.check(rc != 0 and "uid=" not in out, "sshd: an Entra user without a login role is refused", (rc, out))
    res.check(len(lines) == 1 and lines[0].startswith("<85>") and "decision=denied" in lines[0] and
              "no role assignment" in lines[0], "sshd: ... with the reason in one authpriv.notice line",
              rig.syslog.since(mark)[-8:])

    # The admin loses the role: out of the admin group at the next login.
    rig.standin.config({"arm": {"role_assignments": [{"principal_id": scenario.USERS["alice"],
                                                      "role": scenario.USER_ROLE, "scope": "vm"}]}})
    rc, out = sshd.ssh("alice@contoso.com")
    res.check(rc == 0 and "azmi-admins" not in out, "sshd: a user who lost the admin role logs in without it",
              (rc, out))
    rig.standin.config({"arm": {"role_assignments": []}})
    rc, out = sshd.ssh("alice@contoso.com")
    res.check(rc != 0 and "uid=" not in out, "sshd: ... and with no role left, is refused", (rc, out))
    scenario.apply(rig.standin)

    # Local users are untouched: pam_azmi ignores them (no decision line), pam_unix decides.
    mark = rig.syslog.mark()
    rc, out = sshd.ssh("sshlocal")
    res.check(rc == 0 and "uid=1900(sshlocal)" in out, "sshd: a local user still logs in", (rc, out,
                                                                                            sshd.log_tail()))
    res.check(not [l for l in rig.syslog.since(mark) if "decision=" in l], "sshd: ... with no pam_azmi decision",
              rig.syslog.since(mark))
    rc, out = sshd.ssh("mallory@evil.example")
    res.check(rc != 0, "sshd: a UPN outside allowed_domains does not exist for sshd", (rc, out))

    # Azure down and no grace: nobody from Entra gets in, local users still do.
    rig.standin.script(scenario.arm_path(rig.standin), [{"status": 503, "repeat": 500}])
    rig.conf(cache_ttl="0", timeout="3", user_map="/etc/azmi-users")
    rc, out = sshd.ssh("bob@contoso.com")
    res.check(rc != 0, "sshd: Azure unreachable -> an Entra user is refused (fail closed)", (rc, out))
    rc, out = sshd.ssh("sshlocal")
    res.check(rc == 0, "sshd: ... while a local user still logs in", (rc, out))
    scenario.apply(rig.standin)
    token_cases(rig, res, sshd)
    visudo = shutil.which("visudo")
    if visudo:
        r = subprocess.run([visudo, "-cf", os.path.join(ROOT, "pam_azmi", "sudoers.azmi")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        res.check(r.returncode == 0, "sshd: the sudoers drop-in parses (visudo -c)", r.stdout)


ASKPASS = """#!/bin/sh
# The token, 1000 bytes an answer (ssh reads at most 1023 bytes at a prompt); each but the last ends in '\\'.
d=%s
case "$1" in *continued*) n=$(cat $d/count) ;; *) n=0 ;; esac
n=$((n + 1))
echo $n > $d/count
sed -n "${n}p" $d/chunks
"""


def token_ssh(sshd, user, token, port):
    """ssh with keyboard-interactive only, the token fed by SSH_ASKPASS (forced, no tty)."""
    d = os.path.join(sshd.dir, "askpass")
    os.makedirs(d, exist_ok=True)
    write(os.path.join(d, "chunks"), "\\\n".join(token[i:i + 1000] for i in range(0, len(token), 1000)) + "\n")
    write(os.path.join(d, "askpass"), ASKPASS % d, 0o755)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "SSH_ASKPASS": os.path.join(d, "askpass"),
           "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"}
    r = subprocess.run(["ssh", "-F", "/dev/null", "-p", str(port), "-o", "PreferredAuthentications=keyboard-interactive",
                        "-o", "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1",
                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-l", user, "127.0.0.1", "id"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=90, env=env)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def token_cases(rig, res, sshd):
    """Issue 6 end to end: a second sshd with keyboard-interactive; pam_azmi's auth phase takes an Entra
    token at the prompt (SSH_ASKPASS), the account phase decides for the token's object id."""
    import test_auth
    port = PORT + 1
    tk = test_auth.Tokens(rig)
    rig.conf(cache_ttl="0", timeout="10", user_map="/etc/azmi-users", tenant=tk.tid, audiences=test_auth.AUD)
    config = os.path.join(sshd.dir, "sshd_config_kbd")
    text = open(sshd.config).read().replace("Port %d" % PORT, "Port %d" % port)
    text = text.replace("KbdInteractiveAuthentication no", "KbdInteractiveAuthentication yes")
    text = text.replace("PidFile %s/sshd.pid" % sshd.dir, "PidFile %s/sshd-kbd.pid" % sshd.dir)
    write(config, text)
    write("/etc/pam.d/sshd", "\n".join([
        "auth     [success=done ignore=ignore default=die] %s debug" % PAM_SO,
        "auth     required pam_deny.so",
        "account  required %s debug" % PAM_SO,
        "account  required pam_unix.so",
        "session  required pam_unix.so",
        "password required pam_deny.so", ""]))
    proc = subprocess.Popen([SSHD, "-D", "-f", config, "-E", sshd.log + ".kbd"], env={"PATH": "/usr/sbin:/usr/bin"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rig.procs.append(proc)
    if not res.check(wait_port(port), "sshd+token: an sshd with keyboard-interactive listens on :%d" % port):
        return
    good = tk.good("alice", pad="x" * 800)
    mark = rig.syslog.mark()
    rc, out = token_ssh(sshd, "alice@contoso.com", good, port)
    lines = rig.syslog.since(mark, wait_for="decision=")
    res.check(rc == 0 and "(alice@contoso.com)" in out,
              "sshd+token: a valid %d-byte Entra token at the keyboard-interactive prompt logs in" % len(good),
              (rc, out, lines[-6:], open(sshd.log + ".kbd").read()[-2000:]))
    res.check(any("result=ok" in l for l in lines) and
              any('principal="%s"' % scenario.USERS["alice"] in l and "decision=granted" in l for l in lines),
              "sshd+token: ... the account phase decided for the token's object id", lines[-6:])
    forged = tk.resign(good, {"kid": tk.kid})
    mark = rig.syslog.mark()
    rc, out = token_ssh(sshd, "alice@contoso.com", forged, port)
    lines = rig.syslog.since(mark, wait_for="result=")
    res.check(rc != 0 and "uid=" not in out and any("check=signature" in l for l in lines),
              "sshd+token: a forged token is refused (check=signature)", (rc, out, lines[-6:]))
    proc.terminate()
    proc.wait(5)

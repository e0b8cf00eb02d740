"""Issue 11: a person on the machine is their Entra object id; names are labels.

Each attack is played through the real entry points (getent/id through glibc
and libnss_azmi, pamtester through libpam, a real sshd and the real sudo) and
must be refused:
  1  UID hijack: a name whose UID slot is someone else's is refused, never
     moved to the next UID (sshd keeps the UID it saw before authentication)
  2  group-name hijack: no Entra user is served under a name that means
     something on the machine; no per-user groups for sudo's %group to match
  3  one canonical name: a demoted admin who logs in with a token typed in
     another case leaves the admin group; case variants take no new UID
  4  a reused UPN (same name, new object id) does not inherit the old account
"""

import os
import re
import shutil
import subprocess
import threading
import time

import scenario
import test_cli
from pamrun import Pam
from rig import STATEDIR, write
from test_nss import fnv1a32, getent
from test_sshd import Sshd

LO, HI = 70000, 70090  # a small uid_range: colliding names are quick to find
USERS_GID = LO + 1
SUDOERS = "/etc/sudoers.d/zz-azmi-test"


def slot(name, lo=LO, hi=HI):
    return lo + 2 + fnv1a32(name) % (hi - lo - 1)


def colliders(target, n=1, prefix="user"):
    """UPNs whose UID slot is target's both in this scheme and in the earlier hash-and-probe one
    (span hi-lo), so that the attack is the same against either build."""
    spans = (HI - LO, HI - LO - 1)
    want = [fnv1a32(target) % s for s in spans]
    out, i = [], 0
    while len(out) < n:
        i += 1
        name = "%s%d@contoso.com" % (prefix, i)
        if name != target and all(fnv1a32(name) % s == w for s, w in zip(spans, want)):
            out.append(name)
    return out


def uids():
    try:
        return open(STATEDIR + "/uids").read()
    except OSError:
        return ""


def admins():
    try:
        return open(STATEDIR + "/admins").read().split()
    except OSError:
        return []


def directory(rig, extra_users=(), extra_roles=(), replace=None):
    """The scenario's directory and roles plus `extra_users` [(upn, oid)] holding the roles in
    `extra_roles` [(oid, role)]; `replace` {upn: oid} gives a UPN to another object."""
    cfg = scenario.config()
    users = [u for u in cfg["directory"]["users"] if u["upn"] not in (replace or {})]
    users += [{"id": o, "upn": u} for u, o in list(extra_users) + list((replace or {}).items())]
    cfg["directory"]["users"] = users
    cfg["arm"]["role_assignments"] += [{"principal_id": o, "role": r, "scope": "vm"} for o, r in extra_roles]
    rig.standin.reset()
    rig.standin.config(cfg)


def finding1_pam(rig, res, pam):
    """Two names with one UID slot: the second is refused with the pin to add, and served once pinned."""
    alice = scenario.upn("alice")
    mallory = colliders(alice)[0]
    m_oid = scenario.oid(501)
    directory(rig, [(mallory, m_oid)], [(m_oid, scenario.USER_ROLE)])
    rig.clear_state()
    rig.conf(cache_ttl="0", uid_range="%d-%d" % (LO, HI))
    rc, before = getent("passwd", mallory)  # what sshd would see before authentication
    r = pam.acct(alice)
    res.check(r.code == "PAM_SUCCESS" and "%s:%d:%s" % (alice, slot(alice), scenario.USERS["alice"]) in uids(),
              "identity 1: alice is recorded in her slot with her object id", (r, uids()))
    r = pam.acct(mallory)
    line = r.decision() or ""
    res.check(r.code == "PAM_PERM_DENIED" and "belongs to %s" % alice in line and "pin" in line and
              "%s:UID" % mallory in line,
              "identity 1: a name whose slot is another's is refused (pam_syslog tells how to pin a uid)",
              (before, r, uids()))
    res.check(mallory not in uids(), "identity 1: ... and is not moved to another uid", uids())
    mark = rig.syslog.mark()
    rc, out = getent("passwd", mallory)
    lines = rig.syslog.since(mark, wait_for="nss_azmi")
    res.check(rc == 2 and any("nss_azmi" in l and "pin" in l for l in lines),
              "identity 1: nss_azmi no longer serves it either (and logs why)", (rc, out, lines[-2:]))
    before_cli = uids()
    rc, out, err = test_cli.check_login(mallory)
    res.check(rc == 4 and "pin a free uid" in out and uids() == before_cli,
              "identity 1: azmi check-login shows the refusal and the pin, writing nothing", (rc, out, err))
    m = re.search(r"for instance (\d+)", line)
    pin = int(m.group(1)) if m else 0
    res.check(LO + 2 <= pin <= HI and pin != slot(alice), "identity 1: the log line suggests a free uid", line)
    with open(STATEDIR + "/uids", "a") as f:
        f.write("%s:%d\n" % (mallory, pin))
    rc, out = getent("passwd", mallory)
    r = pam.acct(mallory)
    res.check(out.startswith("%s:*:%d:%d:" % (mallory, pin, USERS_GID)) and r.code == "PAM_SUCCESS" and
              "%s:%d:%s" % (mallory, pin, m_oid) in uids(),
              "identity 1: once pinned the name is served and the first login binds its object id",
              (out, r, uids()))


def finding1_sshd(rig, res, sshd):
    """The attack of the issue: mallory's sshd looks mallory up (slot S free), alice logs in and takes
    S while mallory's account phase waits for Graph; mallory's session must not run as uid S."""
    alice = scenario.upn("alice")
    mallory = colliders(alice, prefix="ssh")[0]
    m_oid = scenario.oid(502)
    directory(rig, [(mallory, m_oid)], [(m_oid, scenario.USER_ROLE)])
    rig.clear_state()
    rig.conf(cache_ttl="0", timeout="20", uid_range="%d-%d" % (LO, HI))
    shutil.rmtree("/home/" + alice, ignore_errors=True)  # the sshd part's, owned by her uid in the default range
    for path in ("/v1.0/users/" + mallory, "/v1.0/users/" + mallory.replace("@", "%40")):
        rig.standin.script(path, [{"delay_ms": 4000}])
    sshd.authorize(alice)
    sshd.authorize(mallory)
    got = {}

    def attacker():
        got["m"] = sshd.ssh(mallory, "id; stat -c %u:%U /home/" + alice)

    t = threading.Thread(target=attacker)
    t.start()
    time.sleep(1.5)
    got["a"] = sshd.ssh(alice, "id -u")
    t.join(60)
    rc_a, out_a = got.get("a", (None, ""))
    rc_m, out_m = got.get("m", (None, ""))
    victim = slot(alice)
    res.check(rc_a == 0 and out_a.strip() == str(victim), "identity 1 sshd: alice logs in as uid %d" % victim,
              (rc_a, out_a, sshd.log_tail()))
    res.check("uid=%d" % victim not in out_m and "(%s)" % alice not in out_m and rc_m != 0,
              "identity 1 sshd: a colliding user whose slot alice took meanwhile does not run as alice's uid",
              (rc_m, out_m, uids()))


def finding2_names(rig, res, pam):
    """Names that mean something on the machine are never served, in any case."""
    rig.clear_state()
    rig.add_group("ops", 2500)
    users = [("admin@contoso.com", scenario.oid(511)), ("ops@contoso.com", scenario.oid(512)),
             ("azmi-admins@contoso.com", scenario.oid(513)), ("sudo@contoso.com", scenario.oid(514))]
    directory(rig, users, [(o, scenario.USER_ROLE) for _, o in users])
    rig.conf(cache_ttl="0", upn_suffix="contoso.com")
    for name in ("admin", "ops", "azmi-admins", "sudo", "OPS", "Root", "docker", "wheel", "systemd-x"):
        rc, out = getent("passwd", name)
        res.check(rc == 2, "identity 2: nss_azmi does not serve \"%s\"" % name, out)
    for name in ("admin", "ops", "azmi-admins"):
        r = pam.acct(name)
        line = r.decision() or ""
        res.check(r.code == "PAM_PERM_DENIED" and "never served" in line,
                  "identity 2: pam_azmi refuses \"%s\" and says why" % name, r)
    rc, out = getent("passwd", "bob")
    res.check(rc == 0 and out.split(":")[3] == str(USERS_GID), "identity 2: a user's primary group is azmi-users",
              out)
    rc, out = getent("group", "bob")
    res.check(rc == 2, "identity 2: there is no group named after a user", out)
    rc, out = getent("group", "azmi-users")
    res.check(rc == 0 and out == "azmi-users:*:%d:" % USERS_GID, "identity 2: the shared users group", out)


def finding2_sudo(rig, res, sshd):
    """The real sudo: Ubuntu's %admin rule, a local group's rule and azmi's own rule name groups;
    Entra users named like them must not get root."""
    sudo = "/usr/bin/sudo"
    if not res.check(os.path.exists(sudo), "identity 2 sudo: %s is installed (tools/install-deps.sh test)" % sudo):
        return
    rig.clear_state()
    users = [("admin@contoso.com", scenario.oid(521)), ("ops@contoso.com", scenario.oid(522)),
             ("azmi-admins@contoso.com", scenario.oid(523))]
    directory(rig, users, [(o, scenario.USER_ROLE) for _, o in users])
    rig.conf(cache_ttl="0", timeout="20", upn_suffix="contoso.com")
    os.makedirs("/etc/sudoers.d", exist_ok=True)
    write(SUDOERS, "%admin ALL=(ALL) NOPASSWD: ALL\n%ops ALL=(ALL) NOPASSWD: ALL\n"
                   "%azmi-admins ALL=(ALL:ALL) NOPASSWD: ALL\n", 0o440)
    for u in ("alice", "bob", "admin", "ops", "azmi-admins"):
        sshd.authorize(u)
    # The rig works: an Entra admin gets root through azmi's rule, a plain user does not.
    rc, out = sshd.ssh("alice", "sudo -n id -u")
    ok = res.check(rc == 0 and out.strip().splitlines()[-1:] == ["0"],
                   "identity 2 sudo: an Entra administrator gets root through %azmi-admins (the rig works)",
                   (rc, out, sshd.log_tail()))
    rc, out = sshd.ssh("bob", "sudo -n id -u")
    res.check(ok and "\n0" not in "\n" + out and rc != 0, "identity 2 sudo: a plain Entra user does not",
              (rc, out))
    for name in ("admin", "ops", "azmi-admins"):
        rc, out = sshd.ssh(name, "id; sudo -n id -u")
        res.check(ok and "\n0" not in "\n" + out and "uid=0" not in out,
                  "identity 2 sudo: an Entra user named \"%s\" does not get root through %%%s" % (name, name),
                  (rc, out))
    os.unlink(SUDOERS)


def finding3_case(rig, res):
    """A demoted admin who types her name in capitals with a token must leave the admin group."""
    import test_auth
    pam = Pam(rig, service="azmi-identity-auth")
    scenario.apply(rig.standin)
    rig.clear_state()
    tk = test_auth.Tokens(rig)
    rig.conf(cache_ttl="0", tenant=tk.tid, audiences=test_auth.AUD)
    alice = scenario.upn("alice")
    r = pam.acct(alice)
    res.check(r.code == "PAM_SUCCESS" and alice in admins(), "identity 3: alice is an admin", (r, admins()))
    rig.standin.config({"arm": {"role_assignments": [{"principal_id": scenario.USERS["alice"],
                                                      "role": scenario.USER_ROLE, "scope": "vm"}]}})
    r = pam.auth("ALICE@Contoso.com", tk.good("alice"), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS" and "level=user" in (r.decision() or ""),
              "identity 3: demoted, she logs in with a token as ALICE@Contoso.com", r)
    res.check(admins() == [], "identity 3: ... and leaves the admin group (one canonical name)", admins())
    out = subprocess.run(["id", "-Gn", alice], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    res.check("azmi-admins" not in out, "identity 3: ... id shows no admin group any more", out)
    for typed in ("Alice@contoso.com", "aLiCe@CONTOSO.COM"):
        r = pam.auth(typed, tk.good("alice"), acct_args="debug")
        res.check(r.code == "PAM_SUCCESS", "identity 3: %s logs in with her token" % typed, r)
    lines = [l for l in uids().splitlines() if l.lower().startswith(alice + ":")]
    res.check(len(lines) == 1 and lines[0].startswith(alice + ":"),
              "identity 3: case variants take no new uid (one lower-case line)", uids())


def finding4_reuse(rig, res):
    """alice@contoso.com leaves; the UPN is given to a new person (new object id) with a login role."""
    import test_auth
    pam = Pam(rig, service="azmi-identity")
    scenario.apply(rig.standin)
    rig.clear_state()
    tk = test_auth.Tokens(rig)
    rig.conf(cache_ttl="300", tenant=tk.tid, audiences=test_auth.AUD)
    alice = scenario.upn("alice")
    r = pam.acct(alice)
    old = uids()
    res.check(r.code == "PAM_SUCCESS" and scenario.USERS["alice"] in old, "identity 4: alice is recorded", old)
    new_oid = scenario.oid(777)
    directory(rig, replace={alice: new_oid}, extra_roles=[(new_oid, scenario.ADMIN_ROLE)])
    rig.conf(cache_ttl="0", tenant=tk.tid, audiences=test_auth.AUD)
    r = pam.acct(alice)
    line = r.decision() or ""
    res.check(r.code == "PAM_PERM_DENIED" and "recorded for object id %s" % scenario.USERS["alice"] in line and
              new_oid in line, "identity 4: a reused UPN (new object id) is refused with an admin message", r)
    res.check(uids() == old and alice not in admins(), "identity 4: ... the old record stays, no admin rights",
              (uids(), admins()))
    r = pam.auth(alice, tk.good("alice", oid=new_oid), acct_args="debug")
    res.check(r.code == "PAM_PERM_DENIED" and "recorded for object id" in (r.decision() or ""),
              "identity 4: ... also with the new person's token", r)
    # A decision cached for the old person is not the new person's (token path: its object id differs).
    scenario.apply(rig.standin)
    rig.clear_state()
    rig.conf(cache_ttl="300", tenant=tk.tid, audiences=test_auth.AUD)
    r = pam.auth(alice, tk.good("alice"), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS", "identity 4: the old person's login is granted and cached", r)
    directory(rig, replace={alice: new_oid}, extra_roles=[(new_oid, scenario.ADMIN_ROLE)])
    r = pam.auth(alice, tk.good("alice", oid=new_oid), acct_args="debug")
    res.check(r.code == "PAM_PERM_DENIED" and "source=cache" not in r.out,
              "identity 4: a cached decision of the old object id is not reused for the new one", r)
    # A pin without an object id is bound by its first login.
    scenario.apply(rig.standin)
    rig.clear_state()
    rig.conf(cache_ttl="0")
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(STATEDIR + "/uids", "carol@contoso.com:70050\n")
    r = pam.acct("carol@contoso.com")
    res.check(r.code == "PAM_SUCCESS" and "carol@contoso.com:70050:%s" % scenario.USERS["carol"] in uids(),
              "identity 4: an administrator's pin takes the object id of its first login", (r, uids()))


def run_tests(rig, res):
    pam = Pam(rig, service="azmi-identity")
    finding1_pam(rig, res, pam)
    finding2_names(rig, res, pam)
    finding3_case(rig, res)
    finding4_reuse(rig, res)
    sshd = Sshd(rig, name="sshd-identity", port=2224)
    rig.add_local("identitylocal", 1950)
    if not res.check(sshd.start(), "identity sshd: a real sshd listens on 127.0.0.1:2224", sshd.log_tail()):
        return
    finding1_sshd(rig, res, sshd)
    finding2_sudo(rig, res, sshd)
    scenario.apply(rig.standin)
    rig.clear_state()

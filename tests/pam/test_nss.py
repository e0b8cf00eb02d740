"""nss_azmi through the real glibc (getent, id) and directly (nss_direct: ERANGE)."""

import os
import subprocess

from rig import NSS_SO, PROGS, STATEDIR, run, write

UID_MIN, UID_MAX = 70000, 99999


def fnv1a32(name):
    h = 2166136261
    for b in name.lower().encode():
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


USERS_GID = UID_MIN + 1


def expected_uid(name, lo=UID_MIN, hi=UID_MAX):
    """The name's slot: GIDs lo and lo+1 are the admin and users groups, UIDs lo+2..hi."""
    return lo + 2 + fnv1a32(name) % (hi - lo - 1)


def getent(db, key, service=None):
    cmd = ["getent"] + (["-s", service] if service else []) + [db, key]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return r.returncode, r.stdout.decode().strip()


def direct(kind, arg):
    r = subprocess.run([os.path.join(PROGS, "nss_direct"), NSS_SO, kind, arg], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    return r.returncode, r.stdout.decode().strip()


def run_tests(rig, res):
    rig.clear_state()
    rig.user_map("deploy  alice@contoso.com\nops 3f1d6b2a-7c3e-4d9f-8a82-1b3c5d7e9f99\nbreakglass -\n")
    rig.conf(user_map="/etc/azmi-users")

    # -- the module itself -------------------------------------------------------------
    needed = run(["readelf", "-d", NSS_SO]).stdout.decode()
    libs = sorted(l.split("[")[1].split("]")[0] for l in needed.splitlines() if "(NEEDED)" in l)
    res.check(libs == ["libc.so.6"], "nss: libnss_azmi.so.2 needs libc alone (no curl, json-c, OpenSSL: no network)",
              libs)

    # -- UPN-shaped names -----------------------------------------------------------------
    want = expected_uid("alice@contoso.com")
    rc, out = getent("passwd", "alice@contoso.com")
    res.check(rc == 0 and out == "alice@contoso.com:*:%d:%d::/home/alice@contoso.com:/bin/bash" % (want, USERS_GID),
              "nss: getent passwd of a UPN under allowed_domains: deterministic uid in uid_range, group azmi-users",
              out)
    rc2, out2 = getent("passwd", "alice@contoso.com")
    res.check(rc2 == 0 and out2 == out, "nss: the same uid at the next lookup", (rc2, out2))
    rc, out = getent("passwd", "Alice@Contoso.COM")
    res.check(rc == 0 and out.startswith("alice@contoso.com:*:%d:" % want),
              "nss: names are case-insensitive (answered in lower case, same uid)", out)
    rc, out = getent("passwd", "mallory@evil.example")
    res.check(rc == 2 and out == "", "nss: a UPN outside allowed_domains is not answered", (rc, out))
    rc, out = getent("passwd", "alice@contoso.com.evil.example")
    res.check(rc == 2, "nss: a look-alike domain is not answered", (rc, out))
    rc, out = getent("passwd", "randomuser")
    res.check(rc == 2, "nss: a plain name neither mapped nor local is not answered", (rc, out))
    rc, out = getent("passwd", "root")
    res.check(rc == 0 and out.startswith("root:x:0:0:"), "nss: root still comes from files", out)
    rc, out = getent("passwd", "bad:name@contoso.com")
    res.check(rc == 2, "nss: a name with ':' is refused", (rc, out))

    # -- mapped names -----------------------------------------------------------------------
    rc, out = getent("passwd", "deploy")
    res.check(rc == 0 and out.startswith("deploy:*:%d:" % expected_uid("deploy")),
              "nss: a user_map name gets an entry", out)
    rc, out = getent("passwd", "ops")
    res.check(rc == 0 and out.startswith("ops:*:"), "nss: a name mapped to an object id gets an entry", out)
    rc, out = getent("passwd", "breakglass")
    res.check(rc == 2, "nss: a name mapped to nobody ('-') is not answered", (rc, out))

    # -- groups -------------------------------------------------------------------------------
    rc, out = getent("group", "azmi-admins")
    res.check(rc == 0 and out == "azmi-admins:*:%d:" % UID_MIN, "nss: the admin group, gid = first of uid_range",
              out)
    rc, out = getent("group", "alice@contoso.com")
    res.check(rc == 2, "nss: no per-user group (a group named after a user could match a sudoers %group)", out)
    rc, out = getent("group", "azmi-users")
    res.check(rc == 0 and out == "azmi-users:*:%d:" % USERS_GID, "nss: the users group, gid = first of uid_range + 1",
              out)
    rc, out = getent("group", str(USERS_GID))
    res.check(rc == 0 and out.startswith("azmi-users:"), "nss: getgrgid of the users gid", out)
    rc, out = getent("group", str(UID_MIN))
    res.check(rc == 0 and out.startswith("azmi-admins:"), "nss: getgrgid of the admin gid", out)

    # -- the uid table ------------------------------------------------------------------------
    rc, out = getent("passwd", str(want))
    res.check(rc == 2, "nss: getpwuid of a uid never recorded is not answered", (rc, out))
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(STATEDIR + "/uids", "alice@contoso.com:70123\ndeploy:70124\n")
    rc, out = getent("passwd", "alice@contoso.com")
    res.check(out.startswith("alice@contoso.com:*:70123:%d:" % USERS_GID), "nss: the root-owned uid table wins", out)
    rc, out = getent("passwd", "70123")
    res.check(rc == 0 and out.startswith("alice@contoso.com:*:70123:"), "nss: getpwuid through the uid table", out)
    rc, out = getent("group", "70124")
    res.check(rc == 2, "nss: a recorded user's uid is no group id", out)
    os.chmod(STATEDIR + "/uids", 0o666)
    mark = rig.syslog.mark()
    rc, out = getent("passwd", "alice@contoso.com")
    lines = rig.syslog.since(mark, wait_for="nss_azmi")
    res.check(rc != 0 and any("nss_azmi" in l and "owned by root" in l for l in lines),
              "nss: a world-writable uid table is not trusted (no answer, logged)", (rc, out, lines[-3:]))
    os.chmod(STATEDIR + "/uids", 0o644)
    write(STATEDIR + "/uids", "alice@contoso.com:70123\ndeploy:70124\nrandomuser:70125\n")
    rc, out = getent("passwd", "70125")
    res.check(rc == 2, "nss: a table entry for a name the configuration no longer serves is not answered",
              (rc, out))
    rig.clear_state()

    # -- collisions: never moved to another uid ----------------------------------------------
    clash = "clashuser@contoso.com"  # a name no other test logs in with: its slot stays taken
    rig.add_local("localclash", expected_uid(clash))
    mark = rig.syslog.mark()
    rc, out = getent("passwd", clash)
    lines = rig.syslog.since(mark, wait_for="nss_azmi")
    res.check(rc == 2 and any("belongs to a local account" in l and clash + ":UID" in l for l in lines),
              "nss: a slot taken in /etc/passwd: not served (no next free uid), logged with the pin to add",
              (rc, out, lines[-2:]))
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(STATEDIR + "/uids", clash + ":70777\n")
    rc, out = getent("passwd", clash)
    res.check(out.startswith(clash + ":*:70777:"), "nss: an administrator's pin serves it", out)
    rig.clear_state()
    rig.add_group("groupclash", expected_uid("bob@contoso.com"))
    rc, out = getent("passwd", "bob@contoso.com")
    res.check(out.startswith("bob@contoso.com:*:%d:" % expected_uid("bob@contoso.com")),
              "nss: a gid of /etc/group does not take a uid (no per-user groups)", out)
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(STATEDIR + "/uids", "someoneelse@contoso.com:%d\n" % expected_uid("bob@contoso.com"))
    rc, out = getent("passwd", "bob@contoso.com")
    res.check(rc == 2, "nss: a slot recorded for another name: not served", out)
    rig.clear_state()

    # -- admin members and initgroups -----------------------------------------------------------
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(STATEDIR + "/admins", "alice@contoso.com\ndeploy\n")
    rc, out = getent("group", "azmi-admins")
    res.check(out == "azmi-admins:*:%d:alice@contoso.com,deploy" % UID_MIN, "nss: admin group members from the "
              "state file", out)
    r = subprocess.run(["id", "alice@contoso.com"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    res.check(b"(azmi-admins)" in r.stdout, "nss: id shows the admin group (initgroups_dyn)", r.stdout)
    r = subprocess.run(["id", "-Gn", "localclash"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    res.check(b"azmi-admins" not in r.stdout, "nss: non-members do not get the admin group", r.stdout)
    rig.clear_state()

    # -- upn_suffix ---------------------------------------------------------------------------
    rig.conf(upn_suffix="contoso.com")
    rc, out = getent("passwd", "carol")
    res.check(rc == 0 and out.startswith("carol:*:%d:" % expected_uid("carol")),
              "nss: with upn_suffix a plain name is served", out)
    rc, out = getent("passwd", "localclash")
    res.check(rc == 0 and out.startswith("localclash:x:"), "nss: with upn_suffix local accounts stay local", out)
    rig.conf(uid_range="80000-80003")
    rc, out = getent("group", "azmi-admins")
    res.check(out.startswith("azmi-admins:*:80000:"), "nss: uid_range moves the admin gid", out)
    rc, out = getent("passwd", "alice@contoso.com")
    res.check(rc == 0 and int(out.split(":")[2]) in (80002, 80003) and out.split(":")[3] == "80001",
              "nss: uids stay inside uid_range, above the two group ids", out)
    rig.conf(admin_group="wheel-azure")
    rc, out = getent("group", "wheel-azure")
    res.check(rc == 0 and out.startswith("wheel-azure:*:%d:" % UID_MIN), "nss: admin_group renames the group", out)
    rc, out = getent("group", "azmi-admins")
    res.check(rc == 2, "nss: ... and the default name is then not answered", out)

    # -- ERANGE -------------------------------------------------------------------------------
    rig.conf(user_map="/etc/azmi-users")
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(STATEDIR + "/admins", "".join("member%02d@contoso.com\n" % i for i in range(40)))
    write(STATEDIR + "/uids", "alice@contoso.com:70123\n")
    for kind, arg in (("passwd", "alice@contoso.com"), ("uid", "70123"), ("group", "azmi-admins"),
                      ("gid", str(UID_MIN)), ("group", "azmi-users")):
        rc, out = direct(kind, arg)
        res.check(rc == 0 and "minimum" in out, "nss: ERANGE for every buffer too small, then the entry (%s %s)"
                  % (kind, arg), out)
    rc, out = direct("passwd", "mallory@evil.example")
    res.check(rc == 0 and out.startswith("notfound errno=2"), "nss: NOTFOUND with ENOENT outside the domains",
              out)
    rc, out = getent("group", "azmi-admins")
    res.check(rc == 0 and out.count(",") == 39, "nss: glibc grows its buffer for a big admin group", out[:80])
    rig.clear_state()

    # -- no configuration ------------------------------------------------------------------------
    os.unlink("/etc/azmi.conf")
    rc, out = getent("passwd", "alice@contoso.com")
    res.check(rc == 2, "nss: without /etc/azmi.conf no domain is allowed", (rc, out))
    rc, out = getent("group", "azmi-admins")
    res.check(rc == 0, "nss: the admin group exists with the defaults", (rc, out))

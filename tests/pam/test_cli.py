"""`azmi check-login USER`: the decision and its steps, without logging in and without writing anything."""

import json
import os
import subprocess

import scenario
from pamrun import CLEAN_ENV
from rig import AZMI, STATEDIR


def check_login(*args, timeout=60):
    r = subprocess.run([AZMI, "check-login"] + list(args), env=CLEAN_ENV, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def snapshot():
    out = []
    for dirpath, _, files in os.walk(STATEDIR):
        for f in files:
            p = os.path.join(dirpath, f)
            out.append((p, open(p, "rb").read()))
    return sorted(out)


def run_tests(rig, res):
    rig.clear_state()
    scenario.apply(rig.standin)
    rig.add_local("cliuser", 1800)
    rig.user_map("deploy alice@contoso.com\n")
    rig.conf(cache_ttl="300", timeout="4", user_map="/etc/azmi-users")
    vm = scenario.vm_scope(rig.standin)

    rc, out, err = check_login(scenario.upn("alice"), "--json")
    try:
        j = json.loads(out)
    except ValueError:
        j = {}
    res.check(rc == 0 and j.get("decision") == "granted" and j.get("level") == "admin" and
              j.get("role") == "Virtual Machine Administrator Login" and j.get("vm_scope") == vm and
              j.get("object_id") == scenario.USERS["alice"] and len(j.get("correlation_id") or "") == 36 and
              j.get("principal_source") == "login name" and len(j.get("steps") or []) >= 4,
              "cli: granted admin, --json with principal, scope, role, correlation id and steps (exit 0)",
              (rc, out, err))
    rc, out, err = check_login(scenario.upn("bob"))
    res.check(rc == 0 and "granted: user" in out and "Virtual Machine User Login" in out and "steps:" in out,
              "cli: granted user, text (exit 0)", (rc, out, err))
    rc, out, err = check_login("deploy")
    res.check(rc == 0 and "alice@contoso.com (mapped in /etc/azmi-users)" in out, "cli: a mapped name", out)
    rc, out, err = check_login(scenario.upn("frank"), "--json")
    j = json.loads(out) if out.startswith("{") else {}
    res.check(rc == 4 and j.get("decision") == "denied" and "deny assignment" in (j.get("reason") or ""),
              "cli: denied with the reason (exit 4)", (rc, out, err))
    rc, out, err = check_login(scenario.upn("oscar"))
    res.check(rc == 4 and "no such user" in out, "cli: no such user (exit 4)", (rc, out, err))
    rc, out, err = check_login("cliuser")
    res.check(rc == 3 and "not managed" in out, "cli: a local account pam_azmi ignores (exit 3)", (rc, out, err))
    rig.standin.script(scenario.arm_path(rig.standin), [{"status": 500, "repeat": 100}])
    rc, out, err = check_login(scenario.upn("alice"))
    res.check(rc == 5 and "unavailable" in out and "HTTP 500" in out, "cli: Azure unreachable (exit 5)",
              (rc, out, err))
    scenario.apply(rig.standin)
    rig.conf(uid_range="9-1")
    rc, out, err = check_login(scenario.upn("alice"))
    res.check(rc == 2 and "uid_range" in err, "cli: a configuration problem (exit 2)", (rc, out, err))
    rig.conf(cache_ttl="300", timeout="4", extra="typo_key = 1\n")
    rc, out, err = check_login(scenario.upn("alice"))
    res.check(rc == 0 and "typo_key" in err, "cli: unknown configuration keys are reported", err)
    rc, out, err = check_login()
    res.check(rc == 2, "cli: no user is a usage error (exit 2)", (rc, out, err))

    # It writes nothing: no decision cache, no uid table, no admin group.
    rig.clear_state()
    rig.conf(cache_ttl="300", timeout="4")
    rc, out, err = check_login(scenario.upn("alice"))
    res.check(rc == 0 and not os.path.exists(STATEDIR), "cli: check-login grants and writes no state",
              (rc, out, err, snapshot()))
    # The offline grace it shows is the PAM module's.
    from pamrun import Pam
    from test_cache import age_entries
    rig.conf(cache_ttl="60", offline_grace="3600", timeout="3")
    r = Pam(rig).acct(scenario.upn("alice"))
    res.check(r.code == "PAM_SUCCESS", "cli: the PAM login that fills the decision cache is granted", r)
    age_entries(100)
    before = snapshot()
    rig.standin.script(scenario.arm_path(rig.standin), [{"status": 503, "repeat": 100}])
    rc, out, err = check_login(scenario.upn("alice"), "--json")
    j = json.loads(out) if out.startswith("{") else {}
    res.check(rc == 0 and j.get("source") == "offline-grace", "cli: shows an offline-grace decision as PAM would",
              (rc, out, err))
    res.check(snapshot() == before, "cli: ... and changes no state file", "")
    scenario.apply(rig.standin)
    rig.clear_state()

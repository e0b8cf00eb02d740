"""The decision cache, the offline grace and failing closed.  The clock is not
mocked: tests age a cached decision by rewriting its `time` line (the files
are root's, and so is the test), and use short TTLs otherwise."""

import glob
import os
import re

import scenario
from pamrun import Pam
from rig import STATEDIR

DECISIONS = STATEDIR + "/decisions"


def entry_files():
    return sorted(glob.glob(DECISIONS + "/d-*"))


def age_entries(seconds):
    """Make every cached decision `seconds` older."""
    for f in entry_files():
        text = open(f).read()
        t = int(re.search(r"^time (\d+)$", text, re.M).group(1))
        text = re.sub(r"^time \d+$", "time %d" % (t - seconds), text, flags=re.M)
        with open(f, "w") as fh:
            fh.write(text)


def arm_calls(rig):
    return len([q for q in rig.standin.requests() if "roleAssignments" in q.get("path", "")])


def outage(rig):
    rig.standin.script(scenario.arm_path(rig.standin), [{"status": 503, "repeat": 200}])


def run_tests(rig, res):
    pam = Pam(rig)
    alice = scenario.upn("alice")
    rig.clear_state()
    scenario.apply(rig.standin)

    # -- reuse within cache_ttl ----------------------------------------------------------------
    rig.conf(cache_ttl="300", timeout="3")
    r = pam.acct(alice)
    files = entry_files()
    res.check(r.code == "PAM_SUCCESS" and len(files) == 1, "cache: a positive decision is stored", (r.code, files))
    if files:
        st, dst = os.stat(files[0]), os.stat(DECISIONS)
        res.check(st.st_uid == 0 and st.st_mode & 0o777 == 0o600 and dst.st_mode & 0o777 == 0o700,
                  "cache: root-only (directory 0700, file 0600)", (oct(st.st_mode), oct(dst.st_mode)))
        body = open(files[0]).read()
        res.check("access_token" not in body and "eyJ" not in body, "cache: no token in the decision file", body)
    n = arm_calls(rig)
    outage(rig)
    r = pam.acct(alice)
    res.check(r.code == "PAM_SUCCESS" and "source=cache" in (r.decision() or "") and arm_calls(rig) == n,
              "cache: reused within cache_ttl without asking Azure (logged source=cache)", r)
    age_entries(301)
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and arm_calls(rig) > n,
              "cache: after cache_ttl Azure is asked again; an outage then fails closed (grace off)", r)
    res.check(entry_files() != [], "cache: an outage keeps the cached decision", entry_files())

    # -- offline grace ---------------------------------------------------------------------------
    scenario.apply(rig.standin)
    rig.clear_state()
    rig.conf(cache_ttl="60", offline_grace="3600", timeout="3")
    r = pam.acct(alice)
    age_entries(600)
    outage(rig)
    r = pam.acct(alice)
    line = r.decision() or ""
    res.check(r.code == "PAM_SUCCESS" and "source=offline-grace" in line and "level=admin" in line,
              "grace: Azure unreachable, a decision of 10 min honoured within offline_grace (logged as such)", r)
    res.check(r.has("offline grace: Azure unreachable"), "grace: the debug steps say why", r)
    age_entries(3600)
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and "decision=unavailable" in (r.decision() or ""),
              "grace: a decision older than offline_grace is not honoured", r)

    scenario.apply(rig.standin)
    rig.clear_state()
    r = pam.acct(alice)
    age_entries(120)
    rig.standin.script(scenario.arm_path(rig.standin), [{"body": "{\"value\": 5}"}])
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "grace: not for nonsense answers (only for an unreachable Azure)",
              r)
    rig.standin.config({"graph": {"permissions": []}})
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "grace: not for refusals (403)", r)

    scenario.apply(rig.standin)
    rig.clear_state()
    r = pam.acct(scenario.upn("bob"))
    rig.standin.config({"arm": {"role_assignments": []}})
    age_entries(120)
    r = pam.acct(scenario.upn("bob"))
    res.check(r.code == "PAM_PERM_DENIED" and entry_files() == [], "grace: a denial forgets the cached decision",
              (r.code, entry_files()))
    outage(rig)
    r = pam.acct(scenario.upn("bob"))
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "grace: ... so a later outage grants nothing", r)

    scenario.apply(rig.standin)
    rig.clear_state()
    rig.conf(cache_ttl="60", offline_grace="3600", timeout="3", imds_endpoint="http://127.0.0.1:9")
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "grace: IMDS down and nothing cached -> PAM_AUTHINFO_UNAVAIL", r)

    # -- what is not trusted -------------------------------------------------------------------
    rig.conf(cache_ttl="300", offline_grace="3600", timeout="3")
    rig.clear_state()
    r = pam.acct(alice)
    for f in entry_files():
        os.chmod(f, 0o644)
    outage(rig)
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and r.has("decision cache unusable"),
              "cache: a decision file readable by others is not trusted", r)
    scenario.apply(rig.standin)
    rig.clear_state()
    rig.add_local("shared", 1700)
    rig.user_map("shared alice@contoso.com\n")
    rig.conf(cache_ttl="300", offline_grace="3600", timeout="3", user_map="/etc/azmi-users")
    r = pam.acct("shared")
    rig.user_map("shared heidi@contoso.com\n")
    r = pam.acct("shared")
    res.check(r.code == "PAM_PERM_DENIED" and r.has("another principal"),
              "cache: a decision for another principal (the map changed) is not reused", r)
    scenario.apply(rig.standin)
    rig.conf(cache_ttl="0", timeout="3")
    rig.clear_state()
    r = pam.acct(alice)
    res.check(r.code == "PAM_SUCCESS", "cache: cache_ttl = 0: the first login is granted", r)
    outage(rig)
    r = pam.acct(alice)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "cache: cache_ttl = 0 asks Azure at every login", r)
    scenario.apply(rig.standin)
    rig.clear_state()

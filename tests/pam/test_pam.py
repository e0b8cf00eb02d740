"""pam_azmi's account phase, each case of issue 5, through pam_wrapper + pamtester.

Every call asserts the exact PAM code and the one syslog line of the decision
(user, principal, VM scope, role or reason, correlation id)."""

import os
import time

import scenario
from pamrun import ASAN_RT, Pam
from rig import STATEDIR, write


def decision_ok(res, r, name, want_code, *texts):
    """The code, exactly one decision line, and each of `texts` in it."""
    line = r.decision()
    ok = r.code == want_code and line is not None and all(t in line for t in texts)
    return res.check(ok, name, r)


def graph_user_lookups(rig):
    """The paths of the Graph user lookups (/v1.0/users/...) the stand-in has answered so far, in order."""
    return [q.get("path", "") for q in rig.standin.requests() if "/v1.0/users/" in q.get("path", "")]


def rbac_cases(rig, res, pam, vm):
    for user, (code, level) in scenario.EXPECT.items():
        r = pam.acct(scenario.upn(user))
        texts = ['user="%s"' % scenario.upn(user), 'principal="%s"' % scenario.upn(user), 'vm="%s"' % vm]
        if code == "PAM_SUCCESS":
            texts += ["decision=granted", "level=" + level, 'role="', "correlation_id="]
        else:
            texts += ["decision=denied", 'reason="']
        if user not in ("oscar",):
            texts.append("oid=" + scenario.USERS.get(user, ""))
        decision_ok(res, r, "pam: %s -> %s%s (%s)" % (user, code, " " + level if level else "", scenario.WHY[user]),
                    code, *texts)
        if user in ("alice", "frank", "heidi"):
            line = r.decision() or ""
            cid = line.rsplit("correlation_id=", 1)[-1]
            res.check(len(cid) == 36, "pam: %s: the decision line carries ARM's correlation id" % user, line)
    r = pam.acct(scenario.upn("frank"))
    res.check("deny assignment" in (r.decision() or ""), "pam: a deny assignment is named in the reason", r)
    r = pam.acct(scenario.upn("grace"))
    res.check("condition" in (r.decision() or ""), "pam: a conditional assignment is named in the reason", r)


def principal_cases(rig, res, pam, vm):
    rig.add_local("localuser", 1500)
    rig.add_local("breakglass", 1501)
    rig.add_local("svc", 900)
    rig.user_map("# test map\ndeploy  alice@contoso.com\nops     %s   # bob by object id\nbreakglass -\n"
                 "localuser heidi@contoso.com\n" % scenario.USERS["bob"])
    rig.conf(cache_ttl="0", timeout="20", user_map="/etc/azmi-users")
    for user, why in (("root", "root"), ("svc", "a system account"), ("nobody-here", "an unknown plain name"),
                      ("mallory@evil.example", "a UPN outside allowed_domains"),
                      ("breakglass", "a local account mapped to nobody")):
        r = pam.acct(user)
        res.check(r.code == "PAM_IGNORE" and not r.decisions(), "pam: %s -> PAM_IGNORE, no decision line" % why, r)
    r = pam.acct("deploy")
    decision_ok(res, r, "pam: a user_map name decides for its UPN", "PAM_SUCCESS", 'user="deploy"',
                'principal="alice@contoso.com"', "level=admin")
    users_before = graph_user_lookups(rig)
    r = pam.acct("ops")
    decision_ok(res, r, "pam: a user_map object id decides for that object id", "PAM_SUCCESS", 'user="ops"',
                'principal="%s"' % scenario.USERS["bob"], "level=user")
    looked_up = graph_user_lookups(rig)[len(users_before):]
    res.check(not looked_up, "pam: a user_map object id needs no Graph lookup", looked_up)
    r = pam.acct("localuser")
    decision_ok(res, r, "pam: a local account mapped to an Entra user without a role is refused",
                "PAM_PERM_DENIED", 'user="localuser"', 'principal="heidi@contoso.com"')
    r = pam.acct("Alice@Contoso.com")
    decision_ok(res, r, "pam: a mixed-case UPN login is the same principal", "PAM_SUCCESS",
                'principal="alice@contoso.com"')
    rig.conf(cache_ttl="0", upn_suffix="contoso.com", user_map="/etc/azmi-users")
    write("/etc/azmi-users", "breakglass -\n")
    rig.add_local("carol", 1502)
    r = pam.acct("carol")
    decision_ok(res, r, "pam: upn_suffix maps a local account to name@suffix", "PAM_SUCCESS",
                'principal="carol@contoso.com"', "level=user")
    r = pam.acct("breakglass")
    res.check(r.code == "PAM_IGNORE", "pam: with upn_suffix, a '-' map line keeps a break-glass account local", r)
    r = pam.acct("root")
    res.check(r.code == "PAM_IGNORE", "pam: upn_suffix never applies to root", r)
    r = pam.acct("svc")
    res.check(r.code == "PAM_IGNORE", "pam: upn_suffix never applies to system accounts (uid < 1000)", r)


def config_cases(rig, res, pam):
    rig.conf(cache_ttl="0", uid_range="5-4")
    r = pam.acct(scenario.upn("alice"))
    decision_ok(res, r, "pam: an invalid configuration value fails closed (PAM_SERVICE_ERR)", "PAM_SERVICE_ERR",
                "decision=config-error", "uid_range")
    rig.conf(cache_ttl="0", extra="no_such_key = 1\n")
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_SUCCESS" and r.has('unknown key "no_such_key"'),
              "pam: an unknown configuration key is reported", r)
    r = pam.acct(scenario.upn("alice"), args="debug frobnicate=1")
    res.check(r.code == "PAM_SUCCESS" and r.has('unknown option "frobnicate"'),
              "pam: an unknown module argument is reported", r)
    r = pam.acct(scenario.upn("alice"), args="allowed_domains=fabrikam.com")
    res.check(r.code == "PAM_IGNORE", "pam: module arguments override the file (allowed_domains=)", r)
    write("/tmp/azmi-alt.conf", "allowed_domains = fabrikam.com\nca_file = %s\n" % rig.ca, 0o644)
    r = pam.acct(scenario.upn("alice"), args="config=/tmp/azmi-alt.conf")
    res.check(r.code == "PAM_IGNORE", "pam: config= reads another file", r)
    os.unlink("/tmp/azmi-alt.conf")
    rig.user_map("deploy alice@contoso.com\n", mode=0o666)
    rig.conf(cache_ttl="0", user_map="/etc/azmi-users")
    r = pam.acct("deploy")
    decision_ok(res, r, "pam: a world-writable user_map fails closed", "PAM_SERVICE_ERR", "user_map")
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_SERVICE_ERR", "pam: ... for every user (the map cannot be trusted)", r)
    rig.user_map("deploy alice@contoso.com\nthis line is wrong\n")
    r = pam.acct("deploy")
    decision_ok(res, r, "pam: a malformed user_map fails closed, naming the line", "PAM_SERVICE_ERR",
                "/etc/azmi-users:2")
    os.symlink("/etc/azmi-users", "/etc/azmi-users-link")
    rig.conf(cache_ttl="0", user_map="/etc/azmi-users-link")
    r = pam.acct("deploy")
    res.check(r.code == "PAM_SERVICE_ERR", "pam: a user_map that is a symbolic link is refused", r)
    os.unlink("/etc/azmi-users-link")


def fault_cases(rig, res, pam, vm):
    path = scenario.arm_path(rig.standin)
    rig.conf(cache_ttl="0", timeout="4")
    faults = [
        ("ARM 429 throughout", path, [{"status": 429, "headers": {"Retry-After": "1"}, "repeat": 40}],
         "PAM_AUTHINFO_UNAVAIL", "HTTP 429"),
        ("ARM 500 throughout", path, [{"status": 500, "repeat": 40}], "PAM_AUTHINFO_UNAVAIL", "HTTP 500"),
        ("ARM 429 once, then an answer", path, [{"status": 429, "headers": {"Retry-After": "0"}}], "PAM_SUCCESS",
         "decision=granted"),
        ("ARM too slow (timeout)", path, [{"delay_ms": 6000, "repeat": 3}], "PAM_AUTHINFO_UNAVAIL", "timed out"),
        ("ARM connection reset", path, [{"reset": True, "repeat": 40}], "PAM_AUTHINFO_UNAVAIL", "unreachable"),
        ("hostile JSON: not JSON", path, [{"body": "{\"value\": [ {"}], "PAM_AUTHINFO_UNAVAIL", "invalid answer"),
        ("hostile JSON: wrong types", path, [{"body": {"value": [{"properties": {"roleDefinitionId": 7,
                                                                               "scope": ["x"]}}]}}],
         "PAM_AUTHINFO_UNAVAIL", "invalid answer"),
        ("hostile JSON: a grant on an unrelated scope", path,
         [{"body": {"value": [{"id": "/x", "name": "x", "type": "Microsoft.Authorization/roleAssignments",
                               "properties": {
             "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/" + scenario.ADMIN_ROLE,
             "principalId": scenario.USERS["alice"], "principalType": "User",
             "scope": "/subscriptions/11111111-2222-4333-8444-555555555555"}}]}}], None, None),
        ("hostile JSON: nextLink to another host", path,
         [{"body": {"value": [], "nextLink": "https://evil.example/steal"}}], "PAM_AUTHINFO_UNAVAIL",
         "nextLink"),
        ("hostile JSON: 2 MiB answer", path, [{"size_mb": 2}], "PAM_AUTHINFO_UNAVAIL", "decision=unavailable"),
        ("IMDS instance metadata 500", "/metadata/instance", [{"status": 500, "repeat": 40}],
         "PAM_AUTHINFO_UNAVAIL", "instance"),
        ("IMDS instance metadata not JSON", "/metadata/instance", [{"body": "<html>proxy</html>"}],
         "PAM_AUTHINFO_UNAVAIL", "decision=unavailable"),
        ("Graph 500", "/v1.0/users/alice%40contoso.com", [{"status": 500, "repeat": 40}], "PAM_AUTHINFO_UNAVAIL",
         "graph"),
    ]
    for name, p, responses, code, text in faults:
        scenario.apply(rig.standin)
        rig.standin.script(p, responses)
        t = time.time()
        r = pam.acct(scenario.upn("alice"))
        took = time.time() - t
        if code is None:  # an assignment that does not cover this VM grants nothing
            res.check(r.code in ("PAM_PERM_DENIED", "PAM_AUTHINFO_UNAVAIL") and r.decision(),
                      "pam: %s -> refused (%s)" % (name, r.code), r)
            continue
        decision_ok(res, r, "pam: %s -> %s (%.1f s)" % (name, code, took), code, text)
    scenario.apply(rig.standin)
    rig.conf(cache_ttl="0", timeout="5", imds_endpoint="http://127.0.0.1:9")
    r = pam.acct(scenario.upn("alice"))
    decision_ok(res, r, "pam: IMDS down (nothing listens) -> PAM_AUTHINFO_UNAVAIL", "PAM_AUTHINFO_UNAVAIL",
                "Azure unreachable")
    rig.conf(cache_ttl="0", timeout="5")
    rig.standin.config({"graph": {"permissions": []}})
    r = pam.acct(scenario.upn("alice"))
    decision_ok(res, r, "pam: Graph refuses (no User.Read.All) -> PAM_AUTHINFO_UNAVAIL, hint logged",
                "PAM_AUTHINFO_UNAVAIL", "Azure refused")
    res.check(r.has("User.Read.All"), "pam: ... the debug steps name the missing permission", r)
    scenario.apply(rig.standin)
    rig.standin.config({"arm": {"readers": ["00000000-0000-4000-8000-000000000bad"]}})
    r = pam.acct(scenario.upn("alice"))
    decision_ok(res, r, "pam: the VM identity may not read role assignments -> PAM_AUTHINFO_UNAVAIL",
                "PAM_AUTHINFO_UNAVAIL", "decision=unavailable")
    res.check(r.has("Reader"), "pam: ... the debug steps say it needs Reader on its scope", r)
    scenario.apply(rig.standin)


def state_cases(rig, res, pam):
    """Admin membership and the uid table follow the decisions."""
    rig.clear_state()
    rig.conf(cache_ttl="0")
    scenario.apply(rig.standin)
    r = pam.acct(scenario.upn("alice"))
    admins = open(STATEDIR + "/admins").read().split() if os.path.exists(STATEDIR + "/admins") else []
    res.check(r.code == "PAM_SUCCESS" and "alice@contoso.com" in admins,
              "pam: an admin decision adds the user to the admin group's state file", admins)
    st = os.stat(STATEDIR + "/admins")
    res.check(st.st_uid == 0 and st.st_mode & 0o777 == 0o644, "pam: the admin state file is root's, 0644",
              oct(st.st_mode))
    uids = open(STATEDIR + "/uids").read()
    res.check(uids.startswith("alice@contoso.com:"), "pam: a granted login records the user's uid", uids)
    if not ASAN_RT:  # getent cannot load a sanitizer build of the NSS module
        getent = os.popen("getent passwd alice@contoso.com").read()
        res.check(getent.split(":")[2:3] == [uids.strip().split(":")[1]], "pam: ... the uid NSS already gave",
                  (getent, uids))
    # The role becomes a user role: out of the group at the next login.
    rig.standin.config({"arm": {"role_assignments": [{"principal_id": scenario.USERS["alice"],
                                                      "role": scenario.USER_ROLE, "scope": "vm"}]}})
    r = pam.acct(scenario.upn("alice"))
    admins = open(STATEDIR + "/admins").read().split()
    res.check(r.code == "PAM_SUCCESS" and "level=user" in (r.decision() or "") and "alice@contoso.com" not in admins,
              "pam: a user decision removes the user from the admin group", (r, admins))
    r = pam.acct(scenario.upn("dave"))
    rig.standin.config({"arm": {"role_assignments": []}})
    r = pam.acct(scenario.upn("dave"))
    admins = open(STATEDIR + "/admins").read().split()
    res.check(r.code == "PAM_PERM_DENIED" and "dave@contoso.com" not in admins,
              "pam: a denial removes the user from the admin group", admins)
    scenario.apply(rig.standin)
    rig.add_local("localadmin", 1600)
    rig.user_map("localadmin alice@contoso.com\n")
    rig.conf(cache_ttl="0", user_map="/etc/azmi-users")
    r = pam.acct("localadmin")
    uids = open(STATEDIR + "/uids").read()
    res.check(r.code == "PAM_SUCCESS" and "localadmin" not in uids,
              "pam: a local account gets no uid table entry (it has its own uid)", uids)
    rig.clear_state()


def run_tests(rig, res):
    pam = Pam(rig)
    scenario.apply(rig.standin)
    vm = scenario.vm_scope(rig.standin)
    rig.clear_state()
    rig.conf(cache_ttl="0")
    rbac_cases(rig, res, pam, vm)
    principal_cases(rig, res, pam, vm)
    config_cases(rig, res, pam)
    fault_cases(rig, res, pam, vm)
    state_cases(rig, res, pam)

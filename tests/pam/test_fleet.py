"""Issue 17: logins on every kind of machine of a fleet, through pam_azmi (pam_wrapper + pamtester),
`azmi check-login` and a real sshd:

  * a Uniform scale-set instance (resourceId .../virtualMachineScaleSets/S/virtualMachines/<n>):
    decided at the instance's scope, or at the scale set's when Resource Manager refuses the
    instance's scope (400/404), and the log says which;
  * a Flexible scale-set instance (an ordinary VM resource with vmScaleSetName);
  * an Azure Arc-enabled server: scope from the agent's himds, else from its configuration file,
    the HybridCompute data actions;
  * Resource Manager throttling: Retry-After honoured within the login's time budget, never past it.
"""

import json
import os
import re
import subprocess
import time

import scenario
from pamrun import CLEAN_ENV, Pam
from rig import AZMI, ARC_PORT, run, write

SET = "vmss-azmi"
ARC_TOKENS = "/var/opt/azcmagent/tokens"
HYBRID_LOGIN = "Microsoft.HybridCompute/machines/login/action"
SNAP = "/run/azmi/scope.snap"  # root's shared view of the scope's RBAC (login/scope_snap.h)


def machine(rig, scale_set=None, **arm):
    """The scenario, with this machine kind and these ARM settings; the cached scope forgotten."""
    scenario.apply(rig.standin)
    cfg = {"scale_set": scale_set}
    if scale_set and scale_set.get("mode") == "flexible":
        cfg["vm_name"] = "%s_0a1b2c3d" % SET
    if arm:
        c = scenario.config()["arm"]
        c.update(arm)
        cfg["arm"] = c
    rig.standin.config(cfg)
    scenario.drop_vm_cache()
    rig.clear_state()
    if os.path.exists(SNAP):
        os.unlink(SNAP)


def list_paths(rig):
    """The scopes of the role assignment lists Resource Manager saw, in order, with their status."""
    out = []
    for q in rig.standin.requests():
        p = q.get("path", "")
        if p.endswith("/providers/Microsoft.Authorization/roleAssignments"):
            out.append((p[:-len("/providers/Microsoft.Authorization/roleAssignments")], q.get("status")))
    return out


def check_login(user, env=None, timeout=60):
    e = dict(CLEAN_ENV)
    e.update(env or {})
    r = subprocess.run([AZMI, "check-login", user, "--json"], env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    try:
        j = json.loads(r.stdout.decode())
    except ValueError:
        j = {}
    return r.returncode, j, r.stderr.decode("utf-8", "replace")


def uniform_cases(rig, res, pam):
    st = rig.standin
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"})
    c = st.state()["config"]
    rg = "/subscriptions/%s/resourceGroups/%s" % (c["subscription_id"], c["resource_group"])
    set_scope = rg + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + SET
    inst = set_scope + "/virtualMachines/7"
    rig.conf(cache_ttl="0", timeout="20", scope_cache_ttl="0")  # per-principal reads: the scopes they ask

    # 1. ARM lists assignments at the instance's scope: decided there.
    r = pam.acct(scenario.upn("alice"))
    line = r.decision() or ""
    res.check(r.code == "PAM_SUCCESS" and "level=admin" in line and 'vm="%s"' % inst in line and
              "kind=uniform" in line and "decided_scope" not in line,
              "fleet: a Uniform instance is a login scope (kind=uniform, decided at the instance)", r)
    res.check(list_paths(rig) == [(inst, 200)], "fleet: ... ARM asked at the instance's own scope", list_paths(rig))
    r = pam.acct(scenario.upn("heidi"))
    res.check(r.code == "PAM_PERM_DENIED", "fleet: a Uniform instance still denies (Reader only)", r)

    # 2. ARM refuses the instance's scope (404, then 400): the scale set's scope decides, and says so.
    for status in (404, 400):
        machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"},
                refuse_scopes=[{"scope": "vm", "status": status}],
                role_assignments=[{"principal_id": scenario.USERS["alice"], "role": scenario.USER_ROLE,
                                   "scope": "scale_set"},
                                  {"principal_id": scenario.USERS["heidi"], "role": "Reader", "scope": "rg"}])
        r = pam.acct(scenario.upn("alice"))
        line = r.decision() or ""
        res.check(r.code == "PAM_SUCCESS" and "level=user" in line and 'decided_scope="%s"' % set_scope in line,
                  "fleet: ARM refuses the instance's scope (%d): decided at the scale set's, logged" % status, r)
        res.check(list_paths(rig) == [(inst, status), (set_scope, 200)],
                  "fleet: ... one refused request at the instance, then the set (%d)" % status, list_paths(rig))
        r = pam.acct(scenario.upn("heidi"))
        res.check(r.code == "PAM_PERM_DENIED", "fleet: ... and a principal without a login role is still denied "
                  "at the set's scope (%d)" % status, r)
    rc, j, err = check_login(scenario.upn("alice"))
    res.check(rc == 0 and j.get("machine_kind") == "uniform" and j.get("scale_set") == SET and
              j.get("decided_scope") == set_scope and "refused the instance's scope (HTTP 400)" in
              (j.get("scope_note") or ""),
              "fleet: check-login says the kind, the scale set and which scope decided", (rc, j, err))
    rc, j, err = check_login(scenario.upn("alice"))

    r = subprocess.run([AZMI, "doctor"], env=CLEAN_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = r.stdout.decode("utf-8", "replace")
    res.check(r.returncode == 0 and "machine:     uniform: instance 7 of Uniform scale set %s" % SET in out and
              "fallback   %s " % set_scope in out and "Microsoft.Compute/virtualMachines/login/action" in out,
              "fleet: doctor names the kind, the scope, the scale set's fallback and the data actions", out)

    # 3. A 403 at the instance is the identity's problem, not the scope's: no fallback, no login.
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"},
            role_assignments=[{"principal_id": scenario.USERS["alice"], "role": scenario.USER_ROLE,
                               "scope": "scale_set"}])
    st.script(inst + "/providers/Microsoft.Authorization/roleAssignments", [{"status": 403}])
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and list_paths(rig) == [(inst, 403)],
              "fleet: a 403 at the instance's scope does not fall back to the set (fail closed)", (r, list_paths(rig)))

    # 4. The scope the instance's IMDS gives must agree with itself: a set name that disagrees is refused.
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"})
    doc = {"compute": {"resourceId": inst, "subscriptionId": c["subscription_id"],
                       "resourceGroupName": c["resource_group"], "name": SET + "_7", "vmScaleSetName": "other-set",
                       "azEnvironment": "AzurePublicCloud", "vmId": c["vm_id"]}}
    st.script("/metadata/instance", [{"status": 200, "body": doc, "repeat": 3}])
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and "vmScaleSetName disagrees" in (r.decision() or ""),
              "fleet: instance metadata whose vmScaleSetName disagrees with resourceId is refused", r)


def flexible_cases(rig, res, pam):
    machine(rig, {"mode": "flexible", "name": SET})
    vm = scenario.vm_scope(rig.standin)
    rig.conf(cache_ttl="0", timeout="20")
    r = pam.acct(scenario.upn("bob"))
    line = r.decision() or ""
    res.check(r.code == "PAM_SUCCESS" and "level=user" in line and 'vm="%s"' % vm in line and
              "kind=flexible" in line and "/virtualMachines/%s_0a1b2c3d" % SET in vm,
              "fleet: a Flexible instance is an ordinary VM scope (kind=flexible, resourceId as IMDS gives it)", r)
    res.check(list_paths(rig) == [(vm, 200)], "fleet: ... ARM asked at that VM's scope", list_paths(rig))
    rc, j, err = check_login(scenario.upn("alice"))
    res.check(rc == 0 and j.get("machine_kind") == "flexible" and j.get("scale_set") == SET and
              j.get("decided_scope") == vm, "fleet: check-login says flexible, its set, and its own scope",
              (rc, j, err))


def arc_env(imds=None):
    base = "http://127.0.0.1:%d" % ARC_PORT
    return {"IDENTITY_ENDPOINT": base + "/metadata/identity/oauth2/token", "IMDS_ENDPOINT": imds or base}


def arc_cases(rig, res, pam):
    st = rig.standin
    if not os.path.isdir("/var/opt"):
        os.makedirs("/var/opt")
    run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/var/opt"])
    os.makedirs(ARC_TOKENS, 0o755)
    try:
        _arc_cases(rig, res, pam, st)
    finally:
        subprocess.run(["umount", "-l", "/var/opt"])


def _arc_cases(rig, res, pam, st):
    machine(rig, None, role_assignments=[
        {"principal_id": scenario.USERS["alice"], "role": scenario.ADMIN_ROLE, "scope": "machine"},
        {"principal_id": scenario.USERS["dave"], "role": scenario.WILDCARD_ROLE, "scope": "rg"}])
    st.config({"arc": {"key_dir": ARC_TOKENS, "realm_dir": ARC_TOKENS, "key_mode": 0o600}})
    c = st.state()["config"]
    machine_id = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.HybridCompute/machines/%s" % (
        c["subscription_id"], c["resource_group"], c["vm_name"])
    rig.conf(cache_ttl="0", timeout="20")

    r = pam.acct(scenario.upn("alice"), env=arc_env())
    line = r.decision() or ""
    res.check(r.code == "PAM_SUCCESS" and "level=admin" in line and 'vm="%s"' % machine_id in line and
              "kind=arc" in line, "fleet: an Arc-enabled server: scope from himds, HybridCompute role granted", r)
    inst = st.requests("/metadata/instance", listener="arc")
    res.check(len(inst) == 1 and inst[0]["headers"].get("metadata") == "true" and
              inst[0]["query"] == {"api-version": ["2020-06-01"]},
              "fleet: ... himds asked GET /metadata/instance?api-version=2020-06-01 with Metadata: true", inst)
    r = pam.acct(scenario.upn("dave"), env=arc_env())
    res.check(r.code == "PAM_PERM_DENIED" and HYBRID_LOGIN in (r.decision() or ""),
              "fleet: Arc needs the HybridCompute data actions (Microsoft.Compute/virtualMachines/* is not enough)", r)

    # The agent's metadata service does not answer: its configuration file names the machine.
    agent = os.path.join(rig.tmp, "agentconfig.json")
    write(agent, json.dumps({"subscriptionId": c["subscription_id"], "resourceGroup": c["resource_group"],
                             "resourceName": c["vm_name"], "tenantId": c["tenant_id"], "location": "westeurope",
                             "cloud": "AzureCloud", "vmId": c["vm_id"]}), 0o644)
    rig.conf(cache_ttl="0", timeout="20", arc_agent_config=agent)
    scenario.drop_vm_cache()
    silent = arc_env("http://127.0.0.1:9")
    r = pam.acct(scenario.upn("alice"), env=silent)
    line = r.decision() or ""
    res.check(r.code == "PAM_SUCCESS" and 'vm="%s"' % machine_id in line and "kind=arc" in line,
              "fleet: himds silent: the Arc agent's configuration file gives the scope, login decided", r)
    os.chmod(agent, 0o666)
    scenario.drop_vm_cache()
    r = pam.acct(scenario.upn("alice"), env=silent)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and r.has("configuration file did not help either"),
              "fleet: ... a world-writable agent configuration file is refused (fail closed)", r)
    write(agent, json.dumps({"subscriptionId": c["subscription_id"], "resourceGroup": "rg/../x",
                             "resourceName": c["vm_name"]}), 0o644)
    r = pam.acct(scenario.upn("alice"), env=silent)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "fleet: ... and one naming no valid machine too", r)
    rig.conf(cache_ttl="0", timeout="20", arc_agent_config=os.path.join(rig.tmp, "missing.json"))
    r = pam.acct(scenario.upn("alice"), env=silent)
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL", "fleet: himds silent and no agent file: no login", r)


def uniform_scope(st):
    c = st.state()["config"]
    return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s/" \
        "virtualMachines/7" % (c["subscription_id"], c["resource_group"], SET)


def throttle_cases(rig, res, pam):
    st = rig.standin
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"})
    ra = uniform_scope(st) + "/providers/Microsoft.Authorization/roleAssignments"
    rig.conf(cache_ttl="300", timeout="10", offline_grace="3600", scope_cache_ttl="0")
    st.script(ra, [{"status": 429, "headers": {"Retry-After": "2"}}])
    t0 = time.monotonic()
    r = pam.acct(scenario.upn("alice"))
    took = time.monotonic() - t0
    res.check(r.code == "PAM_SUCCESS" and took >= 2.0 and [s for _, s in list_paths(rig)] == [429, 200],
              "fleet: ARM answers 429 Retry-After: 2: waited (%.1f s) and decided within the budget" % took,
              (r, list_paths(rig)))
    # A Retry-After beyond the budget: no wait at all, the documented rules decide.
    scenario.drop_vm_cache()
    os.system("rm -rf /var/lib/azmi/decisions")
    st.script(ra, [{"status": 429, "headers": {"Retry-After": "60"}, "repeat": 5}])
    t0 = time.monotonic()
    r = pam.acct(scenario.upn("alice"))
    took = time.monotonic() - t0
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL" and took < 8 and "429" in (r.decision() or ""),
              "fleet: Retry-After past the login's time budget: refused at once (%.1f s), never an unbounded wait"
              % took, r)
    # With a positive decision younger than offline_grace, the grace honours it (429 is an outage).
    st.reset()
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"})
    r = pam.acct(scenario.upn("alice"))
    from test_cache import age_entries
    age_entries(400)
    st.script(ra, [{"status": 429, "headers": {"Retry-After": "60"}, "repeat": 5}])
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_SUCCESS" and "source=offline-grace" in (r.decision() or ""),
              "fleet: throttled past the budget, an earlier decision within offline_grace is honoured", r)
    st.reset()
    # The stand-in's token bucket (2 reads, then 1 a second): a login that empties it waits as told.
    machine(rig, None, throttle={"burst": 2, "refill_per_s": 1})
    rig.conf(cache_ttl="0", timeout="10")
    r = pam.acct(scenario.upn("alice"))
    statuses = [q.get("status") for q in arm_requests(rig)]
    res.check(r.code == "PAM_SUCCESS" and 429 in statuses and statuses[-1] == 200,
              "fleet: ARM's token bucket runs dry mid-login: Retry-After honoured, decided (%s)" % statuses, r)
    res.check(any(re.search(r"x-ms-ratelimit-remaining-subscription-reads \d+$", m) for _, m in r.lines),
              "fleet: debug log shows what is left of ARM's read bucket (x-ms-ratelimit-remaining-*)", r)
    st.reset()


def sshd_case(rig, res):
    """A real sshd on a simulated Uniform instance whose own scope ARM refuses, decided from the shared view."""
    import test_sshd
    if not os.path.exists(test_sshd.SSHD):
        res.check(False, "fleet: sshd is missing (apt-get install openssh-server)")
        return
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"},
            refuse_scopes=[{"scope": "vm", "status": 404}],
            role_assignments=[{"principal_id": scenario.G_LOGIN, "role": scenario.USER_ROLE, "scope": "scale_set",
                               "principal_type": "Group"}])
    rig.user_map("# fleet\n")
    rig.conf(cache_ttl="0", timeout="10", scope_cache_ttl="300", user_map="/etc/azmi-users")
    sshd = test_sshd.Sshd(rig, name="sshd-fleet", port=2223)
    sshd.authorize("bob@contoso.com")
    sshd.authorize("heidi@contoso.com")
    if not res.check(sshd.start(), "fleet: a real sshd listens on 127.0.0.1:2223", sshd.log_tail()):
        return
    try:
        mark = rig.syslog.mark()
        rc, out = sshd.ssh("bob@contoso.com", "id -un")
        lines = test_sshd.decision_lines(rig, mark, "bob@contoso.com")
        set_scope = uniform_scope(rig.standin).rsplit("/virtualMachines/", 1)[0]
        res.check(rc == 0 and out.strip() == "bob@contoso.com" and len(lines) == 1 and "kind=uniform" in lines[0]
                  and 'decided_scope="%s"' % set_scope in lines[0],
                  "fleet: ssh to a Uniform instance: in by its group's role on the scale set (decided_scope logged)",
                  (rc, out, lines, sshd.log_tail()))
        rc, out = sshd.ssh("heidi@contoso.com", "id -un")
        res.check(rc != 0 and "heidi@contoso.com" not in [l.strip() for l in out.splitlines()],
                  "fleet: ... and someone without a login role is kept out (id -un never ran)", (rc, out))
    finally:
        sshd.proc.terminate()
        sshd.proc.wait(5)


def run_tests(rig, res):
    pam = Pam(rig)
    try:
        uniform_cases(rig, res, pam)
        flexible_cases(rig, res, pam)
        arc_cases(rig, res, pam)
        throttle_cases(rig, res, pam)
        shared_cases(rig, res, pam)
        sshd_case(rig, res)
    finally:
        rig.standin.reset()
        scenario.drop_vm_cache()


def arm_requests(rig):
    return [q for q in rig.standin.requests() if "/providers/Microsoft.Authorization/" in q.get("path", "")]


def member_checks(rig):
    return [q for q in rig.standin.requests() if q.get("path", "").endswith("/checkMemberGroups")]



def shared_cases(rig, res, pam):
    """scope_cache_ttl: Resource Manager read once for the scope, every principal decided from it."""
    st = rig.standin
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"},
            role_assignments=[dict(a, scope="scale_set" if a["scope"] == "vm" else a["scope"])
                              for a in scenario.config()["arm"]["role_assignments"]])
    rig.conf(cache_ttl="0", timeout="20", scope_cache_ttl="300")
    wrong = []
    for user, (code, level) in scenario.EXPECT.items():
        r = pam.acct(scenario.upn(user))
        line = r.decision() or ""
        if r.code != code or (level and "level=" + level not in line):
            wrong.append((user, r.code, line))
    res.check(not wrong, "shared: every case of the scenario decides as before from the scope's shared view", wrong)
    reqs = arm_requests(rig)
    filters = sorted({(q["path"].rsplit("/", 1)[-1], (q["query"].get("$filter") or [""])[0]) for q in reqs
                      if "Assignments" in q["path"]})
    res.check(filters == [("denyAssignments", "atScope()"), ("roleAssignments", "atScope()")],
              "shared: Resource Manager asked for the scope's assignments, never for a principal's", filters)
    n = len(reqs)
    per_user = len(scenario.EXPECT)
    for user in ("alice", "bob", "carol", "heidi", "frank"):
        pam.acct(scenario.upn(user))
    res.check(len(arm_requests(rig)) == n,
              "shared: further logins of %d people read nothing from Resource Manager (%d reads for %d logins)"
              % (per_user, n, per_user + 5), len(arm_requests(rig)) - n)
    checks = member_checks(rig)
    res.check(checks and all(json.loads(q["body"])["groupIds"] for q in checks),
              "shared: group membership through Graph checkMemberGroups with the candidate groups", checks[-1:])
    sf = os.stat(SNAP) if os.path.exists(SNAP) else None
    res.check(sf is not None and sf.st_uid == 0 and sf.st_mode & 0o777 == 0o600 and
              "access_token" not in open(SNAP).read(), "shared: the view is root's private file, no token in it",
              sf)
    rc, j, err = check_login(scenario.upn("bob"))
    res.check(rc == 0 and j.get("level") == "user" and any("0 Resource Manager requests" in x for x in j.get("steps", [])),
              "shared: check-login decides from the shared view too (0 Resource Manager requests)", (rc, j, err))

    # Without the key, a Uniform instance (one identity for the whole set) uses the shared view too;
    # a single VM keeps its per-principal reads.
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"},
            role_assignments=[dict(a, scope="scale_set" if a["scope"] == "vm" else a["scope"])
                              for a in scenario.config()["arm"]["role_assignments"]])
    rig.conf(cache_ttl="0", timeout="20")
    wrong = [u for u in ("alice", "bob", "carol") if pam.acct(scenario.upn(u)).code != scenario.EXPECT[u][0]]
    ras = [q for q in arm_requests(rig) if q["path"].endswith("/roleAssignments") and
           "$skipToken" not in q["query"]]  # first pages: one per read
    res.check(not wrong and len(ras) == 1 and
              (ras[0]["query"].get("$filter") or [""])[0] == "atScope()",
              "shared: on by default on a Uniform instance (3 logins, 1 scope read)", [q["query"] for q in ras])
    machine(rig, None)
    wrong = [u for u in ("alice", "bob") if pam.acct(scenario.upn(u)).code != scenario.EXPECT[u][0]]
    ras = [q for q in arm_requests(rig) if q["path"].endswith("/roleAssignments")]
    res.check(not wrong and len(ras) >= 2 and
              not any((q["query"].get("$filter") or [""])[0] == "atScope()" for q in ras),
              "shared: off by default on a single VM (each login reads its principal's assignments)",
              [q["query"] for q in ras])
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"},
            role_assignments=[dict(a, scope="scale_set" if a["scope"] == "vm" else a["scope"])
                              for a in scenario.config()["arm"]["role_assignments"]])
    rig.conf(cache_ttl="0", timeout="20", scope_cache_ttl="300")
    pam.acct(scenario.upn("alice"))

    # Revocation: within scope_cache_ttl the view decides; once it expires, ARM is read again.
    st.config({"arm": dict(scenario.config()["arm"], role_assignments=[])})
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_SUCCESS", "shared: a removed role still grants until the view expires", r)
    age_view(301)
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_PERM_DENIED" and len(arm_requests(rig)) > n,
              "shared: once scope_cache_ttl has passed, the view is read again and the removal counts", r)

    # ARM throttles when the view is past its refresh time but valid: still served, no wait.
    machine(rig, {"mode": "uniform", "name": SET, "instance_id": "7"})
    r = pam.acct(scenario.upn("alice"))
    age_view(200)  # past refresh_at (150..225 s), before expires (300 s)
    ra = uniform_scope(st) + "/providers/Microsoft.Authorization/roleAssignments"
    st.script(ra, [{"status": 429, "headers": {"Retry-After": "30"}, "repeat": 3}])
    t0 = time.monotonic()
    r = pam.acct(scenario.upn("bob"))
    res.check(r.code == "PAM_SUCCESS" and time.monotonic() - t0 < 5,
              "shared: throttled while refreshing a still-valid view: the view decides, no wait", r)
    age_view(150)  # now expired
    r = pam.acct(scenario.upn("bob"))
    res.check(r.code == "PAM_AUTHINFO_UNAVAIL",
              "shared: expired view and ARM throttled: no fresh decision, fail closed", r)
    st.reset()

    # Graph cannot tell the groups (no GroupMember.Read.All): per-principal reads decide instead.
    machine(rig, None, deny_assignments=[])  # a deny assignment naming a group would need Graph anyway
    st.config({"graph": {"permissions": ["User.Read.All"]}})
    r = pam.acct(scenario.upn("bob"))
    filters = [(q["query"].get("$filter") or [""])[0] for q in arm_requests(rig) if q["path"].endswith("roleAssignments")]
    res.check(r.code == "PAM_SUCCESS" and any("assignedTo" in f for f in filters),
              "shared: Graph refuses checkMemberGroups: the principal's own ARM reads decide (group grant kept)",
              (r, filters))

    # More distinct roles at the scope than a view keeps (64): per-principal reads, remembered in the view.
    roles = [{"id": "7a1c2b3d-0000-4000-8000-%012d" % (900 + i), "roleName": "Filler %d" % i,
              "permissions": [{"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}]}
             for i in range(65)]
    machine(rig, None, role_definitions=roles, deny_assignments=[], page_size=100,
            role_assignments=[{"principal_id": scenario.oid(500 + i), "role": r["id"], "scope": "rg"}
                              for i, r in enumerate(roles)] +
            [{"principal_id": scenario.USERS["alice"], "role": scenario.ADMIN_ROLE, "scope": "vm"}])
    r = pam.acct(scenario.upn("alice"))
    filters = [(q["query"].get("$filter") or [""])[0] for q in arm_requests(rig) if q["path"].endswith("roleAssignments")]
    view = json.load(open(SNAP)) if os.path.exists(SNAP) else {}
    res.check(r.code == "PAM_SUCCESS" and view.get("per_user") is True and any("assignedTo" in f for f in filters),
              "shared: a scope with more than 64 distinct roles is decided by per-principal reads (noted in the view)",
              (r.code, filters, view.get("per_user")))
    n = len(arm_requests(rig))
    r = pam.acct(scenario.upn("alice"))
    added = [(q["query"].get("$filter") or [""])[0] for q in arm_requests(rig)[n:] if q["path"].endswith("roleAssignments")]
    res.check(r.code == "PAM_SUCCESS" and added and all("assignedTo" in f for f in added),
              "shared: ... and the next login goes straight to its own reads", added)

    # A view file someone else could have written is not used.
    machine(rig, None)
    r = pam.acct(scenario.upn("alice"))
    n = len(arm_requests(rig))
    os.chmod(SNAP, 0o644)
    r = pam.acct(scenario.upn("alice"))
    res.check(r.code == "PAM_SUCCESS" and len(arm_requests(rig)) > n,
              "shared: a view file readable by others is ignored and read again", r)
    st.reset()


def age_view(seconds):
    """Make the shared view `seconds` older (its times are inside the root-owned file)."""
    try:
        doc = json.load(open(SNAP))
    except (OSError, ValueError):
        return
    for k in ("made", "refresh_at", "expires"):
        doc[k] -= seconds
    for r in doc["roles"]:
        r[3] -= seconds
    write(SNAP, json.dumps(doc), 0o600)

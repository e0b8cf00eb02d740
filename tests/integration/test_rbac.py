"""Integration tests of the login library's Azure RBAC decision (login/rbac.h)
against the stand-in's Resource Manager and Graph (tests/standin/standin_arm.py),
through the test driver tests/rbac/rbac_probe.c.

Each case configures principals, groups, roles and assignments in the
stand-in, runs the driver (instance metadata from the stand-in's IMDS, an ARM
token from it, ARM and Graph over https with the test CA), and checks the
decision, the reason, fail-closed behaviour on errors, and the exact requests
Resource Manager saw."""

import json
import os
import time
import unittest

from harness import AZMI, ROOT, WRAPPER, shared_pki
from srcutil import ARC_PATH, ARC_TOKENS_DIR, SourceTestCase, can_unshare_mount

PROBE = os.environ.get("AZMI_RBAC_PROBE") or os.path.join(os.path.dirname(AZMI), "tests", "rbac_probe")
if not os.access(PROBE, os.X_OK):
    PROBE = os.path.join(ROOT, "build", "tests", "rbac_probe")

ARM_AUDIENCE = "https://management.azure.com"
GRAPH_AUDIENCE = "https://graph.microsoft.com"
API = "2022-04-01"
EVERYONE = "00000000-0000-0000-0000-000000000000"

USER_LOGIN = "fb879df8-f326-4884-b1cf-06f3ad86be52"
ADMIN_LOGIN = "1c0163c0-47e6-4577-8991-ea5c82e286e4"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"

ALICE = "a11ce000-0000-4000-8000-000000000001"
BOB = "b0b00000-0000-4000-8000-000000000002"
CAROL = "ca401000-0000-4000-8000-000000000003"
DAVE = "da7e0000-0000-4000-8000-000000000004"
SP_APP = "5e7c1ce0-0000-4000-8000-000000000005"
G_INNER = "9a000000-0000-4000-8000-0000000000a1"
G_OUTER = "9a000000-0000-4000-8000-0000000000a2"
G_OTHER = "9a000000-0000-4000-8000-0000000000a3"
CUSTOM_WILD = "c0570000-0000-4000-8000-000000000001"
CUSTOM_NOT_ADMIN = "c0570000-0000-4000-8000-000000000002"
CUSTOM_NOT_LOGIN = "c0570000-0000-4000-8000-000000000003"

DIRECTORY = {
    "users": [
        {"id": ALICE, "upn": "alice@contoso.example"},
        {"id": BOB, "upn": "bob@contoso.example"},
        {"id": CAROL, "upn": "carol@contoso.example"},
        {"id": DAVE, "upn": "dave@contoso.example"},
    ],
    "groups": [
        {"id": G_INNER, "name": "linux-users", "members": [BOB]},
        {"id": G_OUTER, "name": "all-staff", "members": [G_INNER]},
        {"id": G_OTHER, "name": "other", "members": [DAVE]},
    ],
    "service_principals": [{"id": SP_APP, "name": "deploy-bot"}],
}

CUSTOM_ROLES = [
    {"id": CUSTOM_WILD, "roleName": "VM data everything",
     "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.Compute/virtualMachines/*"],
                      "notDataActions": []}]},
    {"id": CUSTOM_NOT_ADMIN, "roleName": "Compute data, no admin",
     "permissions": [{"actions": [], "notActions": [], "dataActions": ["Microsoft.Compute/*"],
                      "notDataActions": ["Microsoft.Compute/virtualMachines/loginAsAdmin/action"]}]},
    {"id": CUSTOM_NOT_LOGIN, "roleName": "Everything but logins",
     "permissions": [{"actions": ["*"], "notActions": [], "dataActions": ["*"],
                      "notDataActions": ["*/login*"]}]},
]


def ra(principal, role, scope="vm", **kw):
    return dict(kw, principal_id=principal, role=role, scope=scope)


class RbacBase(SourceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(PROBE, os.X_OK):
            raise AssertionError("rbac_probe not found at %s (run make test-programs)" % PROBE)

    def setUp(self):
        super().setUp()
        self.write_config()
        self.standin.config(directory=DIRECTORY, arm={"role_definitions": CUSTOM_ROLES})

    def write_config(self, timeout=30, extra=""):
        entra = self.url("entra")
        with open(self.config_file, "w") as f:
            f.write("arm_endpoint = %s\ngraph_endpoint = %s\nca_file = %s\ntimeout = %d\n%s"
                    % (entra, entra, shared_pki()["ca"], timeout, extra))

    def arm(self, assignments=(), denies=(), **kw):
        doc = dict(kw, role_assignments=list(assignments), deny_assignments=list(denies),
                   role_definitions=CUSTOM_ROLES)
        self.standin.config(arm=doc)

    def scopes(self):
        c = self.cfg()
        sub = "/subscriptions/%s" % c["subscription_id"]
        rg = "%s/resourceGroups/%s" % (sub, c["resource_group"])
        return {"sub": sub, "rg": rg, "vm": "%s/providers/Microsoft.Compute/virtualMachines/%s" % (rg, c["vm_name"]),
                "machine": "%s/providers/Microsoft.HybridCompute/machines/%s" % (rg, c["vm_name"])}

    # --- running the driver -------------------------------------------------------------

    def probe(self, *args, env=None, timeout=90):
        r = self.run_cmd(WRAPPER + [PROBE] + list(args), args, env or self.base_env(), timeout)
        r.lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        return r

    def decide(self, oid, *args, **kw):
        """The decision dict; fails the test when the driver reported an error."""
        r = self.probe(*args, oid, **kw)
        self.assertEqual(r.rc, 0, r)
        decisions = [x["decision"] for x in r.lines if "decision" in x]
        self.assertTrue(decisions, r)
        self.last = r
        return decisions[-1]

    def decide_error(self, oid, *args, step="decide", **kw):
        """The error dict of a failed decision: fail closed, a readable message."""
        r = self.probe(*args, oid, **kw)
        self.assertEqual(r.rc, 1, r)
        errs = [x for x in r.lines if "error" in x]
        self.assertEqual(len(errs), 1, r)
        self.assertEqual(errs[0]["decision_level"], "deny")
        self.assertFalse([x for x in r.lines if "decision" in x], "an error came with a decision: %r" % r)
        err = errs[0]["error"]
        self.assertEqual(err["step"], step, r)
        self.assertTrue(err["message"], r)
        self.assertLess(len(err["message"]), 1024)
        self.last = r
        return err

    # --- what the stand-in saw --------------------------------------------------------------

    def arm_requests(self):
        return [q for q in self.standin.requests(listener="entra") if "/providers/Microsoft.Authorization/" in q["path"]]

    def graph_requests(self):
        return [q for q in self.standin.requests(listener="entra") if q["path"].startswith("/v1.0/")]

    def assertArmRequest(self, q, kind, flt=None):
        scope = self.scopes()["vm"]
        self.assertEqual(q["method"], "GET")
        self.assertEqual(q["scheme"], "https")
        self.assertEqual(q["path"], scope + "/providers/Microsoft.Authorization/" + kind)
        want = {"api-version": [API]}
        if flt:
            want["$filter"] = [flt]
        self.assertEqual(q["query"], want)
        self.assertEqual(q["body"], "")
        auth = q["headers"].get("authorization", "")
        self.assertTrue(auth.startswith("Bearer "), q)
        claims = self.jwt(auth[len("Bearer "):])
        self.assertEqual(claims["aud"], ARM_AUDIENCE)
        system, _ = self.identities()
        self.assertEqual(claims["oid"], system["object_id"])

    def assertRoleDefRequest(self, q, guid):
        self.assertEqual(q["method"], "GET")
        self.assertEqual(q["path"], "%s/providers/Microsoft.Authorization/roleDefinitions/%s"
                         % (self.scopes()["sub"], guid))
        self.assertEqual(q["query"], {"api-version": [API]})
        self.assertTrue(q["headers"].get("authorization", "").startswith("Bearer "))

    def assertStandardRequests(self, oid, role_guids, denies=True):
        reqs = self.arm_requests()
        want = 1 + len(role_guids) + (1 if denies else 0)
        self.assertEqual(len(reqs), want, [q["target"] for q in reqs])
        self.assertArmRequest(reqs[0], "roleAssignments", "atScope() and assignedTo('%s')" % oid)
        for q, guid in zip(reqs[1:], role_guids):
            self.assertRoleDefRequest(q, guid)
        if denies:
            self.assertArmRequest(reqs[-1], "denyAssignments", "atScope()")
        # The decision carries the correlation id of the last ARM answer.
        self.assertEqual(self.last_decision_corr(), reqs[-1]["response_headers"]["x-ms-correlation-request-id"])
        return reqs

    def last_decision_corr(self):
        return [x["decision"] for x in self.last.lines if "decision" in x][-1]["correlation_id"]

    def jwt(self, token):
        from standin_client import jwt_verify
        return jwt_verify(token, self.standin.state()["public_key_pem"])


class Decisions(RbacBase):

    def test_direct_user_role(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "user")
        self.assertEqual(d["role"], "Virtual Machine User Login")
        self.assertEqual(d["scope"], self.scopes()["vm"])
        self.assertIn("directly at this machine", d["reason"])
        self.assertStandardRequests(ALICE, [USER_LOGIN])
        vm = [x["vm"] for x in self.last.lines if "vm" in x][0]
        c = self.cfg()
        self.assertEqual(vm, {"resource_id": self.scopes()["vm"], "subscription_id": c["subscription_id"],
                              "resource_group": c["resource_group"], "name": c["vm_name"], "vm_id": c["vm_id"],
                              "az_environment": c["az_environment"], "arc": False})
        inst = self.standin.requests("/metadata/instance")
        self.assertEqual(len(inst), 1)
        self.assertEqual(inst[0]["query"], {"api-version": ["2021-02-01"]})
        self.assertEqual(inst[0]["headers"].get("metadata"), "true")
        tok = [q for q in self.standin.requests("/metadata/identity/oauth2/token")]
        self.assertEqual(len(tok), 1)
        self.assertEqual(tok[0]["query"]["resource"], [ARM_AUDIENCE])

    def test_upper_case_oid(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        self.assertEqual(self.decide(ALICE.upper())["level"], "user")
        self.assertArmRequest(self.arm_requests()[0], "roleAssignments", "atScope() and assignedTo('%s')" % ALICE)

    def test_nested_group(self):
        # bob is in linux-users, which is in all-staff; the role is given to all-staff
        self.arm([ra(G_OUTER, USER_LOGIN, "rg")])
        d = self.decide(BOB)
        self.assertEqual(d["level"], "user")
        self.assertIn("group %s" % G_OUTER, d["reason"])
        self.assertStandardRequests(BOB, [USER_LOGIN])
        self.assertEqual(self.decide(DAVE)["level"], "deny")

    def test_inherited_scopes(self):
        cases = [("rg", "resource group rg-azmi-test"), ("subscription", "subscription "),
                 ("mg:mg-azmi", "management group mg-azmi"), ("mg:mg-tenant-root", "management group mg-tenant-root"),
                 ("root", "the root scope")]
        for scope, words in cases:
            with self.subTest(scope=scope):
                self.standin.reset()
                self.standin.config(directory=DIRECTORY)
                self.arm([ra(ALICE, ADMIN_LOGIN, scope)])
                d = self.decide(ALICE)
                self.assertEqual(d["level"], "admin", d)
                self.assertIn(words, d["reason"])
                rd = self.arm_requests()[1]["path"]
                if scope.startswith("mg:") or scope == "root":
                    self.assertEqual(rd, "/providers/Microsoft.Authorization/roleDefinitions/" + ADMIN_LOGIN)

    def test_not_above(self):
        # a sibling VM, another resource group, a management group outside the chain
        self.arm([ra(ALICE, ADMIN_LOGIN, self.scopes()["rg"] + "/providers/Microsoft.Compute/virtualMachines/vm-other"),
                  ra(ALICE, ADMIN_LOGIN, "/subscriptions/%s/resourceGroups/rg-other" % self.cfg()["subscription_id"]),
                  ra(ALICE, ADMIN_LOGIN, "mg:mg-elsewhere")])
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "deny")
        self.assertEqual(len(self.arm_requests()), 1, "nothing applied, yet more was asked")

    def test_custom_role_wildcard(self):
        self.arm([ra(ALICE, CUSTOM_WILD, "rg")])
        d = self.decide(ALICE)
        self.assertEqual((d["level"], d["role"]), ("admin", "VM data everything"))
        self.assertStandardRequests(ALICE, [CUSTOM_WILD])

    def test_not_data_actions(self):
        self.arm([ra(ALICE, CUSTOM_NOT_ADMIN)])
        self.assertEqual(self.decide(ALICE)["level"], "user")
        self.arm([ra(ALICE, CUSTOM_NOT_LOGIN, "subscription")])
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "deny")
        self.assertIn("Everything but logins", d["reason"])

    def test_conditional_assignment(self):
        self.arm([ra(ALICE, ADMIN_LOGIN, condition="@Resource[Microsoft.Compute/virtualMachines:tags:env] "
                                                     "StringEquals 'dev'")])
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "deny")
        self.assertIn("conditional", d["reason"])
        self.assertIn("Virtual Machine Administrator Login", d["reason"])
        self.assertEqual(len(self.arm_requests()), 1, "a conditional assignment's role was looked up")

    def test_no_role(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        d = self.decide(DAVE)
        self.assertEqual((d["level"], d["role"], d["scope"]), ("deny", "", ""))
        self.assertIn("no role assignment there at all", d["reason"])
        # Nothing granted: no definitions, no deny assignments asked for.
        self.assertStandardRequests(DAVE, [], denies=False)

    def test_owner_only(self):
        self.arm([ra(ALICE, OWNER, "subscription"), ra(ALICE, CONTRIBUTOR, "rg"), ra(G_OUTER, READER)])
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "deny")
        for w in ("Owner", "Contributor", "Microsoft.Compute/virtualMachines/login/action"):
            self.assertIn(w, d["reason"])
        self.assertStandardRequests(ALICE, [OWNER, CONTRIBUTOR], denies=False)

    def test_admin_over_user(self):
        self.arm([ra(CAROL, USER_LOGIN), ra(CAROL, READER), ra(CAROL, ADMIN_LOGIN, "rg"), ra(CAROL, OWNER)])
        d = self.decide(CAROL)
        self.assertEqual((d["level"], d["role"], d["scope"]), ("admin", "Virtual Machine Administrator Login",
                                                                self.scopes()["rg"]))
        # Looked up in order until the admin grant; Owner after it was not needed.
        self.assertStandardRequests(CAROL, [USER_LOGIN, READER, ADMIN_LOGIN])

    def test_service_principal(self):
        self.arm([ra(SP_APP, USER_LOGIN, "rg")])
        self.assertEqual(self.decide(SP_APP)["level"], "user")

    def test_role_definitions_cached(self):
        self.arm([ra(ALICE, USER_LOGIN), ra(ALICE, READER)])
        r = self.probe("--repeat", "3", ALICE)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([x["decision"]["level"] for x in r.lines if "decision" in x], ["user"] * 3)
        defs = [q for q in self.arm_requests() if "/roleDefinitions/" in q["path"]]
        self.assertEqual(len(defs), 2, "role definitions were asked for again: %r" % [q["path"] for q in defs])
        self.assertEqual(len(self.arm_requests()), 2 + 3 * 2)

    def test_usgov_environment(self):
        # The VM says it lives in US Gov: ARM's audience follows, unless cloud is configured.
        self.standin.config(az_environment="AzureUSGovernmentCloud")
        self.arm([ra(ALICE, USER_LOGIN)], audiences=["https://management.usgovcloudapi.net"])
        self.assertEqual(self.decide(ALICE)["level"], "user")
        tok = self.standin.requests("/metadata/identity/oauth2/token")
        self.assertEqual(tok[0]["query"]["resource"], ["https://management.usgovcloudapi.net"])
        self.write_config(extra="cloud = AzureCloud\n")
        err = self.decide_error(ALICE)
        self.assertEqual(err["http_status"], 401, err)


class DenyAssignments(RbacBase):

    def deny(self, principals, data_actions=("*",), scope="rg", exclude=(), **kw):
        return dict(kw, name=kw.get("name", "locked by policy"), scope=scope,
                    permissions=[{"actions": [], "notActions": [], "dataActions": list(data_actions),
                                  "notDataActions": list(kw.pop("not_data_actions", []))}],
                    principals=list(principals), exclude_principals=list(exclude))

    def test_everyone_denied(self):
        self.arm([ra(ALICE, ADMIN_LOGIN)], [self.deny([{"id": EVERYONE, "type": "SystemDefined"}])])
        d = self.decide(ALICE)
        self.assertEqual((d["level"], d["role"]), ("deny", ""))
        self.assertIn("deny assignment 'locked by policy'", d["reason"])
        self.assertIn("everyone", d["reason"])
        self.assertStandardRequests(ALICE, [ADMIN_LOGIN])
        self.assertEqual(self.graph_requests(), [])

    def test_excluded(self):
        self.arm([ra(ALICE, ADMIN_LOGIN)],
                 [self.deny([{"id": EVERYONE, "type": "SystemDefined"}], exclude=[{"id": ALICE, "type": "User"}])])
        self.assertEqual(self.decide(ALICE)["level"], "admin")

    def test_admin_only_denied(self):
        self.arm([ra(ALICE, ADMIN_LOGIN)], [self.deny([{"id": ALICE, "type": "User"}],
                                                      ["Microsoft.Compute/virtualMachines/loginAsAdmin/action"])])
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "user")
        self.assertIn("admin login is denied", d["reason"])

    def test_not_data_actions_in_deny(self):
        self.arm([ra(ALICE, ADMIN_LOGIN)], [self.deny([{"id": EVERYONE, "type": "SystemDefined"}],
                                                      not_data_actions=["Microsoft.Compute/virtualMachines/log*"])])
        self.assertEqual(self.decide(ALICE)["level"], "admin")

    def test_group_deny_member(self):
        self.arm([ra(BOB, ADMIN_LOGIN)], [self.deny([{"id": G_OUTER, "type": "Group"}])])
        d = self.decide(BOB)
        self.assertEqual(d["level"], "deny")
        self.assertIn("its group %s" % G_OUTER, d["reason"])
        g = self.graph_requests()
        self.assertEqual(len(g), 1, g)
        self.assertEqual(g[0]["method"], "POST")
        self.assertEqual(g[0]["path"], "/v1.0/directoryObjects/%s/checkMemberGroups" % BOB)
        self.assertEqual(json.loads(g[0]["body"]), {"groupIds": [G_OUTER]})
        self.assertEqual(g[0]["headers"].get("content-type"), "application/json")
        self.assertEqual(self.jwt(g[0]["headers"]["authorization"][7:])["aud"], GRAPH_AUDIENCE)

    def test_group_deny_not_member(self):
        self.arm([ra(ALICE, ADMIN_LOGIN)], [self.deny([{"id": G_OTHER, "type": "Group"}])])
        self.assertEqual(self.decide(ALICE)["level"], "admin")

    def test_group_deny_unknown_fails_closed(self):
        self.arm([ra(BOB, ADMIN_LOGIN)], [self.deny([{"id": G_OTHER, "type": "Group"}])])
        self.standin.config(graph={"permissions": []})
        err = self.decide_error(BOB)
        self.assertEqual(err["code"], "AZMI_ERR_REFUSED")
        self.assertIn("GroupMember.Read.All", err["message"])
        self.assertIn("no login is granted", err["message"])

    def test_child_scopes_exempt(self):
        self.arm([ra(ALICE, USER_LOGIN)], [self.deny([{"id": EVERYONE, "type": "SystemDefined"}],
                                                     do_not_apply_to_child_scopes=True)])
        self.assertEqual(self.decide(ALICE)["level"], "user")


class Paging(RbacBase):

    def test_paging(self):
        # five pages of one assignment; the admin grant is on the last one
        self.arm([ra(ALICE, READER, "subscription"), ra(G_OTHER, USER_LOGIN), ra(ALICE, OWNER, "rg"),
                  ra(ALICE, CONTRIBUTOR), ra(ALICE, ADMIN_LOGIN, "root")], page_size=1)
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "admin")
        pages = [q for q in self.arm_requests() if q["path"].endswith("/roleAssignments")]
        self.assertEqual(len(pages), 4, [q["target"] for q in pages])  # G_OTHER's is not alice's
        self.assertNotIn("$skipToken", pages[0]["query"])
        self.assertEqual([q["query"].get("$skipToken") for q in pages[1:]], [["1"], ["2"], ["3"]])
        for q in pages:
            self.assertEqual(q["query"]["$filter"], ["atScope() and assignedTo('%s')" % ALICE])
            self.assertEqual(q["query"]["api-version"], [API])

    def test_next_link_elsewhere_refused(self):
        self.arm([ra(ALICE, READER), ra(ALICE, ADMIN_LOGIN)], page_size=1,
                 next_link_base="https://management.azure.com.evil.example")
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], "AZMI_ERR_PROTOCOL")
        self.assertIn("nextLink", err["message"])
        self.assertEqual(len(self.arm_requests()), 1)

    def test_too_many_pages(self):
        self.arm([ra(ALICE, READER, "rg") for _ in range(60)], page_size=1)
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], "AZMI_ERR_PROTOCOL")
        self.assertIn("more than 50 pages", err["message"])
        self.assertEqual(len(self.arm_requests()), 50)


class Faults(RbacBase):

    def ra_path(self):
        return self.scopes()["vm"] + "/providers/Microsoft.Authorization/roleAssignments"

    def rd_path(self, guid=USER_LOGIN):
        return "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (self.scopes()["sub"], guid)

    def test_429_retry_after(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script(self.ra_path(), [{"status": 429, "headers": {"Retry-After": "1"}}])
        start = time.monotonic()
        d = self.decide(ALICE)
        self.assertEqual(d["level"], "user")
        self.assertGreaterEqual(time.monotonic() - start, 0.9)
        pages = [q for q in self.arm_requests() if q["path"] == self.ra_path()]
        self.assertEqual([q["status"] for q in pages], [429, 200])
        self.assertIn("retrying", self.last.stderr)

    def test_500_then_ok(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script(self.rd_path(), [{"status": 500}, {"status": 503}])
        self.assertEqual(self.decide(ALICE)["level"], "user")
        self.assertEqual([q["status"] for q in self.arm_requests() if q["path"] == self.rd_path()], [500, 503, 200])

    def test_500_always(self):
        self.write_config(timeout=6)
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script(self.ra_path(), [{"status": 500, "repeat": 20}])
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], "AZMI_ERR_ENDPOINT")
        self.assertEqual(err["http_status"], 500)
        self.assertIn("HTTP 500", err["message"])
        self.assertIn("correlation id", err["message"])
        self.assertLess(self.last.elapsed, 30)

    def test_429_retry_after_too_long(self):
        self.write_config(timeout=10)
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script(self.ra_path(), [{"status": 429, "headers": {"Retry-After": "3600"}}])
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], "AZMI_ERR_ENDPOINT")
        self.assertIn("would pass the deadline", err["message"])
        self.assertLess(self.last.elapsed, 8)

    def test_timeout(self):
        self.write_config(timeout=3)
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script(self.ra_path(), [{"delay_ms": 8000, "repeat": 3}])
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], "AZMI_ERR_TIMEOUT", err)
        self.assertLess(self.last.elapsed, 7.5)

    def test_reader_missing(self):
        self.arm([ra(ALICE, USER_LOGIN)], readers=[])
        err = self.decide_error(ALICE)
        self.assertEqual((err["code"], err["http_status"]), ("AZMI_ERR_REFUSED", 403))
        self.assertIn("AuthorizationFailed", err["message"])
        self.assertIn("needs Reader", err["message"])
        self.assertEqual(len(self.arm_requests()), 1, "a 403 was retried")

    def test_reader_granted(self):
        system, _ = self.identities()
        self.arm([ra(ALICE, USER_LOGIN)], readers=[system["object_id"]])
        self.assertEqual(self.decide(ALICE)["level"], "user")

    def test_401_fresh_token_once(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script(self.ra_path(), [{"status": 401, "repeat": 2}])
        err = self.decide_error(ALICE)
        self.assertEqual(err["http_status"], 401)
        self.assertIn("needs Reader", err["message"])
        self.assertEqual(len([q for q in self.arm_requests() if q["path"] == self.ra_path()]), 2)
        # The second try came with a token fetched anew (the cache was bypassed).
        self.assertEqual(len(self.standin.requests("/metadata/identity/oauth2/token")), 2)

    def test_wrong_audience(self):
        self.arm([ra(ALICE, USER_LOGIN)], audiences=["https://management.core.windows.net"])
        err = self.decide_error(ALICE)
        self.assertEqual(err["http_status"], 401)
        self.assertIn("InvalidAuthenticationToken", err["message"])

    def test_untrusted_certificate(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        entra = self.url("entra")
        with open(self.config_file, "w") as f:
            f.write("arm_endpoint = %s\ngraph_endpoint = %s\ntimeout = 10\n" % (entra, entra))
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], "AZMI_ERR_PROTOCOL")
        self.assertIn("ca_file", err["message"])
        self.assertEqual(self.arm_requests(), [])

    def test_imds_down(self):
        env = self.base_env()
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:9"
        err = self.decide_error(ALICE, env=env, step="vm")
        self.assertEqual(err["code"], "AZMI_ERR_UNAVAILABLE")
        self.assertIn("127.0.0.1:9", err["message"])
        self.assertEqual(self.arm_requests(), [])

    def test_imds_instance_retried(self):
        self.arm([ra(ALICE, USER_LOGIN)])
        self.standin.script("/metadata/instance", [{"status": 503}])
        self.assertEqual(self.decide(ALICE)["level"], "user")
        self.assertEqual([q["status"] for q in self.standin.requests("/metadata/instance")], [503, 200])

    def test_imds_instance_hostile(self):
        bad = [
            {"compute": {"resourceId": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/"
                                       "virtualMachines/vm"}},
            {"compute": {"resourceId": self.scopes()["vm"], "subscriptionId": "another"}},
            {"compute": {"resourceId": self.scopes()["vm"] + "/../../evil"}},
            {"compute": {"resourceId": self.scopes()["machine"]}},
            {"compute": "nope"},
            [],
        ]
        for body in bad:
            with self.subTest(body=body):
                self.standin.script("/metadata/instance", [{"status": 200, "body": body}])
                err = self.decide_error(ALICE, step="vm")
                self.assertEqual(err["code"], "AZMI_ERR_PROTOCOL")
        self.assertEqual(self.arm_requests(), [])


class Hostile(RbacBase):
    """Answers a broken or hostile Resource Manager could send: an error, never a grant."""

    def ra_path(self):
        return self.scopes()["vm"] + "/providers/Microsoft.Authorization/roleAssignments"

    def rd_path(self, guid=ADMIN_LOGIN):
        return "%s/providers/Microsoft.Authorization/roleDefinitions/%s" % (self.scopes()["sub"], guid)

    def da_path(self):
        return self.scopes()["vm"] + "/providers/Microsoft.Authorization/denyAssignments"

    def hostile(self, path, response, code="AZMI_ERR_PROTOCOL"):
        self.standin.reset()
        self.standin.config(directory=DIRECTORY)
        self.arm([ra(ALICE, ADMIN_LOGIN)])
        self.standin.script(path, [dict(response, repeat=10)])
        err = self.decide_error(ALICE)
        self.assertEqual(err["code"], code, err)
        return err

    def test_assignment_pages(self):
        for body in ("[]", {"value": 7}, {"value": [{"properties": {"roleDefinitionId": "x"}}]},
                     "<html>proxy</html>", "", {"value": [], "nextLink": 12},
                     {"value": [{"properties": {"roleDefinitionId": "/providers/Microsoft.Authorization/"
                                                "roleDefinitions/" + ADMIN_LOGIN, "principalId": ALICE,
                                                "scope": "/", "condition": {"allOf": []}}}]}):
            with self.subTest(body=body):
                self.hostile(self.ra_path(), {"status": 200, "body": body})

    def test_role_definitions(self):
        for body in ({"name": ADMIN_LOGIN, "properties": {"roleName": "x", "permissions": "*"}},
                     {"name": ADMIN_LOGIN, "properties": {"roleName": "x", "permissions": [{"dataActions": [7]}]}},
                     {"name": USER_LOGIN, "properties": {"roleName": "x", "permissions": []}},
                     {"name": ADMIN_LOGIN}, "null"):
            with self.subTest(body=body):
                self.hostile(self.rd_path(), {"status": 200, "body": body})

    def test_deny_pages(self):
        for body in ({"value": [{"properties": {"scope": "/", "permissions": [{"dataActions": ["*"]}],
                                                "principals": [{"id": "everyone"}]}}]},
                     {"value": [{"properties": {"permissions": []}}]}, "{"):
            with self.subTest(body=body):
                self.hostile(self.da_path(), {"status": 200, "body": body})

    def test_huge_page(self):
        err = self.hostile(self.ra_path(), {"status": 200, "size_mb": 8})
        self.assertIn("larger than", err["message"])
        self.assertLess(self.last.elapsed, 20)

    def test_truncated(self):
        self.write_config(timeout=5)
        self.hostile(self.ra_path(), {"status": 200, "truncate": 30}, code=("AZMI_ERR_ENDPOINT"))

    def test_reset(self):
        self.write_config(timeout=5)
        self.hostile(self.ra_path(), {"reset": True}, code="AZMI_ERR_ENDPOINT")


class Graph(RbacBase):

    def test_upn(self):
        r = self.probe("--upn", "Bob@Contoso.example")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.lines, [{"oid": BOB}])
        g = self.graph_requests()
        self.assertEqual(len(g), 1)
        self.assertEqual(g[0]["method"], "GET")
        self.assertEqual(g[0]["path"], "/v1.0/users/Bob%40Contoso.example")
        self.assertEqual(g[0]["query"], {"$select": ["id,userPrincipalName"]})
        self.assertEqual(self.jwt(g[0]["headers"]["authorization"][7:])["aud"], GRAPH_AUDIENCE)

    def test_upn_escaped(self):
        self.standin.config(directory={"users": [{"id": ALICE, "upn": "alice_x.example#EXT#@contoso.example"}]})
        r = self.probe("--upn", "alice_x.example#EXT#@contoso.example")
        self.assertEqual(r.lines, [{"oid": ALICE}], r)
        self.assertIn("%23EXT%23", self.graph_requests()[0]["target"])

    def test_no_such_user(self):
        r = self.probe("--upn", "nobody@contoso.example")
        self.assertEqual(r.rc, 1, r)
        err = r.lines[0]["error"]
        self.assertEqual((err["code"], err["http_status"]), ("AZMI_ERR_REFUSED", 404))
        self.assertIn("no such user", err["message"])

    def test_no_permission(self):
        self.standin.config(graph={"permissions": ["GroupMember.Read.All"]})
        r = self.probe("--upn", "bob@contoso.example")
        err = r.lines[0]["error"]
        self.assertEqual((err["code"], err["http_status"]), ("AZMI_ERR_REFUSED", 403))
        self.assertIn("User.Read.All", err["message"])

    def test_answer_for_someone_else(self):
        self.standin.script("/v1.0/users/bob%40contoso.example",
                            [{"status": 200, "body": {"id": ALICE, "userPrincipalName": "alice@contoso.example"}}])
        r = self.probe("--upn", "bob@contoso.example")
        self.assertEqual(r.lines[0]["error"]["code"], "AZMI_ERR_PROTOCOL")

    def test_bad_upn(self):
        for upn in ("a/b@c", "a b@c", "x?y", ""):
            r = self.probe("--upn", upn)
            self.assertEqual(r.lines[0]["error"]["code"], "AZMI_ERR_USAGE", r)
        self.assertEqual(self.graph_requests(), [])

    def test_check_groups(self):
        r = self.probe("--groups", ",".join([G_INNER, G_OUTER, G_OTHER]), BOB)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.lines, [{"member": {G_INNER: True, G_OUTER: True, G_OTHER: False}}])

    def test_check_groups_batches(self):
        ids = ["9b000000-0000-4000-8000-%012d" % i for i in range(45)]
        self.standin.config(directory={"groups": DIRECTORY["groups"] + [
            {"id": ids[30], "name": "x", "members": [G_OUTER]}]})
        r = self.probe("--groups", ",".join(ids), BOB)
        self.assertEqual(r.rc, 0, r)
        member = r.lines[0]["member"]
        self.assertEqual([k for k, v in member.items() if v], [ids[30]])
        sizes = [len(json.loads(q["body"])["groupIds"]) for q in self.graph_requests()]
        self.assertEqual(sizes, [20, 20, 5])


class Arc(RbacBase):
    """An Arc-enabled server: its scope from himds's metadata, the HybridCompute actions."""

    def setUp(self):
        super().setUp()
        if not can_unshare_mount():
            self.skipTest("cannot create a private mount namespace here")
        self.keydir = os.path.join(self.tmp, "tokens")
        os.mkdir(self.keydir)
        os.chmod(self.keydir, 0o755)
        self.standin.config(arc={"key_dir": self.keydir, "realm_dir": ARC_TOKENS_DIR})

    def arc_probe(self, *args):
        env = self.base_env()
        env["IDENTITY_ENDPOINT"] = self.url("arc") + ARC_PATH
        env["IMDS_ENDPOINT"] = self.url("arc")
        setup = ["mount -t tmpfs -o mode=0755 azmi-test /var/opt", "mkdir -p %s" % ARC_TOKENS_DIR,
                 "mount --bind '%s' %s" % (self.keydir, ARC_TOKENS_DIR)]
        script = "set -e\n" + "\n".join(setup) + '\nexec "$@"\n'
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"] + WRAPPER + [PROBE] + list(args)
        r = self.run_cmd(cmd, args, env, 90)
        r.lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        return r

    def test_arc_machine(self):
        self.arm([ra(ALICE, USER_LOGIN, "machine")])
        r = self.arc_probe(ALICE)
        self.assertEqual(r.rc, 0, r)
        vm = r.lines[0]["vm"]
        self.assertTrue(vm["arc"])
        self.assertEqual(vm["resource_id"], self.scopes()["machine"])
        d = r.lines[1]["decision"]
        self.assertEqual(d["level"], "user")
        inst = self.standin.requests("/metadata/instance", listener="arc")
        self.assertEqual(len(inst), 1)
        self.assertEqual(inst[0]["query"], {"api-version": ["2020-06-01"]})
        self.assertEqual(self.standin.requests("/metadata/instance", listener="main"), [])
        q = self.arm_requests()[0]
        self.assertEqual(q["path"], self.scopes()["machine"] + "/providers/Microsoft.Authorization/roleAssignments")

    def test_arc_needs_hybrid_actions(self):
        self.arm([ra(ALICE, CUSTOM_WILD, "rg")])  # Microsoft.Compute/virtualMachines/* only
        r = self.arc_probe(ALICE)
        self.assertEqual(r.rc, 0, r)
        d = r.lines[1]["decision"]
        self.assertEqual(d["level"], "deny")
        self.assertIn("Microsoft.HybridCompute/machines/login/action", d["reason"])


class StandinSelf(RbacBase):
    """The stand-in's ARM itself: bearer checks and filter semantics."""

    def get(self, path, token=None):
        import ssl
        import urllib.error
        import urllib.request
        ctx = ssl.create_default_context(cafile=shared_pki()["ca"])
        req = urllib.request.Request(self.url("entra") + path,
                                     headers={"Authorization": "Bearer " + token} if token else {})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx))
        try:
            with opener.open(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), json.loads(e.read() or b"null")

    def test_bearer_required(self):
        path = self.scopes()["vm"] + "/providers/Microsoft.Authorization/roleAssignments?api-version=" + API
        status, headers, body = self.get(path)
        self.assertEqual(status, 401)
        self.assertEqual(body["error"]["code"], "InvalidAuthenticationToken")
        self.assertIn("x-ms-correlation-request-id", {k.lower() for k in headers})
        storage = self.standin.mint("https://storage.azure.com")["access_token"]
        self.assertEqual(self.get(path, storage)[0], 401)
        good = self.standin.mint(ARM_AUDIENCE)["access_token"]
        self.assertEqual(self.get(path, good)[0], 200)
        self.assertEqual(self.get(path.split("?")[0], good)[2]["error"]["code"], "MissingApiVersionParameter")

    def test_filters(self):
        self.arm([ra(ALICE, USER_LOGIN, "rg"), ra(BOB, USER_LOGIN), ra(G_INNER, READER, "subscription"),
                  ra(ALICE, OWNER, self.scopes()["vm"] + "-other")])
        tok = self.standin.mint(ARM_AUDIENCE)["access_token"]
        base = self.scopes()["vm"] + "/providers/Microsoft.Authorization/roleAssignments?api-version=" + API

        def ids(flt):
            status, _, body = self.get(base + "&$filter=" + flt, tok)
            self.assertEqual(status, 200, body)
            return sorted((v["properties"]["principalId"], v["properties"]["scope"]) for v in body["value"])

        s = self.scopes()
        self.assertEqual(ids("atScope()"), sorted([(ALICE, s["rg"]), (BOB, s["vm"]), (G_INNER, s["sub"])]))
        self.assertEqual(ids("atScope()+and+assignedTo('%s')" % BOB), sorted([(BOB, s["vm"]), (G_INNER, s["sub"])]))
        self.assertEqual(ids("atScope()+and+assignedTo('%s')" % ALICE), [(ALICE, s["rg"])])
        self.assertEqual(self.get(base + "&$filter=nonsense", tok)[0], 400)


if __name__ == "__main__":
    unittest.main()

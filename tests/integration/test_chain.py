"""Integration tests of the DefaultAzureCredential chain: precedence when
several sources are configured, AZURE_TOKEN_CREDENTIALS, --credential, the
Azure CLI link, and the off-Azure fast path (no source, nothing answering,
a black-holed IMDS)."""

import os
import unittest

from harness import (APPSERVICE_PATH, IMDS_ADDR, IMDS_TOKEN_PATH, STORAGE, free_port, imds_address_on_lo)
from srcutil import (AZUREML_PATH, CLOUDSHELL_PATH, LINKS, SourceTestCase, black_hole, close_all, form)


def needs_imds_on_lo(cls):
    return unittest.skipUnless(imds_address_on_lo(),
                               "needs run.sh's private namespace with %s on lo" % IMDS_ADDR)(cls)


class Precedence(SourceTestCase):

    def everything_env(self):
        """A service principal secret, a workload identity token file, App
        Service and IMDS, all configured at once."""
        env = self.secret_env()
        env["AZURE_FEDERATED_TOKEN_FILE"] = self.federated_file()
        env["IDENTITY_ENDPOINT"] = self.standin.url + APPSERVICE_PATH
        env["IDENTITY_HEADER"] = self.secret_header()
        return env

    def test_environment_comes_first(self):
        r = self.azmi("token", "--resource", STORAGE, "--json", env=self.everything_env())
        self.assertJsonSource(r, "environment")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertIn("client_secret", form(reqs[0]["body"]))

    def test_workload_identity_before_managed_identity(self):
        env = self.everything_env()
        del env["AZURE_CLIENT_SECRET"]
        r = self.azmi("token", "--resource", STORAGE, "--json", env=env)
        self.assertJsonSource(r, "workload_identity")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertIn("client_assertion", form(reqs[0]["body"]))

    def test_incomplete_environment_falls_through(self):
        # Tenant and client id alone configure neither the environment nor
        # workload identity: managed identity uses AZURE_CLIENT_ID.
        _, users = self.identities()
        env = self.entra_env()
        env["AZURE_TENANT_ID"] = self.tenant()
        env["AZURE_CLIENT_ID"] = users[0]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, "--json", env=env)
        self.assertJsonSource(r, "imds")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["path"], IMDS_TOKEN_PATH)
        self.assertEqual(reqs[0]["query"]["client_id"], [users[0]["client_id"]])

    def test_refused_environment_ends_the_chain(self):
        env = self.everything_env()
        env["AZURE_CLIENT_SECRET"] = "wrong~secret"
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "AADSTS7000215")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, "the chain went on after a refusal: %r" % reqs)

    def managed(self, env, source, listener, path):
        r = self.azmi("token", "--resource", STORAGE, "--json", env=env)
        self.assertJsonSource(r, source)
        reqs = self.all_requests()
        self.assertTrue(reqs, "no request")
        self.assertEqual({(q["listener"], q["path"]) for q in reqs}, {(listener, path)}, reqs)

    def test_service_fabric_before_app_service(self):
        self.managed(self.sf_env(), "servicefabric", "sf", IMDS_TOKEN_PATH)

    def test_app_service_before_azure_ml(self):
        env = self.azureml_env()
        env["IDENTITY_ENDPOINT"] = self.standin.url + APPSERVICE_PATH
        env["IDENTITY_HEADER"] = self.secret_header()
        self.managed(env, "appservice", "main", APPSERVICE_PATH)

    def test_azure_ml_before_arc(self):
        env = self.arc_env()
        env.update({k: v for k, v in self.azureml_env().items() if k.startswith("MSI_")})
        self.managed(env, "azureml", "main", AZUREML_PATH)

    def test_cloud_shell_before_arc(self):
        env = self.arc_env()
        env["MSI_ENDPOINT"] = self.standin.url + CLOUDSHELL_PATH
        self.managed(env, "cloudshell", "main", CLOUDSHELL_PATH)

    # Arc before IMDS: test_arc.ArcChallenge.test_challenge_and_answer (Arc
    # needs its tokens directory, which only a private mount namespace has).


class CredentialChoice(SourceTestCase):
    """AZURE_TOKEN_CREDENTIALS and --credential."""

    def setUp(self):
        super().setUp()
        self.setUp_users()

    def every_env(self):
        env = self.secret_env()
        env["AZURE_FEDERATED_TOKEN_FILE"] = self.federated_file()
        bindir, self.az_token, _ = self.fake_az(resource=STORAGE)
        return self.with_az(env, bindir)

    def sources(self):
        return sorted({(q["listener"], q["path"]) for q in self.all_requests()})

    def expect(self, source, *args, env=None, tc=None):
        env = env or self.every_env()
        if tc is not None:
            env["AZURE_TOKEN_CREDENTIALS"] = tc
        r = self.azmi("token", "--resource", STORAGE, "--json", *args, env=env)
        out = self.assertJsonSource(r, source)
        reqs = self.all_requests()
        ran_az = [e for e in self.az_log() if e["event"] == "start"]
        if source == "azure_cli":
            self.assertEqual(reqs, [])
            self.assertEqual(len(ran_az), 1)
            self.assertEqual(out["access_token"], self.az_token)
        else:
            self.assertEqual(ran_az, [], "az ran")
            self.assertEqual(len(reqs), 1, reqs)
            if source == "environment":
                self.assertIn("client_secret", form(reqs[0]["body"]))
            elif source == "workload_identity":
                self.assertIn("client_assertion", form(reqs[0]["body"]))
            else:
                self.assertEqual(reqs[0]["path"], IMDS_TOKEN_PATH)
        return out

    def test_credential_option_names(self):
        for name, source in (("environment", "environment"), ("workload_identity", "workload_identity"),
                             ("managed_identity", "imds"), ("azure_cli", "azure_cli"),
                             ("EnvironmentCredential", "environment"),
                             ("workloadidentitycredential", "workload_identity"),
                             ("MANAGEDIDENTITYCREDENTIAL", "imds"), ("AzureCliCredential", "azure_cli")):
            with self.subTest(credential=name):
                self.standin.reset()
                self.setUp_users()
                self.expect(source, "--credential", name, "--no-cache")

    def setUp_users(self):
        # Managed identity uses AZURE_CLIENT_ID too: give the stand-in a
        # user-assigned identity with the service principal's client id, so
        # that every link can answer in the same environment.
        sp = self.sp()
        users = self.cfg()["user_identities"] + [{
            "name": "id-same-client-id-as-sp", "client_id": sp["client_id"],
            "object_id": "99999999-8888-4777-a666-555555555599", "resource_id": ""}]
        self.standin.config(user_identities=users)
        log = os.path.join(self.tmp, "azbin", "az.log")
        if os.path.exists(log):
            os.unlink(log)

    def test_token_credentials_values(self):
        for value, source in (("prod", "environment"), ("dev", "azure_cli"),
                              ("EnvironmentCredential", "environment"),
                              ("WorkloadIdentityCredential", "workload_identity"),
                              ("managedidentitycredential", "imds"), ("AzureCliCredential", "azure_cli")):
            with self.subTest(AZURE_TOKEN_CREDENTIALS=value):
                self.standin.reset()
                self.setUp_users()
                self.expect(source, "--no-cache", tc=value)

    def test_prod_never_runs_az(self):
        bindir, _, _ = self.fake_az(resource=STORAGE)
        env = self.with_az(self.base_env(imds=False), bindir)
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:%d" % free_port()
        env["AZURE_TOKEN_CREDENTIALS"] = "prod"
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=env)
        self.assertAzmiError(r, 3)
        self.assertEqual(self.az_log(), [], "az ran with AZURE_TOKEN_CREDENTIALS=prod")

    def test_environment_credential_only(self):
        # IMDS is there, but only the (unconfigured) environment is allowed.
        env = self.base_env()
        env["AZURE_TOKEN_CREDENTIALS"] = "EnvironmentCredential"
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertAzmiError(r, 3, "environment")
        self.assertEqual(self.all_requests(), [])

    def test_unknown_token_credentials_value(self):
        env = self.every_env()
        env["AZURE_TOKEN_CREDENTIALS"] = "SharedTokenCacheCredentialX"
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertAzmiError(r, 2, "AZURE_TOKEN_CREDENTIALS", "SharedTokenCacheCredentialX")
        self.assertEqual(self.all_requests(), [])
        self.assertEqual(self.az_log(), [])

    def test_unknown_credential_option(self):
        r = self.azmi("token", "--resource", STORAGE, "--credential", "interactive_browser",
                      env=self.every_env())
        self.assertAzmiError(r, 2, "interactive_browser")
        self.assertEqual(self.all_requests(), [])


class ConfiguredLinkFails(SourceTestCase):
    """Issue 16: as the SDKs' chains, only a link that is absent here
    (CredentialUnavailableError) passes to the next; a configured one that
    fails ends the chain with its own error."""

    def setUp(self):
        super().setUp()
        # IMDS would answer for the service principal's client id as a
        # user-assigned identity: falling through would hand out its token.
        sp = self.sp()
        users = self.cfg()["user_identities"] + [{
            "name": "id-same-client-id-as-sp", "client_id": sp["client_id"],
            "object_id": "99999999-8888-4777-a666-555555555599", "resource_id": ""}]
        self.standin.config(user_identities=users)

    def use_az(self, env):
        bindir, token, _ = self.fake_az(resource=STORAGE)
        with open(self.config_file, "w") as f:
            f.write("use_azure_cli = yes\n")
        return self.with_az(env, bindir), token

    def test_unreachable_entra_does_not_fall_to_imds(self):
        env = self.secret_env()
        env["AZURE_AUTHORITY_HOST"] = "https://127.0.0.1:%d" % free_port()
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 5, "environment", "Entra cannot be reached")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.mi_requests(), [], "the chain went on to managed identity")

    def test_unreadable_federated_token_ends_the_chain(self):
        env = self.wi_env(token_file=os.path.join(self.tmp, "no-such-token"))
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 3, "workload_identity", "AZURE_FEDERATED_TOKEN_FILE")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [], "the chain went on")

    def test_unreachable_app_service_does_not_run_az(self):
        env = self.base_env()
        env["IDENTITY_ENDPOINT"] = "http://127.0.0.1:%d/msi/token" % free_port()
        env["IDENTITY_HEADER"] = self.secret_header()
        env, _ = self.use_az(env)
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertNotEqual(r.rc, 0, r)
        self.assertIn("appservice", r.stderr)
        self.assertEqual(self.az_log(), [], "az ran after a configured App Service endpoint failed")

    def test_imds_400_for_a_user_assigned_id_passes_on(self):
        # IMDS's 400 says "not this identity on this VM": unavailable, as the SDKs read it.
        env, token = self.use_az(self.base_env())
        env["AZURE_CLIENT_ID"] = "00000000-1111-4222-8333-444444444444"
        r = self.azmi("token", "--resource", STORAGE, "--json", "--timeout", "10", env=env)
        out = self.assertJsonSource(r, "azure_cli")
        self.assertEqual(out["access_token"], token)
        self.assertEqual([q["status"] for q in self.token_requests()], [400])

    def test_whoami_says_a_named_request_skipped_nothing(self):
        r = self.azmi("whoami", "--credential", "managed_identity", env=self.secret_env())
        self.assertOk(r)
        line = [ln for ln in r.stdout.splitlines() if "environment:" in ln]
        self.assertEqual(len(line), 1, r)
        self.assertIn("not asked", line[0])


class RefusedSettings(SourceTestCase):
    """Issue 16: SDK variables azmi does not support are refused with one
    line, never ignored: the username/password flow and regional Entra."""

    def check_refused(self, r, word):
        self.assertAzmiError(r, 2, word)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [], "asked an endpoint anyway")

    def test_username_password_is_refused(self):
        env = self.entra_env()
        env.update({"AZURE_TENANT_ID": self.tenant(), "AZURE_CLIENT_ID": self.sp()["client_id"],
                    "AZURE_USERNAME": "someone@example.com", "AZURE_PASSWORD": "hunter2-secret"})
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.check_refused(r, "AZURE_USERNAME")
        self.assertNotIn("hunter2", r.stderr)
        d = self.azmi("doctor", env=env, timeout=30)
        self.assertRegex(d.stdout, r"environment\s+refused: AZURE_USERNAME")

    def test_username_alone_is_refused(self):
        env = self.base_env()
        env["AZURE_USERNAME"] = "someone@example.com"
        self.check_refused(self.azmi("token", "--resource", STORAGE, env=env), "AZURE_USERNAME")

    def test_secret_wins_over_username_password(self):
        # The SDKs' EnvironmentCredential order: secret, certificate, then username/password.
        env = self.secret_env()
        env.update({"AZURE_USERNAME": "someone@example.com", "AZURE_PASSWORD": "hunter2-secret"})
        r = self.azmi("token", "--resource", STORAGE, "--json", env=env)
        self.assertJsonSource(r, "environment")

    def test_regional_authority_is_refused_for_entra(self):
        for env in (self.secret_env(), self.wi_env()):
            with self.subTest(link="environment" if "AZURE_CLIENT_SECRET" in env else "workload_identity"):
                env["AZURE_REGIONAL_AUTHORITY_NAME"] = "westus2"
                self.check_refused(self.azmi("token", "--resource", STORAGE, env=env),
                                   "AZURE_REGIONAL_AUTHORITY_NAME")

    def test_regional_authority_does_not_concern_managed_identity(self):
        env = self.base_env()
        env["AZURE_REGIONAL_AUTHORITY_NAME"] = "westus2"
        r = self.azmi("token", "--resource", STORAGE, "--json", env=env)
        self.assertJsonSource(r, "imds")


class AzureCliLink(SourceTestCase):

    def dead_imds_env(self, bindir):
        env = self.with_az(self.base_env(imds=False), bindir)
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:%d" % free_port()
        return env

    def test_off_by_default(self):
        bindir, _, _ = self.fake_az(resource=STORAGE)
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=self.dead_imds_env(bindir))
        self.assertAzmiError(r, 3)
        self.assertLinkLines(r)
        self.assertEqual(self.az_log(), [], "az ran though nothing enabled it")

    def test_config_use_azure_cli(self):
        bindir, token, exp = self.fake_az(resource=STORAGE)
        with open(self.config_file, "w") as f:
            f.write("use_azure_cli = yes\n")
        r = self.azmi("token", "--resource", STORAGE, "--json", "--timeout", "5",
                      env=self.dead_imds_env(bindir))
        out = self.assertJsonSource(r, "azure_cli")
        self.assertEqual(out["access_token"], token)
        self.assertEqual(out["expires_on"], exp)

    def test_dev_skips_managed_identity(self):
        bindir, token, _ = self.fake_az(resource=STORAGE)
        env = self.with_az(self.base_env(), bindir)  # IMDS answers, but is not asked
        env["AZURE_TOKEN_CREDENTIALS"] = "dev"
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        self.assertTokenLine(r, token)
        self.assertEqual(self.all_requests(), [])


class OffAzure(SourceTestCase):
    """Nothing configured and nothing answering: exit 3 quickly, with one line
    per link."""

    def check_fast_failure(self, r, limit):
        self.assertAzmiError(r, 3)
        self.assertLinkLines(r)
        self.assertLess(r.elapsed, limit, r)
        self.assertEqual(r.stdout, "")

    @needs_imds_on_lo
    def test_nothing_listening(self):
        r = self.azmi("token", "--resource", STORAGE, env=self.base_env(imds=False))
        self.check_fast_failure(r, 2.0)
        self.assertIn(IMDS_ADDR, r.stderr)

    def test_imds_address_not_assigned(self):
        r = self.azmi_fresh_netns("token", "--resource", STORAGE, env=self.base_env(imds=False))
        self.check_fast_failure(r, 2.0)

    @needs_imds_on_lo
    def test_black_holed_imds(self):
        socks = black_hole(IMDS_ADDR, 80)
        try:
            r = self.azmi("token", "--resource", STORAGE, env=self.base_env(imds=False))
        finally:
            close_all(socks)
        self.check_fast_failure(r, 2.5)

    @needs_imds_on_lo
    def test_explicit_managed_identity_has_no_probe_shortcut(self):
        socks = black_hole(IMDS_ADDR, 80)
        try:
            r = self.azmi("token", "--resource", STORAGE, "--credential", "managed_identity",
                          "--timeout", "4", env=self.base_env(imds=False))
        finally:
            close_all(socks)
        self.assertNotEqual(r.rc, 0, r)
        self.assertGreaterEqual(r.elapsed, 3.0, "gave up early: %r" % r)
        self.assertLess(r.elapsed, 6.0, r)

    def test_probe_answered_then_full_retries(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 500}, {"status": 503}])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "20")
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual([q["status"] for q in reqs], [500, 503, 200])
        self.assertTokenLine(r, self.minted(reqs[2]))

    @needs_imds_on_lo
    def test_doctor_lists_the_links(self):
        r = self.azmi("doctor", env=self.base_env(imds=False), timeout=30)
        text = (r.stdout + r.stderr).lower()
        for link in LINKS:
            self.assertIn(link, text, r)

    @needs_imds_on_lo
    def test_message_is_short(self):
        r = self.azmi("token", "--resource", STORAGE, env=self.base_env(imds=False))
        self.assertEqual(r.rc, 3, r)
        # One message: a line per link (checked above), a few lines at most.
        self.assertLessEqual(len(r.stderr.splitlines()), 2 * len(LINKS) + 2, r)
        self.assertLess(len(r.stderr), 2048, r)


if __name__ == "__main__":
    unittest.main()


class Reports(SourceTestCase):
    """Issue 3: `azmi whoami` and `azmi doctor` report which link was chosen
    and why the earlier ones were skipped."""

    def check_report(self, text):
        low = text.lower()
        self.assertTrue("cloudshell" in low or "cloud shell" in low, text)
        for link in ("environment", "workload_identity"):
            lines = [ln for ln in low.splitlines() if link in ln]
            self.assertTrue(lines, "%s is not mentioned: %s" % (link, text))
            self.assertTrue(any("not configured" in ln or "skipped" in ln for ln in lines),
                            "no reason given for skipping %s: %s" % (link, text))

    def test_doctor(self):
        r = self.azmi("doctor", env=self.cloudshell_env())
        self.assertOk(r)
        self.check_report(r.stdout + r.stderr)

    def test_whoami(self):
        r = self.azmi("whoami", env=self.cloudshell_env())
        self.assertOk(r)
        self.check_report(r.stdout + r.stderr)

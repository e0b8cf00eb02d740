"""Integration tests: each credential source of issue 3 on its own, with the
exact request azmi sends and the expiry format the source really answers
with.  Service principal (secret, certificate), workload identity, Azure ML,
the legacy App Service 2017 form, Cloud Shell, Service Fabric, Azure CLI."""

import base64
import datetime
import hashlib
import os
import time
import unittest
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from harness import (APPSERVICE_PATH, ARM, IMDS_TOKEN_PATH, STORAGE, VAULT, Standin, in_private_netns,
                     shared_pki, signing_key_path)
from srcutil import (AZUREML_PATH, CLOUDSHELL_PATH, JWT_BEARER, SF_PATH, SourceTestCase, form)
from standin_client import AUTHORITY_HOSTS, cert_der, jwt_parts


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


# --- service principal with a secret ------------------------------------------------------------

class ServicePrincipalSecret(SourceTestCase):

    def test_request_on_the_wire_is_exact(self):
        env = self.secret_env()
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["listener"], "entra")
        self.assertEqual(q["scheme"], "https")
        self.assertEqual(q["method"], "POST")
        self.assertEqual(q["path"], self.entra_path())
        self.assertEqual(q["raw_query"], "")
        self.assertEqual(q["headers"].get("content-type", "").split(";")[0].strip(),
                         "application/x-www-form-urlencoded")
        self.assertNotIn("authorization", q["headers"])
        self.assertNotIn("metadata", q["headers"])
        self.assertEqual(form(q["body"]), {
            "grant_type": ["client_credentials"],
            "client_id": [env["AZURE_CLIENT_ID"]],
            "scope": [STORAGE + "/.default"],
            "client_secret": [env["AZURE_CLIENT_SECRET"]],
        })
        token = self.minted(q)
        self.assertTokenLine(r, token)
        claims = self.check_sp_token(token, STORAGE)
        self.assertEqual(claims["appidacr"], "1")

    def test_json_source_and_expiry(self):
        before = int(time.time())
        r = self.azmi("token", "--scope", VAULT + "/.default", "--json", env=self.secret_env())
        out = self.assertJsonSource(r, "environment")
        q = self.entra_requests()[0]
        self.assertEqual(form(q["body"])["scope"], [VAULT + "/.default"])
        ans = self.answer(q)
        self.assertIs(type(ans["expires_in"]), int)
        self.assertEqual(out["access_token"], ans["access_token"])
        self.assertGreaterEqual(out["expires_on"], before + ans["expires_in"] - 5)
        self.assertLessEqual(out["expires_on"], int(time.time()) + ans["expires_in"] + 5)
        self.assertEqual(out["token_type"], "Bearer")

    def test_authority_host_with_trailing_slash(self):
        env = self.secret_env()
        env["AZURE_AUTHORITY_HOST"] = self.url("entra") + "/"
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        self.assertEqual([q["path"] for q in self.all_requests()], [self.entra_path()])

    def test_wrong_secret_is_refused(self):
        env = self.secret_env(secret="not-the-secret~xyz")
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "AADSTS7000215")
        self.assertNotIn("not-the-secret", r.stderr, "the secret leaked into the message")
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(self.entra_requests()), 1, "a 401 must not be retried")
        self.assertEqual(self.mi_requests(), [], "fell through to managed identity")

    def test_unknown_tenant(self):
        env = self.secret_env()
        env["AZURE_TENANT_ID"] = str(uuid.uuid4())
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "AADSTS90002")
        reqs = self.entra_requests()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["path"], "/%s/oauth2/v2.0/token" % env["AZURE_TENANT_ID"])

    def test_http_authority_is_refused(self):
        env = self.secret_env()
        env["AZURE_AUTHORITY_HOST"] = self.standin.url  # plain http
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertAzmiError(r, 2, "AZURE_AUTHORITY_HOST", "https")
        self.assertEqual(self.all_requests(), [], "a secret was sent over http")

    def test_scope_that_is_not_default_is_not_mangled(self):
        # Client credentials take only X/.default scopes: azmi may refuse
        # another scope or pass it on, but never turn it into another one.
        scope = "https://graph.microsoft.com/User.Read"
        r = self.azmi("token", "--scope", scope, "--timeout", "5", env=self.secret_env())
        self.assertNotEqual(r.rc, 0, r)
        for q in self.entra_requests():
            self.assertEqual(form(q["body"])["scope"], [scope], "the scope was rewritten")

    def test_untrusted_tls_is_refused(self):
        env = self.secret_env()
        env.pop("AZMI_CA_FILE")
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=env)
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [], "the secret went to an unverified server")


@unittest.skipUnless(in_private_netns(), "needs run.sh's private namespace (port 443, private /etc/hosts)")
class AuthorityHosts(SourceTestCase):
    """The clouds' authority hosts, reached through a private /etc/hosts that
    maps them to a stand-in on 127.0.0.1:443 (certificate from the test CA)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pki = shared_pki()
        try:
            cls.entra443 = Standin(port=443, tls=(pki["cert"], pki["key"]), signing_key=signing_key_path()).start()
        except Exception as e:  # port taken, or cannot bind
            raise unittest.SkipTest("cannot start a stand-in on 127.0.0.1:443: %s" % e)

    @classmethod
    def tearDownClass(cls):
        cls.entra443.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.entra443.reset()
        self.hosts = os.path.join(self.tmp, "hosts")
        with open(self.hosts, "w") as f:
            f.write("127.0.0.1 localhost %s\n" % " ".join(AUTHORITY_HOSTS))
        os.chmod(self.tmp, 0o755)
        os.chmod(self.hosts, 0o644)

    def run_cloud(self, cloud, env_extra=None):
        if cloud:
            with open(self.config_file, "w") as f:
                f.write("cloud = %s\n" % cloud)
        env = self.secret_env()
        del env["AZURE_AUTHORITY_HOST"]
        env.update(env_extra or {})
        return self.azmi_mountns("token", "--resource", STORAGE, "--timeout", "10", env=env,
                                 setup=["mount --bind '%s' /etc/hosts" % self.hosts])

    def expect_host(self, cloud, host):
        r = self.run_cloud(cloud)
        self.assertOk(r)
        reqs = self.entra443.requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["headers"].get("host"), host)
        self.assertEqual(reqs[0]["path"], self.entra_path())
        self.assertTokenLine(r, self.minted(reqs[0]))
        self.assertEqual(self.all_requests(), [])

    def test_public_cloud_by_default(self):
        self.expect_host(None, "login.microsoftonline.com")

    def test_us_government(self):
        self.expect_host("AzureUSGovernment", "login.microsoftonline.us")

    def test_china(self):
        self.expect_host("AzureChinaCloud", "login.chinacloudapi.cn")


# --- service principal with a certificate -------------------------------------------------------

class ServicePrincipalCertificate(SourceTestCase):

    def token_url(self):
        return self.url("entra") + self.entra_path()

    def verify_assertion(self, assertion, cc, send_chain=False):
        """The JWT client assertion checked here independently of the stand-in:
        header, claims and the PS256 signature with the certificate's key."""
        header, claims, signing_input, sig = jwt_parts(assertion)
        der = cert_der(cc.leaf)
        self.assertEqual(header.get("alg"), "PS256", header)
        self.assertEqual(header.get("x5t#S256"), b64url(hashlib.sha256(der).digest()), header)
        if send_chain:
            self.assertIn("x5c", header)
            self.assertEqual(header["x5c"][0], base64.b64encode(der).decode(), "x5c must start with the leaf")
            self.assertEqual(header["x5c"], [base64.b64encode(der).decode(),
                                             base64.b64encode(cert_der(cc.ca)).decode()])
        else:
            self.assertNotIn("x5c", header)
        cc.leaf.public_key().verify(sig, signing_input,
                                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
                                    hashes.SHA256())
        cid = self.sp()["client_id"]
        now = time.time()
        self.assertEqual(claims.get("aud"), self.token_url())
        self.assertEqual(claims.get("iss"), cid)
        self.assertEqual(claims.get("sub"), cid)
        uuid.UUID(claims["jti"])  # a random UUID
        for k in ("nbf", "exp"):
            self.assertIs(type(claims.get(k)), int, claims)
        self.assertLessEqual(claims["nbf"], now + 2)
        self.assertGreaterEqual(claims["nbf"], now - 60)
        self.assertGreater(claims["exp"], now)
        self.assertLessEqual(claims["exp"] - claims["nbf"], 600)
        return header, claims

    def run_cert(self, *extra_args, **kw):
        env, cc, path = self.cert_env(**kw)
        r = self.azmi("token", "--resource", STORAGE, "--no-cache", *extra_args, env=env)
        return r, env, cc

    def test_request_and_assertion(self):
        r, env, cc = self.run_cert()
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["method"], "POST")
        self.assertEqual(q["path"], self.entra_path())
        self.assertEqual(q["raw_query"], "")
        self.assertEqual(q["headers"].get("content-type", "").split(";")[0].strip(),
                         "application/x-www-form-urlencoded")
        self.assertNotIn("authorization", q["headers"])
        f = form(q["body"])
        self.assertEqual(sorted(f), ["client_assertion", "client_assertion_type", "client_id", "grant_type", "scope"])
        self.assertEqual(f["grant_type"], ["client_credentials"])
        self.assertEqual(f["client_id"], [env["AZURE_CLIENT_ID"]])
        self.assertEqual(f["scope"], [STORAGE + "/.default"])
        self.assertEqual(f["client_assertion_type"], [JWT_BEARER])
        self.verify_assertion(f["client_assertion"][0], cc)
        self.assertTrue(q["assertion"]["ok"], q["assertion"])  # the stand-in agrees
        token = self.minted(q)
        self.assertTokenLine(r, token)
        self.assertEqual(self.check_sp_token(token, STORAGE)["appidacr"], "2")
        # A second run: a fresh jti.
        r2 = self.azmi("token", "--resource", STORAGE, "--no-cache", env=env)
        self.assertOk(r2)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 2)
        j1 = jwt_parts(form(reqs[0]["body"])["client_assertion"][0])[1]["jti"]
        j2 = jwt_parts(form(reqs[1]["body"])["client_assertion"][0])[1]["jti"]
        self.assertNotEqual(j1, j2, "jti reused")

    def test_json_source(self):
        r, _, _ = self.run_cert("--json")
        self.assertJsonSource(r, "environment")

    def test_send_certificate_chain(self):
        r, _, cc = self.run_cert(chain=True, send_chain="true")
        self.assertOk(r)
        q = self.entra_requests()[0]
        self.verify_assertion(form(q["body"])["client_assertion"][0], cc, send_chain=True)
        self.assertTrue(q["assertion"]["ok"], q["assertion"])

    def test_chain_in_file_not_sent_by_default(self):
        r, _, cc = self.run_cert(chain=True)
        self.assertOk(r)
        self.verify_assertion(form(self.entra_requests()[0]["body"])["client_assertion"][0], cc)

    def test_key_before_certificate(self):
        # Key Vault's PEM downloads put the private key first.
        r, _, cc = self.run_cert(key_first=True)
        self.assertOk(r)
        self.verify_assertion(form(self.entra_requests()[0]["body"])["client_assertion"][0], cc)

    def test_encrypted_key_with_password(self):
        r, _, cc = self.run_cert(password="correct horse battery")
        self.assertOk(r)
        q = self.entra_requests()[0]
        self.verify_assertion(form(q["body"])["client_assertion"][0], cc)
        self.assertTokenLine(r, self.minted(q))

    def test_encrypted_key_with_wrong_password(self):
        env, _, _ = self.cert_env(password="correct horse battery")
        env["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = "wrong"
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=env)
        self.assertAzmiError(r, (2, 3, 4, 5), ("password", "decrypt"))
        self.assertNotIn("correct horse", r.stderr)
        self.assertEqual(self.entra_requests(), [])

    def p12_env(self, password=None, with_chain=False, legacy=False, name="sp-cert.pfx"):
        env, cc, pem = self.cert_env()
        os.unlink(pem)
        path = cc.write_p12(os.path.join(self.tmp, name), password=password, with_chain=with_chain,
                            legacy=legacy)
        env["AZURE_CLIENT_CERTIFICATE_PATH"] = path
        if password is not None:
            env["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = password
        return env, cc

    def test_pkcs12(self):
        # Issue 16: .pfx/.p12 as the SDKs accept them, with and without a password.
        for password, legacy, name in ((None, False, "sp.p12"), ("correct horse", False, "sp.pfx"),
                                       ("correct horse", True, "sp-3des.pfx")):
            with self.subTest(password=password, legacy=legacy):
                self.standin.reset()
                env, cc = self.p12_env(password=password, legacy=legacy, name=name)
                r = self.azmi("token", "--resource", STORAGE, "--no-cache", env=env)
                self.assertOk(r)
                q = self.entra_requests()[0]
                self.verify_assertion(form(q["body"])["client_assertion"][0], cc)
                self.assertTokenLine(r, self.minted(q))

    def test_pkcs12_chain_sent_when_asked(self):
        env, cc = self.p12_env(password="pw", with_chain=True)
        env["AZURE_CLIENT_SEND_CERTIFICATE_CHAIN"] = "true"
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        self.verify_assertion(form(self.entra_requests()[0]["body"])["client_assertion"][0], cc, send_chain=True)

    def test_pkcs12_wrong_or_missing_password(self):
        for given, words in (("wrong", "is not this PKCS#12 file's password"),
                             (None, "needs a password")):
            with self.subTest(given=given):
                env, _ = self.p12_env(password="correct horse")
                if given is None:
                    del env["AZURE_CLIENT_CERTIFICATE_PASSWORD"]
                else:
                    env["AZURE_CLIENT_CERTIFICATE_PASSWORD"] = given
                r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=env)
                self.assertAzmiError(r, 2, words)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r)
                self.assertNotIn("correct horse", r.stderr)
                self.assertEqual(self.all_requests(), [], "asked something after a bad certificate file")

    def test_neither_pem_nor_pkcs12(self):
        env, _, path = self.cert_env()
        with open(path, "wb") as f:
            f.write(b"\x30\x03\x02\x01\x05 not a certificate")
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=env)
        self.assertAzmiError(r, 2, "neither PEM nor PKCS#12")
        self.assertEqual(self.all_requests(), [])

    def test_unregistered_certificate_is_refused(self):
        env, _, _ = self.cert_env(register=False)
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "AADSTS700027")
        self.assertEqual(len(self.entra_requests()), 1)
        self.assertEqual(self.mi_requests(), [])

    def test_missing_certificate_file(self):
        env, _, path = self.cert_env()
        os.unlink(path)
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "5", env=env)
        self.assertAzmiError(r, (2, 3, 4, 5), path)
        self.assertEqual(self.entra_requests(), [])

    def test_secret_wins_over_certificate(self):
        env, _, _ = self.cert_env()
        env["AZURE_CLIENT_SECRET"] = self.sp()["secrets"][0]
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        f = form(self.entra_requests()[0]["body"])
        self.assertIn("client_secret", f)
        self.assertNotIn("client_assertion", f)


# --- workload identity ----------------------------------------------------------------------------

class WorkloadIdentity(SourceTestCase):

    def test_request_on_the_wire_is_exact(self):
        fed = self.standin.federated_token()
        env = self.wi_env(self.federated_file(fed, suffix="\n"))
        r = self.azmi("token", "--resource", ARM, "--json", env=env)
        out = self.assertJsonSource(r, "workload_identity")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["method"], "POST")
        self.assertEqual(q["listener"], "entra")
        self.assertEqual(q["path"], self.entra_path())
        self.assertEqual(q["raw_query"], "")
        self.assertEqual(q["headers"].get("content-type", "").split(";")[0].strip(),
                         "application/x-www-form-urlencoded")
        self.assertNotIn("authorization", q["headers"])
        self.assertEqual(form(q["body"]), {
            "grant_type": ["client_credentials"],
            "client_id": [env["AZURE_CLIENT_ID"]],
            "scope": [ARM + "/.default"],
            "client_assertion_type": [JWT_BEARER],
            "client_assertion": [fed],  # trimmed: no newline
        })
        self.assertEqual(q["assertion"]["kind"], "federated")
        self.assertTrue(q["assertion"]["ok"], q["assertion"])
        self.assertEqual(out["access_token"], self.minted(q))
        self.check_sp_token(out["access_token"], ARM)

    def test_token_file_is_read_again(self):
        path = self.federated_file()
        env = self.wi_env(path)
        r1 = self.azmi("token", "--resource", STORAGE, "--no-cache", env=env)
        self.assertOk(r1)
        fed2 = self.standin.federated_token(lifetime=7200)
        with open(path, "w") as f:
            f.write(fed2)
        r2 = self.azmi("token", "--resource", STORAGE, "--no-cache", env=env)
        self.assertOk(r2)
        reqs = self.entra_requests()
        self.assertEqual(len(reqs), 2)
        a1 = form(reqs[0]["body"])["client_assertion"][0]
        a2 = form(reqs[1]["body"])["client_assertion"][0]
        self.assertNotEqual(a1, a2)
        self.assertEqual(a2, fed2)

    def test_empty_file_is_unavailable(self):
        env = self.wi_env(self.federated_file("", suffix=""))
        r = self.azmi("token", "--resource", STORAGE, "--credential", "workload_identity", env=env)
        self.assertAzmiError(r, 3, "empty")
        self.assertEqual(self.all_requests(), [])

    def test_whitespace_only_file_is_unavailable(self):
        env = self.wi_env(self.federated_file(" \n\t", suffix="\n"))
        r = self.azmi("token", "--resource", STORAGE, "--credential", "workload_identity", env=env)
        self.assertAzmiError(r, 3, "empty")
        self.assertEqual(self.all_requests(), [])

    def test_expired_assertion_is_refused(self):
        old = self.standin.federated_token(lifetime=60, nbf_offset=-3600)
        env = self.wi_env(self.federated_file(old))
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "AADSTS700024")
        self.assertEqual(len(self.entra_requests()), 1)
        self.assertEqual(self.mi_requests(), [])

    def test_wrong_subject_is_refused(self):
        other = self.standin.federated_token(subject="system:serviceaccount:kube-system:other")
        env = self.wi_env(self.federated_file(other))
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "AADSTS700213")


# --- Azure ML and the legacy App Service 2017 form ---------------------------------------------------

class AzureML(SourceTestCase):

    def test_request_on_the_wire_is_exact(self):
        env = self.azureml_env()
        r = self.azmi("token", "--resource", STORAGE, "--json", env=env)
        out = self.assertJsonSource(r, "azureml")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["method"], "GET")
        self.assertEqual(q["path"], AZUREML_PATH)
        self.assertEqual(q["query"], {"api-version": ["2017-09-01"], "resource": [STORAGE]})
        self.assertEqual(q["headers"].get("secret"), env["MSI_SECRET"])
        self.assertNotIn("metadata", q["headers"])
        self.assertNotIn("x-identity-header", q["headers"])
        self.assertEqual(q["body"], "")
        ans = self.answer(q)
        self.assertIs(type(ans["expires_on"]), int)
        self.assertEqual(out["expires_on"], ans["expires_on"])
        self.assertEqual(out["access_token"], ans["access_token"])
        system, _ = self.identities()
        self.check_token(out["access_token"], system, STORAGE)

    def test_default_identity_client_id(self):
        _, users = self.identities()
        env = self.azureml_env()
        env["DEFAULT_IDENTITY_CLIENT_ID"] = users[0]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        q = self.all_requests()[0]
        self.assertEqual(q["query"], {"api-version": ["2017-09-01"], "resource": [STORAGE],
                                      "clientid": [users[0]["client_id"]]})
        self.check_token(r.stdout.strip(), users[0], STORAGE)

    def test_client_id_option(self):
        _, users = self.identities()
        env = self.azureml_env()
        env["DEFAULT_IDENTITY_CLIENT_ID"] = users[0]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, "--client-id", users[1]["client_id"], env=env)
        self.assertOk(r)
        q = self.all_requests()[0]
        self.assertEqual(q["query"], {"api-version": ["2017-09-01"], "resource": [STORAGE],
                                      "clientid": [users[1]["client_id"]]})
        self.check_token(r.stdout.strip(), users[1], STORAGE)

    def test_object_id_is_not_supported(self):
        _, users = self.identities()
        r = self.azmi("token", "--resource", STORAGE, "--object-id", users[0]["object_id"],
                      env=self.azureml_env())
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [], "object_id cannot be sent to Azure ML")

    def test_app_service_2017_date_expiry(self):
        env = self.azureml_env(path=APPSERVICE_PATH)
        r = self.azmi("token", "--resource", VAULT, "--json", env=env)
        out = self.assertJsonSource(r, "azureml")
        q = self.all_requests()[0]
        self.assertEqual(q["path"], APPSERVICE_PATH)
        self.assertEqual(q["query"], {"api-version": ["2017-09-01"], "resource": [VAULT]})
        self.assertEqual(q["headers"].get("secret"), env["MSI_SECRET"])
        ans = self.answer(q)
        dt = datetime.datetime.strptime(ans["expires_on"], "%m/%d/%Y %H:%M:%S +00:00")
        expected = int(dt.replace(tzinfo=datetime.timezone.utc).timestamp())
        self.assertEqual(out["expires_on"], expected)
        self.assertEqual(out["access_token"], ans["access_token"])

    def test_wrong_secret(self):
        env = self.azureml_env()
        env["MSI_SECRET"] = "not-the-secret"
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
        self.assertAzmiError(r, 4, "401")
        self.assertNotIn("not-the-secret", r.stderr)
        self.assertNotIn("IDENTITY_HEADER", r.stderr, "the hint names another source's variable")
        self.assertEqual(len(self.all_requests()), 1)


# --- Cloud Shell ----------------------------------------------------------------------------------------

class CloudShell(SourceTestCase):

    def test_request_on_the_wire_is_exact(self):
        before = int(time.time())
        r = self.azmi("token", "--resource", ARM, "--json", env=self.cloudshell_env())
        out = self.assertJsonSource(r, "cloudshell")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["method"], "POST")
        self.assertEqual(q["path"], CLOUDSHELL_PATH)
        self.assertEqual(q["raw_query"], "")
        self.assertEqual(q["headers"].get("metadata"), "true")
        self.assertEqual(q["headers"].get("content-type", "").split(";")[0].strip(),
                         "application/x-www-form-urlencoded")
        self.assertNotIn("authorization", q["headers"])
        self.assertEqual(form(q["body"]), {"resource": [ARM]})
        ans = self.answer(q)
        for k in ("access_token", "expires_in", "expires_on", "not_before", "resource", "token_type"):
            self.assertIsInstance(ans[k], str, k)
        self.assertEqual(out["access_token"], ans["access_token"])
        self.assertLessEqual(abs(out["expires_on"] - (before + int(ans["expires_in"]))), 5)
        system, _ = self.identities()
        self.check_token(out["access_token"], system, ARM)

    def test_user_assigned_is_refused(self):
        _, users = self.identities()
        r = self.azmi("token", "--resource", ARM, "--client-id", users[0]["client_id"],
                      env=self.cloudshell_env())
        self.assertNotEqual(r.rc, 0, r)
        self.assertTrue(r.stderr.startswith("azmi: "), r)
        self.assertIn("cloud shell", r.stderr.lower())
        self.assertEqual(self.all_requests(), [])


# --- Service Fabric ---------------------------------------------------------------------------------------

class ServiceFabric(SourceTestCase):

    def test_request_on_the_wire_is_exact(self):
        env = self.sf_env()
        r = self.azmi("token", "--resource", VAULT, "--json", env=env)
        out = self.assertJsonSource(r, "servicefabric")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["listener"], "sf")
        self.assertEqual(q["scheme"], "https")
        self.assertEqual(q["method"], "GET")
        self.assertEqual(q["path"], SF_PATH)
        self.assertEqual(q["query"], {"api-version": ["2019-07-01-preview"], "resource": [VAULT]})
        self.assertEqual(q["headers"].get("secret"), env["IDENTITY_HEADER"])
        self.assertNotIn("x-identity-header", q["headers"])
        self.assertNotIn("metadata", q["headers"])
        self.assertEqual(q["body"], "")
        ans = self.answer(q)
        self.assertIs(type(ans["expires_on"]), int)
        self.assertEqual(out["expires_on"], ans["expires_on"])
        self.assertEqual(out["access_token"], ans["access_token"])
        system, _ = self.identities()
        self.check_token(out["access_token"], system, VAULT)

    def test_thumbprint_is_case_insensitive(self):
        r = self.azmi("token", "--resource", VAULT, env=self.sf_env(shared_pki()["sf_thumbprint"].lower()))
        self.assertOk(r)
        self.assertTokenLine(r, self.minted(self.all_requests()[0]))

    def test_wrong_thumbprint_is_refused(self):
        wrong = hashlib.sha1(b"some other certificate").hexdigest().upper()
        r = self.azmi("token", "--resource", VAULT, "--timeout", "10", env=self.sf_env(wrong))
        self.assertAzmiError(r, (4, 5), "thumbprint")
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [], "the Secret header went to an unverified server")

    def test_ca_trust_does_not_replace_the_pin(self):
        # The Entra listener's certificate is trusted through AZMI_CA_FILE,
        # but it is not the pinned one: still refused.
        env = self.sf_env()
        env["IDENTITY_ENDPOINT"] = self.url("entra") + SF_PATH
        env["AZMI_CA_FILE"] = shared_pki()["ca"]
        r = self.azmi("token", "--resource", VAULT, "--timeout", "10", env=env)
        self.assertAzmiError(r, (4, 5), "thumbprint")
        self.assertEqual(self.all_requests(), [])

    def test_404_is_not_retried(self):
        self.standin.script(SF_PATH, [{"status": 404}], listener="sf")
        r = self.azmi("token", "--resource", VAULT, "--timeout", "10", env=self.sf_env())
        self.assertAzmiError(r, (4, 5), "404")
        self.assertEqual(len(self.all_requests()), 1)

    def test_500_is_retried(self):
        self.standin.script(SF_PATH, [{"status": 500}], listener="sf")
        r = self.azmi("token", "--resource", VAULT, "--timeout", "20", env=self.sf_env())
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual([q["status"] for q in reqs], [500, 200])
        self.assertTokenLine(r, self.minted(reqs[1]))

    def test_redirect_is_not_followed(self):
        target = self.standin.url + IMDS_TOKEN_PATH + "?api-version=2018-02-01&resource=" + VAULT
        self.standin.script(SF_PATH, [{"status": 302, "headers": {"Location": target}, "body": ""}],
                            listener="sf")
        r = self.azmi("token", "--resource", VAULT, "--timeout", "10", env=self.sf_env())
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(r.stdout, "")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, "the redirect was followed: %r" % reqs)

    def test_plain_http_endpoint_is_refused(self):
        env = self.sf_env()
        env["IDENTITY_ENDPOINT"] = self.standin.url + SF_PATH  # http, not https
        r = self.azmi("token", "--resource", VAULT, "--timeout", "10", env=env)
        self.assertNotEqual(r.rc, 0, r)
        self.assertTrue(r.stderr.startswith("azmi: "), r)
        self.assertIn("https", r.stderr.lower())
        self.assertEqual(self.all_requests(), [], "the Secret header went over plain http")

    def test_user_assigned_is_not_sent(self):
        _, users = self.identities()
        r = self.azmi("token", "--resource", VAULT, "--client-id", users[0]["client_id"], env=self.sf_env())
        self.assertNotEqual(r.rc, 0, r)
        self.assertEqual(self.all_requests(), [])


# --- Azure CLI -------------------------------------------------------------------------------------------

class AzureCli(SourceTestCase):

    def cli_env(self, mode="ok", **cfg):
        bindir, token, exp = self.fake_az(mode, resource=STORAGE, **cfg)
        return self.with_az(self.base_env(imds=False), bindir), token, exp

    def test_token_from_az(self):
        # expiresOn is naive local time and deliberately off here: azmi must
        # read expires_on.
        env, token, exp = self.cli_env(expiresOn="2030-01-01 10:00:00.000000")
        r = self.azmi("token", "--resource", STORAGE, "--credential", "azure_cli", "--json", env=env)
        out = self.assertJsonSource(r, "azure_cli")
        self.assertEqual(out["access_token"], token)
        self.assertEqual(out["expires_on"], exp)
        log = [e for e in self.az_log() if e["event"] == "start"]
        self.assertEqual(len(log), 1, log)
        self.assertEqual(log[0]["argv"], ["account", "get-access-token", "--output", "json",
                                          "--resource", STORAGE])
        self.assertEqual(self.all_requests(), [])

    def test_az_before_2_54_local_expires_on(self):
        # Issue 16: Debian 12's az 2.45 prints only expiresOn, a naive local
        # time; read it in TZ (with DST) as the SDKs do.  az and azmi share TZ.
        for tz in ("EST5EDT,M3.2.0,M11.1.0", "IST-5:30"):
            with self.subTest(TZ=tz):
                env, token, exp = self.cli_env(version="2.45.0")
                env["TZ"] = tz
                r = self.azmi("token", "--resource", STORAGE, "--credential", "azure_cli", "--json",
                              "--no-cache", env=env)
                out = self.assertJsonSource(r, "azure_cli")
                self.assertEqual(out["access_token"], token)
                self.assertEqual(out["expires_on"], exp)

    def test_plain_output(self):
        env, token, _ = self.cli_env()
        r = self.azmi("token", "--resource", STORAGE, "--credential", "AzureCliCredential", env=env)
        self.assertOk(r)
        self.assertTokenLine(r, token)

    def test_not_logged_in(self):
        env, _, _ = self.cli_env("not_logged_in")
        r = self.azmi("token", "--resource", STORAGE, "--credential", "azure_cli", env=env)
        self.assertAzmiError(r, (3, 4), "az login")
        self.assertEqual(r.stdout, "")

    def test_garbage_output(self):
        env, _, _ = self.cli_env("garbage")
        r = self.azmi("token", "--resource", STORAGE, "--credential", "azure_cli", env=env)
        self.assertAzmiError(r, 5, ("json", "output", "parse"))
        self.assertEqual(r.stdout, "")

    def test_slow_az_is_abandoned_after_10_s(self):
        env, _, _ = self.cli_env("slow", sleep=20)
        r = self.azmi("token", "--resource", STORAGE, "--credential", "azure_cli", env=env, timeout=30)
        self.assertAzmiError(r, (3, 5), ("time", "10"))
        self.assertGreaterEqual(r.elapsed, 9.5, r)
        self.assertLessEqual(r.elapsed, 12.5, r)
        self.assertEqual(r.stdout, "")
        # The az process must not be left running.
        pids = [e["pid"] for e in self.az_log() if e["event"] == "start"]
        self.assertEqual(len(pids), 1)
        deadline = time.monotonic() + 2
        while os.path.exists("/proc/%d" % pids[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        alive = os.path.exists("/proc/%d" % pids[0])
        if alive:
            with open("/proc/%d/stat" % pids[0]) as f:
                alive = f.read().split(")")[-1].split()[0] != "Z"
        self.assertFalse(alive, "azmi left az (pid %d) running" % pids[0])

    def test_not_installed(self):
        env = self.base_env(imds=False)
        empty = os.path.join(self.tmp, "empty-bin")
        os.mkdir(empty)
        env["PATH"] = empty  # no az anywhere on PATH
        r = self.azmi("token", "--resource", STORAGE, "--credential", "azure_cli", env=env)
        self.assertAzmiError(r, 3, "not installed")


if __name__ == "__main__":
    unittest.main()

"""Self-tests of the stand-in's issue-3 endpoints (no azmi involved): Entra
client credentials (secret, certificate assertion, federated assertion),
Azure Arc's challenge, Service Fabric over pinned TLS, Cloud Shell, Azure ML,
and the listeners and control calls the azmi tests rely on."""

import base64
import hashlib
import json
import os
import shutil
import ssl
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from harness import STORAGE, shared_pki, shared_standin
from srcutil import AZUREML_PATH, CLOUDSHELL_PATH, JWT_BEARER
from standin_client import ClientCert, cert_der, jwt_verify

PATH = "/metadata/identity/oauth2/token"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_assertion(cc, client_id, aud, alg="PS256", lifetime=600, nbf_offset=0, x5c=False, key=None,
                   thumb="x5t#S256"):
    der = cert_der(cc.leaf)
    header = {"alg": alg, "typ": "JWT"}
    if thumb == "x5t#S256":
        header["x5t#S256"] = b64url(hashlib.sha256(der).digest())
    else:
        header["x5t"] = b64url(hashlib.sha1(der).digest())
    if x5c:
        header["x5c"] = [base64.b64encode(der).decode(), base64.b64encode(cert_der(cc.ca)).decode()]
    now = int(time.time()) + nbf_offset
    claims = {"aud": aud, "iss": client_id, "sub": client_id, "jti": str(uuid.uuid4()), "nbf": now,
              "exp": now + lifetime}
    si = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
    k = key or cc.key
    if alg == "PS256":
        sig = k.sign(si, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    else:
        sig = k.sign(si, padding.PKCS1v15(), hashes.SHA256())
    return si.decode() + "." + b64url(sig)


class StandinSources(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.s = shared_standin()
        cls.pki = shared_pki()
        cls.ca_ctx = ssl.create_default_context(cafile=cls.pki["ca"])
        cls.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                 urllib.request.HTTPSHandler(context=cls.ca_ctx))

    def setUp(self):
        self.s.reset()
        self.st = self.s.state()
        self.sp = self.st["config"]["service_principals"][0]
        self.tid = self.st["tenant_id"]

    def call(self, url, data=None, headers=None, method=None, opener=None):
        req = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
        try:
            with (opener or self.opener).open(req, timeout=10) as r:
                return r.status, dict(r.headers), json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            body = e.read()
            return e.code, dict(e.headers), json.loads(body) if body else None

    def entra(self, fields, tenant=None):
        url = self.s.urls["entra"] + "/%s/oauth2/v2.0/token" % (tenant or self.tid)
        return self.call(url, urllib.parse.urlencode(fields).encode(),
                         {"Content-Type": "application/x-www-form-urlencoded"})

    def base(self, **kw):
        d = {"grant_type": "client_credentials", "client_id": self.sp["client_id"],
             "scope": STORAGE + "/.default"}
        d.update(kw)
        return d

    # --- Entra ------------------------------------------------------------------------------

    def test_secret(self):
        status, _, d = self.entra(self.base(client_secret=self.sp["secrets"][0]))
        self.assertEqual(status, 200, d)
        self.assertEqual(sorted(d), ["access_token", "expires_in", "ext_expires_in", "token_type"])
        self.assertIs(type(d["expires_in"]), int)
        claims = jwt_verify(d["access_token"], self.st["public_key_pem"])
        self.assertEqual(claims["appid"], self.sp["client_id"])
        self.assertEqual(claims["idtyp"], "app")
        self.assertEqual(claims["aud"], STORAGE)
        self.assertNotIn("xms_mirid", claims)
        self.assertEqual(self.s.requests(listener="entra")[0]["scheme"], "https")

    def test_errors(self):
        cases = [
            (self.base(client_secret="nope"), None, 401, "invalid_client", 7000215),
            (self.base(client_secret=self.sp["secrets"][0]), str(uuid.uuid4()), 400, "invalid_request", 90002),
            (self.base(client_secret=self.sp["secrets"][0], scope=STORAGE), None, 400, "invalid_scope", 1002012),
            (self.base(client_secret="x", client_id=str(uuid.uuid4())), None, 400, "unauthorized_client", 700016),
            (self.base(client_assertion_type=JWT_BEARER, client_assertion="a.b.c"), None, 400,
             "invalid_request", 50027),
        ]
        for fields, tenant, status, error, code in cases:
            with self.subTest(code=code):
                st, _, d = self.entra(fields, tenant)
                self.assertEqual(st, status, d)
                self.assertEqual(d["error"], error)
                self.assertEqual(d["error_codes"], [code])
                self.assertTrue(d["error_description"].startswith("AADSTS%d: " % code), d)
                for k in ("timestamp", "trace_id", "correlation_id"):
                    self.assertIn(k, d)

    def register(self, cc):
        sps = self.st["config"]["service_principals"]
        sps[0]["certificates"] = [cc.pem()]
        self.s.config(service_principals=sps)

    def test_certificate_assertions(self):
        cc = ClientCert()
        self.register(cc)
        aud = self.s.urls["entra"] + "/%s/oauth2/v2.0/token" % self.tid
        cid = self.sp["client_id"]
        good = [
            make_assertion(cc, cid, aud),
            make_assertion(cc, cid, aud, alg="RS256", thumb="x5t"),
            make_assertion(cc, cid, aud, x5c=True),
        ]
        for a in good:
            st, _, d = self.entra(self.base(client_assertion_type=JWT_BEARER, client_assertion=a))
            self.assertEqual(st, 200, d)
        other = ClientCert()
        bad = [
            (make_assertion(cc, cid, aud + "x"), 700027),
            (make_assertion(cc, cid, aud, lifetime=3600), 700027),
            (make_assertion(cc, cid, aud, nbf_offset=-3600), 700024),
            (make_assertion(cc, cid, aud, key=other.key), 700027),
            (make_assertion(other, cid, aud), 700027),
        ]
        for a, code in bad:
            with self.subTest(code=code):
                st, _, d = self.entra(self.base(client_assertion_type=JWT_BEARER, client_assertion=a))
                self.assertEqual(st, 401, d)
                self.assertEqual(d["error_codes"], [code])
        recs = self.s.requests(listener="entra")
        self.assertTrue(recs[0]["assertion"]["ok"])
        self.assertEqual(recs[0]["assertion"]["kind"], "certificate")

    def test_federated_assertion(self):
        fed = self.s.federated_token()
        st, _, d = self.entra(self.base(client_assertion_type=JWT_BEARER, client_assertion=fed))
        self.assertEqual(st, 200, d)
        for kw, code in (({"subject": "system:serviceaccount:x:y"}, 700213),
                         ({"issuer": "https://elsewhere.invalid/"}, 700211),
                         ({"audience": "api://other"}, 700212),
                         ({"lifetime": 10, "nbf_offset": -7200}, 700024)):
            with self.subTest(**kw):
                st, _, d = self.entra(self.base(client_assertion_type=JWT_BEARER,
                                                client_assertion=self.s.federated_token(**kw)))
                self.assertEqual(st, 400, d)
                self.assertEqual(d["error_codes"], [code])

    # --- managed identity sources --------------------------------------------------------------

    def test_cloud_shell(self):
        st, _, d = self.call(self.s.url + CLOUDSHELL_PATH, b"resource=" + urllib.parse.quote(STORAGE).encode(),
                             {"Metadata": "true", "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, d)
        for k in ("access_token", "expires_in", "expires_on", "not_before", "resource", "token_type"):
            self.assertIsInstance(d[k], str)
        st, _, d = self.call(self.s.url + CLOUDSHELL_PATH, b"resource=x&client_id=y",
                             {"Metadata": "true", "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)

    def test_azure_ml(self):
        q = "?api-version=2017-09-01&resource=" + urllib.parse.quote(STORAGE)
        hdr = {"secret": self.st["config"]["identity_header"]}
        st, _, d = self.call(self.s.url + AZUREML_PATH + q, headers=hdr)
        self.assertEqual(st, 200, d)
        self.assertIs(type(d["expires_on"]), int)
        user = self.st["user_identities"][0]
        st, _, d = self.call(self.s.url + AZUREML_PATH + q + "&clientid=" + user["client_id"], headers=hdr)
        self.assertEqual(st, 200, d)
        self.assertEqual(jwt_verify(d["access_token"], self.st["public_key_pem"])["appid"], user["client_id"])

    def test_arc_challenge(self):
        keydir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, keydir, True)
        self.s.config(arc={"key_dir": keydir, "realm_dir": "/var/opt/azcmagent/tokens"})
        url = self.s.urls["arc"] + PATH + "?api-version=2020-06-01&resource=" + urllib.parse.quote(STORAGE)
        st, h, d = self.call(url, headers={"Metadata": "true"})
        self.assertEqual(st, 401)
        realm = h["WWW-Authenticate"]
        self.assertTrue(realm.startswith("Basic realm=/var/opt/azcmagent/tokens/"), realm)
        name = realm.rsplit("/", 1)[1]
        self.assertTrue(name.endswith(".key"))
        with open(os.path.join(keydir, name)) as f:
            secret = f.read()
        self.assertEqual(os.stat(os.path.join(keydir, name)).st_mode & 0o777, 0o640)
        st, _, d = self.call(url + "&client_id=" + self.st["user_identities"][0]["client_id"],
                             headers={"Metadata": "true", "Authorization": "Basic " + secret})
        self.assertEqual(st, 200, d)
        self.assertEqual(d["client_id"], self.st["user_identities"][0]["client_id"])
        self.assertIsInstance(d["expires_on"], str)
        self.assertIsInstance(d["expires_in"], str)
        st, _, _ = self.call(url, headers={"Metadata": "true", "Authorization": "Basic wrong"})
        self.assertEqual(st, 401)
        self.s.config(arc={"echo": {"client_id": "someone-else"}})
        st, _, d = self.call(url, headers={"Metadata": "true", "Authorization": "Basic " + secret})
        self.assertEqual(d["client_id"], "someone-else")

    def test_service_fabric_pinned(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=ctx))
        url = self.s.urls["sf"] + PATH + "?api-version=2019-07-01-preview&resource=" + urllib.parse.quote(STORAGE)
        st, _, d = self.call(url, headers={"Secret": self.st["config"]["identity_header"]}, opener=opener)
        self.assertEqual(st, 200, d)
        self.assertIs(type(d["expires_on"]), int)
        self.assertEqual(sorted(d), ["access_token", "expires_on", "resource", "token_type"])
        import socket
        with socket.create_connection(("127.0.0.1", self.s.ports["sf"])) as raw:
            with ctx.wrap_socket(raw) as tls:
                der = tls.getpeercert(binary_form=True)
        self.assertEqual(hashlib.sha1(der).hexdigest().upper(), self.pki["sf_thumbprint"])
        self.s.script(PATH, [{"status": 404}], listener="sf")
        st, _, d = self.call(url, headers={"Secret": self.st["config"]["identity_header"]}, opener=opener)
        self.assertEqual(st, 404)
        self.assertIn("error", d)

    def test_scripts_are_per_listener(self):
        self.s.script(PATH, [{"status": 500}], listener="arc")
        st, _, _ = self.call(self.s.url + PATH + "?api-version=2018-02-01&resource=x",
                             headers={"Metadata": "true"})
        self.assertEqual(st, 200)  # the main listener is not affected
        self.assertEqual([q["listener"] for q in self.s.requests()], ["main"])

    def test_mint(self):
        d = self.s.mint(STORAGE, lifetime=600)
        claims = jwt_verify(d["access_token"], self.st["public_key_pem"])
        self.assertAlmostEqual(claims["exp"], time.time() + 600, delta=5)
        self.assertEqual(d["expires_on"], claims["exp"])


if __name__ == "__main__":
    unittest.main()

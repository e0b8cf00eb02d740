"""Self-tests of the stand-in itself (no azmi involved): its wire formats and
scripted faults must be what the other tests and later work rely on."""

import base64
import datetime
import ipaddress
import json
import os
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unittest
import urllib.request

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from harness import (APPSERVICE_PATH, IMDS_TOKEN_PATH, STORAGE, Standin, jwt_parts, jwt_verify,
                     shared_standin, signing_key_path)

Q = IMDS_TOKEN_PATH + "?api-version=2018-02-01&resource=" + STORAGE
MD = {"Metadata": "true"}


def raw_get(port, path, headers=None, host="127.0.0.1"):
    """A bare HTTP/1.1 GET; returns (status or None, bytes received, error)."""
    s = socket.create_connection((host, port), timeout=10)
    lines = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port), "Connection: close"]
    lines += ["%s: %s" % kv for kv in (headers or {}).items()]
    s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    data, err = b"", None
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError as e:
        err = e
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    return status, data, err


class StandinSelfTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.s = shared_standin()

    def setUp(self):
        self.s.reset()

    def get_json(self, path, headers=None):
        status, _, body = self.s.get(path, headers)
        return status, json.loads(body) if body else None

    def test_imds_token_shape(self):
        before = int(time.time())
        status, d = self.get_json(Q, MD)
        self.assertEqual(status, 200)
        self.assertEqual(sorted(d), sorted(["access_token", "client_id", "expires_in", "expires_on",
                                            "ext_expires_in", "not_before", "resource", "token_type"]))
        for k, v in d.items():
            self.assertIsInstance(v, str, k)
        self.assertEqual(d["resource"], STORAGE)
        self.assertEqual(d["token_type"], "Bearer")
        self.assertAlmostEqual(int(d["expires_on"]), before + 86400, delta=3)
        st = self.s.state()
        claims = jwt_verify(d["access_token"], st["public_key_pem"])
        header = jwt_parts(d["access_token"])[0]
        self.assertEqual(list(header), ["typ", "alg", "kid", "x5t"])
        self.assertEqual(header["kid"], st["kid"])
        for c in ("aud", "iss", "iat", "nbf", "exp", "aio", "appid", "appidacr", "idp", "idtyp", "oid",
                  "rh", "sub", "tid", "uti", "ver", "xms_mirid"):
            self.assertIn(c, claims)
        self.assertEqual(claims["aud"], STORAGE)
        self.assertEqual(claims["ver"], "1.0")
        self.assertEqual(claims["idtyp"], "app")
        self.assertEqual(claims["xms_mirid"], st["system_identity"]["resource_id"])

    def test_imds_refusals(self):
        cases = [
            (Q, {}, "Required metadata header not specified"),
            (Q, {"Metadata": "true", "X-Forwarded-For": "10.1.1.1"}, "X-Forwarded-For"),
            (IMDS_TOKEN_PATH + "?api-version=2018-02-01", MD, "resource"),
            (IMDS_TOKEN_PATH + "?resource=x", MD, "api-version"),
            (Q + "&client_id=a&object_id=b", MD, "Only one"),
            (Q + "&client_id=00000000-0000-0000-0000-000000000000", MD, "Identity not found"),
            (IMDS_TOKEN_PATH + "?api-version=2018-02-01&resource=" + STORAGE + "/.default", MD, "scope"),
        ]
        for path, headers, text in cases:
            with self.subTest(path=path, headers=headers):
                status, d = self.get_json(path, headers)
                self.assertEqual(status, 400)
                self.assertIn(text, d["error_description"])
        self.assertEqual([r.get("status") for r in self.s.requests()], [400] * len(cases))

    def test_user_identity_selectors(self):
        users = self.s.state()["user_identities"]
        for param, key in (("client_id", "client_id"), ("object_id", "object_id"), ("msi_res_id", "resource_id")):
            with self.subTest(param=param):
                status, d = self.get_json(Q + "&%s=%s" % (param, users[1][key].upper()), MD)
                self.assertEqual(status, 200)
                claims = jwt_parts(d["access_token"])[1]
                self.assertEqual(claims["oid"], users[1]["object_id"])
                self.assertEqual(d["client_id"], users[1]["client_id"])

    def test_instance_and_info(self):
        st = self.s.state()
        status, d = self.get_json("/metadata/instance?api-version=2021-02-01", MD)
        self.assertEqual(status, 200)
        c = d["compute"]
        self.assertEqual(c["resourceId"], st["vm_resource_id"])
        self.assertEqual(c["azEnvironment"], "AzurePublicCloud")
        for k in ("name", "resourceGroupName", "subscriptionId", "vmId", "location"):
            self.assertTrue(c[k], k)
        self.assertIn("interface", d["network"])
        status, body = self.s.get("/metadata/instance/compute/vmId?api-version=2021-02-01&format=text", MD)[::2]
        self.assertEqual(body.decode(), c["vmId"])
        self.assertEqual(self.get_json("/metadata/instance?api-version=2021-02-01")[0], 400)
        status, d = self.get_json("/metadata/identity/info?api-version=2018-02-01", MD)
        self.assertEqual(d, {"tenantId": st["tenant_id"], "subscriptionId": c["subscriptionId"]})

    def test_app_service(self):
        secret = self.s.state()["config"]["identity_header"]
        path = APPSERVICE_PATH + "?api-version=2019-08-01&resource=" + STORAGE
        status, d = self.get_json(path, {"X-IDENTITY-HEADER": secret})
        self.assertEqual(status, 200)
        self.assertEqual(sorted(d), ["access_token", "client_id", "expires_on", "resource", "token_type"])
        self.assertEqual(self.get_json(path, {"X-IDENTITY-HEADER": "wrong"})[0], 401)
        self.assertEqual(self.get_json(path)[0], 400)
        users = self.s.state()["user_identities"]
        for param, key in (("client_id", "client_id"), ("principal_id", "object_id"),
                           ("object_id", "object_id"), ("mi_res_id", "resource_id")):
            status, d = self.get_json(path + "&%s=%s" % (param, users[0][key]), {"X-IDENTITY-HEADER": secret})
            self.assertEqual((param, status, d["client_id"]), (param, 200, users[0]["client_id"]))
        status, d = self.get_json(APPSERVICE_PATH + "?api-version=2017-09-01&resource=" + STORAGE,
                                  {"secret": secret})
        self.assertEqual(status, 200)
        time.strptime(d["expires_on"], "%m/%d/%Y %H:%M:%S +00:00")

    def test_jwks_and_discovery_match_the_key(self):
        st = self.s.state()
        tid = st["tenant_id"]
        _, token = self.get_json(Q, MD)
        for path in ("/%s/discovery/keys" % tid, "/%s/discovery/v2.0/keys" % tid):
            status, d = self.get_json(path)
            self.assertEqual(status, 200)
            k = d["keys"][0]
            self.assertEqual((k["kty"], k["use"], k["kid"], k["x5t"]), ("RSA", "sig", st["kid"], st["x5t"]))
            cert = x509.load_der_x509_certificate(base64.b64decode(k["x5c"][0]))
            self.assertEqual(base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA1())).rstrip(b"=").decode(),
                             k["x5t"])
            n = int.from_bytes(base64.urlsafe_b64decode(k["n"] + "=" * (-len(k["n"]) % 4)), "big")
            self.assertEqual(n, cert.public_key().public_numbers().n)
            # the published key verifies the tokens the stand-in issues
            pem = cert.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
            self.assertEqual(jwt_verify(token["access_token"], pem.decode())["tid"], tid)
        status, d = self.get_json("/%s/v2.0/.well-known/openid-configuration" % tid)
        self.assertEqual(d["issuer"], "https://login.microsoftonline.com/%s/v2.0" % tid)
        self.assertTrue(d["jwks_uri"].startswith(self.s.url))
        status, d = self.get_json("/%s/.well-known/openid-configuration" % tid)
        self.assertEqual(d["issuer"], "https://sts.windows.net/%s/" % tid)
        self.assertEqual(self.get_json("/not-a-tenant/discovery/keys")[0], 400)

    def test_control_calls_are_not_recorded(self):
        self.s.config(token_lifetime=3600)
        self.s.state()
        self.assertEqual(self.s.requests(), [])
        self.s.get(Q, MD)
        self.s.get("/metadata/identity/info?api-version=2018-02-01", MD)
        self.assertEqual(len(self.s.requests()), 2)
        self.assertEqual(len(self.s.requests(IMDS_TOKEN_PATH)), 1)
        self.assertEqual(self.s.requests()[0]["query"], {"api-version": ["2018-02-01"], "resource": [STORAGE]})
        self.assertEqual(self.s.requests()[0]["headers"]["metadata"], "true")

    def test_config_merge_and_reset(self):
        self.s.config(token_lifetime=600, system_identity={"client_id": "c0ffee00-0000-4000-8000-000000000001"})
        st = self.s.state()
        self.assertEqual(st["config"]["token_lifetime"], 600)
        self.assertEqual(st["system_identity"]["client_id"], "c0ffee00-0000-4000-8000-000000000001")
        self.assertTrue(st["system_identity"]["object_id"])  # merged, not replaced
        _, d = self.get_json(Q, MD)
        self.assertEqual(d["expires_in"], "600")
        self.s.reset()
        self.assertEqual(self.s.state()["config"]["token_lifetime"], 86400)

    def test_scripted_status_headers_fields_and_resume(self):
        self.s.script(IMDS_TOKEN_PATH, [
            {"status": 429, "headers": {"Retry-After": "1"}},
            {"status": 200, "fields": {"expires_in": None, "expires_on": "06/20/2019 02:57:58 +00:00", "x": 1}},
            {"status": 503, "body": "plain", "repeat": 2},
        ])
        status, headers, body = self.s.get(Q, MD)
        self.assertEqual((status, headers.get("Retry-After")), (429, "1"))
        self.assertEqual(json.loads(body)["error"], "too_many_requests")
        _, d = self.get_json(Q, MD)
        self.assertNotIn("expires_in", d)
        self.assertEqual((d["expires_on"], d["x"]), ("06/20/2019 02:57:58 +00:00", 1))
        self.assertEqual(self.s.get(Q, MD)[::2], (503, b"plain"))
        self.assertEqual(self.s.get(Q, MD)[::2], (503, b"plain"))
        self.assertEqual(self.get_json(Q, MD)[0], 200)

    def test_scripted_faults(self):
        self.s.script(IMDS_TOKEN_PATH, [{"reset": True}, {"truncate": 25}, {"size_mb": 2}, {"delay_ms": 600}])
        status, data, err = raw_get(self.s.port, Q, MD)
        self.assertIsNone(status)
        self.assertIsInstance(err, ConnectionResetError)
        status, data, err = raw_get(self.s.port, Q, MD)
        head, body = data.split(b"\r\n\r\n", 1)
        self.assertEqual(len(body), 25)
        length = int([h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")][0].split(b":")[1])
        self.assertGreater(length, 25)
        status, data, err = raw_get(self.s.port, Q, MD)
        body = data.split(b"\r\n\r\n", 1)[1]
        self.assertEqual(len(body), 2 * 1024 * 1024)
        self.assertTrue(body.startswith(b'{"access_token":"AAA'))
        t = time.monotonic()
        self.assertEqual(raw_get(self.s.port, Q, MD)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t, 0.55)

    def test_rate_limit(self):
        self.s.config(imds_rate_limit={"per_second": 5})
        statuses = [self.s.get(Q, MD)[0] for _ in range(8)]
        self.assertEqual(statuses[:5], [200] * 5)
        self.assertIn(429, statuses[5:])

    def test_tls_state_file_and_fixed_key(self):
        tmp = tempfile.mkdtemp(prefix="standin-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        key = signing_key_path()
        x = x509
        k = serialization.load_pem_private_key(open(key, "rb").read(), None)
        name = x.Name([x.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
                .serial_number(1).not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x.SubjectAlternativeName([x.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
                .sign(k, hashes.SHA256()))
        cpath = os.path.join(tmp, "cert.pem")
        with open(cpath, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        spath = os.path.join(tmp, "state.json")
        with open(spath, "w") as f:
            json.dump({"tenant_id": "72f988bf-0000-4000-8000-00000000abcd"}, f)
        with Standin(tls=(cpath, key), signing_key=key, state=spath) as s:
            self.assertTrue(s.url.startswith("https://127.0.0.1:"))
            ctx = ssl.create_default_context(cafile=cpath)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                 urllib.request.HTTPSHandler(context=ctx))
            with opener.open(urllib.request.Request(s.url + Q, headers=MD), timeout=10) as r:
                d = json.loads(r.read())
            st = s.state()
            self.assertEqual(st["tenant_id"], "72f988bf-0000-4000-8000-00000000abcd")
            self.assertEqual(st["public_key_pem"], self.s.state()["public_key_pem"])
            self.assertEqual(jwt_verify(d["access_token"], st["public_key_pem"])["tid"], st["tenant_id"])
            s.reset()
            self.assertEqual(s.state()["tenant_id"], "72f988bf-0000-4000-8000-00000000abcd")

    def test_concurrent_requests(self):
        out = []
        ths = [threading.Thread(target=lambda: out.append(self.s.get(Q, MD)[0])) for _ in range(30)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        self.assertEqual(out, [200] * 30)
        self.assertEqual(len(self.s.requests(IMDS_TOKEN_PATH)), 30)


if __name__ == "__main__":
    unittest.main()

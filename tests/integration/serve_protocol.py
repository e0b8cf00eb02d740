"""`azmi serve`: App Service 2019-08-01 answers, every refusal, and limits."""

import json
import os
import socket
import stat
import threading
import time

from harness import IMDS_TOKEN_PATH, STORAGE, VAULT, free_port
from serve_common import API, TOKEN_PATH, Serve, ServeTestCase, read_response


class Protocol(ServeTestCase):

    def test_token_for_the_default_identity(self):
        srv = self.start_serve()
        status, hdrs, body = srv.get(srv.query(STORAGE + "/"))
        self.assertEqual(status, 200, body)
        self.assertTrue(hdrs["content-type"].startswith("application/json"))
        self.assertEqual(hdrs["cache-control"], "no-store")
        self.assertEqual(sorted(body), ["access_token", "client_id", "expires_on", "resource", "token_type"])
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["resource"], STORAGE + "/")
        self.assertIsInstance(body["expires_on"], str)
        self.assertRegex(body["expires_on"], r"^[0-9]+$")
        system, _ = self.identities()
        self.assertEqual(body["client_id"], system["client_id"])
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(body["access_token"], self.minted(reqs[0]))
        claims = self.check_token(body["access_token"], dict(system, resource_id=claims_mirid(self)), STORAGE)
        self.assertEqual(int(body["expires_on"]), claims["exp"])

    def test_second_request_is_served_from_the_cache(self):
        srv = self.start_serve()
        a = srv.get()[2]
        b = srv.get()[2]
        self.assertEqual(a["access_token"], b["access_token"])
        self.assertEqual(len(self.token_requests()), 1)

    def test_allowed_user_assigned_identities(self):
        _, users = self.identities()
        one, two = users
        srv = self.start_serve(["--allow-client-id", one["client_id"], "--allow-object-id", two["object_id"],
                                "--allow-msi-res-id", one["resource_id"]])
        for param, value, ident in (("client_id", one["client_id"], one),
                                    ("principal_id", two["object_id"], two),
                                    ("object_id", two["object_id"], two),
                                    ("mi_res_id", one["resource_id"], one)):
            status, _, body = srv.get(srv.query(VAULT, **{param: value}))
            self.assertEqual(status, 200, (param, body))
            self.check_token(body["access_token"], ident, VAULT)
            self.assertEqual(body["client_id"], ident["client_id"])

    def test_identity_not_allowed(self):
        _, users = self.identities()
        srv = self.start_serve(["--allow-client-id", users[0]["client_id"]])
        for param, value in (("client_id", users[1]["client_id"]), ("object_id", users[0]["object_id"]),
                             ("mi_res_id", users[1]["resource_id"])):
            status, hdrs, body = srv.get(srv.query(**{param: value}))
            self.assertAppServiceError(status, hdrs, body, 403)
        self.assertEqual(self.token_requests(), [])

    def test_no_default_identity(self):
        srv = self.start_serve(["--no-default-identity"])
        status, hdrs, body = srv.get()
        self.assertAppServiceError(status, hdrs, body, 403)
        self.assertEqual(self.token_requests(), [])

    def test_allow_any_identity_and_upstream_refusal(self):
        srv = self.start_serve(["--allow-any-identity"])
        status, hdrs, body = srv.get(srv.query(client_id="00000000-0000-4000-8000-000000000000"))
        self.assertAppServiceError(status, hdrs, body, 400)
        self.assertNotIn("eyJ", body["message"])
        self.assertGreaterEqual(len(self.token_requests()), 1)

    def test_upstream_failure_is_a_500(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 500}] * 20)
        srv = self.start_serve(["--timeout", "2"])
        status, hdrs, body = srv.get()
        self.assertAppServiceError(status, hdrs, body, 500)

    def test_stops_cleanly_on_sigterm(self):
        srv = self.start_serve()
        self.assertEqual(srv.get()[0], 200)
        self.assertEqual(srv.stop(), 0)

    def test_unix_socket(self):
        sock = os.path.join(self.tmp, "serve.sock")
        srv = self.start_serve(["--unix", sock])
        st = os.stat(sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        data = ("GET %s HTTP/1.1\r\nHost: localhost\r\nX-IDENTITY-HEADER: %s\r\n\r\n"
                % (srv.query(), srv.secret)).encode()
        status, _, body = srv.raw(data, unix=sock)
        self.assertEqual(status, 200, body)
        self.assertIn("access_token", json.loads(body))


def claims_mirid(test):
    st = test.standin.state()
    return "/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
        st["config"]["subscription_id"], st["config"]["resource_group"], st["config"]["vm_name"])


class Refusals(ServeTestCase):
    """Every refusal: App Service's error shape, and IMDS never asked."""

    def setUp(self):
        super().setUp()
        self.srv = self.start_serve(["--client-timeout", "1"])

    def tearDown(self):
        self.assertEqual(self.token_requests(), [], "a refused request reached IMDS")
        super().tearDown()

    def refused(self, want, data=None, **kw):
        status, hdrs, body = self.srv.raw(data or self.srv.head(**kw))
        self.assertAppServiceError(status, hdrs, json.loads(body), want)
        return json.loads(body)["message"]

    def test_secret_missing(self):
        self.assertIn("missing", self.refused(400, secret=False))

    def test_secret_wrong(self):
        self.refused(401, secret="x" * len(self.srv.secret))
        self.refused(401, secret=self.srv.secret[:-1])
        self.refused(401, secret=self.srv.secret + "x")
        self.refused(401, secret=self.srv.secret.upper() if self.srv.secret.upper() != self.srv.secret else "y")

    def test_secret_twice(self):
        self.refused(400, headers=[("X-IDENTITY-HEADER", self.srv.secret)])

    def test_host_of_a_rebound_name(self):
        self.refused(403, host=False, headers=[("Host", "attacker.example:%d" % self.srv.port)])
        self.refused(403, host=False, headers=[("Host", "127.0.0.1:%d" % (self.srv.port + 1))])
        self.refused(403, host=False, headers=[("Host", "169.254.169.254")])

    def test_host_missing_or_twice(self):
        data = ("GET %s HTTP/1.0\r\nX-IDENTITY-HEADER: %s\r\n\r\n" % (self.srv.query(), self.srv.secret)).encode()
        self.refused(400, data)
        self.refused(400, headers=[("Host", "127.0.0.1:%d" % self.srv.port)])

    def test_browser(self):
        for h in (("Origin", "http://127.0.0.1:%d" % self.srv.port), ("Origin", "null"),
                  ("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "cors"), ("Referer", "http://x/")):
            self.assertIn("browser", self.refused(403, headers=[h]))

    def test_proxied(self):
        for h in (("X-Forwarded-For", "10.0.0.1"), ("Forwarded", "for=10.0.0.1"), ("Via", "1.1 proxy")):
            self.assertIn("proxy", self.refused(403, headers=[h]))

    def test_path_method_and_query(self):
        self.refused(404, target="/metadata/identity/oauth2/token?api-version=2018-02-01&resource=x")
        self.refused(404, target="/msi/token/?api-version=%s&resource=x" % API)
        self.refused(405, method="POST")
        self.refused(400, target=TOKEN_PATH + "?resource=x")
        self.refused(400, target=TOKEN_PATH + "?api-version=2017-09-01&resource=x")
        self.refused(400, target=self.srv.query(None))
        self.refused(400, target=self.srv.query("") )
        self.refused(400, target=self.srv.query() + "&resource=y")
        self.refused(400, target=self.srv.query() + "&api-version=" + API)
        self.refused(400, target=self.srv.query(client_id="a", mi_res_id="b"))
        self.refused(400, target=self.srv.query() + "&client_id=a&client_id=a")
        self.refused(400, target=self.srv.query() + "&x=%zz")
        self.refused(400, target=self.srv.query() + "%00")

    def test_malformed_heads(self):
        s = self.srv
        self.refused(400, b"GET / HTTP/1.1\nHost: 127.0.0.1\n\n")
        self.refused(400, s.head(headers=[(" folded", "x")]))
        self.refused(400, s.head().replace(b"Host:", b"Ho st:"))
        self.refused(400, b"get " + s.head()[4:])
        self.refused(400, s.head(headers=[("X", "a\x01b")]))
        self.refused(505, s.head().replace(b"HTTP/1.1", b"HTTP/2.0", 1))
        self.refused(501, s.head(headers=[("Content-Length", "5")]) + b"hello")
        self.refused(501, s.head(headers=[("Transfer-Encoding", "chunked")]) + b"0\r\n\r\n")
        self.refused(400, s.head(headers=[("Content-Length", "0"), ("Content-Length", "0")]))
        self.refused(414, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n")
        self.refused(431, s.head(headers=[("X-Pad", "p" * 9000)]))
        self.refused(431, s.head(headers=[("X-H%d" % i, "v") for i in range(40)]))

    def test_slow_client_gets_408_and_does_not_block_others(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.sendall(self.srv.head()[:20])
        start = time.monotonic()
        # Meanwhile another client is answered at once (a 404 keeps IMDS out of it).
        status, _, _ = self.srv.raw(self.srv.head(target="/other"))
        self.assertEqual(status, 404)
        self.assertLess(time.monotonic() - start, 0.5)
        s.settimeout(5)
        status, _, body = read_response(s)
        s.close()
        self.assertEqual(status, 408)
        self.assertGreater(time.monotonic() - start, 0.8)

    def test_silent_client_is_closed(self):
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.settimeout(5)
        start = time.monotonic()
        status, _, _ = read_response(s)
        s.close()
        self.assertEqual(status, 408)
        self.assertLess(time.monotonic() - start, 3)


class Limits(ServeTestCase):

    def test_too_many_clients(self):
        srv = self.start_serve(["--max-clients", "4", "--client-timeout", "3"])
        idle = [socket.create_connection(("127.0.0.1", srv.port)) for _ in range(4)]
        time.sleep(0.3)
        status, hdrs, body = srv.raw(srv.head(), timeout=5)
        self.assertAppServiceError(status, hdrs, json.loads(body), 503)
        self.assertEqual(hdrs.get("retry-after"), "1")
        for s in idle:
            s.close()
        time.sleep(0.5)
        self.assertEqual(srv.get()[0], 200)

    def test_burst_of_10000_one_imds_request_no_growth(self):
        srv = self.start_serve(["--threads", "4"])
        head = srv.head(srv.query(STORAGE + "/"))
        self.assertEqual(srv.raw(head)[0], 200)
        for _ in range(300):  # warm up allocator arenas
            srv.raw(head)
        rss0 = srv.rss_kb()
        counts = {"ok": 0, "bad": 0}
        lock = threading.Lock()

        def client(n):
            ok = bad = 0
            for _ in range(n):
                st = srv.raw(head)[0]
                if st == 200:
                    ok += 1
                else:
                    bad += 1
            with lock:
                counts["ok"] += ok
                counts["bad"] += bad

        start = time.monotonic()
        threads = [threading.Thread(target=client, args=(1250,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        rss1 = srv.rss_kb()
        print("\n  burst: 10000 requests in %.1f s, RSS %d -> %d kB" % (elapsed, rss0, rss1))
        self.assertEqual(counts, {"ok": 10000, "bad": 0})
        self.assertEqual(len(self.token_requests()), 1)
        self.assertLess(rss1 - rss0, 1024, "RSS grew from %d to %d kB" % (rss0, rss1))


class StartUp(ServeTestCase):

    def test_env_file_checks(self):
        env_file = os.path.join(self.tmp, "serve.env")
        self.assertOk(self.azmi("serve", "--init", env_file))
        st = os.stat(env_file)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o640)
        text = open(env_file).read()
        self.assertIn("IDENTITY_ENDPOINT=http://127.0.0.1:50342/msi/token\n", text)
        secret = [ln for ln in text.splitlines() if ln.startswith("IDENTITY_HEADER=")][0].split("=", 1)[1]
        self.assertRegex(secret, r"^[A-Za-z0-9_-]{43}$")
        self.assertOk(self.azmi("serve", "--init", env_file))
        self.assertNotIn(secret, open(env_file).read(), "--init reused the secret")
        os.chmod(env_file, 0o644)
        self.assertAzmiError(self.azmi("serve", "--env-file", env_file), 2, "readable by others")
        os.chmod(env_file, 0o660)
        self.assertAzmiError(self.azmi("serve", "--env-file", env_file), 2, "writable by its owner only")
        os.chmod(env_file, 0o600)
        link = os.path.join(self.tmp, "link.env")
        os.symlink(env_file, link)
        self.assertAzmiError(self.azmi("serve", "--env-file", link), 2, "symbolic link")
        self.assertAzmiError(self.azmi("serve", "--env-file", os.path.join(self.tmp, "none")), 2, "cannot open")
        weak = os.path.join(self.tmp, "weak.env")
        with open(weak, "w") as f:
            f.write("IDENTITY_HEADER=short\n")
        os.chmod(weak, 0o600)
        self.assertAzmiError(self.azmi("serve", "--env-file", weak), 2, "IDENTITY_HEADER must be")
        self.assertAzmiError(self.azmi("serve", "--init", env_file, "--group", "no-such-group-azmi"), 2, "no such group")

    def test_loopback_only(self):
        env_file = os.path.join(self.tmp, "serve.env")
        self.assertOk(self.azmi("serve", "--init", env_file))
        for addr in ("0.0.0.0:8080", "10.0.0.4:80", "[::]:80", "example.com:80", "127.0.0.1:99999"):
            self.assertAzmiError(self.azmi("serve", "--env-file", env_file, "--listen", addr), 2,
                                 ("loopback", "port"))
        self.assertAzmiError(self.azmi("serve", "--init", env_file, "--listen", "0.0.0.0:1"), 2, "loopback")

    def test_own_endpoint_in_its_environment_is_ignored(self):
        port = free_port()
        env_file = os.path.join(self.tmp, "serve.env")
        self.assertOk(self.azmi("serve", "--init", env_file, "--listen", "127.0.0.1:%d" % port))
        env = self.base_env()
        srv0 = Serve.__new__(Serve)  # only to read the file the same way
        from serve_common import read_env
        env.update(read_env(env_file))
        srv = self.start_serve([], env=env, port=port, env_file=env_file)
        status, _, body = srv.get()
        self.assertEqual(status, 200, body)
        self.assertEqual(len(self.token_requests()), 1)
        del srv0

"""Integration tests of `azmi token`: requests on the wire, identities, App
Service, proxies, retries, expiry formats, the default IMDS address."""

import calendar
import datetime
import email.utils
import json
import socket
import time
import unittest
import uuid

from harness import (ARM, DEAD_PROXY, IMDS_ADDR, IMDS_TOKEN_PATH, APPSERVICE_PATH, STORAGE, VAULT,
                     AzmiTestCase, Standin, free_port, imds_address_on_lo, signing_key_path)

PROXY_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


class ImdsSystemIdentity(AzmiTestCase):

    def test_request_on_the_wire_is_exact(self):
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["method"], "GET")
        self.assertEqual(q["path"], IMDS_TOKEN_PATH)
        self.assertTrue(q["target"].startswith("/"), "absolute-form target: sent to a proxy? %r" % q["target"])
        self.assertEqual(q["query"], {"api-version": ["2018-02-01"], "resource": [STORAGE]})
        self.assertEqual(q["headers"].get("metadata"), "true")
        self.assertNotIn("x-forwarded-for", q["headers"])
        self.assertNotIn("authorization", q["headers"])
        self.assertEqual(q["body"], "")
        token = self.minted(q)
        self.assertTokenLine(r, token)
        system, _ = self.identities()
        self.check_token(r.stdout.strip(), system, STORAGE)

    def test_json_output(self):
        before = int(time.time())
        r = self.azmi("token", "--resource", ARM, "--json")
        after = int(time.time())
        self.assertOk(r)
        out = json.loads(r.stdout)
        q = self.token_requests()[0]
        ans = self.answer(q)
        self.assertEqual(out["access_token"], ans["access_token"])
        self.assertIs(type(out["expires_on"]), int, out)
        # azmi prefers the relative expires_in; both agree to a few seconds here
        self.assertGreaterEqual(out["expires_on"], before + int(ans["expires_in"]) - 5)
        self.assertLessEqual(out["expires_on"], after + int(ans["expires_in"]) + 5)
        self.assertLessEqual(abs(out["expires_on"] - int(ans["expires_on"])), 5)
        self.assertEqual(out["token_type"], "Bearer")
        self.assertEqual(out["resource"], ARM)
        self.assertIsInstance(out["source"], str)
        self.assertIn("imds", out["source"].lower())
        system, _ = self.identities()
        self.check_token(out["access_token"], system, ARM)

    def test_scope_sends_the_same_resource(self):
        r1 = self.azmi("token", "--scope", STORAGE + "/.default")
        self.assertOk(r1)
        r2 = self.azmi("token", "--resource", STORAGE, env=self.base_env(cache_dir=self.new_cache_dir()))
        self.assertOk(r2)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(reqs[0]["query"], {"api-version": ["2018-02-01"], "resource": [STORAGE]})
        self.assertEqual(reqs[0]["query"], reqs[1]["query"])
        self.assertTokenLine(r1, self.minted(reqs[0]))
        self.assertTokenLine(r2, self.minted(reqs[1]))

    def test_vm_without_system_identity(self):
        self.standin.config(system_identity=None)
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10")
        self.assertAzmiError(r, 4, "400", "identit")
        self.assertEqual(len(self.token_requests()), 1)
        self.assertEqual(r.stdout, "")


class ImdsUserAssigned(AzmiTestCase):

    def _selector(self, flag, param, key):
        _, users = self.identities()
        ident = users[1]
        r = self.azmi("token", "--resource", VAULT, flag, ident[key])
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["query"], {"api-version": ["2018-02-01"], "resource": [VAULT],
                                            param: [ident[key]]})
        self.assertEqual(reqs[0]["headers"].get("metadata"), "true")
        self.assertTokenLine(r, self.minted(reqs[0]))
        self.check_token(r.stdout.strip(), ident, VAULT)

    def test_client_id(self):
        self._selector("--client-id", "client_id", "client_id")

    def test_object_id(self):
        self._selector("--object-id", "object_id", "object_id")

    def test_msi_res_id(self):
        self._selector("--msi-res-id", "msi_res_id", "resource_id")

    def test_azure_client_id_from_environment(self):
        _, users = self.identities()
        env = self.base_env()
        env["AZURE_CLIENT_ID"] = users[0]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["query"], {"api-version": ["2018-02-01"], "resource": [STORAGE],
                                            "client_id": [users[0]["client_id"]]})
        self.check_token(r.stdout.strip(), users[0], STORAGE)

    def test_explicit_selector_beats_azure_client_id(self):
        _, users = self.identities()
        env = self.base_env()
        env["AZURE_CLIENT_ID"] = users[0]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, "--object-id", users[1]["object_id"], env=env)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(reqs[0]["query"], {"api-version": ["2018-02-01"], "resource": [STORAGE],
                                            "object_id": [users[1]["object_id"]]})
        self.check_token(r.stdout.strip(), users[1], STORAGE)

    def test_unknown_identity_is_refused(self):
        unknown = str(uuid.uuid4())
        r = self.azmi("token", "--resource", STORAGE, "--client-id", unknown, "--timeout", "10")
        self.assertAzmiError(r, 4, "400", "identity")
        self.assertEqual(r.stdout, "")
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1, "a 400 must not be retried")
        self.assertEqual(reqs[0]["query"]["client_id"], [unknown])

    def test_two_selectors_is_a_usage_error(self):
        _, users = self.identities()
        r = self.azmi("token", "--resource", STORAGE, "--client-id", users[0]["client_id"],
                      "--object-id", users[0]["object_id"])
        self.assertEqual(r.rc, 2, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [])


class AppService2019(AzmiTestCase):

    def test_system_identity(self):
        env = self.appservice_env()  # IMDS is configured too: App Service must win
        secret = env["IDENTITY_HEADER"]
        r = self.azmi("token", "--resource", VAULT, env=env)
        self.assertOk(r)
        self.assertEqual(self.token_requests(IMDS_TOKEN_PATH), [])
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        q = reqs[0]
        self.assertEqual(q["method"], "GET")
        self.assertEqual(q["path"], APPSERVICE_PATH)
        self.assertEqual(q["query"], {"api-version": ["2019-08-01"], "resource": [VAULT]})
        self.assertEqual(q["headers"].get("x-identity-header"), secret)
        self.assertNotIn("x-forwarded-for", q["headers"])
        self.assertNotIn("authorization", q["headers"])
        self.assertTokenLine(r, self.minted(q))
        system, _ = self.identities()
        self.check_token(r.stdout.strip(), system, VAULT)

    def test_json_expiry_comes_from_expires_on(self):
        # The 2019 answer has no expires_in: the expiry is expires_on, exactly.
        exp = int(time.time()) + 5000
        self.standin.script(APPSERVICE_PATH, [{"status": 200, "fields": {"expires_on": str(exp)}}])
        r = self.azmi("token", "--resource", STORAGE, "--json", env=self.appservice_env())
        self.assertOk(r)
        out = json.loads(r.stdout)
        ans = self.answer(self.all_requests()[0])
        self.assertNotIn("expires_in", ans)
        self.assertEqual(out["expires_on"], exp)
        self.assertEqual(out["access_token"], ans["access_token"])
        self.assertEqual(out["resource"], STORAGE)
        self.assertEqual(out["token_type"], "Bearer")
        self.assertIn("app", out["source"].lower())

    def _selector(self, flag, param, key):
        _, users = self.identities()
        ident = users[0]
        r = self.azmi("token", "--resource", STORAGE, flag, ident[key], env=self.appservice_env())
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1, reqs)
        self.assertEqual(reqs[0]["path"], APPSERVICE_PATH)
        self.assertEqual(reqs[0]["query"], {"api-version": ["2019-08-01"], "resource": [STORAGE],
                                            param: [ident[key]]})
        self.assertTokenLine(r, self.minted(reqs[0]))
        self.check_token(r.stdout.strip(), ident, STORAGE)

    def test_client_id(self):
        self._selector("--client-id", "client_id", "client_id")

    def test_object_id_as_principal_id(self):
        self._selector("--object-id", "principal_id", "object_id")

    def test_resource_id_as_mi_res_id(self):
        self._selector("--msi-res-id", "mi_res_id", "resource_id")

    def test_azure_client_id_from_environment(self):
        _, users = self.identities()
        env = self.appservice_env()
        env["AZURE_CLIENT_ID"] = users[1]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        self.assertEqual(self.all_requests()[0]["query"],
                         {"api-version": ["2019-08-01"], "resource": [STORAGE],
                          "client_id": [users[1]["client_id"]]})
        self.check_token(r.stdout.strip(), users[1], STORAGE)

    def test_wrong_identity_header_is_refused(self):
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10",
                      env=self.appservice_env(header="not-the-secret"))
        self.assertAzmiError(r, 4, "401")
        self.assertNotIn("not-the-secret", r.stderr, "the secret header leaked into the message")
        self.assertEqual(len(self.all_requests()), 1, "a 401 must not be retried")
        self.assertEqual(r.stdout, "")


class Proxies(AzmiTestCase):

    def _proxied(self, env, proxy):
        for v in PROXY_VARS:
            env[v] = proxy
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)
        return env

    def test_dead_proxy_is_ignored_for_imds(self):
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10",
                      env=self._proxied(self.base_env(), DEAD_PROXY))
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1)
        self.assertTokenLine(r, self.minted(reqs[0]))

    def test_socks_proxy_is_ignored_for_imds(self):
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10",
                      env=self._proxied(self.base_env(), "socks5h://127.0.0.1:9"))
        self.assertOk(r)
        self.assertEqual(len(self.all_requests()), 1)

    def test_live_proxy_is_not_used(self):
        # The "proxy" is the stand-in itself: a request sent through it would
        # arrive in absolute form (GET http://host/path).
        r = self.azmi("token", "--resource", STORAGE,
                      env=self._proxied(self.base_env(), self.standin.url))
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1)
        self.assertTrue(reqs[0]["target"].startswith("/"), reqs[0]["target"])

    def test_dead_proxy_is_ignored_for_app_service(self):
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10",
                      env=self._proxied(self.appservice_env(), DEAD_PROXY))
        self.assertOk(r)
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["path"], APPSERVICE_PATH)
        self.assertTokenLine(r, self.minted(reqs[0]))


class Retries(AzmiTestCase):

    def gaps(self, reqs):
        return [b["time"] - a["time"] for a, b in zip(reqs, reqs[1:])]

    def test_410_twice_then_success(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 410}, {"status": 410}])
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 3, reqs)
        self.assertEqual([q["status"] for q in reqs], [410, 410, 200])
        self.assertTokenLine(r, self.minted(reqs[2]))
        for g in self.gaps(reqs):
            self.assertGreaterEqual(g, 0.5, "no backoff between retries: %s" % self.gaps(reqs))

    def test_429_honours_retry_after(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 429, "headers": {"Retry-After": "1"}}])
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertGreaterEqual(self.gaps(reqs)[0], 0.95)
        self.assertTokenLine(r, self.minted(reqs[1]))

    def test_429_honours_retry_after_ms(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 429, "headers": {"retry-after-ms": "2500"}}])
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertGreaterEqual(self.gaps(reqs)[0], 2.4)
        self.assertLess(self.gaps(reqs)[0], 6)

    def test_429_honours_x_ms_retry_after_ms(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 429, "headers": {"x-ms-retry-after-ms": "2200"}}])
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertGreaterEqual(self.gaps(reqs)[0], 2.1)

    def test_huge_retry_after_does_not_outlive_the_timeout(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 429, "headers": {"Retry-After": "3600"}, "repeat": 5}])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "3")
        self.assertAzmiError(r, 5, "429")
        self.assertLessEqual(r.elapsed, 4.5, r)

    def test_garbage_retry_after_falls_back_to_backoff(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 503, "headers": {"Retry-After": "soon-ish"}}])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "20")
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual([q["status"] for q in reqs], [503, 200])
        self.assertLess(self.gaps(reqs)[0], 10)

    def test_retryable_statuses(self):
        for status in (404, 408, 500, 503):
            with self.subTest(status=status):
                self.standin.reset()
                self.standin.script(IMDS_TOKEN_PATH, [{"status": status}])
                r = self.azmi("token", "--resource", STORAGE, "--no-cache",
                              env=self.base_env(cache_dir=self.new_cache_dir()))
                self.assertOk(r)
                reqs = self.token_requests()
                self.assertEqual([q["status"] for q in reqs], [status, 200])
                self.assertTokenLine(r, self.minted(reqs[1]))

    def test_400_is_not_retried(self):
        # A body without a hint of its own: the hint must come from azmi.
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 400, "body": json.dumps(
            {"error": "invalid_request", "error_description": "Bad request"})}])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "10")
        self.assertAzmiError(r, 4, "400", "identit", "127.0.0.1:%d" % self.standin.port)
        self.assertEqual(len(self.token_requests()), 1)
        self.assertEqual(r.stdout, "")

    def test_401_and_403_are_not_retried(self):
        for status in (401, 403):
            with self.subTest(status=status):
                self.standin.reset()
                self.standin.script(IMDS_TOKEN_PATH, [{"status": status, "repeat": 5}])
                r = self.azmi("token", "--resource", STORAGE, "--timeout", "10",
                              env=self.base_env(cache_dir=self.new_cache_dir()))
                self.assertAzmiError(r, 4, str(status))
                self.assertEqual(len(self.token_requests()), 1)

    def test_500_until_the_timeout(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 500, "repeat": 50}])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "3")
        self.assertAzmiError(r, 5, "500")
        self.assertLessEqual(r.elapsed, 4.5, r)
        self.assertGreaterEqual(len(self.token_requests()), 2, "500 must be retried")
        self.assertEqual(r.stdout, "")

    def test_slow_answer_times_out_on_time(self):
        self.standin.script(IMDS_TOKEN_PATH, [{"delay_ms": 8000, "repeat": 5}])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "2")
        self.assertAzmiError(r, 5, ("time", "timed out"))
        self.assertLessEqual(r.elapsed, 3.5, r)
        self.assertEqual(r.stdout, "")


class ExpiryFormats(AzmiTestCase):
    """The answer's expiry fields in every form the design lists, through
    IMDS with `fields` overrides."""

    ONLY_ON = {"expires_in": None, "ext_expires_in": None}

    def run_fields(self, fields, *extra):
        self.standin.reset()
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 200, "fields": fields}])
        before = int(time.time())
        r = self.azmi("token", "--resource", STORAGE, "--json", "--timeout", "5", *extra,
                      env=self.base_env(cache_dir=self.new_cache_dir()))
        return r, before

    def expect(self, fields, expected, slack=0):
        r, _ = self.run_fields(fields)
        self.assertOk(r)
        out = json.loads(r.stdout)
        self.assertIs(type(out["expires_on"]), int, out)
        self.assertLessEqual(abs(out["expires_on"] - expected), slack,
                             "fields %r: expires_on %s, expected %s" % (fields, out["expires_on"], expected))
        self.assertEqual(out["access_token"], self.minted(self.token_requests()[0]))

    def test_expires_in_number(self):
        self.expect({"expires_in": 3600, "expires_on": None, "ext_expires_in": None}, int(time.time()) + 3600, 5)

    def test_expires_in_string(self):
        self.expect({"expires_in": "3600", "expires_on": None, "ext_expires_in": None}, int(time.time()) + 3600, 5)

    def test_relative_expiry_preferred(self):
        now = int(time.time())
        self.expect({"expires_in": "3600", "expires_on": str(now + 7200)}, now + 3600, 5)

    def test_expires_on_epoch_number(self):
        e = int(time.time()) + 7000
        self.expect(dict(self.ONLY_ON, expires_on=e), e)

    def test_expires_on_epoch_string(self):
        e = int(time.time()) + 7000
        self.expect(dict(self.ONLY_ON, expires_on=str(e)), e)

    @staticmethod
    def day_after_tomorrow(h, m, s):
        """A UTC datetime two days from now at h:m:s (expiries must be
        realistic: azmi refuses one more than 7 days away)."""
        d = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=2)
        return datetime.datetime(d.year, d.month, d.day, h, m, s, tzinfo=datetime.timezone.utc)

    @staticmethod
    def ts(dt):
        return calendar.timegm(dt.utctimetuple())

    @staticmethod
    def windows(dt):
        h12 = dt.hour % 12 or 12
        return "%d/%d/%d %d:%02d:%02d %s +00:00" % (dt.month, dt.day, dt.year, h12, dt.minute, dt.second,
                                                   "AM" if dt.hour < 12 else "PM")

    def test_expires_on_us_date(self):
        dt = self.day_after_tomorrow(2, 57, 58)
        self.expect(dict(self.ONLY_ON, expires_on=dt.strftime("%m/%d/%Y %H:%M:%S +00:00")), self.ts(dt))

    def test_expires_on_windows_am(self):
        dt = self.day_after_tomorrow(5, 24, 12)
        self.expect(dict(self.ONLY_ON, expires_on=self.windows(dt)), self.ts(dt))

    def test_expires_on_windows_pm(self):
        dt = self.day_after_tomorrow(17, 24, 12)
        self.expect(dict(self.ONLY_ON, expires_on=self.windows(dt)), self.ts(dt))

    def test_expires_on_windows_midnight_and_noon(self):
        for h in (0, 12):
            with self.subTest(hour=h):
                dt = self.day_after_tomorrow(h, 5, 9)
                self.expect(dict(self.ONLY_ON, expires_on=self.windows(dt)), self.ts(dt))

    def test_expires_on_iso_fraction_z(self):
        dt = self.day_after_tomorrow(2, 57, 58)
        self.expect(dict(self.ONLY_ON, expires_on=dt.strftime("%Y-%m-%dT%H:%M:%S.1234567Z")), self.ts(dt), 1)

    def test_expires_on_iso_offset(self):
        dt = self.day_after_tomorrow(2, 57, 58)
        local = dt.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
        self.expect(dict(self.ONLY_ON, expires_on=local.strftime("%Y-%m-%dT%H:%M:%S+02:00")), self.ts(dt))

    def test_expires_on_rfc1123(self):
        dt = self.day_after_tomorrow(2, 57, 58)
        self.expect(dict(self.ONLY_ON, expires_on=email.utils.format_datetime(dt, usegmt=True)), self.ts(dt))

    def test_expires_on_space_z(self):
        dt = self.day_after_tomorrow(2, 57, 58)
        self.expect(dict(self.ONLY_ON, expires_on=dt.strftime("%Y-%m-%d %H:%M:%SZ")), self.ts(dt))

    def test_expiry_too_far_away(self):
        self.bad(dict(self.ONLY_ON, expires_on="2030-06-20T02:57:58Z"), "expir")

    def bad(self, fields, *words):
        r, _ = self.run_fields(fields)
        self.assertAzmiError(r, 5, *words)
        self.assertEqual(r.stdout, "")
        self.assertNotInCache(self.minted(self.token_requests()[0]).split(".")[2])

    def test_garbage_expires_on(self):
        self.bad(dict(self.ONLY_ON, expires_on="soon"), "expires_on")

    def test_garbage_expires_in(self):
        self.bad({"expires_in": "an hour", "expires_on": None, "ext_expires_in": None}, "expires_in")

    def test_no_expiry_at_all(self):
        self.bad({"expires_in": None, "expires_on": None, "ext_expires_in": None},
                 ("expires_on", "expires_in"))

    def test_expiry_in_the_past(self):
        self.bad(dict(self.ONLY_ON, expires_on=str(int(time.time()) - 3600)), "expire")

    def test_negative_expires_in(self):
        self.bad({"expires_in": "-60", "expires_on": None, "ext_expires_in": None}, "expire")


class OtherCommands(AzmiTestCase):

    def test_whoami_shows_claims_not_the_token(self):
        r = self.azmi("whoami")
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertGreaterEqual(len(reqs), 1)
        token = self.minted(reqs[-1])
        system, _ = self.identities()
        tid = self.standin.state()["tenant_id"]
        self.assertIn(system["object_id"], r.stdout)
        self.assertIn(tid, r.stdout)
        self.assertIn("imds", r.stdout.lower())
        sig = token.split(".")[2]
        for part in (token, sig[:24], token.split(".")[1][:40]):
            self.assertNotIn(part, r.stdout + r.stderr, "whoami printed (part of) the token")

    def test_doctor_names_the_endpoint(self):
        r = self.azmi("doctor")
        self.assertIn(r.rc, (0, 3, 4, 5), r)
        self.assertIn("127.0.0.1:%d" % self.standin.port, r.stdout + r.stderr)
        for q in self.token_requests():
            if q.get("status") == 200:
                self.assertNotIn(self.minted(q).split(".")[2][:24], r.stdout + r.stderr)

    def test_config_file_imds_endpoint(self):
        with open(self.config_file, "w") as f:
            f.write("# test\nimds_endpoint = %s\n" % self.standin.url)
        r = self.azmi("token", "--resource", STORAGE, env=self.base_env(imds=False))
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1)
        self.assertTokenLine(r, self.minted(reqs[0]))


class NoSource(AzmiTestCase):

    def test_nothing_listening(self):
        port = free_port()
        env = self.base_env(imds=False)
        env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = "http://127.0.0.1:%d" % port
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "2", env=env)
        self.assertAzmiError(r, (3, 5), "127.0.0.1:%d" % port)
        self.assertLessEqual(r.elapsed, 4.0, r)
        self.assertEqual(r.stdout, "")


@unittest.skipUnless(imds_address_on_lo(), "needs run.sh's private namespace with %s on lo" % IMDS_ADDR)
class DefaultImdsAddress(AzmiTestCase):
    """Only inside the private namespace, where 169.254.169.254 is a loopback
    address and nothing can leave the machine."""

    def test_default_address(self):
        with Standin(bind=IMDS_ADDR, port=80, signing_key=signing_key_path()) as s:
            r = self.azmi("token", "--resource", STORAGE, env=self.base_env(imds=False))
            self.assertOk(r)
            reqs = s.requests(IMDS_TOKEN_PATH)
            self.assertEqual(len(reqs), 1)
            q = reqs[0]
            self.assertEqual(q["headers"].get("host"), IMDS_ADDR)
            self.assertEqual(q["query"], {"api-version": ["2018-02-01"], "resource": [STORAGE]})
            self.assertEqual(q["headers"].get("metadata"), "true")
            self.assertTokenLine(r, self.minted(q))

    def test_default_address_with_dead_proxy(self):
        with Standin(bind=IMDS_ADDR, port=80, signing_key=signing_key_path()) as s:
            env = self.base_env(imds=False)
            for v in PROXY_VARS:
                env[v] = DEAD_PROXY
            r = self.azmi("token", "--resource", STORAGE, "--timeout", "10", env=env)
            self.assertOk(r)
            self.assertEqual(len(s.requests(IMDS_TOKEN_PATH)), 1)

    def test_no_source_at_all(self):
        c = socket.socket()
        c.settimeout(1)
        self.assertNotEqual(c.connect_ex((IMDS_ADDR, 80)), 0, "something listens on %s:80" % IMDS_ADDR)
        c.close()
        r = self.azmi("token", "--resource", STORAGE, "--timeout", "2", env=self.base_env(imds=False))
        self.assertAzmiError(r, (3, 5), IMDS_ADDR)
        self.assertLessEqual(r.elapsed, 4.0, r)
        self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    unittest.main()

"""`azmi account get-access-token` (issue 16): the Azure CLI's command and
output shape, so that `az account get-access-token ... --query accessToken
-o tsv` switches to azmi by one word."""

import datetime
import json
import unittest

from harness import STORAGE
from srcutil import SourceTestCase

AZ_KEYS = ["accessToken", "expiresOn", "expires_on", "subscription", "tenant", "tokenType"]
IST = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


class AccountGetAccessToken(SourceTestCase):

    def run_az_like(self, *args, env=None):
        env = env or self.base_env()
        env["TZ"] = "IST-5:30"
        return self.azmi("account", "get-access-token", "--resource", STORAGE, *args, env=env)

    def test_json_like_az(self):
        r = self.run_az_like()
        self.assertOk(r)
        out = json.loads(r.stdout)
        self.assertEqual(list(out), AZ_KEYS, "az's keys in az's order")
        q = self.token_requests()[-1]
        token = self.minted(q)
        claims = self.jwt(token)[1]
        self.assertEqual(out["accessToken"], token)
        self.assertEqual(out["expires_on"], claims["exp"])
        self.assertIsInstance(out["expires_on"], int)
        local = datetime.datetime.fromtimestamp(claims["exp"], IST).strftime("%Y-%m-%d %H:%M:%S.%f")
        self.assertEqual(out["expiresOn"], local, "expiresOn is az's naive local time")
        self.assertEqual(out["tenant"], claims["tid"])
        self.assertEqual(out["subscription"], claims["xms_mirid"].split("/")[2])
        self.assertEqual(out["tokenType"], "Bearer")
        self.assertTrue(r.stdout.startswith('{\n  "accessToken": '), r.stdout[:40])

    def test_query_access_token_tsv(self):
        r = self.run_az_like("--query", "accessToken", "-o", "tsv")
        self.assertOk(r)
        self.assertEqual(r.stdout, self.minted(self.token_requests()[-1]) + "\n")

    def test_query_other_fields(self):
        for field, fmt, check in (("expires_on", "tsv", lambda s: s.strip().isdigit()),
                                  ("tokenType", "json", lambda s: s == '"Bearer"\n'),
                                  ("tenant", "tsv", lambda s: s == self.tenant() + "\n")):
            with self.subTest(field=field, fmt=fmt):
                r = self.run_az_like("--query", field, "--output", fmt, "--no-cache")
                self.assertOk(r)
                self.assertTrue(check(r.stdout), r.stdout)

    def test_whole_object_tsv_and_none(self):
        r = self.run_az_like("-o", "tsv")
        self.assertOk(r)
        self.assertEqual(len(r.stdout.rstrip("\n").split("\t")), len(AZ_KEYS), r.stdout)
        r = self.run_az_like("-o", "none")
        self.assertOk(r)
        self.assertEqual(r.stdout, "")

    def test_service_principal_has_no_subscription(self):
        r = self.run_az_like(env=self.secret_env())
        self.assertOk(r)
        out = json.loads(r.stdout)
        self.assertNotIn("subscription", out)
        self.assertEqual(out["tenant"], self.tenant())

    def test_refused_options(self):
        for args in (("--tenant", "x"), ("--subscription", "x"), ("-s", "x"), ("--resource-type", "arm"),
                     ("--query", "[0].accessToken"), ("-o", "yaml")):
            with self.subTest(args=args):
                r = self.run_az_like(*args)
                self.assertAzmiError(r, 2)
                self.assertEqual(r.stdout, "")
        self.assertEqual(self.all_requests(), [])

    def test_token_json_is_unchanged(self):
        r = self.azmi("token", "--resource", STORAGE, "--json")
        self.assertOk(r)
        self.assertEqual(sorted(json.loads(r.stdout)),
                         ["access_token", "expires_on", "resource", "source", "token_type"])


if __name__ == "__main__":
    unittest.main()

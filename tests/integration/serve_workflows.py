"""The Azure ML seed's three workflows through `azmi serve` (docs/SERVE.md): a
script as the Azure ML SDK runs it (DefaultAzureCredential, a Resource Manager
token) gets the token of a service principal, of an `az login`, or of the
managed identity, depending only on how the service was started; the script's
environment holds IDENTITY_ENDPOINT and IDENTITY_HEADER, never a secret."""

import json
import os
import subprocess

from harness import ARM
from serve_common import ServeTestCase
from srcutil import SourceTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
SCOPE = ARM + "/.default"


class AzureMlWorkflows(SourceTestCase, ServeTestCase):

    def ml_script(self, srv):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.home, "NO_PROXY": "*"}
        env.update(srv.env_for_client())
        p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "sdk", "get_token.py"), "default", SCOPE],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-3000:] + srv.output()[-2000:])
        return json.loads(p.stdout)["token"]

    def claims(self, token):
        from standin_client import jwt_verify
        return jwt_verify(token, self.standin.state()["public_key_pem"])

    def test_service_principal(self):
        env = self.secret_env()
        srv = self.start_serve(["--credential", "environment"], env=env)
        token = self.ml_script(srv)
        self.assertEqual(self.claims(token)["appid"], self.sp()["client_id"])
        self.assertEqual(len(self.entra_requests()), 1)
        self.assertEqual(self.ml_script(srv), token)
        self.assertEqual(len(self.entra_requests()), 1)
        r = self.azmi("token", "--resource", ARM, "--credential", "environment", env=env)
        self.assertOk(r)
        self.assertEqual(self.claims(r.stdout.strip())["appid"], self.sp()["client_id"])

    def test_azure_cli(self):
        bindir, az_token, _ = self.fake_az(resource=ARM)
        env = self.with_az(self.base_env(), bindir)
        srv = self.start_serve(["--credential", "azure_cli"], env=env)
        self.assertEqual(self.ml_script(srv), az_token)
        r = self.azmi("token", "--resource", ARM, "--credential", "azure_cli", env=env)
        self.assertOk(r)
        self.assertEqual(r.stdout.strip(), az_token)

    def test_managed_identity(self):
        srv = self.start_serve()
        token = self.ml_script(srv)
        system, _ = self.identities()
        self.assertEqual(self.claims(token)["oid"], system["object_id"])
        self.assertEqual(len(self.token_requests()), 1)

"""Differential check: azure-identity's ManagedIdentityCredential (Debian's
python3-azure, for /usr/bin/python3) and azmi against the same recording
stand-in, for IMDS, App Service 2019, Cloud Shell and Azure ML.  Both must
send the same method, path, api-version, resource and identity parameters,
and the same secret header.  Skipped, with the reason printed, where
azure-identity is not installed.  Runs inside the private namespace like
everything else: every endpoint is 127.0.0.1."""

import json
import subprocess
import sys
import unittest

from harness import STORAGE
from srcutil import SourceTestCase, form

PY = "/usr/bin/python3"
SCOPE = STORAGE + "/.default"
IDENTITY_PARAMS = ("client_id", "object_id", "msi_res_id", "mi_res_id", "principal_id", "clientid")
SECRET_HEADERS = ("metadata", "x-identity-header", "secret", "authorization")

DRIVER = r"""
import json, sys
from azure.identity import ManagedIdentityCredential
kw = json.loads(sys.argv[1])
tok = ManagedIdentityCredential(**kw).get_token(sys.argv[2])
print(json.dumps({"token": tok.token, "expires_on": tok.expires_on}))
"""


def _azure_identity():
    try:
        p = subprocess.run([PY, "-c", "import azure.identity; print(azure.identity.__version__)"],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        return None, str(e)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or ["import failed"])[-1]
    return p.stdout.strip(), None


VERSION, WHY_NOT = _azure_identity()
if VERSION is None:
    sys.stdout.write("differential check skipped: azure-identity is not importable by %s (%s); "
                     "install python3-azure to run it\n" % (PY, WHY_NOT))


@unittest.skipIf(VERSION is None, "azure-identity not importable by %s: %s" % (PY, WHY_NOT))
class SameRequestsAsAzureIdentity(SourceTestCase):

    def run_sdk(self, env, kwargs):
        penv = dict(env, PYTHONDONTWRITEBYTECODE="1")
        p = subprocess.run([PY, "-c", DRIVER, json.dumps(kwargs), SCOPE], env=penv, capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(p.returncode, 0, "azure-identity %s failed:\n%s" % (VERSION, p.stderr[-3000:]))
        return json.loads(p.stdout)

    @staticmethod
    def shape(q):
        """What must agree: method, path, api-version, resource and identity
        parameters (query, or form body for POST), which secret headers."""
        params = dict(q["query"])
        if q["method"] == "POST":
            params.update(form(q["body"]))
        return {
            "method": q["method"],
            "path": q["path"],
            "api-version": params.get("api-version"),
            "resource": params.get("resource"),
            "identity": {k: v for k, v in params.items() if k in IDENTITY_PARAMS},
            "other params": sorted(k for k in params if k not in IDENTITY_PARAMS + ("api-version", "resource")),
            "secret headers": {k: q["headers"][k] for k in SECRET_HEADERS if k in q["headers"]},
        }

    def compare(self, env, sdk_kwargs, azmi_args):
        self.standin.reset()
        sdk = self.run_sdk(env, sdk_kwargs)
        sdk_reqs = [q for q in self.all_requests() if q.get("status") == 200]
        self.assertEqual(len(sdk_reqs), 1, self.all_requests())
        self.standin.reset()
        r = self.azmi("token", "--scope", SCOPE, "--no-cache", "--json", *azmi_args, env=env)
        self.assertOk(r)
        azmi_reqs = self.all_requests()
        self.assertEqual(len(azmi_reqs), 1, azmi_reqs)
        self.assertEqual(self.shape(azmi_reqs[0]), self.shape(sdk_reqs[0]),
                         "azmi and azure-identity %s disagree" % VERSION)
        out = json.loads(r.stdout)
        self.assertLessEqual(abs(out["expires_on"] - sdk["expires_on"]), 5)

    def each_identity(self, env, flags):
        """System-assigned, then each user-assigned selector the source takes
        (flags: azure-identity keyword -> azmi option)."""
        _, users = self.identities()
        key_of = {"client_id": "client_id", "object_id": "object_id", "principal_id": "object_id",
                  "mi_res_id": "resource_id", "msi_res_id": "resource_id"}
        with self.subTest(identity="system"):
            self.compare(env, {}, [])
        for kind, flag in flags:
            value = users[0][key_of[kind]]
            with self.subTest(identity=kind):
                kwargs = {"client_id": value} if kind == "client_id" else {"identity_config": {kind: value}}
                self.compare(env, kwargs, [flag, value])

    def test_imds(self):
        self.each_identity(self.base_env(), [("client_id", "--client-id"), ("object_id", "--object-id"),
                                             ("msi_res_id", "--msi-res-id")])

    def test_app_service_2019(self):
        env = self.appservice_env()
        # The SDK sends whichever key its caller puts in identity_config:
        # principal_id is the one azmi uses for an object id here.
        self.each_identity(env, [("client_id", "--client-id"), ("principal_id", "--object-id"),
                                 ("mi_res_id", "--msi-res-id")])

    def test_cloud_shell(self):
        self.each_identity(self.cloudshell_env(), [])

    def test_azure_ml(self):
        self.each_identity(self.azureml_env(), [("client_id", "--client-id")])


if __name__ == "__main__":
    unittest.main()

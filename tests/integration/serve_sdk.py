"""The Azure SDKs, unmodified, get their tokens through `azmi serve`:
Python azure-identity (Debian's python3-azure) and Node @azure/identity
(in build/node-sdk, the version suite 25 chose for this Node), with ManagedIdentityCredential and
DefaultAzureCredential, told only IDENTITY_ENDPOINT and IDENTITY_HEADER."""

import json
import os
import subprocess
import threading

from harness import ROOT, STORAGE, VAULT
from serve_common import ServeTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_PREFIX = os.environ.get("AZMI_NODE_PREFIX") or os.path.join(ROOT, "build", "node-sdk")
NODE_SDK_VERSION = os.environ.get("AZMI_NODE_SDK_VERSION", "")


class SdkClients(ServeTestCase):

    def setUp(self):
        super().setUp()
        _, users = self.identities()
        self.one = users[0]
        self.srv = self.start_serve(["--allow-client-id", self.one["client_id"],
                                     "--allow-msi-res-id", self.one["resource_id"]])

    def client_env(self):
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.home, "LANG": "C.UTF-8",
               "AZMI_NODE_PREFIX": NODE_PREFIX, "NO_PROXY": "*"}
        if os.environ.get("NODE_OPTIONS"):
            env["NODE_OPTIONS"] = os.environ["NODE_OPTIONS"]
        env.update(self.srv.env_for_client())
        return env

    def run_sdk(self, lang, kind, scope, *ident):
        if lang == "python":
            cmd = ["/usr/bin/python3", os.path.join(HERE, "sdk", "get_token.py"), kind, scope]
        else:
            cmd = ["node", os.path.join(HERE, "sdk", "get_token.mjs"), kind, scope]
        p = subprocess.run(cmd + list(ident), env=self.client_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, "%s %s: %s\n%s" % (lang, kind, p.stderr[-3000:], self.srv.output()[-2000:]))
        return json.loads(p.stdout)

    def check(self, out, identity, resource):
        claims = self.check_token(out["token"], identity, resource)
        self.assertLessEqual(abs(out["expires_on"] - claims["exp"]), 1)

    def system(self):
        system, _ = self.identities()
        st = self.standin.state()["config"]
        return dict(system, resource_id="/subscriptions/%s/resourcegroups/%s/providers/Microsoft.Compute/"
                    "virtualMachines/%s" % (st["subscription_id"], st["resource_group"], st["vm_name"]))

    def test_python_managed_identity_credential(self):
        self.check(self.run_sdk("python", "managed", STORAGE + "/.default"), self.system(), STORAGE)
        self.check(self.run_sdk("python", "managed", STORAGE + "/.default"), self.system(), STORAGE)
        self.assertEqual(len(self.token_requests()), 1, "the second process was not served from the cache")

    def test_python_default_azure_credential(self):
        self.check(self.run_sdk("python", "default", VAULT + "/.default"), self.system(), VAULT)

    def test_python_user_assigned(self):
        self.check(self.run_sdk("python", "managed", VAULT + "/.default", "client_id=" + self.one["client_id"]),
                   self.one, VAULT)
        self.check(self.run_sdk("python", "managed", STORAGE + "/.default",
                                "resource_id=" + self.one["resource_id"]), self.one, STORAGE)

    def test_node_sdk_is_the_one_chosen(self):
        """The Node tests run the @azure/identity the suite installed, not another copy on the path."""
        p = subprocess.run(["node", "-e", "const m = require('module').createRequire(process.argv[1]);"
                            "console.log(m('@azure/identity/package.json').version)",
                            os.path.join(NODE_PREFIX, "index.js")],
                           env=self.client_env(), capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        self.assertTrue(NODE_SDK_VERSION, "AZMI_NODE_SDK_VERSION is not set (run through tests/suite-25-serve.sh)")
        self.assertEqual(p.stdout.strip(), NODE_SDK_VERSION)

    def test_node_managed_identity_credential(self):
        self.check(self.run_sdk("node", "managed", STORAGE + "/.default"), self.system(), STORAGE)
        self.check(self.run_sdk("node", "managed", STORAGE + "/.default"), self.system(), STORAGE)
        self.assertEqual(len(self.token_requests()), 1)

    def test_node_default_azure_credential(self):
        self.check(self.run_sdk("node", "default", VAULT + "/.default"), self.system(), VAULT)

    def test_node_user_assigned(self):
        self.check(self.run_sdk("node", "managed", VAULT + "/.default", "clientId=" + self.one["client_id"]),
                   self.one, VAULT)
        self.check(self.run_sdk("node", "default", STORAGE + "/.default", "resourceId=" + self.one["resource_id"]),
                   self.one, STORAGE)

    def test_node_refused_identity_fails(self):
        _, users = self.identities()
        p = subprocess.run(["node", os.path.join(HERE, "sdk", "get_token.mjs"), "managed", STORAGE + "/.default",
                            "clientId=" + users[1]["client_id"]], env=self.client_env(), capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.token_requests(), [])

    def test_python_and_node_together_one_imds_request(self):
        outs, errs = [], []

        def one(lang):
            try:
                outs.append(self.run_sdk(lang, "managed", STORAGE + "/.default")["token"])
            except AssertionError as e:
                errs.append(str(e))

        threads = [threading.Thread(target=one, args=(lang,)) for lang in ["python", "node"] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errs, [])
        self.assertEqual(len(set(outs)), 1)
        self.assertEqual(len(self.token_requests()), 1)

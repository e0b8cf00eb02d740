"""azmi ssh-token: on a workstation, the token that answers pam_azmi's SSH prompt, from the
user's Azure CLI sign-in (the fake az here), whole or split into SSH-sized answers."""

import unittest

from srcutil import SourceTestCase

APP = "api://vm1"


class SshToken(SourceTestCase):

    def run_ssh_token(self, *args):
        bindir, token, _ = self.fake_az(resource=APP)
        env = self.with_az(self.base_env(), bindir)
        return self.azmi("ssh-token", "--resource", APP, *args, env=env), token

    def test_prints_the_cli_token_for_the_app(self):
        r, token = self.run_ssh_token()
        self.assertOk(r)
        self.assertTokenLine(r, token)
        starts = [e for e in self.az_log() if e["event"] == "start"]
        self.assertEqual(len(starts), 1)
        argv = starts[0]["argv"]
        self.assertEqual(argv[:2], ["account", "get-access-token"])
        self.assertEqual(argv[argv.index("--resource") + 1], APP)
        self.assertEqual(self.all_requests(), [], "a managed identity was asked")

    def test_split_lines_fit_ssh_and_join_back(self):
        r, token = self.run_ssh_token("--split")
        self.assertOk(r)
        lines = r.stdout.split("\n")
        self.assertEqual(lines[-1], "")
        lines = lines[:-1]
        self.assertGreater(len(token), 1000, "the minted token is too short to need splitting")
        self.assertGreaterEqual(len(lines), 2)
        for line in lines[:-1]:
            self.assertTrue(line.endswith("\\"), line[-20:])
        self.assertFalse(lines[-1].endswith("\\"))
        for line in lines:
            self.assertLessEqual(len(line) + 1, 1023, "longer than ssh reads in one answer")
        self.assertEqual("".join(l.rstrip("\\") for l in lines), token)

    def test_resource_is_required(self):
        r = self.azmi("ssh-token", env=self.base_env())
        self.assertAzmiError(r, 2, "--resource")

    def test_not_logged_in(self):
        bindir, _, _ = self.fake_az(mode="not_logged_in", resource=APP)
        r = self.azmi("ssh-token", "--resource", APP, env=self.with_az(self.base_env(), bindir))
        self.assertAzmiError(r, 3, "az login")


if __name__ == "__main__":
    unittest.main()

"""Integration tests of the Azure Arc source: the 401 challenge, the key-file
rules, user-assigned ids and their echo, detection by the agent binary.

/var/opt/azcmagent/tokens and /opt/azcmagent exist only inside a private
mount namespace per azmi run (tmpfs on /var/opt and /opt, and a bind mount of
the test's own directory, where the stand-in writes its key files, onto the
tokens directory): the host is never touched."""

import os
import unittest

from harness import ARC_DEFAULT_PORT, STORAGE, VAULT
from srcutil import ARC_PATH, ARC_TOKENS_DIR, SourceTestCase, can_unshare_mount

NOBODY = (65534, 65534)


class ArcBase(SourceTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not can_unshare_mount():
            raise unittest.SkipTest("cannot create a private mount namespace here")

    def setUp(self):
        super().setUp()
        self.keydir = os.path.join(self.tmp, "tokens")
        os.mkdir(self.keydir)
        os.chmod(self.keydir, 0o755)
        self.standin.config(arc={"key_dir": self.keydir, "realm_dir": ARC_TOKENS_DIR})

    def setup_cmds(self, himds=False):
        cmds = [
            "mount -t tmpfs -o mode=0755 azmi-test /var/opt",
            "mkdir -p %s" % ARC_TOKENS_DIR,
            "mount --bind '%s' %s" % (self.keydir, ARC_TOKENS_DIR),
        ]
        if himds:
            cmds += [
                "mount -t tmpfs -o mode=0755 azmi-test /opt",
                "mkdir -p /opt/azcmagent/bin",
                "printf '#!/bin/sh\\nexit 0\\n' > /opt/azcmagent/bin/himds",
                "chmod 0755 /opt/azcmagent/bin/himds",
            ]
        return cmds

    def arc(self, *args, env=None, himds=False, user=None):
        env = self.arc_env() if env is None else env
        return self.azmi_mountns("token", *args, env=env, setup=self.setup_cmds(himds), user=user)

    def arc_requests(self):
        return self.standin.requests(listener="arc")

    def key_files(self):
        return sorted(n for n in os.listdir(self.keydir) if n.endswith(".key"))

    def fixed_realm(self, realm, secret="fixed-arc-secret-0123456789"):
        self.standin.config(arc={"realm": realm, "secret": secret})

    def write_key(self, name, content="fixed-arc-secret-0123456789", mode=0o640):
        path = os.path.join(self.keydir, name)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
        return path


class ArcChallenge(ArcBase):

    def test_challenge_and_answer(self):
        r = self.arc("--resource", STORAGE, "--json")
        out = self.assertJsonSource(r, "arc")
        reqs = self.all_requests()
        self.assertEqual(len(reqs), 2, reqs)
        first, second = reqs
        for q in reqs:
            self.assertEqual(q["listener"], "arc")
            self.assertEqual(q["method"], "GET")
            self.assertEqual(q["path"], ARC_PATH)
            self.assertEqual(q["query"], {"api-version": ["2020-06-01"], "resource": [STORAGE]})
            self.assertEqual(q["headers"].get("metadata"), "true")
            self.assertNotIn("x-forwarded-for", q["headers"])
            self.assertEqual(q["body"], "")
        self.assertNotIn("authorization", first["headers"])
        self.assertEqual(first["status"], 401)
        files = self.key_files()
        self.assertEqual(len(files), 1, files)
        with open(os.path.join(self.keydir, files[0])) as f:
            secret = f.read()
        self.assertEqual(second["headers"].get("authorization"), "Basic " + secret)
        ans = self.answer(second)
        self.assertEqual(out["access_token"], ans["access_token"])
        self.assertLessEqual(abs(out["expires_on"] - int(ans["expires_on"])), 5)
        system, _ = self.identities()
        self.check_token(out["access_token"], system, STORAGE)
        self.assertEqual([q for q in reqs if q["listener"] == "main"], [], "IMDS was asked too")

    def _selector(self, flag, param, key):
        _, users = self.identities()
        ident = users[1]
        r = self.arc("--resource", VAULT, flag, ident[key])
        self.assertOk(r)
        reqs = self.arc_requests()
        self.assertEqual(len(reqs), 2, reqs)
        self.assertEqual(reqs[1]["query"], {"api-version": ["2020-06-01"], "resource": [VAULT],
                                            param: [ident[key]]})
        self.assertTokenLine(r, self.minted(reqs[1]))
        self.check_token(r.stdout.strip(), ident, VAULT)

    def test_client_id(self):
        self._selector("--client-id", "client_id", "client_id")

    def test_object_id(self):
        self._selector("--object-id", "object_id", "object_id")

    def test_msi_res_id(self):
        self._selector("--msi-res-id", "msi_res_id", "resource_id")

    def test_answer_for_another_identity_is_refused(self):
        _, users = self.identities()
        self.standin.config(arc={"echo": {"client_id": users[0]["client_id"]}})
        r = self.arc("--resource", VAULT, "--client-id", users[1]["client_id"], "--timeout", "10")
        self.assertAzmiError(r, (4, 5), "client_id")
        self.assertEqual(r.stdout, "")
        self.assertEqual(len(self.arc_requests()), 2)
        self.assertNotInCache(self.minted(self.arc_requests()[1]).split(".")[2])

    def test_answer_without_the_id_is_refused(self):
        _, users = self.identities()
        self.standin.config(arc={"echo": {"client_id": None}})
        r = self.arc("--resource", VAULT, "--client-id", users[1]["client_id"], "--timeout", "10")
        self.assertAzmiError(r, (4, 5), "client_id")
        self.assertEqual(r.stdout, "")

    def test_detected_by_agent_binary(self):
        if self.standin.ports["arc"] != ARC_DEFAULT_PORT:
            self.skipTest("the arc listener is not on port %d" % ARC_DEFAULT_PORT)
        r = self.arc("--resource", STORAGE, "--json", env=self.base_env(), himds=True)
        self.assertJsonSource(r, "arc")
        reqs = self.all_requests()
        self.assertEqual([q["listener"] for q in reqs], ["arc", "arc"], reqs)
        self.assertEqual(reqs[0]["headers"].get("host"), "127.0.0.1:%d" % ARC_DEFAULT_PORT)
        self.assertEqual(reqs[0]["path"], "/metadata/identity/oauth2/token")

    def test_no_agent_no_arc(self):
        # Without the agent binary and without IMDS_ENDPOINT: IMDS.
        env = self.arc_env()
        del env["IMDS_ENDPOINT"]
        del env["IDENTITY_ENDPOINT"]
        r = self.arc("--resource", STORAGE, "--json", env=env)
        self.assertJsonSource(r, "imds")
        self.assertEqual(self.arc_requests(), [])

    def test_500_is_retried(self):
        self.standin.script(ARC_PATH, [{"status": 500}], listener="arc")
        r = self.arc("--resource", STORAGE, "--timeout", "20")
        self.assertOk(r)
        self.assertEqual([q["status"] for q in self.arc_requests()], [500, 401, 200])

    def test_400_is_not_retried(self):
        self.standin.script(ARC_PATH, [{"status": 400, "repeat": 3}], listener="arc")
        r = self.arc("--resource", STORAGE, "--timeout", "10")
        self.assertAzmiError(r, 4, "400")
        self.assertEqual(len(self.arc_requests()), 1)

    def test_401_without_challenge(self):
        self.standin.script(ARC_PATH, [{"status": 401, "repeat": 3}], listener="arc")
        r = self.arc("--resource", STORAGE, "--timeout", "10")
        self.assertAzmiError(r, (4, 5), ("www-authenticate", "realm", "challenge"))
        self.assertEqual(len(self.arc_requests()), 1)

    def test_wrong_key_is_refused_once(self):
        self.fixed_realm(ARC_TOKENS_DIR + "/stale.key", secret="the-right-one")
        self.write_key("stale.key", "a-stale-key")
        r = self.arc("--resource", STORAGE, "--timeout", "10")
        self.assertAzmiError(r, 4, "401")
        reqs = self.arc_requests()
        self.assertEqual(len(reqs), 2, "no loop on a second 401: %r" % reqs)
        self.assertEqual(reqs[1]["headers"].get("authorization"), "Basic a-stale-key")
        self.assertNotIn("a-stale-key", r.stderr, "the key leaked into the message")
        self.assertNotIn("IDENTITY_HEADER", r.stderr, "the hint names another source's variable")


class ArcKeyFile(ArcBase):
    """Each bad realm is refused before the key is read or sent: exactly one
    request (the challenge), a message naming the reason."""

    def refused(self, realm, *words, user=None):
        self.fixed_realm(realm)
        r = self.arc("--resource", STORAGE, "--timeout", "10", user=user)
        self.assertAzmiError(r, (4, 5), *words)
        self.assertEqual(r.stdout, "")
        self.assertLess(r.elapsed, 8, r)
        reqs = self.arc_requests()
        self.assertEqual(len(reqs), 1, "the key was sent: %r" % reqs)
        return r

    def test_outside_the_directory(self):
        outside = os.path.join(self.tmp, "outside.key")
        with open(outside, "w") as f:
            f.write("fixed-arc-secret-0123456789")
        self.refused(outside, ARC_TOKENS_DIR)

    def test_in_a_subdirectory(self):
        os.mkdir(os.path.join(self.keydir, "sub"))
        self.write_key("sub/x.key")
        self.refused(ARC_TOKENS_DIR + "/sub/x.key", ARC_TOKENS_DIR)

    def test_dot_dot(self):
        self.write_key("x.key")
        self.refused(ARC_TOKENS_DIR + "/../tokens/x.key", ARC_TOKENS_DIR)

    def test_relative_path(self):
        self.write_key("x.key")
        self.refused("x.key", (ARC_TOKENS_DIR, "absolute", "invalid"))

    def test_wrong_suffix(self):
        self.write_key("secret.txt")
        self.refused(ARC_TOKENS_DIR + "/secret.txt", ".key")

    def test_symlink(self):
        self.write_key("real.key")
        os.symlink("real.key", os.path.join(self.keydir, "link.key"))
        self.refused(ARC_TOKENS_DIR + "/link.key", ("symlink", "symbolic link"))

    def test_too_big(self):
        self.write_key("big.key", "k" * 5000)
        self.refused(ARC_TOKENS_DIR + "/big.key", ("4096", "too large", "too big"))

    def test_fifo(self):
        os.mkfifo(os.path.join(self.keydir, "fifo.key"), 0o640)
        self.refused(ARC_TOKENS_DIR + "/fifo.key", "regular")

    def test_directory(self):
        os.mkdir(os.path.join(self.keydir, "dir.key"))
        self.refused(ARC_TOKENS_DIR + "/dir.key", "regular")

    def test_missing(self):
        self.refused(ARC_TOKENS_DIR + "/gone.key", ("no such file", "not found", "missing", "does not exist"))

    def test_4096_bytes_is_fine(self):
        key = "k" * 4096
        self.fixed_realm(ARC_TOKENS_DIR + "/max.key", secret=key)
        self.write_key("max.key", key)
        r = self.arc("--resource", STORAGE)
        self.assertOk(r)
        reqs = self.arc_requests()
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[1]["headers"].get("authorization"), "Basic " + key)

    def test_unreadable_for_a_caller_outside_himds(self):
        if os.getuid() != 0:
            self.skipTest("needs real root to drop to nobody")
        # A world-readable config, a cache dir of nobody's own.
        os.chmod(self.tmp, 0o755)
        os.chmod(self.config_file, 0o644)
        cache = os.path.join(self.tmp, "nobody-cache")
        os.mkdir(cache, 0o700)
        os.chown(cache, *NOBODY)
        env = self.arc_env()
        env["AZMI_CACHE_DIR"] = cache
        env["HOME"] = cache
        # Challenge files as the agent writes them: 0640 root:root.
        self.standin.config(arc={"key_mode": 0o640})
        r = self.arc("--resource", STORAGE, "--timeout", "10", "--no-cache", env=env, user=NOBODY)
        self.assertAzmiError(r, (4, 5), "root", "himds")
        self.assertEqual(len(self.arc_requests()), 1)


if __name__ == "__main__":
    unittest.main()

"""Integration tests of azmi's cross-process token cache.

File names and formats are azmi's business: the tests only look for regular
files in the cache directory and tamper with all of them."""

import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import unittest

from harness import ARM, AZMI, IMDS_TOKEN_PATH, STORAGE, WRAPPER, AzmiTestCase


def nobody():
    try:
        p = pwd.getpwnam("nobody")
        return p.pw_uid, p.pw_gid
    except KeyError:
        return 65534, 65534


class CrossProcessCache(AzmiTestCase):

    def first_run(self):
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1)
        token = self.minted(reqs[0])
        self.assertTokenLine(r, token)
        files = [p for p, st in self.cache_files() if stat.S_ISREG(st.st_mode)]
        self.assertTrue(files, "azmi left no file in the cache dir %s" % self.cache_dir)
        return token, files

    def second_run_asks_again(self, first_token, extra_words=()):
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, "the tampered cache was trusted")
        token2 = self.minted(reqs[1])
        self.assertNotEqual(token2, first_token)
        self.assertTokenLine(r, token2)
        return r

    def test_second_run_is_served_from_the_cache(self):
        token, _ = self.first_run()
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        self.assertTokenLine(r, token)
        self.assertEqual(len(self.token_requests()), 1)

    def test_cache_files_are_private(self):
        token, _ = self.first_run()
        st = os.stat(self.cache_dir)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        parts = token.split(".")
        for p, lst in self.cache_files():
            self.assertFalse(stat.S_ISLNK(lst.st_mode), "%s is a symlink" % p)
            self.assertTrue(stat.S_ISREG(lst.st_mode), "%s is not a regular file" % p)
            self.assertEqual(stat.S_IMODE(lst.st_mode), 0o600, "%s has mode %o" % (p, lst.st_mode))
            self.assertEqual(lst.st_uid, os.geteuid(), p)
            name = os.path.basename(p)
            for part in parts:
                for i in range(0, max(1, len(part) - 12), 6):
                    self.assertNotIn(part[i:i + 12], name, "token text in the file name %s" % name)
        for dirpath, dirnames, _ in os.walk(self.cache_dir):
            for d in dirnames:
                m = stat.S_IMODE(os.lstat(os.path.join(dirpath, d)).st_mode)
                self.assertEqual(m & 0o077, 0, "%s/%s has mode %o" % (dirpath, d, m))

    def test_keyed_by_resource(self):
        token_s, _ = self.first_run()
        r = self.azmi("token", "--resource", ARM)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[1]["query"]["resource"], [ARM])
        self.assertTokenLine(r, self.minted(reqs[1]))
        r = self.azmi("token", "--resource", STORAGE)
        self.assertTokenLine(r, token_s)
        self.assertEqual(len(self.token_requests()), 2)

    def test_keyed_by_identity(self):
        system, users = self.identities()
        token_sys, _ = self.first_run()
        r = self.azmi("token", "--resource", STORAGE, "--client-id", users[0]["client_id"])
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, "a user-assigned request was served the system identity's token")
        self.assertTokenLine(r, self.minted(reqs[1]))
        self.check_token(r.stdout.strip(), users[0], STORAGE)
        env = self.base_env()
        env["AZURE_CLIENT_ID"] = users[1]["client_id"]
        r = self.azmi("token", "--resource", STORAGE, env=env)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 3, "AZURE_CLIENT_ID was served another identity's token")
        self.check_token(r.stdout.strip(), users[1], STORAGE)
        r = self.azmi("token", "--resource", STORAGE)
        self.assertTokenLine(r, token_sys)
        self.assertEqual(len(self.token_requests()), 3)

    def test_no_cache_always_asks(self):
        self.first_run()
        for n in (2, 3):
            r = self.azmi("token", "--resource", STORAGE, "--no-cache")
            self.assertOk(r)
            reqs = self.token_requests()
            self.assertEqual(len(reqs), n)
            self.assertTokenLine(r, self.minted(reqs[-1]))

    def test_token_near_expiry_is_not_served(self):
        self.standin.config(token_lifetime=240)  # inside the 5-minute margin
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        r = self.azmi("token", "--resource", STORAGE)
        self.assertOk(r)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 2, "a token with %s s left (inside the 5-minute refresh margin) "
                         "was served from the cache" % self.answer(reqs[0])["expires_in"])
        self.assertTokenLine(r, self.minted(reqs[1]))

    def test_fifty_processes_cold_cache(self):
        # The first answer is slow so that a missing lock shows.
        self.standin.script(IMDS_TOKEN_PATH, [{"status": 200, "delay_ms": 400}])
        env = self.base_env()
        cmd = WRAPPER + [AZMI, "token", "--resource", STORAGE, "--timeout", "30"]
        procs = [subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE) for _ in range(50)]
        outs = []
        for p in procs:
            try:
                out, err = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
            outs.append((p.returncode, out.decode(), err.decode()))
        reqs = self.token_requests()
        bad = [o for o in outs if o[0] != 0]
        self.assertEqual(bad, [], "%d of 50 failed, first: %r" % (len(bad), bad[:1]))
        self.assertEqual(len(reqs), 1, "50 cold processes made %d token requests" % len(reqs))
        token = self.minted(reqs[0])
        self.assertEqual({o[1] for o in outs}, {token + "\n"})

    # --- tampering --------------------------------------------------------------------

    def test_planted_file_owned_by_someone_else(self):
        token, files = self.first_run()
        uid, gid = nobody()
        try:
            for f in files:
                os.chown(f, uid, gid)
        except OSError as e:
            self.skipTest("cannot chown here: %s" % e)
        self.second_run_asks_again(token)

    def test_planted_file_mode_0644(self):
        token, files = self.first_run()
        for f in files:
            os.chmod(f, 0o644)
        self.second_run_asks_again(token)

    def test_planted_symlink(self):
        token, files = self.first_run()
        elsewhere = tempfile.mkdtemp(prefix="elsewhere-", dir=self.tmp)
        targets = {}
        for i, f in enumerate(files):
            t = os.path.join(elsewhere, "target%d" % i)
            shutil.move(f, t)
            os.symlink(t, f)
            with open(t, "rb") as fh:
                targets[t] = fh.read()
        self.second_run_asks_again(token)
        for t, data in targets.items():
            with open(t, "rb") as fh:
                self.assertEqual(fh.read(), data, "azmi wrote through a planted symlink to %s" % t)

    def test_corrupt_content(self):
        token, files = self.first_run()
        for f in files:
            if os.path.getsize(f) > 0:
                with open(f, "r+b") as fh:
                    size = os.path.getsize(f)
                    fh.write(b"\x00{\"garbage\": [" + b"\xff" * max(0, size - 14))
        self.second_run_asks_again(token)

    def test_truncated_content(self):
        token, files = self.first_run()
        for f in files:
            size = os.path.getsize(f)
            if size > 0:
                os.truncate(f, size // 2)
        self.second_run_asks_again(token)

    def test_cache_dir_mode_0755(self):
        token, _ = self.first_run()
        os.chmod(self.cache_dir, 0o755)
        self.second_run_asks_again(token)

    def test_cache_dir_owned_by_someone_else(self):
        token, _ = self.first_run()
        uid, gid = nobody()
        try:
            os.chown(self.cache_dir, uid, gid)
        except OSError as e:
            self.skipTest("cannot chown here: %s" % e)
        self.second_run_asks_again(token)


if __name__ == "__main__":
    unittest.main()

"""Integration tests: answers a broken or hostile endpoint could send.

Each must end in a non-zero exit with a clear message, print no token, leave
nothing usable in the cache, and not stop the next run from asking again."""

import unittest

from harness import IMDS_TOKEN_PATH, STORAGE, AzmiTestCase

RSS_LIMIT_KB = 64 * 1024


class HostileAnswers(AzmiTestCase):

    def hostile(self, response, words=(), timeout="4", bad_text=None, measure_rss=False,
                rc=5, max_elapsed=None):
        """Script `response` (repeatedly, so that retrying cannot help), run
        azmi, check the failure, then check the next normal run asks again."""
        self.standin.script(IMDS_TOKEN_PATH, [dict(response, repeat=20)])
        r = self.azmi("token", "--resource", STORAGE, "--timeout", timeout, measure_rss=measure_rss)
        self.assertAzmiError(r, rc, "127.0.0.1:%d" % self.standin.port, *words)
        self.assertEqual(r.stdout, "", "something was printed as a token")
        self.assertLess(len(r.stderr), 4096, "the error message is not short: %d bytes" % len(r.stderr))
        if bad_text:
            self.assertNotIn(bad_text[:200], r.stderr, "the bad token was echoed")
            self.assertNotInCache(bad_text[:200])
        if max_elapsed is not None:
            self.assertLessEqual(r.elapsed, max_elapsed, r)
        # Nothing usable was cached: a normal answer is fetched next time.
        seen = len(self.token_requests())
        self.standin.reset()
        r2 = self.azmi("token", "--resource", STORAGE, "--timeout", "10")
        self.assertOk(r2)
        reqs = self.token_requests()
        self.assertEqual(len(reqs), 1, "the run after the hostile answer did not ask the endpoint")
        self.assertTokenLine(r2, self.minted(reqs[0]))
        return r, seen

    def test_non_json_200(self):
        self.hostile({"status": 200, "body": "<html><body>Please log in to the proxy</body></html>",
                      "headers": {"Content-Type": "text/html"}}, words=["json"])

    def test_json_array_200(self):
        self.hostile({"status": 200, "body": "[]"})

    def test_empty_200(self):
        self.hostile({"status": 200, "body": ""})

    def test_truncated_body(self):
        self.hostile({"status": 200, "truncate": 60})

    def test_connection_reset(self):
        self.hostile({"reset": True})

    def test_50_mib_body(self):
        r, _ = self.hostile({"size_mb": 50}, timeout="20", measure_rss=True, max_elapsed=5)
        self.assertLess(r.maxrss_kb, RSS_LIMIT_KB, "peak RSS %d KiB" % r.maxrss_kb)

    def test_50_mib_chunked_body(self):
        r, _ = self.hostile({"size_mb": 50, "chunked": True}, timeout="20", measure_rss=True, max_elapsed=5)
        self.assertLess(r.maxrss_kb, RSS_LIMIT_KB, "peak RSS %d KiB" % r.maxrss_kb)

    def test_50_mib_error_body(self):
        r, _ = self.hostile({"size_mb": 50, "status": 400}, timeout="20", measure_rss=True,
                            max_elapsed=5, rc=(4, 5))
        self.assertLess(r.maxrss_kb, RSS_LIMIT_KB, "peak RSS %d KiB" % r.maxrss_kb)

    def test_missing_access_token(self):
        self.hostile({"status": 200, "fields": {"access_token": None}}, words=["access_token"])

    def test_access_token_number(self):
        self.hostile({"status": 200, "fields": {"access_token": 12345}}, words=["access_token"])

    def test_access_token_object(self):
        self.hostile({"status": 200, "fields": {"access_token": {"jwt": "x.y.z"}}}, words=["access_token"])

    def test_access_token_empty(self):
        self.hostile({"status": 200, "fields": {"access_token": ""}}, words=["access_token"])

    def test_huge_token(self):
        big = "eyJ0eXAiOiJKV1QifQ." + "A" * 100000 + ".c2ln"
        self.hostile({"status": 200, "fields": {"access_token": big}}, bad_text=big)

    def test_token_with_newline(self):
        bad = "eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ\r\nX-Evil: 1.c2ln"
        self.hostile({"status": 200, "fields": {"access_token": bad}}, bad_text="X-Evil")

    def test_token_with_space(self):
        bad = "eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ c2lnbmF0dXJlLXNwYWNl"
        self.hostile({"status": 200, "fields": {"access_token": bad}}, bad_text="c2lnbmF0dXJlLXNwYWNl")

    def test_token_with_nul(self):
        bad = "eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ\u0000.c2lnbmF0dXJlLW51bA"
        self.hostile({"status": 200, "fields": {"access_token": bad}}, bad_text="c2lnbmF0dXJlLW51bA")

    def test_token_with_escape(self):
        bad = "eyJ0eXAiOiJKV1QifQ.eyJhIjoxfQ\u001b]0;owned\u0007.c2lnbmF0dXJlLWVzYw"
        self.hostile({"status": 200, "fields": {"access_token": bad}}, bad_text="c2lnbmF0dXJlLWVzYw")


if __name__ == "__main__":
    unittest.main()

"""Shared pieces of azmi's integration tests, and their runner.

The tests run the real `azmi` command against the local stand-in of Azure
(tests/standin/standin.py).  They are meant to run inside the private network
namespace tests/integration/run.sh creates: azmi under test could have a bug
that sends a request to the real IMDS address, and from the host network that
request would leave the machine.  Outside such a namespace every test that
runs azmi is skipped (set AZMI_TEST_ALLOW_HOST_NET=1 to override, at your own
risk).

    python3 tests/integration/harness.py [--name NAME] [unittest name patterns...]
runs the tests and ends with the line "NAME: N passed, M failed".
"""

import atexit
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))

from standin_client import (APPSERVICE_PATH, IMDS_TOKEN_PATH, Standin, jwt_parts,  # noqa: E402
                            jwt_verify, make_self_signed, make_signing_key, make_test_ca)

AZMI = os.environ.get("AZMI_BIN") or os.path.join(ROOT, "build", "azmi")
# Optional command prefix, e.g. "valgrind -q --error-exitcode=99".
WRAPPER = os.environ.get("AZMI_TEST_WRAPPER", "").split()
IMDS_ADDR = "169.254.169.254"
ARC_DEFAULT_PORT = 40342  # himds's fixed port; the arc listener takes it inside the namespace
DEAD_PROXY = "http://127.0.0.1:9"
STORAGE = "https://storage.azure.com"
ARM = "https://management.azure.com"
VAULT = "https://vault.azure.net"


# --- where are we? ---------------------------------------------------------------

def net_interfaces():
    """Interfaces of this process's network namespace."""
    names = []
    with open("/proc/self/net/dev") as f:
        for line in f.readlines()[2:]:
            names.append(line.split(":", 1)[0].strip())
    return names


def lo_addresses():
    try:
        out = subprocess.run(["ip", "-j", "addr", "show", "dev", "lo"], capture_output=True,
                             text=True, timeout=5).stdout
        return [a.get("local") for i in json.loads(out or "[]") for a in i.get("addr_info", [])]
    except (OSError, ValueError, subprocess.SubprocessError):
        return []


def in_private_netns():
    """True when this namespace has no interface but loopback, so nothing
    can leave the machine."""
    return net_interfaces() == ["lo"]


def imds_address_on_lo():
    return in_private_netns() and IMDS_ADDR in lo_addresses()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- the shared stand-in -------------------------------------------------------------

_shared = {}


def _port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def shared_standin():
    """One stand-in per test process, started on first use.  Besides its main
    http port it has listeners sharing its state: "entra" (https, certificate
    from a test CA: shared_pki()["ca"]), "sf" (Service Fabric, https with a
    self-signed certificate: shared_pki()["sf_thumbprint"]) and "arc" (http,
    on himds's port 40342 inside the private namespace)."""
    if "standin" not in _shared:
        keydir = tempfile.mkdtemp(prefix="azmi-it-key-")
        os.chmod(keydir, 0o755)  # the test CA must be readable by an unprivileged azmi too
        _shared["keydir"] = keydir
        _shared["key"] = make_signing_key(os.path.join(keydir, "signing.pem"))
        pki = make_test_ca(keydir)
        sf_cert, sf_key, sf_thumb = make_self_signed(keydir, "servicefabric")
        pki.update(sf_cert=sf_cert, sf_key=sf_key, sf_thumbprint=sf_thumb)
        _shared["pki"] = pki
        arc_port = ARC_DEFAULT_PORT if in_private_netns() and _port_free(ARC_DEFAULT_PORT) else 0
        listeners = [
            {"name": "entra", "role": "main", "cert": pki["cert"], "key": pki["key"]},
            {"name": "sf", "role": "sf", "cert": sf_cert, "key": sf_key},
            {"name": "arc", "role": "arc", "port": arc_port},
        ]
        _shared["standin"] = Standin(signing_key=_shared["key"], listeners=listeners).start()
        atexit.register(stop_shared)
    return _shared["standin"]


def shared_pki():
    """Paths of the test CA ("ca"), the Entra listener's certificate, and the
    Service Fabric listener's self-signed certificate and thumbprint."""
    shared_standin()
    return _shared["pki"]


def signing_key_path():
    shared_standin()
    return _shared["key"]


def stop_shared():
    s = _shared.pop("standin", None)
    if s:
        s.stop()
    if "keydir" in _shared:
        shutil.rmtree(_shared.pop("keydir"), ignore_errors=True)


# --- running azmi ---------------------------------------------------------------------

class Result:
    def __init__(self, args, rc, stdout, stderr, elapsed, maxrss_kb=None):
        self.args = args
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.maxrss_kb = maxrss_kb

    def __repr__(self):
        return "azmi %s -> rc=%s in %.2fs\n--- stdout:\n%s\n--- stderr:\n%s" % (
            " ".join(self.args), self.rc, self.elapsed, self.stdout[:2000], self.stderr[:2000])


class AzmiTestCase(unittest.TestCase):
    """Base: a reset stand-in, a fresh 0700 cache dir and a clean environment
    for every test."""

    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        if not in_private_netns() and os.environ.get("AZMI_TEST_ALLOW_HOST_NET") != "1":
            raise unittest.SkipTest("not inside a private network namespace: run tests/integration/run.sh")
        if not os.access(AZMI, os.X_OK):
            raise AssertionError("azmi binary not found at %s (run make)" % AZMI)
        cls.standin = shared_standin()

    def setUp(self):
        self.standin.reset()
        self.tmp = tempfile.mkdtemp(prefix="azmi-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.cache_dir = self.new_cache_dir()
        self.config_file = os.path.join(self.tmp, "azmi.conf")
        open(self.config_file, "w").close()
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home, 0o700)

    def new_cache_dir(self):
        d = tempfile.mkdtemp(prefix="cache-", dir=self.tmp)
        os.chmod(d, 0o700)
        return d

    # The environment azmi sees: nothing from ours but PATH, then the test's.
    def base_env(self, imds=True, cache_dir=None):
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": self.home,
            "AZMI_CONFIG": self.config_file,
            "AZMI_CACHE_DIR": cache_dir or self.cache_dir,
        }
        if imds:
            env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = self.standin.url
        for k, v in os.environ.items():  # sanitizer settings pass through
            if k.startswith(("ASAN_", "UBSAN_", "LSAN_", "MSAN_", "VALGRIND_")):
                env[k] = v
        return env

    def appservice_env(self, header=None, **kw):
        env = self.base_env(**kw)
        env["IDENTITY_ENDPOINT"] = self.standin.url + APPSERVICE_PATH
        env["IDENTITY_HEADER"] = header if header is not None else \
            self.standin.state()["config"]["identity_header"]
        return env

    def azmi(self, *args, env=None, timeout=60, measure_rss=False):
        env = self.base_env() if env is None else env
        cmd = WRAPPER + [AZMI] + list(args)
        rss_file = None
        if measure_rss:
            rss_file = os.path.join(self.tmp, "rss")
            cmd = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("azmi %s did not finish within %s s; stderr: %r"
                                 % (" ".join(args), timeout, (e.stderr or b"")[:2000]))
        elapsed = time.monotonic() - start
        maxrss = None
        if rss_file:
            with open(rss_file) as f:
                lines = [ln for ln in f.read().split("\n") if ln.strip()]
            maxrss = int(lines[-1])
        return Result(list(args), p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"), elapsed, maxrss)

    # --- what the stand-in saw -----------------------------------------------------

    def token_requests(self, path=IMDS_TOKEN_PATH):
        return self.standin.requests(path)

    def all_requests(self):
        return self.standin.requests()

    def minted(self, entry):
        """The access token the stand-in sent in answer to `entry`."""
        self.assertEqual(entry.get("status"), 200, entry)
        return json.loads(entry["response_body"])["access_token"]

    def answer(self, entry):
        return json.loads(entry["response_body"])

    # --- assertions -------------------------------------------------------------------

    def assertOk(self, r):
        self.assertEqual(r.rc, 0, r)

    def assertTokenLine(self, r, token):
        """stdout is exactly the token and a newline."""
        self.assertEqual(r.stdout, token + "\n", r)

    def assertAzmiError(self, r, rc, *words):
        """Exit code `rc` (int or tuple), stderr's first line starts 'azmi: ',
        and every word (case-insensitive; a tuple means any of them) is in stderr."""
        rcs = rc if isinstance(rc, tuple) else (rc,)
        self.assertIn(r.rc, rcs, r)
        self.assertTrue(r.stderr.startswith("azmi: "), r)
        low = r.stderr.lower()
        for w in words:
            alts = w if isinstance(w, tuple) else (w,)
            self.assertTrue(any(a.lower() in low for a in alts), "stderr lacks %r: %r" % (alts, r))

    def check_token(self, token, identity, resource):
        """Verify the JWT's signature with the stand-in's key and its claims
        against `identity` (dict with client_id, object_id, resource_id)."""
        st = self.standin.state()
        claims = jwt_verify(token, st["public_key_pem"])
        header = jwt_parts(token)[0]
        self.assertEqual(header["kid"], st["kid"])
        tid = st["tenant_id"]
        self.assertEqual(claims["aud"], resource.rstrip("/"))
        self.assertEqual(claims["iss"], "https://sts.windows.net/%s/" % tid)
        self.assertEqual(claims["tid"], tid)
        self.assertEqual(claims["appid"], identity["client_id"])
        self.assertEqual(claims["oid"], identity["object_id"])
        self.assertEqual(claims["sub"], identity["object_id"])
        self.assertEqual(claims["xms_mirid"], identity["resource_id"])
        self.assertGreater(claims["exp"], time.time())
        return claims

    def identities(self):
        st = self.standin.state()
        return st["system_identity"], st["user_identities"]

    def cache_files(self, cache_dir=None):
        """Every non-directory entry under the cache dir (path, lstat)."""
        out = []
        for dirpath, dirnames, filenames in os.walk(cache_dir or self.cache_dir):
            for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                p = os.path.join(dirpath, n)
                out.append((p, os.lstat(p)))
        return out

    def assertNotInCache(self, text, cache_dir=None):
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        for p, stt in self.cache_files(cache_dir):
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    self.assertNotIn(data, f.read(), "cache file %s holds %r" % (p, text[:40]))


# --- runner ---------------------------------------------------------------------------------

def main(argv):
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--name", default="20-integration")
    ap.add_argument("patterns", nargs="*", help="test names or modules (default: every test_*.py)")
    args = ap.parse_args(argv)
    sys.path.insert(0, HERE)
    loader = unittest.TestLoader()
    if args.patterns:
        suite = loader.loadTestsFromNames(args.patterns)
    else:
        suite = loader.discover(HERE, pattern="test_*.py", top_level_dir=HERE)
    print("azmi under test: %s" % AZMI)
    print("private network namespace: %s; %s on lo: %s" % (in_private_netns(), IMDS_ADDR, imds_address_on_lo()))
    sys.stdout.flush()
    start = time.monotonic()
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    try:
        res = runner.run(suite)
    finally:
        # The tests imported this file as the module "harness", a copy apart
        # from __main__: its stand-in is the one to stop.
        import harness
        harness.stop_shared()
        stop_shared()
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped - len(res.expectedFailures)
    if skipped:
        print("skipped %d:" % skipped)
        for t, why in res.skipped:
            print("  %s: %s" % (t.id(), why))
    if passed == 0 and failed == 0:
        print("no test ran")
        failed = 1
    print("wall time %.1f s" % (time.monotonic() - start))
    print("%s: %d passed, %d failed%s" % (args.name, passed, failed,
                                          ", %d skipped" % skipped if skipped else ""))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

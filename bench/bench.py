#!/usr/bin/python3
"""The body of `make bench`: azmi beside the Azure SDKs, against one local stand-in.

bench/run.sh starts this inside a private network namespace whose loopback
carries 169.254.169.254, where the stand-in (tests/standin/standin.py)
listens on port 80.  Every tool under test uses its default IMDS address,
with no override, as on a VM; nothing can leave the machine.  The curl
downloads go to Azurite on 127.0.0.1 under the real Blob Storage host name.

Prints a table and writes the same figures to BUILD/bench/results.json.

    /usr/bin/python3 bench/bench.py --build build [--runs 200] [--peer-runs 20] [--herd 100]
                                    [--curl-runs 200]
"""

import argparse
import http.server
import json
import math
import os
import platform
import resource
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))

from standin_client import IMDS_TOKEN_PATH, Standin, _die_with_parent, jwt_verify  # noqa: E402

IMDS_ADDR = "169.254.169.254"
RESOURCE = "https://storage.azure.com/"
AUDIENCE = "https://storage.azure.com"
PYTHON = "/usr/bin/python3"

# The curl downloads (section 5): Azurite as Blob Storage on 127.0.0.1, over https with a test CA.
CURL = "/usr/bin/curl"
AZ = "/usr/bin/az"  # Debian's azure-cli
ACCOUNT = "devstoreaccount1"
BLOB_HOST = ACCOUNT + ".blob.core.windows.net"
ARM_HOST = "management.azure.com"  # az login --identity lists subscriptions there
AZURITE_PORT = 10000
CONTAINER = "bench"
STORAGE_VERSION = "2021-08-06"  # what the plug-in sends as x-ms-version by default
BLOBS = (("4k", 4096), ("1m", 1 << 20))  # name, size in bytes


class BenchError(Exception):
    pass


class ArmStub:
    """Just enough of Azure Resource Manager for `az login --identity`: GET /subscriptions
    lists one subscription, for a bearer token the stand-in signed.  https on 127.0.0.1:443
    (ARM_HOST maps there in the namespace's /etc/hosts), only while az logs in."""

    def __init__(self, cert, key, pubkey, tenant, subscription):
        self.requests = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                auth = self.headers.get("Authorization") or ""
                try:
                    aud = jwt_verify(auth.split(" ", 1)[1], pubkey).get("aud") if auth.startswith("Bearer ") else None
                except Exception:  # noqa: BLE001 - any failure means "not a stand-in token"
                    aud = None
                stub.requests.append({"path": self.path, "aud": aud})
                if aud is None:
                    self.answer(401, {"error": {"code": "InvalidAuthenticationToken",
                                                "message": "no valid bearer token"}})
                elif self.path.split("?")[0] == "/subscriptions":
                    self.answer(200, {"value": [{
                        "id": "/subscriptions/" + subscription, "subscriptionId": subscription,
                        "tenantId": tenant, "displayName": "azmi bench", "state": "Enabled",
                        "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01",
                                                 "quotaId": "PayAsYouGo_2014-09-01", "spendingLimit": "Off"},
                        "authorizationSource": "RoleBased"}]})
                else:
                    self.answer(404, {"error": {"code": "NotFound", "message": "not in this stub"}})

            def answer(self, status, doc):
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 443), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# --- small helpers -------------------------------------------------------------------

def stats(values):
    """median, p90 (nearest rank), min, mean of a non-empty list."""
    v = sorted(values)
    n = len(v)
    med = v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2
    return {"median": med, "p90": v[max(0, math.ceil(0.9 * n) - 1)], "min": v[0],
            "mean": sum(v) / n, "n": n}


def first_line(text, limit=200):
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()[:limit]
    return ""


def in_private_netns():
    with open("/proc/self/net/dev") as f:
        names = [line.split(":", 1)[0].strip() for line in f.readlines()[2:]]
    return names == ["lo"]


def imds_on_lo():
    out = subprocess.run(["ip", "-j", "addr", "show", "dev", "lo"], capture_output=True, text=True).stdout
    return any(a.get("local") == IMDS_ADDR for i in json.loads(out or "[]") for a in i.get("addr_info", []))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_sample():
    """(busy seconds of all CPUs, seconds of all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(v[:8]) - v[3] - v[4]) / hz, sum(v[:8]) / hz


def cpu_busy(seconds=1.0):
    """Fraction of all CPUs busy (not idle or iowait) over `seconds`."""
    busy0, total0 = cpu_sample()
    time.sleep(seconds)
    busy1, total1 = cpu_sample()
    return round((busy1 - busy0) / max(1e-9, total1 - total0), 3)


def own_cpu():
    """CPU seconds used by this process and every child it has waited for."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


def wait_port(port, what, proc, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise BenchError("%s exited with status %s before listening" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError("%s did not listen on 127.0.0.1:%d within %d s" % (what, port, timeout))


def maps_to_loopback(host):
    try:
        return {a[4][0] for a in socket.getaddrinfo(host, 443, socket.AF_INET)} == {"127.0.0.1"}
    except OSError:
        return False


def command_output(cmd, env=None):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=30)
        return first_line(r.stdout) or first_line(r.stderr)
    except (OSError, subprocess.SubprocessError) as e:
        return "unknown (%s)" % e


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.join(ROOT, args.build)
        self.out = os.path.join(self.build, "bench")
        self.azmi = os.path.join(self.build, "azmi")
        self.spawn = os.path.join(self.out, "bench_spawn")
        self.cached = os.path.join(self.out, "bench_cached")
        self.loader = os.path.join(self.out, "bench_serve")
        self.node_dir = os.path.join(self.build, "bench-node")
        self.work = tempfile.mkdtemp(prefix="azmi-bench-")
        self.home = os.path.join(self.work, "home")
        os.mkdir(self.home, 0o700)
        self.config = os.path.join(self.work, "azmi.conf")
        with open(self.config, "w") as f:
            f.write("# empty: defaults only\n")
        os.chmod(self.config, 0o600)
        self.standin = None
        self.pubkey = None
        self.azurite = os.path.join(self.build, "node", "node_modules", ".bin", "azurite-blob")
        self.plugin = os.path.join(self.build, "libazmi_curl.so.1")
        self.results = {"machine": {}, "versions": {}, "azmi": {}, "python": {}, "node": {},
                        "reference": {}, "herd": {}, "serve": {}, "curl": {}, "az": {}, "ratios": {}, "targets": {},
                        "notes": []}

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)

    # --- environment of every measured process ------------------------------------------

    def env(self, **extra):
        """The same clean environment for every tool: no proxies, no Azure variables."""
        e = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": self.home, "LANG": "C.UTF-8",
             "AZMI_CONFIG": self.config}
        e.update({k: v for k, v in extra.items() if v is not None})
        return e

    def fresh_cache_dir(self):
        return tempfile.mkdtemp(prefix="cache-", dir=self.work)  # mode 0700

    # --- the stand-in --------------------------------------------------------------------

    def token_requests(self):
        reqs = self.standin.requests(IMDS_TOKEN_PATH)
        by_status = {}
        for r in reqs:
            by_status[str(r.get("status"))] = by_status.get(str(r.get("status")), 0) + 1
        return len(reqs), by_status

    def check_token(self, token, who):
        """The token must be one the stand-in minted, for storage."""
        try:
            claims = jwt_verify(token.strip(), self.pubkey)
        except Exception as e:  # noqa: BLE001 - any failure means "not our token"
            raise BenchError("%s printed something that is not a stand-in token: %s" % (who, e))
        if claims.get("aud") != AUDIENCE:
            raise BenchError("%s got a token for %r, not %s" % (who, claims.get("aud"), AUDIENCE))
        return claims

    # --- running things ----------------------------------------------------------------

    def seq(self, name, cmd, runs, warmup, env, any_output=False):
        """Time `runs` fresh processes of cmd with bench_spawn; returns its JSON plus stats."""
        d = os.path.join(self.work, "seq-" + name)
        os.mkdir(d, 0o700)
        mode = "seq-any" if any_output else "seq"
        r = subprocess.run([self.spawn, mode, str(runs), str(warmup), d, "--"] + cmd,
                           capture_output=True, text=True, env=env, timeout=900)
        if r.returncode != 0:
            raise BenchError("bench_spawn failed for %s: %s" % (name, first_line(r.stderr)))
        doc = json.loads(r.stdout)
        res = {"runs": doc["runs"], "ok": doc["ok"], "ms": stats([u / 1000.0 for u in doc["us"]])}
        if doc["ok"] != doc["runs"]:
            err = ""
            try:
                with open(os.path.join(d, "first-failure.txt")) as f:
                    err = first_line(f.read())
            except OSError:
                pass
            res["failure"] = "%s%s" % (doc["failure"], ": " + err if err else "")
        res["last_out"] = os.path.join(d, "last.out")
        return res

    def herd(self, name, cmd, n, env):
        d = os.path.join(self.work, "herd-" + name)
        os.mkdir(d, 0o700)
        r = subprocess.run([self.spawn, "herd", str(n), d, "--"] + cmd,
                           capture_output=True, text=True, env=env, timeout=900)
        if r.returncode != 0:
            raise BenchError("bench_spawn herd failed for %s: %s" % (name, first_line(r.stderr)))
        doc = json.loads(r.stdout)
        if doc["ok"] != n:
            idx = doc["failure"].split(":")[0].replace("process ", "")
            try:
                with open(os.path.join(d, "err." + idx)) as f:
                    doc["failure"] += ": " + first_line(f.read())
            except OSError:
                pass
        else:
            doc.pop("failure", None)
        return doc

    def run_json(self, cmd, env, cwd=None, timeout=300):
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
        if r.returncode != 0:
            raise BenchError("%s exited %d: %s" % (os.path.basename(cmd[0]), r.returncode,
                                                   first_line(r.stderr) or first_line(r.stdout)))
        lines = r.stdout.strip().splitlines()
        return lines, json.loads(lines[-1])

    # --- the measurements --------------------------------------------------------------

    def machine(self):
        m = self.results["machine"]
        m["nproc"] = len(os.sched_getaffinity(0))
        m["cpu"] = cpu_model()
        m["kernel"] = platform.release()
        m["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
        m["cpu_busy_before_start"] = cpu_busy()
        if m["cpu_busy_before_start"] > 0.2:
            self.results["notes"].append(
                "the machine was already %.0f%% busy in the second before the bench started: other work "
                "competes for the CPUs, so the figures are slower and noisier than on an idle machine."
                % (100 * m["cpu_busy_before_start"]))
        v = self.results["versions"]
        v["azmi"] = command_output([self.azmi, "--version"], self.env())
        v["cc"] = command_output(["cc", "--version"])
        for pkg in ("libcurl", "json-c", "libcrypto"):
            v[pkg] = command_output(["pkg-config", "--modversion", pkg])
        v["python"] = command_output([PYTHON, "--version"]).replace("Python ", "")
        v["node"] = command_output(["node", "--version"]).lstrip("v") if shutil.which("node") else "not installed"

    def reference(self):
        """Floors: starting a tiny program, an interpreter, a runtime, with no token work."""
        ref = self.results["reference"]
        runs = self.args.peer_runs
        ref["exec"] = self.seq("ref-exec", ["/bin/true"], self.args.runs, 5, self.env(), True)
        ref["azmi_version"] = self.seq("ref-azmi", [self.azmi, "--version"], self.args.runs, 5, self.env(), True)
        ref["python"] = self.seq("ref-python", [PYTHON, "-c", "pass"], runs, 2, self.env(), True)
        if shutil.which("node"):
            ref["node"] = self.seq("ref-node", ["node", "-e", "0"], runs, 2, self.env(), True)
        for r in ref.values():
            r.pop("last_out", None)

    def azmi_fresh(self):
        a = self.results["azmi"]
        cache = self.fresh_cache_dir()
        env = self.env(AZMI_CACHE_DIR=cache)
        cmd = [self.azmi, "token", "--resource", RESOURCE]
        self.standin.reset()
        warm = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        if warm.returncode != 0:
            raise BenchError("azmi token failed against the stand-in (exit %d): %s"
                             % (warm.returncode, first_line(warm.stderr)))
        self.check_token(warm.stdout, "azmi")
        n_warm, _ = self.token_requests()
        res = self.seq("azmi-warm", cmd, self.args.runs, 5, env)
        n_after, _ = self.token_requests()
        if res["ok"] != res["runs"]:
            raise BenchError("azmi token failed with a warm cache: %s" % res.get("failure"))
        with open(res.pop("last_out")) as f:
            self.check_token(f.read(), "azmi")
        res["imds_requests_warming"] = n_warm
        res["imds_requests_during_runs"] = n_after - n_warm
        a["fresh_warm_cache"] = res

        # Like for like with the peers: a fresh process that asks IMDS every time.
        self.standin.reset()
        runs = self.args.peer_runs
        res = self.seq("azmi-nocache", cmd + ["--no-cache"], runs, 2, env)
        if res["ok"] != res["runs"]:
            raise BenchError("azmi token --no-cache failed: %s" % res.get("failure"))
        with open(res.pop("last_out")) as f:
            self.check_token(f.read(), "azmi")
        n, _ = self.token_requests()
        res["imds_requests_per_run"] = n / (runs + 2)
        a["fresh_no_cache"] = res
        return cache

    def azmi_cached(self, cache):
        a = self.results["azmi"]
        env = self.env(AZMI_CACHE_DIR=cache)
        for t in (1, 2):
            _, doc = self.run_json([self.cached, "-r", RESOURCE, "-t", str(t), "-m", "400", "-n", "5"], env)
            a["cached_%dt" % t] = doc
        self.results["versions"]["libazmi"] = a["cached_1t"].get("libazmi")

    def peer(self, name, fresh_cmd, cached_cmd, cwd, unavailable):
        """One peer: fresh processes, then its in-process cache."""
        p = self.results[name]
        if unavailable:
            p["unavailable"] = unavailable
            return
        runs = self.args.peer_runs
        self.standin.reset()
        res = self.seq(name, fresh_cmd, runs, 2, self.env())
        n, by_status = self.token_requests()
        res["imds_requests_per_run"] = n / (runs + 2)
        res["imds_status_counts"] = by_status
        last = res.pop("last_out")
        if res["ok"] == 0:
            p["failed"] = res.get("failure") or "no run printed a token"
            p["fresh"] = res
            return
        p["fresh"] = res
        try:
            with open(last) as f:
                self.check_token(f.read(), name)
        except (BenchError, OSError) as e:
            p["failed"] = str(e)
            return
        try:
            lines, doc = self.run_json(cached_cmd, self.env(), cwd=cwd)
            self.check_token(lines[0], name)
            p["cached"] = doc
            self.results["versions"].update(doc.pop("versions", {}))
        except (BenchError, subprocess.SubprocessError, ValueError) as e:
            p["cached_failed"] = str(e)

    def herds(self):
        n = self.args.herd
        h = self.results["herd"]
        plans = [("azmi", [self.azmi, "token", "--resource", RESOURCE], None)]
        if "unavailable" not in self.results["python"] and "failed" not in self.results["python"]:
            plans.append(("python", [PYTHON, os.path.join(HERE, "peer_python.py"), "token"], None))
        if "unavailable" not in self.results["node"] and "failed" not in self.results["node"]:
            plans.append(("node", ["node", os.path.join(self.node_dir, "peer_node.mjs"), "token"], None))
        for name, cmd, _ in plans:
            self.standin.reset()
            env = self.env(AZMI_CACHE_DIR=self.fresh_cache_dir()) if name == "azmi" else self.env()
            doc = self.herd(name, cmd, n, env)
            total, by_status = self.token_requests()
            doc["imds_requests"] = total
            doc["imds_status_counts"] = by_status
            h[name] = doc

    # --- 5. one blob download: curl with the plug-in, curl with a token by hand, az ----------

    def spawn_once(self, d, cmd, assigns, env, expected):
        """One run of cmd timed by bench_spawn seq-any, its stdout checked against `expected`.
        Returns (wall ms, None) or (wall ms, why it failed)."""
        last = os.path.join(d, "last.out")
        if os.path.exists(last):
            os.unlink(last)
        r = subprocess.run([self.spawn, "seq-any", "1", "0", d, "--"] + assigns + cmd,
                           capture_output=True, text=True, env=env, timeout=600)
        if r.returncode != 0:
            raise BenchError("bench_spawn failed for %s: %s" % (os.path.basename(cmd[0]), first_line(r.stderr)))
        doc = json.loads(r.stdout)
        ms = doc["us"][0] / 1000.0
        if doc["ok"] != 1:
            try:
                with open(os.path.join(d, "err.txt")) as f:
                    err = first_line(f.read())
            except OSError:
                err = ""
            return ms, "%s%s" % (doc["failure"], ": " + err if err else "")
        with open(last, "rb") as f:
            got = f.read()
        if got != expected:
            return ms, "wrong bytes: %d received, %d expected%s" % (
                len(got), len(expected), " (other content)" if len(got) == len(expected) else "")
        return ms, None

    def interleaved(self, plans, rounds):
        """plans: (key, cmd, NAME=VALUE words, env, expected stdout).  One untimed run of each,
        then `rounds` rounds that run every plan once, forwards in even rounds and backwards
        in odd ones, so that the machine's ups and downs hit every plan alike.  Returns
        {key: result}; result["by_round"] holds each round's ms (None: that run failed)."""
        out = {}
        for key, cmd, assigns, env, expected in plans:
            d = os.path.join(self.work, "dl-" + key)
            os.mkdir(d, 0o700)
            out[key] = {"runs": rounds, "ok": 0, "by_round": [], "dir": d}
            _, fail = self.spawn_once(d, cmd, assigns, env, expected)
            if fail:
                out[key]["warmup_failure"] = fail
        for i in range(rounds):
            for key, cmd, assigns, env, expected in (plans if i % 2 == 0 else plans[::-1]):
                o = out[key]
                ms, fail = self.spawn_once(o["dir"], cmd, assigns, env, expected)
                if fail is None:
                    o["ok"] += 1
                    o["by_round"].append(ms)
                else:
                    o["by_round"].append(None)
                    o.setdefault("failure", fail)
        for o in out.values():
            good = [x for x in o["by_round"] if x is not None]
            o["ms"] = stats(good) if good else None
            del o["dir"]
        return out

    def make_certs(self, d):
        """A test CA and a server certificate for the Blob Storage and ARM host names (openssl)."""
        ca, ca_key = os.path.join(d, "ca.pem"), os.path.join(d, "ca.key")
        cert, key = os.path.join(d, "server.pem"), os.path.join(d, "server.key")
        ext = os.path.join(d, "ext.cnf")
        with open(ext, "w") as f:
            f.write("subjectAltName=DNS:%s,DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" % (BLOB_HOST, ARM_HOST))
        for cmd in (["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                     "-subj", "/CN=azmi bench CA", "-keyout", ca_key, "-out", ca],
                    ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + BLOB_HOST,
                     "-keyout", key, "-out", os.path.join(d, "server.csr")],
                    ["openssl", "x509", "-req", "-in", os.path.join(d, "server.csr"), "-CA", ca, "-CAkey", ca_key,
                     "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert]):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise BenchError("openssl failed making the test CA: %s" % first_line(r.stderr))
        return ca, cert, key

    def downloads(self):
        """Section 5: Azurite up, the blobs uploaded with the plug-in, then the timed downloads."""
        c, z = self.results["curl"], self.results["az"]
        why = self.args.azurite_unavailable or ("left out (--curl-runs 0)" if self.args.curl_runs <= 0 else "")
        for path, what in ((CURL, "curl"), (self.plugin, "the curl plug-in"), (self.azurite, "Azurite")):
            if not why and not os.path.exists(path):
                why = "%s is missing (%s)" % (what, path)
        if why:
            c["unavailable"] = why
            z["unavailable"] = "no Azurite to download from: " + why
            return
        self.results["versions"]["curl"] = command_output([CURL, "--version"])
        try:
            with open(os.path.join(self.build, "node", "node_modules", "azurite", "package.json")) as f:
                self.results["versions"]["azurite"] = json.load(f).get("version")
        except (OSError, ValueError):
            pass
        d = tempfile.mkdtemp(prefix="blob-", dir=self.work)
        try:
            ca, cert, key = self.make_certs(d)
        except BenchError as e:
            c["failed"] = str(e)
            z["unavailable"] = "no Azurite to download from: " + str(e)
            return
        log_path = os.path.join(d, "azurite.log")
        with open(log_path, "w") as log:
            proc = subprocess.Popen([self.azurite, "--blobHost", "127.0.0.1", "--blobPort", str(AZURITE_PORT),
                                     "--oauth", "basic", "--cert", cert, "--key", key, "--disableTelemetry",
                                     "--inMemoryPersistence"], cwd=d, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=self.env(), preexec_fn=_die_with_parent)
        try:
            try:
                wait_port(AZURITE_PORT, "Azurite", proc)
                data = self.curl_downloads(d, ca)
            except (BenchError, subprocess.SubprocessError, OSError) as e:
                with open(log_path, errors="replace") as f:
                    tail = " | ".join(f.read().strip().splitlines()[-3:])
                c["failed"] = str(e) + (" (Azurite log: %s)" % tail if tail else "")
                z["unavailable"] = "the curl part failed before az could run"
                return
            try:
                self.az_downloads(ca, cert, key, data)
            except (BenchError, subprocess.SubprocessError, OSError) as e:
                z["failed"] = str(e)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def curl_downloads(self, d, ca):
        c = self.results["curl"]
        cache = self.fresh_cache_dir()
        env = self.env(AZMI_CACHE_DIR=cache)
        base = "https://%s:%d/%s" % (BLOB_HOST, AZURITE_PORT, CONTAINER)
        common = [CURL, "-sSf", "--cacert", ca, "--resolve", "%s:%d:127.0.0.1" % (BLOB_HOST, AZURITE_PORT)]
        self.standin.reset()

        def azmi_curl(args, what):
            r = subprocess.run([self.azmi, "curl"] + common[1:] + ["-o", "/dev/null"] + args,
                               capture_output=True, text=True, env=env, timeout=120)
            if r.returncode != 0:
                raise BenchError("azmi curl could not %s (exit %d): %s"
                                 % (what, r.returncode, first_line(r.stderr)))

        azmi_curl(["-X", "PUT", base + "?restype=container"], "create the container")
        data = {}
        for name, size in BLOBS:
            data[name] = os.urandom(size)
            path = os.path.join(d, name + ".bin")
            with open(path, "wb") as f:
                f.write(data[name])
            azmi_curl(["-T", path, "-H", "x-ms-blob-type: BlockBlob", "%s/%s.bin" % (base, name)],
                      "upload the %s blob" % name)
        # Without a token Azurite must refuse, or the downloads below would prove nothing.
        r = subprocess.run(common[:1] + ["-sS", "--cacert", ca, "--resolve", common[-1], "-o", "/dev/null",
                                         "-w", "%{http_code}", "%s/%s.bin" % (base, BLOBS[0][0])],
                           capture_output=True, text=True, env=env, timeout=60)
        c["status_without_token"] = r.stdout.strip()
        if c["status_without_token"] != "403":
            raise BenchError("Azurite answered %r to a download without a token, not 403"
                             % c["status_without_token"])
        # The very token the plug-in attaches, for the hand-made header: the plug-in asks for the
        # scope below, and azmi token must find it in the cache the uploads filled (no request).
        n_uploads, _ = self.token_requests()
        r = subprocess.run([self.azmi, "token", "--scope", "https://storage.azure.com/.default"],
                           capture_output=True, text=True, env=env, timeout=60)
        if r.returncode != 0:
            raise BenchError("azmi token failed: %s" % first_line(r.stderr))
        token = r.stdout.strip()
        self.check_token(token, "azmi")
        c["imds_requests_setup"], _ = self.token_requests()
        c["hand_token_from_plugin_cache"] = c["imds_requests_setup"] == n_uploads
        if not c["hand_token_from_plugin_cache"]:
            self.results["notes"].append("azmi token did not find the plug-in's cached token: curl by hand "
                                         "used another (equally valid) token.")

        plans = []
        for name, _ in BLOBS:
            url = "%s/%s.bin" % (base, name)
            plans.append(("plugin-" + name, common + [url], ["LD_PRELOAD=" + self.plugin], env, data[name]))
            plans.append(("hand-" + name, common + ["-H", "Authorization: Bearer " + token,
                                                    "-H", "x-ms-version: " + STORAGE_VERSION, url],
                          [], env, data[name]))
        res = self.interleaved(plans, self.args.curl_runs)
        n_after, _ = self.token_requests()
        c["imds_requests_during_runs"] = n_after - c["imds_requests_setup"]
        for name, size in BLOBS:
            plug, hand = res["plugin-" + name], res["hand-" + name]
            b = {"bytes": size, "plugin": plug, "by_hand": hand}
            if plug["ms"] and hand["ms"]:
                b["ratio_median"] = plug["ms"]["median"] / hand["ms"]["median"]
                b["ratio_p90"] = plug["ms"]["p90"] / hand["ms"]["p90"]
                diffs = [p - h for p, h in zip(plug["by_round"], hand["by_round"]) if p is not None and h is not None]
                if diffs:
                    b["paired_diff_ms_median"] = stats(diffs)["median"]
            for x in (plug, hand):
                del x["by_round"]
            c[name] = b
        return data

    def az_downloads(self, ca, cert, key, data):
        z = self.results["az"]
        why = self.args.az_unavailable
        if not why and not os.access(AZ, os.X_OK):
            why = "%s is missing; BENCH_AZ=1 make bench installs Debian's azure-cli" % AZ
        if not why and not (maps_to_loopback(BLOB_HOST) and maps_to_loopback(ARM_HOST)):
            why = ("no private /etc/hosts in the namespace sends %s and %s to 127.0.0.1, and az has no "
                   "--resolve: was the mount namespace refused?" % (BLOB_HOST, ARM_HOST))
        if why:
            z["unavailable"] = why
            return
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "azure-cli"], capture_output=True, text=True)
        self.results["versions"]["azure-cli"] = r.stdout.strip() or "not a Debian package"
        cfg = tempfile.mkdtemp(prefix="azure-", dir=self.work)
        # Telemetry off: with it on, az saves a record after every command and starts an upload
        # process now and then; nothing can be sent from here, and that is not the download.
        env = self.env(AZURE_CONFIG_DIR=cfg, REQUESTS_CA_BUNDLE=ca, AZURE_CORE_COLLECT_TELEMETRY="no")
        st = self.standin.state()
        self.standin.reset()
        with ArmStub(cert, key, self.pubkey, st["tenant_id"], st["config"]["subscription_id"]) as arm:
            t0 = time.monotonic()
            r = subprocess.run([AZ, "login", "--identity", "--output", "none"], capture_output=True, text=True,
                               env=env, timeout=300)
            z["login_ms"] = (time.monotonic() - t0) * 1000
        z["login_arm_requests"] = len(arm.requests)
        z["login_imds_requests"], _ = self.token_requests()
        if r.returncode != 0:
            raise BenchError("az login --identity exited %d: %s" % (r.returncode, first_line(r.stderr)))
        self.standin.reset()
        endpoint = "https://%s:%d" % (BLOB_HOST, AZURITE_PORT)
        plans = [("az-" + name, [AZ, "storage", "blob", "download", "--auth-mode", "login", "--account-name",
                                 ACCOUNT, "--blob-endpoint", endpoint, "--container-name", CONTAINER,
                                 "--name", name + ".bin", "--no-progress", "--output", "none"],
                  [], env, data[name]) for name, _ in BLOBS]
        runs = self.args.peer_runs
        res = self.interleaved(plans, runs)
        n, by_status = self.token_requests()
        z["imds_requests_per_run"] = n / (len(plans) * (runs + 1))
        z["imds_status_counts"] = by_status
        by_resource = {}
        for q in self.standin.requests(IMDS_TOKEN_PATH):
            res_ = (q.get("query") or {}).get("resource", ["?"])[0]
            by_resource[res_] = by_resource.get(res_, 0) + 1
        z["imds_requests_by_resource"] = by_resource
        for name, _ in BLOBS:
            x = res["az-" + name]
            del x["by_round"]
            z[name] = x
            if x["ok"] == 0:
                z["failed"] = x.get("failure") or x.get("warmup_failure") or "no run downloaded the blob"

    # --- 6. azmi serve: the same SDK processes through the local token service ----------------

    def start_serve(self):
        """A fresh `azmi serve` (empty cache) on a free loopback port; (process, client env)."""
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        env_file = os.path.join(self.work, "serve-%d.env" % port)
        r = subprocess.run([self.azmi, "serve", "--init", env_file, "--listen", "127.0.0.1:%d" % port],
                           capture_output=True, text=True, env=self.env())
        if r.returncode != 0:
            raise BenchError("azmi serve --init failed: %s" % first_line(r.stderr))
        client = {}
        with open(env_file) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    k, _, v = line.strip().partition("=")
                    client[k] = v
        proc = subprocess.Popen([self.azmi, "serve", "--env-file", env_file],
                                env=self.env(AZMI_CACHE_DIR=self.fresh_cache_dir()),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, "azmi serve", proc)
        return proc, port, client

    @staticmethod
    def proc_kb(pid, field):
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop_serve(self, proc):
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def serve(self):
        sv = self.results["serve"]
        n = self.args.herd
        plans = []
        if "unavailable" not in self.results["python"]:
            plans.append(("python", [PYTHON, os.path.join(HERE, "peer_python.py"), "token"]))
        if "unavailable" not in self.results["node"] and os.path.exists(os.path.join(self.node_dir, "peer_node.mjs")):
            plans.append(("node", ["node", os.path.join(self.node_dir, "peer_node.mjs"), "token"]))
        for name, cmd in plans:
            proc, _, client = self.start_serve()
            try:
                self.standin.reset()
                doc = self.herd("serve-" + name, cmd, n, self.env(**client))
                total, by_status = self.token_requests()
                doc["imds_requests"] = total
                doc["imds_status_counts"] = by_status
                sv["herd_" + name] = doc
            finally:
                self.stop_serve(proc)
        proc, port, client = self.start_serve()
        try:
            self.standin.reset()
            env = self.env(BENCH_SECRET=client["IDENTITY_HEADER"])
            rss_start = self.proc_kb(proc.pid, "VmRSS")
            loads = []
            for threads in (1, 4, 16):
                r = subprocess.run([self.loader, str(port), str(threads), str(self.args.serve_seconds), RESOURCE],
                                   capture_output=True, text=True, env=env, timeout=120)
                if r.returncode != 0:
                    raise BenchError("bench_serve failed: %s" % first_line(r.stderr))
                doc = json.loads(r.stdout)
                doc["threads"] = threads
                doc["rss_kb_after"] = self.proc_kb(proc.pid, "VmRSS")
                loads.append(doc)
            sv["throughput"] = loads
            sv["rss_kb_start"] = rss_start
            sv["rss_kb_end"] = self.proc_kb(proc.pid, "VmRSS")
            sv["rss_kb_peak"] = self.proc_kb(proc.pid, "VmHWM")
            sv["imds_requests_during_load"] = self.token_requests()[0]
        finally:
            self.stop_serve(proc)

    def serve_part(self):
        try:
            self.serve()
        except (BenchError, OSError, subprocess.SubprocessError, ValueError) as e:
            self.results["serve"]["failed"] = str(e)

    def run_serve_only(self):
        """BENCH_ARGS=--serve-only: section 4 (the peers asking IMDS) and section 6 only."""
        if not in_private_netns() or not imds_on_lo():
            raise BenchError("not inside a private network namespace with %s on lo: refusing to run "
                             "(start through bench/run.sh)" % IMDS_ADDR)
        self.machine()
        self.standin = Standin(bind=IMDS_ADDR, port=80).start()
        try:
            self.pubkey = self.standin.state()["public_key_pem"]
            self.herds()
            self.serve()
        finally:
            self.standin.stop()
        out = []
        self.serve_table(out.append, lambda x: "-" if x is None else "%.0f ms" % x)
        print("\n".join(out))
        print("\nFigures in %s." % self.write_json())

    def serve_table(self, w, ms):
        r = self.results
        sv = r["serve"]
        w("")
        w("6. azmi serve (App Service protocol on loopback): the same %d SDK processes at once, cold" % self.args.herd)
        w("  %-44s %14s %10s %12s %12s" % ("", "IMDS requests", "tokens", "all done", "p50 done"))
        for name, label in (("python", "Python"), ("node", "Node")):
            for key, how in (("herd", "asking IMDS itself"), ("serve", "through azmi serve")):
                hd = r["herd"].get(name) if key == "herd" else sv.get("herd_" + name)
                if hd is None:
                    w("  %-44s not measured" % ("%s, %s" % (label, how)))
                    continue
                w("  %-44s %14d %6d/%-3d %12s %12s" % ("%s, %s" % (label, how), hd["imds_requests"], hd["ok"],
                                                       hd["n"], ms(hd["wall_ms"]), ms(hd["p50_ms"])))
                if hd.get("failure"):
                    w("  %-44s first failure: %s" % ("", hd["failure"]))
        for doc in sv.get("throughput", []):
            w("  %-44s %10.0f req/s  (%d ok, %d errors in %.1f s; RSS %d kB after)" % (
                "cached token, %d client threads" % doc["threads"], doc["rps"], doc["requests"], doc["errors"],
                doc["seconds"], doc["rss_kb_after"]))
        if "rss_kb_start" in sv:
            w("  %-44s %d kB at start of the load, %d kB at its end, %d kB peak; %d IMDS request(s)" % (
                "azmi serve RSS", sv["rss_kb_start"], sv["rss_kb_end"], sv["rss_kb_peak"],
                sv["imds_requests_during_load"]))

    # --- conclusions ---------------------------------------------------------------------

    def conclude(self):
        r = self.results
        a = r["azmi"]
        azmi_fresh = a["fresh_warm_cache"]["ms"]["median"]
        azmi_nocache = a["fresh_no_cache"]["ms"]["median"]
        azmi_ns = a["cached_1t"]["ns_per_lookup"]
        ratios, targets = r["ratios"], r["targets"]
        for peer in ("python", "node"):
            p = r[peer]
            if "fresh" in p and "failed" not in p:
                ratios["%s_fresh_vs_azmi" % peer] = p["fresh"]["ms"]["median"] / azmi_fresh
                ratios["%s_fresh_vs_azmi_no_cache" % peer] = p["fresh"]["ms"]["median"] / azmi_nocache
                targets["%s_fresh_ratio_ge_100" % peer] = ratios["%s_fresh_vs_azmi" % peer] >= 100
            if "cached" in p:
                ratios["%s_cached_vs_azmi" % peer] = p["cached"]["ns_per_lookup"] / azmi_ns
        targets["azmi_cached_le_100ns_1_thread"] = azmi_ns <= 100
        targets["azmi_cached_le_100ns_2_threads"] = a["cached_2t"]["ns_per_lookup"] <= 100
        if "azmi" in r["herd"]:
            targets["azmi_herd_one_request"] = r["herd"]["azmi"]["imds_requests"] == 1
        for name, _ in BLOBS:
            b = r["curl"].get(name)
            if not b or "ratio_median" not in b:
                continue
            ratios["curl_plugin_vs_by_hand_%s" % name] = b["ratio_median"]
            targets["curl_plugin_le_1_05x_by_hand_%s" % name] = b["ratio_median"] <= 1.05
            zb = r["az"].get(name)
            if zb and zb.get("ms") and b["plugin"].get("ms"):
                ratios["az_vs_curl_plugin_%s" % name] = zb["ms"]["median"] / b["plugin"]["ms"]["median"]
        if r["curl"].get("imds_requests_during_runs"):
            r["notes"].append("the curl plug-in asked IMDS %d times during the timed downloads, although the "
                              "cache was warm." % r["curl"]["imds_requests_during_runs"])
        py = r["python"].get("fresh", {}).get("imds_status_counts", {})
        if py.get("400"):
            r["notes"].append("azure-identity (Python) probes IMDS before each first token: a request "
                              "without the Metadata header, answered 400, then the real request; so two "
                              "IMDS requests per fresh process.")

    # --- output ----------------------------------------------------------------------------

    def write_json(self):
        path = os.path.join(self.out, "results.json")
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.results, f, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
        return path

    def table(self):
        r = self.results
        m, v, a = r["machine"], r["versions"], r["azmi"]
        out = []
        w = out.append

        def ms(x):
            return "%.2f ms" % x if x < 100 else "%.0f ms" % x

        def row_fresh(label, res, note=""):
            if res is None:
                return
            s = res["ms"]
            ok = "" if res["ok"] == res["runs"] else "  (%d of %d ok)" % (res["ok"], res["runs"])
            w("  %-44s %10s %10s %10s %6d  %s%s" % (label, ms(s["median"]), ms(s["p90"]), ms(s["min"]),
                                                    res["runs"], note, ok))

        def peer_state(p):
            if "unavailable" in p:
                return "not measured (%s)" % p["unavailable"]
            if "failed" in p:
                return "FAILED (%s)" % p["failed"]
            return None

        w("azmi bench: %s, %d CPUs, %s GiB, Linux %s" % (m["cpu"], m["nproc"], m["memory_gib"], m["kernel"]))
        w("One stand-in IMDS at %s:80 in a private network namespace; every tool uses its default "
          "endpoint." % IMDS_ADDR)
        w("Versions: %s (libazmi %s, %s; libcurl %s, json-c %s, OpenSSL %s)"
          % (v.get("azmi"), v.get("libazmi"), v.get("cc"), v.get("libcurl"), v.get("json-c"), v.get("libcrypto")))
        w("          Python %s, azure-identity %s, azure-core %s, msal %s"
          % (v.get("python"), v.get("azure-identity", "-"), v.get("azure-core", "-"), v.get("msal", "-")))
        w("          node %s, @azure/identity %s, @azure/msal-node %s, @azure/core-rest-pipeline %s"
          % (v.get("node"), v.get("@azure/identity", "-"), v.get("@azure/msal-node", "-"),
             v.get("@azure/core-rest-pipeline", "-")))
        w("")
        w("1. One token from a fresh process (wall time, spawn to exit, stdout read through a pipe)")
        w("  %-44s %10s %10s %10s %6s  %s" % ("", "median", "p90", "min", "runs", "IMDS requests"))
        fw = a["fresh_warm_cache"]
        row_fresh("azmi token (warm cross-process cache)", fw, "%d in all runs" % fw["imds_requests_during_runs"])
        nc = a["fresh_no_cache"]
        row_fresh("azmi token --no-cache (asks IMDS)", nc, "%.0f per run" % nc["imds_requests_per_run"])
        for name, label in (("python", "Python ManagedIdentityCredential"),
                            ("node", "Node ManagedIdentityCredential")):
            p = r[name]
            state = peer_state(p)
            if state and "fresh" not in p:
                w("  %-44s %s" % (label, state))
                continue
            row_fresh(label, p["fresh"], "%.0f per run" % p["fresh"]["imds_requests_per_run"])
            if state:
                w("  %-44s %s" % ("", state))
        ref = r["reference"]
        row_fresh("reference: /bin/true (fork + exec floor)", ref.get("exec"))
        row_fresh("reference: azmi --version (no token work)", ref.get("azmi_version"))
        row_fresh("reference: python3 -c pass", ref.get("python"))
        row_fresh("reference: node -e 0", ref.get("node"))
        w("")
        w("2. Cached lookups in one process (token already in memory)")
        w("  %-44s %12s %16s" % ("", "ns/lookup", "lookups/s (all)"))
        for t in (1, 2):
            c = a["cached_%dt" % t]
            w("  %-44s %12.1f %16s" % ("azmi_get_token + release, %d thread%s" % (t, "s" if t > 1 else ""),
                                       c["ns_per_lookup"], "{:,.0f}".format(c["lookups_per_sec"])))
        for name, label in (("python", "Python get_token, 1 thread"), ("node", "Node await getToken, 1 thread")):
            p = r[name]
            if "cached" in p:
                c = p["cached"]
                w("  %-44s %12.1f %16s" % (label, c["ns_per_lookup"], "{:,.0f}".format(c["lookups_per_sec"])))
            else:
                w("  %-44s %s" % (label, peer_state(p) or "FAILED (%s)" % p.get("cached_failed")))
        for name, label in (("python", "Python"), ("node", "Node")):
            c = r[name].get("cached")
            if c:
                w("  (%s in-process: import %.0f ms, first get_token %.1f ms)"
                  % (label, c["import_ms"], c["first_token_ms"]))
        w("")
        w("3. Ratios")
        rt, tg = r["ratios"], r["targets"]
        for name, label in (("python", "Python"), ("node", "Node")):
            k = "%s_fresh_vs_azmi" % name
            if k in rt:
                w("  %-44s %9.0fx   target >= 100x: %s" % ("%s fresh / azmi fresh (warm cache)" % label, rt[k],
                                                          "met" if tg["%s_fresh_ratio_ge_100" % name]
                                                          else "MISSED"))
                w("  %-44s %9.1fx" % ("%s fresh / azmi --no-cache fresh" % label,
                                      rt["%s_fresh_vs_azmi_no_cache" % name]))
            else:
                w("  %-44s %s" % ("%s fresh / azmi fresh" % label, peer_state(r[name]) or "not measured"))
            k = "%s_cached_vs_azmi" % name
            if k in rt:
                w("  %-44s %9.0fx" % ("%s cached ns / azmi cached ns (1 thread)" % label, rt[k]))
        w("  %-44s %9.1f ns target <= 100 ns: %s" % ("azmi cached lookup, 1 thread", a["cached_1t"]["ns_per_lookup"],
                                                     "met" if tg["azmi_cached_le_100ns_1_thread"] else "MISSED"))
        w("  %-44s %9.1f ns target <= 100 ns: %s" % ("azmi cached lookup, 2 threads", a["cached_2t"]["ns_per_lookup"],
                                                     "met" if tg["azmi_cached_le_100ns_2_threads"] else "MISSED"))
        w("")
        w("4. %d processes started at once, cold (no cached token anywhere)" % self.args.herd)
        w("  %-44s %14s %10s %12s %12s" % ("", "IMDS requests", "tokens", "all done", "p50 done"))
        for name, label in (("azmi", "azmi token (fresh cache directory)"), ("python", "Python"),
                            ("node", "Node")):
            hd = r["herd"].get(name)
            if hd is None:
                w("  %-44s %s" % (label, peer_state(r[name]) or "not measured"))
                continue
            statuses = ", ".join("%s x%d" % (k, c) for k, c in sorted(hd["imds_status_counts"].items()))
            w("  %-44s %14d %6d/%-3d %12s %12s  (%s)" % (label, hd["imds_requests"], hd["ok"], hd["n"],
                                                         ms(hd["wall_ms"]), ms(hd["p50_ms"]), statuses))
            if hd.get("failure"):
                w("  %-44s first failure: %s" % ("", hd["failure"]))
        if "azmi" in r["herd"]:
            w("  %-44s target 1: %s" % ("azmi", "met" if tg.get("azmi_herd_one_request") else "MISSED"))
        w("")
        w("5. One blob download by a fresh process (wall time, spawn to exit, the blob read from stdout through")
        w("   a pipe and checked byte for byte; https to Azurite %s in the namespace)" % v.get("azurite", "?"))
        w("  %-44s %10s %10s %10s %6s" % ("", "median", "p90", "min", "runs"))
        c, z = r["curl"], r["az"]
        sizes = {"4k": "4 KiB", "1m": "1 MiB"}

        def row_dl(label, res, note=""):
            s_ = res.get("ms")
            ok = "" if res["ok"] == res["runs"] else "  (%d of %d ok: %s)" % (res["ok"], res["runs"],
                                                                             res.get("failure", "?"))
            if s_ is None:
                w("  %-44s %s" % (label, "FAILED" + ok))
                return
            w("  %-44s %10s %10s %10s %6d  %s%s" % (label, ms(s_["median"]), ms(s_["p90"]), ms(s_["min"]),
                                                    res["runs"], note, ok))

        cstate = peer_state(c)
        if cstate and not any(n in c for n in sizes):
            w("  %-44s %s" % ("curl", cstate))
        for name, size in sizes.items():
            b = c.get(name)
            if not b:
                continue
            row_dl("curl + plug-in, %s (warm cache)" % size, b["plugin"])
            row_dl("curl, same token by hand, %s" % size, b["by_hand"])
            if "ratio_median" in b:
                w("  %-44s %9.3fx  target <= 1.05x: %s  (p90 %.3fx; median paired difference %+.2f ms)"
                  % ("  plug-in / by hand, median", b["ratio_median"],
                     "met" if tg.get("curl_plugin_le_1_05x_by_hand_%s" % name) else "MISSED",
                     b["ratio_p90"], b.get("paired_diff_ms_median", float("nan"))))
        if any(n in c for n in sizes):
            w("  %-44s %d during the %d plug-in runs (cache warmed by the uploads)"
              % ("  IMDS requests", c.get("imds_requests_during_runs", -1), 2 * (c[BLOBS[0][0]]["plugin"]["runs"] + 1)))
        zstate = peer_state(z)
        label = "az storage blob download --auth-mode login"
        if zstate and not any(n in z for n in sizes):
            w("  %-44s %s" % (label, zstate))
        else:
            w("  %s (azure-cli %s, az login --identity once before)" % (label, v.get("azure-cli", "?")))
            for name, size in sizes.items():
                if name in z:
                    row_dl("  az, %s" % size, z[name], "%.0f IMDS request%s per run" % (
                        z["imds_requests_per_run"], "" if round(z["imds_requests_per_run"]) == 1 else "s"))
            if z.get("imds_requests_by_resource"):
                w("  %-44s %s" % ("  az's IMDS requests, by resource", ", ".join(
                    "%s x%d" % kv for kv in sorted(z["imds_requests_by_resource"].items()))))
            for name, size in sizes.items():
                k = "az_vs_curl_plugin_%s" % name
                if k in rt:
                    w("  %-44s %9.0fx" % ("  az / curl + plug-in, %s, median" % size, rt[k]))
            if zstate:
                w("  %-44s %s" % ("", zstate))
        if r["serve"]:
            self.serve_table(w, ms)
        for note in r["notes"]:
            w("")
            w("Note: " + note)
        return "\n".join(out)

    def run(self):
        if not in_private_netns() or not imds_on_lo():
            raise BenchError("not inside a private network namespace with %s on lo: refusing to run "
                             "(start through bench/run.sh)" % IMDS_ADDR)
        for tool in (self.azmi, self.spawn, self.cached):
            if not os.access(tool, os.X_OK):
                raise BenchError("%s is missing: run make bench" % tool)
        t0 = time.monotonic()
        self.machine()
        busy0, total0, own0 = cpu_sample() + (own_cpu(),)
        self.standin = Standin(bind=IMDS_ADDR, port=80).start()
        try:
            self.pubkey = self.standin.state()["public_key_pem"]
            cache = self.azmi_fresh()
            self.azmi_cached(cache)
            self.reference()
            self.peer("python", [PYTHON, os.path.join(HERE, "peer_python.py"), "token"],
                      [PYTHON, os.path.join(HERE, "peer_python.py"), "cached", "400", "5"], None,
                      self.args.python_unavailable)
            node_unavailable = self.args.node_unavailable
            if not node_unavailable and not os.path.exists(os.path.join(self.node_dir, "peer_node.mjs")):
                node_unavailable = "peer script missing from %s" % self.node_dir
            self.peer("node", ["node", os.path.join(self.node_dir, "peer_node.mjs"), "token"],
                      ["node", os.path.join(self.node_dir, "peer_node.mjs"), "cached", "400", "5"],
                      self.node_dir, node_unavailable)
            self.herds()
            self.serve_part()
            self.downloads()
        finally:
            self.standin.stop()
        busy1, total1, own1 = cpu_sample() + (own_cpu(),)
        others = max(0.0, (busy1 - busy0) - (own1 - own0)) / max(1e-9, total1 - total0)
        self.results["machine"]["cpu_used_by_other_work"] = round(others, 3)
        if others > 0.1:
            self.results["notes"].append(
                "other work on the machine used %.0f%% of the CPUs while the bench ran: the figures are "
                "slower and noisier than on an idle machine." % (100 * others))
        self.conclude()
        self.results["seconds"] = round(time.monotonic() - t0, 1)
        self.results["params"] = {"runs": self.args.runs, "peer_runs": self.args.peer_runs,
                                  "herd": self.args.herd, "curl_runs": self.args.curl_runs,
                                  "resource": RESOURCE,
                                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        print(self.table())
        print("\nFigures in %s (bench took %.0f s)." % (self.write_json(), self.results["seconds"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=200, help="fresh azmi processes timed")
    ap.add_argument("--peer-runs", type=int, default=20, help="fresh peer processes timed")
    ap.add_argument("--herd", type=int, default=100, help="processes started at once")
    ap.add_argument("--curl-runs", type=int, default=200,
                    help="interleaved curl downloads timed, per blob size and per way of passing the token")
    ap.add_argument("--serve-seconds", type=float, default=5, help="seconds of load per azmi serve throughput run")
    ap.add_argument("--serve-only", action="store_true", help="only the peers' herds and the azmi serve figures")
    ap.add_argument("--python-unavailable", default="", help="why the Python peer cannot run")
    ap.add_argument("--node-unavailable", default="", help="why the Node peer cannot run")
    ap.add_argument("--azurite-unavailable", default="", help="why Azurite cannot run (no curl downloads)")
    ap.add_argument("--az-unavailable", default="", help="why az (azure-cli) cannot run")
    args = ap.parse_args()
    b = Bench(args)
    try:
        b.run_serve_only() if args.serve_only else b.run()
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

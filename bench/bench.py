#!/usr/bin/python3
"""The body of `make bench`: azmi beside the Azure SDKs, against one local stand-in.

bench/run.sh starts this inside a private network namespace whose loopback
carries 169.254.169.254, where the stand-in (tests/standin/standin.py)
listens on port 80.  Every tool under test uses its default IMDS address,
with no override, as on a VM; nothing can leave the machine.

Prints a table and writes the same figures to BUILD/bench/results.json.

    /usr/bin/python3 bench/bench.py --build build [--runs 200] [--peer-runs 20] [--herd 100]
"""

import argparse
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # leave no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))

from standin_client import IMDS_TOKEN_PATH, Standin, jwt_verify  # noqa: E402

IMDS_ADDR = "169.254.169.254"
RESOURCE = "https://storage.azure.com/"
AUDIENCE = "https://storage.azure.com"
PYTHON = "/usr/bin/python3"


class BenchError(Exception):
    pass


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
        self.results = {"machine": {}, "versions": {}, "azmi": {}, "python": {}, "node": {},
                        "reference": {}, "herd": {}, "ratios": {}, "targets": {}, "notes": []}

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
                                  "herd": self.args.herd, "resource": RESOURCE,
                                  "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        print(self.table())
        print("\nFigures in %s (bench took %.0f s)." % (self.write_json(), self.results["seconds"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=200, help="fresh azmi processes timed")
    ap.add_argument("--peer-runs", type=int, default=20, help="fresh peer processes timed")
    ap.add_argument("--herd", type=int, default=100, help="processes started at once")
    ap.add_argument("--python-unavailable", default="", help="why the Python peer cannot run")
    ap.add_argument("--node-unavailable", default="", help="why the Node peer cannot run")
    args = ap.parse_args()
    b = Bench(args)
    try:
        b.run()
    except BenchError as e:
        print("bench: %s" % e, file=sys.stderr)
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

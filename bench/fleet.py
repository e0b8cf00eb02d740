#!/usr/bin/python3
"""Logins across a fleet (issue 17), simulated on this machine: bench/fleet.sh runs this inside a
private mount + network namespace (tests/pam/rig.py builds the world: the stand-in as IMDS at
169.254.169.254, Resource Manager and Graph on 127.0.0.1:443 behind a private /etc/hosts).

What is real: pam_azmi.so in the real libpam (services in the namespace's /etc/pam.d) in bench_fleet
worker processes,
the whole login path (instance metadata, tokens, the scope's shared view or per-principal reads,
Graph, the decision), and a Resource Manager that enforces ARM's read token bucket per caller
(250 burst, 25/s refill) with 429 + Retry-After.
What is simulated: the instances.  Instance n is a configuration file (its own cache directory, so
its own instance metadata, tokens and shared view) and IMDS at /fleet/<n>/ on the stand-in, which
answers as instance n of a Uniform scale set (every instance the set's identity: one ARM bucket)
or as a Flexible instance with an identity of its own (one bucket each, as Arc-enabled servers
have).  Logins come from a pool of distinct people (login names mapped to object ids).
What is scaled: time.  Two shared cores cannot run 1000 instances x 10 logins a minute (167 logins/s)
in real time, so when the fleet's login rate exceeds --max-rate, the simulation runs k times slower:
logins are k times further apart, the bucket refills k times slower, and the shared view lives k
times longer; every figure below is given in simulated seconds, except decision times, which are
real wall-clock times on this machine (a Retry-After wait in them is k times longer than it would be).
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "pam"))
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
from rig import PAM_SO, Rig, write  # noqa: E402

USER_ROLE = "fb879df8-f326-4884-b1cf-06f3ad86be52"
GROUP = "0f0f0f0f-3333-4444-8555-000000000001"
ARM_BURST, ARM_REFILL = 250, 25.0
PAM_AUTHINFO_UNAVAIL, PAM_PERM_DENIED = 9, 6
USERMAP = "/etc/azmi-fleet-users"
CACHE_ROOT = "/run/azmi-fleet"


def person(k):
    return "0f0f0f0f-2222-4333-8444-%012d" % k


class Fleet:
    def __init__(self, rig, args):
        self.rig = rig
        self.args = args
        self.dir = os.path.join(rig.tmp, "fleet")
        self.svc = "/etc/pam.d"  # the namespace's own /etc (an overlay): the host's never changes
        os.makedirs(self.dir, exist_ok=True)
        write(USERMAP, "".join("fu%d %s\n" % (k, person(k)) for k in range(args.people)))

    def world(self, mode, throttle, k):
        st = self.rig.standin
        st.reset()
        users = [{"id": person(k), "upn": "fu%d@contoso.com" % k} for k in range(self.args.people)]
        st.config({
            "fleet": {"mode": mode, "name": "vmss-fleet"},
            "directory": {"users": users, "groups": [{"id": GROUP, "name": "fleet-logins",
                                                      "members": [u["id"] for u in users]}],
                          "service_principals": []},
            "graph": {"permissions": ["User.Read.All", "GroupMember.Read.All"]},
            "arm": {"role_assignments": [{"principal_id": GROUP, "role": USER_ROLE, "scope": "rg",
                                          "principal_type": "Group"},
                                         {"principal_id": person(0), "role": "Reader", "scope": "subscription"}],
                    "deny_assignments": [], "page_size": 100,
                    "throttle": {"burst": ARM_BURST, "refill_per_s": ARM_REFILL / k} if throttle else None},
        })

    def instances(self, n, k, shared):
        """Instance n: its configuration, cache directory and PAM service.  The login's time budget is
        scaled with time (15 simulated seconds), so a Retry-After wait means the same as unscaled."""
        shutil.rmtree(CACHE_ROOT, ignore_errors=True)
        os.makedirs(CACHE_ROOT, 0o700)
        ttl = min(3600, int(self.args.scope_ttl * k)) if shared else 0
        for i in range(n):
            d = os.path.join(CACHE_ROOT, str(i))
            os.mkdir(d, 0o700)
            conf = os.path.join(self.dir, "i%d.conf" % i)
            write(conf, "allowed_domains = contoso.com\nca_file = %s\ntimeout = %d\ncache_ttl = 0\n"
                        "scope_cache_ttl = %d\ncache_dir = %s\nimds_endpoint = http://169.254.169.254/fleet/%d\n"
                        "user_map = %s\n" % (self.rig.ca, int(self.args.timeout * k + 0.5), ttl, d, i, USERMAP))
            write(os.path.join(self.svc, "fleet%d" % i), "account required %s config=%s\n" % (PAM_SO, conf))

    def run(self, events, k):
        """events: [(t_sim, instance, person)], sorted.  Returns [(t_sim, dur_s, rc, lag_s)].  Instances
        are spread over worker processes (each runs its logins in order, as a machine's sshd would not:
        a login waiting on Retry-After delays the next of its worker, which `max_lag_s` shows)."""
        workers = min(self.args.workers, len({i for _, i, _ in events}) or 1)
        files = []
        for w in range(workers):
            sched = os.path.join(self.dir, "sched%d" % w)
            with open(sched, "w") as f:
                for t, i, p in events:
                    if i % workers == w:
                        f.write("%d fleet%d fu%d\n" % (int(t * k * 1000), i, p))
            files.append((sched, os.path.join(self.dir, "out%d" % w), os.path.join(self.dir, "err%d" % w)))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NO_PROXY": "*"}
        # All workers on one time line, which begins once all are up.
        start_us = int((time.monotonic() + 0.005 * len(files) + 1.0) * 1e6)
        mark = self.rig.syslog.mark()
        procs = [subprocess.Popen([self.args.worker, s, o, str(start_us)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=open(e, "w")) for s, o, e in files]
        for p in procs:
            p.wait()
        out, reasons = [], []
        for sched, o, e in files:
            if not os.path.exists(o):
                raise RuntimeError("worker for %s wrote nothing: %s" % (sched, open(e, errors="replace").read()[-2000:]))
            for line in open(o):
                off, lag, dur, rc = line.split()
                out.append((int(off) / 1000.0 / k, int(dur) / 1e6, int(rc), int(lag) / 1000.0))
        reasons = [l for l in self.rig.syslog.since(mark) if "decision=unavailable" in l]
        out.sort()
        return out, reasons

    def arm_counts(self):
        reqs = [q for q in self.rig.standin.requests() if "/providers/Microsoft.Authorization/" in q.get("path", "")]
        return len(reqs), len([q for q in reqs if q.get("status") == 429])


def schedule(n, per_min, window, people, rng):
    period = 60.0 / per_min
    ev = []
    for i in range(n):
        t = rng.uniform(0, period)
        while t < window:
            ev.append((t, i, rng.randrange(people)))
            t += period
    return sorted(ev)


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(q * len(v)))]


def summarise(results, arm, throttled, k):
    decided = [r for r in results if r[2] in (0, PAM_PERM_DENIED)]
    refused = [r for r in results if r[2] == PAM_AUTHINFO_UNAVAIL]
    first = refused[0][0] if refused else None
    before = [r for r in decided if first is None or r[0] < first]
    span = (first if first is not None else (results[-1][0] if results else 0)) or 1e-9
    durs = [r[1] for r in decided]
    return {"logins": len(results), "granted": len([r for r in results if r[2] == 0]),
            "refused_unavailable": len(refused), "first_refusal_s": first,
            "decided_per_s_before_first_refusal": len(before) / span if results else 0,
            "arm_requests": arm, "arm_429": throttled,
            "arm_requests_per_login": arm / len(results) if results else 0,
            "p50_ms": pct(durs, 0.5) * 1000, "p99_ms": pct(durs, 0.99) * 1000,
            "max_lag_s": max((r[3] for r in results), default=0) / k}


def one(fleet, args, mode, n, shared, rng):
    rate = n * args.per_min / 60.0
    k = max(1.0, rate / args.max_rate)
    fleet.instances(n, k, shared)
    # Cold: every cache empty, the bucket full, logins at the fleet's rate from t = 0.
    fleet.world(mode, True, k)
    cold_ev = schedule(n, args.per_min, args.cold_window, args.people, rng)
    t0 = time.monotonic()
    cold, cold_reasons = fleet.run(cold_ev, k)
    cold_sum = summarise(cold, *fleet.arm_counts(), k)
    cold_sum["throttle_reasons"] = len([r for r in cold_reasons if "429" in r])
    # Warm-up of the instances the cold phase left without a view (no bucket: not measured).
    fleet.world(mode, False, k)
    missing = [i for i in range(n) if not os.path.exists(os.path.join(CACHE_ROOT, str(i), "scope.snap"))]
    if shared and missing:
        fleet.run([(0.0, i, rng.randrange(args.people)) for i in missing], 1.0)
    # Warm: the same rate, a fresh bucket, every cache warm (a warm-up login that did not finish
    # leaves its instance to read its view in the warm phase; counted).
    unwarmed = len([i for i in range(n) if not os.path.exists(os.path.join(CACHE_ROOT, str(i), "scope.snap"))])
    fleet.world(mode, True, k)
    # Per-principal reads: long enough for the bucket's burst to run out (it would, given time).
    window = args.warm_window if shared else max(args.warm_window, args.user_window)
    warm, warm_reasons = fleet.run(schedule(n, args.per_min, window, args.people, rng), k)
    warm_sum = summarise(warm, *fleet.arm_counts(), k)
    warm_sum["throttle_reasons"] = len([r for r in warm_reasons if "429" in r])
    warm_sum["instances_without_view"] = unwarmed if shared else None
    return {"mode": mode, "instances": n, "shared_view": shared, "time_scale": k,
            "logins_per_instance_per_min": args.per_min, "cold": cold_sum, "warm": warm_sum,
            "wall_s": time.monotonic() - t0}


def row(r, phase):
    s = r[phase]
    first = "-" if s["first_refusal_s"] is None else "%.1f" % s["first_refusal_s"]
    return ("%-8s %5d %-6s %-4s %5.1f %6d %9.2f %9d %8d %8s %10.1f %8.0f %8.0f %7.1f" % (
        "uniform" if r["mode"] == "uniform" else "own-id", r["instances"], "view" if r["shared_view"] else "user",
        phase, r["time_scale"], s["logins"], s["arm_requests_per_login"], s["arm_429"], s["refused_unavailable"],
        first, s["decided_per_s_before_first_refusal"], s["p50_ms"], s["p99_ms"], s["max_lag_s"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--worker", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sizes", default="1,10,100,1000")
    ap.add_argument("--per-min", type=float, default=10.0, help="logins per instance per minute")
    ap.add_argument("--people", type=int, default=500)
    ap.add_argument("--max-rate", type=float, default=40.0, help="logins per real second before time is scaled")
    ap.add_argument("--cold-window", type=float, default=8.0, help="simulated seconds")
    ap.add_argument("--warm-window", type=float, default=6.0, help="simulated seconds")
    ap.add_argument("--user-window", type=float, default=25.0,
                    help="simulated seconds of the warm phase with per-principal reads")
    ap.add_argument("--scope-ttl", type=int, default=300, help="scope_cache_ttl, simulated seconds")
    ap.add_argument("--timeout", type=int, default=15)
    ap.add_argument("--workers", type=int, default=200, help="worker processes at most")
    args = ap.parse_args()
    rng = random.Random(17)
    rig = Rig()
    results = []
    try:
        rig.setup()
        rig.start_standin()
        fleet = Fleet(rig, args)
        plan = [("uniform", int(n), True) for n in args.sizes.split(",")]
        sizes = sorted(int(n) for n in args.sizes.split(","))
        # An identity per instance (Flexible, Arc), and per-principal reads for comparison, at the
        # largest size that runs in real time.
        real = max([n for n in sizes if n * args.per_min / 60.0 <= args.max_rate] or sizes[:1])
        plan += [("own", real, True), ("uniform", real, False)]
        for mode, n, shared in plan:
            r = one(fleet, args, mode, n, shared, rng)
            results.append(r)
            print("fleet: %s x%d (%s) done in %.0f s" % (mode, n, "shared view" if shared else "per-user reads",
                                                        r["wall_s"]), flush=True)
    finally:
        rig.stop()
        rig.cleanup()
    print()
    print("Logins across a fleet: ARM's read bucket %d burst, %g/s refill per identity; %g logins per instance "
          "per minute; a pool of %d people" % (ARM_BURST, ARM_REFILL, args.per_min, args.people))
    print("times in simulated seconds (time scale k: k real seconds per simulated one); decision times in "
          "real ms on this machine")
    print("%-8s %5s %-6s %-4s %5s %6s %9s %9s %8s %8s %10s %8s %8s %7s" % (
        "identity", "N", "reads", "caches", "k", "logins", "ARM/login", "ARM 429s", "refused", "1st ref",
        "decided/s", "p50 ms", "p99 ms", "lag s"))
    for r in results:
        for phase in ("cold", "warm"):
            print(row(r, phase))
    for r in results:
        if r["warm"].get("instances_without_view"):
            print("%s x%d: %d instances had no view when the warm phase began (their warm-up login did not "
                  "finish), so they read it then" % (r["mode"], r["instances"], r["warm"]["instances_without_view"]))
    print("reads: view = scope_cache_ttl %d s (one shared read of the scope per instance), user = the "
          "principal's own reads at every login" % args.scope_ttl)
    print("refused = PAM_AUTHINFO_UNAVAIL (every one here follows ARM 429s); decided/s = decisions per simulated "
          "second before the first refusal; lag = how late the worst login started (simulated s)")
    with open(args.out, "w") as f:
        json.dump(results, f, indent=1)
    print("figures also in %s" % args.out)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The Python peer: azure-identity's ManagedIdentityCredential, as a user would call it.

    peer_python.py token        one token in this (fresh) process, printed on one line
    peer_python.py cached MS N  then N rounds of MS milliseconds of cached get_token calls;
                                prints the token, then a JSON line with the figures

Run with Debian's /usr/bin/python3 (python3-azure).  The credential finds the
IMDS endpoint the way it does on a VM; make bench runs it in a private
network namespace where that address is the local stand-in.
"""

import time

T_START = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402

from azure.identity import ManagedIdentityCredential  # noqa: E402

T_IMPORTED = time.perf_counter()
SCOPE = "https://storage.azure.com/.default"
BATCH = 100


def cached_rounds(cred, ms, rounds):
    """ns per cached get_token in each round."""
    out = []
    for _ in range(rounds):
        calls = 0
        t0 = time.perf_counter()
        end = t0 + ms / 1000.0
        while True:
            for _ in range(BATCH):
                if not cred.get_token(SCOPE).token:
                    raise SystemExit("peer_python: empty token from the cache")
            calls += BATCH
            now = time.perf_counter()
            if now >= end:
                break
        out.append((now - t0) * 1e9 / calls)
    return out


def main(argv):
    if len(argv) >= 2 and argv[1] == "token":
        token = ManagedIdentityCredential().get_token(SCOPE).token
        sys.stdout.write(token + "\n")
        return 0
    if len(argv) == 4 and argv[1] == "cached":
        cred = ManagedIdentityCredential()
        t0 = time.perf_counter()
        token = cred.get_token(SCOPE).token
        first = time.perf_counter() - t0
        ns = sorted(cached_rounds(cred, int(argv[2]), int(argv[3])))
        sys.stdout.write(token + "\n")
        import azure.core
        import azure.identity
        import msal
        json.dump({
            "import_ms": (T_IMPORTED - T_START) * 1e3,
            "first_token_ms": first * 1e3,
            "ns_per_lookup": ns[len(ns) // 2],
            "ns_per_lookup_best": ns[0],
            "lookups_per_sec": 1e9 / ns[len(ns) // 2],
            "versions": {
                "python": sys.version.split()[0],
                "azure-identity": azure.identity.__version__,
                "azure-core": azure.core.__version__,
                "msal": msal.__version__,
            },
        }, sys.stdout)
        sys.stdout.write("\n")
        return 0
    sys.stderr.write("usage: peer_python.py token | cached MS ROUNDS\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

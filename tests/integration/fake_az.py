#!/usr/bin/python3
"""A fake Azure CLI for azmi's tests.

The tests copy this file as `az` into a directory of their own, put that
directory first on PATH and write `az.json` next to it:
  {"mode": "ok" | "not_logged_in" | "slow" | "garbage" | "exit",
   "accessToken": "...", "expires_on": EPOCH, "expiresOn": "naive local time"
   (default: expires_on in local time), "subscription": "...", "tenant": "...",
   "sleep": 20, "exit_code": N, "stderr": "...", "version": "2.45.0"}
A version before 2.54 (Debian 12 ships 2.45) prints no `expires_on`, only the
naive local `expiresOn`.
Every run appends one JSON line to `az.log` next to it: argv, pid, when it
started and ended.  Only `az account get-access-token` is understood.
"""

import datetime
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def log(entry):
    with open(os.path.join(HERE, "az.log"), "a") as f:
        f.write(json.dumps(entry) + "\n")


def main(argv):
    with open(os.path.join(HERE, "az.json")) as f:
        cfg = json.load(f)
    entry = {"argv": argv, "pid": os.getpid(), "start": time.time()}
    log(dict(entry, event="start"))
    mode = cfg.get("mode", "ok")
    if argv[:2] != ["account", "get-access-token"]:
        sys.stderr.write("ERROR: fake az only knows 'account get-access-token'\n")
        return 2
    if mode == "not_logged_in":
        sys.stderr.write(cfg.get("stderr", "ERROR: Please run 'az login' to setup account.\n"))
        return 1
    if mode == "exit":
        sys.stderr.write(cfg.get("stderr", "ERROR: something went wrong\n"))
        return int(cfg.get("exit_code", 1))
    if mode == "slow":
        time.sleep(float(cfg.get("sleep", 20)))
    if mode == "garbage":
        sys.stdout.write("WARNING: this is not JSON {\"accessToken\": \n")
        sys.stdout.flush()
        log(dict(entry, event="end"))
        return 0
    exp = int(cfg["expires_on"])
    expires_on_text = cfg.get("expiresOn") or \
        datetime.datetime.fromtimestamp(exp).strftime("%Y-%m-%d %H:%M:%S.%f")
    out = {
        "accessToken": cfg["accessToken"],
        "expiresOn": expires_on_text,
        "expires_on": exp,
        "subscription": cfg.get("subscription", "0b9d4e27-6a1c-4f83-b5e2-7d3a9c1f6e40"),
        "tenant": cfg.get("tenant", "5c1e8a7d-3f0b-4e42-9a6d-2b7f4c0d9e11"),
        "tokenType": "Bearer",
    }
    if tuple(int(x) for x in cfg.get("version", "2.67.0").split(".")) < (2, 54):
        del out["expires_on"]
    sys.stdout.write(json.dumps(out, indent=2) + "\n")
    sys.stdout.flush()
    log(dict(entry, event="end"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

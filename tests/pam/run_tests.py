#!/usr/bin/python3
"""Suite 30-pam, run inside a private mount + network namespace by
tests/suite-30-pam.sh (see rig.py for the world it builds).  Parts:
  exports  the modules load with RTLD_NOW and export only their entry points
  nss      nss_azmi through getent/id and directly (ERANGE)
  pam      pam_azmi's account phase through pam_wrapper + pamtester, each RBAC case
  auth     pam_azmi's auth phase: Entra access tokens validated offline (issue 6)
  cache    decision cache, offline grace, fail closed
  cli      azmi check-login
  sshd     a real sshd and ssh client end to end
  sshcert  issue 13: `az ssh vm` certificates from MSAL through a real sshd (ssh-ca, ssh-principals, RBAC)
  sshcert-pam  the account phase's certificate path through pamtester (the ASan run takes it too)
  identity issue 11: UID, group-name, case and reused-name attacks refused (sshd, sudo, NSS, PAM)
  harden   issue 11 findings 5-8: umask, proxies, az, cache directory, tokens, time budget, IMDS cache
  fleet    issue 17: Uniform and Flexible scale-set instances, Arc-enabled servers, ARM throttling
  app      the seed's Flask app through azmi serve, with PostgreSQL's pam method (only when named:
           suite 35-apps)
AZMI_PAM_PARTS may name a subset.  Last line: "30-pam: N passed, M failed".
"""

import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rig import Results, Rig  # noqa: E402
import test_exports  # noqa: E402
import test_nss  # noqa: E402

import test_sshcert  # noqa: E402

PARTS = [("exports", test_exports.run_tests, False), ("nss", test_nss.run_tests, False)]
ONLY_WHEN_NAMED = ("app",)
for name, mod in (("pam", "test_pam"), ("auth", "test_auth"), ("cache", "test_cache"), ("cli", "test_cli"),
                  ("sshd", "test_sshd"), ("sshcert", "test_sshcert"), ("identity", "test_identity"),
                  ("harden", "test_harden"), ("fleet", "test_fleet"), ("app", "test_app")):
    PARTS.append((name, __import__(mod).run_tests, True))
    if name == "sshcert":
        PARTS.append(("sshcert-pam", test_sshcert.run_pam_tests, True))


def main():
    res = Results(os.environ.get("AZMI_SUITE_NAME", "30-pam"))
    wanted = os.environ.get("AZMI_PAM_PARTS", "").split()
    rig = Rig()
    try:
        rig.setup()
        if any(needs and (name in wanted if wanted else name not in ONLY_WHEN_NAMED) for name, _, needs in PARTS):
            rig.start_standin()
        for name, fn, _ in PARTS:
            if (wanted and name not in wanted) or (not wanted and name in ONLY_WHEN_NAMED):
                continue
            print("--- %s" % name)
            try:
                fn(rig, res)
            except Exception:
                res.check(False, "%s: the part crashed" % name, traceback.format_exc())
    except Exception:
        res.check(False, "set-up", traceback.format_exc())
    finally:
        rig.stop()
        rig.cleanup()
    print(res.summary())
    return res.exit_code()


if __name__ == "__main__":
    sys.exit(main())

"""The failure reporter of the Python suites that are not unittest-based (30-pam, 35-apps, 40-curl, 45-acr).

One line per check ("ok - NAME" or "FAIL - NAME: DETAIL"), then the suite's last line
"NAME: N passed, M failed", which tests/run-all.sh reads."""

import sys

DETAIL_MAX = 4000  # characters of a failure's detail: its start and, mostly, its end


class Results:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, ok, name, detail=""):
        """Count one check; returns `ok` so a caller can go on from it."""
        if ok:
            self.passed += 1
            print("ok - " + name)
        else:
            self.failed += 1
            text = str(detail) if detail != "" else ""
            if len(text) > DETAIL_MAX:
                text = text[:DETAIL_MAX // 4] + " [...] " + text[-(DETAIL_MAX - DETAIL_MAX // 4):]
            print("FAIL - %s%s" % (name, (": " + text) if text else ""))
        sys.stdout.flush()
        return ok

    def summary(self):
        return "%s: %d passed, %d failed" % (self.name, self.passed, self.failed)

    def exit_code(self):
        return 1 if self.failed else 0

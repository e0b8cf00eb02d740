"""Drive pam_azmi's account phase through pam_wrapper + pamtester and read back
the exact PAM code and the module's syslog lines.

The stack tells every code apart, PAM_IGNORE included (libpam turns a stack
of ignores into PAM_PERM_DENIED, so the module must not stand alone):

    account [success=2 ignore=ignore default=die] pam_azmi.so ARGS
    account requisite pam_debug.so acct=acct_expired   # reached only on PAM_IGNORE
    account required  pam_deny.so
    account required  pam_permit.so

pam_wrapper prints pam_syslog lines on stderr ("SYSLOG(prio): ...") with
PAM_WRAPPER_DEBUGLEVEL=3; pamtester prints pam_strerror of the result.
"""

import ctypes
import os
import re
import subprocess

from rig import PAM_SO, write

CODES = {0: "PAM_SUCCESS", 3: "PAM_SERVICE_ERR", 4: "PAM_SYSTEM_ERR", 5: "PAM_BUF_ERR", 6: "PAM_PERM_DENIED",
         7: "PAM_AUTH_ERR", 9: "PAM_AUTHINFO_UNAVAIL", 10: "PAM_USER_UNKNOWN", 11: "PAM_MAXTRIES",
         13: "PAM_ACCT_EXPIRED", 19: "PAM_CONV_ERR"}
_libpam = ctypes.CDLL("libpam.so.0")
_libpam.pam_strerror.restype = ctypes.c_char_p
BY_MESSAGE = {_libpam.pam_strerror(None, c).decode(): name for c, name in CODES.items()}

CLEAN_ENV = {k: v for k, v in os.environ.items()
             if not k.lower().endswith("_proxy") and not k.startswith(("AZURE_", "IDENTITY_", "MSI_", "AZMI_",
                                                                       "IMDS_", "PAM_WRAPPER", "LD_PRELOAD"))}
CLEAN_ENV["NO_PROXY"] = "*"
# AZMI_PAM_ASAN_RT: the sanitizer runtime to preload when BUILD holds an ASan build of the module.
ASAN_RT = os.environ.get("AZMI_PAM_ASAN_RT", "")


class PamResult:
    def __init__(self, code, lines, out):
        self.code = code
        self.lines = lines   # [(priority, message)]
        self.out = out

    def decisions(self):
        return [m for _, m in self.lines if "decision=" in m]

    def decision(self):
        d = self.decisions()
        return d[0] if len(d) == 1 else None

    def has(self, text):
        return any(text in m for _, m in self.lines)

    def __repr__(self):
        return "code=%s lines=%s\n%s" % (self.code, self.lines, self.out[-3000:])


class Pam:
    def __init__(self, rig, service="azmi"):
        self.dir = os.path.join(rig.tmp, "pam-services")
        os.makedirs(self.dir, exist_ok=True)
        self.service = service
        write(os.path.join(self.dir, "other"), "auth required pam_deny.so\naccount required pam_deny.so\n")

    def _stack(self, args):
        write(os.path.join(self.dir, self.service),
              "account [success=2 ignore=ignore default=die] %s %s\n"
              "account requisite pam_debug.so acct=acct_expired\n"
              "account required pam_deny.so\n"
              "account required pam_permit.so\n" % (PAM_SO, args))

    def _auth_stack(self, args, acct_args):
        """The auth phase, told apart as the account stack is (pam_debug answers PAM_MAXTRIES on an
        ignore); with acct_args, the account phase after it in the same transaction."""
        text = ("auth [success=2 ignore=ignore default=die] %s %s\n"
                "auth requisite pam_debug.so auth=maxtries\n"
                "auth required pam_deny.so\n"
                "auth required pam_permit.so\n" % (PAM_SO, args))
        if acct_args is not None:
            text += ("account [success=2 ignore=ignore default=die] %s %s\n"
                     "account requisite pam_debug.so acct=acct_expired\n"
                     "account required pam_deny.so\n"
                     "account required pam_permit.so\n" % (PAM_SO, acct_args))
        write(os.path.join(self.dir, self.service), text)

    def auth(self, user, answer, args="debug", acct_args=None, env=None, timeout=120, umask=None, drop_env=()):
        """pamtester USER authenticate [acct_mgmt]: `answer` (the token, or chunks ending in a
        backslash, one a line) is what the conversation reads from stdin."""
        self._auth_stack(args, acct_args)
        ops = ["authenticate"] + (["acct_mgmt"] if acct_args is not None else [])
        return self.acct(user, env=env, timeout=timeout, ops=ops, stdin=answer, keep_stack=True, umask=umask,
                         drop_env=drop_env)

    def acct(self, user, args="debug", env=None, timeout=120, ops=("acct_mgmt",), stdin=None,
             keep_stack=False, umask=None, drop_env=()):
        if not keep_stack:
            self._stack(args)
        e = dict(CLEAN_ENV)
        e.update({"LD_PRELOAD": "libpam_wrapper.so", "PAM_WRAPPER": "1", "PAM_WRAPPER_SERVICE_DIR": self.dir,
                  "PAM_WRAPPER_DEBUGLEVEL": "3"})
        if ASAN_RT:  # a sanitizer build of the module: its runtime first (TESTRIG)
            e.update({"LD_PRELOAD": ASAN_RT + ":libpam_wrapper.so", "UID_WRAPPER_DISABLE_DEEPBIND": "1",
                      "ASAN_OPTIONS": "verify_asan_link_order=0:detect_leaks=1:halt_on_error=1:"
                                      "exitcode=99",
                      "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1"})
        e.update(env or {})
        for k in drop_env:
            e.pop(k, None)
        r = subprocess.run(["pamtester", self.service, user] + list(ops), env=e, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout,
                           preexec_fn=(lambda: os.umask(umask)) if umask is not None else None,
                           input=(stdin + "\n").encode() if stdin is not None else None,
                           stdin=None if stdin is not None else subprocess.DEVNULL)
        out = r.stdout.decode("utf-8", "replace")
        if "Sanitizer" in out or "runtime error" in out:
            return PamResult("SANITIZER", [], out)
        lines = [(int(m.group(1)), m.group(2)) for m in re.finditer(r"SYSLOG\((\d+)\): (.*)", out)]
        if r.returncode == 0:
            code = "PAM_SUCCESS"
        else:
            m = re.search(r"^pamtester: (.*)$", out, re.M)
            code = BY_MESSAGE.get(m.group(1).strip(), "?" + m.group(1)) if m else "?rc%d" % r.returncode
            if code in ("PAM_ACCT_EXPIRED", "PAM_MAXTRIES"):
                code = "PAM_IGNORE"
        return PamResult(code, lines, out)

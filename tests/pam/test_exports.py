"""The shipped modules load the way their hosts load them and export only their entry points."""

import subprocess

from rig import NSS_SO, PAM_SO, PROGS, run

PAM_SYMS = ["pam_sm_acct_mgmt", "pam_sm_authenticate", "pam_sm_setcred"]
NSS_SYMS = ["_nss_azmi_getpwnam_r", "_nss_azmi_getpwuid_r", "_nss_azmi_getgrnam_r", "_nss_azmi_getgrgid_r",
            "_nss_azmi_initgroups_dyn", "_nss_azmi_setpwent", "_nss_azmi_endpwent", "_nss_azmi_getpwent_r",
            "_nss_azmi_setgrent", "_nss_azmi_endgrent", "_nss_azmi_getgrent_r"]


def exported(path):
    out = run(["nm", "-D", "--defined-only", path]).stdout.decode()
    return sorted({l.split()[-1].split("@")[0] for l in out.splitlines() if l.strip()})


def run_tests(rig, res):
    for so, syms in ((PAM_SO, PAM_SYMS), (NSS_SO, NSS_SYMS)):
        r = subprocess.run([PROGS + "/dlopen_check", so] + syms, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        res.check(r.returncode == 0, "exports: %s loads with RTLD_NOW and has its entry points" % so.split("/")[-1],
                  r.stdout.decode())
        got = exported(so)
        res.check(got == sorted(syms), "exports: %s exports nothing else" % so.split("/")[-1], got)

"""The private world suite 30-pam runs in (tests/suite-30-pam.sh starts it
inside `unshare -mn --propagation private`, as real root):

  * /etc, /var/lib and /dev are overlays whose upper layers live on a tmpfs:
    /etc/azmi.conf, /etc/passwd, /etc/nsswitch.conf, /etc/pam.d/sshd,
    /etc/hosts, /etc/ld.so.cache and /var/lib/azmi are written freely and
    the host's never change; /run and /home are fresh tmpfs.
  * lo is up with 169.254.169.254 on it: the stand-in is IMDS there, and an
    https listener on 127.0.0.1:443 answers as management.azure.com and
    graph.microsoft.com, and login.microsoftonline.com for the token keys
    (private /etc/hosts, test CA through ca_file).
  * /dev/log is a datagram socket read by a thread here, so the syslog lines
    of pam_azmi (through pam_syslog) and nss_azmi can be asserted.
  * libnss_azmi.so.2 sits in the system library directory (an overlay too),
    and `passwd:`/`group:` say "files azmi".
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
# AZMI_TEST_PAM_SO, AZMI_TEST_NSS_SO, AZMI_TEST_AZMI: test installed files instead (suite 70-deb).
PAM_SO = os.environ.get("AZMI_TEST_PAM_SO") or os.path.join(BUILD, "pam_azmi.so")
NSS_SO = os.environ.get("AZMI_TEST_NSS_SO") or os.path.join(BUILD, "libnss_azmi.so.2")
AZMI = os.environ.get("AZMI_TEST_AZMI") or os.path.join(BUILD, "azmi")
PROGS = os.path.join(BUILD, "tests", "pam")
STATEDIR = "/var/lib/azmi"
ARC_PORT = 40342  # the Arc agent's himds (identity and instance metadata) on its own port
AZURE_HOSTS = ("management.azure.com", "graph.microsoft.com", "login.microsoftonline.com")
sys.path.insert(0, os.path.join(ROOT, "tests", "standin"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import standin_client  # noqa: E402
from report import Results  # noqa: E402,F401  (the suites' one reporter, re-exported for run_tests.py)


def run(cmd, check=True, **kw):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class SyslogListener:
    """Collects datagrams sent to /dev/log."""

    def __init__(self, path="/dev/log"):
        self.lines = []
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            with self.lock:
                self.lines.append(data.decode("utf-8", "replace"))

    def mark(self):
        with self.lock:
            return len(self.lines)

    def since(self, mark, wait_for=None, timeout=3.0):
        """Lines after `mark`; with wait_for, wait until one contains it."""
        end = time.time() + timeout
        while True:
            with self.lock:
                got = list(self.lines[mark:])
            if wait_for is None or any(wait_for in l for l in got) or time.time() > end:
                return got
            time.sleep(0.02)


class Rig:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="azmi-pam-")
        self.standin = None
        self.syslog = None
        self.procs = []

    # -- the private world ---------------------------------------------------------------
    def setup(self):
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", self.tmp])
        for d, name in (("/etc", "etc"), ("/var/lib", "varlib"), ("/dev", "dev")):
            up, wk = os.path.join(self.tmp, name + "-up"), os.path.join(self.tmp, name + "-wk")
            os.mkdir(up)
            os.mkdir(wk)
            run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (d, up, wk), d])
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run"])
        run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/home"])
        os.makedirs("/run/sshd", 0o755)
        shutil.rmtree(STATEDIR, ignore_errors=True)
        run(["ip", "link", "set", "lo", "up"])
        run(["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"])
        if os.path.lexists("/dev/log"):
            os.unlink("/dev/log")
        self.syslog = SyslogListener()
        self._nss()
        self._certs()
        with open("/etc/hosts") as f:
            hosts = f.read()
        write("/etc/hosts", hosts + "\n127.0.0.1 " + " ".join(AZURE_HOSTS) + "\n")

    def _nss(self):
        """libnss_azmi.so.2 in the system library directory itself, through an overlay: glibc finds
        it by name, and a copy a package install puts there meanwhile (another suite) cannot win."""
        cache = [l for l in run(["ldconfig", "-p"]).stdout.decode().splitlines() if "libc.so.6 " in l]
        native = [l for l in cache if "x86-64" in l or "aarch64" in l] or cache
        libdir = os.path.realpath(os.path.dirname(native[0].split("=>")[1].strip()))
        up, wk = os.path.join(self.tmp, "lib-up"), os.path.join(self.tmp, "lib-wk")
        os.mkdir(up)
        os.mkdir(wk)
        run(["mount", "-t", "overlay", "overlay", "-o", "lowerdir=%s,upperdir=%s,workdir=%s" % (libdir, up, wk),
             libdir])
        dest = os.path.join(libdir, "libnss_azmi.so.2")
        # Suite 70-deb tests the installed module, which is already there (seen through the overlay).
        if os.path.realpath(NSS_SO) != dest:
            shutil.copy(NSS_SO, dest)
        run(["ldconfig", "-X", "-C", "/etc/ld.so.cache"])
        with open("/etc/nsswitch.conf") as f:
            lines = f.read().splitlines()
        out = []
        for l in lines:
            if l.startswith("passwd:"):
                l = "passwd:         files azmi"
            elif l.startswith("group:"):
                l = "group:          files azmi"
            out.append(l)
        write("/etc/nsswitch.conf", "\n".join(out) + "\n")

    def _certs(self):
        self.pki = standin_client.make_test_ca(self.tmp, dns_names=AZURE_HOSTS)
        self.ca = self.pki["ca"]

    def start_standin(self):
        """IMDS at 169.254.169.254:80; ARM and Graph over https on 127.0.0.1:443; the Arc agent's
        himds on 127.0.0.1:40342 (used only by tests that point IDENTITY_ENDPOINT/IMDS_ENDPOINT there)."""
        self.standin = standin_client.Standin(
            bind="169.254.169.254", port=80,
            listeners=[{"name": "azure", "role": "main", "bind": "127.0.0.1", "port": 443,
                        "cert": self.pki["cert"], "key": self.pki["key"]},
                       {"name": "arc", "role": "arc", "bind": "127.0.0.1", "port": ARC_PORT}])
        self.standin.start()

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        if self.standin:
            self.standin.stop()
        self.syslog = None

    def cleanup(self):
        """Leave nothing in the host's /tmp: the tmpfs goes, then its (empty) mount point."""
        subprocess.run(["umount", "-l", self.tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            os.rmdir(self.tmp)
        except OSError:
            pass

    # -- configuration -------------------------------------------------------------------
    def conf(self, extra="", **keys):
        """Write /etc/azmi.conf: the test defaults, then `keys`, then `extra` lines."""
        base = {"allowed_domains": "contoso.com", "ca_file": self.ca, "timeout": "20"}
        base.update({k: v for k, v in keys.items() if v is not None})
        for k in [k for k, v in keys.items() if v is None]:
            base.pop(k, None)
        text = "".join("%s = %s\n" % kv for kv in base.items()) + extra
        write("/etc/azmi.conf", text)

    def user_map(self, text, mode=0o644, path="/etc/azmi-users"):
        write(path, text, mode)
        return path

    def add_local(self, name, uid, gid=None, group=True):
        """A local account (and its group) in the private /etc/passwd, /etc/group and /etc/shadow."""
        gid = uid if gid is None else gid
        with open("/etc/passwd", "a") as f:
            f.write("%s:x:%d:%d::/home/%s:/bin/bash\n" % (name, uid, gid, name))
        with open("/etc/shadow", "a") as f:
            f.write("%s:*:19000:0:99999:7:::\n" % name)
        if group:
            with open("/etc/group", "a") as f:
                f.write("%s:x:%d:\n" % (name, gid))

    def add_group(self, name, gid):
        with open("/etc/group", "a") as f:
            f.write("%s:x:%d:\n" % (name, gid))

    def clear_state(self):
        shutil.rmtree(STATEDIR, ignore_errors=True)

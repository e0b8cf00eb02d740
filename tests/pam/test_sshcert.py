"""Issue 13 end to end: `az ssh vm` certificates.  The stand-in Entra issues
OpenSSH user certificates (standin_sshcert.py: ssh-keygen -s with the very
key its JWKS publishes) to a real client library (MSAL Python,
acquire_token_for_client with token_type=ssh-cert); `azmi ssh-ca refresh`
turns the JWKS into sshd's TrustedUserCAKeys file; a real sshd runs `azmi
ssh-principals %u %k` as an unprivileged user and pam_azmi's account phase
decides by RBAC for the certificate's object id; the real ssh logs in."""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import scenario
from rig import AZMI, PAM_SO, STATEDIR, run, write
from test_sshd import SSHD, wait_port

PORT = 2224
CA_FILE = STATEDIR + "/ssh-ca.pub"
SP = "3e0c5a1f-6b2d-4c8e-9f71-0a2b4c6d8e01"
SP_SECRET = "standin-client-secret~0123456789abcdef"
SCOPE = "https://pas.windows.net/CheckMyAccess/Linux/.default"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"
CMD_DIR = "/run/azmi-ssh-test"  # root-owned, not group/world-writable up to /: sshd's rule for the command
SVC_USER = "azmi-ssh"
TICKETS = "/run/azmi-ssh"


def b64url(n):
    """As the Azure CLI sends them: the SSH mpint's bytes (a leading zero when the top bit is set),
    base64url with padding."""
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if raw[0] & 0x80:
        raw = b"\0" + raw
    return base64.urlsafe_b64encode(raw).decode()


class Client:
    """One person's RSA key and the certificates MSAL gets for it."""

    def __init__(self, d, name):
        from cryptography.hazmat.primitives import serialization
        self.key = os.path.join(d, "id_" + name)
        run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", self.key])
        pub = serialization.load_ssh_public_key(open(self.key + ".pub", "rb").read()).public_numbers()
        n, e = b64url(pub.n), b64url(pub.e)
        self.kid = hashlib.sha256((n + e).encode()).hexdigest()
        self.cnf = json.dumps({"kty": "RSA", "n": n, "e": e, "kid": self.kid})
        self.cert = self.key + "-aadcert.pub"

    def get_cert(self, tid, ca):
        import msal
        os.environ["REQUESTS_CA_BUNDLE"] = ca
        app = msal.ConfidentialClientApplication(SP, client_credential=SP_SECRET, validate_authority=False,
                                                 authority="https://login.microsoftonline.com/%s" % tid)
        r = app.acquire_token_for_client([SCOPE], data={"token_type": "ssh-cert", "req_cnf": self.cnf,
                                                        "key_id": self.kid})
        if "access_token" not in r:
            raise RuntimeError("MSAL: %s" % r)
        write(self.cert, "ssh-rsa-cert-v01@openssh.com %s\n" % r["access_token"])
        return r


def ssh(client, user, port=PORT, cert=True, command="id"):
    argv = ["ssh", "-F", "/dev/null", "-p", str(port), "-i", client.key, "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "IdentitiesOnly=yes",
            "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR", "-l", user, "127.0.0.1", command]
    if cert:
        argv[5:5] = ["-o", "CertificateFile=%s" % client.cert]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=90)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def azmi(*args):
    r = subprocess.run([AZMI] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return r.returncode, r.stdout.decode("utf-8", "replace")


def who(rig, oid, upn, tid=None, validity="-5m:+60m"):
    """Whom the stand-in's next certificates name (every field set: config merges)."""
    tid = tid or rig.standin.state()["tenant_id"]
    rig.standin.config({"ssh_certs": {SP: {"oid": oid, "upn": upn, "tid": tid, "validity": validity,
                                           "name": upn}}})


def setup_sshd(rig, d):
    """sshd with the certificate settings of the package's drop-in, the command run as azmi-ssh."""
    os.makedirs(CMD_DIR, 0o755, exist_ok=True)
    os.makedirs(TICKETS, 0o700, exist_ok=True)  # the package's tmpfiles.d entry makes it
    os.chown(TICKETS, 1990, 1990)
    shutil.copy(AZMI, CMD_DIR + "/azmi")
    os.chmod(CMD_DIR + "/azmi", 0o755)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(d, "host_key")])
    config = os.path.join(d, "sshd_config")
    write(config, "\n".join([
        "Port %d" % PORT, "ListenAddress 127.0.0.1", "HostKey %s/host_key" % d, "PidFile %s/sshd.pid" % d,
        "UsePAM yes", "AuthorizedKeysFile %s/keys/%%u" % d, "StrictModes no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PubkeyAuthentication yes", "PermitRootLogin no", "LogLevel VERBOSE",
        "UseDNS no", "ExposeAuthInfo yes", "TrustedUserCAKeys %s" % CA_FILE,
        "AuthorizedPrincipalsCommand %s/azmi ssh-principals %%u %%k" % CMD_DIR,
        "AuthorizedPrincipalsCommandUser %s" % SVC_USER, ""]))
    write("/etc/pam.d/sshd", "\n".join([
        "auth     required pam_deny.so",
        "account  required %s debug" % PAM_SO,
        "account  required pam_unix.so",
        "session  required pam_unix.so",
        "password required pam_deny.so", ""]))
    log = os.path.join(d, "sshd.log")
    proc = subprocess.Popen([SSHD, "-D", "-f", config, "-E", log], env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rig.procs.append(proc)
    return proc, log


def backdate(seconds):
    """Make the CA file's key set look `seconds` older (root may edit it; the bound is read from it)."""
    text = open(CA_FILE).read()
    m = re.search(r"^# fetched (\d+)", text, re.M)
    text = text.replace(m.group(0), "# fetched %d" % (int(m.group(1)) - seconds))
    write(CA_FILE, text)


def run_tests(rig, res):
    d = os.path.join(rig.tmp, "sshcert")
    os.makedirs(os.path.join(d, "keys"))
    rig.clear_state()
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    scenario.apply(rig.standin)
    tid = rig.standin.state()["tenant_id"]
    rig.add_local(SVC_USER, 1990)
    rig.add_local("sshlocal", 1900)
    rig.user_map("gina  gina@fabrikam.example\ngina@fabrikam.example  gina@fabrikam.example\n")
    rig.conf(cache_ttl="0", timeout="10", user_map="/etc/azmi-users", tenant=tid, ssh_ca_keep="3600")

    rc, out = azmi("ssh-ca", "refresh")
    st = os.stat(CA_FILE) if os.path.exists(CA_FILE) else None
    res.check(rc == 0 and "fresh: 1 key(s)" in out and st is not None and st.st_mode & 0o777 == 0o644 and
              st.st_uid == 0, "sshcert: azmi ssh-ca refresh writes the JWKS as a 0644 root CA file", (rc, out))
    text = open(CA_FILE).read() if st else ""
    res.check(text.count("\nssh-rsa ") == 1 and "entra-kid:" in text and "# fetched " in text,
              "sshcert: ... one ssh-rsa line per JWKS key, with its kid and the fetch time", text)
    rc, out = azmi("ssh-ca", "show")
    res.check(rc == 0 and "1 key(s) trusted" in out and "SHA256:" in out, "sshcert: azmi ssh-ca show", out)

    proc, log = setup_sshd(rig, d)
    if not res.check(wait_port(PORT), "sshcert: sshd with TrustedUserCAKeys + AuthorizedPrincipalsCommand listens"):
        return
    logs = lambda: open(log).read()[-3000:]  # noqa: E731
    alice, bob = Client(d, "alice"), Client(d, "bob")

    # bob (user role through a group): in by certificate; RBAC for the certificate's oid, no Graph look-up.
    who(rig, oid=scenario.USERS["bob"], upn="Bob@Contoso.com")
    bob.get_cert(tid, rig.ca)
    mark = rig.syslog.mark()
    graph_before = len([r for r in rig.standin.requests() if "/v1.0/users" in r["path"]])
    rc, out = ssh(bob, "bob@contoso.com")
    lines = rig.syslog.since(mark, wait_for="decision=")
    res.check(rc == 0 and "(bob@contoso.com)" in out and "azmi-admins" not in out,
              "sshcert: an MSAL-issued certificate of a user with User Login logs in (az ssh vm)",
              (rc, out, lines[-8:], logs()))
    res.check(any("ssh-principals:" in l and "result=accepted" in l and 'principal="Bob@Contoso.com"' in l
                  for l in lines), "sshcert: ... the principals command printed the principal as issued", lines)
    res.check(any("ssh-cert:" in l and "result=ok" in l for l in lines) and
              any('principal="%s"' % scenario.USERS["bob"] in l and "decision=granted" in l for l in lines),
              "sshcert: ... the account phase decided for the certificate's object id", lines[-8:])
    graph_after = len([r for r in rig.standin.requests() if "/v1.0/users" in r["path"]])
    res.check(graph_after == graph_before, "sshcert: ... with no Microsoft Graph look-up",
              (graph_before, graph_after))

    # alice (admin): the admin group.
    who(rig, oid=scenario.USERS["alice"], upn="alice@contoso.com")
    alice.get_cert(tid, rig.ca)
    rc, out = ssh(alice, "alice@contoso.com")
    res.check(rc == 0 and "(azmi-admins)" in out, "sshcert: an admin's certificate gets the admin group", (rc, out))

    # heidi (Reader only): the certificate is good, RBAC refuses.
    heidi = Client(d, "heidi")
    who(rig, oid=scenario.USERS["heidi"], upn="heidi@contoso.com")
    heidi.get_cert(tid, rig.ca)
    mark = rig.syslog.mark()
    rc, out = ssh(heidi, "heidi@contoso.com")
    lines = rig.syslog.since(mark, wait_for="decision=")
    res.check(rc != 0 and "uid=" not in out and any("decision=denied" in l for l in lines),
              "sshcert: a certificate of a user without a login role is refused by RBAC", (rc, out, lines[-6:]))

    # Another tenant, same signing key: refused by the principals command.
    evil = Client(d, "evil")
    who(rig, oid=scenario.USERS["bob"], upn="bob@contoso.com", tid=OTHER_TENANT)
    evil.get_cert(tid, rig.ca)
    mark = rig.syslog.mark()
    rc, out = ssh(evil, "bob@contoso.com")
    lines = rig.syslog.since(mark, wait_for="ssh-principals:")
    res.check(rc != 0 and "uid=" not in out and any("check=tenant" in l for l in lines),
              "sshcert: a certificate for another tenant, signed by the same key, is refused", (rc, out, lines))

    # The principal does not map to the login name.
    rc, out = ssh(bob, "carol@contoso.com")
    res.check(rc != 0 and "uid=" not in out, "sshcert: bob's certificate does not log in as carol", (rc, out))

    # Expired.
    old = Client(d, "old")
    who(rig, oid=scenario.USERS["bob"], upn="bob@contoso.com", validity="-3h:-1h")
    old.get_cert(tid, rig.ca)
    rc, out = ssh(old, "bob@contoso.com")
    res.check(rc != 0 and "uid=" not in out, "sshcert: an expired certificate is refused", (rc, out))

    # Signed by a key that is not in the key set, Entra-shaped otherwise.
    forger = os.path.join(d, "forger_ca")
    run(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", forger])
    fake = Client(d, "fake")
    run(["ssh-keygen", "-q", "-s", forger, "-t", "rsa-sha2-256", "-I", "%s@%s" % (scenario.USERS["bob"], tid),
         "-n", "bob@contoso.com", "-V", "-5m:+60m",
         "-O", "extension:oid@sshservice.azure.net=%s" % scenario.USERS["bob"],
         "-O", "extension:tid@sshservice.azure.net=%s" % tid, fake.key + ".pub"])
    shutil.copy(fake.key + "-cert.pub", fake.cert)
    rc, out = ssh(fake, "bob@contoso.com")
    res.check(rc != 0 and "uid=" not in out, "sshcert: a certificate signed by a key outside the key set is refused",
              (rc, out))

    # azmi check-login --cert explains both.
    mark_graph = len([r for r in rig.standin.requests() if "/v1.0/users" in r["path"]])
    rc, out = azmi("check-login", "bob@contoso.com", "--cert", bob.cert)
    res.check(rc == 0 and "certificate     accepted" in out and "tenant %s" % tid in out and
              "granted: user" in out and scenario.USERS["bob"] in out,
              "sshcert: check-login --cert explains an accepted certificate, then RBAC for its object id", out)
    res.check(len([r for r in rig.standin.requests() if "/v1.0/users" in r["path"]]) == mark_graph,
              "sshcert: ... without Graph", out)
    rc, out = azmi("check-login", "bob@contoso.com", "--cert", evil.cert, "--json")
    doc = json.loads(out) if out.startswith("{") else {}
    res.check(rc == 4 and doc.get("certificate", {}).get("check") == "tenant" and doc.get("decision") == "denied",
              "sshcert: check-login --cert --json names the failed check (another tenant)", out)

    # A guest: e-mail principal, mapped to a local name through user_map (carol's role: subscription).
    gina = Client(d, "gina")
    who(rig, oid=scenario.USERS["carol"], upn="Gina@Fabrikam.example")
    gina.get_cert(tid, rig.ca)
    rc, out = ssh(gina, "gina")
    res.check(rc == 0 and "(gina)" in out, "sshcert: a guest's e-mail principal logs in as its user_map name",
              (rc, out, logs()))
    rc, out = ssh(gina, "gina@fabrikam.example")
    res.check(rc == 0 and "(gina@fabrikam.example)" in out,
              "sshcert: ... and as the principal in lower case, as az ssh vm logs in, mapped to itself", (rc, out))

    # Local break-glass user: key login untouched.
    os.makedirs(os.path.join(d, "keys"), exist_ok=True)
    shutil.copy(bob.key + ".pub", os.path.join(d, "keys", "sshlocal"))
    rc, out = ssh(bob, "sshlocal", cert=False)
    res.check(rc == 0 and "uid=1900(sshlocal)" in out, "sshcert: a local user still logs in by key", (rc, out))
    rc, out = ssh(bob, "sshlocal")
    res.check(rc == 0 and "uid=1900(sshlocal)" in out,
              "sshcert: ... even offering an Entra certificate first (the key decides)", (rc, out))

    # Rotation: a new kid in the JWKS; refresh; a certificate of the new key works, sshd not restarted.
    kid = rig.standin._call("POST", "rotate-key", {"keep_old": False})["kid"]
    rc, out = azmi("ssh-ca", "refresh")
    res.check(rc == 0 and kid in open(CA_FILE).read(), "sshcert: refresh after a rotation holds the new kid",
              (rc, out))
    newbob = Client(d, "newbob")
    who(rig, oid=scenario.USERS["bob"], upn="bob@contoso.com")
    newbob.get_cert(tid, rig.ca)
    rc, out = ssh(newbob, "bob@contoso.com")
    res.check(rc == 0 and proc.poll() is None, "sshcert: a certificate of the rotated key logs in, same sshd",
              (rc, out))
    rc, out = ssh(bob, "bob@contoso.com")
    res.check(rc != 0, "sshcert: ... and one of the key no longer published is refused", (rc, out))

    # Key set unreachable: the last good set is kept within ssh_ca_keep, then the file is emptied.
    keys_path = "/%s/discovery/v2.0/keys" % tid
    rig.standin.script(keys_path, [{"status": 503, "repeat": 50}])
    rc, out = azmi("ssh-ca", "refresh")
    res.check(rc == 5 and "kept: 1 key(s)" in out, "sshcert: key set unreachable -> the last good set is kept",
              (rc, out))
    rc, out = ssh(newbob, "bob@contoso.com")
    res.check(rc == 0, "sshcert: ... and certificates still log in within ssh_ca_keep", (rc, out))
    backdate(3700)
    rc, out = ssh(newbob, "bob@contoso.com")
    res.check(rc != 0, "sshcert: a key set older than ssh_ca_keep is not trusted, even before a refresh", (rc, out))
    rc, out = azmi("ssh-ca", "refresh")
    text = open(CA_FILE).read()
    res.check(rc == 5 and "emptied" in out and "ssh-rsa" not in text,
              "sshcert: ... and the next failed refresh empties the file (fail closed)", (rc, out, text))
    rc, out = ssh(newbob, "bob@contoso.com")
    res.check(rc != 0, "sshcert: ... no certificate logs in", (rc, out))
    rc, out = ssh(bob, "sshlocal", cert=False)
    res.check(rc == 0, "sshcert: ... while the local user still does", (rc, out))
    proc.terminate()
    proc.wait(5)
    scenario.apply(rig.standin)


def ticket_path(user):
    """Where `azmi ssh-principals` leaves a certificate for `user` (login/ssh_ticket.c: FNV-1a 64)."""
    h = 0xcbf29ce484222325
    for b in user.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%s/t-%016x" % (TICKETS, h)


def write_ca_file(rig, fetched):
    """The CA file written here from the stand-in's JWKS (not by azmi: the ASan run builds the module
    only), in the documented format: a check of that format from a second writer."""
    import base64 as b64
    from standin_sshcert import public_key_line
    lines = ["# written by test_sshcert", "# fetched %d" % fetched]
    for k in rig.standin.state()["jwks"]["keys"]:
        n = int.from_bytes(b64.urlsafe_b64decode(k["n"] + "=" * (-len(k["n"]) % 4)), "big")
        e = int.from_bytes(b64.urlsafe_b64decode(k["e"] + "=" * (-len(k["e"]) % 4)), "big")
        lines.append("%s entra-kid:%s" % (public_key_line(n, e), k["kid"]))
    os.makedirs(STATEDIR, 0o755, exist_ok=True)
    write(CA_FILE, "\n".join(lines) + "\n")


def run_pam_tests(rig, res):
    """The account phase's certificate path through pam_wrapper + pamtester (the ASan run takes this
    part too): the certificate the principals command left is checked again and its object id decides;
    one that fails a check is ignored, never trusted."""
    from pamrun import Pam
    d = os.path.join(rig.tmp, "sshcert-pam")
    os.makedirs(d, exist_ok=True)
    rig.clear_state()
    scenario.apply(rig.standin)
    tid = rig.standin.state()["tenant_id"]
    rig.user_map("# none\n")
    rig.conf(cache_ttl="0", timeout="10", user_map="/etc/azmi-users", tenant=tid, ssh_ca_keep="3600")
    write_ca_file(rig, int(time.time()))
    os.makedirs(TICKETS, 0o700, exist_ok=True)
    pam = Pam(rig, "sshcert")
    bob = Client(d, "bob")
    who(rig, scenario.USERS["bob"], "Bob@Contoso.com")
    bob.get_cert(tid, rig.ca)
    cert_text = open(bob.cert).read()
    graph = lambda: len([r for r in rig.standin.requests() if "/v1.0/users" in r["path"]])  # noqa: E731

    write(ticket_path("bob@contoso.com"), cert_text, 0o600)
    g0 = graph()
    r = pam.acct("bob@contoso.com")
    res.check(r.code == "PAM_SUCCESS" and r.has("from=principals-command result=ok") and
              'principal="%s"' % scenario.USERS["bob"] in (r.decision() or "") and graph() == g0,
              "sshcert-pam: the certificate left for the name decides by its object id, no Graph", r)

    evil = Client(d, "evil")
    who(rig, scenario.USERS["heidi"], "bob@contoso.com", tid=OTHER_TENANT)
    evil.get_cert(tid, rig.ca)
    write(ticket_path("bob@contoso.com"), open(evil.cert).read(), 0o600)
    r = pam.acct("bob@contoso.com")
    res.check(r.code == "PAM_SUCCESS" and not r.has("ssh-cert: user=") and
              'principal="bob@contoso.com"' in (r.decision() or ""),
              "sshcert-pam: a left certificate of another tenant is ignored (the name decides, by Graph)", r)

    write(ticket_path("bob@contoso.com"), cert_text, 0o600)
    write_ca_file(rig, int(time.time()) - 7200)
    r = pam.acct("bob@contoso.com")
    res.check(r.code == "PAM_SUCCESS" and not r.has("ssh-cert: user="),
              "sshcert-pam: with a CA file older than ssh_ca_keep the left certificate is ignored", r)

    write_ca_file(rig, int(time.time()))
    rig.add_local("sshcertlocal", 1950)
    write(ticket_path("sshcertlocal"), cert_text, 0o600)
    r = pam.acct("sshcertlocal")
    res.check(r.code == "PAM_IGNORE" and not r.decisions(),
              "sshcert-pam: a certificate left for a local account's name changes nothing (PAM_IGNORE)", r)
    write(ticket_path("bob@contoso.com"), "garbage\n", 0o600)
    r = pam.acct("bob@contoso.com")
    res.check(r.code == "PAM_SUCCESS" and not r.has("ssh-cert: user="), "sshcert-pam: a malformed ticket is ignored", r)
    scenario.apply(rig.standin)

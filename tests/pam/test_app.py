"""The seed's app, run for real (issue 15): demo/apps/notes, a Flask app using DefaultAzureCredential
with azure-storage-blob against Azurite (OAuth, https) and psycopg2 with the Entra token as password
against a real PostgreSQL whose `pam` method checks the token with pam_azmi's offline validation -
all through `azmi serve`, the app unchanged.

In the rig's private world: IMDS is the stand-in at 169.254.169.254, the tenant's keys come from the
https listener answering as login.microsoftonline.com; PostgreSQL runs as the postgres user with
/etc/pam.d/postgresql-azmi (the overlay) calling pam_azmi.so."""

import base64
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

from rig import AZMI, BUILD, PAM_SO, ROOT, write

PG_RESOURCE = "https://ossrdbms-aad.database.windows.net"
IMDS_PATH = "/metadata/identity/oauth2/token"
PY = "/usr/bin/python3"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            proc.log.flush()
            proc.log.seek(0)
            raise AssertionError("%s exited with %s: %s" % (what, proc.returncode, proc.log.read()[-2000:]))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("%s did not listen on %d" % (what, port))


class World:
    def __init__(self, rig):
        self.rig = rig
        self.dir = os.path.join(rig.tmp, "app")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.ca = os.path.join(self.dir, "ca.pem")  # readable by the postgres user
        shutil.copy(rig.ca, self.ca)
        os.chmod(self.ca, 0o644)
        self.procs = []

    def spawn(self, name, cmd, env=None, user=None):
        log = open(os.path.join(self.dir, name + ".log"), "w+")
        if user:
            cmd = ["runuser", "-u", user, "--"] + cmd
        p = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        p.log = log
        self.procs.append(p)
        return p

    def log(self, p):
        p.log.flush()
        p.log.seek(0)
        return p.log.read()[-3000:]

    def stop(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
            p.log.close()

    # --- the parts --------------------------------------------------------------------
    def pam_and_azmi_conf(self):
        st = self.rig.standin.state()
        self.system = st["system_identity"]
        # The identity holds the database application's app role DB.Login (an app role assignment in
        # Entra), so its tokens carry it; require=token makes the role the policy.
        self.rig.standin.config(extra_claims={"roles": ["DB.Login"]})
        self.rig.conf(ca_file=self.ca, tenant=st["tenant_id"], audiences=PG_RESOURCE, require="token",
                      required_roles="DB.Login", user_map="/etc/azmi-users", cache_ttl="0")
        self.rig.user_map("app %s\n" % self.system["object_id"])
        # pam_azmi's auth phase decides (signature, tenant, audience, the mapped principal, the role);
        # its account phase keeps the books of OS logins (uids, the admin group), which a database
        # login has none of.
        write("/etc/pam.d/postgresql-azmi", "auth required %s debug\naccount required pam_permit.so\n" % PAM_SO)

    def postgres(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not bins:
            raise AssertionError("PostgreSQL is not installed (sh tools/install-deps.sh test)")
        bindir = os.path.dirname(bins[-1])
        pg = pwd.getpwnam("postgres")
        data, sock = os.path.join(self.dir, "pgdata"), os.path.join(self.dir, "pgsock")
        for d in (data, sock):
            os.makedirs(d, exist_ok=True)
            os.chown(d, pg.pw_uid, pg.pw_gid)
            os.chmod(d, 0o700 if d == data else 0o755)
        r = subprocess.run(["runuser", "-u", "postgres", "--", os.path.join(bindir, "initdb"), "-D", data,
                            "-U", "postgres", "-A", "trust", "--no-sync"], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        write(os.path.join(data, "pg_hba.conf"),
              "local all postgres trust\n"
              "host all app 127.0.0.1/32 pam pamservice=postgresql-azmi\n"
              "host all all 0.0.0.0/0 reject\n", 0o600)
        os.chown(os.path.join(data, "pg_hba.conf"), pg.pw_uid, pg.pw_gid)
        self.pg_port = free_port()
        p = self.spawn("postgres", [os.path.join(bindir, "postgres"), "-D", data, "-p", str(self.pg_port),
                                    "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + sock,
                                    "-c", "fsync=off"], user="postgres")
        wait_port(self.pg_port, p, "postgres")
        self.pg = p
        psql = os.path.join(bindir, "psql")
        for sql in ("CREATE ROLE app LOGIN", "CREATE DATABASE appdb OWNER app"):
            r = subprocess.run(["runuser", "-u", "postgres", "--", psql, "-h", sock, "-p", str(self.pg_port),
                                "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", sql], capture_output=True, text=True)
            assert r.returncode == 0, r.stdout + r.stderr

    def azurite(self):
        exe = os.path.join(ROOT, BUILD, "node", "node_modules", ".bin", "azurite-blob")
        if not os.path.exists(exe):
            raise AssertionError("Azurite is missing at %s (the suite installs it)" % exe)
        self.blob_port = free_port()
        p = self.spawn("azurite", [exe, "--blobHost", "127.0.0.1", "--blobPort", str(self.blob_port),
                                   "--oauth", "basic", "--cert", self.rig.pki["cert"], "--key", self.rig.pki["key"],
                                   "--disableTelemetry", "--inMemoryPersistence"],
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.dir})
        wait_port(self.blob_port, p, "azurite")

    def serve(self):
        self.env_file = os.path.join(self.dir, "serve.env")
        port = free_port()
        r = subprocess.run([AZMI, "serve", "--init", self.env_file, "--listen", "127.0.0.1:%d" % port],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        cache = os.path.join(self.dir, "serve-cache")
        os.makedirs(cache, 0o700, exist_ok=True)
        env = {"PATH": "/usr/bin:/bin", "AZMI_CACHE_DIR": cache}
        p = self.spawn("serve", [AZMI, "serve", "--env-file", self.env_file, "-v"], env=env)
        wait_port(port, p, "azmi serve")
        self.serve_proc = p

    def app(self):
        env = {"PATH": "/usr/bin:/bin", "HOME": self.dir, "LANG": "C.UTF-8", "NO_PROXY": "*",
               "REQUESTS_CA_BUNDLE": self.ca,
               "STORAGE_ACCOUNT_URL": "https://127.0.0.1:%d/devstoreaccount1" % self.blob_port,
               "PGHOST": "127.0.0.1", "PGPORT": str(self.pg_port), "PGDATABASE": "appdb", "PGUSER": "app"}
        with open(self.env_file) as f:  # what EnvironmentFile=/etc/azmi/serve.env gives a service
            for line in f:
                if line.strip() and not line.startswith("#"):
                    k, _, v = line.strip().partition("=")
                    env[k] = v
        self.app_port = free_port()
        env["PORT"] = str(self.app_port)
        p = self.spawn("app", [PY, os.path.join(ROOT, "demo", "apps", "notes", "app.py")], env=env)
        wait_port(self.app_port, p, "the notes app", timeout=60)
        self.app_proc = p
        self.app_env = env


def http(method, url, form=None):
    data = urllib.parse.urlencode(form).encode() if form else None
    req = urllib.request.Request(url, data=data, method=method)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")[:2000]


def psql_login(w, password):
    """psycopg2 as the app would use it, with `password`; (ok, error text)."""
    code = ("import psycopg2,sys\n"
            "try:\n psycopg2.connect(host='127.0.0.1', port=%d, dbname='appdb', user='app', password=sys.argv[1],"
            " connect_timeout=10).close(); print('ok')\n"
            "except psycopg2.OperationalError as e:\n print('refused', str(e).strip()[:300])\n" % w.pg_port)
    r = subprocess.run([PY, "-c", code, password], capture_output=True, text=True, timeout=60)
    if not r.stdout.startswith("ok") and "PAM authentication failed" not in r.stdout:
        return None, r.stdout + r.stderr  # refused for another reason than the token: not a pass
    return r.stdout.startswith("ok"), r.stdout + r.stderr


def run_tests(rig, res):
    w = World(rig)
    try:
        rig.standin.reset()
        w.pam_and_azmi_conf()
        w.postgres()
        w.azurite()
        w.serve()
        w.app()
        base = "http://127.0.0.1:%d" % w.app_port
        st1, body1 = http("POST", base + "/notes", {"title": "first", "text": "hello from the notes app"})
        st2, body2 = http("POST", base + "/notes", {"title": "second", "text": "through azmi serve"})
        res.check(st1 == 201 and st2 == 201, "app: two notes stored (a blob and a row each)",
                  "%s %s %s %s\n%s\n%s" % (st1, body1, st2, body2, w.log(w.app_proc), w.log(w.pg)))
        st, notes = http("GET", base + "/notes")
        ok = st == 200 and [(n["title"], n["text"], n["db_user"]) for n in notes] == [
            ("first", "hello from the notes app", "app"), ("second", "through azmi serve", "app")]
        res.check(ok, "app: notes read back from PostgreSQL (as role app) and Blob Storage", "%s %s" % (st, notes))
        imds = rig.standin.requests(IMDS_PATH)
        resources = sorted(r["query"]["resource"][0] for r in imds)
        res.check(resources == [PG_RESOURCE, "https://storage.azure.com"],
                  "app: IMDS asked once per resource (storage, PostgreSQL) through azmi serve", str(resources))
        pam_lines = [l for l in rig.syslog.lines if "auth: user=\"app\"" in l]
        res.check(any("result=ok" in l for l in pam_lines),
                  "app: PostgreSQL's pam method had pam_azmi check the token", "\n".join(pam_lines[-5:]))
        # The database really checks: a token for another audience, a made-up password, a tampered token.
        token = json.loads(subprocess.run(
            [PY, "-c", "from azure.identity import DefaultAzureCredential as C;import json;"
             "print(json.dumps(C().get_token('https://storage.azure.com/.default').token))"],
            env=w.app_env, capture_output=True, text=True, timeout=60).stdout)
        ok1, out1 = psql_login(w, token)
        ok2, out2 = psql_login(w, "not-a-token")
        pg_token = json.loads(subprocess.run(
            [PY, "-c", "from azure.identity import DefaultAzureCredential as C;import json;"
             "print(json.dumps(C().get_token('%s/.default').token))" % PG_RESOURCE],
            env=w.app_env, capture_output=True, text=True, timeout=60).stdout)
        head, claims, sig = pg_token.split(".")
        ok3, out3 = psql_login(w, head + "." + claims + "." + sig[:-4] + ("AAAA" if sig[-4:] != "AAAA" else "BBBB"))
        ok4, out4 = psql_login(w, pg_token)
        res.check(ok1 is False and ok2 is False and ok3 is False and ok4,
                  "app: PostgreSQL refuses a storage token, a made-up password and a tampered token, "
                  "takes the right one", "\n".join((out1, out2, out3, out4)))
        # Tokens the tenant really signed, but not good enough: without the app role, another principal's.
        claims = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
        no_role = rig.standin.mint(PG_RESOURCE, claims={"oid": claims["oid"], "sub": claims["oid"], "roles": []})
        other = rig.standin.mint(PG_RESOURCE, claims={"oid": "0e0e0e0e-1111-4222-8333-444455556666",
                                                      "sub": "0e0e0e0e-1111-4222-8333-444455556666",
                                                      "roles": ["DB.Login"]})
        ok5, out5 = psql_login(w, no_role["access_token"])
        ok6, out6 = psql_login(w, other["access_token"])
        res.check(ok5 is False and ok6 is False, "app: PostgreSQL refuses a signed token without the role, and another "
                  "principal's", "\n".join((out5, out6)))
        serve_log = w.log(w.serve_proc)
        res.check(token not in serve_log and "IDENTITY_HEADER" not in serve_log,
                  "app: azmi serve logged no token", serve_log[-500:])
    except AssertionError as e:
        pam = [l for l in rig.syslog.lines if "azmi" in l][-8:]
        res.check(False, "app: set-up", str(e) + "\n--- pam_azmi:\n" + "\n".join(pam) +
                  ("\n--- postgres:\n" + w.log(w.pg) if getattr(w, "pg", None) else ""))
    finally:
        w.stop()

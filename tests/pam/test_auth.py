"""pam_azmi's auth phase (issue 6): Entra access tokens at the prompt, validated offline, through
pam_wrapper + pamtester (the token is what the conversation reads from stdin).

The stand-in signs tokens with its own key and serves the tenant's keys at
https://login.microsoftonline.com/{tid}/discovery[/v2.0]/keys (the rig's /etc/hosts and CA); forged
tokens are signed here with a second key the tenant never published."""

import base64
import hashlib
import hmac
import json
import os
import time

import scenario
from pamrun import Pam
from rig import STATEDIR

AUD = "api://azmi-vm"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Tokens:
    def __init__(self, rig):
        from cryptography.hazmat.primitives.asymmetric import rsa
        self.rig = rig
        st = rig.standin.state()
        self.tid = st["tenant_id"]
        self.kid = st["kid"]
        self.pub_pem = st["public_key_pem"]
        self.forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def good(self, user="alice", v2=False, resource=AUD, **extra):
        """A token of the stand-in for `user` (scenario.USERS), v1 unless v2."""
        claims = {"oid": scenario.USERS.get(user, scenario.oid(999)), "upn": scenario.upn(user),
                  "unique_name": scenario.upn(user), "idtyp": "user", "roles": []}
        if v2:
            # v2.0 tokens carry upn only as an optional claim of the application (issue 11: never
            # matched on preferred_username)
            claims.update({"ver": "2.0", "iss": "https://login.microsoftonline.com/%s/v2.0" % self.tid,
                           "unique_name": None, "preferred_username": scenario.upn(user)})
        claims.update(extra)
        return self.rig.standin.mint(resource, claims=claims)["access_token"]

    def resign(self, token, header=None, key="forger", alg=None):
        """The claims of `token` under another header and signature."""
        h, c, _ = token.split(".")
        hdr = json.loads(unb64(h))
        hdr.update(header or {})
        if alg:
            hdr["alg"] = alg
        head = b64(json.dumps(hdr).encode())
        signing_input = (head + "." + c).encode()
        if key == "none":
            sig = b""
        elif key == "hmac-public-key":
            sig = hmac.new(self.pub_pem.encode(), signing_input, hashlib.sha256).digest()
        else:
            from cryptography.hazmat.primitives import hashes
            from cryptography.hazmat.primitives.asymmetric import padding
            sig = self.forger.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return head + "." + c + "." + b64(sig)


def auth_line(r):
    lines = [m for _, m in r.lines if "auth: user=" in m]
    return lines[-1] if lines else ""


def check(res, r, name, code, *texts, token=None):
    line = auth_line(r)
    ok = r.code == code and all(t in line for t in texts)
    if token:  # never the token, nor its signature, in any log line
        marks = [p[:40] for p in token.split(".") if len(p) >= 16]
        ok = ok and not any(t in m for t in marks for _, m in r.lines)
    return res.check(ok, name, r)


def keys_path(tokens, v1=False):
    return "/%s/discovery/%skeys" % (tokens.tid, "" if v1 else "v2.0/")


def key_fetches(rig, tokens, v1=False):
    return len([q for q in rig.standin.requests() if q.get("path", "").split("?")[0] == keys_path(tokens, v1)])


def age_cache(seconds):
    """Make the cached key sets (and the fetch markers) look `seconds` old."""
    if not os.path.isdir(STATEDIR):
        return
    t = time.time() - seconds
    for f in os.listdir(STATEDIR):
        if f.startswith("jwks-"):
            os.utime(os.path.join(STATEDIR, f), (t, t))


def drop_cache():
    if os.path.isdir(STATEDIR):
        for f in os.listdir(STATEDIR):
            if f.startswith("jwks-"):
                os.unlink(os.path.join(STATEDIR, f))


def validation_cases(rig, res, pam, tk):
    alice = tk.good("alice")
    now = int(time.time())
    r = pam.auth("alice@contoso.com", alice)
    check(res, r, "auth: a valid v1 token -> PAM_SUCCESS", "PAM_SUCCESS", "result=ok", "oid=" + scenario.USERS["alice"],
          token=alice)
    v1cache = os.path.join(STATEDIR, "jwks-%s-v1.json" % tk.tid)
    res.check(os.path.exists(v1cache) and (os.stat(v1cache).st_mode & 0o777) == 0o600,
              "auth: the v1 key set is cached root-only (0600)", v1cache)
    v2 = tk.good("alice", v2=True)
    r = pam.auth("alice@contoso.com", v2)
    check(res, r, "auth: a valid v2 token -> PAM_SUCCESS", "PAM_SUCCESS", "result=ok", token=v2)
    big = tk.good("alice", pad="x" * 1500)
    r = pam.auth("Alice@Contoso.com", big)
    check(res, r, "auth: a %d-byte token in one answer, mixed-case login -> PAM_SUCCESS" % len(big), "PAM_SUCCESS")
    chunks = "\\\n".join(big[i:i + 1000] for i in range(0, len(big), 1000))
    r = pam.auth("alice@contoso.com", chunks)
    check(res, r, "auth: the token in 1000-byte answers ending in '\\' -> PAM_SUCCESS", "PAM_SUCCESS")
    bad = [
        ("wrong signature (another key, same kid)", tk.resign(alice, {"kid": tk.kid}), "check=signature"),
        ("alg none", tk.resign(alice, {"kid": tk.kid}, key="none", alg="none"), "check=alg"),
        ("HS256 with the public key as secret", tk.resign(alice, {"kid": tk.kid}, key="hmac-public-key",
                                                          alg="HS256"), "check=alg"),
        ("expired", tk.good("alice", exp=now - 400), "check=expiry"),
        ("not yet valid", tk.good("alice", nbf=now + 400), "check=not-before"),
        ("expired 310 s ago (skew 300 s)", tk.good("alice", exp=now - 310), "check=expiry"),
        ("wrong issuer", tk.good("alice", iss="https://sts.windows.net/%s/" % OTHER_TENANT), "check=issuer"),
        ("wrong tenant", tk.good("alice", tid=OTHER_TENANT), "check=tenant"),
        ("wrong audience", tk.good("alice", resource="https://management.azure.com"), "check=audience"),
        ("another user's token", tk.good("bob"), "check=user"),
        ("garbage", "not-a-token", "check=format"),
        ("truncated", alice[: len(alice) - 30], "check=signature"),
        ("truncated to two parts", alice.rsplit(".", 1)[0], "check=format"),
        ("100 kB", "A" * 100000, "check=format"),
    ]
    for name, tok, text in bad:
        r = pam.auth("alice@contoso.com", tok)
        check(res, r, "auth: %s -> PAM_AUTH_ERR" % name, "PAM_AUTH_ERR", "result=denied", text, token=tok)
    r = pam.auth("alice@contoso.com", tk.good("alice", exp=now - 280))
    check(res, r, "auth: expired 280 s ago (within the 300 s skew) -> PAM_SUCCESS", "PAM_SUCCESS")
    r = pam.auth("root", alice)
    res.check(r.code == "PAM_IGNORE" and "Entra access token" not in r.out, "auth: root -> PAM_IGNORE, no prompt", r)


def key_cases(rig, res, pam, tk):
    alice = tk.good("alice")
    unknown = tk.resign(alice, {"kid": "not-a-published-kid"})
    age_cache(600)
    before = key_fetches(rig, tk, v1=True)
    r = pam.auth("alice@contoso.com", unknown)
    check(res, r, "auth: unknown kid -> PAM_AUTH_ERR", "PAM_AUTH_ERR", "check=kid")
    res.check(key_fetches(rig, tk, v1=True) == before + 1, "auth: an unknown kid refetches the keys once",
              key_fetches(rig, tk, v1=True) - before)
    before = key_fetches(rig, tk, v1=True)
    r = pam.auth("alice@contoso.com", unknown)
    res.check(r.code == "PAM_AUTH_ERR" and key_fetches(rig, tk, v1=True) == before,
              "auth: a second unknown kid within 5 minutes fetches nothing", r)
    rig.standin.script(keys_path(tk, v1=True), [{"status": 503, "repeat": 50}])
    age_cache(2 * 86400)
    r = pam.auth("alice@contoso.com", alice)
    check(res, r, "auth: key endpoint down, a day-old cached set -> PAM_SUCCESS (keys=stale)", "PAM_SUCCESS",
          "keys=stale")
    drop_cache()
    r = pam.auth("alice@contoso.com", alice)
    check(res, r, "auth: key endpoint down, no cached set -> PAM_AUTHINFO_UNAVAIL", "PAM_AUTHINFO_UNAVAIL",
          "result=unavailable", "check=keys")
    rig.standin.reset()
    scenario.apply(rig.standin)


def policy_cases(rig, res, pam, tk):
    base = dict(cache_ttl="0", tenant=tk.tid, audiences=AUD)
    # require=rbac (default): the token's oid goes to the account phase: no Graph lookup.
    rig.conf(**base)
    n_graph = len([q for q in rig.standin.requests() if "/v1.0/users/" in q.get("path", "")])
    r = pam.auth("alice@contoso.com", tk.good("alice"), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS" and 'principal="%s"' % scenario.USERS["alice"] in (r.decision() or "") and
              "level=admin" in (r.decision() or "") and
              len([q for q in rig.standin.requests() if "/v1.0/users/" in q.get("path", "")]) == n_graph,
              "auth+account, require=rbac: the account phase decides for the token's oid, no Graph lookup", r)
    r = pam.auth("heidi@contoso.com", tk.good("heidi"), acct_args="debug")
    res.check(r.code == "PAM_PERM_DENIED" and "result=ok" in auth_line(r),
              "auth+account, require=rbac: a valid token without a login role is refused by RBAC", r)
    # require=token: roles and groups decide.
    rig.conf(require="token", required_roles="VM.Login", admin_roles="VM.Admin", **base)
    r = pam.auth("heidi@contoso.com", tk.good("heidi"))
    check(res, r, "auth, require=token: missing app role -> PAM_AUTH_ERR", "PAM_AUTH_ERR", "check=roles")
    r = pam.auth("heidi@contoso.com", tk.good("heidi", roles=["VM.Login"]), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS" and "source=token" in (r.decision() or "") and
              "level=user" in (r.decision() or ""),
              "auth+account, require=token: app role VM.Login -> granted as user without Azure RBAC", r)
    r = pam.auth("heidi@contoso.com", tk.good("heidi", roles=["VM.Admin"]), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS" and "level=admin" in (r.decision() or ""),
              "auth+account, require=token: admin_roles -> admin", r)
    # require=both: the token's policy and RBAC; the lower level wins.
    rig.conf(require="both", required_roles="VM.Login", admin_roles="VM.Admin", **base)
    r = pam.auth("alice@contoso.com", tk.good("alice", roles=["VM.Login"]), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS" and "level=user" in (r.decision() or "") and
              "source=azure" in (r.decision() or ""),
              "auth+account, require=both: RBAC admin but no admin app role -> user", r)
    r = pam.auth("heidi@contoso.com", tk.good("heidi", roles=["VM.Login"]), acct_args="debug")
    res.check(r.code == "PAM_PERM_DENIED", "auth+account, require=both: app role but no RBAC login role -> refused", r)
    rig.conf(require="both", required_roles="VM.Login", **base)
    r = pam.auth("alice@contoso.com", tk.good("alice", roles=["VM.Login"]), acct_args="debug")
    res.check(r.code == "PAM_SUCCESS" and "level=admin" in (r.decision() or ""),
              "auth+account, require=both without admin_roles: RBAC's admin level stands", r)
    # groups, and the overage through Graph checkMemberGroups
    rig.conf(require="token", required_groups=scenario.G_LOGIN, **base)
    r = pam.auth("bob@contoso.com", tk.good("bob", groups=[scenario.G_LOGIN]))
    check(res, r, "auth, require=token: required group in the token -> PAM_SUCCESS", "PAM_SUCCESS")
    r = pam.auth("bob@contoso.com", tk.good("bob", groups=[scenario.G_DENIED]))
    check(res, r, "auth, require=token: required group missing -> PAM_AUTH_ERR", "PAM_AUTH_ERR", "check=groups")
    over = {"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": "https://graph"}}}
    r = pam.auth("bob@contoso.com", tk.good("bob", **over))
    check(res, r, "auth: groups overage, Graph says member (nested) -> PAM_SUCCESS", "PAM_SUCCESS")
    r = pam.auth("frank@contoso.com", tk.good("frank", **over))
    check(res, r, "auth: groups overage, Graph says not a member -> PAM_AUTH_ERR", "PAM_AUTH_ERR", "check=groups")
    rig.standin.config({"graph": {"permissions": []}})
    r = pam.auth("bob@contoso.com", tk.good("bob", **over))
    check(res, r, "auth: groups overage, Graph not permitted -> PAM_AUTH_ERR", "PAM_AUTH_ERR", "check=groups")
    scenario.apply(rig.standin)
    rig.conf(require="token", **base)
    r = pam.auth("bob@contoso.com", tk.good("bob"))
    check(res, r, "auth, require=token without roles or groups -> PAM_SERVICE_ERR", "PAM_SERVICE_ERR")
    rig.conf(cache_ttl="0")
    r = pam.auth("alice@contoso.com", tk.good("alice"))
    res.check(r.code == "PAM_IGNORE", "auth: no tenant configured -> PAM_IGNORE", r)


def run_tests(rig, res):
    pam = Pam(rig, service="azmi-auth")
    scenario.apply(rig.standin)
    rig.clear_state()
    tk = Tokens(rig)
    rig.conf(cache_ttl="0", tenant=tk.tid, audiences="api://other " + AUD)
    validation_cases(rig, res, pam, tk)
    key_cases(rig, res, pam, tk)
    policy_cases(rig, res, pam, tk)

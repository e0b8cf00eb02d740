# demo/login.sh - sourced by demo/run.sh inside its namespace: a login decided by Azure RBAC.
# The stand-in plays Resource Manager and Graph over https (the demo CA); pam_azmi runs in the
# real libpam through pam_wrapper and pamtester; its state goes to a tmpfs over /var/lib (this
# namespace only).

mount -t tmpfs -o mode=0755 tmpfs /var/lib
"$PY" - "$tmp" <<'PYEOF'
import json, sys, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
alice, bob = "a11ce000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002"
doc = {"directory": {"users": [{"id": alice, "upn": "alice@contoso.example"},
                               {"id": bob, "upn": "bob@contoso.example"}]},
       "arm": {"role_assignments": [{"principal_id": alice, "role": "Virtual Machine Administrator Login",
                                     "scope": "rg"},
                                    {"principal_id": bob, "role": "Reader", "scope": "vm"}]}}
req = urllib.request.Request("http://169.254.169.254/_standin/config", json.dumps(doc).encode(),
                             {"Content-Type": "application/json"})
o.open(req).read()
PYEOF
cat >"$tmp/login.conf" <<CONF
allowed_domains = contoso.example
arm_endpoint = https://127.0.0.1:$ARM_PORT
graph_endpoint = https://127.0.0.1:$ARM_PORT
ca_file = $tmp/ca.pem
timeout = 15
CONF
chmod 600 "$tmp/login.conf"
echo "   In Azure (the stand-in): alice holds 'Virtual Machine Administrator Login' on the resource group;"
echo "   bob holds only Reader on the VM. The VM asks ARM with its own identity."
show "azmi check-login alice@contoso.example"
"$BUILD/azmi" check-login alice@contoso.example --config "$tmp/login.conf" 2>&1 | sed 's/^/   /' || true
show "azmi check-login bob@contoso.example"
set +e
"$BUILD/azmi" check-login bob@contoso.example --config "$tmp/login.conf" 2>&1 | sed 's/^/   /'
set -e

mkdir -p "$tmp/pam.d"
printf 'account required %s config=%s\naccount required pam_permit.so\n' "$root/$BUILD/pam_azmi.so" \
	"$tmp/login.conf" >"$tmp/pam.d/azmi-demo"
printf 'auth required pam_deny.so\naccount required pam_deny.so\n' >"$tmp/pam.d/other"
for user in alice@contoso.example bob@contoso.example; do
	show "pamtester azmi-demo $user acct_mgmt   (the real libpam, as sshd would call it)"
	LD_PRELOAD=libpam_wrapper.so PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$tmp/pam.d" \
		pamtester azmi-demo "$user" acct_mgmt 2>&1 | sed 's/^/   /' || true
done

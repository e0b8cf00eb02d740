#!/bin/sh
# make demo: azmi end to end on one machine, with nothing sent anywhere.
#
# Everything runs in a private network and mount namespace: only a loopback
# interface exists, 169.254.169.254 is an address on it where the local Azure
# stand-in plays IMDS, Azurite plays Blob Storage under its real host name
# (a private /etc/hosts), and a test CA is trusted only by the commands here.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
BUILD=${BUILD:-build}

if [ "${AZMI_DEMO_INSIDE:-}" != 1 ]; then
	# Azurite is an npm package; fetch it once into the build directory.
	if [ ! -x "$BUILD/node/node_modules/.bin/azurite-blob" ]; then
		echo "demo: installing Azurite 3.35.0 (the Blob Storage emulator) into $BUILD/node ..."
		mkdir -p "$BUILD/node"
		npm install --prefix "$BUILD/node" azurite@3.35.0 --no-audit --no-fund >"$BUILD/node/install.log" 2>&1 || {
			echo "demo: npm install failed, see $BUILD/node/install.log" >&2
			exit 1
		}
	fi
	ns="unshare -mn --propagation private"
	[ "$(id -u)" = 0 ] || ns="unshare -rmn --propagation private"
	AZMI_DEMO_INSIDE=1 exec $ns sh "$0" "$@"
fi

PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
BLOB_HOST=devstoreaccount1.blob.core.windows.net
BLOB_PORT=10000
tmp=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '   $ %s\n' "$*"; }

wait_for() { # file-or-port, what
	i=0
	while [ $i -lt 100 ]; do
		case "$1" in
		/*) [ -s "$1" ] && return 0 ;;
		*) "$PY" -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return 0 ;;
		esac
		sleep 0.1
		i=$((i + 1))
	done
	echo "demo: $2 did not start" >&2
	exit 1
}

step "A private network: only loopback, and 169.254.169.254 on it"
ip link set lo up
ip addr add 169.254.169.254/32 dev lo
printf '127.0.0.1 %s\n' "$BLOB_HOST" >"$tmp/hosts"
cat /etc/hosts >>"$tmp/hosts"
mount --bind "$tmp/hosts" /etc/hosts
ip -brief addr

step "The local Azure stand-in answers as IMDS at http://169.254.169.254"
# The demo CA and one server certificate (Azurite and the stand-in's https side share it).
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=azmi demo CA" \
	-keyout "$tmp/ca.key" -out "$tmp/ca.pem" 2>/dev/null
printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' "$BLOB_HOST" >"$tmp/ext.cnf"
openssl req -newkey rsa:2048 -nodes -subj "/CN=$BLOB_HOST" -keyout "$tmp/server.key" -out "$tmp/server.csr" \
	2>/dev/null
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial -days 1 \
	-extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>/dev/null
ARM_PORT=8443
"$PY" tests/standin/standin.py --bind 169.254.169.254 --port 80 --port-file "$tmp/standin.port" \
	--listener "name=arm,role=main,bind=127.0.0.1,port=$ARM_PORT,cert=$tmp/server.pem,key=$tmp/server.key" \
	>"$tmp/standin.log" 2>&1 &
pids="$pids $!"
wait_for "$tmp/standin.port" "the stand-in"
echo "   ready (it mints RS256 tokens like Entra's, and plays Resource Manager and Graph over https on"
echo "   127.0.0.1:$ARM_PORT; see tests/standin/standin.py)"

mkdir -m 700 "$tmp/cache"
: >"$tmp/azmi.conf"
chmod 600 "$tmp/azmi.conf"
export AZMI_CACHE_DIR="$tmp/cache" AZMI_CONFIG="$tmp/azmi.conf" AZMI_CA_FILE="$tmp/ca.pem"
unset AZURE_CLIENT_ID IDENTITY_ENDPOINT IDENTITY_HEADER MSI_ENDPOINT MSI_SECRET 2>/dev/null || true

step "A token for Blob Storage, as a script would get it"
show 'azmi token --resource https://storage.azure.com/'
token=$("$BUILD/azmi" token --resource https://storage.azure.com/)
printf '   %.40s... (%d characters)\n' "$token" "${#token}"
show 'azmi whoami --resource https://storage.azure.com/'
"$BUILD/azmi" whoami --resource https://storage.azure.com/ | sed 's/^/   /'
show 'azmi token --resource https://storage.azure.com/ --json   (again: served from the cache, no request)'
"$BUILD/azmi" token --resource https://storage.azure.com/ --json | cut -c1-60 | sed 's/^/   /;s/$/.../'
requests=$("$PY" -c "
import json, urllib.request
o = urllib.request.build_opener(urllib.request.ProxyHandler({}))
print(len(json.load(o.open('http://169.254.169.254/_standin/requests?path=/metadata/identity/oauth2/token'))))")
echo "   token requests IMDS saw: $requests"

step "Azurite as Blob Storage at https://$BLOB_HOST:$BLOB_PORT (test CA)"
(cd "$tmp" && exec "$root/$BUILD/node/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 \
	--blobPort $BLOB_PORT --oauth basic --cert server.pem --key server.key --disableTelemetry \
	--inMemoryPersistence >azurite.log 2>&1) &
pids="$pids $!"
wait_for $BLOB_PORT "Azurite"
echo "   ready"

url="https://$BLOB_HOST:$BLOB_PORT"
step "Plain curl without azmi: Storage refuses"
show "curl -X PUT '$url/demo?restype=container'"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$tmp/ca.pem" -X PUT "$url/demo?restype=container")
echo "   HTTP $code"

step "The same curl with the azmi plug-in: no token code anywhere"
echo "Hello from azmi: this blob was written and read by plain curl." >"$tmp/hello.txt"
show "azmi curl -X PUT '$url/demo?restype=container'"
"$BUILD/azmi" curl -sS -o /dev/null -w '   HTTP %{http_code} (container created)\n' --cacert "$tmp/ca.pem" \
	-X PUT "$url/demo?restype=container"
show "azmi curl -T hello.txt -H 'x-ms-blob-type: BlockBlob' $url/demo/hello.txt"
"$BUILD/azmi" curl -sS -o /dev/null -w '   HTTP %{http_code} (blob uploaded)\n' --cacert "$tmp/ca.pem" \
	-T "$tmp/hello.txt" -H 'x-ms-blob-type: BlockBlob' "$url/demo/hello.txt"
show "LD_PRELOAD=$BUILD/libazmi_curl.so.1 curl $url/demo/hello.txt"
LD_PRELOAD="$root/$BUILD/libazmi_curl.so.1" curl -sSf --cacert "$tmp/ca.pem" "$url/demo/hello.txt" | sed 's/^/   /'

step "A login decided by Azure RBAC, with the VM's own identity"
. demo/login.sh

step "Done: nothing left this machine, and nothing outside this namespace was changed"

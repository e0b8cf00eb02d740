#!/bin/sh
# Suite 40-curl: the curl plug-in (libazmi_curl.so.1) with the real curl command, Azurite,
# the Azure stand-in as IMDS and an https echo server, all inside a private network and
# mount namespace (nothing leaves the machine; /etc/hosts is replaced only in there).
# Last line: "40-curl: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
fail() {
	echo "40-curl: setup: $1"
	echo "40-curl: 0 passed, 1 failed"
	exit 1
}
make -s all curl-test-programs >/dev/null || fail "build failed (make all curl-test-programs)"
AZURITE=build/node/node_modules/.bin/azurite-blob
if [ ! -x "$AZURITE" ]; then
	mkdir -p build/node
	npm install --prefix build/node azurite@3.35.0 --no-audit --no-fund >build/node/install.log 2>&1 ||
		fail "npm install azurite@3.35.0 failed (see build/node/install.log)"
fi
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
if [ "$(id -u)" = 0 ]; then
	exec unshare -mn --propagation private "$PY" tests/curl/run_tests.py "$@"
fi
exec unshare -rmn --propagation private "$PY" tests/curl/run_tests.py "$@"

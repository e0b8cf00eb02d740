#!/bin/sh
# Suite 45-acr: Azure Container Registry - docker-credential-azmi driven as Docker drives it,
# `azmi acr-token`, and the real curl with the plug-in, against the Azure stand-in as IMDS and
# as a registry (https, test CA), all inside a private network and mount namespace (nothing
# leaves the machine; /etc/hosts maps <name>.azurecr.io to 127.0.0.1 only in there).
# BUILD picks the build directory (default build).  Last line: "45-acr: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
export BUILD
fail() {
	echo "45-acr: setup: $1"
	echo "45-acr: 0 passed, 1 failed"
	exit 1
}
make -s BUILD="$BUILD" all >/dev/null || fail "build failed (make all)"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$PY" -c "import cryptography" 2>/dev/null || fail "python3-cryptography is missing"
if [ "$(id -u)" = 0 ]; then
	exec unshare -mn --propagation private "$PY" tests/acr/run_tests.py "$@"
fi
exec unshare -rmn --propagation private "$PY" tests/acr/run_tests.py "$@"

#!/bin/sh
# 35-apps: the seed's app run for real (issue 15): demo/apps/notes (Flask, azure-identity,
# azure-storage-blob, psycopg2) through `azmi serve`, against Azurite (OAuth, https) and a real
# PostgreSQL whose `pam` method checks the Entra token with pam_azmi.  Runs in suite 30-pam's
# private world (tests/pam/rig.py: mount + network namespace, overlays on /etc and /var/lib), so it
# needs real root.  Azurite 3.35.0 is installed with npm into $BUILD/node when missing.
# Last line: "35-apps: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
name=35-apps
BUILD=${BUILD:-build}
export BUILD
fail() {
	echo "$name: setup: $1"
	echo "$name: 0 passed, 1 failed"
	exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (PostgreSQL as the postgres user, overlay mounts in a private namespace)"
/usr/bin/python3 -c 'import azure.identity, azure.storage.blob, flask, psycopg2' 2>/dev/null ||
	fail "python3-azure, python3-flask or python3-psycopg2 is missing (sh tools/install-deps.sh test)"
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || fail "postgresql is missing (sh tools/install-deps.sh test)"
getent passwd postgres >/dev/null || fail "no postgres user (the postgresql package makes it)"
if ! [ -x "$BUILD/node/node_modules/.bin/azurite-blob" ]; then
	mkdir -p "$BUILD/node"
	npm install --prefix "$BUILD/node" azurite@3.35.0 --no-audit --no-fund >"$BUILD/node/install.log" 2>&1 ||
		fail "npm install azurite@3.35.0 failed (see $BUILD/node/install.log)"
fi
make -s BUILD="$BUILD" all >/dev/null || fail "build failed (make all)"
AZMI_SUITE_NAME=$name AZMI_PAM_PARTS=app unshare -mn --propagation private /usr/bin/python3 tests/pam/run_tests.py "$@"

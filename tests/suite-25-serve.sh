#!/bin/sh
# 25-serve: `azmi serve` against the stand-in, inside the integration tests'
# private network namespace: protocol, refusals, limits, and the Azure SDKs
# (Python azure-identity from python3-azure, Node @azure/identity 4.13.1,
# installed with npm into $BUILD/node when missing) getting tokens through it.
set -u
cd "$(dirname "$0")/.." || exit 1
name=25-serve
build=${BUILD:-build}
node_prefix=${AZMI_NODE_PREFIX:-$(pwd)/$build/node}
fail() {
	echo "$name: $*"
	echo "$name: 0 passed, 1 failed"
	exit 1
}
/usr/bin/python3 -c 'import azure.identity' 2>/dev/null ||
	fail "python3-azure is missing (sh tools/install-deps.sh test)"
command -v node >/dev/null 2>&1 || fail "node is missing (sh tools/install-deps.sh test)"
if ! [ -f "$node_prefix/node_modules/@azure/identity/package.json" ]; then
	mkdir -p "$node_prefix"
	(cd "$node_prefix" && npm install --no-audit --no-fund --silent @azure/identity@4.13.1) >"$build/npm-identity.log" 2>&1 ||
		fail "npm install @azure/identity@4.13.1 failed (log: $build/npm-identity.log)"
fi
export AZMI_NODE_PREFIX="$node_prefix"
AZMI_SUITE_NAME=$name exec sh tests/integration/run.sh serve_protocol serve_sdk serve_workflows "$@"

#!/bin/sh
# 25-serve: `azmi serve` against the stand-in, inside the integration tests'
# private network namespace: protocol, refusals, limits, and the Azure SDKs
# (Python azure-identity from python3-azure, Node @azure/identity installed with
# npm into $BUILD/node when missing) getting tokens through it.
set -u
cd "$(dirname "$0")/.." || exit 1
name=25-serve
build=${BUILD:-build}
# Its own prefix: build/node holds Azurite, whose dependencies include an older @azure/identity.
node_prefix=${AZMI_NODE_PREFIX:-$(pwd)/$build/node-sdk}
fail() {
	echo "$name: $*"
	echo "$name: 0 passed, 1 failed"
	exit 1
}
/usr/bin/python3 -c 'import azure.identity' 2>/dev/null ||
	fail "python3-azure is missing (sh tools/install-deps.sh test)"
command -v node >/dev/null 2>&1 || fail "node is missing (sh tools/install-deps.sh test)"
# @azure/identity 4.13.1 needs Node 20 (4.13.2 needs 22); Debian 12's own nodejs is 18, and the last
# release for 18 is 4.10.1.  The test runs the one this machine's Node supports.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
if [ "${node_major:-0}" -ge 20 ]; then sdk=4.13.1; else sdk=4.10.1; fi
# The SDK takes Web Crypto from the globals, which Node 18 has only behind this flag (an app on 18
# needs it as well).
[ "${node_major:-0}" -ge 19 ] || export NODE_OPTIONS="--experimental-global-webcrypto${NODE_OPTIONS:+ $NODE_OPTIONS}"
have=$(node -p "require('$node_prefix/node_modules/@azure/identity/package.json').version" 2>/dev/null)
if [ "$have" != "$sdk" ]; then
	mkdir -p "$node_prefix"
	(cd "$node_prefix" && npm install --no-audit --no-fund --silent "@azure/identity@$sdk") >"$build/npm-identity.log" 2>&1 ||
		fail "npm install @azure/identity@$sdk failed (log: $build/npm-identity.log)"
fi
echo "$name: Node $(node --version), @azure/identity $sdk"
export AZMI_NODE_PREFIX="$node_prefix" AZMI_NODE_SDK_VERSION="$sdk"
AZMI_SUITE_NAME=$name exec sh tests/integration/run.sh serve_protocol serve_sdk serve_workflows "$@"

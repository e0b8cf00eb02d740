#!/bin/sh
# Install what `make bench` compares azmi with, each only when missing:
#   - Debian's python3-azure (azure-identity for /usr/bin/python3)
#   - @azure/identity 4.13.1 from npm into build/bench-node (4.14 needs Node 22)
# A failed install is reported and the bench goes on without that peer: the
# reason lands in $BENCH_OUT/install-python.txt or install-node.txt.
#
#   sh bench/install.sh OUTDIR NODE_PREFIX
set -u
out=${1:?usage: install.sh OUTDIR NODE_PREFIX}
node_prefix=${2:?usage: install.sh OUTDIR NODE_PREFIX}
node_pkg="@azure/identity"
node_ver="4.13.1"
mkdir -p "$out"
rm -f "$out/install-python.txt" "$out/install-node.txt"

note() { echo "bench: $*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- Python azure-identity (Debian) ---------------------------------------------
if /usr/bin/python3 -c 'import azure.identity' >/dev/null 2>&1; then
	:
else
	note "installing python3-azure with apt-get (large; once)"
	log="$out/apt.log"
	export DEBIAN_FRONTEND=noninteractive
	if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends python3-azure; } \
		>"$log" 2>&1; then
		note "apt-get install python3-azure failed; see $log"
		echo "apt-get install python3-azure failed: $(tail -n 1 "$log")" >"$out/install-python.txt"
	elif ! /usr/bin/python3 -c 'import azure.identity' >>"$log" 2>&1; then
		echo "python3-azure installed but 'import azure.identity' fails: $(tail -n 1 "$log")" \
			>"$out/install-python.txt"
	fi
fi

# --- @azure/identity (npm) --------------------------------------------------------
have_ver() {
	node -e 'const path = require("path");
		const p = require(path.resolve(process.argv[1], "node_modules/@azure/identity/package.json"));
		process.exit(p.version === process.argv[2] ? 0 : 1)' "$node_prefix" "$node_ver" 2>/dev/null
}
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "node or npm is not installed" >"$out/install-node.txt"
elif have_ver; then
	:
else
	note "installing $node_pkg@$node_ver with npm into $node_prefix (once)"
	mkdir -p "$node_prefix"
	log="$out/npm.log"
	if ! npm install --prefix "$node_prefix" --no-audit --no-fund --loglevel=error \
		"$node_pkg@$node_ver" >"$log" 2>&1; then
		note "npm install $node_pkg@$node_ver failed; see $log"
		echo "npm install $node_pkg@$node_ver failed: $(tail -n 1 "$log")" >"$out/install-node.txt"
	elif ! have_ver; then
		echo "npm installed $node_pkg but not version $node_ver" >"$out/install-node.txt"
	fi
fi
exit 0

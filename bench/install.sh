#!/bin/sh
# Install what `make bench` compares azmi with, each only when missing:
#   - Debian's python3-azure (azure-identity for /usr/bin/python3)
#   - @azure/identity 4.13.1 from npm into build/bench-node (4.14 needs Node 22)
#   - Azurite 3.35.0 from npm into build/node (the curl downloads; the same
#     copy tests/suite-40-curl.sh and make demo use)
#   - Debian's azure-cli (az), only with BENCH_AZ=1: it is large (about 35
#     packages).  Without BENCH_AZ the bench uses az when it is already
#     installed and says "not measured" otherwise; BENCH_AZ=0 leaves az out.
# A failed install is reported and the bench goes on without that part: the
# reason lands in $BENCH_OUT/install-{python,node,azurite,az}.txt.
#
#   sh bench/install.sh OUTDIR NODE_PREFIX AZURITE_PREFIX
set -u
usage="usage: install.sh OUTDIR NODE_PREFIX AZURITE_PREFIX"
out=${1:?$usage}
node_prefix=${2:?$usage}
azurite_prefix=${3:?$usage}
node_pkg="@azure/identity"
node_ver="4.13.1"
azurite_ver="3.35.0"
mkdir -p "$out"
rm -f "$out/install-python.txt" "$out/install-node.txt" "$out/install-azurite.txt" "$out/install-az.txt"

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

# --- Azurite (npm), the Blob Storage the curl downloads talk to -----------------
if [ -x "$azurite_prefix/node_modules/.bin/azurite-blob" ]; then
	:
elif ! command -v npm >/dev/null 2>&1; then
	echo "npm is not installed, so Azurite is not either" >"$out/install-azurite.txt"
else
	note "installing azurite@$azurite_ver with npm into $azurite_prefix (once)"
	mkdir -p "$azurite_prefix"
	log="$azurite_prefix/install.log"
	if ! npm install --prefix "$azurite_prefix" --no-audit --no-fund --loglevel=error \
		"azurite@$azurite_ver" >"$log" 2>&1; then
		note "npm install azurite@$azurite_ver failed; see $log"
		echo "npm install azurite@$azurite_ver failed: $(tail -n 1 "$log")" >"$out/install-azurite.txt"
	fi
fi

# --- azure-cli (Debian), only on request -------------------------------------------
case "${BENCH_AZ:-}" in
0)
	echo "BENCH_AZ=0 leaves it out" >"$out/install-az.txt"
	;;
1)
	if [ ! -x /usr/bin/az ]; then
		note "installing Debian's azure-cli with apt-get (BENCH_AZ=1; large, once)"
		log="$out/apt-az.log"
		export DEBIAN_FRONTEND=noninteractive
		if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends azure-cli; } \
			>"$log" 2>&1; then
			note "apt-get install azure-cli failed; see $log"
			echo "apt-get install azure-cli failed: $(tail -n 1 "$log")" >"$out/install-az.txt"
		fi
	fi
	;;
*)
	[ -x /usr/bin/az ] ||
		echo "azure-cli is not installed; BENCH_AZ=1 make bench installs Debian's azure-cli" \
			>"$out/install-az.txt"
	;;
esac
exit 0

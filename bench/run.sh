#!/bin/sh
# make bench: azmi's figures beside Python azure-identity and @azure/identity.
#
#   sh bench/run.sh            (make bench builds first, then runs this)
#
# Installs the peers when missing (bench/install.sh), then runs bench/bench.py
# inside a private network namespace: only a loopback interface, with
# 169.254.169.254/32 on it, where the local stand-in answers as IMDS.  Every
# tool uses its default IMDS address there and no request can leave the
# machine.  The figures go to stdout and to $BUILD/bench/results.json.
# BENCH_ARGS passes options to bench.py (e.g. "--runs 50 --peer-runs 5 --herd 20").
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench"
node_dir="$build/bench-node"

die() {
	echo "bench: $*" >&2
	exit 1
}

if [ "${AZMI_BENCH_IN_NETNS:-}" != 1 ]; then
	[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing (apt-get install python3)"
	command -v unshare >/dev/null 2>&1 || die "unshare is missing (util-linux)"
	command -v ip >/dev/null 2>&1 || die "ip is missing (iproute2)"
	mkdir -p "$out"
	sh "$here/install.sh" "$out" "$node_dir"
	[ -d "$node_dir/node_modules" ] && cp "$here/peer_node.mjs" "$node_dir/peer_node.mjs"
	if [ "$(id -u)" = 0 ]; then
		ns="unshare -n"
	else
		ns="unshare -rn"
	fi
	AZMI_BENCH_IN_NETNS=1 BUILD="$build" exec $ns sh "$0" "$@"
fi

# Inside the namespace from here on.
ip link set lo up || die "cannot bring lo up in the private namespace"
ip addr add 169.254.169.254/32 dev lo || die "cannot add 169.254.169.254 to lo"
others=$(sed -n '3,$p' /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | grep -vx lo)
[ -z "$others" ] || die "not a private network namespace (also has: $others); refusing to run"

py_why=""
node_why=""
[ -s "$out/install-python.txt" ] && py_why=$(head -n 1 "$out/install-python.txt")
[ -s "$out/install-node.txt" ] && node_why=$(head -n 1 "$out/install-node.txt")
cd "$root" || die "cannot cd to $root"
# shellcheck disable=SC2086
exec /usr/bin/python3 "$here/bench.py" --build "$build" --python-unavailable "$py_why" \
	--node-unavailable "$node_why" ${BENCH_ARGS:-} "$@"

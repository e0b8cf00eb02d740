#!/bin/sh
# make bench: azmi's figures beside Python azure-identity and @azure/identity.
#
#   sh bench/run.sh            (make bench builds first, then runs this)
#
# Installs the peers when missing (bench/install.sh), then runs bench/bench.py
# inside a private network namespace: only a loopback interface, with
# 169.254.169.254/32 on it, where the local stand-in answers as IMDS.  Every
# tool uses its default IMDS address there and no request can leave the
# machine.  The namespace has its own mount table too, so that a private
# /etc/hosts can send the Blob Storage and ARM host names to 127.0.0.1 (for
# az; curl gets --resolve).  The figures go to stdout and to
# $BUILD/bench/results.json.
# BENCH_ARGS passes options to bench.py (e.g. "--runs 50 --peer-runs 5 --herd 20").
# BENCH_AZ=1 installs Debian's azure-cli for the az download figures (see install.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
out="$build/bench"
node_dir="$build/bench-node"
azurite_dir="$build/node"
# Names that go to 127.0.0.1 in the namespace's /etc/hosts (bench.py uses the same).
mapped_hosts="devstoreaccount1.blob.core.windows.net management.azure.com"

die() {
	echo "bench: $*" >&2
	exit 1
}

if [ "${AZMI_BENCH_IN_NETNS:-}" != 1 ]; then
	[ -x /usr/bin/python3 ] || die "/usr/bin/python3 is missing (apt-get install python3)"
	command -v unshare >/dev/null 2>&1 || die "unshare is missing (util-linux)"
	command -v ip >/dev/null 2>&1 || die "ip is missing (iproute2)"
	mkdir -p "$out"
	sh "$here/install.sh" "$out" "$node_dir" "$azurite_dir"
	[ -d "$node_dir/node_modules" ] && cp "$here/peer_node.mjs" "$node_dir/peer_node.mjs"
	user=""
	[ "$(id -u)" = 0 ] || user="-r"
	# A network and mount namespace; a network namespace alone if mounts are refused
	# (then az cannot be pointed at Azurite and is reported as not measured).
	ns="unshare $user -mn --propagation private"
	mnt=1
	if ! $ns true 2>/dev/null; then
		ns="unshare $user -n"
		mnt=0
	fi
	AZMI_BENCH_IN_NETNS=1 AZMI_BENCH_MNTNS=$mnt BUILD="$build" exec $ns sh "$0" "$@"
fi

# Inside the namespace from here on.
ip link set lo up || die "cannot bring lo up in the private namespace"
ip addr add 169.254.169.254/32 dev lo || die "cannot add 169.254.169.254 to lo"
others=$(sed -n '3,$p' /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | grep -vx lo)
[ -z "$others" ] || die "not a private network namespace (also has: $others); refusing to run"
if [ "${AZMI_BENCH_MNTNS:-0}" = 1 ]; then
	# Only this namespace sees the replaced /etc/hosts.
	{ echo "127.0.0.1 $mapped_hosts"; cat /etc/hosts; } >"$out/etc-hosts"
	mount --bind "$out/etc-hosts" /etc/hosts || echo "bench: cannot bind a private /etc/hosts" >&2
fi

why() { [ -s "$out/install-$1.txt" ] && head -n 1 "$out/install-$1.txt"; }
cd "$root" || die "cannot cd to $root"
# shellcheck disable=SC2086
exec /usr/bin/python3 "$here/bench.py" --build "$build" --python-unavailable "$(why python)" \
	--node-unavailable "$(why node)" --azurite-unavailable "$(why azurite)" \
	--az-unavailable "$(why az)" ${BENCH_ARGS:-} "$@"

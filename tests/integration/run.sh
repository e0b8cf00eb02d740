#!/bin/sh
# Runs azmi's integration tests inside a private network namespace: only a
# loopback interface, with 169.254.169.254/32 added to it, so the default IMDS
# address reaches the local stand-in and nothing can leave the machine.
#
#   sh tests/integration/run.sh [unittest names, e.g. test_token.Retries]
#
# AZMI_BIN picks the binary (default build/azmi); AZMI_TEST_WRAPPER a command
# prefix such as "valgrind -q"; STANDIN_VERBOSE=1 keeps the stand-in's log.
# The last line is "20-integration: N passed, M failed" (AZMI_SUITE_NAME
# changes the name); the exit status is non-zero on any failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
name=${AZMI_SUITE_NAME:-20-integration}
export AZMI_SUITE_NAME="$name"

fail() {
	echo "integration: $*" >&2
	echo "$name: 0 passed, 1 failed"
	exit 1
}

if [ "${AZMI_IN_PRIVATE_NETNS:-}" != 1 ]; then
	command -v unshare >/dev/null 2>&1 || fail "unshare is missing (util-linux)"
	if [ "$(id -u)" = 0 ]; then
		ns="unshare -n"
	else
		ns="unshare -rn"
	fi
	marker=$(mktemp)
	AZMI_IN_PRIVATE_NETNS=1 AZMI_NETNS_MARKER="$marker" $ns sh "$0" "$@"
	rc=$?
	if [ -s "$marker" ]; then
		rm -f "$marker"
		exit $rc
	fi
	rm -f "$marker"
	fail "could not enter a private network namespace ($ns)"
fi

# Inside the namespace from here on.
[ -n "${AZMI_NETNS_MARKER:-}" ] && echo started >"$AZMI_NETNS_MARKER"
ip link set lo up || fail "cannot bring lo up"
ip addr add 169.254.169.254/32 dev lo || fail "cannot add 169.254.169.254 to lo"
# Refuse to go on if anything but loopback is present.
others=$(sed -n '3,$p' /proc/self/net/dev | cut -d: -f1 | tr -d ' ' | grep -vx lo)
[ -z "$others" ] || fail "not a private namespace: $others"

bin=${AZMI_BIN:-$root/build/azmi}
[ -x "$bin" ] || fail "no azmi binary at $bin (run make)"
export AZMI_BIN="$bin"
export PYTHONDONTWRITEBYTECODE=1
cd "$root" || fail "cannot cd to $root"
exec /usr/bin/python3 "$here/harness.py" --name "$name" "$@"

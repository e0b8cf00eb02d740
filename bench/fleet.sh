#!/bin/sh
# make bench (and make bench-fleet): logins across a simulated fleet (bench/fleet.py says what is
# real, simulated and scaled).  Needs real root: a private mount + network namespace with overlays
# on /etc, /var/lib and /dev, as suite 30-pam builds it; nothing leaves the namespace.
# FLEET_ARGS passes options to fleet.py (e.g. "--sizes 1,10,100 --warm-window 30").
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
if [ "$(id -u)" != 0 ]; then
	echo "bench: fleet: not measured (needs root for its private namespace)"
	exit 0
fi
[ -x "$build/bench/bench_fleet" ] || { echo "bench: fleet: $build/bench/bench_fleet is missing (make bench)" >&2; exit 1; }
cd "$root" || exit 1
# A private /tmp too, so that nothing the simulation leaves behind reaches the host's.
# shellcheck disable=SC2086,SC2016
BUILD="$build" exec unshare -mn --propagation private sh -c 'mount -t tmpfs -o mode=1777 tmpfs /tmp && exec "$@"' \
	sh /usr/bin/python3 "$here/fleet.py" --worker "$build/bench/bench_fleet" --out "$build/bench/fleet.json" \
	${FLEET_ARGS:-} "$@"

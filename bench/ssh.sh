#!/bin/sh
# make bench (and make bench-ssh): SSH login figures, key and `az ssh vm` certificate, with and
# without pam_azmi, in a private mount and network namespace (bench/bench_ssh.py).  Needs root.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "bench-ssh: not measured (needs root for sshd and the namespace)"; exit 0; }
exec unshare -mn --propagation private /usr/bin/python3 "$here/bench_ssh.py" "$@"

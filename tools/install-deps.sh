#!/bin/sh
# Install the Debian packages azmi needs, only those missing.
#   tools/install-deps.sh build        compiler and -dev packages
#   tools/install-deps.sh build test   plus everything the test suites use
# Runs apt-get as root (or through sudo).  Works on Debian 12 and Ubuntu 22.04/24.04.
set -eu

build_pkgs="gcc make pkg-config libcurl4-openssl-dev libjson-c-dev libssl-dev libpam0g-dev"
test_pkgs="curl iproute2 util-linux python3 python3-cryptography python3-azure python3-msal libcmocka-dev pamtester libpam-wrapper
libnss-wrapper libpamtest0-dev openssh-server openssh-client clang libclang-rt-14-dev valgrind clang-format
sudo python3-flask python3-psycopg2 postgresql git openssl"

want=""
for set in "$@"; do
	case "$set" in
	build) want="$want $build_pkgs" ;;
	test) want="$want $test_pkgs" ;;
	*) echo "install-deps: unknown set '$set' (build, test)" >&2; exit 2 ;;
	esac
done
# node and npm run Azurite in the curl tests; the machine's own Node is used when present.
command -v npm >/dev/null 2>&1 || case " $* " in *" test "*) want="$want nodejs npm" ;; esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -o DPkg::Lock::Timeout=600 -y -qq --no-install-recommends $missing >/dev/null

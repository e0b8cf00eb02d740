#!/bin/sh
# Suite 30-pam: pam_azmi.so, libnss_azmi.so.2 and `azmi check-login` against the Azure
# stand-in, and a real sshd end to end, all inside a private mount + network namespace
# (tests/pam/rig.py): /etc, /var/lib and /dev are overlays there, so the host's files never
# change; this script checks that too.  Needs real root (sshd, overlays); otherwise it
# reports one skipped failure.  Last line: "30-pam: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
name=30-pam
BUILD=${BUILD:-build}
export BUILD
fail() {
	echo "$name: setup: $1"
	echo "$name: 0 passed, 1 failed"
	exit 1
}
[ "$(id -u)" = 0 ] || fail "needs root (a real sshd and overlay mounts in a private namespace)"
for tool in pamtester sshd ssh unshare ip ldconfig getent; do
	command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || fail "$tool is missing (make deps)"
done
[ -e /usr/lib/x86_64-linux-gnu/libpam_wrapper.so ] || ldconfig -p | grep -q libpam_wrapper.so ||
	fail "libpam_wrapper is missing (make deps)"
make -s BUILD="$BUILD" all pam-test-programs >/dev/null || fail "build failed (make all pam-test-programs)"
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# What the tests write in their private world must never reach the host: the account files
# unchanged, and none of the tests' marks anywhere (other suites may rewrite /etc/nsswitch.conf or
# install a package meanwhile, so those are checked for the marks rather than byte for byte).
host_state() {
	for f in /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/hosts /etc/pam.d/sshd; do
		[ -e "$f" ] && sha256sum "$f"
	done
	grep -l "files azmi$" /etc/nsswitch.conf
	grep -l "azmi-pam-" /etc/azmi.conf /etc/ld.so.cache
	grep -l "contoso.com" /var/lib/azmi/uids /var/lib/azmi/admins
	for f in /etc/azmi-users /var/lib/azmi/decisions /run/sshd /dev/log /home/*@contoso.com /home/sshlocal; do
		[ -e "$f" ] && echo "exists: $f"
	done
	true
} 2>/dev/null
before=$(host_state)
unshare -mn --propagation private "$PY" tests/pam/run_tests.py "$@" 2>&1 | tee "${TMPDIR:-/tmp}/azmi-30-pam.$$"
line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "${TMPDIR:-/tmp}/azmi-30-pam.$$" | tail -n 1)
rm -f "${TMPDIR:-/tmp}/azmi-30-pam.$$"
p0=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
f0=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
[ -n "$p0" ] || { p0=0; f0=1; line="$name: 0 passed, 1 failed"; echo "run_tests.py printed no result line"; }
# AZMI_PAM_ASAN=1: the PAM, cache and auth parts again with pam_azmi.so built with ASan and UBSan
# (pamtester under pam_wrapper with the sanitizer runtime preloaded; leaks are errors).
if [ "${AZMI_PAM_ASAN:-0}" = 1 ]; then
	san="-fsanitize=address,undefined -fno-sanitize-recover=all"
	asan_rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
	if make -s -j"$(nproc)" BUILD="$BUILD/asan-pam" CC=clang OPT="-O1 -g -fno-omit-frame-pointer $san" \
		LDFLAGS="$san -shared-libsan -Wl,-z,relro -Wl,-z,now" "$BUILD/asan-pam/pam_azmi.so" \
		"$BUILD/asan-pam/libnss_azmi.so.2" >/dev/null 2>&1 &&
		[ -f "$asan_rt" ]; then
		BUILD="$BUILD/asan-pam" AZMI_PAM_ASAN_RT="$asan_rt" AZMI_PAM_PARTS="pam cache auth sshcert-pam" \
			unshare -mn --propagation private "$PY" tests/pam/run_tests.py | sed 's/^30-pam:/30-pam-asan:/' |
			tee "${TMPDIR:-/tmp}/azmi-30-asan.$$"
		aline=$(grep -E "^30-pam-asan: [0-9]+ passed" "${TMPDIR:-/tmp}/azmi-30-asan.$$" | tail -n 1)
		rm -f "${TMPDIR:-/tmp}/azmi-30-asan.$$"
		ap=$(echo "$aline" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
		af=$(echo "$aline" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
		[ -n "$ap" ] || { ap=0; af=1; }
		line="$name: $((p0 + ap)) passed, $((f0 + af)) failed"
	else
		echo "FAIL - asan: the sanitizer build of pam_azmi.so failed"
		line="$name: $p0 passed, $((f0 + 1)) failed"
	fi
fi
after=$(host_state)
p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
f=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
if [ "$before" = "$after" ]; then
	p=$((p + 1))
	echo "ok - host: its /etc files, /var/lib/azmi and /home untouched"
else
	f=$((f + 1))
	echo "FAIL - host: something changed outside the namespace:"
	printf '%s\n' "$before" >"${TMPDIR:-/tmp}/azmi-30-before.$$"
	printf '%s\n' "$after" | diff "${TMPDIR:-/tmp}/azmi-30-before.$$" - | head -n 20
	rm -f "${TMPDIR:-/tmp}/azmi-30-before.$$"
fi
echo "$name: $p passed, $f failed"
[ "$f" -eq 0 ]

#!/bin/sh
# 70-deb: the Debian packages, built, linted, installed on this machine, used, removed.
#   - builds them with dpkg-buildpackage -us -uc -b from a copy of the tree (the tree stays clean);
#   - lintian: no errors (warnings are printed);
#   - dpkg -i: the file list and modes, `azmi --version`, the plug-in path, the -dev package;
#   - the installed pam_azmi.so through pam_wrapper + pamtester, libnss_azmi.so.2 through getent -s,
#     and tests/pam's exports, NSS and real-sshd parts against the installed modules;
#   - pam-auth-update --enable/--disable azmi, azmi-nss enable/disable, reinstalling;
#   - dpkg -r and dpkg --purge: /etc/pam.d, /etc/nsswitch.conf and /var/lib/pam byte for byte as
#     before, state gone.
# Runs only in CI (CI=true) or when asked (AZMI_DEB_CHECK=1, as make deb-check does): elsewhere it
# says it was not asked and counts nothing.  It needs root; without, it prints "skipped" and counts one skip.  Whatever
# happens, the packages are purged and /etc/pam.d, /etc/nsswitch.conf and /var/lib/pam are put back.
# Anything that could reach Azure runs in a private network namespace (unshare -n).
# The last line is "70-deb: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
name=70-deb
pass=0
fail=0

skip() {
	echo "$name: skipped: $1"
	echo "$name: 0 passed, 0 failed, 1 skipped"
	exit 0
}
# It changes this machine's package set: CI machines are disposable, a developer's is not.
if [ "${CI:-}" != true ] && [ "${AZMI_DEB_CHECK:-}" != 1 ]; then
	echo "$name: not asked: it installs and purges packages on this machine; make deb-check (or CI=true) runs it"
	echo "$name: 0 passed, 0 failed"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || skip "needs root (it installs the packages with dpkg -i)"
command -v dpkg-buildpackage >/dev/null 2>&1 || command -v apt-get >/dev/null 2>&1 ||
	skip "not a Debian-like system (no dpkg-buildpackage, no apt-get)"

pkgs="libazmi1 libazmi-dev azmi libazmi-curl1 libpam-azmi"
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || continue
	case "$st" in
	un* | "") ;;
	*) skip "package $p is already on this machine ($st): purge it first, this test will not touch it" ;;
	esac
done

# One run at a time per machine: the test changes the machine's package set.
lock=/run/lock/azmi-deb-check.lock
[ -d /run/lock ] || lock=/tmp/azmi-deb-check.lock
exec 9>"$lock"
flock -w 600 9 || skip "another deb-check run held $lock for 10 minutes"

tmp=$(mktemp -d /tmp/azmi-deb.XXXXXX) || exit 1
log=$tmp/log
: >"$log"
export DEBIAN_FRONTEND=noninteractive

ok() {
	pass=$((pass + 1))
	echo "ok   $1"
}
bad() {
	fail=$((fail + 1))
	echo "FAIL $1"
	[ -n "${2:-}" ] && echo "$2" | sed 's/^/     /'
}
# check DESCRIPTION COMMAND...: passes when the command succeeds; its output goes to the log.
check() {
	desc=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		bad "$desc" "$(echo "$out" | tail -n 15)"
	fi
	echo "== $desc: $*" >>"$log"
	echo "$out" >>"$log"
}
# expect_mode PATH MODE: a regular file (or directory) with this octal mode, owned by root:root.
expect_mode() {
	got=$(stat -c '%a %U:%G %F' "$1" 2>&1)
	case "$got" in
	"$2 root:root regular file" | "$2 root:root directory") ok "$1 is $2 root:root" ;;
	*) bad "$1 is $2 root:root" "got: $got" ;;
	esac
}
not() { ! "$@"; }
same_etc() {
	diff -r "$snap/pam.d" /etc/pam.d && cmp "$snap/nsswitch.conf" /etc/nsswitch.conf
}

# --- snapshot, and the guard that puts everything back ------------------------------------------
snap=$tmp/snap
mkdir -p "$snap"
cp -a /etc/pam.d "$snap/pam.d"
cp -a /etc/nsswitch.conf "$snap/nsswitch.conf"
[ -d /var/lib/pam ] && cp -a /var/lib/pam "$snap/var-lib-pam"
had() { [ -e "$1" ] && echo 1; }
had_sudoers_d=$(had /etc/sudoers.d)
had_sudoers_azmi=$(had /etc/sudoers.d/azmi)
had_state=$(had /var/lib/azmi)
had_run=$(had /run/azmi)
had_ssh_user=$(getent passwd azmi-ssh >/dev/null && echo 1)
installed=

restore() {
	if [ -n "$installed" ]; then
		# shellcheck disable=SC2086
		out=$(dpkg --purge $pkgs 2>&1) || echo "$name: cleanup: dpkg --purge failed: $out"
	fi
	if ! diff -r "$snap/pam.d" /etc/pam.d >/dev/null 2>&1; then
		echo "$name: cleanup: /etc/pam.d differed from before the test: restored"
		rm -rf /etc/pam.d.azmi-restore && cp -a "$snap/pam.d" /etc/pam.d.azmi-restore &&
			rm -rf /etc/pam.d && mv /etc/pam.d.azmi-restore /etc/pam.d
	fi
	cmp -s "$snap/nsswitch.conf" /etc/nsswitch.conf || {
		echo "$name: cleanup: /etc/nsswitch.conf differed from before the test: restored"
		cp -a "$snap/nsswitch.conf" /etc/nsswitch.conf
	}
	if [ -d "$snap/var-lib-pam" ] && ! diff -r "$snap/var-lib-pam" /var/lib/pam >/dev/null 2>&1; then
		echo "$name: cleanup: /var/lib/pam differed from before the test: restored"
		rm -rf /var/lib/pam && cp -a "$snap/var-lib-pam" /var/lib/pam
	fi
	[ -n "$had_sudoers_azmi" ] || rm -f /etc/sudoers.d/azmi
	[ -n "$had_sudoers_d" ] || rmdir /etc/sudoers.d 2>/dev/null
	grep -qs '^# azmi: written by azmi-ssh enable' /etc/ssh/sshd_config.d/50-azmi-ssh.conf &&
		rm -f /etc/ssh/sshd_config.d/50-azmi-ssh.conf
	[ -n "$had_state" ] || rm -rf /var/lib/azmi
	[ -n "$had_run" ] || rm -rf /run/azmi
	if [ "$fail" -gt 0 ]; then
		cat "$log" "$tmp/build.log" >/tmp/azmi-70-deb.log 2>/dev/null
		echo "$name: the commands' output is in /tmp/azmi-70-deb.log"
	fi
	rm -rf "$tmp"
}
trap 'restore' EXIT
trap 'exit 130' INT TERM

# --- build dependencies --------------------------------------------------------------------------
apt_install() {
	missing=
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "$name: installing:$missing"
	apt-get update -qq >>"$log" 2>&1
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >>"$log" 2>&1
}
if ! { sh tools/install-deps.sh build >>"$log" 2>&1 &&
	apt_install debhelper lintian fakeroot dpkg-dev pkgconf pamtester libpam-wrapper; }; then
	bad "build and test dependencies installed" "$(tail -n 15 "$log")"
fi

# --- build from a copy of the tree ---------------------------------------------------------------
src=$tmp/src/azmi
mkdir -p "$src"
tar -cf - --exclude=./build --exclude=./.git --exclude=./debian/build --exclude=./debian/tmp \
	--exclude=./debian/.debhelper . | tar -xf - -C "$src"
unmet=$(cd "$src" && dpkg-checkbuilddeps 2>&1 | sed -n 's/.*Unmet build dependencies: //p' |
	sed -e 's/([^)]*)//g' -e 's/|[^ ]*//g' -e 's/debhelper-compat/debhelper/' -e 's/:any//g')
# shellcheck disable=SC2086
[ -z "$unmet" ] || apt_install $unmet || bad "Build-Depends installed" "unmet: $unmet"
start=$(date +%s)
if (cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)") >"$tmp/build.log" 2>&1; then
	ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
	bad "dpkg-buildpackage -us -uc -b" "$(tail -n 25 "$tmp/build.log")"
	echo "$name: $pass passed, $fail failed"
	exit 1
fi
ver=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
debs=
for p in $pkgs; do
	f=$tmp/src/${p}_${ver}_$arch.deb
	if [ -f "$f" ]; then
		debs="$debs $f"
	else
		bad "package $p built" "no $f"
	fi
done

# --- lintian -------------------------------------------------------------------------------------
lint=$(lintian --profile debian --tag-display-limit 0 "$tmp/src/azmi_${ver}_$arch.changes" 2>&1 |
	grep -v 'running with root privileges')
errors=$(echo "$lint" | grep -c '^E:')
warnings=$(echo "$lint" | grep '^W:')
[ -n "$warnings" ] && echo "lintian warnings:" && echo "$warnings" | sed 's/^/     /'
if [ "$errors" -eq 0 ]; then ok "lintian: no errors"; else bad "lintian: no errors" "$(echo "$lint" | grep '^E:')"; fi

# --- install -------------------------------------------------------------------------------------
installed=1
# shellcheck disable=SC2086
check "dpkg -i $pkgs" dpkg -i $debs
check "installing changed neither /etc/pam.d nor /etc/nsswitch.conf" same_etc

# The file list: every file where it belongs, with the modes Debian gives it.
for f in /usr/lib/$ma/libazmi.so.1 /usr/lib/$ma/libazmi_curl.so.1 /usr/lib/$ma/libazmi.a \
	/usr/include/azmi.h /usr/include/azmi_curl.h /usr/lib/$ma/pkgconfig/azmi.pc \
	/usr/share/man/man1/azmi.1.gz /usr/share/man/man5/azmi.conf.5.gz /usr/share/man/man3/libazmi_curl.3.gz \
	/usr/share/man/man3/libazmi.3.gz; do
	expect_mode "$f" 644
done
expect_mode /usr/bin/azmi 755
check "libazmi.so -> libazmi.so.1, libazmi_curl.so -> libazmi_curl.so.1" sh -c \
	"[ \"\$(readlink /usr/lib/$ma/libazmi.so)\" = libazmi.so.1 ] &&
	 [ \"\$(readlink /usr/lib/$ma/libazmi_curl.so)\" = libazmi_curl.so.1 ]"
# shellcheck disable=SC2086
files=$(dpkg -L $pkgs | sort -u)
for f in $files; do [ -d "$f" ] || echo "$f"; done >"$tmp/files"
loose=
for f in $files; do
	if [ ! -f "$f" ] || [ -L "$f" ]; then continue; fi
	m=$(stat -c %a "$f")
	case "$f:$m" in
	/usr/bin/*:755 | /usr/sbin/*:755 | /etc/sudoers.d/*:440 | *:644) ;;
	*) loose="$loose $f:$m" ;;
	esac
done
if [ -z "$loose" ]; then ok "every installed file is 0644 (0755 in bin/, 0440 in sudoers.d/)"; else bad "file modes" "$loose"; fi
check "nothing installed under /usr/local" sh -c "! grep -q '^/usr/local' '$tmp/files'"
# The core dlopen()s libcurl.so.4: dpkg-shlibdeps cannot see it, control must say it.
curl_deps() {
	for p in libazmi1 azmi libazmi-curl1 libpam-azmi; do
		dpkg-query -W -f='${Depends}\n' "$p" | grep -q 'libcurl4' || { echo "$p lacks libcurl4"; return 1; }
	done
}
check "every package with the core depends on libcurl4" curl_deps

# The command and the plug-in.
check "azmi --version prints azmi $ver" sh -c "[ \"\$(azmi --version)\" = 'azmi $ver' ]"
check "azmi exec preloads the installed libazmi_curl.so.1" sh -c \
	"[ \"\$(realpath \"\$(azmi exec -- sh -c 'printf %s \"\$LD_PRELOAD\"')\")\" = /usr/lib/$ma/libazmi_curl.so.1 ]"
check "man finds azmi(1), azmi.conf(5), libazmi_curl(3)" man -w azmi azmi.conf libazmi_curl

# The -dev package: a program built with pkg-config, shared and static.
cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <azmi.h>
#include <azmi_curl.h>
int main(void)
{
	return puts(azmi_strerror(AZMI_OK)) < 0;
}
EOF
check "a program builds with pkg-config azmi and runs against libazmi.so.1" sh -c \
	"cc -o '$tmp/prog' '$tmp/prog.c' \$(pkg-config --cflags --libs azmi) && '$tmp/prog' &&
	 ldd '$tmp/prog' | grep -Eq 'libazmi.so.1 => (/usr)?/lib/$ma/libazmi.so.1'"
check "the same program links the static libazmi.a" sh -c \
	"cc -o '$tmp/prog-static' '$tmp/prog.c' -Wl,-Bstatic -lazmi -Wl,-Bdynamic \
	 \$(pkg-config --static --libs azmi | sed 's/-lazmi//') && '$tmp/prog-static' &&
	 ! ldd '$tmp/prog-static' | grep -q libazmi"

# --- the login modules ---------------------------------------------------------------------------
securedir=$(pkg-config --variable=libdir pam)/security
pam_so=$securedir/pam_azmi.so
nss_so=/usr/lib/$ma/libnss_azmi.so.2
for f in "$pam_so" "$nss_so" /usr/share/pam-configs/azmi /usr/lib/tmpfiles.d/libpam-azmi.conf \
	/usr/share/man/man8/pam_azmi.8.gz /usr/share/man/man8/nss_azmi.8.gz; do
	expect_mode "$f" 644
done
expect_mode /usr/sbin/azmi-nss 755
expect_mode /usr/sbin/azmi-ssh 755
for f in /usr/share/man/man8/azmi-ssh.8.gz /lib/systemd/system/azmi-ssh-ca.service \
	/lib/systemd/system/azmi-ssh-ca.timer; do
	expect_mode "$f" 644
done
check "the system user azmi-ssh exists (sshd's AuthorizedPrincipalsCommandUser)" getent passwd azmi-ssh
check "certificates are off by default: no sshd drop-in, azmi-ssh status says off" sh -c \
	"[ ! -e /etc/ssh/sshd_config.d/50-azmi-ssh.conf ] && ! azmi-ssh status"
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	check "/run/azmi-ssh is 0700 azmi-ssh" sh -c "[ \"\$(stat -c '%a %U' /run/azmi-ssh)\" = '700 azmi-ssh' ]"
fi
# azmi-ssh on files of its own (the machine's sshd is never reloaded here; the key set's authority is a
# closed loopback port, so nothing leaves the machine and the CA file ends up emptied).
ssh_t=$tmp/ssh
mkdir -p "$ssh_t/d" && chmod 0755 "$ssh_t"
ssh-keygen -q -t ed25519 -N '' -f "$ssh_t/hk" >>"$log" 2>&1
printf 'Include %s/d/*.conf\nHostKey %s/hk\n' "$ssh_t" "$ssh_t" >"$ssh_t/sshd_config"
# sshd -t on a configuration file; /run/sshd (which sshd -t wants) made for it only when missing.
sshd_t() {
	made=
	[ -d /run/sshd ] || { mkdir -p /run/sshd && made=1; }
	sshd -t -f "$1" && rc=0 || rc=$?
	[ -z "$made" ] || rmdir /run/sshd
	return "$rc"
}
printf 'tenant = 72f988bf-86f1-41af-91ab-2d7cd011db47\nauthority = https://127.0.0.1:9\nssh_ca_file = %s/ca.pub\n' \
	"$ssh_t" >"$ssh_t/azmi.conf"
ssh_env="AZMI_SSHD_CONFIG=$ssh_t/sshd_config AZMI_SSHD_DROPIN=$ssh_t/d/50-azmi-ssh.conf AZMI_CONFIG=$ssh_t/azmi.conf"
check "azmi-ssh enable writes the drop-in (installed azmi, azmi-ssh user) and an emptied CA file" sh -c \
	"env $ssh_env azmi-ssh enable && grep -qx 'AuthorizedPrincipalsCommand /usr/bin/azmi ssh-principals %u %k' \
	 $ssh_t/d/50-azmi-ssh.conf && grep -qx 'AuthorizedPrincipalsCommandUser azmi-ssh' $ssh_t/d/50-azmi-ssh.conf &&
	 [ -f $ssh_t/ca.pub ] && ! grep -q '^ssh-rsa' $ssh_t/ca.pub && env $ssh_env azmi-ssh status"
check "sshd -t accepts a configuration with the drop-in" sshd_t "$ssh_t/sshd_config"
check "azmi-ssh disable removes it" sh -c "env $ssh_env azmi-ssh disable && [ ! -e $ssh_t/d/50-azmi-ssh.conf ]"
printf 'AuthorizedKeysCommand /usr/bin/aad_certhandler -u %%u -t %%t -p %%k\n' >"$ssh_t/d/10-aad.conf"
check "azmi-ssh enable refuses next to aad_certhandler, saying so" sh -c \
	"! env $ssh_env azmi-ssh enable 2>$ssh_t/err && grep -q aad_certhandler $ssh_t/err &&
	 [ ! -e $ssh_t/d/50-azmi-ssh.conf ]"
expect_mode /usr/share/azmi/sudoers.azmi 644
check "installing gives no sudo rule (no /etc/sudoers.d/azmi)" test ! -e /etc/sudoers.d/azmi
check "the PAM profile is off by default (Default: no)" grep -qx 'Default: no' /usr/share/pam-configs/azmi
if command -v systemd-tmpfiles >/dev/null 2>&1; then expect_mode /run/azmi 700; fi
expect_mode /var/lib/azmi 755

# visudo: the machine's, or one from the sudo package unpacked here (sudo itself is not installed).
visudo=$(command -v visudo)
if [ -z "$visudo" ]; then
	(cd "$tmp" && { apt-get download sudo || { apt-get update -qq && apt-get download sudo; }; } &&
		dpkg-deb -x sudo_*.deb "$tmp/sudo") >>"$log" 2>&1
	visudo=$tmp/sudo/usr/sbin/visudo
fi
check "visudo -cf /usr/share/azmi/sudoers.azmi" env LD_LIBRARY_PATH="$tmp/sudo/usr/libexec/sudo" "$visudo" \
	-cf /usr/share/azmi/sudoers.azmi

# pam_wrapper: the installed module, named the way /etc/pam.d names it, for a local user it does not map.
pw=$(dpkg -L libpam-wrapper | grep '/libpam_wrapper\.so$' | head -n 1)
printf 'allowed_domains = contoso.example\n' >"$tmp/azmi.conf"
chmod 0644 "$tmp/azmi.conf"
mkdir -p "$tmp/pam"
printf 'account required pam_azmi.so config=%s\naccount required pam_permit.so\n' "$tmp/azmi.conf" \
	>"$tmp/pam/azmi-permit"
printf 'account required pam_azmi.so config=%s\n' "$tmp/azmi.conf" >"$tmp/pam/azmi-alone"
printf 'auth required pam_deny.so\naccount required pam_deny.so\npassword required pam_deny.so\nsession required pam_deny.so\n' \
	>"$tmp/pam/other"
wrapped() {
	unshare -n env LD_PRELOAD="$pw" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$tmp/pam" pamtester "$@"
}
check "pam_azmi.so + pam_permit: root (not mapped) passes the account phase" wrapped azmi-permit root acct_mgmt
check "pam_azmi.so alone: root gets PAM_IGNORE, not success" not wrapped azmi-alone root acct_mgmt
nss_root() {
	out=$(unshare -n env AZMI_CONFIG="$tmp/azmi.conf" LD_DEBUG=libs getent -s azmi passwd root 2>&1)
	rc=$?
	echo "$out" | grep -q 'calling init: .*libnss_azmi\.so\.2' && [ "$rc" -eq 2 ]
}
nss_upn() {
	line=$(unshare -n env AZMI_CONFIG="$tmp/azmi.conf" getent -s azmi passwd alice@contoso.example) || return 1
	echo "$line"
	uid=$(echo "$line" | cut -d: -f3)
	[ "${line%%:*}" = alice@contoso.example ] && [ "$uid" -gt 70000 ] && [ "$uid" -le 99999 ]
}
nss_edit_roundtrip() {
	f=$tmp/nsswitch.test
	printf 'passwd:\tfiles systemd   # local comment\n  group: files [NOTFOUND=return] systemd\nshadow: files\n' >"$f"
	cp "$f" "$f.orig"
	AZMI_NSSWITCH=$f azmi-nss enable && grep -q '^passwd:	files systemd azmi   # local comment$' "$f" &&
		grep -q '^  group: files \[NOTFOUND=return\] systemd azmi$' "$f" && grep -q '^shadow: files$' "$f" &&
		AZMI_NSSWITCH=$f azmi-nss enable && AZMI_NSSWITCH=$f azmi-nss disable && cmp "$f" "$f.orig"
}
check "azmi-nss enable/disable round trip on a file with comments, actions, indentation" nss_edit_roundtrip
check "getent -s azmi loads libnss_azmi.so.2 and does not answer for root" nss_root
check "getent -s azmi answers for a UPN under allowed_domains, uid in 70001-99999" nss_upn

# The PAM issue's own tests (tests/pam: a private namespace with the Azure stand-in and a real sshd)
# once more, against the installed modules: exports, NSS answers, SSH logins end to end.
if make -s pam-test-programs >/dev/null 2>&1; then
	out=$(AZMI_PAM_PARTS="exports nss sshd" AZMI_TEST_PAM_SO="$pam_so" AZMI_TEST_NSS_SO="$nss_so" \
		AZMI_TEST_AZMI=/usr/bin/azmi unshare -mn --propagation private python3 tests/pam/run_tests.py 2>&1)
	line=$(echo "$out" | grep -E '^30-pam: [1-9][0-9]* passed, 0 failed$')
	if [ -n "$line" ]; then
		ok "tests/pam exports, nss and sshd against the installed packages (${line#30-pam: })"
	else
		bad "tests/pam exports, nss and sshd against the installed packages" "$(echo "$out" | grep -v '^ok' | tail -n 20)"
	fi
else
	bad "make pam-test-programs (for tests/pam)"
fi
check "every installed .so loads with RTLD_NOW" python3 -c \
	'import ctypes, os, sys
for p in sys.argv[1:]:
    ctypes.CDLL(p, os.RTLD_NOW)' "/usr/lib/$ma/libazmi.so.1" "/usr/lib/$ma/libazmi_curl.so.1" "$pam_so" "$nss_so"

# --- reinstalling, enabling, disabling -----------------------------------------------------------
# shellcheck disable=SC2086
check "dpkg -i again (maintainer scripts idempotent)" dpkg -i $debs
check "reinstalling changed neither /etc/pam.d nor /etc/nsswitch.conf" same_etc
check "pam-auth-update --enable azmi" pam-auth-update --enable azmi
check "common-account has pam_azmi.so" grep -q 'pam_azmi\.so' /etc/pam.d/common-account
check "root still passes the real common-account stack" unshare -n pamtester common-account root acct_mgmt
[ -f /etc/pam.d/sshd ] && check "root still passes the real sshd account stack" unshare -n pamtester sshd root acct_mgmt
check "azmi-nss enable" azmi-nss enable
check "azmi-nss status: listed" azmi-nss status
check "getent passwd root still answers from files" getent passwd root
# shellcheck disable=SC2086
check "dpkg -i over enabled modules" dpkg -i $debs
check "the upgrade kept both enabled" sh -c "grep -q pam_azmi.so /etc/pam.d/common-account &&
	grep -Eq '^passwd:.*[[:space:]]azmi' /etc/nsswitch.conf"
check "pam-auth-update --disable azmi" pam-auth-update --disable azmi
check "azmi-nss enable --sudo: /etc/sudoers.d/azmi, 0440, the admin group's rule" sh -c \
	"azmi-nss enable --sudo && [ \"\$(stat -c %a /etc/sudoers.d/azmi)\" = 440 ] &&
	 grep -qx '%azmi-admins ALL=(ALL:ALL) NOPASSWD: ALL' /etc/sudoers.d/azmi"
check "visudo -cf /etc/sudoers.d/azmi" env LD_LIBRARY_PATH="$tmp/sudo/usr/libexec/sudo" "$visudo" -cf /etc/sudoers.d/azmi
check "azmi-nss status names the sudo rule" sh -c "azmi-nss status | grep -q 'sudoers rule active'"
check "azmi-nss disable" azmi-nss disable
check "azmi-nss disable takes the sudo rule out" test ! -e /etc/sudoers.d/azmi
check "disabling put /etc/pam.d and /etc/nsswitch.conf back byte for byte" same_etc
# Enabled again, then removed: the package must take itself out.
check "enable both again, sudo too" sh -c "pam-auth-update --enable azmi && azmi-nss enable --sudo >/dev/null"
# As if azmi-ssh enable had run (on a machine without systemd nothing is reloaded): removal takes it out.
[ -d /etc/ssh/sshd_config.d ] && check "an azmi-ssh drop-in in /etc/ssh/sshd_config.d" sh -c \
	"printf '# azmi: written by azmi-ssh enable; azmi-ssh disable removes it\nExposeAuthInfo yes\n' \
	 >/etc/ssh/sshd_config.d/50-azmi-ssh.conf"

# --- remove, purge -------------------------------------------------------------------------------
# shellcheck disable=SC2086
check "dpkg -r" dpkg -r $pkgs
check "after dpkg -r: /etc/pam.d and /etc/nsswitch.conf byte for byte as before" same_etc
check "after dpkg -r: no sudo rule left" test ! -e /etc/sudoers.d/azmi
check "after dpkg -r: no azmi-ssh drop-in left" test ! -e /etc/ssh/sshd_config.d/50-azmi-ssh.conf
# shellcheck disable=SC2086
check "dpkg --purge" dpkg --purge $pkgs
installed=
check "after purge: /etc/pam.d and /etc/nsswitch.conf byte for byte as before" same_etc
[ -d "$snap/var-lib-pam" ] &&
	check "after purge: /var/lib/pam (pam-auth-update's state) as before" diff -r "$snap/var-lib-pam" /var/lib/pam
check "after purge: no package left" sh -c "! dpkg-query -W -f='\${db:Status-Abbrev} \${Package}\n' $pkgs 2>/dev/null | grep -v '^un'"
check "after purge: none of the packages' files left" sh -c "for f in \$(cat '$tmp/files'); do
	if [ -f \"\$f\" ] || [ -L \"\$f\" ]; then echo \"left: \$f\"; exit 1; fi; done"
[ -n "$had_state" ] || check "after purge: no /var/lib/azmi" test ! -e /var/lib/azmi
[ -n "$had_run" ] || check "after purge: no /run/azmi" test ! -e /run/azmi
[ -n "$had_sudoers_d" ] || check "after purge: no /etc/sudoers.d" test ! -e /etc/sudoers.d
[ -n "$had_ssh_user" ] || check "after purge: no azmi-ssh user, no /run/azmi-ssh" sh -c \
	"! getent passwd azmi-ssh && [ ! -e /run/azmi-ssh ]"

echo "$name: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

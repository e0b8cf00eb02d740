#!/bin/sh
# Suite 05-exports: every shipped shared object loads with RTLD_NOW and exports
# exactly its API (the version scripts hide everything else).  A library that
# is not built (a part still in progress) is reported and skipped.
# Last line: "05-exports: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
BUILD=${BUILD:-build}
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
pass=0
fail=0
skipped=0

check() { # library, expected exports (space-separated, sorted by the check)
	lib="$BUILD/$1"
	shift
	if [ ! -f "$lib" ]; then
		echo "skip: $lib is not built"
		skipped=$((skipped + 1))
		return
	fi
	if err=$("$PY" -c 'import ctypes, os, sys; ctypes.CDLL(sys.argv[1], mode=os.RTLD_NOW)' "$lib" 2>&1); then
		pass=$((pass + 1))
		echo "ok: $lib loads with RTLD_NOW"
	else
		fail=$((fail + 1))
		echo "FAIL: $lib does not load with RTLD_NOW: $err"
	fi
	got=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^AZMI_[0-9.]*$' | sort -u | tr '\n' ' ')
	want=$(printf '%s\n' "$@" | sort -u | tr '\n' ' ')
	if [ "$got" = "$want" ]; then
		pass=$((pass + 1))
		echo "ok: $lib exports exactly: $want"
	else
		fail=$((fail + 1))
		echo "FAIL: $lib exports: $got"
		echo "      expected:       $want"
	fi
}

check libazmi.so.1 azmi_strerror azmi_ctx_new azmi_ctx_free azmi_ctx_set_log azmi_ctx_source azmi_get_token \
	azmi_token_release
check libazmi_curl.so.1 azmi_curl_install azmi_curl_prepare azmi_curl_scope curl_easy_cleanup \
	curl_easy_duphandle curl_easy_perform curl_easy_reset curl_easy_setopt curl_multi_add_handle
check pam_azmi.so pam_sm_acct_mgmt pam_sm_authenticate pam_sm_setcred
check libnss_azmi.so.2 _nss_azmi_getpwnam_r _nss_azmi_getpwuid_r _nss_azmi_getgrnam_r _nss_azmi_getgrgid_r \
	_nss_azmi_initgroups_dyn _nss_azmi_setpwent _nss_azmi_getpwent_r _nss_azmi_endpwent _nss_azmi_setgrent \
	_nss_azmi_getgrent_r _nss_azmi_endgrent

# The static library of libazmi-dev defines no global name but the API's (azmi_*): nothing of ours can
# clash with a program that links it.
if [ -f "$BUILD/libazmi.a" ]; then
	other=$(nm -g --defined-only "$BUILD/libazmi.a" | awk 'NF == 3 {print $3}' | grep -v '^azmi_' | sort -u | tr '\n' ' ')
	api=$(nm -g --defined-only "$BUILD/libazmi.a" | awk 'NF == 3 {print $3}' | grep -c '^azmi_')
	if [ -z "$other" ] && [ "$api" -gt 0 ]; then
		pass=$((pass + 1))
		echo "ok: $BUILD/libazmi.a defines only azmi_* globals ($api)"
	else
		fail=$((fail + 1))
		echo "FAIL: $BUILD/libazmi.a defines unprefixed globals: $other (azmi_*: $api)"
	fi
fi

# libazmi.so.1 is the token core only: no function or object of the login or registry library in it.
if [ -f "$BUILD/libazmi.so.1" ] && [ -d "$BUILD/login" ] && [ -d "$BUILD/registry" ]; then
	nm "$BUILD/libazmi.so.1" | awk 'NF == 3 {print $3}' | sort -u >"$BUILD/so-names.txt"
	nm -g --defined-only "$BUILD"/login/*.o "$BUILD"/registry/*.o | awk 'NF == 3 {print $3}' | sort -u \
		>"$BUILD/upper-names.txt"
	both=$(comm -12 "$BUILD/so-names.txt" "$BUILD/upper-names.txt" | tr '\n' ' ')
	upper=$(wc -l <"$BUILD/upper-names.txt")
	if [ -z "$both" ] && [ "$upper" -gt 50 ]; then
		pass=$((pass + 1))
		echo "ok: libazmi.so.1 holds none of the $upper login and registry names"
	else
		fail=$((fail + 1))
		echo "FAIL: libazmi.so.1 holds login or registry code: $both"
	fi
	rm -f "$BUILD/so-names.txt" "$BUILD/upper-names.txt"
fi

# The layers: no include path of a lower layer (or of a front end) reaches a higher layer's headers.
if out=$(make --no-print-directory BUILD="$BUILD" layer-check 2>&1); then
	pass=$((pass + 1))
	echo "ok: the include paths keep the layers apart"
else
	fail=$((fail + 1))
	echo "FAIL: the include paths let a layer reach another:"
fi
printf '%s\n' "$out" | sed 's/^/  /'

# A program that links only libazmi.so.1 accepts every key of every part of azmi in a shared azmi.conf
# (each part's config_keys.def, built into the core) and reports a typo.
if [ -f "$BUILD/libazmi.so.1" ]; then
	dir=$(mktemp -d)
	conf="$dir/azmi.conf"
	sed -n 's/^CONFIG_KEY(\([a-z_0-9]*\))$/\1/p' core/config_keys.def login/config_keys.def \
		registry/config_keys.def libcurl_auth/config_keys.def >"$dir/keys"
	# Values need not be valid for this check, only present: the library reads none but its own.
	grep -v -x -e imds_endpoint -e ca_file -e cloud -e timeout -e cache_dir -e cache -e use_azure_cli \
		-e proxy -e arm_endpoint -e graph_endpoint "$dir/keys" | sed 's/$/ = x/' >"$conf"
	echo "imds_endpiont = http://127.0.0.1:9" >>"$conf"
	chmod 600 "$conf"
	nkeys=$(wc -l <"$conf")
	if ${CC:-cc} -Iinclude -o "$dir/shared_config" tests/exports/shared_config.c "$BUILD/libazmi.so.1" 2>"$dir/cc.err"; then
		out=$(AZMI_CONFIG="$conf" LD_LIBRARY_PATH="$BUILD" "$dir/shared_config" 2>&1)
		warned=$(printf '%s\n' "$out" | grep -c 'unknown key')
		if [ "$warned" -eq 1 ] && printf '%s\n' "$out" | grep -q 'unknown key "imds_endpiont"' && [ "$nkeys" -ge 19 ]; then
			pass=$((pass + 1))
			echo "ok: a program using only libazmi.so.1 takes the $((nkeys - 1)) keys of the other parts, warns about a typo"
		else
			fail=$((fail + 1))
			echo "FAIL: a program using only libazmi.so.1 with every part's keys ($nkeys lines) said:"
			printf '%s\n' "$out" | sed 's/^/  /'
		fi
	else
		fail=$((fail + 1))
		echo "FAIL: cannot build tests/exports/shared_config.c:"
		sed 's/^/  /' "$dir/cc.err"
	fi
	rm -rf "$dir"
fi

# The command itself must not pull in libcurl at start-up (it loads it on the first request).
if ldd "$BUILD/azmi" | grep -q libcurl; then
	fail=$((fail + 1))
	echo "FAIL: $BUILD/azmi links libcurl at start-up"
else
	pass=$((pass + 1))
	echo "ok: $BUILD/azmi does not load libcurl until it fetches"
fi
if [ "$skipped" -gt 0 ]; then
	echo "05-exports: $pass passed, $fail failed, $skipped skipped"
else
	echo "05-exports: $pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]

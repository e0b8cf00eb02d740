#!/bin/sh
# 50-sanitizers: the core, the command and the unit tests built with clang's
# AddressSanitizer and UndefinedBehaviorSanitizer into $BUILD/asan, then
#   1. the unit tests under ASan/UBSan,
#   2. the integration suite against the ASan azmi (tests/integration/run.sh, AZMI_BIN),
#   3. the unit tests of the normal build under valgrind (definite leaks are errors).
# AZMI_SAN_SKIP may name parts to skip: "integration", "valgrind".
# The last line is "50-sanitizers: N passed, M failed" (the sum of the three parts).
set -u
cd "$(dirname "$0")/.." || exit 1
name=50-sanitizers
build=${BUILD:-build}
asan=$build/asan
cpus=$(nproc 2>/dev/null || echo 1)
skip=${AZMI_SAN_SKIP:-}
san="-fsanitize=address,undefined -fno-sanitize-recover=all"
pass=0
fail=0
skipped=0

# The counts of a suite's closing line "<name>: N passed, M failed" in file $2 (1 failure if absent).
add_counts() {
	line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -n 1)
	if [ -z "$line" ]; then
		echo "$name: part $1 printed no result line: counted as 1 failed"
		fail=$((fail + 1))
		return
	fi
	p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
	s=$(echo "$line" | sed -n 's/.*failed, \([0-9]*\) skipped.*/\1/p')
	pass=$((pass + p))
	fail=$((fail + f))
	skipped=$((skipped + ${s:-0}))
}

finish() {
	if [ "$skipped" -gt 0 ]; then
		echo "$name: $pass passed, $fail failed, $skipped skipped"
	else
		echo "$name: $pass passed, $fail failed"
	fi
	[ "$fail" -eq 0 ]
	exit $?
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT INT TERM

# --- build ------------------------------------------------------------------------------------
if ! command -v clang >/dev/null 2>&1; then
	echo "$name: clang is missing (apt-get install clang libclang-rt-14-dev)"
	fail=$((fail + 1))
	finish
fi
echo "=== building with ASan and UBSan into $asan"
if ! make --no-print-directory -j"$cpus" BUILD="$asan" CC=clang OPT="-O1 -g -fno-omit-frame-pointer $san" \
	LDFLAGS="$san -Wl,-z,relro -Wl,-z,now" "$asan/azmi" unit-test-programs >"$log" 2>&1; then
	tail -n 40 "$log"
	echo "$name: the sanitizer build failed"
	fail=$((fail + 1))
	finish
fi
grep -E "warning:|runtime error" "$log" || true

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1:check_initialization_order=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export LSAN_OPTIONS="print_suppressions=0"

# --- 1. unit tests under ASan/UBSan -------------------------------------------------------------
echo "=== unit tests under ASan/UBSan"
BUILD="$asan" AZMI_UNIT_SUITE_NAME=asan-unit sh tests/suite-10-unit.sh >"$log" 2>&1
grep -E "^--- |ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error|SUMMARY|no cmocka summary|exited with" "$log"
add_counts asan-unit "$log"

# --- 2. integration suite against the ASan azmi ---------------------------------------------------
case " $skip " in
*" integration "*)
	echo "=== integration under ASan: skipped (AZMI_SAN_SKIP)"
	skipped=$((skipped + 1))
	;;
*)
	if [ -f tests/integration/run.sh ] && grep -q AZMI_BIN tests/integration/run.sh; then
		echo "=== integration suite against $asan/azmi"
		AZMI_BIN="$(pwd)/$asan/azmi" AZMI_SUITE_NAME=asan-integration sh tests/integration/run.sh >"$log" 2>&1
		grep -E "^(FAIL|ERROR):|AddressSanitizer|LeakSanitizer|runtime error|^asan-integration:|^wall time" "$log" |
			head -n 60
		add_counts asan-integration "$log"
	else
		echo "=== integration under ASan: tests/integration/run.sh does not take AZMI_BIN; skipped"
		skipped=$((skipped + 1))
	fi
	;;
esac
unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

# --- 3. valgrind over the unit tests of the normal build ----------------------------------------------
case " $skip " in
*" valgrind "*)
	echo "=== valgrind: skipped (AZMI_SAN_SKIP)"
	skipped=$((skipped + 1))
	;;
*)
	if ! command -v valgrind >/dev/null 2>&1; then
		echo "$name: valgrind is missing"
		fail=$((fail + 1))
	elif ! make --no-print-directory -j"$cpus" BUILD="$build" unit-test-programs >"$log" 2>&1; then
		tail -n 40 "$log"
		echo "$name: building the unit tests failed"
		fail=$((fail + 1))
	else
		echo "=== unit tests of $build under valgrind"
		BUILD="$build" AZMI_UNIT_SUITE_NAME=valgrind-unit \
			AZMI_UNIT_WRAPPER="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --track-fds=no" \
			sh tests/suite-10-unit.sh >"$log" 2>&1
		grep -E "^--- |^==[0-9]+==|no cmocka summary|exited with" "$log" | head -n 80
		add_counts valgrind-unit "$log"
	fi
	;;
esac

finish

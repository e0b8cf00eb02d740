#!/bin/sh
# 10-unit: the cmocka unit tests of the core (tests/unit/test_*.c).
# Builds nothing: `make check` builds test-programs first (or run
# `make test-programs`).  Runs every $BUILD/tests/test_* program and counts
# cmocka tests; a program that crashes or prints no cmocka summary counts as
# one failure.  AZMI_UNIT_WRAPPER runs each program under a command (valgrind).
# The last line is "10-unit: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
name=${AZMI_UNIT_SUITE_NAME:-10-unit}
build=${BUILD:-build}
wrapper=${AZMI_UNIT_WRAPPER:-}
export CMOCKA_MESSAGE_OUTPUT=stdout

pass=0
fail=0
ran=0
for prog in "$build"/tests/test_*; do
	if [ ! -f "$prog" ] || [ ! -x "$prog" ]; then
		continue
	fi
	case "$prog" in *.o | *.d) continue ;; esac
	ran=$((ran + 1))
	out=$(mktemp)
	# shellcheck disable=SC2086 # the wrapper is a command with arguments
	$wrapper "$prog" >"$out" 2>&1
	rc=$?
	cat "$out"
	p=$(sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test(s)\..*/\1/p' "$out" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test(s), listed below:.*/\1/p' "$out" | tail -n 1)
	total=$(sed -n 's/^\[==========\] \([0-9][0-9]*\) test(s) run\..*/\1/p' "$out" | tail -n 1)
	rm -f "$out"
	p=${p:-0}
	f=${f:-0}
	if [ -z "$total" ]; then
		echo "$name: $(basename "$prog") printed no cmocka summary (exit $rc): counted as 1 failed"
		f=$((f + 1))
	elif [ $((p + f)) -ne "$total" ]; then
		# a test that neither passed nor failed (skipped, errored in set-up)
		f=$((total - p))
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: $(basename "$prog") exited with $rc after its tests passed: counted as 1 failed"
		f=1
	fi
	echo "--- $(basename "$prog"): $p passed, $f failed"
	pass=$((pass + p))
	fail=$((fail + f))
done
if [ "$ran" -eq 0 ]; then
	echo "$name: no test programs in $build/tests (run make test-programs)"
	fail=$((fail + 1))
fi
echo "$name: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

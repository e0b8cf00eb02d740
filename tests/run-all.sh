#!/bin/sh
# Runs every test suite (tests/suite-*.sh, in name order) and prints one
# closing line with the totals.  A suite prints what it likes and ends with a
# line "<name>: N passed, M failed"; its exit status must be non-zero on failure.
set -u
cd "$(dirname "$0")/.." || exit 1
total_pass=0
total_fail=0
failed_suites=""
for suite in tests/suite-*.sh; do
	name=$(basename "$suite" .sh)
	name=${name#suite-}
	[ -n "${AZMI_SUITES:-}" ] && case " $AZMI_SUITES " in *" $name "*) ;; *) continue ;; esac
	echo "=== suite $name"
	log=$(mktemp)
	start=$(date +%s)
	sh "$suite" 2>&1 | tee "$log"
	line=$(grep -E "^$name: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
	rm -f "$log"
	p=$(echo "$line" | sed -n 's/.*: \([0-9]*\) passed.*/\1/p')
	f=$(echo "$line" | sed -n 's/.*passed, \([0-9]*\) failed.*/\1/p')
	if [ -z "$line" ]; then
		echo "=== suite $name printed no result line: counted as failed"
		p=0
		f=1
	fi
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	[ "$f" -gt 0 ] && failed_suites="$failed_suites $name"
	echo "=== suite $name done in $(($(date +%s) - start)) s"
done
[ -n "$failed_suites" ] && echo "failed suites:$failed_suites"
echo "check: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]

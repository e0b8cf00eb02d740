#!/bin/sh
# 60-fuzz: builds every libFuzzer target (fuzz/fuzz_*.c, see fuzz/build.mk),
# replays its committed seed corpus (fuzz/corpus/<name>/), then fuzzes it for
# AZMI_FUZZ_SECONDS (default 10).  One result per target.  New inputs go to
# $BUILD/fuzz/corpus/<name>/, crashes to $BUILD/fuzz/artifacts/.
# AZMI_FUZZ_JOBS targets run at once (default: 2, or 1 on a single CPU).
# The last line is "60-fuzz: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
name=60-fuzz
build=${BUILD:-build}
seconds=${AZMI_FUZZ_SECONDS:-10}
cpus=$(nproc 2>/dev/null || echo 1)
jobs=${AZMI_FUZZ_JOBS:-$([ "$cpus" -gt 1 ] && echo 2 || echo 1)}
fuzzdir=$build/fuzz

if ! command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	echo "$name: ${FUZZ_CC:-clang} is missing (apt-get install clang libclang-rt-14-dev)"
	echo "$name: 0 passed, 1 failed"
	exit 1
fi
mkdir -p "$build"
if ! make --no-print-directory -j"$cpus" BUILD="$build" fuzz-programs >"$build/fuzz-build.log" 2>&1; then
	tail -n 40 "$build/fuzz-build.log"
	echo "$name: building the fuzz targets failed (log: $build/fuzz-build.log)"
	echo "$name: 0 passed, 1 failed"
	exit 1
fi
grep -i "warning:" "$build/fuzz-build.log" || true

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT INT TERM

# Replay the seeds, then fuzz; writes "<target> ok" or "<target> FAILED: why" to $logs/<target>.result.
run_one() {
	t=$1
	bin=$fuzzdir/$t
	log=$logs/$t.log
	mkdir -p "$fuzzdir/corpus/$t" "$fuzzdir/artifacts"
	seeds=
	[ -d "fuzz/corpus/$t" ] && seeds=fuzz/corpus/$t
	dict=
	[ -f "fuzz/$t.dict" ] && dict=-dict=fuzz/$t.dict
	if [ -n "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
		# shellcheck disable=SC2046 # one argument per seed file
		if ! "$bin" -timeout=10 $(find "$seeds" -type f | sort) >"$log" 2>&1; then
			echo "$t FAILED: a committed seed crashes it" >"$logs/$t.result"
			return
		fi
	fi
	# shellcheck disable=SC2086 # $dict and $seeds are empty or one word
	if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$fuzzdir/artifacts/$t-" $dict "$fuzzdir/corpus/$t" $seeds >>"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		echo "$t ok (${runs:-?} runs in $seconds s)" >"$logs/$t.result"
	else
		art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
		echo "$t FAILED: crash or leak${art:+, input in $art}" >"$logs/$t.result"
	fi
}

targets=
for src in fuzz/fuzz_*.c; do
	[ -f "$src" ] || continue
	targets="$targets $(basename "$src" .c)"
done

running=0
for t in $targets; do
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

pass=0
fail=0
for t in $targets; do
	if [ -f "$logs/$t.result" ]; then
		result=$(cat "$logs/$t.result")
	else
		result="$t FAILED: no result"
	fi
	echo "--- $result"
	case "$result" in
	*" ok"*) pass=$((pass + 1)) ;;
	*)
		fail=$((fail + 1))
		grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==|#0 |#1 |#2 |#3 " "$logs/$t.log" | head -n 30
		;;
	esac
done
[ -z "$targets" ] && fail=1 && echo "$name: no fuzz targets"
echo "$name: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

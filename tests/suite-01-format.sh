#!/bin/sh
# Suite 01-format: every C file follows .clang-format (make format fixes them).
# Last line: "01-format: N passed, M failed".
set -u
cd "$(dirname "$0")/.." || exit 1
if ! command -v clang-format >/dev/null 2>&1; then
	echo "01-format: clang-format is missing (make deps installs it)"
	echo "01-format: 0 passed, 1 failed"
	exit 1
fi
if out=$(make -s format-check 2>&1); then
	echo "$out"
	echo "01-format: 1 passed, 0 failed"
else
	echo "$out" | grep "error:" | cut -d: -f1 | sort | uniq -c | sed 's/^/  not formatted: /'
	echo "01-format: 0 passed, 1 failed"
	exit 1
fi

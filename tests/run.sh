#!/bin/sh
# Runs the whole suite (Check unit tests, then the integration tests in
# tests/integration against throwaway servers) once per build folder given:
#   tests/run.sh build build/san
# Prints one closing line "tests: N passed, N failed" and exits non-zero
# when anything failed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

passed=0
failed=0
failures=""

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CK_DEFAULT_TIMEOUT=120

record() { # name status
	if [ "$2" -eq 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures="$failures $1"
	fi
}

for build in "$@"; do
	echo "== unit tests ($build)"
	# One binary per tests/unit/test_*.c: a test that did not build (or
	# is not executable) fails the run instead of vanishing from it.
	for src in tests/unit/test_*.c; do
		t="$build/tests/$(basename "$src" .c)"
		if [ ! -x "$t" ]; then
			echo "$t: missing or not executable (from $src)"
			record "$t" 1
			continue
		fi
		"$t"
		record "$t" $?
	done
	echo "== integration tests ($build)"
	for t in tests/integration/test_*.py; do
		[ -f "$t" ] || continue
		name=$(basename "$t" .py)
		(cd tests/integration &&
			NUDGE_BUILD="$top/$build" /usr/bin/python3 -m unittest -v "$name" 2>&1)
		record "$t[$build]" $?
	done
done

[ -n "$failures" ] && echo "failed:$failures"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

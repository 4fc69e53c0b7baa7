#!/bin/sh
# Runs the whole suite (Check unit tests, then the integration tests in
# tests/integration against throwaway servers) once per build folder given:
#   tests/run.sh build build/san
# The builds' suites run at the same time (each test starts its own
# servers on free ports, and most of a suite's time is spent waiting on
# them), their outputs printed one after the other. A unit test named by
# tests/unit/test_*.c whose binary is missing fails the run. Prints one
# closing line "tests: N passed, N failed" and exits non-zero when
# anything failed.
set -u
cd "$(dirname "$0")/.."
top=$(pwd)

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:exitcode=99"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export CK_DEFAULT_TIMEOUT=120

out=$(mktemp -d /tmp/nudge-tests.XXXXXX)
trap 'rm -rf "$out"' EXIT

# One build's suite: its output on stdout, one line per test in RESULTS
# ("ok NAME" or "FAILED NAME").
suite() { # BUILD RESULTS
	build=$1
	results=$2
	record() { # name status
		if [ "$2" -eq 0 ]; then
			echo "ok $1" >>"$results"
		else
			echo "FAILED $1" >>"$results"
		fi
	}
	echo "== unit tests ($build)"
	for src in tests/unit/test_*.c; do
		t="$build/tests/$(basename "$src" .c)"
		if [ ! -x "$t" ]; then
			echo "$t: missing (tests/unit has $src): build it first"
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
}

k=0
for build in "$@"; do
	k=$((k + 1))
	: >"$out/results.$k"
	suite "$build" "$out/results.$k" >"$out/log.$k" 2>&1 &
done
wait

k=0
for build in "$@"; do
	k=$((k + 1))
	cat "$out/log.$k"
done
cat "$out"/results.* >"$out/all"
passed=$(grep -c '^ok ' "$out/all")
failed=$(grep -c '^FAILED ' "$out/all")
[ "$failed" -gt 0 ] && echo "failed: $(sed -n 's/^FAILED //p' "$out/all" | tr '\n' ' ')"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

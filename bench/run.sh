#!/bin/sh
# Runs every benchmark (bench/bench_*.sh) against the build folder given,
# each starting its own throwaway servers. Figures go to stdout and to
# bench/out/; docs/performance.md quotes them.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
mkdir -p bench/out
status=0
for b in bench/bench_*.sh; do
	[ -f "$b" ] || continue
	echo "== $b"
	sh "$b" "$build" || status=1
done
exit $status

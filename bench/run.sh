#!/bin/sh
# Runs every benchmark (bench/bench_*.sh) against the build folder given,
# each starting its own throwaway servers. Figures go to stdout and to
# bench/out/; docs/performance.md quotes them. The machine's load average
# before each benchmark and the highest while it ran go to
# bench/out/load.txt: a figure counts only from a run on a quiet machine
# (load below 1), and docs/performance.md states it.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
. bench/lib.sh
mkdir -p bench/out
status=0
: >bench/out/load.txt
for b in bench/bench_*.sh; do
	[ -f "$b" ] || continue
	echo "== $b"
	before=$(load_now)
	load_watch bench/out/.load
	sh "$b" "$build" || status=1
	load_watch_stop
	line="$(basename "$b" .sh): load average $before before, $(load_max bench/out/.load) at most while it ran ($(date -u +%Y-%m-%dT%H:%MZ))"
	echo "$line" | tee -a bench/out/load.txt
	rm -f bench/out/.load
done
exit $status

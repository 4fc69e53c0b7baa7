#!/bin/sh
# quick.sh - every benchmark at a small size (QUICK=1), under two minutes
# in all on the 2-core machine, so that a change that slows a hot path is
# seen before it lands (`make bench-quick`). Only the figures' JSON lines
# (bench/lib.sh figure_json) are kept: on stdout and in
# bench/out/quick.jsonl; each script's time goes to stderr.
#
#   bench/quick.sh [BUILD]
#   bench/quick.sh compare OLD.jsonl NEW.jsonl   (bench/quick_compare.py)
#
# docs/performance.md ("Quick benchmark") says how to compare two commits.
set -u
cd "$(dirname "$0")/.."
if [ "${1:-}" = compare ]; then
	shift
	exec /usr/bin/python3 bench/quick_compare.py "$@"
fi
build=${1:-build}
out=bench/out/quick.jsonl
mkdir -p bench/out
log=$(mktemp /tmp/nudge-bench-quick.XXXXXX)
trap 'rm -f "$log" "$out.part"' EXIT
trap 'exit 1' INT TERM
: >"$out.part"
status=0
t0=$(date +%s)
for b in bench/bench_*.sh; do
	if ! grep -q 'QUICK' "$b"; then
		echo "quick: $b has no quick mode: skipped" >&2
		continue
	fi
	t=$(date +%s)
	if ! QUICK=1 sh "$b" "$build" >"$log" 2>&1; then
		status=1
		echo "quick: $b failed:" >&2
		tail -5 "$log" >&2
	fi
	grep '^{"bench"' "$log" | tee -a "$out.part"
	echo "quick: $b $(($(date +%s) - t)) s" >&2
done
mv "$out.part" "$out"
echo "quick: $(($(date +%s) - t0)) s in all, load average $(cut -d' ' -f1-3 /proc/loadavg); figures in $out" >&2
exit $status

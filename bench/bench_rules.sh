#!/bin/sh
# Rule engine benchmark (issue 5):
# 1. in memory: the DESIGN.md conditions (bench/rules/bench.rules) over the
#    same STUDENTS generated students, nudge's compiled evaluator
#    (bench/rules_eval.c) beside json-rules-engine (bench/rules_jre.js, from
#    npm into the git-ignored bench/.npm/jre) in turns on one core; both
#    get an untimed warm-up pass, must match the same students for every
#    rule, and are credited with the leaf conditions they evaluate (nudge
#    short-circuits `and`; json-rules-engine evaluates all eleven);
# 2. from Redis: a scheduled rule's scan of SCAN_STUDENTS students
#    (bench/rules_scan.c engine) beside a bare hiredis pipelined load of the
#    same keys (rules_scan raw, the limit) on one throwaway Redis;
# 3. event to outbox latency of an immediate send at 1,000 events/s for
#    LATENCY_SECONDS through nudged (bench/rules_latency.py; 0 skips it).
# RUNS runs of 1 and 2: medians and ranges, the load average before and
# the highest during the run, and one figure_json line per figure.
# QUICK=1: a small run for `make bench-quick` (about 20 s).
# Usage: [QUICK=1] [RUNS=3] sh bench/bench_rules.sh BUILD
set -eu
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	STUDENTS=${STUDENTS:-10000}
	SCAN_STUDENTS=${SCAN_STUDENTS:-50000}
	LATENCY_SECONDS=${LATENCY_SECONDS:-0}
fi
RUNS=${RUNS:-3}
STUDENTS=${STUDENTS:-100000}
SCAN_STUDENTS=${SCAN_STUDENTS:-1000000}
LATENCY_SECONDS=${LATENCY_SECONDS:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
tool="$root/$build/bench/rules_eval"
out="$root/bench/out/rules.txt"
mkdir -p "$root/bench/out"
tmp=$(mktemp -d /tmp/nudge-bench-rules-XXXXXX)
redis_pid=""
cleanup() {
	load_watch_stop || true
	if [ -n "$redis_pid" ]; then
		kill "$redis_pid" 2>/dev/null || true
		wait "$redis_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ ! -d "$root/bench/.npm/jre/node_modules/json-rules-engine" ]; then
	npm install --silent --prefix "$root/bench/.npm/jre" json-rules-engine \
		>/dev/null
fi

field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }
# The values of field K over the RUNS files PREFIX.1 ... , one a line.
fields() { for r in $(seq "$RUNS"); do field "$1" "$2.$r"; done; }
# The per-run ratios of two such lists.
ratios() { paste "$1" "$2" | awk '{printf "%.1f\n", $1 / $2}'; }
# "median (range)" of the numbers in FILE, the median followed by UNIT.
mr() { echo "$(median <"$1")${2:-} ($(range <"$1"))"; }

load_before=$(load_now)
load_warn
load_watch "$tmp/load"

# --- 1. in memory -------------------------------------------------------------
"$tool" gen "$tmp/students.jsonl" "$STUDENTS"
for run in $(seq "$RUNS"); do
	taskset -c 0 "$tool" run "$tmp/students.jsonl" \
		"$root/bench/rules/bench.rules" >"$tmp/c.$run"
	taskset -c 0 node "$root/bench/rules_jre.js" "$tmp/students.jsonl" \
		>"$tmp/j.$run"
done
grep '^matched' "$tmp/c.1" | sort >"$tmp/c.m"
grep '^matched' "$tmp/j.1" | sort >"$tmp/j.m"
if ! cmp -s "$tmp/c.m" "$tmp/j.m"; then
	echo "bench_rules: nudge and json-rules-engine disagree:" >&2
	diff "$tmp/c.m" "$tmp/j.m" >&2 || true
	exit 1
fi
for who in c j; do
	fields rule_evals_per_s "$tmp/$who" >"$tmp/$who.evals"
	fields leaves_evaluated_per_s "$tmp/$who" >"$tmp/$who.leaves"
	fields students_per_s "$tmp/$who" >"$tmp/$who.stud"
done
ratios "$tmp/c.evals" "$tmp/j.evals" >"$tmp/r.evals"
ratios "$tmp/c.leaves" "$tmp/j.leaves" >"$tmp/r.leaves"
leaves=$(field leaf_conditions "$tmp/c.1")
c_per=$(field leaves_evaluated_per_student "$tmp/c.1")
j_per=$(field leaves_evaluated_per_student "$tmp/j.1")
c_evals=$(median <"$tmp/c.evals"); j_evals=$(median <"$tmp/j.evals")
c_leaves=$(median <"$tmp/c.leaves"); j_leaves=$(median <"$tmp/j.leaves")
{
	echo "rules: $STUDENTS students, 5 rules ($leaves leaf conditions), $RUNS runs in turns on one core: median (range)"
	echo "leaves evaluated per student: nudge $c_per (it stops an 'and' at its first false side), json-rules-engine $j_per"
	echo "rule evaluations/s:  nudge $(mr "$tmp/c.evals"), json-rules-engine $(mr "$tmp/j.evals"), ratio $(mr "$tmp/r.evals" x) (goal >= 50x)"
	echo "leaves evaluated/s:  nudge $(mr "$tmp/c.leaves"), json-rules-engine $(mr "$tmp/j.leaves"), ratio $(mr "$tmp/r.leaves" x)"
	echo "students/s:          nudge $(mr "$tmp/c.stud"), json-rules-engine $(mr "$tmp/j.stud")"
	awk -v a="$c_evals" 'BEGIN {printf "nudge goal >= 10,000,000 rule evaluations/s: %s\n", (a >= 10000000) ? "met" : "not met"}'
	echo "both matched the same students:"
	sed 's/^matched /  /' "$tmp/c.m"
} | tee "$out"

# --- 2. the scan from Redis ---------------------------------------------------
scan="$root/$build/bench/rules_scan"
. "$root/scripts/throwaway_redis.sh"
port=$(free_port)
start_redis "$port" "$tmp"
"$scan" fill "127.0.0.1:$port" "$SCAN_STUDENTS"
: >"$tmp/raw"; : >"$tmp/eng"
for run in $(seq "$RUNS"); do
	"$scan" raw "127.0.0.1:$port" | awk '{print $6}' >>"$tmp/raw"
	"$scan" engine "127.0.0.1:$port" "$root/bench/rules/scan.rules" |
		awk '/^students/ {print $6}' >>"$tmp/eng"
done
kill "$redis_pid" 2>/dev/null || true
wait "$redis_pid" 2>/dev/null || true
redis_pid=""
raw=$(median <"$tmp/raw"); eng=$(median <"$tmp/eng")
{
	echo "scan: $SCAN_STUDENTS students from Redis, $RUNS runs: median (range)"
	echo "engine (SCAN, load, evaluate): $(mr "$tmp/eng") students/s"
	echo "bare hiredis pipelined load:   $(mr "$tmp/raw") students/s (the limit)"
	awk -v a="$eng" -v b="$raw" 'BEGIN {printf "engine/limit: %.0f%% (goal >= 80%%)\n", 100 * a / b}'
} | tee -a "$out"

# --- 3. event to outbox latency -----------------------------------------------
lat=""
if [ "$LATENCY_SECONDS" -gt 0 ]; then
	/usr/bin/python3 "$root/bench/rules_latency.py" "$build" 1000 \
		"$LATENCY_SECONDS" | tee -a "$out" | tee "$tmp/lat"
	lat=$(awk '/^latency/ {print $10}' "$tmp/lat")
fi

load_watch_stop || true
load_during=$(load_max "$tmp/load")
awk -v b="$load_before" -v d="$load_during" 'BEGIN {
	printf "load average: %s before, %s at most during the run%s\n", b, d,
		(b >= 1 || d >= 1) ? " (a busy machine: not comparable)" : "" }' |
	tee -a "$out"
{
	figure_json rules rule_evals_per_s "$c_evals" "evals/s" json-rules-engine "$j_evals"
	figure_json rules leaves_evaluated_per_s "$c_leaves" "leaves/s" json-rules-engine "$j_leaves"
	figure_json rules scan_students_per_s "$eng" "students/s" pipelined-load "$raw"
	[ -z "$lat" ] || figure_json rules event_to_outbox_p99 "$lat" ms
} | tee -a "$out"

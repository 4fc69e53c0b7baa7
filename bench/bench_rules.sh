#!/bin/sh
# Rule engine benchmark (issue 5):
# 1. in memory: the DESIGN.md conditions (bench/rules/bench.rules) over the
#    same 100,000 generated students, nudge's compiled evaluator
#    (bench/rules_eval.c) beside json-rules-engine (bench/rules_jre.js, from
#    npm into the git-ignored bench/.npm/jre) in the same run, one core
#    each; both must match the same students for every rule;
# 2. from Redis: a scheduled rule's scan of SCAN_STUDENTS students
#    (bench/rules_scan.c engine) beside a bare hiredis pipelined load of the
#    same keys (rules_scan raw, the limit) on one throwaway Redis;
# 3. event to outbox latency of an immediate send at 1,000 events/s
#    through nudged (bench/rules_latency.py).
# RUNS runs of 1 and 2; medians and ratios are reported.
set -eu
build=${1:-build}
RUNS=${RUNS:-3}
STUDENTS=${STUDENTS:-100000}
SCAN_STUDENTS=${SCAN_STUDENTS:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/$build/bench/rules_eval"
tmp=$(mktemp -d /tmp/nudge-bench-rules-XXXXXX)
out="$root/bench/out/rules.txt"
redis_pid=""
trap '[ -n "$redis_pid" ] && kill $redis_pid 2>/dev/null; rm -rf "$tmp"; true' EXIT

if [ ! -d "$root/bench/.npm/jre/node_modules/json-rules-engine" ]; then
	npm install --silent --prefix "$root/bench/.npm/jre" json-rules-engine \
		>/dev/null
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
field() { awk -v k="$1" '$1 == k {print $2}' "$2"; }

"$tool" gen "$tmp/students.jsonl" "$STUDENTS"
: >"$tmp/c_rate"; : >"$tmp/c_stud"; : >"$tmp/j_rate"; : >"$tmp/j_stud"
for run in $(seq "$RUNS"); do
	taskset -c 0 "$tool" run "$tmp/students.jsonl" \
		"$root/bench/rules/bench.rules" >"$tmp/c.$run"
	taskset -c 0 node "$root/bench/rules_jre.js" "$tmp/students.jsonl" \
		>"$tmp/j.$run"
	field rule_evals_per_s "$tmp/c.$run" >>"$tmp/c_rate"
	field students_per_s "$tmp/c.$run" >>"$tmp/c_stud"
	field rule_evals_per_s "$tmp/j.$run" >>"$tmp/j_rate"
	field students_per_s "$tmp/j.$run" >>"$tmp/j_stud"
done
grep '^matched' "$tmp/c.1" | sort >"$tmp/c.m"
grep '^matched' "$tmp/j.1" | sort >"$tmp/j.m"
if ! cmp -s "$tmp/c.m" "$tmp/j.m"; then
	echo "bench_rules: nudge and json-rules-engine disagree:" >&2
	diff "$tmp/c.m" "$tmp/j.m" >&2 || true
	exit 1
fi
leaves=$(field leaf_conditions "$tmp/c.1")
c_rate=$(median <"$tmp/c_rate"); c_stud=$(median <"$tmp/c_stud")
j_rate=$(median <"$tmp/j_rate"); j_stud=$(median <"$tmp/j_stud")
{
	echo "rules: $STUDENTS students, 5 rules ($leaves leaf conditions), $RUNS runs, medians, one core"
	echo "nudge:             $c_rate rule evaluations/s ($c_stud students/s)"
	echo "json-rules-engine: $j_rate rule evaluations/s ($j_stud students/s)"
	awk -v a="$c_rate" -v b="$j_rate" 'BEGIN {printf "ratio: %.0fx (goal >= 50x); nudge goal >= 10,000,000/s: %s\n", a / b, (a >= 10000000) ? "met" : "not met"}'
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
kill $redis_pid; wait $redis_pid 2>/dev/null || true; redis_pid=""
raw=$(median <"$tmp/raw"); eng=$(median <"$tmp/eng")
{
	echo "scan: $SCAN_STUDENTS students from Redis, $RUNS runs, medians"
	echo "engine (SCAN, load, evaluate): $eng students/s"
	echo "bare hiredis pipelined load:   $raw students/s (the limit)"
	awk -v a="$eng" -v b="$raw" 'BEGIN {printf "engine/limit: %.0f%% (goal >= 80%%)\n", 100 * a / b}'
} | tee -a "$out"

# --- 3. event to outbox latency -----------------------------------------------
/usr/bin/python3 "$root/bench/rules_latency.py" "$build" 1000 10 | tee -a "$out"

#!/bin/sh
# Rule engine benchmark (issue 5), in memory: the DESIGN.md conditions
# (bench/rules/bench.rules) over the same 100,000 generated students,
# nudge's compiled evaluator (bench/rules_eval.c) beside json-rules-engine
# (bench/rules_jre.js, from npm into the git-ignored bench/.npm/jre) in the
# same run, one core each. RUNS runs; medians and their ratio are reported,
# and both must match the same students for every rule.
set -eu
build=${1:-build}
RUNS=${RUNS:-3}
STUDENTS=${STUDENTS:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/$build/bench/rules_eval"
tmp=$(mktemp -d /tmp/nudge-bench-rules-XXXXXX)
out="$root/bench/out/rules.txt"
trap 'rm -rf "$tmp"' EXIT

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

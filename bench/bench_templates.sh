#!/bin/sh
# Template rendering on one core (issue 4): nudge's renderer against
# mustache (npm), the reference JavaScript implementation, on the same
# templates (bench/tmpl/) and data (bench/tmpl_data.json) in the same run:
# a 241-character Chinese SMS with 5 placeholders, and a 4.2 KB HTML email
# with 10 (its HTML part alone, and the whole MIME message with its text
# part, headers, signed unsubscribe link and base64 bodies). mustache
# renders the SMS with escaping off (Mustache.escape = s => s, as an SMS
# user sets it) and the HTML part with its HTML escaping.
#
# The machine is shared and noisy, so the two programs take turns on one
# core: ROUNDS rounds of RUNS timed runs of SECONDS each; every figure is
# the median of all its runs, with their range, and the load average
# before and the highest during the run. Results go to
# bench/out/templates.txt, the figures also as figure_json lines.
# QUICK=1: a small run for `make bench-quick` (about 15 s).
# Usage: [QUICK=1] sh bench/bench_templates.sh BUILD [SECONDS RUNS ROUNDS]
set -eu
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	secs=${2:-0.5}; runs=${3:-2}; rounds=${4:-2}
else
	secs=${2:-1}; runs=${3:-3}; rounds=${4:-3}
fi
cd "$(dirname "$0")/.."
. bench/lib.sh
out=bench/out/templates.txt
mdir=bench/.npm/mustache
mkdir -p bench/out
tmp=$(mktemp -d /tmp/nudge-bench-templates-XXXXXX)
cleanup() {
	load_watch_stop || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
if [ ! -d "$mdir/node_modules/mustache" ]; then
	npm install --silent --prefix "$mdir" mustache >/dev/null
fi
# Both pinned to the same core when taskset is there.
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 1"

load_before=$(load_now)
load_warn
load_watch "$tmp/load"
# Lines "WHO WHAT median run1 run2 ..." per round, A B A B.
r=0
while [ $r -lt "$rounds" ]; do
	$pin "$build/bench/tmpl_render" bench/tmpl bench/tmpl_data.json \
		"$secs" "$runs" | sed 's/^/nudge /'
	$pin node bench/tmpl_mustache.js "$mdir" bench/tmpl \
		bench/tmpl_data.json "$secs" "$runs" | sed 's/^/mustache /'
	r=$((r + 1))
done >"$tmp/runs"
load_watch_stop || true
load_during=$(load_max "$tmp/load")

# The runs of WHO WHAT, one a line.
runs_of() { awk -v w="$1" -v m="$2" '$1 == w && $2 == m {for (i = 4; i <= NF; i++) print $i}' "$tmp/runs"; }
for f in "nudge sms" "nudge html" "nudge mime" "mustache sms" "mustache html"; do
	runs_of $f >"$tmp/$(echo "$f" | tr ' ' _)"
done
med() { median <"$tmp/$1"; }
rng() { range <"$tmp/$1"; }
ns=$(med nudge_sms); nh=$(med nudge_html); nm=$(med nudge_mime)
ms=$(med mustache_sms); mh=$(med mustache_html)
{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $rounds rounds x $runs runs x ${secs}s, in turns on one core"
	echo "# mustache $(node -p "require('./$mdir/node_modules/mustache/package.json').version"), node $(node --version): SMS with Mustache.escape = s => s, HTML part HTML-escaped"
	grep '^nudge [a-z]*_' "$tmp/runs" | sort -u | sed 's/^nudge /# nudge /'
	printf "\nrenders/s, one core: median (range of %d runs)\n" $((rounds * runs))
	printf "%-34s %-26s %-26s %6s  %s\n" "" nudge mustache ratio goal
	printf "%-34s %-26s %-26s %5.1fx  %s\n" "SMS, 241 chars, 5 values" \
		"$ns ($(rng nudge_sms))" "$ms ($(rng mustache_sms))" \
		"$(echo "$ns $ms" | awk '{print $1 / $2}')" ">= 5x, mustache escape off"
	printf "%-34s %-26s %-26s %5.1fx  %s\n" "HTML part, 4.2 KB, 10 values" \
		"$nh ($(rng nudge_html))" "$mh ($(rng mustache_html))" \
		"$(echo "$nh $mh" | awk '{print $1 / $2}')" ">= 5x, both HTML-escape"
	printf "%-34s %-26s %-26s %5.1fx  %s\n" "whole MIME email vs mustache HTML" \
		"$nm ($(rng nudge_mime))" "$mh" \
		"$(echo "$nm $mh" | awk '{print $1 / $2}')" ">= 2x"
	awk -v ns="$ns" -v ms="$ms" -v nh="$nh" -v mh="$mh" -v nm="$nm" 'BEGIN {
		ok = ns >= 5 * ms && nh >= 5 * mh && nm >= 2 * mh
		printf "goals: %s\n", ok ? "met" : "NOT met" }'
	awk -v b="$load_before" -v d="$load_during" 'BEGIN {
		printf "load average: %s before, %s at most during the run%s\n", b, d,
			(b >= 1 || d >= 1) ? " (a busy machine: not comparable)" : "" }'
	figure_json templates sms_renders_per_s "$ns" "renders/s" mustache-noescape "$ms"
	figure_json templates html_renders_per_s "$nh" "renders/s" mustache "$mh"
	figure_json templates mime_renders_per_s "$nm" "renders/s" mustache-html "$mh"
	echo "# the runs (WHO WHAT median run1 run2 ...)"
	grep -v '_' "$tmp/runs" | sed 's/^/# /'
} >"$out"
grep -v '^# [nm][a-z]* [a-z]* [0-9]' "$out"

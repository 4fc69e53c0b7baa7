#!/bin/sh
# Template rendering on one core (issue 4): nudge's renderer against
# mustache (npm), the reference JavaScript implementation, on the same
# templates (bench/tmpl/) and data (bench/tmpl_data.json) in the same run:
# a 240-character Chinese SMS with 5 placeholders, and a 4.2 KB HTML email
# with 10 (its HTML part alone, and the whole MIME message with its text
# part, headers and base64 bodies). Prints medians and ratios; the figures
# go to bench/out/templates.txt and docs/performance.md.
# Usage: sh bench/bench_templates.sh BUILD [SECONDS RUNS]
set -eu
build=${1:-build}
secs=${2:-1}
runs=${3:-5}
cd "$(dirname "$0")/.."
out=bench/out/templates.txt
mdir=bench/.npm/mustache
mkdir -p bench/out
if [ ! -d "$mdir/node_modules/mustache" ]; then
	npm install --silent --prefix "$mdir" mustache >/dev/null
fi
# Both on the same core, when taskset is there: one core each, in turn.
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 1"

{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, ${secs}s x $runs runs, median"
	echo "# mustache $(node -p "require('./$mdir/node_modules/mustache/package.json').version"), node $(node --version)"
	$pin "$build/bench/tmpl_render" bench/tmpl bench/tmpl_data.json "$secs" "$runs" |
		sed 's/^/nudge /'
	$pin node bench/tmpl_mustache.js "$mdir" bench/tmpl bench/tmpl_data.json \
		"$secs" "$runs" | sed 's/^/mustache /'
} >"$out.tmp"
mv "$out.tmp" "$out"
cat "$out"
awk '
$1 == "nudge" && ($2 == "sms" || $2 == "html" || $2 == "mime") { n[$2] = $3 }
$1 == "mustache" { m[$2] = $3 }
END {
	printf "\nrenders/s (median)       nudge   mustache   ratio  goal\n"
	printf "SMS                 %10d %10d  %5.1fx  >= 5x\n", n["sms"], m["sms"], n["sms"] / m["sms"]
	printf "HTML part           %10d %10d  %5.1fx  >= 5x\n", n["html"], m["html"], n["html"] / m["html"]
	printf "whole MIME email    %10d %10d  %5.1fx  >= 2x (vs mustache HTML)\n", n["mime"], m["html"], n["mime"] / m["html"]
	ok = n["sms"] >= 5 * m["sms"] && n["html"] >= 5 * m["html"] && n["mime"] >= 2 * m["html"]
	printf "goals: %s\n", ok ? "met" : "NOT met"
}' "$out" | tee -a "$out"

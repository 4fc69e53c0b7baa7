#!/bin/sh
# Template rendering on one core (issue 4): nudge's renderer against
# mustache (npm), the reference JavaScript implementation, on the same
# templates (bench/tmpl/) and data (bench/tmpl_data.json) in the same run:
# a 241-character Chinese SMS with 5 placeholders, and a 4.2 KB HTML email
# with 10 (its HTML part alone, and the whole MIME message with its text
# part, headers, signed unsubscribe link and base64 bodies).
#
# The machine is shared and noisy, so the two programs take turns: ROUNDS
# rounds of RUNS timed runs of SECONDS each, and every figure is the
# median of all its runs. Results go to bench/out/templates.txt.
# Usage: sh bench/bench_templates.sh BUILD [SECONDS RUNS ROUNDS]
set -eu
build=${1:-build}
secs=${2:-1}
runs=${3:-3}
rounds=${4:-3}
cd "$(dirname "$0")/.."
out=bench/out/templates.txt
mdir=bench/.npm/mustache
mkdir -p bench/out
if [ ! -d "$mdir/node_modules/mustache" ]; then
	npm install --silent --prefix "$mdir" mustache >/dev/null
fi
# Both pinned to the same core when taskset is there.
pin=""
command -v taskset >/dev/null 2>&1 && pin="taskset -c 1"

{
	echo "# $(date -u +%Y-%m-%dT%H:%MZ) $(nproc) cores, $rounds rounds x $runs runs x ${secs}s"
	echo "# mustache $(node -p "require('./$mdir/node_modules/mustache/package.json').version"), node $(node --version)"
	r=0
	while [ $r -lt "$rounds" ]; do
		$pin "$build/bench/tmpl_render" bench/tmpl bench/tmpl_data.json \
			"$secs" "$runs" | sed 's/^/nudge /'
		$pin node bench/tmpl_mustache.js "$mdir" bench/tmpl \
			bench/tmpl_data.json "$secs" "$runs" | sed 's/^/mustache /'
		r=$((r + 1))
	done
} >"$out.tmp"
mv "$out.tmp" "$out"
grep '^#\|_' "$out" | sort -u
# Each line is "WHO WHAT median run1 run2 ...": the median of all runs.
awk '
function median(s,   a, n, i, j, t) {
	n = split(s, a, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return a[int((n + 1) / 2)]
}
NF > 3 && $1 != "#" {
	for (i = 4; i <= NF; i++) v[$1 " " $2] = v[$1 " " $2] " " $i
}
END {
	ns = median(v["nudge sms"]); nh = median(v["nudge html"])
	nm = median(v["nudge mime"]); ms = median(v["mustache sms"])
	mh = median(v["mustache html"])
	printf "\nrenders/s, one core (median)   nudge   mustache   ratio  goal\n"
	printf "SMS, 241 chars, 5 values  %10d %10d  %5.1fx  >= 5x\n", ns, ms, ns / ms
	printf "HTML part, 4.2 KB, 10     %10d %10d  %5.1fx  >= 5x\n", nh, mh, nh / mh
	printf "whole MIME email          %10d %10d  %5.1fx  >= 2x mustache HTML\n", nm, mh, nm / mh
	ok = ns >= 5 * ms && nh >= 5 * mh && nm >= 2 * mh
	printf "goals: %s\n", ok ? "met" : "NOT met"
}' "$out" | tee -a "$out"

# lib.sh - what the benchmark scripts share (sourced: `. bench/lib.sh`):
# medians and ranges of repeated runs, the machine's load average (a
# figure counts only from runs whose load was below 1 before and during
# them; docs/performance.md states it), and the one-line JSON figures
# that `make bench-quick` prints and compares.

# The median of the numbers on stdin, one per line (empty input: nothing).
median() { sort -n | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]}'; }

# "min–max" of the numbers on stdin.
range() { sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {if (NR) print lo "–" hi}'; }

# The 1-minute load average now.
load_now() { cut -d' ' -f1 /proc/loadavg; }

# Watches the load average in the background into FILE, one sample a
# second, until load_watch_stop; load_max FILE gives the highest sample.
load_watch() { # FILE
	(while :; do load_now; sleep 1; done) >"$1" 2>/dev/null &
	load_watch_pid=$!
}
load_watch_stop() { [ -n "${load_watch_pid:-}" ] && kill "$load_watch_pid" 2>/dev/null; load_watch_pid=; }
load_max() { sort -n "$1" | tail -1; }

# Waits up to SECONDS for the load average to fall below 1, so that a
# run starts on a quiet machine rather than on the last run's load (a
# benchmark that keeps both cores busy leaves the average above 1 for
# about a minute). Returns at once when it is below already.
load_settle() { # SECONDS
	_waited=0
	while awk -v l="$(load_now)" 'BEGIN {exit !(l >= 1)}' &&
		[ "$_waited" -lt "$1" ]; do
		sleep 5
		_waited=$((_waited + 5))
	done
}

# Says, on stderr, when the machine is busy: figures from such a run are
# not comparable (the script still runs; the summary records the load).
load_warn() {
	awk -v l="$(load_now)" 'BEGIN {exit !(l >= 1)}' &&
		echo "warning: load average $(load_now) (>= 1): figures from a busy machine are not comparable" >&2
	return 0
}

# One figure as a JSON line: bench, figure, value, unit, and when a peer
# or limit was measured in the same run, its name, value and the ratio
# (higher is better for nudge when unit is a rate).
#   figure_json BENCH FIGURE VALUE UNIT [PEER PEER_VALUE]
figure_json() {
	if [ $# -ge 6 ]; then
		awk -v b="$1" -v f="$2" -v v="$3" -v u="$4" -v p="$5" -v pv="$6" -v l="$(load_now)" 'BEGIN {
			printf "{\"bench\":\"%s\",\"figure\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"peer\":\"%s\",\"peer_value\":%s,\"ratio\":%.3f,\"load\":%s}\n",
				b, f, v, u, p, pv, (pv > 0 ? v / pv : 0), l }'
	else
		awk -v b="$1" -v f="$2" -v v="$3" -v u="$4" -v l="$(load_now)" 'BEGIN {
			printf "{\"bench\":\"%s\",\"figure\":\"%s\",\"value\":%s,\"unit\":\"%s\",\"load\":%s}\n",
				b, f, v, u, l }'
	fi
}

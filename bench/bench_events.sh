#!/bin/sh
# Event pipeline benchmark (issue 2): a backlog of EVENTS events (stage,
# tag and followup, so every one writes a timeline entry) over 10,000
# students; nudged's rate beside the raw XREADGROUP+XACK rate with no work
# (the limit) on the same throwaway Redis in the same run; nudged's RSS at
# rest and after the backlog; how busy Redis was while nudged ran (its
# CPU time over the wall time). RUNS runs; the medians are reported.
set -eu
build=${1:-build}
EVENTS=${EVENTS:-200000}
RUNS=${RUNS:-3}
BATCH=500
root=$(cd "$(dirname "$0")/.." && pwd)
tool="$root/$build/bench/events_tool"
tmp=$(mktemp -d /tmp/nudge-bench-events-XXXXXX)
mkdir "$tmp/rules" "$tmp/templates" # none: the events path alone
out="$root/bench/out/events.txt"
redis_pid=""
# `|| true`: under set -e a failed kill (Redis already stopped) would end
# the trap before the rm, leaving the folder behind on every run
trap 'kill $redis_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

. "$root/scripts/throwaway_redis.sh"
port=$(free_port)
cat >"$tmp/nudged.conf" <<CONF
[redis]
address = 127.0.0.1:$port
[daemon]
batch = $BATCH
block = 100ms
log_level = warn
[http]
listen =
CONF

# For reference, not the issue's measure: the same backlog again, read by
# a group of its own, with the example rules of etc/rules loaded. Stage
# events then load their student in full and go through the rule engine,
# which starts a run where a rule's `when` holds (fill tags every tenth
# student intent:high for trial_class_invite).
{
	sed 's/^\[daemon\]$/[daemon]\ngroup = with_rules/' "$tmp/nudged.conf"
	cat <<CONF
[rules]
dir = $root/etc/rules
[templates]
dir = $root/etc/templates
unsubscribe_secret = bench-only-secret
[school]
name = 示例大学
phone = 010-12345678
CONF
	for ch in sms email wecom; do
		printf '[channel.%s]\ntype = outbox\nas = %s\npath = %s\n' \
			"$ch" "$ch" "$tmp/outbox.jsonl"
	done
} >"$tmp/rules.conf"

rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

: >"$tmp/raw" ; : >"$tmp/nudged" ; : >"$tmp/rest" ; : >"$tmp/after"
: >"$tmp/ratio" ; : >"$tmp/busy" ; : >"$tmp/withrules"
for run in $(seq "$RUNS"); do
	start_redis "$port" "$tmp"

	# nudged at rest: connected, nothing to do
	"$root/$build/nudged" -f -c "$tmp/nudged.conf" 2>"$tmp/log" &
	pid=$!
	sleep 1
	rss_kb $pid >>"$tmp/rest"
	kill $pid; wait $pid || true
	redis-cli -p "$port" flushall >/dev/null

	"$tool" fill "$port" "$EVENTS" 10000
	"$tool" raw "$port" "$EVENTS" "$BATCH" >>"$tmp/raw"

	"$root/$build/nudged" -f -c "$tmp/nudged.conf" 2>"$tmp/log" &
	pid=$!
	ticks=$(cpu_ticks "$redis_pid")
	secs=$("$tool" wait "$port" "$EVENTS" nudged)
	ticks=$(($(cpu_ticks "$redis_pid") - ticks))
	echo "$EVENTS $secs" | awk '{printf "%.0f\n", $1 / $2}' >>"$tmp/nudged"
	# how busy nudged kept Redis (its CPU over the run's wall time)
	echo "$ticks $(getconf CLK_TCK) $secs" |
		awk '{printf "%.0f\n", 100 * $1 / $2 / $3}' >>"$tmp/busy"
	echo "$(tail -1 "$tmp/nudged") $(tail -1 "$tmp/raw")" |
		awk '{printf "%.2f\n", $1 / $2}' >>"$tmp/ratio"
	rss_kb $pid >>"$tmp/after"
	kill $pid; wait $pid || true

	"$root/$build/nudged" -f -c "$tmp/rules.conf" 2>"$tmp/log" &
	pid=$!
	secs=$("$tool" wait "$port" "$EVENTS" with_rules)
	echo "$EVENTS $secs" | awk '{printf "%.0f\n", $1 / $2}' >>"$tmp/withrules"
	kill $pid; wait $pid || true
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	wait $redis_pid 2>/dev/null || true
	echo "run $run: raw $(tail -1 "$tmp/raw")/s, nudged $(tail -1 "$tmp/nudged")/s," \
		"ratio $(tail -1 "$tmp/ratio"), Redis $(tail -1 "$tmp/busy")% busy;" \
		"with etc/rules $(tail -1 "$tmp/withrules")/s"
done

raw=$(median <"$tmp/raw")
nud=$(median <"$tmp/nudged")
{
	echo "events: $EVENTS per run, $RUNS runs, batch $BATCH, medians"
	echo "raw XREADGROUP+XACK (no work): $raw events/s"
	echo "nudged (decode, lookup, timeline XADD, XACK): $nud events/s"
	echo "ratio nudged/raw: $(echo "$nud $raw" | awk '{printf "%.2f", $1/$2}')" \
		"(median of the runs' own ratios: $(median <"$tmp/ratio"))"
	echo "Redis CPU busy while nudged ran: $(median <"$tmp/busy")%"
	echo "for reference, nudged with etc/rules loaded: $(median <"$tmp/withrules") events/s"
	echo "nudged RSS at rest: $(median <"$tmp/rest") KiB; after the backlog: $(median <"$tmp/after") KiB"
} | tee "$out"

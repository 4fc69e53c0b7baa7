#!/bin/sh
# Event pipeline benchmark (issue 2, issue 14): a backlog of EVENTS events
# (stage, tag and followup, so every one writes a timeline entry) over
# 10,000 students, read on one throwaway Redis per run by four consumers,
# each in a consumer group of its own:
#   limit   events_tool issuing exactly the Redis commands nudged must
#           issue per event, hand-pipelined (Redis never waits for it)
#   bare    events_tool reading and acknowledging only, pipelined the same
#   nudged  with no rules (the events path alone)
#   nudged with etc/rules loaded
# (odd runs bare, limit, nudged, with rules; even runs the other way
# round). It reports medians and ranges of RUNS runs, the ratios
# nudged/limit, nudged/bare and with rules/without, Redis's CPU time per
# event under each, how busy each kept Redis (its CPU time, and that plus
# its wait for a CPU, over the wall time), nudged's RSS at rest and after
# the backlog, and the load average before and during the runs; then one
# figure_json line per figure. QUICK=1 (make bench-quick) skips the RSS
# at rest (a fixed sleep).
set -eu
build=${1:-build}
EVENTS=${EVENTS:-200000}
RUNS=${RUNS:-3}
QUICK=${QUICK:-0}
BATCH=500
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
tool="$root/$build/bench/events_tool"
tmp=$(mktemp -d /tmp/nudge-bench-events-XXXXXX)
mkdir "$tmp/rules" "$tmp/templates" # none: the events path alone
mkdir -p "$root/bench/out"
out="$root/bench/out/events.txt"
redis_pid=""
nudged_pid=""
# `|| true`: under set -e a failed kill (a process already stopped) would
# end the trap before the rm, leaving the folder behind
trap 'load_watch_stop || true; kill $nudged_pid $redis_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

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

# The same backlog read by a group of its own with the example rules of
# etc/rules loaded: stage events then load their student in full and go
# through the rule engine, which starts a run where a rule's `when` holds
# (fill tags every tenth student intent:high for trial_class_invite).
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
# Redis's main thread (where commands run): ns on a CPU, ns runnable but
# waiting for one (the shared machine's other work took it)
redis_sched() { cut -d' ' -f1,2 "/proc/$redis_pid/schedstat"; }

nudged_start() { # CONF
	"$root/$build/nudged" -f -c "$1" 2>"$tmp/log" &
	nudged_pid=$!
}
nudged_stop() {
	kill "$nudged_pid" 2>/dev/null || true
	wait "$nudged_pid" || true
	nudged_pid=""
}

# Runs a consumer that prints its seconds for the backlog; appends its
# rate to $tmp/NAME, Redis's CPU time per event (µs: what the consumer's
# commands cost Redis, however busy it kept it) to $tmp/NAME.cpu, how
# busy it kept Redis (% of the wall time on a CPU) to $tmp/NAME.busy,
# and the % Redis was busy or waiting for a CPU to $tmp/NAME.demand:
# near 100, Redis always had work (it was the limit), however much of
# the machine other processes took.
timed() { # NAME COMMAND...
	name=$1
	shift
	before=$(redis_sched)
	secs=$("$@")
	echo "$before $(redis_sched) $secs" | awk -v f="$tmp/$name" '{
		printf "%.2f\n", ($3 - $1) / 1e3 / '"$EVENTS"' >>(f ".cpu")
		printf "%.0f\n", 100 * ($3 - $1) / 1e9 / $5 >>(f ".busy")
		printf "%.0f\n", 100 * ($3 - $1 + $4 - $2) / 1e9 / $5 >>(f ".demand")
		printf "%.0f\n", '"$EVENTS"' / $5 >>f }'
}

# This run's A/B into $tmp/A-B.
ratio() { # A B
	echo "$(tail -1 "$tmp/$1") $(tail -1 "$tmp/$2")" |
		awk '{printf "%.2f\n", $1 / $2}' >>"$tmp/$1-$2"
}

# nudged connected and idle, with the rule engine's and the dispatcher's
# threads; then an empty Redis again for the backlog.
rss_at_rest() {
	nudged_start "$tmp/nudged.conf"
	sleep 1
	rss_kb "$nudged_pid" >>"$tmp/rest"
	nudged_stop
	redis-cli -p "$port" flushall >/dev/null
}

run_limit() { timed limit "$tool" limit "$port" "$EVENTS" "$BATCH"; }
run_bare() { timed bare "$tool" bare "$port" "$EVENTS" "$BATCH"; }
run_nudged() {
	nudged_start "$tmp/nudged.conf"
	timed nudged "$tool" wait "$port" "$EVENTS" nudged
	rss_kb "$nudged_pid" >>"$tmp/after"
	nudged_stop
}
run_withrules() {
	nudged_start "$tmp/rules.conf"
	timed withrules "$tool" wait "$port" "$EVENTS" with_rules
	nudged_stop
}

# Odd runs go bare, limit, nudged, with rules; even runs the other way
# round. Each ratio's two sides run one after the other, and a machine
# that speeds up or slows down over a run (a shared one does), or Redis
# growing as each consumer adds its timeline entries, favours neither
# side across the runs.
one_run() { # RUN
	start_redis "$port" "$tmp"
	[ "$QUICK" = 1 ] || rss_at_rest
	"$tool" fill "$port" "$EVENTS" 10000
	if [ $(($1 % 2)) = 1 ]; then
		run_bare
		run_limit
		run_nudged
		run_withrules
	else
		run_withrules
		run_nudged
		run_limit
		run_bare
	fi
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	wait "$redis_pid" 2>/dev/null || true
	redis_pid=""
	ratio nudged limit
	ratio nudged bare
	ratio withrules nudged
	ratio withrules limit
	ratio nudged.cpu withrules.cpu
}

# "median (min–max)" of $tmp/NAME
med_range() { echo "$(median <"$tmp/$1") ($(range <"$tmp/$1"))"; }
redis_line() { # NAME LABEL
	echo "Redis while $2 ran: busy $(med_range "$1.busy")%," \
		"busy or waiting for a CPU $(med_range "$1.demand")%"
}

load_warn
load_before=$(load_now)
load_watch "$tmp/load"
for f in nudged-limit nudged-bare withrules-nudged withrules-limit \
	nudged.cpu-withrules.cpu rest after; do
	: >"$tmp/$f"
done
for f in limit bare nudged withrules; do
	: >"$tmp/$f"
	: >"$tmp/$f.busy"
	: >"$tmp/$f.demand"
	: >"$tmp/$f.cpu"
done
for run in $(seq "$RUNS"); do
	one_run "$run"
	echo "run $run: limit $(tail -1 "$tmp/limit")/s," \
		"bare $(tail -1 "$tmp/bare")/s, nudged $(tail -1 "$tmp/nudged")/s" \
		"($(tail -1 "$tmp/nudged-limit") of the limit)," \
		"with etc/rules $(tail -1 "$tmp/withrules")/s" \
		"($(tail -1 "$tmp/withrules-nudged") of no rules)"
done
load_watch_stop || true

limit=$(median <"$tmp/limit")
nudged=$(median <"$tmp/nudged")
{
	echo "events: $EVENTS per run, $RUNS runs, batch $BATCH;" \
		"medians (min–max of the runs)"
	echo "load average: $load_before before the first run," \
		"$(load_max "$tmp/load") at most during the runs"
	echo "limit (nudged's commands pipelined: read, EXISTS, timeline XADD," \
		"followup HSET, XACK): $(med_range limit) events/s"
	echo "bare XREADGROUP + XACK, pipelined: $(med_range bare) events/s"
	echo "nudged, no rules: $(med_range nudged) events/s"
	echo "nudged, etc/rules loaded: $(med_range withrules) events/s"
	redis_line limit "the limit"
	redis_line bare "bare"
	redis_line nudged "nudged, no rules"
	redis_line withrules "nudged, etc/rules"
	echo "Redis CPU per event (µs): limit $(med_range limit.cpu)," \
		"nudged, no rules $(med_range nudged.cpu)," \
		"etc/rules $(med_range withrules.cpu)"
	echo "Redis CPU per event, no rules / etc/rules:" \
		"$(med_range nudged.cpu-withrules.cpu) (the rules ratio nudged" \
		"would reach keeping Redis as busy in both)"
	echo "ratio nudged / limit: $(med_range nudged-limit) (goal >= 0.8)"
	echo "ratio nudged / bare: $(med_range nudged-bare)"
	echo "ratio with etc/rules / no rules: $(med_range withrules-nudged) (goal >= 0.8)"
	echo "ratio with etc/rules / limit: $(med_range withrules-limit)"
	if [ "$QUICK" = 1 ]; then
		echo "nudged RSS after the backlog: $(median <"$tmp/after") KiB" \
			"(at rest: not measured with QUICK=1)"
	else
		echo "nudged RSS at rest: $(median <"$tmp/rest") KiB;" \
			"after the backlog: $(median <"$tmp/after") KiB"
	fi
	figure_json events limit "$limit" events/s
	figure_json events bare "$(median <"$tmp/bare")" events/s
	figure_json events nudged "$nudged" events/s limit "$limit"
	figure_json events nudged_with_rules "$(median <"$tmp/withrules")" events/s \
		nudged "$nudged"
} | tee "$out"

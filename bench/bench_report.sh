#!/bin/sh
# bench_report.sh - what the report's counters cost (issue 12;
# rules/report.h): events per second through nudged with [report]
# counters = yes and = no, in turns in the same run, RUNS times (3), on
# a throwaway Redis. The backlog, written before nudged starts: N (20,000)
# `blast` events that start a run of a rule with `holdout 10%` and a wait
# (so nothing is sent: the events path alone), then N `stage` events to a
# later stage and N/2 `reply` events of the same students (stream ids
# ten minutes on: after the runs' starts), which the counters attribute
# to the run's arm. The time runs from nudged's start
# to the last event acknowledged. For each: events/s and Redis round
# trips per event (total_reads_processed over the run, divided by the
# events); the medians, the ratio on/off, and the load average.
#
#   sh bench/bench_report.sh BUILD [N] [RUNS]
#   QUICK=1: 10,000 students, one run
set -eu
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	n=${2:-10000} runs=${3:-1}
else
	n=${2:-20000} runs=${3:-3}
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
. "$top/scripts/throwaway_redis.sh"
. "$top/bench/campaign.sh"
. "$top/bench/lib.sh"

bench_start report # work, rport; all gone at exit
mkdir -p "$work/rules" "$work/templates"
cat >"$work/rules/bench.rules" <<'RULE'
stages lead contacted consulting applied
rule blast {
    on event blast
    holdout 10%
    wait 1h
    send bench msg
}
RULE
printf '您好 {{name}}，开放日欢迎您。\n' >"$work/templates/msg.sms"
events=$((n + n + n / 2))

write_config() { # yes|no
	{
		config_head
		printf '[channel.bench]\ntype = outbox\nas = sms\npath = outbox.jsonl\n'
		printf '[report]\ncounters = %s\n' "$1"
	} >"$work/nudged.conf"
}

load_events() {
	redis-cli -p "$rport" flushall >/dev/null
	/usr/bin/python3 - "$rport" "$n" <<'PY'
import sys, time, redis
r = redis.Redis(port=int(sys.argv[1]))
n = int(sys.argv[2])
p = r.pipeline(transaction=False)
for i in range(n):
    p.hset("slm:student:{s%d}" % i, mapping={
        "name": "学生%d" % i, "phone": "+86138%08d" % i, "stage": "lead"})
    p.xadd("slm:events", {"type": "blast", "student": "s%d" % i})
    if i % 1000 == 999:
        p.execute()
# Stream ids ten minutes on: the stage and reply events happened after
# the runs they count for had started, as in life (an event from before
# a run's start is not its effect, and counts nothing).
later = "%d-*" % (int(time.time() * 1000) + 600000)
for i in range(n):
    p.xadd("slm:events", {"type": "stage", "student": "s%d" % i,
                          "from": "lead", "to": "consulting"}, id=later)
    if i % 2 == 0:
        p.xadd("slm:events", {"type": "reply", "student": "s%d" % i,
                              "channel": "sms", "text": "ok"}, id=later)
    if i % 1000 == 999:
        p.execute()
p.execute()
PY
}

# Until every event of the stream is acknowledged by nudged's group.
drained() {
	redis-cli -p "$rport" xinfo groups slm:events 2>/dev/null | awk '
		$0 == "pending" { getline; pending = $0 }
		$0 == "lag" { getline; lag = $0 }
		END { exit !(pending == "0" && lag == "0") }'
}

one() { # yes|no: prints "EVENTS_PER_S ROUND_TRIPS_PER_EVENT"
	write_config "$1"
	load_events
	reads0=$(redis_reads)
	t0=$(now_ms)
	(cd "$work" && exec "$build/nudged" -f -c nudged.conf) \
		>"$work/nudged.log" 2>&1 &
	nudged_pid=$!
	sleep 0.05
	until drained; do
		kill -0 "$nudged_pid" 2>/dev/null || {
			echo "nudged died:" >&2
			tail -20 "$work/nudged.log" >&2
			exit 1
		}
		sleep 0.02
	done
	t1=$(now_ms)
	reads=$(($(redis_reads) - reads0))
	kill "$nudged_pid"
	wait "$nudged_pid" || true
	nudged_pid=
	# the counters did count (a bench that measures nothing says so)
	[ "$1" = no ] || [ "$(redis-cli -p "$rport" --scan \
		--pattern 'slm:report:blast:*:treated:converted' | wc -l)" -gt 0 ] ||
		echo "warning: no conversions counted" >&2
	echo "$events $t0 $t1 $reads" |
		awk '{ printf "%.0f %.2f\n", $1 * 1000 / ($3 - $2), $4 / $1 }'
}

echo "report counters: $events events per run ($n blast, $n stage, $((n / 2)) reply), $runs runs, on and off in turns"
in_turns yes no event
printf 'report counters median: on %s events/s  off %s events/s  on/off %s; round trips per event on %s, off %s; load average %s\n' \
	"$(turns_median on 1)" "$(turns_median off 1)" \
	"$(median <"$work/ratios")" "$(turns_median on 2)" \
	"$(turns_median off 2)" "$(cut -d' ' -f1-3 /proc/loadavg)"
figure_json report counters_on "$(turns_median on 1)" events/s \
	"counters off" "$(turns_median off 1)"

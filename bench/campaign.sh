# campaign.sh - sourced by the channel benchmarks (bench_channels.sh,
# bench_email.sh): N students and N campaign events written as a CRM
# would, a metric read off nudged's /metrics, and small helpers. The caller
# sets rport (Redis), hport (nudged's HTTP) and n.

# N students (name, phone, email, wecom_userid) and one `blast` event each.
load_campaign() {
	redis-cli -p "$rport" flushall >/dev/null
	/usr/bin/python3 - "$rport" "$n" <<'PY'
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
n = int(sys.argv[2])
p = r.pipeline(transaction=False)
for i in range(n):
    p.hset("slm:student:{s%d}" % i, mapping={
        "name": "学生%d" % i, "phone": "+86138%08d" % i,
        "email": "s%d@example.edu" % i, "wecom_userid": "stu%d" % i,
        "stage": "lead"})
    p.xadd("slm:events", {"type": "blast", "student": "s%d" % i})
    if i % 1000 == 999:
        p.execute()
p.execute()
PY
}

metric() { # NAME-PREFIX: the sum of its samples
	curl -s "http://127.0.0.1:$hport/metrics" |
		awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { printf "%d\n", s }'
}

now_ms() { date +%s%3N; }

# A feature's cost, in turns: `one ON` then `one OFF` (the caller's:
# each prints "RATE ROUND_TRIPS_PER_UNIT"), RUNS times; the lines go to
# $work/on and $work/off, each run's on/off ratio to $work/ratios, and a
# line per run to stdout. UNIT names what a rate counts ("msg", "event").
in_turns() { # ON OFF UNIT
	: >"$work/on"
	: >"$work/off"
	: >"$work/ratios"
	r=1
	while [ "$r" -le "$runs" ]; do
		a=$(one "$1")
		b=$(one "$2")
		echo "$a" >>"$work/on"
		echo "$b" >>"$work/off"
		echo "$a $b" | awk '{ printf "%.2f\n", $1 / $3 }' >>"$work/ratios"
		printf '  run %d: on %s %s/s, %s round trips/%s   off %s %s/s, %s round trips/%s   on/off %s\n' \
			"$r" "${a% *}" "$3" "${a#* }" "$3" "${b% *}" "$3" "${b#* }" "$3" \
			"$(tail -1 "$work/ratios")"
		r=$((r + 1))
	done
}

# The median of column COL (1 rate, 2 round trips) of $work/on or off.
turns_median() { cut -d' ' -f"$2" "$work/$1" | median; } # on|off COL

# The rule the channel benchmarks run: each run's send is a job due WAIT
# seconds (3) after the run started, so that the whole backlog of events
# is read and queued before the first job falls due, and the time runs
# from due job to timeline entry, as the figures are defined.
write_campaign_rule() { # FILE
	cat >"$1" <<RULE
stages lead
rule blast {
    on event blast
    wait ${WAIT:-3}s
    send bench msg
}
RULE
}

# The last entry written on the N students' timelines: its ms, from the
# entry's stream id (Redis's clock, the one the due times are on).
last_timeline_ms() {
	/usr/bin/python3 - "$rport" "$n" <<'PY'
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
p = r.pipeline(transaction=False)
for i in range(int(sys.argv[2])):
    p.xrevrange("slm:student:{s%d}:timeline" % i, count=1)
print(max(int(e[0][0].split(b"-")[0]) for e in p.execute() if e))
PY
}

# One nudged run over the loaded campaign with $work/nudged.conf: prints
# its messages/s from the first job's due time to the N-th timeline entry
# (0 if nudged died); nudged's RSS at the end goes to $work/rss (kB), how
# long it took to read the N events (from its start) to $work/read_ms,
# and the Redis round trips of the sending (redis_reads) to $work/reads.
# The end is polled every 0.2 s and then read off the timelines, so the
# polling costs little CPU and adds nothing to the time.
campaign_nudged() {
	t_start=$(now_ms)
	(cd "$work" && exec "$build/nudged" -f -c nudged.conf) \
		>"$work/nudged.log" 2>&1 &
	nudged_pid=$!
	# (the jobs sent already count: when reading took longer than WAIT,
	# the first fell due before the last was queued; warned below)
	until [ $(($(redis-cli -p "$rport" zcard 'slm:q:{0}:due') +
		$(redis-cli -p "$rport" zcard 'slm:q:{0}:lease') +
		$(metric 'nudge_rule_steps_total{outcome="sent"}' 2>/dev/null || echo 0))) -ge "$n" ]; do
		campaign_alive || return 0
		sleep 0.02
	done
	echo $(($(now_ms) - t_start)) >"$work/read_ms"
	reads0=$(redis_reads)
	t0=$(redis-cli -p "$rport" zrange 'slm:q:{0}:due' 0 0 withscores | tail -1)
	[ "$(now_ms)" -lt "${t0:-0}" ] ||
		echo "warning: jobs fell due before all events were read (raise WAIT)" >&2
	until [ "$(metric 'nudge_rule_steps_total{outcome="sent"}' 2>/dev/null || echo 0)" -ge "$n" ]; do
		campaign_alive || return 0
		sleep 0.2
	done
	echo $(($(redis_reads) - reads0)) >"$work/reads"
	awk '/VmRSS/ { print $2 }' "/proc/$nudged_pid/status" >"$work/rss"
	failed=$(metric 'nudge_channel_failed_total')
	kill "$nudged_pid"
	wait "$nudged_pid" || true
	nudged_pid=
	[ "$failed" -eq 0 ] || echo "warning: $failed sends failed" >&2
	t1=$(last_timeline_ms)
	echo "$n $t0 $t1" | awk '{ printf "%.0f\n", $1 * 1000 / ($3 - $2) }'
}

campaign_alive() {
	kill -0 "$nudged_pid" 2>/dev/null && return 0
	echo "nudged died:" >&2
	tail -20 "$work/nudged.log" >&2
	echo 0 # the caller stops: exit here would run the trap twice
	return 1
}

# The config every benchmark's nudged shares (Redis, big event batches,
# warnings only, rules/ and templates/ beside it, /metrics on hport, no
# quiet hours, the queue's [queue] section open for more keys); the
# caller appends its channels. A new hport each call.
config_head() {
	hport=$(free_port)
	cat <<EOF
[redis]
address = 127.0.0.1:$rport
[daemon]
batch = 1000
block = 100ms
log_level = warn
[rules]
dir = rules
[templates]
dir = templates
unsubscribe_url = https://example.edu/unsubscribe
unsubscribe_secret = bench-unsubscribe-secret
[http]
listen = 127.0.0.1:$hport
[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
[queue]
max_sleep = 100ms
workers = ${WORKERS:-8}
EOF
}

# Redis's count of the reads it processed from clients: one per round
# trip (a pipeline's commands arriving together are one read), so a
# difference over a phase, divided by the messages, is round trips per
# message (the script's own few polls included).
redis_reads() {
	redis-cli -p "$rport" info stats |
		awk -F: '/^total_reads_processed/ { print $2 + 0 }'
}

# A benchmark's work folder and throwaway Redis (sets work, rport,
# redis_pid); at exit nudged (nudged_pid) and Redis are killed and the
# folder removed (KEEP=1 keeps it).
bench_start() { # NAME
	work=$(mktemp -d "/tmp/nudge-bench-$1.XXXXXX")
	redis_pid=
	nudged_pid=
	trap bench_cleanup EXIT
	trap 'exit 1' INT TERM HUP PIPE
	rport=$(free_port)
	start_redis "$rport" "$work"
}

bench_cleanup() {
	[ -n "$nudged_pid" ] && kill -9 "$nudged_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}

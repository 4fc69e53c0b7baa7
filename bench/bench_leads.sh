#!/bin/sh
# bench_leads.sh - issue 10's figures: N leads (10,000) created at once and
# assigned round robin to a team, each starting a follow-up run that waits
# WAIT seconds (20) and escalates at level 1 when nobody followed it up;
# FOLLOWED (70%) get a followup event before their deadline, so the rest
# (3,000 of 10,000) escalate, as grouped alerts with group_wait = 0 to
# their supervisors (an outbox channel of type wecom).
#
#   sh bench/bench_leads.sh BUILD [N] [RUNS]
#   QUICK=1: 2,000 leads, one run, a 5 s wait
#
# Per run it prints:
# - leads assigned per second: N over the time from nudged answering
#   /healthz to the last `assigned` timeline entry (each entry's stream id,
#   Redis's clock);
# - Redis commands per lead: total_commands_processed over that phase
#   (the assignment, its event and entry, and the follow-up run started
#   and queued) divided by N; the script's own few polls are included;
# - time from deadline to alert: for each escalated lead, its `alerted`
#   entry's time minus its escalate job's due time (read from the queue
#   before it falls due): p50, p99 and max, and the alerts and leads per
#   alert the outbox received.
set -eu
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	n=${2:-2000} runs=${3:-1} wait_s=${WAIT:-5}
else
	n=${2:-10000} runs=${3:-3} wait_s=${WAIT:-20}
fi
followed=${FOLLOWED:-70}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
. "$top/scripts/throwaway_redis.sh"
. "$top/bench/campaign.sh" # config_head, metric, now_ms
. "$top/bench/lib.sh"

bench_start leads # work, rport; all gone at exit
mkdir -p "$work/rules" "$work/templates"
cat >"$work/rules/leads.rules" <<EOF
stages lead contacted consulting applied admitted enrolled lost
rule assign_leads {
    on created
    assign team bench
}
rule lead_followup_sla {
    on assigned
    wait ${wait_s}s
    stop if followed_up
    escalate level 1 via alerts lead_overdue
}
EOF
printf 'Format: markdown\n\n**线索跟进超时提醒**：{{count}} 条线索未按时跟进。\n' \
	>"$work/templates/lead_overdue.wecom"

write_config() {
	{
		config_head
		cat <<EOF
[alerts]
group_wait = 0s
group_interval = 0s
crm_url = https://crm.example.edu/students/{id}
[channel.alerts]
type = outbox
as = wecom
path = outbox.jsonl
EOF
	} >"$work/nudged.conf"
}

# 20 recruiters under 4 supervisors, N leads and a `created` event each.
load() {
	redis-cli -p "$rport" flushall >/dev/null
	/usr/bin/python3 - "$rport" "$n" <<'PY'
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
n = int(sys.argv[2])
p = r.pipeline(transaction=False)
for m in range(1, 5):
    p.hset("slm:staff:m%d" % m, mapping={"name": "主任%d" % m,
                                         "wecom_userid": "wm%d" % m})
for s in range(1, 21):
    p.hset("slm:staff:r%d" % s, mapping={
        "name": "老师%d" % s, "wecom_userid": "wr%d" % s,
        "supervisor": "m%d" % (s % 4 + 1), "team": "bench"})
    p.sadd("slm:team:bench", "r%d" % s)
p.hset("slm:team:bench:meta", "supervisor", "m1")
for i in range(n):
    p.hset("slm:student:{%d}" % i, mapping={
        "name": "学生%d" % i, "phone": "+86138%08d" % i, "stage": "lead"})
    p.xadd("slm:events", {"type": "created", "student": str(i)})
    if i % 1000 == 999:
        p.execute()
p.execute()
PY
}

commands() {
	redis-cli -p "$rport" info stats | awk -F: '/^total_commands_processed/ { print $2 + 0 }'
}

alive() {
	kill -0 "$nudged_pid" 2>/dev/null && return 0
	echo "nudged died:" >&2
	tail -20 "$work/nudged.log" >&2
	exit 1
}

one_run() {
	write_config
	rm -f "$work/outbox.jsonl"
	load
	c0=$(commands)
	(cd "$work" && exec "$build/nudged" -f -c nudged.conf) \
		>"$work/nudged.log" 2>&1 &
	nudged_pid=$!
	until curl -sf "http://127.0.0.1:$hport/healthz" >/dev/null 2>&1; do
		alive
		sleep 0.01
	done
	t0=$(now_ms)
	# every lead assigned and its follow-up run queued
	until [ "$(redis-cli -p "$rport" zcard 'slm:q:{0}:due')" -ge "$n" ]; do
		alive
		sleep 0.05
	done
	c1=$(commands)
	[ "$(now_ms)" -lt $((t0 + wait_s * 1000)) ] ||
		echo "warning: the first deadlines passed before all were queued (raise WAIT)" >&2
	redis-cli -p "$rport" zrange 'slm:q:{0}:due' 0 -1 withscores >"$work/due"
	# FOLLOWED% of the leads followed up before their deadline
	/usr/bin/python3 - "$rport" "$n" "$followed" <<'PY'
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
n, pct = int(sys.argv[2]), int(sys.argv[3])
p = r.pipeline(transaction=False)
for i in range(n):
    if i % 100 < pct:
        owner = r.hget("slm:student:{%d}" % i, "owner").decode()
        p.xadd("slm:events", {"type": "followup", "student": str(i),
                              "staff": owner, "note": "called"})
p.execute()
PY
	want=$((n - n * followed / 100))
	until [ "$(metric 'nudge_escalations_total')" -ge "$want" ] &&
		[ "$(redis-cli -p "$rport" zcard 'slm:q:{0}:due')" -eq 0 ] &&
		[ "$(redis-cli -p "$rport" zcard 'slm:q:{0}:lease')" -eq 0 ]; do
		alive
		sleep 0.2
	done
	kill "$nudged_pid"
	wait "$nudged_pid" || true
	nudged_pid=
	/usr/bin/python3 - "$rport" "$n" "$t0" "$c0" "$c1" "$work/due" \
		"$work/outbox.jsonl" <<'PY'
import json, sys, redis
r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
n, t0, c0, c1 = (int(a) for a in sys.argv[2:6])
due_lines = open(sys.argv[6]).read().split()
due = {}
for job, score in zip(due_lines[0::2], due_lines[1::2]):
    # run:STUDENT:RUNID:STEP
    due[job.split(":")[1]] = int(float(score))
p = r.pipeline(transaction=False)
for i in range(n):
    p.xrange("slm:student:{%d}:timeline" % i)
last_assigned, lat, escalated = 0, [], 0
for i, entries in enumerate(p.execute()):
    for eid, f in entries:
        ms = int(eid.split("-")[0])
        if f.get("type") == "assigned":
            last_assigned = max(last_assigned, ms)
        if f.get("type") == "escalated":
            escalated += 1
        if f.get("type") == "alerted" and str(i) in due:
            lat.append(ms - due[str(i)])
lat.sort()
def pct(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))] if lat else -1
msgs = [json.loads(l) for l in open(sys.argv[7]) if l.strip()]
leads = sum(m.get("text", m.get("content", "")).count("overdue") for m in msgs)
print("assigned %d in %d ms: %.0f leads/s; %.1f Redis commands per lead; "
      "escalated %d, alerted %d; deadline to alert ms p50 %d p99 %d max %d; "
      "%d alert messages" % (
          n, last_assigned - t0, n * 1000.0 / max(1, last_assigned - t0),
          (c1 - c0) / n, escalated, len(lat), pct(0.5), pct(0.99),
          lat[-1] if lat else -1, len(msgs)))
PY
}

# The limit the assignments run against, measured in the same run: one
# thread doing N x 4 Redis round trips one after another (what an
# assignment on the consumer's writer waits for: the team, the members'
# status, the turn, the MULTI), each a real command of that size, from C
# speed clients (redis-benchmark, one connection, no pipelining).
limit_run() {
	redis-benchmark -p "$rport" -c 1 -n $((n * 4)) -q -t hset 2>/dev/null |
		awk -v n="$n" '/requests per second/ {
			for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print int($i / 4); exit } }'
}

echo "leads: $n per run, $runs runs; follow-up wait ${wait_s}s, ${followed}% followed up; group_wait 0s"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$runs" ]; do
	out=$(one_run)
	lim=$(limit_run)
	rate=$(echo "$out" | sed -n 's/.*ms: \([0-9]*\) leads\/s.*/\1/p')
	echo "$rate" >>"$work/rates"
	echo "$lim" >>"$work/limits"
	echo "$out" | sed -n 's/.* p99 \([0-9-]*\) .*/\1/p' >>"$work/p99"
	printf '  run %d: %s\n         limit (4 sequential round trips per lead): %s leads/s; nudge/limit %s\n' \
		"$r" "$out" "$lim" "$(echo "$rate $lim" | awk '{ printf "%.2f", $1 / $2 }')"
	r=$((r + 1))
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
figure_json leads assigned "$(median <"$work/rates")" leads/s \
	"4 round trips" "$(median <"$work/limits")"
figure_json leads alert_p99 "$(median <"$work/p99")" ms

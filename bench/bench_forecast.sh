#!/bin/sh
# bench_forecast.sh - issue 12's forecast figures: `nudgectl forecast
# --days 7` over N students (100,000 by default; 1,000,000 too), with
# the default sending policy (quiet hours, daily cap, dedup), three
# rules (a daily schedule with a `when` and a 10% holdout, a weekly one
# by tag regex on email, an event rule whose runs wait two days) and
# N/20 runs of the event rule waiting in the queue (started by the real
# nudged from `tag` events, then nudged is stopped).
#
#   sh bench/bench_forecast.sh BUILD [N] [RUNS]
#   QUICK=1: 30,000 students, one run
#
# Per run it prints the forecast's wall time; then the median of RUNS
# (3), and the Redis commands per student of one run
# (total_commands_processed before and after, over N; the script's own
# INFO is included).
set -eu
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	n=${2:-30000} runs=${3:-1}
else
	n=${2:-100000} runs=${3:-3}
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
. "$top/scripts/throwaway_redis.sh"
. "$top/bench/campaign.sh" # bench_start, now_ms
. "$top/bench/lib.sh"

bench_start forecast # work, rport; all gone at exit
mkdir -p "$work/rules" "$work/templates"
cat >"$work/rules/main.rules" <<'EOF'
stages lead contacted consulting applied admitted
rule daily_tip {
    every day 10:00
    when score >= 500 and stage in (lead, contacted)
    holdout 10%
    send sms tip
}
rule remote_vlog {
    every monday 09:00
    when tag matches /^region:(xinjiang|xizang|qinghai)$/
    send email vlog
}
rule webinar_followup {
    on tag "webinar"
    wait 2d
    send sms followup
}
EOF
printf '{{name}}，今天的备考小贴士已更新，欢迎登录招生网查看详情。\n' \
	>"$work/templates/tip.sms"
printf '{{name}}，感谢参加线上宣讲会！如需了解专业设置、奖学金政策与校园生活，请回复或致电招生办，我们很乐意为你解答。\n' \
	>"$work/templates/followup.sms"
printf 'Subject: 本周校园视频\n\n{{name}}同学，本周的校园视频已上线。\n' \
	>"$work/templates/vlog.email"
cat >"$work/nudged.conf" <<EOF
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
listen =
[queue]
max_sleep = 100ms
[channel.sms]
type = outbox
as = sms
path = sms.jsonl
price_per_segment = 0.045
[channel.email]
type = outbox
as = email
path = email.jsonl
EOF

# N students as the CRM writes them, through redis-cli --pipe: a tenth
# from remote regions, a twentieth tagged at a webinar (with its event).
load() {
	awk -v n="$n" 'function cmd(a, k,   i, s) {
		s = "*" k "\r\n"
		for (i = 1; i <= k; i++)
			s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
		printf "%s", s
	}
	BEGIN {
		split("lead contacted consulting applied admitted", stages, " ")
		srand(12)
		for (i = 0; i < n; i++) {
			key = "slm:student:{" i "}"
			a[1] = "HSET"; a[2] = key
			a[3] = "name"; a[4] = "student" i
			a[5] = "phone"; a[6] = sprintf("+86138%08d", i)
			a[7] = "email"; a[8] = "s" i "@example.edu"
			a[9] = "stage"; a[10] = stages[int(rand() * 5) + 1]
			a[11] = "score"; a[12] = int(300 + rand() * 400)
			cmd(a, 12)
			if (i % 10 == 3) {
				a[1] = "SADD"; a[2] = key ":tags"; a[3] = "region:xinjiang"
				cmd(a, 3)
			}
			if (i % 20 == 7) {
				a[1] = "SADD"; a[2] = key ":tags"; a[3] = "webinar"
				cmd(a, 3)
				a[1] = "XADD"; a[2] = "slm:events"; a[3] = "*"
				a[4] = "type"; a[5] = "tag"; a[6] = "student"; a[7] = i
				a[8] = "tag"; a[9] = "webinar"
				cmd(a, 9)
			}
		}
	}' | redis-cli -p "$rport" --pipe >/dev/null
}

# nudged turns the webinar events into runs waiting two days in the queue.
queue_runs() {
	want=$((n / 20))
	(cd "$work" && exec "$build/nudged" -f -c nudged.conf) \
		>"$work/nudged.log" 2>&1 &
	nudged_pid=$!
	until [ "$(redis-cli -p "$rport" zcard 'slm:q:{0}:due')" -ge "$want" ]; do
		kill -0 "$nudged_pid" 2>/dev/null || {
			tail -20 "$work/nudged.log" >&2
			exit 1
		}
		sleep 0.2
	done
	kill "$nudged_pid"
	wait "$nudged_pid" || true
	nudged_pid=
}

commands() {
	redis-cli -p "$rport" info stats |
		awk -F: '/^total_commands_processed/ { print $2 + 0 }'
}

echo "loading $n students..."
load
queue_runs
echo "students: $(redis-cli -p "$rport" dbsize) keys," \
	"$(redis-cli -p "$rport" zcard 'slm:q:{0}:due') queued jobs," \
	"redis $(redis-cli -p "$rport" info memory | awk -F: '/^used_memory_human/ { print $2 }' | tr -d '\r')"
times=
for i in $(seq 1 "$runs"); do
	c0=$(commands)
	t0=$(now_ms)
	(cd "$work" && "$build/nudgectl" -c nudged.conf forecast --days 7 --json) \
		>"$work/forecast.json"
	t1=$(now_ms)
	c1=$(commands)
	ms=$((t1 - t0))
	times="$times $ms"
	echo "run $i: ${ms} ms, $(awk -v c="$((c1 - c0))" -v n="$n" \
		'BEGIN { printf "%.2f", c / n }') Redis commands per student"
done
/usr/bin/python3 - "$work/forecast.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
print("forecast: %d students, %d messages over %d days (+%.0f estimated);"
      % (f["students"], f["messages"], f["days"], f["estimated_messages"]),
      "busiest hour", f["busiest_hour"])
for c in f["channels"]:
    print("  %s: %d messages%s" % (c["name"], c["messages"],
          ", %d segments, cost %.2f" % (c["segments"], c["cost"])
          if "cost" in c else ""))
PY
echo "N=$n runs=$runs median $(echo "$times" | tr ' ' '\n' | grep . | median) ms"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# no peer: students forecast per second
figure_json forecast students_per_s "$(echo "$times" | tr ' ' '\n' | grep . | median |
	awk -v n="$n" '{ printf "%.0f", n * 1000 / $1 }')" students/s

#!/bin/sh
# make demo: a throwaway Redis, a realistic cohort, the example rules and
# templates of etc/, nudged with every channel mapped to an outbox, a
# stream of CRM events; then what was sent and a few timelines. Everything
# it starts it stops; KEEP=1 keeps the folder for a look around.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build"
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/nudge-demo-XXXXXX)
redis_pid=""
nudged_pid=""

cleanup() {
	[ -n "$nudged_pid" ] && kill "$nudged_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then
		echo "demo folder kept: $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT INT TERM

. "$root/scripts/throwaway_redis.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

port=$(free_port)
http=$(free_port)
say "a throwaway Redis on 127.0.0.1:$port (folder $tmp)"
start_redis "$port" "$tmp"

cat >"$tmp/nudged.conf" <<CONF
# The demo's config: the example rules and templates of etc/, and every
# channel an outbox, so nothing leaves this machine.
[redis]
address = 127.0.0.1:$port
[daemon]
block = 200ms
[rules]
dir = $root/etc/rules
[templates]
dir = $root/etc/templates
unsubscribe_secret = demo-only-secret
[http]
listen = 127.0.0.1:$http
[school]
name = 示例大学
phone = 010-12345678
[delivery]
# Staff hours off, so that the demo shows notices and escalations whenever
# it runs (the default, working, holds them outside [worktime] working
# time: docs/policy.md, "Staff hours").
quiet_hours_staff =
[channel.sms]
type = outbox
as = sms
path = outbox.jsonl
[channel.email]
type = outbox
as = email
path = outbox.jsonl
[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl
CONF
ctl() { "$bin/nudgectl" -c "$tmp/nudged.conf" "$@"; }

say "a cohort: students, recruiters, supervisors, teams"
$py "$root/scripts/demo_cohort.py" "$port" 300

say "nudged, all channels to $tmp/outbox.jsonl"
"$bin/nudged" -f -c "$tmp/nudged.conf" >"$tmp/nudged.log" 2>&1 &
nudged_pid=$!
sleep 0.5

say "the CRM's events, as an integrator writes them (nudgectl emit)"
ctl emit created 301 name=欧阳明远 phone=+8613911112222 \
	email=ouyang.my@mail.example.cn subject=science "major_intent=computer science" \
	score=652 province=jiangsu stage=lead >/dev/null
ctl emit created 302 "name=Aigerim Nurlanovna" phone=+77011234567 \
	email=aigerim.n@mail.example.kz subject=science major_intent=physics \
	score=631 province=xinjiang stage=lead lang=en >/dev/null
ctl emit created 303 name=韩雪 phone=+8613722223333 subject=arts \
	"major_intent=chinese literature" score=588 province=hunan stage=lead \
	>/dev/null
n=0
for s in 2 5 16 25 33 37 40 21; do
	ctl emit stage $s to=consulting >/dev/null && n=$((n + 1))
done
for s in 5 33; do ctl emit tag $s tag=trial_booked >/dev/null; n=$((n + 1)); done
for s in 5 9 14; do ctl emit followup $s staff=s1 "note=电话沟通，家长关心奖学金" >/dev/null; n=$((n + 1)); done
ctl emit reply 9 channel=sms text=好的，谢谢老师 >/dev/null
ctl emit stage 60 to=admitted >/dev/null
ctl emit optout 61 channel=sms >/dev/null
redis-cli -p "$port" XADD slm:events '*' type stage student 99999 to consulting >/dev/null
echo "3 new leads, $n stage/tag/followup events, a reply, an admission, an opt-out,"
echo "and one event for a student who does not exist (it is rejected, not lost)"

sleep 3
metrics=$(curl -s "http://127.0.0.1:$http/metrics" || true)
kill -TERM "$nudged_pid"
wait "$nudged_pid" || true
nudged_pid=""

say "what was sent (outbox)"
if [ -s "$tmp/outbox.jsonl" ]; then
	$py - "$tmp/outbox.jsonl" <<'PY'
import json, sys
sys.path.insert(0, "")
lines = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for m in lines:
    by[m.get("channel")] = by.get(m.get("channel"), 0) + 1
print("%d messages: %s" % (len(lines), ", ".join("%s %d" % kv for kv in sorted(by.items()))))
for m in lines[:8]:
    body = (m.get("subject") or m.get("body") or "").replace("\n", " ")
    print("  %-6s student %-4s %-26s %s" % (m.get("channel"), m.get("student"),
          "%s/%s" % (m.get("rule"), m.get("template")), body[:60]))
PY
else
	echo "nothing was sent: none of the example rules' steps were due yet"
fi

say "what moving student 9 to consulting would do (nudgectl simulate: nothing is sent)"
ctl simulate 9 --event stage to=consulting | sed -n '/^trial_class_invite/,$p'

say "timelines"
for s in 301 16 9; do
	ctl timeline $s
	echo
done

say "send records: what keeps a message from going twice (docs/redis.md)"
for k in $(redis-cli -p "$port" --scan --pattern 'slm:student:{30[12]}:send:*'); do
	printf '  %s = %s\n' "$k" "$(redis-cli -p "$port" GET "$k")"
done

say "rejected events (slm:events:rejected): recorded and acknowledged"
$py - "$port" <<'PY'
import sys, redis
r = redis.Redis(port=int(sys.argv[1]), decode_responses=True)
for _id, f in r.xrange("slm:events:rejected"):
    print("  %s: %s  %s" % (f["reason"], f["detail"], f["fields"]))
PY

say "metrics (GET /metrics while it ran; the non-zero ones, without histogram buckets)"
echo "$metrics" | grep -v -e '^#' -e '_bucket{' | awk '$NF + 0 != 0' | sed 's/^/  /'
echo
echo "Try it yourself: KEEP=1 make demo, then nudgectl -c <folder>/nudged.conf timeline 16"

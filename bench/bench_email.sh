#!/bin/sh
# bench_email.sh - end to end, from due job to timeline entry, for email: a
# campaign of N messages through nudged's real email channel (libesmtp) to
# an SMTP sink on loopback that accepts and discards (bench/smtp_sink.c),
# beside the same N messages, the same bytes, sent by Python's smtplib
# over the same number of connections to the same sink (the baseline: a
# plain client that only sends, each connection one session carrying its
# share of the messages). Runs alternate, nudge then smtplib, RUNS times;
# each run's rates, ratio and nudged's RSS at the run's end are printed,
# then medians.
#
#   bench/bench_email.sh BUILD [N] [RUNS]
#   QUICK=1: 1,000 messages, one run, no driver-alone runs
#
# nudged reads N campaign events (a backlog), starts a run per student
# and queues its send as a job due WAIT (3) seconds later; then renders
# the email template (Subject, body, the signed List-Unsubscribe: real
# MIME, base64 UTF-8) and sends through the channel; the time runs from
# the first job's due time to the last "sent" timeline entry
# (campaign.sh, campaign_nudged). The baseline sends the MIME
# that `nudgectl render` prints for one of the students, timed from its
# start to its last QUIT.
#
# starttls = off: the sink offers no STARTTLS, and neither side uses TLS.
# Both sides open the same number of sessions, so a handshake would add
# the same cost to each, once per session (hundreds of messages): what
# this measures is the sending, not OpenSSL.
#
# nudge's figure is the whole of nudged (events, runs, the rule steps'
# Redis round trips, rendering, the timeline), the baseline's only the
# sending. So, to tell where the time goes, the driver alone follows: the
# same messages submitted all at once by tests/tools/chan_tool to the
# same channel (no rules, no Redis, no templates), beside smtplib again
# (needs `make test-build`, which builds chan_tool; skipped without it).
#
# Settings (environment): SESSIONS (4) and BATCH (100), the driver's
# defaults (on 2 cores, 8 or 16 sessions sent no faster); MAX_IN_FLIGHT
# (SESSIONS x BATCH, as docs/channels.md advises); WORKERS (8, the queue's
# default); SINK=c (default) or aiosmtpd, the same sink in Python, to
# compare (it is the limit: smtplib alone sends about half as fast to it);
# KEEP=1 keeps the work folder (config, templates, the message, logs).
set -eu
build=${1:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	n=${2:-1000} runs=${3:-1}
else
	n=${2:-5000} runs=${3:-3}
fi
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
. "$top/scripts/throwaway_redis.sh"
. "$top/bench/campaign.sh"
. "$top/bench/lib.sh"

sessions=${SESSIONS:-4}
batch=${BATCH:-100}
max_in_flight=${MAX_IN_FLIGHT:-$((sessions * batch))}
sink=${SINK:-c}

work=$(mktemp -d /tmp/nudge-bench-email.XXXXXX)
redis_pid=
sink_pid=
nudged_pid=
cleanup() {
	[ -n "$nudged_pid" ] && kill -9 "$nudged_pid" 2>/dev/null || true
	[ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	[ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE # through cleanup, also when cut by `| head`

rport=$(free_port)
start_redis "$rport" "$work"
sport=$(free_port)

# The aiosmtpd sink: accepts and discards, counts like smtp_sink.
cat >"$work/sink.py" <<'EOF'
import asyncio, signal, sys
from aiosmtpd.controller import Controller
count = {"messages": 0, "bytes": 0}
class Sink:
    async def handle_DATA(self, server, session, envelope):
        count["messages"] += 1
        count["bytes"] += len(envelope.original_content)
        return "250 OK queued"
def report(*_):
    print("messages %d bytes %d sessions -" % (count["messages"], count["bytes"]), flush=True)
    count["messages"] = count["bytes"] = 0
signal.signal(signal.SIGUSR1, report)
c = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
c.start()
print("ready", flush=True)
while True:  # SIGUSR1 reports; SIGTERM ends the process
    signal.pause()
EOF

start_sink() {
	case $sink in
	c) "$build/bench/smtp_sink" "$sport" >"$work/sink.out" 2>&1 & ;;
	aiosmtpd) /usr/bin/python3 "$work/sink.py" "$sport" >"$work/sink.out" 2>&1 & ;;
	*) echo "SINK: c or aiosmtpd" >&2; exit 2 ;;
	esac
	sink_pid=$!
	until grep -q ready "$work/sink.out" 2>/dev/null; do sleep 0.02; done
}

# What the sink received since the last call: "messages N bytes B sessions S".
sink_counts() {
	before=$(grep -c '^messages' "$work/sink.out" || true)
	kill -USR1 "$sink_pid"
	until [ "$(grep -c '^messages' "$work/sink.out" || true)" -gt "$before" ]; do
		sleep 0.02
	done
	grep '^messages' "$work/sink.out" | tail -1
}

mkdir -p "$work/rules" "$work/templates"
write_campaign_rule "$work/rules/bench.rules"
cat >"$work/templates/msg.email" <<'EOF'
Subject: {{name}}同学，您的录取通知书已寄出

{{name}}您好：

恭喜您被录取！您的录取通知书已通过EMS寄出，请注意查收。
报到时请携带通知书、身份证和高考准考证。如有问题请联系招生办（010-12345678）。

招生办
EOF

write_config() {
	{
		config_head
		cat <<EOF
[channel.bench]
type = email
host = 127.0.0.1
port = $sport
from = 招生办 <admissions@example.edu>
starttls = off
sessions = $sessions
batch = $batch
max_in_flight = $max_in_flight
EOF
	} >"$work/nudged.conf"
}


# One nudged run: prints its messages/s (see campaign_nudged).
nudge_run() {
	write_config
	load_campaign
	campaign_nudged
}

# The message the baseline sends: what nudged renders for the middle
# student, whose name has the typical length (with CRLF line ends, as it
# goes on the wire).
render_message() {
	write_config
	(cd "$work" && "$build/nudgectl" -c nudged.conf render msg "s$((n / 2))" bench) |
		/usr/bin/python3 -c '
import sys
b = sys.stdin.buffer.read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
sys.stdout.buffer.write(b)' >"$work/message.eml"
	grep -q '^Subject: ' "$work/message.eml" || {
		echo "nudgectl render gave no message:" >&2
		cat "$work/message.eml" >&2
		exit 1
	}
}

cat >"$work/baseline.py" <<'EOF'
# SESSIONS processes, each one smtplib session sending its share of N.
import os, smtplib, sys
port, n, sessions, path = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
msg = open(path, "rb").read()
pids = []
for k in range(sessions):
    pid = os.fork()
    if pid == 0:
        s = smtplib.SMTP("127.0.0.1", port)
        for i in range(k, n, sessions):
            s.sendmail("admissions@example.edu", ["s%d@example.edu" % i], msg)
        s.quit()
        os._exit(0)
    pids.append(pid)
bad = sum(os.waitpid(p, 0)[1] != 0 for p in pids)
sys.exit(1 if bad else 0)
EOF

baseline_run() {
	t0=$(now_ms)
	/usr/bin/python3 "$work/baseline.py" "$sport" "$n" "$sessions" \
		"$work/message.eml"
	t1=$(now_ms)
	echo "$n $t0 $t1" | awk '{ printf "%.0f\n", $1 * 1000 / ($3 - $2) }'
}


echo "email: $n messages per run, $runs runs; sink $sink; sessions $sessions," \
	"batch $batch, max_in_flight $max_in_flight, workers ${WORKERS:-8}," \
	"starttls off"
start_sink
load_campaign
render_message
echo "message: $(wc -c <"$work/message.eml") bytes (nudgectl render msg s$((n / 2)))"
: >"$work/ratios"
: >"$work/nudge"
: >"$work/base"
r=1
while [ "$r" -le "$runs" ]; do
	a=$(nudge_run)
	[ "$a" -gt 0 ] || exit 1
	got_a=$(sink_counts)
	b=$(baseline_run)
	got_b=$(sink_counts)
	echo "$a" >>"$work/nudge"
	echo "$b" >>"$work/base"
	echo "$a $b" | awk '{ printf "%.2f\n", $1 / $2 }' >>"$work/ratios"
	printf '  run %d: nudge %5s/s  smtplib %5s/s  ratio %s  nudged RSS %s MiB  events read in %s ms\n' \
		"$r" "$a" "$b" "$(tail -1 "$work/ratios")" "$(($(cat "$work/rss") / 1024))" "$(cat "$work/read_ms")"
	printf '         sink got: nudge %s; smtplib %s\n' "$got_a" "$got_b"
	r=$((r + 1))
done
printf 'email median: nudge %s/s  smtplib %s/s  ratio %s\n' \
	"$(median <"$work/nudge")" "$(median <"$work/base")" \
	"$(median <"$work/ratios")"
figure_json email end_to_end "$(median <"$work/nudge")" msg/s smtplib \
	"$(median <"$work/base")" >"$work/figures"
[ "$QUICK" = 1 ] && { cat "$work/figures"; exit 0; }

# The driver alone: chan_tool submits the N messages (the baseline's MIME,
# each to its own address) through a config holding only the channel.
chan_tool=$build/tools/chan_tool
if [ ! -x "$chan_tool" ]; then
	echo "driver alone: skipped ($chan_tool missing: make test-build)"
	cat "$work/figures"
	exit 0
fi
sed -n '/^\[channel.bench\]/,$p' "$work/nudged.conf" >"$work/driver.conf"
/usr/bin/python3 - "$work/message.eml" "$n" >"$work/messages.jsonl" <<'EOF'
import json, sys
mime = open(sys.argv[1], "rb").read().decode()
for i in range(int(sys.argv[2])):
    print(json.dumps({"to": "s%d@example.edu" % i, "mime": mime,
                      "key": "bench:%d" % i}))
EOF
driver_run() {
	t0=$(now_ms)
	"$chan_tool" -c "$work/driver.conf" send bench <"$work/messages.jsonl" \
		>"$work/driver.out"
	t1=$(now_ms)
	ok=$(grep -c '"status":"ok"' "$work/driver.out" || true)
	[ "$ok" -eq "$n" ] || echo "warning: $((n - ok)) sends failed" >&2
	echo "$n $t0 $t1" | awk '{ printf "%.0f\n", $1 * 1000 / ($3 - $2) }'
}
: >"$work/ratios"
: >"$work/nudge"
: >"$work/base"
sink_counts >/dev/null
r=1
while [ "$r" -le "$runs" ]; do
	a=$(driver_run)
	b=$(baseline_run)
	echo "$a" >>"$work/nudge"
	echo "$b" >>"$work/base"
	echo "$a $b" | awk '{ printf "%.2f\n", $1 / $2 }' >>"$work/ratios"
	printf '  run %d: driver alone %5s/s  smtplib %5s/s  ratio %s\n' \
		"$r" "$a" "$b" "$(tail -1 "$work/ratios")"
	r=$((r + 1))
done
printf 'email driver alone median: driver %s/s  smtplib %s/s  ratio %s\n' \
	"$(median <"$work/nudge")" "$(median <"$work/base")" \
	"$(median <"$work/ratios")"
echo "sink got, driver and smtplib runs together: $(sink_counts)"
figure_json email driver_alone "$(median <"$work/nudge")" msg/s smtplib \
	"$(median <"$work/base")" >>"$work/figures"
cat "$work/figures"

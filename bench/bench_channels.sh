#!/bin/sh
# bench_channels.sh - end to end, from due job to timeline entry: a
# campaign of N messages through nudged's real channel drivers to a fake
# provider on loopback that answers every request after 50 ms, beside the
# same N requests sent by `curl --parallel --parallel-max 200` to the same
# fake (the baseline: a client that only sends). Runs alternate, nudge then
# curl, RUNS times per channel; each run's ratio is printed, then medians.
#
#   bench/bench_channels.sh BUILD [N] [RUNS]
#   QUICK=1: 2,000 messages, one run, sms at 200 in flight, no RSS run
#
# nudged reads N campaign events (a backlog), starts a run per student,
# queues each send as a job due WAIT (3) seconds later, and sends through
# the channel; the time runs from the first job's due time to the last
# "sent" timeline entry (campaign.sh, campaign_nudged). IN_FLIGHT lists
# the max_in_flight values (200 500). Channels: sms (generic form),
# wecom (message/send, one gettoken expected) and webhook (signed). Then
# nudged's RSS with 1,000 messages in flight (the fake answering after
# 5 s, max_in_flight = 1000).
set -eu
build=${1:-build}
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	n=${2:-2000} runs=${3:-1}
	KINDS=${KINDS:-sms} IN_FLIGHT=${IN_FLIGHT:-200}
else
	n=${2:-10000} runs=${3:-3}
fi
delay=50
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
. "$top/scripts/throwaway_redis.sh"
. "$top/bench/campaign.sh"
. "$top/bench/lib.sh"

work=$(mktemp -d /tmp/nudge-bench-chan.XXXXXX)
redis_pid=
gw_pid=
nudged_pid=
cleanup() {
	[ -n "$nudged_pid" ] && kill -9 "$nudged_pid" 2>/dev/null || true
	[ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

rport=$(free_port)
start_redis "$rport" "$work"
gport=$(free_port)

start_gateway() { # DELAY_MS
	[ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null && wait "$gw_pid" 2>/dev/null || true
	"$build/bench/fake_gateway" "$gport" "$1" >"$work/gw.out" 2>&1 &
	gw_pid=$!
	until grep -q ready "$work/gw.out" 2>/dev/null; do
		if ! kill -0 "$gw_pid" 2>/dev/null; then
			echo "fake_gateway did not start:" >&2
			cat "$work/gw.out" >&2
			exit 1
		fi
		sleep 0.02
	done
}

mkdir -p "$work/rules" "$work/templates"
write_campaign_rule "$work/rules/bench.rules"
printf 'Kind: notice\n\n您好 {{name}}，您的录取通知书已寄出，请注意查收。\n' \
	>"$work/templates/msg.sms"
printf '您好 {{name}}，您的录取通知书已寄出，请注意查收。\n' \
	>"$work/templates/msg.wecom"
printf '{"event": "admission_letter", "name": "{{name}}"}\n' \
	>"$work/templates/msg.webhook"

channel_section() { # KIND MAX_IN_FLIGHT
	case $1 in
	sms) printf '[channel.bench]\ntype = sms\nform = generic\nurl = http://127.0.0.1:%s/sms\nauth = none\nmax_in_flight = %s\n' "$gport" "$2" ;;
	wecom) printf '[channel.bench]\ntype = wecom\napi_base = http://127.0.0.1:%s\ncorp_id = wwbench\nagent_id = 1000002\nsecret = bench-secret\nmax_in_flight = %s\n' "$gport" "$2" ;;
	webhook) printf '[channel.bench]\ntype = webhook\nurl = http://127.0.0.1:%s/hook\nsecret = bench-secret\nmax_in_flight = %s\n' "$gport" "$2" ;;
	esac
}

write_config() { # KIND MAX_IN_FLIGHT
	config_head >"$work/nudged.conf"
	channel_section "$1" "$2" >>"$work/nudged.conf"
}


# One nudged run: prints its messages/s (see campaign_nudged).
nudge_run() { # KIND MAX_IN_FLIGHT
	write_config "$1" "$2"
	load_campaign
	campaign_nudged
}

# The same N requests, the same bodies, by curl.
curl_run() { # KIND PARALLEL
	case $1 in
	sms) url="http://127.0.0.1:$gport/sms"
		body='{"to":"+8613800000000","text":"您好 学生1，您的录取通知书已寄出，请注意查收。","idempotency_key":"r:1"}' ;;
	wecom) url="http://127.0.0.1:$gport/cgi-bin/message/send?access_token=bench-token"
		body='{"touser":"stu1","msgtype":"text","agentid":1000002,"text":{"content":"您好 学生1，您的录取通知书已寄出，请注意查收。"},"enable_duplicate_check":1,"duplicate_check_interval":1800}' ;;
	webhook) url="http://127.0.0.1:$gport/hook"
		body='{"id":"r:1","student":"s1","channel":"bench","type":"webhook","data":{"event":"admission_letter","name":"学生1"}}' ;;
	esac
	esc=$(printf '%s' "$body" | sed 's/\\/\\\\/g; s/"/\\"/g')
	i=0
	: >"$work/curl.cfg"
	while [ "$i" -lt "$n" ]; do
		[ "$i" -gt 0 ] && echo next
		printf 'url = "%s"\ndata = "%s"\nheader = "Content-Type: application/json"\noutput = "/dev/null"\n' "$url" "$esc"
		i=$((i + 1))
	done >"$work/curl.cfg"
	t0=$(now_ms)
	curl -s -Z --parallel-max "$2" -K "$work/curl.cfg" 2>/dev/null
	t1=$(now_ms)
	echo "$n $t0 $t1" | awk '{ printf "%.0f\n", $1 * 1000 / ($3 - $2) }'
}


echo "channels: $n messages per run, provider answers after ${delay} ms, $runs runs each"
start_gateway "$delay"
for kind in ${KINDS:-sms wecom webhook}; do
	for par in ${IN_FLIGHT:-200 500}; do
		: >"$work/ratios"
		: >"$work/nudge"
		: >"$work/curl"
		r=1
		while [ "$r" -le "$runs" ]; do
			a=$(nudge_run "$kind" "$par")
			[ "$a" -gt 0 ] || exit 1
			b=$(curl_run "$kind" "$par")
			echo "$a" >>"$work/nudge"
			echo "$b" >>"$work/curl"
			echo "$a $b" | awk '{ printf "%.2f\n", $1 / $2 }' >>"$work/ratios"
			printf '  %-7s in flight %3s  run %d: nudge %6s/s  curl %6s/s  ratio %s\n' \
				"$kind" "$par" "$r" "$a" "$b" "$(tail -1 "$work/ratios")"
			r=$((r + 1))
		done
		printf '%-7s in flight %3s  median: nudge %s/s  curl %s/s  ratio %s\n' \
			"$kind" "$par" "$(median <"$work/nudge")" "$(median <"$work/curl")" \
			"$(median <"$work/ratios")"
		figure_json channels "${kind}_in_flight_$par" "$(median <"$work/nudge")" \
			msg/s curl "$(median <"$work/curl")" >>"$work/figures"
	done
	if [ "$kind" = wecom ]; then
		echo "wecom: gettoken calls in the last run's fake: $(curl -s "http://127.0.0.1:$gport/stats")"
	fi
	start_gateway "$delay" # fresh counters
done

if [ "$QUICK" = 1 ]; then
	cat "$work/figures"
	exit 0
fi

# RSS with 1,000 messages in flight.
start_gateway 5000
write_config sms 1000
n_saved=$n
n=1000
load_campaign
(cd "$work" && exec "$build/nudged" -f -c nudged.conf) >"$work/nudged.log" 2>&1 &
nudged_pid=$!
until [ "$(metric 'nudge_channel_in_flight' 2>/dev/null || echo 0)" -ge 1000 ]; do sleep 0.05; done
rss=$(awk '/VmRSS/ { print $2 }' "/proc/$nudged_pid/status")
echo "nudged RSS with 1000 messages in flight: $((rss / 1024)) MiB ($rss kB)"
kill -9 "$nudged_pid"
wait "$nudged_pid" 2>/dev/null || true
nudged_pid=
n=$n_saved
cat "$work/figures"

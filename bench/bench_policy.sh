#!/bin/sh
# bench_policy.sh - what the sending policy costs: a campaign of N SMS
# (10,000) through an outbox channel, end to end from the due job to the
# timeline entry (campaign.sh), with the policy layer on and off, in
# turns in the same run, RUNS times (3). "On": quiet hours in the
# student's zone (a window that is not now), every frequency cap at once
# (per day, per week, of the class and of the channel: six counters, one
# script), dedup of a template within 24 h, the pause and opt-out checks
# (always on: they cannot be turned off). "Off": no quiet hours, no cap,
# no dedup. For each: messages/s and Redis round trips
# per message (Redis's total_reads_processed over the sending, divided
# by N).
#
#   sh bench/bench_policy.sh BUILD [N] [RUNS]
#   QUICK=1: 5,000 messages, one run
set -eu
build=${1:-build}
if [ "${QUICK:-0}" = 1 ]; then
	n=${2:-5000} runs=${3:-1}
else
	n=${2:-10000} runs=${3:-3}
fi
caps=${CAPS:-all} # all: six counters a message; day: max_per_day alone
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
. "$top/scripts/throwaway_redis.sh"
. "$top/bench/campaign.sh"
. "$top/bench/lib.sh"

bench_start policy # work, rport; all gone at exit
mkdir -p "$work/rules" "$work/templates"
write_campaign_rule "$work/rules/bench.rules"
printf 'Kind: service\n\n您好 {{name}}，您的录取通知书已寄出，请注意查收。\n' \
	>"$work/templates/msg.sms"

# Quiet hours that are not now in Shanghai: the two hours twelve hours on.
quiet=$(/usr/bin/python3 -c '
import time
t = time.gmtime(time.time() + 8 * 3600 + 12 * 3600)
print("%02d:00-%02d:00" % (t.tm_hour, (t.tm_hour + 2) % 24))')

write_config() { # on|off
	{
		config_head
		if [ "$1" = on ]; then
			printf '[delivery]\nquiet_hours = %s\nquiet_hours_service = %s\n' "$quiet" "$quiet"
			if [ "$caps" = all ]; then
				printf 'max_per_day = 3\nmax_per_week = 10\nmax_per_day_service = 3\nmax_per_week_service = 10\ndedup_window = 24h\n'
				printf '[channel.bench]\ntype = outbox\nas = sms\npath = outbox.jsonl\nmax_per_day = 3\nmax_per_week = 10\n'
			else
				printf 'max_per_day = 3\ndedup_window = 24h\n'
				printf '[channel.bench]\ntype = outbox\nas = sms\npath = outbox.jsonl\n'
			fi
		else
			printf '[delivery]\nmax_per_day = 0\ndedup_window = 0\n'
			printf '[channel.bench]\ntype = outbox\nas = sms\npath = outbox.jsonl\n'
		fi
	} >"$work/nudged.conf"
}

one() { # on|off: prints "RATE READS_PER_MSG"
	write_config "$1"
	rm -f "$work/outbox.jsonl"
	load_campaign
	rate=$(campaign_nudged)
	echo "$rate $(cat "$work/reads") $n" | awk '{ printf "%s %.2f\n", $1, $2 / $3 }'
}

echo "policy: $n messages per run, $runs runs, on and off in turns; quiet hours (on) $quiet Asia/Shanghai"
in_turns on off msg
printf 'policy median: on %s/s  off %s/s  on/off %s; round trips per message on %s, off %s\n' \
	"$(turns_median on 1)" "$(turns_median off 1)" \
	"$(median <"$work/ratios")" "$(turns_median on 2)" \
	"$(turns_median off 2)"
figure_json policy on "$(turns_median on 1)" msg/s \
	"policy off" "$(turns_median off 1)"

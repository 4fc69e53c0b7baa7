#!/bin/sh
# bench_queue.sh - the delayed queue (issue 3) against BullMQ, on one
# throwaway redis-server in the same run: schedule N delayed jobs (jobs/s,
# Redis memory per pending job), drain them once due with a no-op handler
# (jobs/s, the draining process's resident memory), and the firing lag
# at a steady 2,000 jobs/s (p50/p99/max). Prints the medians of REPEAT
# runs and the ratios; docs/performance.md quotes them.
#
#   sh bench/bench_queue.sh BUILD
#   QUEUE_BENCH_N=1000000 QUEUE_BENCH_REPEAT=3 QUEUE_BENCH_LAG_SECONDS=10
#   QUEUE_BENCH_CONCURRENCY=100 (BullMQ's worker concurrency)
#
# BullMQ is installed with npm into bench/.npm/bullmq (git-ignored); with
# no node or npm on the machine (scripts/deps.sh bench installs them) only
# nudge's side runs.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
N=${QUEUE_BENCH_N:-1000000}
REPEAT=${QUEUE_BENCH_REPEAT:-1}
LAG_S=${QUEUE_BENCH_LAG_SECONDS:-10}
CONC=${QUEUE_BENCH_CONCURRENCY:-100}
RATE=2000
WORKERS=4
BATCH=100
BENCH="$build/bench/queue_bench"
JS=bench/queue_bullmq.js
out=bench/out/queue.txt
mkdir -p bench/out

[ -x "$BENCH" ] || { echo "bench_queue: $BENCH missing (make bench)"; exit 1; }

tmp=$(mktemp -d /tmp/nudge-bench-queue.XXXXXX)
. "$(dirname "$0")/../scripts/throwaway_redis.sh"
port=$(free_port)
start_redis "$port" "$tmp"
cleanup() {
	kill "$redis_pid" 2>/dev/null
	wait "$redis_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
cli() { redis-cli -p "$port" "$@"; }

conf="$tmp/queue.conf"
printf '[redis]\naddress = 127.0.0.1:%s\n\n[queue]\nworkers = %s\nbatch = %s\nmax_sleep = 1s\n' \
	"$port" "$WORKERS" "$BATCH" >"$conf"

bullmq=1
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "bench_queue: no node/npm: BullMQ skipped (scripts/deps.sh bench)"
	bullmq=0
elif [ ! -d bench/.npm/bullmq/node_modules/bullmq ] ||
	[ ! -d bench/.npm/bullmq/node_modules/ioredis ]; then
	npm install --silent --prefix bench/.npm/bullmq bullmq ioredis >"$tmp/npm.log" 2>&1 ||
		{ echo "bench_queue: npm install failed: BullMQ skipped"; bullmq=0; }
fi

used_memory() { cli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
median() { sort -n | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]}'; }
record() { echo "$2" >>"$tmp/$1"; }

# schedule + drain for one side: $1 = nudge|bullmq
run_throughput() {
	cli flushall >/dev/null
	before=$(used_memory)
	if [ "$1" = nudge ]; then
		s=$("$BENCH" -c "$conf" schedule "$N" 1000)
	else
		s=$(node "$JS" "$port" schedule "$N" 1000)
	fi
	after=$(used_memory)
	sleep 1.2 # the last job is due
	if [ "$1" = nudge ]; then
		d=$("$BENCH" -c "$conf" drain "$N")
	else
		d=$(node "$JS" "$port" drain "$N" "$CONC")
	fi
	echo "  $1: $s"
	echo "  $1: $d  redis_bytes_per_job=$(((after - before) / N))"
	record "$1.schedule" "$(field "$s" rate)"
	record "$1.drain" "$(field "$d" rate)"
	record "$1.mem" "$(((after - before) / N))"
	record "$1.rss" "$(field "$d" rss_kib)"
}

run_lag() {
	cli flushall >/dev/null
	if [ "$1" = nudge ]; then
		l=$("$BENCH" -c "$conf" lag "$RATE" "$LAG_S")
	else
		node "$JS" "$port" lagworker $((RATE * LAG_S)) "$CONC" >"$tmp/lag.out" 2>"$tmp/lag.err" &
		w=$!
		until grep -q ready "$tmp/lag.err" 2>/dev/null; do sleep 0.05; done
		node "$JS" "$port" produce "$RATE" "$LAG_S"
		wait "$w"
		l=$(cat "$tmp/lag.out")
	fi
	echo "  $1 lag at $RATE jobs/s: $l"
	for k in p50_ms p99_ms max_ms; do record "$1.$k" "$(field "$l" $k)"; done
}

sides="nudge"
[ "$bullmq" -eq 1 ] && sides="nudge bullmq"
for i in $(seq "$REPEAT"); do
	echo "run $i of $REPEAT: $N jobs, nudge $WORKERS workers x batch $BATCH, BullMQ concurrency $CONC"
	for side in $sides; do run_throughput "$side"; done
	for side in $sides; do run_lag "$side"; done
done

m() { median <"$tmp/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
{
	echo "delayed queue, medians of $REPEAT run(s), $N jobs, $(date -u +%Y-%m-%dT%H:%MZ)"
	printf '%-28s %12s %12s %8s\n' "" nudge BullMQ ratio
	row() { # label file higher-is-better(1|0)
		a=$(m "nudge.$2")
		b=$([ "$bullmq" -eq 1 ] && m "bullmq.$2" || echo 0)
		if [ "$3" -eq 1 ]; then r=$(ratio "$a" "$b"); else r=$(ratio "$b" "$a"); fi
		printf '%-28s %12s %12s %8s\n' "$1" "$a" "$b" "$r"
	}
	row "schedule (jobs/s)" schedule 1
	row "drain (jobs/s)" drain 1
	row "Redis bytes per pending job" mem 0
	row "drainer RSS (KiB)" rss 0
	row "lag p50 (ms) at $RATE/s" p50_ms 0
	row "lag p99 (ms) at $RATE/s" p99_ms 0
	row "lag max (ms) at $RATE/s" max_ms 0
	echo "(ratio: how many times better nudge is; goals: drain >= 3, memory >= 1, nudge p99 < 25 ms)"
} | tee "$out"

#!/bin/sh
# bench_queue.sh - the delayed queue (issue 3) against BullMQ, on one
# throwaway redis-server in the same run: schedule N delayed jobs (jobs/s,
# Redis memory per pending job), drain them once due with a no-op handler
# (jobs/s, the draining process's resident memory), and the firing lag
# at a steady 2,000 jobs/s (p50/p99/max). Each run does both sides, one
# after the other; the summary gives the medians and ranges of REPEAT
# runs, the ratios, and the load average before and at most during each
# run (figures from a run whose load reached 1 are not a quiet machine's);
# each run after the first waits up to 3 minutes for the last one's load
# to fall below 1 first.
# The figures end as figure_json lines (bench/lib.sh) for bench/quick.sh.
#
#   sh bench/bench_queue.sh BUILD
#   QUEUE_BENCH_N=1000000 QUEUE_BENCH_REPEAT=3 QUEUE_BENCH_LAG_SECONDS=10
#   QUEUE_BENCH_CONCURRENCY=100 (BullMQ's worker concurrency),
#   QUEUE_BENCH_BULLMQ_WORKERS=1 (BullMQ Worker instances in its drainer),
#   QUEUE_BENCH_WORKERS=8 (nudge's dispatcher threads, nudged's default)
#   QUICK=1: 10,000 jobs, one run, 1 s of lag; BullMQ only if installed
#
# BullMQ is installed with npm into bench/.npm/bullmq (git-ignored); with
# no node or npm on the machine (scripts/deps.sh bench installs them) only
# nudge's side runs.
set -u
build=${1:-build}
cd "$(dirname "$0")/.."
. bench/lib.sh
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	N=${QUEUE_BENCH_N:-10000} REPEAT=${QUEUE_BENCH_REPEAT:-1}
	LAG_S=${QUEUE_BENCH_LAG_SECONDS:-1}
else
	N=${QUEUE_BENCH_N:-1000000} REPEAT=${QUEUE_BENCH_REPEAT:-${REPEAT:-3}}
	LAG_S=${QUEUE_BENCH_LAG_SECONDS:-10}
fi
CONC=${QUEUE_BENCH_CONCURRENCY:-100}
BWORKERS=${QUEUE_BENCH_BULLMQ_WORKERS:-1}
RATE=2000
WORKERS=${QUEUE_BENCH_WORKERS:-8} # nudged's [queue] defaults
BATCH=100
BENCH="$build/bench/queue_bench"
JS=bench/queue_bullmq.js
out=bench/out/queue.txt
mkdir -p bench/out

[ -x "$BENCH" ] || { echo "bench_queue: $BENCH missing (make bench)"; exit 1; }

tmp=$(mktemp -d /tmp/nudge-bench-queue.XXXXXX)
. scripts/throwaway_redis.sh
cleanup() {
	load_watch_stop
	[ -n "${redis_pid:-}" ] && { kill "$redis_pid" 2>/dev/null || true; }
	[ -n "${redis_pid:-}" ] && { wait "$redis_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
port=$(free_port)
start_redis "$port" "$tmp"
cli() { redis-cli -p "$port" "$@"; }

conf="$tmp/queue.conf"
printf '[redis]\naddress = 127.0.0.1:%s\n\n[queue]\nworkers = %s\nbatch = %s\nmax_sleep = 1s\n' \
	"$port" "$WORKERS" "$BATCH" >"$conf"

bullmq=1
have_bullmq() {
	[ -d bench/.npm/bullmq/node_modules/bullmq ] &&
		[ -d bench/.npm/bullmq/node_modules/ioredis ]
}
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "bench_queue: no node/npm: BullMQ skipped (scripts/deps.sh bench)"
	bullmq=0
elif ! have_bullmq && [ "$QUICK" = 1 ]; then
	echo "bench_queue: BullMQ not installed: quick mode runs nudge alone (make bench installs it)"
	bullmq=0
elif ! have_bullmq; then
	npm install --silent --prefix bench/.npm/bullmq bullmq ioredis >"$tmp/npm.log" 2>&1 ||
		{ echo "bench_queue: npm install failed: BullMQ skipped"; bullmq=0; }
fi

used_memory() { cli info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
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
		d=$(node "$JS" "$port" drain "$N" "$CONC" "$BWORKERS")
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

# The last value recorded in FILE (this run's).
last() { tail -1 "$tmp/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

sides="nudge"
[ "$bullmq" -eq 1 ] && sides="nudge bullmq"
for i in $(seq "$REPEAT"); do
	# the previous run's own load (node and Redis on both cores) decays
	# before the next starts
	[ "$QUICK" = 1 ] || [ "$i" = 1 ] || load_settle 180
	echo "run $i of $REPEAT: $N jobs, nudge $WORKERS workers x batch $BATCH, BullMQ $BWORKERS worker(s) x concurrency $CONC"
	load_before=$(load_now)
	load_watch "$tmp/load.$i"
	for side in $sides; do run_throughput "$side"; done
	for side in $sides; do run_lag "$side"; done
	load_watch_stop
	load_top=$(load_max "$tmp/load.$i")
	line="run $i: load $load_before before, $load_top at most"
	if [ "$bullmq" -eq 1 ]; then
		line="$line; drain ratio $(ratio "$(last nudge.drain)" "$(last bullmq.drain)")"
		record drain_ratio "$(ratio "$(last nudge.drain)" "$(last bullmq.drain)")"
	fi
	awk -v a="$load_before" -v b="$load_top" 'BEGIN {exit !(a >= 1 || b >= 1)}' &&
		line="$line (load >= 1: not a quiet machine's figures)"
	record runs "$line"
	echo "  $line"
done

m() { median <"$tmp/$1"; }
r() { range <"$tmp/$1"; }
{
	echo "delayed queue, $REPEAT run(s) of $N jobs, $(date -u +%Y-%m-%dT%H:%MZ): medians (ranges)"
	cat "$tmp/runs"
	printf '%-28s %26s %26s %8s\n' "" nudge BullMQ ratio
	row() { # label file higher-is-better(1|0)
		a=$(m "nudge.$2")
		b=0
		bcol=-
		if [ "$bullmq" -eq 1 ]; then
			b=$(m "bullmq.$2")
			bcol="$b ($(r "bullmq.$2"))"
		fi
		if [ "$bullmq" -eq 0 ]; then
			x=n/a
		elif [ "$3" -eq 1 ]; then
			x=$(ratio "$a" "$b")
		else
			x=$(ratio "$b" "$a")
		fi
		printf '%-28s %26s %26s %8s\n' "$1" "$a ($(r "nudge.$2"))" "$bcol" "$x"
	}
	row "schedule (jobs/s)" schedule 1
	row "drain (jobs/s)" drain 1
	row "Redis bytes per pending job" mem 0
	row "drainer RSS (KiB)" rss 0
	row "lag p50 (ms) at $RATE/s" p50_ms 0
	row "lag p99 (ms) at $RATE/s" p99_ms 0
	row "lag max (ms) at $RATE/s" max_ms 0
	[ "$bullmq" -eq 1 ] &&
		echo "drain ratio of each run: $(tr '\n' ' ' <"$tmp/drain_ratio")"
	echo "(ratio: how many times better nudge is; goals: drain >= 5, memory >= 1, nudge p99 < 25 ms)"
	grep -q 'load >= 1' "$tmp/runs" &&
		echo "warning: load average reached 1 in some runs: these figures are not the issue's (a quiet machine's)"
	figure() { # figure file unit
		if [ "$bullmq" -eq 1 ]; then
			figure_json queue "$1" "$(m "nudge.$2")" "$3" BullMQ "$(m "bullmq.$2")"
		else
			figure_json queue "$1" "$(m "nudge.$2")" "$3"
		fi
	}
	figure schedule schedule jobs/s
	figure drain drain jobs/s
	figure lag_p99 p99_ms ms
} | tee "$out"

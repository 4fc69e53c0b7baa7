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

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

#!/usr/bin/python3
"""Event to outbox latency of an immediate `send` (issue 5): nudged on a
throwaway Redis with one rule (on event ping: send outbox hello), events
added at RATE per second for SECONDS, one student each; the latency of an
event is the outbox line's time minus the event's stream id time (both
this machine's clock). Prints p50, p99 and max in ms.

    bench/rules_latency.py BUILD [RATE] [SECONDS]
"""
import json
import os
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
os.environ["NUDGE_BUILD"] = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import Nudge, RedisServer, add_student, wait_for  # noqa: E402

RATE = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 10
RULES = """\
stages lead
rule ping_reply {
    on event ping
    send outbox hello
}
"""


def iso_ms(text):
    """2026-11-22T15:48:00.123Z -> ms since the epoch."""
    import calendar
    base, frac = text.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(frac)


def main():
    n = RATE * SECONDS
    redis = RedisServer().start()
    nudge = Nudge(redis, log_level="warn", http=False,
                  extra="[daemon]\nblock = 100ms\nclaim_idle = 60s\n[delivery]\nquiet_hours =\n")
    try:
        r = redis.client()
        nudge.write("rules/ping.rules", RULES)
        nudge.write("templates/hello.sms", "您好 {{name|同学}}，收到。")
        pipe = r.pipeline(transaction=False)
        for i in range(n):
            pipe.hset("slm:student:{%d}" % i, mapping={
                "name": "学生%d" % i, "phone": "+86138%08d" % i, "stage": "lead"})
            if i % 1000 == 999:
                pipe.execute()
        pipe.execute()
        nudge.start()
        time.sleep(1.0)  # nudged connected and waiting
        start = time.monotonic()
        ids = {}
        tick = 0.01
        per_tick = max(1, int(RATE * tick))
        i = 0
        while i < n:
            due = start + (i / RATE)
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            pipe = r.pipeline(transaction=False)
            for _ in range(per_tick):
                if i >= n:
                    break
                pipe.xadd("slm:events", {"type": "ping", "student": str(i)})
                i += 1
            for eid in pipe.execute():
                sid = len(ids)
                ids[str(sid)] = int(eid.split("-")[0])
        path = nudge.path("outbox.jsonl")

        def count():
            try:
                with open(path) as f:
                    return sum(1 for _ in f)
            except FileNotFoundError:
                return 0
        wait_for(lambda: count() >= n, 60, what="every message")
        lat = []
        with open(path) as f:
            for line in f:
                m = json.loads(line)
                lat.append(iso_ms(m["time"]) - ids[m["student"]])
        if os.environ.get("LATENCY_TRACE"):
            by_sec = {}
            with open(path) as f:
                for line in f:
                    m = json.loads(line)
                    sec = (ids[m["student"]] - min(ids.values())) // 1000
                    by_sec.setdefault(sec, []).append(iso_ms(m["time"]) - ids[m["student"]])
            for sec in sorted(by_sec):
                v = sorted(by_sec[sec])
                print("  second %d: n %d p50 %d max %d" % (sec, len(v), v[len(v) // 2], v[-1]))
        lat.sort()
        p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
        print("latency %d events at %d/s: p50 %d ms p99 %d ms max %d ms" % (
            len(lat), RATE, p(0.50), p(0.99), lat[-1]))
    finally:
        nudge.stop()
        nudge.cleanup()
        redis.stop()


if __name__ == "__main__":
    main()

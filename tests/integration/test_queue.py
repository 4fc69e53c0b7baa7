"""The delayed queue end to end (issue 3): due order, idempotency, cancel,
wake-ups across processes, retries with backoff, dead letters and
`nudgectl queue`, three processes draining 20,000 jobs exactly once, a
drainer SIGKILLed five times, Redis SIGKILLed with appendonly, and corrupt
payloads.

The producers and drainers are tests/tools/queue_tool.c (the dispatcher
with a handler that records each job it handles in slm:test:handled).
"""
import os
import random
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import BUILD, NUDGECTL, SANITIZER_MARKS, RedisServer, wait_for

TOOL = os.path.join(BUILD, "tools", "queue_tool")
DUE = "slm:q:{0}:due"
LEASE = "slm:q:{0}:lease"
HANDLED = "slm:test:handled"

CONFIG = """\
[redis]
address = {address}
prefix = slm:

[queue]
workers = {workers}
batch = {batch}
lease = {lease}
retry_base = 100ms
retry_cap = 1s
max_attempts = 4
max_sleep = {max_sleep}
"""


class QueueTest(unittest.TestCase):
    appendonly = False

    def setUp(self):
        self.redis = RedisServer(appendonly=self.appendonly).start()
        self.r = self.redis.client()
        self.dir = tempfile.mkdtemp(prefix="nudge-it-queue-")
        self.procs = []
        self.logs = []
        self.configure()

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for name in self.logs:
            with open(name, errors="replace") as f:
                text = f.read()
            for mark in SANITIZER_MARKS:
                self.assertNotIn(mark, text, "sanitizer report:\n" + text[-4000:])
        self.redis.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def configure(self, workers=4, batch=100, lease="60s", max_sleep="1s"):
        self.config = os.path.join(self.dir, "q.conf")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(address=self.redis.address, workers=workers,
                                  batch=batch, lease=lease,
                                  max_sleep=max_sleep))

    # --- running the tools ---------------------------------------------

    def tool(self, *args):
        res = subprocess.run([TOOL, "-c", self.config] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=60)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, res.stderr)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        return res.stdout

    def schedule(self, n, **opts):
        args = ["schedule", n]
        for k, v in opts.items():
            args += ["--" + k, v]
        out = self.tool(*args)
        return int(out.strip().splitlines()[-1].split()[1])

    def drain(self, *args):
        log = os.path.join(self.dir, "drain.%d.log" % len(self.logs))
        self.logs.append(log)
        with open(log, "w") as f:
            p = subprocess.Popen([TOOL, "-c", self.config, "drain"] +
                                 [str(a) for a in args],
                                 stdout=f, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop(self, p):
        p.terminate()
        self.assertEqual(p.wait(20), 0)

    def ctl(self, *args):
        res = subprocess.run([NUDGECTL, "-c", self.config, "queue"] + list(args),
                             capture_output=True, text=True, timeout=30)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, res.stderr)
        return res

    def handled(self):
        return {k: int(v) for k, v in self.r.hgetall(HANDLED).items()}

    def drained(self, n):
        return (self.r.hlen(HANDLED) >= n and self.r.zcard(DUE) == 0
                and self.r.zcard(LEASE) == 0)

    # --- the tests -------------------------------------------------------

    def test_due_order(self):
        self.configure(workers=1, batch=1)
        self.schedule(20, prefix="a", delay=300, spread=600)
        self.schedule(20, prefix="b", delay=250, spread=600)
        self.schedule(5, prefix="c", delay=0)
        scores = {m: s for m, s in self.r.zrange(DUE, 0, -1, withscores=True)}
        want = sorted(scores, key=lambda m: (scores[m], m))
        p = self.drain()
        wait_for(lambda: self.r.llen("slm:test:order") == 45, 10, what="45 jobs")
        self.stop(p)
        self.assertEqual(self.r.lrange("slm:test:order", 0, -1), want)

    def test_idempotency_and_cancel(self):
        self.assertEqual(self.schedule(100, prefix="k", delay=300), 100)
        self.assertEqual(self.schedule(100, prefix="k", delay=300), 0)
        self.assertEqual(self.tool("cancel", "k5").strip(), "cancelled")
        self.assertEqual(self.tool("cancel", "k5").strip(), "not found")
        p = self.drain()
        wait_for(lambda: self.drained(99), 10, what="99 jobs")
        self.stop(p)
        handled = self.handled()
        self.assertEqual(len(handled), 99)
        self.assertNotIn("k5", handled)
        self.assertEqual(set(handled.values()), {1})
        # everything gone from Redis once acked
        self.assertEqual(self.r.hlen("slm:q:{0}:jobs"), 0)
        self.assertEqual(self.r.hlen("slm:q:{0}:attempts"), 0)

    def test_wakeup_from_another_process(self):
        # a 30 s sleep: only the pub/sub wake-up can make these quick
        self.configure(max_sleep="30s")
        self.schedule(1, prefix="far", delay=60000)
        p = self.drain()
        time.sleep(0.5)  # the workers are asleep until the far job
        t = time.monotonic()
        self.schedule(1, prefix="now")
        wait_for(lambda: "now0" in self.handled(), 3, what="the due-now job")
        took_now = time.monotonic() - t
        t = time.monotonic()
        self.schedule(1, prefix="soon", delay=700)
        wait_for(lambda: "soon0" in self.handled(), 3, what="the 700 ms job")
        took_soon = time.monotonic() - t
        self.stop(p)
        print("\nwake-up: due-now job handled after %.0f ms, 700 ms job after "
              "%.0f ms" % (took_now * 1000, took_soon * 1000))
        self.assertLess(took_now, 1.0)
        self.assertGreaterEqual(took_soon, 0.65)
        self.assertLess(took_soon, 1.5)

    def test_retries_dead_letters_and_ctl(self):
        # fails twice then works; fails always: dead after 4 attempts
        self.schedule(1, prefix="flaky", raw='{"fail": 2}')
        self.schedule(1, prefix="doomed", raw='{"fail": 99}')
        p = self.drain()
        wait_for(lambda: "flaky0" in self.handled() and
                 self.r.zcard("slm:q:{0}:dead") == 1, 10, what="retries")
        self.stop(p)
        self.assertEqual(self.r.hget("slm:q:{0}:errors", "flaky0"), None)
        res = self.ctl("dead")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn("doomed0", res.stdout)
        self.assertIn("attempts 4", res.stdout)
        self.assertIn("error: failing on purpose (attempt 4)", res.stdout)
        self.assertIn("1 dead letter", res.stdout)
        res = self.ctl("stats")
        self.assertEqual(res.returncode, 0)
        self.assertIn("dead        1", res.stdout)
        self.assertIn("due         0", res.stdout)
        self.assertEqual(self.ctl("retry", "nosuch").returncode, 1)
        self.assertEqual(self.ctl("retry", "doomed0").returncode, 0)
        self.assertEqual(self.r.zcard("slm:q:{0}:dead"), 0)
        self.assertIn("due         1", self.ctl().stdout)
        self.assertEqual(self.ctl("bogus").returncode, 2)
        self.assertEqual(self.ctl("--help").returncode, 0)

    def test_corrupt_payload(self):
        self.schedule(50, prefix="good")
        self.schedule(1, prefix="bad", raw="{not json")
        self.schedule(1, prefix="gone")
        self.r.hdel("slm:q:{0}:jobs", "gone0")
        self.schedule(50, prefix="after", delay=200)
        p = self.drain()
        wait_for(lambda: self.drained(100), 10, what="100 good jobs")
        self.stop(p)
        self.assertEqual(len(self.handled()), 100)
        out = self.ctl("dead").stdout
        self.assertIn("bad0", out)
        self.assertIn("error: corrupt payload:", out)
        self.assertIn("gone0", out)
        self.assertIn("error: payload missing from Redis", out)

    def test_three_processes_20000_jobs(self):
        self.configure(workers=4, batch=100)
        self.assertEqual(self.schedule(20000, prefix="m", spread=1000), 20000)
        t = time.monotonic()
        ps = [self.drain() for _ in range(3)]
        wait_for(lambda: self.drained(20000), 60, interval=0.1,
                 what="20,000 jobs")
        took = time.monotonic() - t
        for p in ps:
            self.stop(p)
        handled = self.handled()
        twice = [k for k, v in handled.items() if v != 1]
        print("\n3 processes: 20000 jobs in %.2f s, %d handled, %d more than "
              "once" % (took, len(handled), len(twice)))
        self.assertEqual(len(handled), 20000)
        self.assertEqual(twice, [])

    def test_sigkill_drainer_5_times(self):
        n = 10000
        self.configure(workers=4, batch=20, lease="1s")
        self.schedule(n, prefix="s")
        p = self.drain("--handler-us", 1500)
        in_flight = 0
        previous = set()
        rnd = random.Random(os.getpid())
        for _ in range(5):
            time.sleep(rnd.uniform(0.3, 0.9))
            p.kill()
            p.wait()
            # a claim is (id, attempt): a job reclaimed after an earlier
            # kill counts again
            ids = self.r.zrange(LEASE, 0, -1)
            leased = set(zip(ids, self.r.hmget("slm:q:{0}:attempts", ids)
                             if ids else []))
            in_flight += len(leased - previous)
            previous = leased
            p = self.drain("--handler-us", 1500)
        wait_for(lambda: self.drained(n), 60, interval=0.1, what="the drain")
        self.stop(p)
        handled = self.handled()
        lost = n - len(handled)
        twice = sum(v - 1 for v in handled.values())
        print("\nSIGKILL x5: %d jobs, %d lost, %d handled twice, %d in flight "
              "in the killed processes" % (n, lost, twice, in_flight))
        self.assertEqual(lost, 0)
        self.assertLessEqual(twice, in_flight)


class QueueRedisCrashTest(QueueTest):
    appendonly = True

    # the parent's tests run once, without appendonly
    test_due_order = test_idempotency_and_cancel = None
    test_wakeup_from_another_process = test_retries_dead_letters_and_ctl = None
    test_corrupt_payload = test_three_processes_20000_jobs = None
    test_sigkill_drainer_5_times = None

    def test_redis_sigkill_mid_drain(self):
        n = 5000
        self.configure(workers=4, batch=50, lease="1s")
        self.assertEqual(self.schedule(n, prefix="p"), n)  # all acknowledged
        p = self.drain("--handler-us", 800)
        wait_for(lambda: self.r.hlen(HANDLED) > 500, 10, what="a start")
        self.redis.kill()
        time.sleep(0.5)
        self.redis.start()
        self.r = self.redis.client()
        self.assertEqual(self.schedule(100, prefix="later"), 100)
        wait_for(lambda: self.drained(n + 100), 20, interval=0.1,
                 what="the drain after the restart")
        self.stop(p)
        handled = self.handled()
        missing = [i for i in range(n) if "p%d" % i not in handled]
        print("\nRedis SIGKILL: %d of %d acknowledged jobs handled, %d twice"
              % (len(handled) - 100, n,
                 sum(v - 1 for v in handled.values())))
        self.assertEqual(missing, [])
        with open(self.logs[0]) as f:
            self.assertIn("reconnected to Redis", f.read())


if __name__ == "__main__":
    unittest.main()

"""`nudgectl forecast` against a throwaway Redis, and against what then
happens: 2,000 students, a scheduled rule (every day 10:00, with a `when`,
a 10% holdout and students who opted out) and an event rule whose runs
wait in the queue (`wait 1d`, due in quiet hours, so the policy moves
them; a daily cap of 1 then skips the day's schedule message for those
students). The forecast over 3 days is taken first; then the real nudged
is run through those 3 days on a test clock ([daemon] test_clock: a file
holding the time, which the test moves hour by hour), and the messages
its outbox received per rule and day must equal the forecast's exactly.
Also: nothing written to Redis (every key's DUMP before and after, only
read commands in commandstats), the segments and their cost, progress on
a terminal only, exit statuses.
"""
import datetime
import json
import os
import pty
import random
import subprocess
import unittest

from harness import (NUDGECTL, Nudge, RedisServer, add_student, redis_digest,
                     wait_for)

ZONE = datetime.timezone(datetime.timedelta(hours=8))  # Asia/Shanghai
# Monday 2026-03-02 07:00 local: the forecast's "now"
T0 = datetime.datetime(2026, 3, 2, 7, 0, tzinfo=ZONE)
DAYS = 3

EXTRA = """
[daemon]
test_clock = clock.txt

[queue]
max_sleep = 100ms

[delivery]
timezone = Asia/Shanghai
quiet_hours = 21:00-08:00
max_per_day = 1
# a dedup claim expires on Redis's own clock (PX), which the test clock
# does not move: off here (the forecast's dedup is the unit tests')
dedup_window = 0

[channel.sms2]
type = outbox
as = sms
path = sms2.jsonl
price_per_segment = 0.045
"""

RULES = """stages lead contacted consulting
rule daily_tip {
    every day 10:00
    when score >= 500
    holdout 10%
    send sms2 tip
}

rule webinar_followup {
    on tag "webinar"
    wait 1d
    send sms2 followup
}
"""

N = 2000


def ms(dt):
    return int(dt.timestamp() * 1000)


READS = {"scan", "hgetall", "hget", "hmget", "smembers", "sismember",
         "exists", "ping", "select", "auth", "client", "hello", "command",
         "info", "config", "zrange", "xrange"}


class ForecastTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.r = cls.redis.client()
        cls.nudge = Nudge(cls.redis, extra=EXTRA)
        cls.set_clock(T0)
        cls.nudge.write("rules/main.rules", RULES)
        # 47 characters and a name: UCS-2, one segment; the follow-up
        # is long enough for two
        cls.nudge.write("templates/tip.sms", "{{name}}，今天的备考小贴士已更新，"
                        "欢迎登录招生网查看详情。\n")
        cls.nudge.write("templates/followup.sms", "{{name}}，感谢参加昨天的"
                        "线上宣讲会！如需了解专业设置、奖学金政策与校园生活，"
                        "请回复或致电招生办，我们很乐意为你解答。报名截止前"
                        "还有两场专题讲座，欢迎带家长一同参加。\n")
        rnd = random.Random(12)
        cls.webinar = []
        for i in range(1, N + 1):
            optout = ["sms"] if rnd.random() < 0.05 else []
            add_student(cls.r, str(i), score=rnd.randint(300, 700),
                        optout=optout)
            if rnd.random() < 0.25:
                cls.webinar.append(str(i))
        cls.queue_followups()

    @classmethod
    def set_clock(cls, dt_or_ms):
        value = dt_or_ms if isinstance(dt_or_ms, int) else ms(dt_or_ms)
        tmp = cls.nudge.path("clock.tmp")
        with open(tmp, "w") as f:
            f.write("%d\n" % value)
        os.rename(tmp, cls.nudge.path("clock.txt"))

    @classmethod
    def queue_followups(cls):
        """The webinar's attendees are tagged at T0: nudged starts their
        runs, whose send waits a day in the queue."""
        cls.nudge.start()
        pipe = cls.r.pipeline()
        for sid in cls.webinar:
            pipe.sadd("slm:student:{%s}:tags" % sid, "webinar")
            pipe.xadd("slm:events", {"type": "tag", "student": sid,
                                     "tag": "webinar"})
        pipe.execute()
        wait_for(lambda: cls.r.zcard("slm:q:{0}:due") == len(cls.webinar),
                 10, what="the follow-up jobs")
        # idle until the comparison: the forecasts read a quiet Redis
        assert cls.nudge.stop() == 0, cls.nudge.log_text()[-3000:]

    @classmethod
    def tearDownClass(cls):
        cls.nudge.stop_checked(cls.redis)

    def forecast(self, *args, check=True):
        return self.nudge.ctl("forecast", *args, check=check)

    def forecast_json(self, *args):
        return json.loads(self.forecast("--json", *args).stdout)

    # --- the daemon on the test clock ---------------------------------------

    def drained(self, now):
        return (self.r.zcount("slm:q:{0}:due", "-inf", now) == 0 and
                self.r.zcard("slm:q:{0}:lease") == 0)

    def sent(self):
        counts = {}
        for m in self.nudge.outbox("sms2.jsonl"):
            counts[m["rule"]] = counts.get(m["rule"], 0) + 1
        return counts

    def advance_to(self, now):
        """Moves the clock to now and waits until nudged has done what
        was due by then: the schedule's firing (its scan, then its sends)
        and every due job."""
        self.set_clock(now)
        local = datetime.datetime.fromtimestamp(now / 1000, ZONE)
        if local.hour == 10 and local.minute == 0:
            fire = ms(local.replace(second=0, microsecond=0))
            wait_for(lambda: self.r.exists("slm:sched:daily_tip:%d" % fire),
                     5, what="the 10:00 firing")
        stable = [None, 0]

        def settled():
            if not self.drained(now):
                stable[1] = 0
                return False
            seen = self.sent()
            stable[1] = stable[1] + 1 if seen == stable[0] else 0
            stable[0] = seen
            return stable[1] >= 3
        wait_for(settled, 10, interval=0.1, what="nudged to settle")

    def test_what_happens_equals_the_forecast(self):
        self.assertTrue(self.drained(ms(T0)))
        before = redis_digest(self.r)
        fc = self.forecast_json("--days", str(DAYS))
        self.assertEqual(redis_digest(self.r), before)
        self.assertEqual(fc["students"], N)
        self.assertEqual(fc["queued_jobs"]["read"], len(self.webinar))
        days = [(T0 + datetime.timedelta(days=d)).strftime("%Y-%m-%d")
                for d in range(DAYS)]
        want = {}  # (rule, day) -> messages
        for rule in fc["rules"]:
            for row in rule["days"]:
                self.assertEqual(row["channel"], "sms2")
                want[(rule["name"], row["day"])] = row["messages"]
        # the forecast says something worth checking
        self.assertGreater(want.get(("daily_tip", days[0]), 0), 500)
        self.assertGreater(want.get(("webinar_followup", days[1]), 0), 300)
        self.assertNotIn(("webinar_followup", days[0]), want)
        rules = {r["name"]: r for r in fc["rules"]}
        self.assertGreater(rules["daily_tip"]["held_out"], 0)
        self.assertGreater(rules["daily_tip"]["skipped"], 0)  # opt-out, cap
        self.assertGreater(rules["webinar_followup"]["deferred"], 0)
        self.assertTrue(rules["webinar_followup"]["estimated"])
        # now let it happen, hour by hour
        self.nudge.start()
        got, last = {}, {}
        for d in range(DAYS):
            start = T0 if d == 0 else (T0.replace(hour=0) +
                                       datetime.timedelta(days=d))
            end = T0.replace(hour=0) + datetime.timedelta(days=d + 1)
            t = start + datetime.timedelta(hours=1)
            while t < end:
                self.advance_to(ms(t))
                t += datetime.timedelta(hours=1)
            self.advance_to(ms(end) - 1)
            now = self.sent()
            for rule, n in now.items():
                if n - last.get(rule, 0):
                    got[(rule, days[d])] = n - last.get(rule, 0)
            last = now
        self.assertEqual(got, want)

    def test_segments_cost_and_busiest_hour(self):
        fc = self.forecast_json("--days", str(DAYS))
        chan = {c["name"]: c for c in fc["channels"]}["sms2"]
        tip = followup = 0
        for rule in fc["rules"]:
            for row in rule["days"]:
                if rule["name"] == "daily_tip":
                    tip += row["messages"]
                    self.assertEqual(row["segments"], row["messages"])
                else:
                    followup += row["messages"]
                    self.assertEqual(row["segments"], 2 * row["messages"])
        self.assertEqual(chan["messages"], tip + followup)
        self.assertEqual(chan["segments"], tip + 2 * followup)
        self.assertAlmostEqual(chan["cost"], chan["segments"] * 0.045, 6)
        # every tip of the first day goes at 10:00: the busiest hour (the
        # second day's follow-ups, at 08:00 when quiet hours end, are fewer)
        tips = {x["name"]: x for x in fc["rules"]}["daily_tip"]["days"]
        self.assertEqual(fc["busiest_hour"], {
            "day": T0.strftime("%Y-%m-%d"), "hour": 10,
            "messages": tips[0]["messages"]})

    def test_nothing_written(self):
        before = redis_digest(self.r)
        self.r.config_resetstat()
        self.forecast()
        self.forecast("--json", "--days", "2")
        stats = self.r.info("commandstats")
        used = {k[len("cmdstat_"):].split("|")[0] for k in stats}
        self.assertLessEqual(used, READS, "commands beyond reads: %s" %
                             sorted(used - READS))
        self.assertIn("zrange", used)  # the queue was read
        self.assertIn("xrange", used)  # and the events
        self.assertEqual(redis_digest(self.r), before)

    def test_text_and_one_rule(self):
        res = self.forecast("--days", "2")
        self.assertIn("daily_tip", res.stdout)
        self.assertIn("busiest hour:", res.stdout)
        self.assertRegex(res.stdout, r"sms2 +\d+ messages, \d+ "
                         r"segments, cost [\d.]+ \(0\.045 a segment\)")
        self.assertNotIn("outbox ", res.stdout)  # nothing sent there
        self.assertIn("estimated from", res.stdout)
        one = self.forecast_json("--rule", "daily_tip", "--days", "2")
        self.assertEqual([r["name"] for r in one["rules"]], ["daily_tip"])
        both = self.forecast_json("--days", "2")
        self.assertEqual(one["rules"][0]["days"],
                         {r["name"]: r for r in both["rules"]}
                         ["daily_tip"]["days"])

    def test_progress_on_a_terminal_only(self):
        master, slave = pty.openpty()
        try:
            res = subprocess.run(
                [NUDGECTL, "-c", self.nudge.config, "forecast"],
                stdout=subprocess.PIPE, stderr=slave, timeout=60, text=True)
        finally:
            os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        self.assertEqual(res.returncode, 0)
        self.assertIn("forecast: 2,000/2,000 students", shown.decode())
        res = self.forecast("--json")
        self.assertNotIn("forecast:", res.stderr)

    def test_errors_and_usage(self):
        bad = self.nudge.path("bad")
        os.makedirs(bad, exist_ok=True)
        self.nudge.write("bad/x.rules", "stages lead\nrule X {\n"
                         "    on stage nowhere\n    send sms2 tip\n}\n")
        res = self.forecast("--rules-dir", bad, check=False)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertRegex(res.stderr, r"bad/x\.rules:3:\d+: ")
        self.assertEqual(res.stdout, "")
        for args in (["--days", "0"], ["--days", "x"], ["--bogus"],
                     ["--rule", "nope"]):
            self.assertEqual(self.forecast(*args, check=False).returncode, 2,
                             args)
        # a price that is no decimal: the config's error, with its line
        with open(self.nudge.config) as f:
            text = f.read()
        bad_conf = self.nudge.path("bad.conf")
        with open(bad_conf, "w") as f:
            f.write(text.replace("price_per_segment = 0.045",
                                 "price_per_segment = 4.5%"))
        line = text[:text.index("price_per_segment")].count("\n") + 1
        res = subprocess.run([NUDGECTL, "-c", bad_conf, "forecast"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn('bad.conf:%d: price_per_segment: "4.5%%" is not a '
                      'price' % line, res.stderr)


class ForecastEstimateTest(unittest.TestCase):
    """An event rule's estimate: the events of the last 30 days that fire
    it, as a daily rate, shifted by its wait."""

    def test_rate_of_trigger_events(self):
        server = RedisServer().start()
        nudge = Nudge(server, extra=EXTRA)
        try:
            r = server.client()
            with open(nudge.path("clock.txt"), "w") as f:
                f.write("%d\n" % ms(T0))
            nudge.write("rules/main.rules", "stages lead\n"
                        "rule brochure {\n    on event brochure\n"
                        "    wait 1d\n    send sms2 tip\n}\n")
            nudge.write("templates/tip.sms", "{{name}}，资料已寄出。\n")
            add_student(r, "1")
            day = 86400 * 1000
            # 10 too old, 60 within the 30 days (2 a day), 20 that fire
            # nothing, then 5 after the forecast's now
            ids = ([(ms(T0) - 40 * day + i, "brochure") for i in range(10)] +
                   [(ms(T0) - 30 * day + day // 4 + i * day // 2, "brochure")
                    for i in range(60)] +
                   [(ms(T0) - 2 * day + i, "other") for i in range(20)] +
                   [(ms(T0) + 1000 + i, "brochure") for i in range(5)])
            for seq, (t, kind) in enumerate(sorted(ids)):
                r.xadd("slm:events", {"type": kind, "student": "1"},
                       id="%d-%d" % (t, seq))
            out = json.loads(nudge.ctl("forecast", "--days", "3",
                                       "--json").stdout)
            rule = out["rules"][0]
            self.assertTrue(rule["estimated"])
            self.assertEqual(rule["trigger_events_30d"], 60)
            est = {row["day"]: row["estimated"] for row in rule["days"]}
            days = [(T0 + datetime.timedelta(days=d)).strftime("%Y-%m-%d")
                    for d in range(3)]
            # today's events (from 07:00: 17 of 24 hours) land tomorrow
            self.assertNotIn(days[0], est)
            self.assertAlmostEqual(est[days[1]], 2 * 17 / 24, 6)
            self.assertAlmostEqual(est[days[2]], 2, 6)
            self.assertEqual(rule["messages"], 0)  # nothing exact
            self.assertIsNone(out["busiest_hour"])
        finally:
            nudge.cleanup()
            server.stop()


if __name__ == "__main__":
    unittest.main()

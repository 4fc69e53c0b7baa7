"""Time zones. Core/tz.h against Python's zoneinfo, for every zone of the
system's database: the offset nudge computes just before and just after
every transition from 2026 to 2040. Debian's zone files list transitions
up to 2037 at most (slim files fewer); later ones come from the file's
footer rule, so this checks both the table and the footer. Transitions
are found with zoneinfo (a day-by-day scan, then bisection to the second)
and sent to tests/tools/tz_tool in one batch.

And students whose `tz` is no zone: nudged uses [delivery] timezone for
them (not UTC), logs each unknown name once with a student's id and
counts it; `nudgectl doctor` lists them.
"""
import datetime
import json
import os
import subprocess
import time
import unittest
import zoneinfo

from harness import (BUILD, Nudge, RedisServer, add_student, http_get,
                     metric, timeline, wait_for)

TZ_TOOL = os.path.join(BUILD, "tools", "tz_tool")
START = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
END = int(datetime.datetime(2041, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
DAY = 86400
UTC = datetime.timezone.utc


def offset(tz, t):
    return int(datetime.datetime.fromtimestamp(t, UTC).astimezone(tz)
               .utcoffset().total_seconds())


def transitions(tz):
    """The instants (seconds) in [START, END) at which tz's offset changes."""
    found = []
    prev_t, prev = START, offset(tz, START)
    for t in range(START + DAY, END + DAY, DAY):
        cur = offset(tz, t)
        if cur != prev:
            lo, hi = prev_t, t  # offset(lo) == prev != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(tz, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        prev_t, prev = t, cur
    return found


class TestZoneOffsets(unittest.TestCase):
    def test_every_zone_every_transition(self):
        zones = sorted(zoneinfo.available_timezones())
        self.assertGreater(len(zones), 300)
        want = {}
        for name in zones:
            tz = zoneinfo.ZoneInfo(name)
            # every zone at least at the start, plus each change's edges
            points = {START, END - 1}
            for t in transitions(tz):
                points.update((t - 1, t))
            for t in points:
                want[(name, t)] = offset(tz, t)
        self.assertGreater(sum(1 for _ in want) - 2 * len(zones), 1000)
        lines = "".join(f"{z} {t}\n" for z, t in sorted(want))
        out = subprocess.run([TZ_TOOL], input=lines, capture_output=True,
                             text=True, timeout=60, check=True).stdout
        got = {}
        for line in out.splitlines():
            z, t, off = line.split()
            got[(z, int(t))] = off
        wrong = [f"{z} {datetime.datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M:%S}Z"
                 f" nudge {got.get((z, t))} zoneinfo {off}"
                 for (z, t), off in sorted(want.items())
                 if got.get((z, t)) != str(off)]
        self.assertEqual(wrong[:20], [], f"{len(wrong)} of {len(want)} differ")

    def test_unknown_names(self):
        lines = "Mars/Olympus 0\nAmerica 0\n../etc/passwd 0\nzone1970.tab 0\n"
        out = subprocess.run([TZ_TOOL], input=lines, capture_output=True,
                             text=True, timeout=10, check=True).stdout
        self.assertEqual([l.split()[2] for l in out.splitlines()],
                         ["unknown"] * 4)


class UnknownZoneTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()

    def test_unknown_tz_uses_the_configured_zone(self):
        # quiet now in Shanghai (the configured zone), not in UTC: a
        # student with a garbage tz must wait, as a Shanghai student would
        t0 = time.time()
        sh = time.gmtime(t0 + 8 * 3600)
        quiet = "%02d:%02d-%02d:%02d" % (sh.tm_hour, sh.tm_min,
                                         (sh.tm_hour + 2) % 24, sh.tm_min)
        nudge = Nudge(self.redis, extra="[delivery]\ntimezone = Asia/Shanghai\n"
                      "quiet_hours = %s\nmax_per_day = 0\n[queue]\n"
                      "max_sleep = 200ms\n" % quiet)
        self.addCleanup(nudge.cleanup)
        nudge.write("rules/a.rules", "stages lead\nrule hi {\n    on event hi\n"
                    "    send outbox hello\n}\n")
        nudge.write("templates/hello.sms", "您好")
        add_student(self.r, "7", tz="Mars/Olympus")
        add_student(self.r, "8", tz="Mars/Olympus")
        add_student(self.r, "9", tz="UTC")
        nudge.start()
        wait_for(lambda: "nudged started" in nudge.log_text(), 10,
                 what="nudged to start")
        for sid in ("7", "8", "9"):
            nudge.ctl("emit", "hi", sid)
        # the UTC student is outside the quiet hours and gets the message
        wait_for(lambda: len(nudge.outbox()) >= 1, 5,
                 what="the UTC student's message")
        for sid in ("7", "8"):
            wait_for(lambda: self.r.hget("slm:student:{%s}:runs" % sid, "hi"),
                     5, what="the run")
        time.sleep(0.5)
        self.assertEqual(len(nudge.outbox()), 1)
        # the timeline says until when, in the zone used
        until = time.strftime("%Y-%m-%d %H:%M",
                              time.gmtime(t0 + 8 * 3600 + 7200))
        for sid in ("7", "8"):
            deferred = [e for e in timeline(self.r, sid)
                        if e["type"] == "deferred"]
            self.assertEqual(len(deferred), 1, sid)
            self.assertEqual(deferred[0]["detail"],
                             "quiet hours %s in Asia/Shanghai: until %s"
                             % (quiet, until))
        # the deferred jobs fall due when the quiet hours end, at the end's
        # local time in Shanghai: never before it, and within a second
        # (the delay is counted from the scheduling's own instant)
        end = (int(t0) // 60 + 120) * 60 * 1000  # now's minute + 2 h, UTC
        jobs = self.r.zrange("slm:q:{0}:due", 0, -1, withscores=True)
        quiet_jobs = [(j, s) for j, s in jobs if ":quiet_hours:" in j]
        self.assertEqual(len(quiet_jobs), 2, jobs)
        for job, score in quiet_jobs:
            self.assertEqual(int(job.rsplit(":", 1)[1]), end, job)
            self.assertGreaterEqual(int(score), end, job)
            self.assertLess(int(score) - end, 1000, job)
        res = nudge.ctl("queue", "stats")
        self.assertRegex(res.stdout, r"(?i)scheduled\D*2\b")
        log = nudge.log_text()
        self.assertEqual(log.count('unknown time zone "Mars/Olympus"'), 1, log)
        self.assertRegex(log, r'student [78]: unknown time zone "Mars/Olympus"'
                         r' in tz: using Asia/Shanghai')
        _, text = http_get(nudge.http_port, "/metrics")
        self.assertEqual(metric(text, "nudge_unknown_timezones_total"), 1)
        self.assertEqual(nudge.stop(), 0)
        nudge.check_clean_log(self)

    def test_doctor_lists_unknown_zones(self):
        nudge = Nudge(self.redis)
        self.addCleanup(nudge.cleanup)
        add_student(self.r, "7", tz="Mars/Olympus")
        add_student(self.r, "8", tz="Mars/Olympus")
        add_student(self.r, "9", tz="Europe/London")
        add_student(self.r, "10")
        add_student(self.r, "11", tz="+08:00", tags=["a"])
        for i in range(100, 1300):  # more than one SCAN batch
            add_student(self.r, str(i), tz="Asia/Shanghai")
        res = nudge.ctl("doctor", check=False)
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn('"Mars/Olympus": 2 students (e.g. 7)', res.stdout)
        self.assertIn('"+08:00": 1 student (e.g. 11)', res.stdout)
        self.assertIn("1205 students, 1204 with tz, 3 with an unknown zone "
                      "(2 zones)", res.stdout)
        for sid in ("7", "8", "11"):
            self.r.hset("slm:student:{%s}" % sid, "tz", "Asia/Shanghai")
        res = nudge.ctl("doctor")
        self.assertIn("0 with an unknown zone", res.stdout)


if __name__ == "__main__":
    unittest.main()


class BlackoutTest(unittest.TestCase):
    """[delivery] blackout: a marketing send on a blackout date (the
    student's zone) waits for the morning after, with a `deferred` entry;
    a service send goes (docs/policy.md, "Blackout dates")."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()

    def test_marketing_waits_and_service_goes(self):
        t0 = time.time()
        today = time.strftime("%Y-%m-%d", time.gmtime(t0 + 8 * 3600))
        morning = time.strftime("%Y-%m-%d 08:00",
                                time.gmtime(t0 + 8 * 3600 + 86400))
        nudge = Nudge(self.redis, extra="[delivery]\ntimezone = Asia/Shanghai\n"
                      "quiet_hours = 21:00-08:00\nblackout = %s\n"
                      "max_per_day = 0\ndedup_window = 0\n[queue]\n"
                      "max_sleep = 200ms\n" % today)
        self.addCleanup(nudge.cleanup)
        nudge.write("rules/a.rules", "stages lead\nrule hi {\n    on event hi\n"
                    "    send outbox promo\n}\nrule hi2 {\n    on event hi\n"
                    "    send outbox result\n}\n")
        nudge.write("templates/promo.sms", "Kind: marketing\n\n开放日邀请")
        nudge.write("templates/result.sms", "Kind: service\n\n录取结果已公布")
        add_student(self.r, "7", tz="Asia/Shanghai")
        nudge.start()
        wait_for(lambda: "nudged started" in nudge.log_text(), 10,
                 what="nudged to start")
        nudge.ctl("emit", "hi", "7")
        entries = lambda t: [e for e in timeline(self.r, "7") if e["type"] == t]
        # the service message goes, or at night waits out the quiet hours;
        # the marketing one waits for the morning after the blackout
        wait_for(lambda: (entries("sent") and entries("deferred")) or
                 len(entries("deferred")) == 2, 5, what="both steps")
        promo = [e for e in entries("deferred") if e["template"] == "promo"]
        self.assertEqual(len(promo), 1)
        self.assertEqual(promo[0]["detail"],
                         "a blackout date for marketing in Asia/Shanghai: "
                         "until %s" % morning)
        for e in entries("deferred"):
            if e["template"] == "result":
                self.assertTrue(e["detail"].startswith("quiet hours "), e)
        self.assertEqual([m for m in nudge.outbox()
                          if "开放日" in json.dumps(m, ensure_ascii=False)], [])
        _, text = http_get(nudge.http_port, "/metrics")
        self.assertEqual(metric(text, 'nudge_policy_total{verdict="deferred",'
                                'reason="blackout",class="marketing"}'), 1)
        # simulate asks the same policy and says the same
        add_student(self.r, "8", tz="Asia/Shanghai")
        out = nudge.ctl("simulate", "8", "--event", "hi").stdout
        self.assertIn("a blackout date for marketing in Asia/Shanghai: waits "
                      "until %s" % morning, out)
        self.assertEqual(nudge.stop(), 0)
        nudge.check_clean_log(self)

"""nudgectl forget: afterwards no key under the prefix names the student
(but the kept opt-out), no queue member is one of its jobs, its queued
jobs never fire, and one audit entry without personal data is written.
Retention: the daemon trims timeline entries older than [retention]
timeline and keeps the newer ones."""
import hashlib
import json
import os
import subprocess
import time
import unittest
import urllib.request

from harness import ROOT, Nudge, RedisServer, add_student, wait_for

FAKE = os.path.join(ROOT, "tests", "fakes", "sms_gateway.py")

EXTRA = """
[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
max_per_day = 5
"""

RULES = """stages lead contacted
rule hello {
    on event ping
    send outbox hello
    wait 2s
    send outbox later
}
"""


def outbox(nudge):
    return nudge.outbox()


def names_student(text, sid):
    return ("{%s}" % sid) in text or ("run:%s:" % sid) in text


class ForgetTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis, extra=EXTRA, http=False)
        self.addCleanup(self.nudge.cleanup)
        self.nudge.write("rules/hello.rules", RULES)
        self.nudge.write("templates/hello.sms", "您好 {{name}}")
        self.nudge.write("templates/later.sms", "再见 {{name}}")
        for sid in ("7", "8"):
            add_student(self.r, sid, tags=["intent:high"], optout=["email"],
                        owner="s1")
            # lead books and an alert group naming the student
            self.r.hset("slm:leads", sid, "s1")
            self.r.zadd("slm:staff:s1:leads", {sid: 1})
            self.r.zadd("slm:alert:{m1:1:wecom}:leads", {sid: 1})
            self.r.hset("slm:alert:{m1:1:wecom}:lead", sid, "{}")
            # the reply index (docs/redis.md) names the student by value
            self.r.set("slm:phone:" + self.r.hget("slm:student:{%s}" % sid,
                                                  "phone"), sid)
        self.nudge.start()
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")

    def tearDown(self):
        self.assertEqual(self.nudge.stop(), 0, self.nudge.log_text()[-3000:])
        self.nudge.check_clean_log(self)

    def sent(self, sid, template):
        return [m for m in outbox(self.nudge)
                if m["student"] == sid and m["template"] == template]

    def queue_members(self):
        members = []
        for key in self.r.scan_iter("slm:q:*"):
            kind = self.r.type(key)
            if kind == "zset":
                members += self.r.zrange(key, 0, -1)
            elif kind == "hash":
                members += self.r.hkeys(key)
        return members

    def start_runs(self):
        for sid in ("7", "8"):
            self.r.xadd("slm:events", {"type": "ping", "student": sid})
        for sid in ("7", "8"):
            wait_for(lambda: self.sent(sid, "hello"), 5,
                     what="the first message of " + sid)
        wait_for(lambda: sum(names_student(m, "7")
                             for m in self.queue_members()) > 0, 5,
                 what="the second step of 7 to be queued")

    def test_forget_removes_everything_but_the_optout(self):
        self.start_runs()
        res = self.nudge.ctl("forget", "7")
        self.assertIn("forgot student 7", res.stdout)
        leftover = [k for k in self.r.scan_iter("*") if names_student(k, "7")]
        self.assertEqual(leftover, ["slm:student:{7}:optout"])
        self.assertEqual(self.r.smembers("slm:student:{7}:optout"), {"email"})
        self.assertEqual([m for m in self.queue_members()
                          if names_student(m, "7")], [])
        self.assertIsNone(self.r.hget("slm:leads", "7"))
        self.assertIsNone(self.r.zscore("slm:staff:s1:leads", "7"))
        self.assertIsNone(self.r.zscore("slm:alert:{m1:1:wecom}:leads", "7"))
        self.assertIsNone(self.r.hget("slm:alert:{m1:1:wecom}:lead", "7"))
        self.assertEqual([k for k in self.r.scan_iter("slm:phone:*")
                          if self.r.get(k) == "7"], [])
        self.assertEqual(len(list(self.r.scan_iter("slm:phone:*"))), 1)
        # the other student is untouched and its queued step fires
        self.assertTrue(self.r.exists("slm:student:{8}:timeline"))
        self.assertEqual(self.r.hget("slm:leads", "8"), "s1")
        wait_for(lambda: self.sent("8", "later"), 5,
                 what="student 8's second message")
        time.sleep(0.5)
        self.assertEqual(self.sent("7", "later"), [], "a forgotten job fired")
        leftover = [k for k in self.r.scan_iter("*") if names_student(k, "7")]
        self.assertEqual(leftover, ["slm:student:{7}:optout"])
        # one audit entry, naming the student only by a hash
        audit = self.r.xrange("slm:audit")
        self.assertEqual(len(audit), 1)
        fields = audit[0][1]
        self.assertEqual(fields["action"], "forget")
        self.assertEqual(fields["student_sha256"],
                         hashlib.sha256(b"7").hexdigest())
        self.assertRegex(fields["removed"], r"keys=\d+ timeline_entries=\d+ "
                         r"jobs=1 leads=1 alerts=1 receipts=0 optout=kept")
        self.assertNotIn("+8613800", json.dumps(fields))

    def test_forget_all_removes_the_optout(self):
        self.start_runs()
        self.nudge.ctl("forget", "7", "--all")
        self.assertEqual([k for k in self.r.scan_iter("*")
                          if names_student(k, "7")], [])
        self.assertTrue(self.r.exists("slm:student:{8}:optout"))

    def test_forget_usage(self):
        self.assertEqual(self.nudge.ctl("forget", check=False).returncode, 2)
        self.assertEqual(self.nudge.ctl("forget", "a{b", check=False)
                         .returncode, 2)


SMS_EXTRA = """
[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[channel.gen]
type = sms
form = generic
url = {base}/generic
auth = bearer
token = env:GENERIC_TOKEN
callback_url = https://nudge.example.edu/receipts
timeout = 5s
"""


class ForgetInFlightTest(unittest.TestCase):
    """A job of the student that a daemon holds at that moment (its
    message is at a slow gateway): its outcome comes after the first
    sweep, and the second sweep removes what it wrote, receipt
    included."""

    def test_in_flight_outcome_swept(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        fake = subprocess.Popen(["/usr/bin/python3", FAKE, "--delay-ms",
                                 "1500"], stdout=subprocess.PIPE, text=True)
        self.addCleanup(fake.wait)
        self.addCleanup(fake.terminate)
        base = "http://127.0.0.1:%d" % int(fake.stdout.readline())
        n = Nudge(redis, http=False, extra=SMS_EXTRA.format(base=base))
        self.addCleanup(n.cleanup)
        n.write("rules/hello.rules", "stages lead\nrule hello {\n"
                "    on event ping\n    send gen hello\n}\n")
        n.write("templates/hello.sms", "您好 {{name}}")
        add_student(r, "7")
        n.start(env=dict(os.environ, GENERIC_TOKEN="generic-test-token"))
        wait_for(lambda: "nudged started" in n.log_text(), 10,
                 what="nudged to start")
        r.xadd("slm:events", {"type": "ping", "student": "7"})

        def arrived():  # counted on arrival, before the gateway's delay
            with urllib.request.urlopen(base + "/stats", timeout=5) as res:
                return json.loads(res.read())["requests"] > 0
        wait_for(arrived, 5, what="the message at the gateway")
        res = n.ctl("forget", "7")
        self.assertIn("in flight", res.stderr)
        self.assertEqual([k for k in r.scan_iter("*")
                          if names_student(k, "7")], [])
        self.assertEqual([k for k in r.scan_iter("slm:receipt:*")], [],
                         "a receipt record pointing at the student")
        self.assertEqual(n.stop(), 0)
        n.check_clean_log(self)


class RetentionTest(unittest.TestCase):
    def test_old_entries_trimmed_new_kept(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        now = int(time.time() * 1000)
        old = now - 3 * 86400 * 1000
        for sid in range(30):
            key = "slm:student:{%d}:timeline" % sid
            r.xadd(key, {"type": "sent", "detail": "old"}, id="%d-0" % old)
            r.xadd(key, {"type": "sent", "detail": "older"},
                   id="%d-1" % old)
            r.xadd(key, {"type": "sent", "detail": "new"},
                   id="%d-0" % (now - 3600 * 1000))
        nudge = Nudge(redis, http=False, extra=(
            "[retention]\ntimeline = 1d\nstudents_per_tick = 5\n"
            "interval = 50ms\n"))
        self.addCleanup(nudge.cleanup)
        nudge.start()

        def trimmed():
            return all(r.xlen("slm:student:{%d}:timeline" % s) == 1
                       for s in range(30))
        wait_for(trimmed, 10, what="every old entry trimmed")
        for sid in range(30):
            entries = r.xrange("slm:student:{%d}:timeline" % sid)
            self.assertEqual([f["detail"] for _i, f in entries], ["new"])
        self.assertEqual(nudge.stop(), 0)
        nudge.check_clean_log(self)

    def test_zero_keeps_forever(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        r.xadd("slm:student:{1}:timeline", {"type": "sent"}, id="1000-0")
        nudge = Nudge(redis, http=False, extra="[retention]\ntimeline = 0\n")
        self.addCleanup(nudge.cleanup)
        nudge.start()
        wait_for(lambda: "nudged started" in nudge.log_text(), 10,
                 what="nudged to start")
        time.sleep(0.5)
        self.assertEqual(r.xlen("slm:student:{1}:timeline"), 1)
        self.assertEqual(nudge.stop(), 0)


if __name__ == "__main__":
    unittest.main()

"""The supervisors' daily digest (issue 10, point 6) through the real
nudged and an outbox standing in for WeCom, against a throwaway Redis:
at [digest] at, each supervisor whose team had something happen gets one
message with the day's counts and the slowest recruiters, read from the
students' timelines; a supervisor with nothing to say gets nothing.
"""
import datetime
import time
import unittest

from harness import Nudge, NudgeTestCase, add_student, wait_for

STAFF = {"r1": "supA", "r2": "supA", "r3": "supB", "supA": "head",
         "supB": "head", "head": ""}


def digest_config(at):
    return """
[queue]
max_sleep = 200ms

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
timezone = Asia/Shanghai

[digest]
at = %s
channel = wecom

[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl
""" % at


class DigestTest(NudgeTestCase, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.nudge.cleanup()
        # the latest firing is the start of this minute, Beijing time
        self.now = time.time()
        local = datetime.datetime.utcfromtimestamp(self.now + 8 * 3600)
        self.day = local.strftime("%Y-%m-%d")
        self.fire_ms = int(self.now // 60 * 60 * 1000)
        self.nudge = Nudge(self.redis, extra=digest_config(local.strftime("%H:%M")))
        for sid, sup in STAFF.items():
            self.r.hset("slm:staff:" + sid, mapping={
                "name": "老师" + sid, "wecom_userid": "wc_" + sid,
                "supervisor": sup})

    def tearDown(self):
        try:
            self.stop_clean()
        finally:
            super().tearDown()

    def lead(self, sid, owner, *entries):
        """A student of owner whose timeline holds entries (type, minutes
        before the firing), oldest first."""
        add_student(self.r, sid, owner=owner)
        for type_, minutes in entries:
            ms = self.fire_ms - minutes * 60 * 1000
            self.r.xadd("slm:student:{%s}:timeline" % sid,
                        {"type": type_, "actor": "crm"}, id="%d-0" % ms)

    def outbox(self):
        return self.nudge.outbox()

    def test_daily_digest_per_supervisor(self):
        """supA's team: 4 new leads, 2 followed up in time, 2 overdue, r1
        the slowest; supB's team had nothing: no message; the digest goes
        once."""
        self.lead("101", "r1", ("assigned", 300), ("followup", 290))
        self.lead("102", "r1", ("assigned", 300), ("escalated", 240),
                  ("followup", 180))
        self.lead("103", "r1", ("assigned", 200), ("escalated", 100))
        self.lead("104", "r2", ("assigned", 100), ("followup", 95))
        # older than the day's window: not counted
        self.lead("105", "r3", ("assigned", 25 * 60), ("escalated", 24 * 60 + 5))
        self.nudge.start()
        wait_for(self.outbox, 15, what="the digest")
        time.sleep(1.5)  # a second message (supB, head, or twice) by now
        msgs = self.outbox()
        self.assertEqual(len(msgs), 1, msgs)
        msg = msgs[0]
        self.assertEqual((msg["to"], msg["format"], msg["template"]),
                         ("wc_supA", "markdown", "digest"))
        self.assertEqual(
            msg["body"],
            "**Leads digest %s**: the team of 老师supA, last 24 hours\n"
            "New leads: 4\nFollowed up in time: 2\nOverdue (escalated): 2\n"
            "Slowest recruiters:\n"
            "1. 老师r1 · 1 not followed up · 1h 5m to first followup on average\n"
            "2. 老师r2 · 0 not followed up · 5m to first followup on average"
            % self.day)
        self.assertTrue(self.r.get("slm:digest:{supA}:%s" % self.day)
                        .startswith("sent "))
        self.assertIsNone(self.r.get("slm:digest:{supB}:%s" % self.day))

    def test_nothing_to_say_sends_nothing(self):
        """No lead assigned or overdue in the window: no digest at all."""
        self.lead("201", "r1", ("followup", 30))
        self.nudge.start()
        wait_for(lambda: "digest of %s: queued" % self.day in
                 self.nudge.log_text(), 10, what="the digest to fire")
        wait_for(lambda: not self.r.zcard("slm:q:{0}:due") and
                 not self.r.hlen("slm:q:{0}:jobs"), 10,
                 what="the digest job to run")
        self.assertEqual(self.outbox(), [])

    def test_outside_staff_hours_the_digest_waits(self):
        """[delivery] quiet_hours_staff holding now (Beijing time, computed
        from now): the digest is not sent, its job waits in the queue for
        the window's end, logged once (docs/policy.md, "Staff hours")."""
        local = datetime.datetime.utcfromtimestamp(self.now + 8 * 3600)
        start = (local - datetime.timedelta(minutes=1)).strftime("%H:%M")
        end = local.replace(second=0, microsecond=0) + datetime.timedelta(
            minutes=2)
        end_ms = int((end - datetime.datetime(1970, 1, 1)).total_seconds()
                     * 1000) - 8 * 3600 * 1000
        hours = "%s-%s" % (start, end.strftime("%H:%M"))
        with open(self.nudge.config) as f:
            config = f.read()
        self.nudge.write("nudged.conf", config.replace(
            "quiet_hours_staff =", "quiet_hours_staff = " + hours))
        self.lead("101", "r1", ("assigned", 300), ("escalated", 240))
        self.nudge.start()
        line = ("digest of %s to staff supA: staff hours %s in Asia/Shanghai: "
                "waits until %s" % (self.day, hours,
                                    end.strftime("%Y-%m-%d %H:%M")))
        wait_for(lambda: line in self.nudge.log_text(), 15,
                 what="the digest held")
        time.sleep(1.5)
        self.assertEqual(self.outbox(), [])
        self.assertEqual(self.nudge.log_text().count(line), 1)
        self.assertIsNone(self.r.get("slm:digest:{supA}:%s" % self.day))
        due = [(j, s) for j, s in self.r.zrange("slm:q:{0}:due", 0, -1,
                                                 withscores=True)
               if "supA" in j]
        self.assertEqual(len(due), 1, due)
        self.assertAlmostEqual(due[0][1], end_ms, delta=2000)


if __name__ == "__main__":
    unittest.main()

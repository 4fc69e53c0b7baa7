"""nudgectl pause / resume with two daemons sending from one queue:
nothing goes out while paused (everything, one channel, one rule), and
after resume every message goes out exactly once."""
import time
import unittest

from harness import Nudge, RedisServer, add_student, wait_for

CHANNELS = """
[channel.a]
type = outbox
as = sms
path = a.jsonl

[channel.b]
type = outbox
as = sms
path = b.jsonl

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
max_per_day = 0
dedup_window = 0  # ra and rb send the same template: both are meant to go
"""

RULES = """stages lead contacted
rule ra {
    on event ping
    send a hello
}
rule rb {
    on event ping
    send b hello
}
"""

STUDENTS = [str(i) for i in range(1, 13)]


def lines(nudge, name):
    return nudge.outbox(name)


class PauseTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        for sid in STUDENTS:
            add_student(self.r, sid)
        self.daemons = []
        for _ in range(2):
            n = Nudge(self.redis, http=False, extra=CHANNELS)
            self.addCleanup(n.cleanup)
            n.write("rules/ping.rules", RULES)
            n.write("templates/hello.sms", "您好 {{name}}")
            self.daemons.append(n)
        for n in self.daemons:
            n.start()
        for n in self.daemons:
            wait_for(lambda: "nudged started" in n.log_text(), 10,
                     what="nudged to start")
        self.ctl = self.daemons[0].ctl

    def tearDown(self):
        for n in self.daemons:
            self.assertEqual(n.stop(), 0, n.log_text()[-3000:])
            n.check_clean_log(self)

    def sent(self, channel):
        return sorted(m["student"] for n in self.daemons
                      for m in lines(n, channel + ".jsonl"))

    def ping_all(self):
        for sid in STUDENTS:
            self.r.xadd("slm:events", {"type": "ping", "student": sid})

    def paused_then_resumed(self, pause_args, held, free):
        """Pauses, sends a ping to every student, checks that the held
        channels get nothing (and the free ones everything), resumes and
        checks that each message went out once."""
        self.ctl("pause", *pause_args)
        time.sleep(0.8)  # each daemon reads the pause within 500 ms
        self.ping_all()
        for ch in free:
            wait_for(lambda: len(self.sent(ch)) >= len(STUDENTS), 10,
                     what="the sends that are not paused")
        time.sleep(1.5)  # the held jobs come round at least once meanwhile
        for ch in held:
            self.assertEqual(self.sent(ch), [], "sent while paused: " + ch)
        stats = self.ctl("queue", "stats").stdout
        self.assertRegex(stats, r"paused\s+%s" % (
            "all" if not pause_args else "\\S*" + pause_args[-1]))
        self.ctl("resume", *pause_args)
        for ch in held:
            wait_for(lambda: len(self.sent(ch)) >= len(STUDENTS), 10,
                     what="the held sends after resume")
        time.sleep(1.2)
        for ch in held + free:
            self.assertEqual(self.sent(ch), sorted(STUDENTS),
                             "each student once on " + ch)
        self.assertIn("paused      nothing", self.ctl("queue", "stats").stdout)

    def test_pause_everything(self):
        self.paused_then_resumed([], ["a", "b"], [])

    def test_pause_one_channel(self):
        self.paused_then_resumed(["--channel", "a"], ["a"], ["b"])

    def test_pause_one_rule(self):
        self.paused_then_resumed(["--rule", "rb"], ["b"], ["a"])

    def test_resume_with_nothing_paused(self):
        res = self.ctl("resume", "--channel", "a", check=False)
        self.assertEqual(res.returncode, 1)
        res = self.ctl("pause", "--bogus", check=False)
        self.assertEqual(res.returncode, 2)
        res = self.ctl("pause", "--channel", "smss", check=False)
        self.assertEqual(res.returncode, 2)
        self.assertIn('no channel "smss"', res.stderr)



ALERT_EXTRA = """
[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[alerts]
group_wait = 2s
group_interval = 1s

[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl
"""

ALERT_RULES = """stages lead contacted
rule sla {
    on assigned
    escalate level 1 via wecom lead_overdue
}
"""


class PauseAlertTest(unittest.TestCase):
    """A grouped alert whose channel is paused waits in the queue (without
    turning into a dead letter) and goes out once after resume."""

    def test_alert_waits_for_resume(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        n = Nudge(redis, http=False, extra=ALERT_EXTRA)
        self.addCleanup(n.cleanup)
        n.write("rules/sla.rules", ALERT_RULES)
        n.write("templates/lead_overdue.wecom", "{{count}} 条线索超时")
        for sid, sup in (("r1", "sup"), ("sup", "")):
            r.hset("slm:staff:" + sid, mapping={
                "name": sid, "wecom_userid": "wc_" + sid, "supervisor": sup})
        n.start()
        wait_for(lambda: "nudged started" in n.log_text(), 10,
                 what="nudged to start")
        for sid in ("1", "2"):
            add_student(r, sid, owner="r1")
            r.xadd("slm:events", {"type": "assigned", "student": sid,
                                  "owner": "r1"})
        escalated = lambda sid: any(
            f.get("type") == "escalated" for _i, f in
            r.xrange("slm:student:{%s}:timeline" % sid))
        wait_for(lambda: escalated("1") and escalated("2"), 5,
                 what="both leads in the alert group")
        n.ctl("pause", "--channel", "wecom")
        time.sleep(3.5)  # the group's job fell due 2 s after the first lead
        self.assertEqual(lines(n, "outbox.jsonl"), [], "alert while paused")
        self.assertIn("in flight   0", n.ctl("queue", "stats").stdout)
        self.assertIn("dead        0", n.ctl("queue", "stats").stdout)
        n.ctl("resume")
        wait_for(lambda: lines(n, "outbox.jsonl"), 5, what="the alert")
        time.sleep(1.0)
        sent = lines(n, "outbox.jsonl")
        self.assertEqual(len(sent), 1, sent)
        self.assertTrue(sent[0]["body"].startswith("2 条线索超时"), sent[0])
        self.assertEqual(n.stop(), 0)
        n.check_clean_log(self)


if __name__ == "__main__":
    unittest.main()

"""[delivery] dedup_window: the same template to the same student at most
once within the window, across rules and daemons (docs/policy.md,
"Dedup"), with the outbox channel: one sent and one `skipped` with the
reason; two daemons racing send one message; a retried send is not
skipped by its own claim; after the window it goes again; a capped send
gives the claim back; `nudgectl simulate` says so."""
import re
import time
import unittest

from harness import Nudge, RedisServer, add_student, timeline, wait_for
from test_sends import SendsTest

BASE = """
[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
max_sleep = 200ms
retry_base = 200ms
retry_cap = 500ms

[channel.sms]
type = outbox
as = sms
path = outbox.jsonl

[channel.mail]
type = outbox
as = email
path = outbox.jsonl
"""

DELIVERY = """
[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
max_per_day = {cap}
dedup_window = {window}
"""

RULES = """stages lead
rule ra {
    on event ping
    send sms hello
}
rule rb {
    on event ping
    send sms hello
}
rule rother {
    on event other
    send sms other
}
rule rlate {
    on event late
    send sms hello
}
rule rmail {
    on event mail
    send mail hello
}
rule rburst {
    on event burst
    send sms hello
    send sms other
    send mail hello
}
"""

REASON = re.compile(r"^template hello was sent to this student at "
                    r"\d\d:\d\d, within dedup_window$")
STEP_TYPES = ("sent", "skipped", "failed")


def outbox(nudge):
    return nudge.outbox()


class DedupCase(unittest.TestCase):
    window = "24h"
    cap = 0
    daemons = 1

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudges = []
        for _ in range(self.daemons):
            n = Nudge(self.redis, http=False, extra=self.config())
            self.addCleanup(n.cleanup)
            self.write_files(n)
            self.nudges.append(n)
        for n in self.nudges:
            n.start()
        for n in self.nudges:
            wait_for(lambda: "nudged started" in n.log_text(), 10,
                     what="nudged to start")

    def config(self):
        return BASE + DELIVERY.format(cap=self.cap, window=self.window)

    def write_files(self, n):
        n.write("rules/ping.rules", RULES)
        n.write("templates/hello.sms", "您好 {{name}}")
        n.write("templates/other.sms", "再见 {{name}}")
        n.write("templates/hello.email", "Subject: 您好\n\n您好 {{name}}\n")

    def tearDown(self):
        for n in self.nudges:
            self.assertEqual(n.stop(), 0, n.log_text()[-3000:])
            n.check_clean_log(self)

    def emit(self, sid, kind="ping"):
        self.r.xadd("slm:events", {"type": kind, "student": sid})

    def steps(self, sid):
        return [e for e in timeline(self.r, sid) if e["type"] in STEP_TYPES]

    def wait_steps(self, sid, count):
        return wait_for(lambda: len(self.steps(sid)) >= count and
                        self.steps(sid), 10,
                        what="%d step entries of student %s" % (count, sid))

    def sent_to(self, sid, template="hello"):
        return [m for n in self.nudges for m in outbox(n)
                if m.get("student") == sid and m.get("template") == template]


class TwoRulesTest(DedupCase):
    def test_second_rule_is_skipped_with_the_reason(self):
        add_student(self.r, "1")
        self.emit("1")
        steps = self.wait_steps("1", 2)
        time.sleep(0.5)  # nothing more comes
        steps = self.steps("1")
        self.assertEqual(sorted(e["type"] for e in steps),
                         ["sent", "skipped"], steps)
        skipped = [e for e in steps if e["type"] == "skipped"][0]
        self.assertRegex(skipped["detail"], REASON)
        self.assertEqual(skipped["template"], "hello")
        self.assertEqual(len(self.sent_to("1")), 1)
        # simulate reads the claim and says the send would be skipped
        out = self.nudges[0].ctl("simulate", "1").stdout
        self.assertRegex(out, r"skipped: template hello was sent to this "
                              r"student at \d\d:\d\d, within dedup_window")

    def test_the_email_of_the_template_is_another_message(self):
        add_student(self.r, "5", email="s5@example.edu")
        self.emit("5")
        self.wait_steps("5", 2)
        self.emit("5", "mail")
        steps = self.wait_steps("5", 3)
        self.assertEqual(steps[-1]["type"], "sent", steps)
        self.assertEqual(steps[-1]["channel"], "mail", steps)
        self.assertEqual(len(self.sent_to("5")), 2)  # one SMS, one email

    def test_another_template_still_goes(self):
        add_student(self.r, "2")
        self.emit("2")
        self.wait_steps("2", 2)
        self.emit("2", "other")
        self.wait_steps("2", 3)
        self.assertEqual(len(self.sent_to("2", "other")), 1)


class TwoDaemonsTest(DedupCase):
    daemons = 2

    def test_racing_daemons_send_one_message(self):
        students = [str(i) for i in range(1, 11)]
        for sid in students:
            add_student(self.r, sid)
        for sid in students:
            self.emit(sid)
        for sid in students:
            self.wait_steps(sid, 2)
        time.sleep(0.5)
        for sid in students:
            self.assertEqual(len(self.sent_to(sid)), 1, sid)
            steps = self.steps(sid)
            self.assertEqual([e["type"] for e in steps].count("sent"), 1, sid)
            # A step is handled at least once: a daemon slowed down past a
            # lease (a loaded machine, ASan) may see its skip again, but
            # every entry past the one sent is a skip for the same reason.
            for e in steps:
                if e["type"] != "sent":
                    self.assertEqual(e["type"], "skipped", steps)
                    self.assertRegex(e["detail"], REASON)


class ShortWindowTest(DedupCase):
    window = "2s"

    def test_after_the_window_it_goes_again(self):
        add_student(self.r, "3")
        self.emit("3")
        self.wait_steps("3", 2)
        self.emit("3", "late")  # within the window: skipped
        steps = self.wait_steps("3", 3)
        self.assertEqual(steps[-1]["type"], "skipped", steps)
        self.assertRegex(steps[-1]["detail"], REASON)
        time.sleep(2.2)
        self.emit("3", "late")
        steps = self.wait_steps("3", 4)
        self.assertEqual(steps[-1]["type"], "sent", steps)
        self.assertEqual(len(self.sent_to("3")), 2)


class CappedTest(DedupCase):
    cap = 1

    def test_a_capped_send_gives_the_claim_back(self):
        add_student(self.r, "4")
        self.emit("4", "other")  # takes the day's one message
        self.wait_steps("4", 1)
        self.emit("4", "late")
        steps = self.wait_steps("4", 2)
        self.assertEqual(steps[-1]["type"], "skipped", steps)
        self.assertIn("daily cap", steps[-1]["detail"])
        self.assertFalse(self.r.exists("slm:student:{4}:dedup:hello.sms"))
        # a new day: the cap's count is gone; hello is not held against it
        for key in self.r.scan_iter("slm:student:{4}:sent:*"):
            self.r.delete(key)
        self.emit("4", "late")
        steps = self.wait_steps("4", 3)
        self.assertEqual(steps[-1]["type"], "sent", steps)
        self.assertEqual(len(self.sent_to("4")), 1)


class RetryTest(SendsTest):
    """A send that failed for now is retried: its own claim lets it go."""

    base = SendsTest.base.replace("max_per_day = 0\n",
                                  "max_per_day = 0\ndedup_window = 24h\n")

    def test_retry_is_not_skipped_by_its_own_claim(self):
        add_student(self.r, "3")
        self.gw.rules({"suffix": "000003", "status": 500})
        self.start()
        self.emit("3")
        self.wait_outcome("3", "failed")
        claim = self.r.get("slm:student:{3}:dedup:msg.sms")
        self.assertIsNotNone(claim, "the claim is kept for the retry")
        self.gw.rules()  # the gateway recovers
        steps = self.wait_outcome("3", "sent")
        self.assert_retried_then_sent(steps)
        self.assertNotIn("skipped", [e["type"] for e in self.steps("3")])
        self.assertEqual(len(self.received_by("3")), 1)
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()


class TwoDaemonsCapTest(DedupCase):
    """[delivery] max_per_day across channels with two daemons sending at
    once: never above the cap (the count is one INCR per send, shared)."""
    daemons = 2
    cap = 2
    window = "0"

    def test_never_above_the_cap(self):
        students = [str(i) for i in range(1, 21)]
        for sid in students:
            add_student(self.r, sid, email="s%s@example.edu" % sid)
        for count in (3, 6):  # two bursts of three messages each; the
            for sid in students:  # rule's second run starts only once
                self.emit(sid, "burst")  # its first has ended
            for sid in students:
                self.wait_steps(sid, count)
        time.sleep(0.5)
        for sid in students:
            got = [m for n in self.nudges for m in outbox(n)
                   if m.get("student") == sid]
            self.assertEqual(len(got), 2, (sid, got))
            steps = self.steps(sid)
            self.assertEqual(sorted(e["type"] for e in steps),
                             ["sent"] * 2 + ["skipped"] * 4, steps)
            for e in steps:
                if e["type"] == "skipped":
                    self.assertEqual(e["detail"],
                                     "daily cap of 2 messages reached")
        # two outbox channels write one file: every message its own id
        ids = [m["id"] for n in self.nudges for m in outbox(n)]
        self.assertEqual(len(ids), len(set(ids)), ids)

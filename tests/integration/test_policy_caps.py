"""Frequency caps (docs/policy.md, "Frequency caps"): per local day and
week, per class and per channel, shared by two daemons sending at once
(never above a cap), skipped with the reason on the timeline or, with
over_cap = defer, deferred to the end of the cap's day; bad values are
config errors naming file:line."""
import time
import unittest
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from harness import Nudge, RedisServer, add_student, timeline
from test_policy_dedup import DedupCase, outbox

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
{sms_caps}

[channel.mail]
type = outbox
as = email
path = outbox.jsonl

[delivery]
quiet_hours =
quiet_hours_service =
dedup_window = 0
{delivery}
"""

RULES = """stages lead
rule burst {
    on event burst
    send sms promo
    send sms promo2
    send mail promo
    send sms result
}
"""

STEP_TYPES = ("sent", "skipped", "failed", "deferred")


class CapsCase(DedupCase):
    delivery = ""
    sms_caps = ""

    def config(self):
        return BASE.format(delivery=self.delivery, sms_caps=self.sms_caps)

    def write_files(self, n):
        n.write("rules/burst.rules", RULES)
        n.write("templates/promo.sms", "Kind: marketing\n\n开放日 {{name}}")
        n.write("templates/promo2.sms", "Kind: marketing\n\n奖学金 {{name}}")
        n.write("templates/promo.email",
                "Kind: marketing\nSubject: 开放日\n\n开放日 {{name}}\n")
        n.write("templates/result.sms", "Kind: service\n\n录取结果 {{name}}")

    def emit(self, sid, kind="burst"):
        self.r.xadd("slm:events", {"type": kind, "student": sid})

    def steps(self, sid):
        return [e for e in timeline(self.r, sid) if e["type"] in STEP_TYPES]

    def received(self, sid):
        return sorted((m.get("template"), m.get("type", "")) for n in
                      self.nudges for m in outbox(n)
                      if m.get("student") == sid)

    def skipped(self, sid):
        return sorted(e["detail"] for e in self.steps(sid)
                      if e["type"] == "skipped")


class WeeklyCapTwoDaemonsTest(CapsCase):
    """max_per_week with two daemons sending at once: never above it."""
    daemons = 2
    delivery = "max_per_day = 0\nmax_per_week = 3"

    def test_never_above_the_weekly_cap(self):
        students = [str(i) for i in range(1, 16)]
        for sid in students:
            add_student(self.r, sid, email="s%s@example.edu" % sid)
        for count in (4, 8):  # two bursts of four messages each; a
            for sid in students:  # rule's run starts after the last ends
                self.emit(sid)
            for sid in students:
                self.wait_steps(sid, count)
        time.sleep(0.5)
        for sid in students:
            self.assertEqual(len(self.received(sid)), 3, sid)
            self.assertEqual(self.skipped(sid),
                             ["weekly cap of 3 messages reached"] * 5)
        # the week's counter, named by its Monday in the student's zone
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        monday = today - timedelta(days=today.weekday())
        self.assertEqual(self.r.get("slm:student:{1}:sent:w%s" % monday),
                         "3")


class ClassCapTest(CapsCase):
    """max_per_day_marketing holds marketing back; service still goes."""
    delivery = "max_per_day = 0\nmax_per_day_marketing = 1"

    def test_marketing_capped_service_goes(self):
        add_student(self.r, "1", email="s1@example.edu")
        self.emit("1")
        self.wait_steps("1", 4)
        time.sleep(0.3)
        got = [t for t, _ in self.received("1")]
        self.assertEqual(sorted(got), ["promo", "result"])
        self.assertEqual(self.skipped("1"),
                         ["daily cap of 1 marketing message reached"] * 2)


class ChannelCapTest(CapsCase):
    """[channel.sms] max_per_day: SMS capped, email not."""
    delivery = "max_per_day = 0"
    sms_caps = "max_per_day = 1"

    def test_sms_capped_email_goes(self):
        add_student(self.r, "1", email="s1@example.edu")
        self.emit("1")
        self.wait_steps("1", 4)
        time.sleep(0.3)
        got = [t for t, _ in self.received("1")]
        self.assertEqual(sorted(got), ["promo", "promo"])  # sms + mail
        self.assertEqual(self.skipped("1"),
                         ["daily cap of 1 sms channel message reached"] * 2)


class DeferOverCapTest(CapsCase):
    """over_cap = defer: over the cap a send waits for the student's next
    local day (here New York's), as a queued job, with a `deferred`
    entry saying until when; nothing more goes today."""
    delivery = "max_per_day = 1\nover_cap = defer"

    def test_deferred_to_the_next_local_day(self):
        add_student(self.r, "1", email="s1@example.edu",
                    tz="America/New_York")
        self.emit("1")
        self.wait_steps("1", 2)  # sent, deferred (the run waits there)
        time.sleep(0.5)
        steps = self.steps("1")
        self.assertEqual([e["type"] for e in steps], ["sent", "deferred"],
                         steps)
        zone = ZoneInfo("America/New_York")
        tomorrow = datetime.now(zone).date() + timedelta(days=1)
        midnight = datetime(tomorrow.year, tomorrow.month, tomorrow.day,
                            tzinfo=zone)
        self.assertEqual(steps[1]["detail"],
                         "daily cap of 1 message reached: until %s 00:00"
                         % tomorrow)
        jobs = self.r.zrange("slm:q:{0}:due", 0, -1, withscores=True)
        deferred = [(j, s) for j, s in jobs if ":daily_cap:" in j]
        self.assertEqual(len(deferred), 1, jobs)
        # due at the next local midnight: never before, within a second
        # (its delay is counted from the instant it was scheduled)
        late = int(deferred[0][1]) - int(midnight.timestamp() * 1000)
        self.assertTrue(0 <= late < 1000, late)
        self.assertEqual(len(self.received("1")), 1)


class BadCapConfigTest(unittest.TestCase):
    def check(self, extra, want):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        n = Nudge(redis, http=False, extra=extra)
        self.addCleanup(n.cleanup)
        n.write("rules/none.rules", "stages lead\n")
        p = n.ctl("check", check=False)
        self.assertEqual(p.returncode, 2, p.stdout + p.stderr)
        self.assertIn(want, p.stdout + p.stderr)

    def test_over_cap_word(self):
        self.check("[delivery]\nover_cap = later\n",
                   'invalid over_cap "later": use skip (the message is not '
                   'sent) or defer (it waits until the cap\'s day or week '
                   'is over)')

    def test_negative_week(self):
        self.check("[delivery]\nmax_per_week_marketing = -1\n",
                   'invalid number "-1"')


if __name__ == "__main__":
    unittest.main()

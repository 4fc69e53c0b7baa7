"""Staff hours (docs/policy.md, "Staff hours") and the opt-out
confirmation's service quiet hours, through the real nudged and a throwaway
Redis, at any hour of any day: every window is computed from the current
time, in UTC ([delivery] timezone = UTC, so [worktime] is in UTC too).

- an `escalate` and a `notify owner` step outside working time get a
  `deferred` entry saying until when, and nothing reaches the outbox;
  with working time open they go;
- a grouped alert's job that falls inside the staff window waits in the
  queue until the window's end (logged once, counted), nothing is sent;
  when it comes due with the window open it is sent, once;
- an opt-out reply inside the service quiet hours gets no confirmation
  until they end (a `deferred` entry, a queued job); then the
  confirmation goes to the student although they opted out.

"Time passes" by making the waiting job due now in Redis (the queue's
keys, docs/redis.md) once the daemon runs with the window open: the tests
never sleep for a window to end.
"""
import datetime
import json
import time
import unittest
import urllib.request

from harness import (Nudge, NudgeTestCase, add_student, http_get, metric,
                     timeline, wait_for)

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

BASE = """
[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
max_sleep = 200ms
retry_base = 200ms

[delivery]
timezone = UTC
quiet_hours =
max_per_day = 0
{delivery}

[worktime]
{worktime}

[alerts]
group_wait = {group_wait}
group_interval = 1s

[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl
"""

RULES = """\
stages lead contacted

rule sla {
    on assigned
    escalate level 1 via wecom lead_overdue
}

rule hello {
    on assigned
    notify owner via wecom new_lead
}
"""

STAFF = {"r1": "supA", "supA": ""}

STAFF_DEFERRED = 'nudge_policy_total{verdict="deferred",reason="staff_hours",class="staff"}'


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def closed_days():
    """[worktime] days with every day but today: now is outside working
    time, and it opens at 00:00 UTC tomorrow."""
    today = utc_now().weekday()
    return ",".join(d for i, d in enumerate(DAYS) if i != today)


def window_around_now():
    """Quiet hours "HH:MM-HH:MM" (UTC) holding now, and the instant (ms)
    they end: from the minute before this one to two minutes on."""
    now = utc_now().replace(second=0, microsecond=0)
    start = now - datetime.timedelta(minutes=1)
    end = now + datetime.timedelta(minutes=2)
    return ("%s-%s" % (start.strftime("%H:%M"), end.strftime("%H:%M")),
            int(end.timestamp() * 1000))


class StaffHoursTest(NudgeTestCase, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.nudge.cleanup()
        self.nudge = None

    def tearDown(self):
        if self.nudge:
            self.stop_clean()
        super().tearDown()

    def make(self, delivery="", worktime="", group_wait="1s"):
        if self.nudge:
            self.stop_clean()
            self.nudge.cleanup()
        self.nudge = Nudge(self.redis, extra=BASE.format(
            delivery=delivery, worktime=worktime, group_wait=group_wait))
        self.nudge.write("rules/staff.rules", RULES)
        self.nudge.write("templates/lead_overdue.wecom",
                         "Kind: staff\n\n{{count}} 条线索超时，请督促跟进。\n")
        self.nudge.write("templates/new_lead.wecom",
                         "Kind: staff\n\n新线索：{{name}}\n")
        for sid, sup in STAFF.items():
            self.r.hset("slm:staff:" + sid, mapping={
                "name": "老师" + sid, "wecom_userid": "wc_" + sid,
                "supervisor": sup})
        self.nudge.start()
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")

    def outbox(self):
        return self.nudge.outbox()

    def entries(self, sid, type_):
        return [e for e in timeline(self.r, sid) if e["type"] == type_]

    def assign(self, sid):
        add_student(self.r, sid, owner="r1")
        self.r.xadd("slm:events", {"type": "assigned", "student": sid,
                                   "owner": "r1"})

    def metrics(self):
        return http_get(self.nudge.http_port, "/metrics")[1]

    def test_outside_working_time_steps_wait_and_nothing_is_sent(self):
        self.make(worktime="days = %s\nhours = 00:00-24:00" % closed_days())
        self.assign("7")
        wait_for(lambda: len(self.entries("7", "deferred")) == 2,
                 what="both staff steps deferred")
        tomorrow = (utc_now() + datetime.timedelta(days=1)).strftime(
            "%Y-%m-%d 00:00")
        for e in self.entries("7", "deferred"):
            self.assertEqual(
                e["detail"],
                "staff hours: outside working time (%s 00:00-24:00 in UTC): "
                "until %s" % (closed_days(), tomorrow))
        self.assertEqual(sorted(e["template"] for e in self.entries("7", "deferred")),
                         ["lead_overdue", "new_lead"])
        # the steps wait in the queue for the window's end
        due = self.r.zrange("slm:q:{0}:due", 0, -1, withscores=True)
        self.assertEqual(len(due), 2, due)
        opens = int(datetime.datetime.strptime(tomorrow, "%Y-%m-%d %H:%M")
                    .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
        for job, score in due:
            self.assertIn(":staff_hours:%d" % opens, job)
            self.assertAlmostEqual(score, opens, delta=1000)
        time.sleep(1.5)  # group_wait would have sent an alert by now
        self.assertEqual(self.outbox(), [])
        self.assertEqual(self.entries("7", "escalated"), [])
        self.assertEqual(metric(self.metrics(), STAFF_DEFERRED), 2)
        # simulate says the same as the daemon (for a student with no run
        # in progress)
        add_student(self.r, "8", owner="r1")
        out = self.nudge.ctl("simulate", "8", "--event", "assigned",
                             "owner=r1").stdout
        self.assertEqual(out.count("staff hours: outside working time"), 2, out)

    def test_working_time_open_the_steps_go(self):
        self.make(worktime="days = mon-sun\nhours = 00:00-24:00")
        self.assign("7")
        wait_for(lambda: len(self.outbox()) == 2, what="the notice and the alert")
        self.assertEqual(sorted(m["template"] for m in self.outbox()),
                         ["lead_overdue", "new_lead"])
        self.assertEqual(self.entries("7", "deferred"), [])
        self.assertEqual(metric(self.metrics(), STAFF_DEFERRED), 0)

    def test_staff_hours_off_the_steps_go(self):
        self.make(delivery="quiet_hours_staff =",
                  worktime="days = %s" % closed_days())
        self.assign("7")
        wait_for(lambda: len(self.outbox()) == 2, what="the notice and the alert")
        self.assertEqual(self.entries("7", "deferred"), [])

    def test_alert_job_waits_for_the_window_then_goes_once(self):
        # the escalation joins its group while staff hours are off ...
        self.make(delivery="quiet_hours_staff =", group_wait="5s")
        self.assign("7")
        wait_for(lambda: self.entries("7", "escalated"), what="escalated")
        job = "alert:supA:1:wecom:1"
        self.assertIsNotNone(self.r.zscore("slm:q:{0}:due", job))
        # ... and its job comes due inside them
        hours, end_ms = window_around_now()
        self.make(delivery="quiet_hours_staff = %s" % hours, group_wait="5s")
        self.r.zadd("slm:q:{0}:due", {job: 0})
        line = "alert supA:1:wecom batch 1: staff hours %s in UTC: waits until" % hours
        wait_for(lambda: line in self.nudge.log_text(), what="the log line")
        self.assertAlmostEqual(self.r.zscore("slm:q:{0}:due", job), end_ms,
                               delta=2000)
        time.sleep(1.5)  # a paused job would come round every second
        self.assertEqual([m for m in self.outbox()
                          if m["template"] == "lead_overdue"], [])
        self.assertEqual(self.nudge.log_text().count(line), 1)
        self.assertEqual(metric(self.metrics(), STAFF_DEFERRED), 1)
        # the window's end comes: the job is due with staff hours open
        self.make(delivery="quiet_hours_staff =", group_wait="5s")
        self.r.zadd("slm:q:{0}:due", {job: 0})
        wait_for(lambda: [m for m in self.outbox()
                          if m["template"] == "lead_overdue"],
                 what="the alert")
        time.sleep(0.5)
        alerts = [m for m in self.outbox() if m["template"] == "lead_overdue"]
        self.assertEqual(len(alerts), 1)
        self.assertEqual(alerts[0]["to"], "wc_supA")
        wait_for(lambda: self.entries("7", "alerted"), what="alerted entry")


CONSENT = """
[delivery]
timezone = UTC
quiet_hours =
quiet_hours_service = {service}
quiet_hours_staff =

[queue]
max_sleep = 200ms

[consent]
confirm_template = optout_confirm
"""


class ConfirmationHoursTest(NudgeTestCase, unittest.TestCase):
    def setUp(self):
        super().setUp()
        self.nudge.cleanup()
        self.nudge = None

    def tearDown(self):
        if self.nudge:
            self.stop_clean()
        super().tearDown()

    def make(self, service):
        if self.nudge:
            self.stop_clean()
            self.nudge.cleanup()
        self.nudge = Nudge(self.redis, extra=CONSENT.format(service=service))
        self.nudge.write("templates/optout_confirm.sms",
                         "Kind: service\n\n退订成功，{{name}}将不再收到短信。\n")
        self.nudge.start()
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")

    def reply(self, sid, text):
        body = json.dumps({"from": "+8613800%06d" % int(sid),
                           "text": text}).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d/replies/sms" % self.nudge.http_port,
            data=body, method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as res:
            self.assertEqual(res.status, 200)

    def student(self, sid):
        add_student(self.r, sid)
        self.r.set("slm:phone:+8613800%06d" % int(sid), sid)

    def confirmations(self, sid):
        return [m for m in self.nudge.outbox() if m.get("student") == sid
                and m.get("template") == "optout_confirm"]

    def entries(self, sid, type_):
        return [e for e in timeline(self.r, sid) if e["type"] == type_]

    def waiting_job(self, sid):
        return [j for j in self.r.zrange("slm:q:{0}:due", 0, -1)
                if j.startswith("run:%s:consent:" % sid)]

    def test_confirmation_waits_out_the_service_quiet_hours(self):
        hours, end_ms = window_around_now()
        self.make(hours)
        self.student("7")
        self.reply("7", "TD")
        wait_for(lambda: self.entries("7", "deferred"), what="deferred entry")
        self.assertEqual(self.r.smembers("slm:student:{7}:optout"), {"sms"})
        e = self.entries("7", "deferred")[0]
        end = datetime.datetime.fromtimestamp(end_ms / 1000,
                                              datetime.timezone.utc)
        self.assertEqual(e["detail"], "opt-out confirmation: quiet hours %s "
                         "in UTC: until %s" % (hours, end.strftime("%Y-%m-%d %H:%M")))
        self.assertEqual((e["actor"], e["template"], e["channel"]),
                         ("consent", "optout_confirm", "outbox"))
        [job] = self.waiting_job("7")
        self.assertAlmostEqual(self.r.zscore("slm:q:{0}:due", job), end_ms,
                               delta=2000)
        time.sleep(1)
        self.assertEqual(self.confirmations("7"), [])
        _, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(metric(text, 'nudge_policy_total{verdict="deferred",'
                                'reason="quiet_hours",class="service"}'), 1)
        # the quiet hours end: the confirmation goes to the opted-out
        # student, once
        self.make("")
        self.r.zadd("slm:q:{0}:due", {job: 0})
        wait_for(lambda: self.entries("7", "sent"), what="the confirmation")
        time.sleep(0.5)
        self.assertEqual(len(self.confirmations("7")), 1)
        self.assertEqual(self.confirmations("7")[0]["to"], "+8613800000007")
        self.assertEqual(self.r.smembers("slm:student:{7}:optout"), {"sms"})

    def test_outside_the_quiet_hours_it_goes_at_once(self):
        self.make("")
        self.student("8")
        self.reply("8", "退订")
        wait_for(lambda: self.confirmations("8"), what="the confirmation")
        self.assertEqual(self.entries("8", "deferred"), [])

    def test_opted_in_meanwhile_no_confirmation(self):
        hours, _ = window_around_now()
        self.make(hours)
        self.student("9")
        self.reply("9", "TD")
        wait_for(lambda: self.waiting_job("9"), what="the queued confirmation")
        [job] = self.waiting_job("9")
        self.nudge.ctl("optin", "9")
        self.make("")
        self.r.zadd("slm:q:{0}:due", {job: 0})
        wait_for(lambda: self.entries("9", "skipped"), what="skipped entry")
        self.assertIn("opted in again", self.entries("9", "skipped")[0]["detail"])
        self.assertEqual(self.confirmations("9"), [])


if __name__ == "__main__":
    unittest.main()

"""Grouped alerts (issue 10, point 5) through the real nudged, delayed
queue and outbox channels standing in for WeCom and email, against a
throwaway Redis: escalations become one message per (supervisor, level,
channel), followups inside the group window take their lead out, an empty
group sends nothing, WeCom markdown stays within 4096 bytes, and a job
run again never sends its batch twice.
"""
import json
import os
import re
import subprocess
import time
import unittest

from harness import (ROOT, Nudge, NudgeTestCase, add_student, http_get,
                     metric, timeline, wait_for)

EXTRA = """
[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
max_sleep = 200ms
retry_base = 200ms

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[leads]
closed_tag = closed

[alerts]
group_wait = {group_wait}
group_interval = 1s
crm_url = https://crm.example.edu/students/{{id}}

[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl

[channel.email]
type = outbox
as = email
path = outbox.jsonl
"""

RULES = """\
stages lead contacted

rule sla {
    on assigned
    wait 2s
    stop if followed_up
    escalate level 1 via wecom lead_overdue
    wait 2s
    stop if followed_up
    escalate level 2 via email lead_overdue
}
"""

WECOM = """\
Format: markdown

**线索跟进超时**：{{count}} 条（{{level}} 级升级），请{{supervisor.name}}督促跟进。
"""

EMAIL = """\
Subject: {{count}} 条线索跟进超时（{{level}} 级）

{{supervisor.name}}您好：以下线索已超时未跟进。
"""

# r1, r2 report to supA; r3, r4 to supB; both supervisors to head.
STAFF = {"r1": "supA", "r2": "supA", "r3": "supB", "r4": "supB",
         "supA": "head", "supB": "head", "head": ""}


def owner_of(i):
    return "r%d" % (i % 4 + 1)


class AlertsTest(NudgeTestCase, unittest.TestCase):
    group_wait = "1s"
    extra_rules = ""

    def config(self):
        return EXTRA.format(group_wait=self.group_wait)

    def setUp(self):
        super().setUp()
        self.nudge.cleanup()
        self.env = None
        self.start_fakes()
        self.nudge = Nudge(self.redis, extra=self.config())
        self.nudge.write("rules/sla.rules", RULES + self.extra_rules)
        self.nudge.write("templates/lead_overdue.wecom", WECOM)
        self.nudge.write("templates/lead_overdue.email", EMAIL)
        for sid, sup in STAFF.items():
            self.r.hset("slm:staff:" + sid, mapping={
                "name": "老师" + sid, "wecom_userid": "wc_" + sid,
                "email": sid + "@example.edu", "supervisor": sup})
        self.start()

    def start_fakes(self):
        pass

    def start(self):
        self.nudge.start(env=self.env)
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")

    # --- helpers ----------------------------------------------------------

    def outbox(self):
        return self.nudge.outbox()

    def alerts(self, to=None):
        return [m for m in self.outbox() if m.get("template") == "lead_overdue"
                and (to is None or m["to"] == to)]

    def assign(self, ids, name=None):
        """Students with owners, then their assigned events; waits until
        every run has started (a followup counts after that)."""
        for i in ids:
            add_student(self.r, str(i), owner=owner_of(i),
                        **({"name": name(i)} if name else {}))
        pipe = self.r.pipeline()
        for i in ids:
            pipe.xadd("slm:events", {"type": "assigned", "student": str(i),
                                     "owner": owner_of(i)})
        pipe.execute()
        wait_for(lambda: all(self.r.hexists("slm:student:{%d}:runs" % i, "sla")
                             for i in ids), 10, what="the runs to start")

    def follow_up(self, ids):
        pipe = self.r.pipeline()
        for i in ids:
            pipe.xadd("slm:events", {"type": "followup", "student": str(i),
                                     "staff": owner_of(i), "note": "called"})
        pipe.execute()
        wait_for(lambda: all(self.r.hget("slm:student:{%d}" % i, "followup_at")
                             for i in ids), 10, what="the followups")

    def entries(self, i, type_):
        return [e for e in timeline(self.r, str(i)) if e["type"] == type_]

    @staticmethod
    def lead_ids(msg):
        """The student ids an alert lists (from the CRM links)."""
        return re.findall(r"students/(\d+)", msg.get("html") or msg["body"])

    def tearDown(self):
        try:
            self.stop_clean()
        finally:
            super().tearDown()


class GroupedEscalationTest(AlertsTest):
    def test_forty_of_hundred_escalate_as_grouped_alerts(self):
        """100 leads, 60 followed up in time: exactly the 40 others
        escalate at level 1, as one WeCom alert per supervisor listing
        their leads; level 2 (email to head) only for those still not
        followed up after it."""
        ids = list(range(1000, 1100))
        late = [i for i in ids if i % 5 < 2]          # 40 leads
        on_time = [i for i in ids if i % 5 >= 2]      # 60 leads
        self.assign(ids)
        self.follow_up(on_time)
        expect = {"supA": set(), "supB": set()}
        for i in late:
            expect[STAFF[owner_of(i)]].add(str(i))
        wait_for(lambda: sum(len(self.lead_ids(m)) for m in
                             self.alerts()) == 40, 15,
                 what="the level 1 alerts of 40 leads")
        for sup, leads in expect.items():
            msgs = self.alerts("wc_" + sup)
            self.assertEqual(len(msgs), 1, "one alert for %s" % sup)
            msg = msgs[0]
            self.assertEqual((msg["type"], msg["format"]), ("wecom", "markdown"))
            self.assertEqual(set(self.lead_ids(msg)), leads)
            self.assertIn("**线索跟进超时**：%d 条（1 级升级），请老师%s督促跟进。"
                          % (len(leads), sup), msg["body"])
            self.assertIn("**%d leads overdue**" % len(leads), msg["body"])
        # the leads' entries are written once the gateway has answered,
        # a moment after it holds the message
        wait_for(lambda: all(self.entries(i, "alerted") for i in late), 5,
                 what="the alerted entries of the 40 leads")
        for i in late:
            esc = self.entries(i, "escalated")
            self.assertEqual(len(esc), 1, i)
            self.assertIn("level 1 to staff %s" % STAFF[owner_of(i)],
                          esc[0]["detail"])
            alerted = self.entries(i, "alerted")
            self.assertEqual(len(alerted), 1, i)
            self.assertEqual(alerted[0]["detail"],
                             "alert to staff %s (level 1): 20 leads overdue"
                             % STAFF[owner_of(i)])
            self.assertEqual(alerted[0]["rule"], "sla")
            self.assertEqual(alerted[0]["step"], "3")
        for i in on_time:
            self.assertEqual(self.entries(i, "escalated"), [], i)
            self.assertEqual(self.entries(i, "alerted"), [], i)
        # 10 of the 40 are followed up after the level 1 alert
        self.follow_up(late[:10])
        wait_for(lambda: self.alerts("head@example.edu"), 15,
                 what="the level 2 alert")
        time.sleep(1.5)  # a second level 2 alert would be out by now
        level2 = self.alerts("head@example.edu")
        self.assertEqual(len(level2), 1)
        self.assertEqual(level2[0]["subject"], "30 条线索跟进超时（2 级）")
        self.assertEqual(set(self.lead_ids(level2[0])),
                         {str(i) for i in late[10:]})
        self.assertEqual(level2[0]["html"].count("<tr><td>"), 30)
        self.assertIn("30 leads overdue", level2[0]["body"])
        for i in late[:10]:
            self.assertEqual(len(self.entries(i, "alerted")), 1, i)
        _, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(metric(text, 'nudge_escalations_total{level="1"}'), 40)
        self.assertEqual(metric(text, 'nudge_escalations_total{level="2"}'), 30)
        self.assertEqual(metric(text, "nudge_alerts_sent_total"), 3)
        self.assertEqual(metric(text, "nudge_alert_leads_count"), 3)
        self.assertEqual(metric(text, "nudge_alert_leads_sum"), 70)


class FollowupInWindowTest(AlertsTest):
    group_wait = "3s"

    def test_followup_in_the_window_leaves_the_lead_out(self):
        """A followup after the escalation but before the group goes out
        takes that lead out of the alert."""
        ids = [2000, 2004, 2008]  # all r1's: one group, supA's
        self.assign(ids)
        wait_for(lambda: all(self.entries(i, "escalated") for i in ids), 10,
                 what="the escalations")
        self.follow_up([2004])
        wait_for(self.alerts, 10, what="the alert")
        msg, = self.alerts()
        self.assertEqual(msg["to"], "wc_supA")
        self.assertEqual(self.lead_ids(msg), ["2000", "2008"])
        self.assertIn("**2 leads overdue**", msg["body"])
        self.assertEqual(self.entries(2004, "alerted"), [])
        skipped = self.entries(2004, "skipped")
        self.assertIn("followed up before the alert went out",
                      skipped[-1]["detail"])

    def test_a_lead_closed_in_the_window_is_left_out(self):
        """A lead closed ([leads] closed_tag) after its escalation but
        before the group goes out is left out of the alert."""
        ids = [2200, 2204]  # r1's: one group
        self.assign(ids)
        wait_for(lambda: all(self.entries(i, "escalated") for i in ids), 10,
                 what="the escalations")
        self.r.sadd("slm:student:{2204}:tags", "closed")
        wait_for(self.alerts, 10, what="the alert")
        msg, = self.alerts()
        self.assertEqual(self.lead_ids(msg), ["2200"])
        self.assertEqual(self.entries(2204, "alerted"), [])
        self.assertIn("the lead is closed",
                      self.entries(2204, "skipped")[-1]["detail"])

    def test_most_overdue_first(self):
        """Leads are listed by how long they have been overdue, the
        longest first, with their stage, owner and time overdue."""
        self.assign([8004])
        time.sleep(1.2)
        self.assign([8000])
        wait_for(self.alerts, 10, what="the alert")
        msg, = self.alerts()
        self.assertEqual(self.lead_ids(msg), ["8004", "8000"])
        rows = [line for line in msg["body"].split("\n") if "students/" in line]
        self.assertRegex(rows[0], r"^1\. \[学生8004\]\(https://crm\.example\.edu/"
                         r"students/8004\) · lead · owner 老师r1 · \d+s overdue$")
        self.assertRegex(rows[1], r"^2\. \[学生8000\].* · \d+s overdue$")

    def test_a_group_left_empty_sends_nothing(self):
        """Every lead of the group followed up inside the window: no
        message at all."""
        ids = [2100, 2104]
        self.assign(ids)
        wait_for(lambda: all(self.entries(i, "escalated") for i in ids), 10,
                 what="the escalations")
        self.follow_up(ids)
        wait_for(lambda: all(self.entries(i, "skipped") for i in ids), 10,
                 what="the leads to be left out")
        wait_for(lambda: not self.r.hexists("slm:alert:{supA:1:wecom}",
                                            "batch"), 10,
                 what="the batch to settle")
        self.assertEqual(self.r.get("slm:alert:{supA:1:wecom}:send:1"),
                         "empty")
        self.assertEqual(self.alerts(), [])
        _, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(metric(text, "nudge_alerts_sent_total"), 0)


class WecomLimitTest(AlertsTest):
    def test_markdown_over_the_limit_says_and_n_more(self):
        """150 leads with long names for one supervisor: the markdown
        stays within WeCom's 4096 bytes and ends "and N more"."""
        ids = [3000 + 4 * k for k in range(150)]  # all r1's
        self.assign(ids, name=lambda i: "很长的学生姓名用来填满消息%d" % i)
        wait_for(self.alerts, 15, what="the alert")
        time.sleep(1.5)
        msgs = self.alerts()
        self.assertEqual(len(msgs), 1)
        body = msgs[0]["body"]
        self.assertLessEqual(len(body.encode()), 4096)
        shown = len(self.lead_ids(msgs[0]))
        self.assertGreater(shown, 10)
        self.assertTrue(body.endswith("... and %d more" % (150 - shown)), body[-80:])
        self.assertIn("**150 leads overdue**", body)
        # every lead was in the alert, listed or counted
        self.assertTrue(all(self.entries(i, "alerted") for i in ids))


class RetriedAlertTest(AlertsTest):
    def requeue(self, batch):
        """The batch's job again, as a daemon that died before its ack
        would leave it for another (docs/redis.md: the queue's keys), with
        the group still showing the batch as pending."""
        group = "slm:alert:{supA:1:wecom}"
        self.r.hset(group, mapping={"batch": batch, "due": 0,
                                    "frozen": batch})
        job = "alert:supA:1:wecom:%d" % batch
        payload = json.dumps({"alert": "supA:1:wecom", "staff": "supA",
                              "level": 1, "channel": "wecom", "batch": batch})
        self.r.hset("slm:q:{0}:jobs", job, payload)
        self.r.zadd("slm:q:{0}:due", {job: 0})
        wait_for(lambda: not self.r.hexists("slm:q:{0}:jobs", job), 10,
                 what="the job to run again")

    def test_retried_alert_job_is_not_sent_twice(self):
        """The job of a batch that went out runs again (its daemon died
        before the ack): its send record says sent, nothing goes twice.
        One whose attempt never recorded its outcome is `unknown`, not
        sent again (an outbox cannot drop duplicates)."""
        ids = [4000, 4004]
        self.assign(ids)
        wait_for(self.alerts, 10, what="the alert")
        # the outbox has it before the outcome is written: wait for that
        wait_for(lambda: (self.r.get("slm:alert:{supA:1:wecom}:send:1") or
                          "").startswith("sent "), 5, what="the outcome")
        self.requeue(1)
        # the job was claimed; it settles the group when it has run
        wait_for(lambda: not self.r.hexists("slm:alert:{supA:1:wecom}",
                                            "batch"), 10,
                 what="the retried job to settle the group")
        self.assertEqual(len(self.alerts()), 1)
        # an attempt that left without writing its outcome
        self.r.set("slm:alert:{supA:1:wecom}:send:7", "pending")
        self.r.zadd("slm:alert:{supA:1:wecom}:batch:7", {"4000": 0})
        self.r.hset("slm:alert:{supA:1:wecom}:info:7", "4000", json.dumps(
            {"rule": "sla", "step": 2, "run": "x", "started": 0}))
        self.requeue(7)
        self.assertEqual(len(self.alerts()), 1)
        unknown = self.entries(4000, "unknown")
        self.assertEqual(len(unknown), 1)
        self.assertIn("not sent again", unknown[0]["detail"])


class RepeatIntervalTest(AlertsTest):
    extra_rules = """
rule nag {
    on event nag
    escalate level 1 via wecom lead_overdue
    wait 2s
    escalate level 1 via wecom lead_overdue
}
"""

    def test_a_lead_is_not_alerted_again_within_repeat_interval(self):
        """The same lead escalated twice to the same supervisor within
        repeat_interval (4h by default) is in one alert; the second
        escalation is skipped with the reason."""
        add_student(self.r, "6000", owner="r1")
        self.r.xadd("slm:events", {"type": "nag", "student": "6000"})
        wait_for(lambda: any("not alerted again" in e.get("detail", "")
                             for e in self.entries(6000, "skipped")), 10,
                 what="the second escalation")
        time.sleep(1.5)  # a second alert would be out by now
        self.assertEqual(len(self.alerts()), 1)
        self.assertEqual(len(self.entries(6000, "escalated")), 1)
        self.assertEqual(len(self.entries(6000, "alerted")), 1)
        skipped = [e for e in self.entries(6000, "skipped")
                   if "not alerted again" in e["detail"]]
        self.assertEqual(skipped[0]["step"], "3")
        self.assertIn("repeat_interval 14400s", skipped[0]["detail"])


WECOM_CONFIG = """
[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
max_sleep = 200ms
lease = 1s

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[alerts]
group_wait = 1s
crm_url = https://crm.example.edu/students/{{id}}

[channel.wecom]
type = wecom
api_base = http://127.0.0.1:{port}
corp_id = ww-fake-corp
agent_id = 1000002
secret = env:WECOM_TEST_SECRET
timeout = 10s
on_unknown = {on_unknown}

[channel.email]
type = outbox
as = email
path = outbox.jsonl
"""


class FakeWecom:
    """tests/fakes/wecom_server.py, as test_wecom runs it."""

    def __init__(self):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(ROOT, "tests", "fakes",
                                              "wecom_server.py"),
             "--secret", "S3cret"], stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def call(self, path, body=None):
        import urllib.request
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path),
            data=json.dumps(body).encode() if body is not None else None,
            method="POST" if body is not None else "GET")
        with urllib.request.urlopen(req, timeout=5) as res:
            return json.loads(res.read())

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()


class KilledWhileSendingTest(AlertsTest):
    """nudged SIGKILLed while the fake WeCom holds the alert's answer: the
    job's lease runs out, the restarted daemon takes the job again, and
    the alert still reaches the supervisor once."""

    on_unknown = "skip"

    def start_fakes(self):
        self.wecom = FakeWecom()
        self.addCleanup(self.wecom.stop)
        self.wecom.call("/control", {"delay_ms": 4000})
        self.env = dict(os.environ, WECOM_TEST_SECRET="S3cret")

    def config(self):
        return WECOM_CONFIG.format(port=self.wecom.port,
                                   on_unknown=self.on_unknown)

    def kill_mid_send(self, ids):
        self.assign(ids)
        wait_for(lambda: self.wecom.call("/received"), 10,
                 what="the alert at WeCom")
        self.nudge.kill()  # its answer is 4s away
        self.start()

    def test_killed_on_skip_is_unknown_and_not_sent_again(self):
        ids = [5000, 5004]
        self.kill_mid_send(ids)
        wait_for(lambda: all(self.entries(i, "unknown") for i in ids), 15,
                 what="the unknown entries")
        time.sleep(1)
        got = self.wecom.call("/received")
        self.assertEqual(len(got), 1, got)
        self.assertEqual(got[0]["msg"]["msgtype"], "markdown")
        self.assertEqual(got[0]["msg"]["touser"], "wc_supA")
        self.assertIn("**2 leads overdue**",
                      got[0]["msg"]["markdown"]["content"])
        self.assertEqual(self.wecom.call("/stats")["duplicates"], 0)
        for i in ids:
            self.assertIn("not sent again", self.entries(i, "unknown")[0]["detail"])
            # (level 2 goes on by email: nobody followed up)
            self.assertEqual([e for e in self.entries(i, "alerted")
                              if e["channel"] == "wecom"], [])


class KilledWhileSendingRetryTest(KilledWhileSendingTest):
    on_unknown = "retry"
    test_killed_on_skip_is_unknown_and_not_sent_again = None

    def test_killed_on_retry_is_sent_again_and_dropped_as_a_repeat(self):
        """on_unknown = retry: sent again with the same request, which
        WeCom's duplicate check drops: the supervisor has it once, and
        each lead is `alerted` once."""
        ids = [5100, 5104]
        self.wecom.call("/control", {"delay_ms": 4000})
        self.kill_mid_send(ids)
        self.wecom.call("/control", {"delay_ms": 0})
        wait_for(lambda: all(self.entries(i, "alerted") for i in ids), 15,
                 what="the alerted entries")
        self.assertEqual(len(self.wecom.call("/received")), 1)
        self.assertEqual(self.wecom.call("/stats")["duplicates"], 1)
        for i in ids:
            self.assertEqual(len([e for e in self.entries(i, "alerted")
                                  if e["channel"] == "wecom"]), 1)


class PermanentFailureTest(KilledWhileSendingTest):
    """WeCom refuses the supervisor: each lead of the alert is `failed`,
    and the group's next batch still goes out."""

    test_killed_on_skip_is_unknown_and_not_sent_again = None

    def test_refused_alert_fails_its_leads_and_the_group_goes_on(self):
        self.wecom.call("/control", {"delay_ms": 0,
                                     "fail_user": {"user": "wc_supA",
                                                   "errcode": 40003}})
        self.assign([7000, 7004])
        wait_for(lambda: all(self.entries(i, "failed") for i in (7000, 7004)),
                 10, what="the failed entries")
        failed = self.entries(7000, "failed")[0]
        self.assertEqual((failed["rule"], failed["step"], failed["channel"]),
                         ("sla", "3", "wecom"))
        self.assertIn("alert to staff supA (level 1, 2 leads): 40003",
                      failed["detail"])
        self.assertEqual(self.wecom.call("/received"), [])
        self.wecom.call("/control", {"fail_user": {"user": "wc_supA",
                                                   "errcode": 0}})
        self.assign([7008])
        wait_for(lambda: self.wecom.call("/received"), 10,
                 what="the next batch")
        got = self.wecom.call("/received")
        self.assertEqual(len(got), 1)
        self.assertIn("students/7008", got[0]["msg"]["markdown"]["content"])
        self.assertNotIn("students/7000", got[0]["msg"]["markdown"]["content"])


if __name__ == "__main__":
    unittest.main()

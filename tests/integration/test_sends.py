"""Sends through the real nudged: a rule `on event NAME` / `send CHANNEL
msg`, events XADDed to slm:events, the channels pointed at the fake
providers (tests/fakes/), and what the student's timeline and the fake
show afterwards.

Each failure class ends as its outcome (SMS generic gateway, WeCom,
email); the last of [queue] max_attempts says it gave up; a fallback
channel takes over an account's failure, and is retried when it fails for
now; a gateway down for 30 s in the middle of a 1,000-message campaign
loses nothing and delivers nothing twice; nudged SIGKILLed twice in a
2,000-message campaign still reaches every student exactly once (on a
channel with on_unknown = skip: at most once, the rest `unknown`); an
event handled twice sends once; a receipt for what nudged sent reaches
the timeline; SIGTERM waits for the sends in flight.
"""
import base64
import collections
import email
import email.policy
import json
import os
import time
import unittest

from harness import (Nudge, RedisServer, add_student, http_request, metric,
                     timeline, wait_for)
from test_email import SmtpFake
from test_sms import SECRETS, SmsGateway
from test_wecom import SECRET as WECOM_SECRET
from test_wecom import FakeWecom

STREAM = "slm:events"
ENV = dict(os.environ, WECOM_TEST_SECRET=WECOM_SECRET, **SECRETS)

# Retries within a second, a short lease (a killed daemon's jobs come back
# soon), and nothing held back by quiet hours or the daily cap.
BASE = """
[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
retry_base = 200ms
retry_cap = 500ms
max_attempts = 100
max_sleep = 200ms
lease = 3s
drain = 5s

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
max_per_day = 0
"""

SMS = """
[channel.{name}]
type = sms
form = generic
url = {base}/generic
token = env:GENERIC_TOKEN
timeout = {timeout}
"""

TEMPLATES = {
    "msg.sms": "{{name|同学}}您好，招生办开放日通知。",
    "msg.wecom": "{{name|同学}}您好，招生办开放日通知。",
    "msg.email": "Subject: 开放日通知\n\n{{name|同学}}您好：\n\n欢迎参加开放日。\n",
}

STEP_TYPES = ("sent", "notified", "escalated", "failed", "skipped",
              "deferred", "unknown")


def run_id(eid, rule="campaign"):
    """The id of the run an event started: the event's id and a 64-bit
    FNV-1a of the rule's name (rules/run.c)."""
    h = 0xcbf29ce484222325
    for b in rule.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "e%s.%016x" % (eid, h)


def phone(sid):
    """The number add_student gives student sid."""
    return "+8613800%06d" % int(sid)


class SendsTest(unittest.TestCase):
    """A Redis, the fakes, and a nudged whose rules send `msg` on a
    channel when an event comes: {event type: channel}."""

    sends = {"campaign": "sms"}
    base = BASE

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.start_fakes()
        self.nudge = Nudge(self.redis, extra=self.base + self.channels())
        self.addCleanup(self.nudge.cleanup)
        rules = "stages lead\n"
        for event, channel in self.sends.items():
            rules += "\nrule %s {\n    on event %s\n    send %s msg\n}\n" % (
                event, event, channel)
        self.nudge.write("rules/sends.rules", rules)
        for name, text in TEMPLATES.items():
            self.nudge.write("templates/" + name, text)

    def start_fakes(self):
        self.gw = SmsGateway()
        self.addCleanup(self.gw.stop)

    def channels(self):
        return SMS.format(name="sms", base=self.gw.base, timeout="5s")

    def start(self):
        self.nudge.start(env=ENV)
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")

    def stop_clean(self):
        self.assertEqual(self.nudge.stop(), 0, self.nudge.log_text()[-3000:])
        self.nudge.check_clean_log(self)

    def emit(self, sid, kind="campaign"):
        """XADDs the event as the CRM would; its stream id."""
        return self.r.xadd(STREAM, {"type": kind, "student": sid})

    def steps(self, sid):
        return [e for e in timeline(self.r, sid) if e["type"] in STEP_TYPES]

    def wait_steps(self, sid, done, timeout=10, what="the step's outcome"):
        """The student's step entries once done(their types) holds."""
        def ready():
            steps = self.steps(sid)
            return steps if done([e["type"] for e in steps]) else None
        return wait_for(ready, timeout, what="%s of student %s" % (what, sid))

    def wait_outcome(self, sid, outcome, timeout=10):
        return self.wait_steps(sid, lambda types: outcome in types, timeout,
                               "a %s entry" % outcome)

    def requests_to(self, sid, gw=None):
        return [q for q in (gw or self.gw).call("/requests")
                if q["to"] == phone(sid)]

    def received_by(self, sid, gw=None):
        return [m for m in (gw or self.gw).received() if m["to"] == phone(sid)]

    def assert_retried_then_sent(self, steps):
        types = [e["type"] for e in steps]
        self.assertEqual(types[-1], "sent", steps)
        self.assertGreaterEqual(len(types), 2, steps)
        for e in steps[:-1]:
            self.assertEqual(e["type"], "failed", steps)
            self.assertTrue(e["detail"].endswith("; will retry"), e)


class SmsOutcomesTest(SendsTest):
    """The generic gateway's answers, each ending as its outcome."""

    sends = {"campaign": "sms", "campaign_dedup": "sms_dedup"}

    def channels(self):
        return (SMS.format(name="sms", base=self.gw.base, timeout="5s") +
                SMS.format(name="sms_dedup", base=self.gw.base,
                           timeout="5s") + "on_unknown = retry\n")

    def test_sent_with_the_gateways_id(self):
        add_student(self.r, "1")
        self.start()
        eid = self.emit("1")
        steps = self.wait_outcome("1", "sent")
        msgs = self.received_by("1")
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0]["key"], "%s:1" % run_id(eid))
        # msg.sms has no Kind: line, so it is marketing (docs/policy.md,
        # "Message classes") and the gateway gets the opt-out text too
        self.assertEqual(msgs[0]["text"], "学生1您好，招生办开放日通知。拒收请回复R")
        self.assertEqual(len(steps), 1, steps)
        self.assertEqual((steps[0]["channel"], steps[0]["rule"],
                          steps[0]["provider_id"], steps[0]["to"]),
                         ("sms", "campaign", msgs[0]["id"], "+86138****0001"))
        self.stop_clean()
        # each send is logged at info, recipient masked (issue 13)
        self.assertIn("student 1 rule campaign step 1: sent via sms to "
                      "+86138****0001 template msg", self.nudge.log_text())

    def test_bad_number_fails_for_good(self):
        add_student(self.r, "2")
        self.gw.rules({"suffix": "000002", "code": "invalid_number",
                       "message": "no such number"})
        self.start()
        self.emit("2")
        self.wait_outcome("2", "failed")
        time.sleep(1.5)  # three retry periods: nothing more may come
        steps = self.steps("2")
        self.assertEqual([e["type"] for e in steps], ["failed"], steps)
        self.assertTrue(steps[0]["detail"].startswith("invalid_number: "),
                        steps)
        self.assertIn("no such number", steps[0]["detail"])
        self.assertNotIn("retry", steps[0]["detail"])
        self.assertEqual([q["status"] for q in self.requests_to("2")], [400])
        self.assertEqual(self.received_by("2"), [])
        self.stop_clean()

    def test_hostile_phone_is_skipped_and_never_sent(self):
        """A phone that is no plausible number is refused where the
        recipient is chosen (templates/message.c): skipped, with the
        reason, nothing reaches the gateway, and the value is in no log
        line unmasked."""
        add_student(self.r, "3", phone="call me maybe; rm -rf / 13800138000")
        add_student(self.r, "4", phone="123456789012345678901234567")
        self.start()
        self.emit("3")
        self.emit("4")
        for sid in ("3", "4"):
            steps = self.wait_outcome(sid, "skipped")
            self.assertEqual([e["type"] for e in steps], ["skipped"], steps)
            self.assertTrue(steps[0]["detail"].startswith("invalid phone"),
                            steps)
        time.sleep(0.5)
        self.assertEqual(self.gw.call("/requests"), [])
        self.stop_clean()
        self.assertNotIn("13800138000", self.nudge.log_text())

    def test_server_error_is_retried_until_sent(self):
        add_student(self.r, "3")
        self.gw.rules({"suffix": "000003", "status": 500})
        self.start()
        self.emit("3")
        self.wait_outcome("3", "failed")
        wait_for(lambda: len(self.requests_to("3")) >= 2, 5,
                 what="a retry of the 500")
        self.gw.rules()  # the gateway recovers
        steps = self.wait_outcome("3", "sent")
        self.assert_retried_then_sent(steps)
        time.sleep(0.5)
        self.assertEqual(self.steps("3"), steps, "nothing after sent")
        self.assertEqual(len(self.received_by("3")), 1)
        keys = {q["key"] for q in self.requests_to("3")}
        self.assertEqual(len(keys), 1, "one idempotency key for all attempts")
        self.stop_clean()

    def test_429_is_retried_after_retry_after(self):
        add_student(self.r, "4")
        self.gw.rules({"suffix": "000004", "status": 429, "retry_after": 1})
        self.start()
        self.emit("4")
        self.wait_outcome("4", "failed")
        self.gw.rules()
        steps = self.wait_outcome("4", "sent")
        self.assert_retried_then_sent(steps)
        reqs = self.requests_to("4")
        self.assertEqual([q["status"] for q in reqs], [429, 200])
        # retry_cap is 500ms: only Retry-After makes it wait a second
        self.assertGreaterEqual(reqs[1]["time"] - reqs[0]["time"], 0.95)
        self.assertEqual(len(self.received_by("4")), 1)
        self.stop_clean()

    def test_dropped_connection_is_unknown_and_not_sent_again(self):
        add_student(self.r, "5")
        self.gw.rules({"suffix": "000005", "close": True})
        self.start()
        self.emit("5")
        self.wait_outcome("5", "unknown")
        time.sleep(1.5)
        steps = self.steps("5")
        self.assertEqual([e["type"] for e in steps], ["unknown"], steps)
        self.assertIn("on_unknown = skip", steps[0]["detail"])
        self.assertEqual([q["status"] for q in self.requests_to("5")],
                         ["closed"])
        self.stop_clean()

    def test_dropped_reused_connection_is_unknown_too(self):
        """On a kept-alive connection that closes unanswered, libcurl
        would send the request again by itself on a fresh connection
        (Curl_retry_request); channels/httpc.c stops it, so that
        on_unknown = skip holds (Aliyun or Tencent would deliver the
        repeat: only this fake drops it, by its Idempotency-Key)."""
        add_student(self.r, "1")
        add_student(self.r, "5")
        self.gw.rules({"suffix": "000005", "close": True})
        self.start()
        self.emit("1")
        self.wait_outcome("1", "sent")  # leaves a connection to reuse
        self.emit("5")
        self.wait_steps("5", lambda types: types, what="an outcome")
        time.sleep(1)
        self.assertEqual([q["status"] for q in self.requests_to("5")],
                         ["closed"])
        self.assertEqual([e["type"] for e in self.steps("5")], ["unknown"])
        self.stop_clean()

    def test_dropped_connection_sent_again_with_the_same_key(self):
        add_student(self.r, "6")
        self.gw.rules({"suffix": "000006", "close": True})
        self.start()
        eid = self.emit("6", "campaign_dedup")
        steps = self.wait_outcome("6", "sent")
        self.assert_retried_then_sent(steps)
        self.assertEqual(len(steps), 2, steps)
        self.assertEqual(steps[-1]["channel"], "sms_dedup")
        reqs = self.requests_to("6")
        self.assertEqual([(q["status"], q["key"]) for q in reqs],
                         [("closed", "%s:1" % run_id(eid, "campaign_dedup")),
                          (200, "%s:1" % run_id(eid, "campaign_dedup"))])
        # the gateway holds the first request's message and dropped the
        # second as a repeat of its key
        self.assertEqual(len(self.received_by("6")), 1)
        self.assertEqual(self.gw.stats()["duplicates"], 1)
        self.assertEqual(steps[-1]["provider_id"], "gw-dropped")
        self.stop_clean()


class GiveUpTest(SendsTest):
    """The last of [queue] max_attempts says so on the timeline."""

    base = BASE.replace("max_attempts = 100", "max_attempts = 3")

    def test_the_last_attempt_gives_up(self):
        add_student(self.r, "1")
        self.gw.rules({"suffix": "000001", "status": 500})
        self.start()
        eid = self.emit("1")
        steps = self.wait_steps("1", lambda types: len(types) >= 3,
                                what="three attempts")
        time.sleep(1)  # no fourth attempt
        self.assertEqual(self.steps("1"), steps)
        self.assertEqual([e["type"] for e in steps], ["failed"] * 3)
        for e in steps[:2]:
            self.assertTrue(e["detail"].endswith("; will retry"), e)
        self.assertTrue(steps[2]["detail"].endswith(
            "; gave up after 3 attempts"), steps[2])
        self.assertEqual(len(self.requests_to("1")), 3)
        dead = self.nudge.ctl("queue", "dead").stdout
        self.assertIn("gave up after 3 attempts", dead)
        # the operator puts it back once the gateway works: it goes out
        self.gw.rules()
        self.nudge.ctl("queue", "retry", "run:1:%s:1" % run_id(eid))
        steps = self.wait_outcome("1", "sent")
        self.assertEqual(len(steps), 4, steps)
        self.assertEqual(len(self.received_by("1")), 1)
        self.stop_clean()


class FallbackCase(SendsTest):
    """[channel.sms] fallback = sms_backup, a second gateway."""

    def start_fakes(self):
        super().start_fakes()
        self.backup = SmsGateway()
        self.addCleanup(self.backup.stop)

    def channels(self):
        return (SMS.format(name="sms", base=self.gw.base, timeout="5s") +
                "fallback = sms_backup\n" +
                SMS.format(name="sms_backup", base=self.backup.base,
                           timeout="5s"))


class FallbackTest(FallbackCase):
    def test_account_failures_fall_back_once(self):
        add_student(self.r, "1")  # out of balance: permanent, account
        add_student(self.r, "2")  # gateway down: transient, account
        add_student(self.r, "3")  # bad number: the number's, no fallback
        self.gw.rules({"suffix": "000001", "code": "insufficient_balance",
                       "message": "balance 0"},
                      {"suffix": "000002", "status": 503},
                      {"suffix": "000003", "code": "invalid_number"})
        self.start()
        eids = {sid: self.emit(sid) for sid in ("1", "2", "3")}
        for sid in ("1", "2"):
            steps = self.wait_outcome(sid, "sent")
            self.assertEqual([(e["type"], e["channel"]) for e in steps],
                             [("failed", "sms"), ("sent", "sms_backup")],
                             steps)
            self.assertTrue(steps[0]["detail"].endswith(
                "; falls back to channel sms_backup"), steps[0])
            msgs = self.received_by(sid, self.backup)
            self.assertEqual(len(msgs), 1, msgs)
            self.assertEqual(msgs[0]["key"], "%s:1:fb" % run_id(eids[sid]))
            self.assertEqual(steps[1]["provider_id"], msgs[0]["id"])
        self.assertIn("balance 0", self.steps("1")[0]["detail"])
        self.wait_outcome("3", "failed")
        time.sleep(1)  # nothing more: no retry on either channel
        for sid in ("1", "2"):
            self.assertEqual(len(self.steps(sid)), 2)
            self.assertEqual(len(self.requests_to(sid)), 1)
            self.assertEqual(len(self.requests_to(sid, self.backup)), 1)
        steps = self.steps("3")
        self.assertEqual([e["type"] for e in steps], ["failed"], steps)
        self.assertNotIn("falls back", steps[0]["detail"])
        self.assertEqual(len(self.requests_to("3")), 1)
        self.assertEqual(self.requests_to("3", self.backup), [])
        self.assertEqual(self.gw.received(), [])
        self.stop_clean()

    def test_a_fallback_that_fails_for_now_is_retried(self):
        add_student(self.r, "1")
        self.gw.rules({"suffix": "000001", "code": "insufficient_balance"})
        self.backup.rules({"suffix": "000001", "status": 503})
        self.start()
        self.emit("1")
        self.wait_steps("1", lambda types: len(types) >= 2, what="two entries")
        self.backup.rules()
        steps = self.wait_outcome("1", "sent")
        self.assertEqual(steps[0]["channel"], "sms")
        self.assertTrue(steps[0]["detail"].endswith(
            "; falls back to channel sms_backup"), steps[0])
        self.assert_retried_then_sent(steps[1:])
        self.assertEqual({e["channel"] for e in steps[1:]}, {"sms_backup"})
        self.assertEqual(len(self.received_by("1", self.backup)), 1)
        self.assertEqual(len(self.requests_to("1")), 1)
        self.stop_clean()


class FallbackCapTest(FallbackCase):
    """[delivery] max_per_day counts what the fallback sends."""

    # dedup_window = 0: the test sends one template again
    base = BASE.replace("max_per_day = 0",
                        "max_per_day = 1\ndedup_window = 0")

    def test_the_fallback_counts_against_the_daily_cap(self):
        add_student(self.r, "1")
        self.gw.rules({"suffix": "000001", "code": "insufficient_balance"})
        self.start()
        self.emit("1")
        self.wait_outcome("1", "sent")
        self.emit("1")  # a second campaign the same day
        steps = self.wait_outcome("1", "skipped")
        self.assertEqual([(e["type"], e["channel"]) for e in steps[:2]],
                         [("failed", "sms"), ("sent", "sms_backup")], steps)
        self.assertIn("daily cap of 1 message reached", steps[-1]["detail"])
        time.sleep(0.5)
        self.assertEqual(len(self.backup.received()), 1)
        self.stop_clean()


WECOM = """
[channel.wecom]
type = wecom
api_base = http://127.0.0.1:{port}
corp_id = ww-fake-corp
agent_id = 1000002
secret = env:WECOM_TEST_SECRET
timeout = 5s
"""


class WecomOutcomesTest(SendsTest):
    """WeCom's errcodes through nudged, to students who are members."""

    sends = {"campaign": "wecom"}

    def start_fakes(self):
        self.wecom = FakeWecom()
        self.addCleanup(self.wecom.stop)

    def channels(self):
        return WECOM.format(port=self.wecom.port)

    def add(self, sid):
        add_student(self.r, sid, wecom_userid="stu" + sid)

    def delivered_to(self, sid):
        return [m for m in self.wecom.received("member")
                if m["to"] == "stu" + sid]

    def test_unknown_user_fails_for_good(self):
        self.add("1")
        self.wecom.control(fail_user={"user": "stu1", "errcode": 60111})
        self.start()
        self.emit("1")
        self.wait_outcome("1", "failed")
        time.sleep(1.5)
        steps = self.steps("1")
        self.assertEqual([e["type"] for e in steps], ["failed"], steps)
        self.assertTrue(steps[0]["detail"].startswith("60111"), steps)
        self.assertNotIn("retry", steps[0]["detail"])
        refused = [x for x in self.wecom.stats()["refused"] if x["to"] == "stu1"]
        self.assertEqual([x["errcode"] for x in refused], [60111])
        self.assertEqual(self.delivered_to("1"), [])
        self.stop_clean()

    def test_rate_limit_is_retried_until_sent(self):
        self.add("1")
        self.wecom.control(fail_next={"errcode": 45009, "count": 1})
        self.start()
        self.emit("1")
        steps = self.wait_outcome("1", "sent")
        self.assert_retried_then_sent(steps)
        self.assertEqual(len(steps), 2, steps)
        self.assertTrue(steps[0]["detail"].startswith("45009"), steps)
        self.assertEqual(len(self.delivered_to("1")), 1)
        self.assertTrue(steps[1]["provider_id"].startswith("FAKE-MSG-"))
        self.stop_clean()

    def test_no_answer_is_sent_again(self):
        """on_unknown is retry for wecom: WeCom's duplicate check drops
        a repeat of the same request."""
        self.add("1")
        self.wecom.control(drop_next=1)
        self.start()
        self.emit("1")
        steps = self.wait_outcome("1", "sent")
        self.assert_retried_then_sent(steps)
        self.assertEqual(len(steps), 2, steps)
        self.assertIn("no answer", steps[0]["detail"])
        self.assertEqual(len(self.delivered_to("1")), 1)
        self.stop_clean()

    def test_revoked_token_is_renewed_and_sent(self):
        self.add("1")
        self.add("2")
        self.start()
        self.emit("1")
        self.wait_outcome("1", "sent")
        self.assertEqual(self.wecom.stats()["gettoken"], 1)
        self.wecom.control(revoke=True)
        self.emit("2")
        steps = self.wait_outcome("2", "sent")
        self.assertEqual([e["type"] for e in steps], ["sent"], steps)
        stats = self.wecom.stats()
        self.assertEqual(stats["gettoken"], 2)
        self.assertEqual([x["errcode"] for x in stats["refused"]], [40014])
        self.assertEqual(len(self.delivered_to("2")), 1)
        self.stop_clean()


EMAIL = """
[channel.email]
type = email
host = 127.0.0.1
port = {port}
from = 招生办 <admissions@example.edu>
starttls = off
timeout = 5s
"""


class EmailOutcomesTest(SendsTest):
    sends = {"campaign": "email"}

    def start_fakes(self):
        self.smtp = SmtpFake(self.redis.dir, "--reject",
                             "nobody@example.com=550")
        self.addCleanup(self.smtp.stop)

    def channels(self):
        return EMAIL.format(port=self.smtp.port)

    def test_refused_recipient_fails_for_good(self):
        add_student(self.r, "1", email="nobody@example.com")
        self.start()
        self.emit("1")
        self.wait_outcome("1", "failed")
        time.sleep(1.5)
        steps = self.steps("1")
        self.assertEqual([e["type"] for e in steps], ["failed"], steps)
        self.assertTrue(steps[0]["detail"].startswith("550"), steps)
        self.assertNotIn("retry", steps[0]["detail"])
        self.assertEqual([e["code"] for e in self.smtp.events("refused")],
                         [550])
        self.assertEqual(self.smtp.messages(), [])
        self.stop_clean()

    def test_injected_header_is_skipped_and_never_sent(self):
        add_student(self.r, "2",
                    email="victim@example.cn\r\nBcc: evil@evil.example")
        self.start()
        self.emit("2")
        steps = self.wait_outcome("2", "skipped")
        self.assertTrue(steps[0]["detail"].startswith("invalid email"), steps)
        time.sleep(0.5)
        self.assertEqual(self.smtp.messages(), [])
        self.assertEqual(self.smtp.events("refused"), [])
        self.stop_clean()

    def test_sent_with_the_message_id_from_the_channel(self):
        add_student(self.r, "1", email="zhang.wei@example.com")
        self.start()
        self.emit("1")
        steps = self.wait_outcome("1", "sent")
        self.assertEqual(len(steps), 1, steps)
        msgs = self.smtp.messages()
        self.assertEqual(len(msgs), 1, msgs)
        self.assertEqual(msgs[0]["mail_from"], "admissions@example.edu")
        self.assertEqual(msgs[0]["rcpt_tos"], ["zhang.wei@example.com"])
        mail = email.message_from_bytes(
            base64.b64decode(msgs[0]["data"]),
            policy=email.policy.default)
        self.assertEqual(str(mail["From"]), "招生办 <admissions@example.edu>")
        self.assertEqual(steps[0]["provider_id"],
                         mail["Message-ID"].strip().strip("<>"))
        self.assertEqual(str(mail["Subject"]), "开放日通知")
        self.stop_clean()


class ReplayAndReceiptsTest(SendsTest):
    def test_an_event_handled_twice_sends_once(self):
        add_student(self.r, "1")
        self.start()
        eid = self.emit("1")
        self.wait_outcome("1", "sent")
        wait_for(lambda: self.group()["pending"] == 0, 5, what="the XACK")
        # the group reads the stream again from the start, as after a
        # consumer that lost track: the same entry is handled once more
        self.r.xgroup_setid(STREAM, "nudged", "0")
        wait_for(lambda: self.group()["last-delivered-id"] == eid and
                 self.group()["pending"] == 0, 5,
                 what="the event to be read and acknowledged again")
        time.sleep(1)  # a step job it scheduled has run by now
        self.assertEqual(self.metric("nudge_events_total"), 2,
                         "the event was handled twice")
        self.assertEqual(len(self.received_by("1")), 1)
        self.assertEqual(len(self.requests_to("1")), 1)
        steps = self.steps("1")
        self.assertEqual([e["type"] for e in steps], ["sent"], steps)
        self.stop_clean()

    def metric(self, name):
        return metric(http_request(self.nudge.http_port, "/metrics")[1], name)

    def group(self):
        return [g for g in self.r.xinfo_groups(STREAM)
                if g["name"] == "nudged"][0]

    def test_a_receipt_for_what_nudged_sent(self):
        add_student(self.r, "1")
        self.start()
        self.emit("1")
        sent = self.wait_outcome("1", "sent")[0]
        pid = self.received_by("1")[0]["id"]
        self.assertEqual(sent["provider_id"], pid)
        status, body = http_request(
            self.nudge.http_port, "/receipts/sms", "POST",
            json.dumps({"id": pid, "status": "delivered"}).encode())
        self.assertEqual((status, json.loads(body)), (200, {"recorded": 1}))
        entries = [e for e in timeline(self.r, "1")
                   if e["type"] == "delivered"]
        self.assertEqual(len(entries), 1, timeline(self.r, "1"))
        self.assertEqual(
            {k: entries[0].get(k) for k in ("rule", "step", "channel",
                                             "template", "provider_id")},
            {"rule": "campaign", "step": "1", "channel": "sms",
             "template": "msg", "provider_id": pid})
        self.stop_clean()


class SigtermTest(SendsTest):
    """SIGTERM while the gateway takes two seconds to answer."""

    def start_fakes(self):
        self.gw = SmsGateway("--delay-ms", "2000")
        self.addCleanup(self.gw.stop)

    def test_sigterm_records_the_sends_in_flight(self):
        sids = [str(i) for i in range(1, 21)]
        for sid in sids:
            add_student(self.r, sid)
        self.start()
        for sid in sids:
            self.emit(sid)
        wait_for(lambda: self.gw.stats()["requests"] == len(sids), 5,
                 what="every send in flight")
        started = time.monotonic()
        self.stop_clean()
        took = time.monotonic() - started
        self.assertLess(took, 5 + 2, "within [queue] drain")
        self.assertGreater(took, 0.5, "it waited for the answers")
        for sid in sids:
            steps = self.steps(sid)
            self.assertEqual([e["type"] for e in steps], ["sent"],
                             (sid, steps))
        self.assertEqual(len(self.gw.received()), len(sids))


def add_students(r, n):
    pipe = r.pipeline(transaction=False)
    for i in range(1, n + 1):
        add_student(pipe, str(i))
    pipe.execute()


def emit_all(r, n, kind="campaign"):
    pipe = r.pipeline(transaction=False)
    for i in range(1, n + 1):
        pipe.xadd(STREAM, {"type": kind, "student": str(i)})
    pipe.execute()


def all_steps(r, n):
    """{sid: [step entries]} for students 1..n, in one round trip."""
    pipe = r.pipeline(transaction=False)
    for i in range(1, n + 1):
        pipe.xrange("slm:student:{%d}:timeline" % i)
    return {str(i): [f for _id, f in entries if f["type"] in STEP_TYPES]
            for i, entries in enumerate(pipe.execute(), 1)}


class CampaignTest(SendsTest):
    """Campaigns of thousands of messages while things go wrong."""

    def assert_each_sent_once(self, n, gw):
        per_number = collections.Counter(m["to"] for m in gw.received())
        self.assertEqual(len(per_number), n, "every student reached")
        twice = {to: c for to, c in per_number.items() if c != 1}
        self.assertEqual(twice, {}, "students who got it more than once")
        steps = all_steps(self.r, n)
        for sid, entries in steps.items():
            sent = [e for e in entries if e["type"] == "sent"]
            self.assertEqual(len(sent), 1, (sid, entries))
            self.assertEqual(entries[-1]["type"], "sent", (sid, entries))
            for e in entries[:-1]:
                self.assertEqual(e["type"], "failed", (sid, entries))
                self.assertTrue(e["detail"].endswith("; will retry"),
                                (sid, entries))
        return steps


class OutageTest(CampaignTest):
    N = 1000
    OUTAGE = 30  # seconds

    def channels(self):
        # the rate (as a site would set it) keeps the retries of 800
        # messages to what the Python fake answers at once
        return SMS.format(name="sms", base=self.gw.base,
                          timeout="5s") + "rate = 250/s\n"

    def test_gateway_down_in_the_middle_of_a_campaign(self):
        add_students(self.r, self.N)
        self.start()
        emit_all(self.r, self.N)
        wait_for(lambda: self.gw.stats()["accepted"] >= self.N // 5, 20,
                 interval=0.005, what="the campaign under way")
        self.gw.rules({"suffix": "", "status": 503})  # down for every number
        before = {m["to"] for m in self.gw.received()}
        self.assertLess(len(before), self.N // 2, "down in the middle")
        time.sleep(self.OUTAGE)
        self.gw.rules()
        back = time.time()
        refused = [q for q in self.gw.call("/requests") if q["status"] == 503]
        wait_for(lambda: self.gw.stats()["accepted"] >= self.N, 30,
                 interval=0.2, what="every message after the gateway returned")
        time.sleep(1)  # anything sent twice would arrive by now
        self.assertEqual(self.gw.stats()["accepted"], self.N)
        self.assertEqual(self.gw.stats()["duplicates"], 0)
        # the rest met the outage, and were still being tried at its end
        everyone = {phone(i) for i in range(1, self.N + 1)}
        self.assertEqual(everyone - before - {q["to"] for q in refused},
                         set(), "never tried while the gateway was down")
        self.assertTrue(any(q["time"] > back - 3 for q in refused),
                        "retries went on to the end of the outage")
        steps = self.assert_each_sent_once(self.N, self.gw)
        retried = {phone(sid) for sid, entries in steps.items()
                   if len(entries) > 1}
        self.assertEqual(retried, {q["to"] for q in refused})
        self.stop_clean()


class KillTest(CampaignTest):
    """nudged SIGKILLed twice with sends in flight, to a gateway that
    drops a repeated Idempotency-Key (on_unknown = retry)."""

    N = 2000
    sends = {"campaign": "sms", "campaign_skip": "sms_skip"}

    def start_fakes(self):
        self.gw = SmsGateway("--delay-ms", "100")
        self.addCleanup(self.gw.stop)

    # 50 in flight answered after 100 ms: about 500 a second, so that the
    # kills land mid-campaign however fast the rest of nudged is
    def channels(self):
        return (SMS.format(name="sms", base=self.gw.base, timeout="5s") +
                "on_unknown = retry\nmax_in_flight = 50\n" +
                SMS.format(name="sms_skip", base=self.gw.base, timeout="5s") +
                "max_in_flight = 50\n")

    def test_killed_twice_in_a_campaign(self):
        add_students(self.r, self.N)
        self.start()
        emit_all(self.r, self.N)
        for share in (0.25, 0.6):
            wait_for(lambda: self.gw.stats()["accepted"] >= self.N * share,
                     30, interval=0.005, what="%d%% sent" % (share * 100))
            in_flight = self.gw.stats()
            self.nudge.kill()
            self.assertLess(in_flight["accepted"], self.N, "killed mid-way")
            self.start()
        wait_for(lambda: sum(1 for entries in all_steps(self.r, self.N).values()
                             if any(e["type"] == "sent" for e in entries))
                 == self.N, 40, interval=0.5, what="a sent entry for each")
        time.sleep(1)
        stats = self.gw.stats()
        self.assertEqual(stats["accepted"], self.N)
        self.assertGreaterEqual(stats["requests"], self.N)
        # sends were in flight at the kills: the gateway had them, nudged
        # never learnt it, and sent them again with the same key
        self.assertGreater(stats["duplicates"], 0, stats)
        steps = self.assert_each_sent_once(self.N, self.gw)
        self.assertEqual([e for e in steps.values() if len(e) != 1], [],
                         "nothing but the sent entry")
        self.stop_clean()

    def test_killed_on_a_channel_that_cannot_drop_repeats(self):
        """on_unknown = skip: a send in flight at the kill is `unknown`
        and never sent again; nobody gets a message twice."""
        n = self.N // 2
        add_students(self.r, n)
        self.start()
        emit_all(self.r, n, "campaign_skip")
        wait_for(lambda: self.gw.stats()["accepted"] >= n * 0.3, 30,
                 interval=0.005, what="30% sent")
        self.nudge.kill()
        self.start()
        wait_for(lambda: all(all_steps(self.r, n).values()), 40,
                 interval=0.5, what="an outcome for each")
        time.sleep(1)
        stats = self.gw.stats()
        self.assertEqual(stats["duplicates"], 0, stats)
        per_number = collections.Counter(q["to"]
                                         for q in self.gw.call("/requests"))
        self.assertEqual([to for to, c in per_number.items() if c > 1], [],
                         "requests sent twice")
        outcomes = collections.Counter()
        for sid, entries in all_steps(self.r, n).items():
            self.assertEqual(len(entries), 1, (sid, entries))
            outcomes[entries[0]["type"]] += 1
            if entries[0]["type"] == "sent":
                self.assertEqual(per_number[phone(sid)], 1, sid)
            else:
                self.assertEqual(entries[0]["type"], "unknown", entries)
                self.assertIn("on_unknown = skip", entries[0]["detail"])
        self.assertGreater(outcomes["unknown"], 0, "sends were in flight")
        self.assertEqual(outcomes["sent"] + outcomes["unknown"], n)
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()

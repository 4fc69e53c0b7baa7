"""Consent end to end (docs/policy.md, "Consent: opt-out and opt-in"):
students' SMS replies posted to nudged's POST /replies/sms, in the generic
JSON form and Aliyun's SmsUpReport form, become reply events; a reply whose
whole text is an opt-out word puts the opt-out in the student's set and an
optout entry on the timeline, and from then on no rule sends on that
channel, not even a job queued before; opt-in words and `nudgectl optin`
take it back; malformed bodies are 400 and change nothing; a configured
token is required."""
import json
import os
import time
import unittest
import urllib.error
import urllib.request

from harness import Nudge, NudgeTestCase, http_get, metric, timeline, wait_for

TOKEN = "replies-test-token"

EXTRA = """
[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
max_per_day = 0

[queue]
max_sleep = 200ms
"""

RULES = """\
stages lead contacted

# A job queued now, sent 2 s later: the opt-out must stop it.
rule promo {
    on tag "promo"
    wait 2s
    send outbox promo_note
}

# A rule that answers every reply: never to an opted-out student.
rule thanks {
    on reply
    send outbox thanks_note
}
"""


def phone(sid):
    return "+86138000%05d" % int(sid)


class ConsentTest(NudgeTestCase, unittest.TestCase):
    extra = ""

    def setUp(self):
        super().setUp()
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis, extra=EXTRA + self.extra)
        self.nudge.write("rules/consent.rules", RULES)
        self.nudge.write("templates/promo_note.sms",
                         "Kind: marketing\n\n{{name}}，开放日见。\n")
        self.nudge.write("templates/optout_confirm.sms",
                         "Kind: notice\n\n退订成功，{{name}}将不再收到短信。\n")
        self.nudge.write("templates/thanks_note.sms",
                         "Kind: notice\n\n{{name}}，收到您的回复。\n")
        os.environ["REPLIES_TOKEN"] = TOKEN  # nudgectl reads the config too
        self.nudge.start()
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")
        for sid in ("7", "8"):
            self.nudge.ctl("emit", "created", sid, "name=学生" + sid,
                           "phone=" + phone(sid), "stage=lead")
        wait_for(lambda: self.r.get("slm:phone:" + phone("8")) == "8",
                 what="the phone index")

    def tearDown(self):
        self.stop_clean()
        super().tearDown()

    # --- helpers ---------------------------------------------------------

    def post(self, body, path="/replies/sms", headers=None):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.nudge.http_port, path), data=data,
            method="POST", headers=dict({"Content-Type": "application/json"},
                                        **(headers or {})))
        try:
            with urllib.request.urlopen(req, timeout=5) as res:
                return res.status, json.loads(res.read().decode())
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text

    def entries(self, sid, *types):
        return [e for e in timeline(self.r, sid) if e["type"] in types]

    def optouts(self, sid):
        return self.r.smembers("slm:student:{%s}:optout" % sid)

    def outbox(self, sid, template):
        return [m for m in self.nudge.outbox() if m.get("student") == sid and
                m.get("template") == template]

    def reply_events(self):
        return [f for _id, f in self.r.xrange("slm:events")
                if f.get("type") == "reply"]


class RepliesTest(ConsentTest):
    def test_generic_reply_opts_out_even_of_a_queued_job(self):
        self.nudge.ctl("emit", "tag", "7", "tag=promo")  # promo queued, 2 s
        wait_for(lambda: self.r.zcard("slm:q:{0}:due") == 1,
                 what="the promo's job queued")
        self.assertEqual(self.post({"from": phone("7"), "text": "TD。",
                                    "time": 1764540000}),
                         (200, {"recorded": 1, "unknown": 0}))
        wait_for(lambda: self.entries("7", "optout"), what="optout entry")
        self.assertEqual(self.optouts("7"), {"sms"})
        entry = self.entries("7", "optout")[0]
        self.assertEqual(entry["channel"], "sms")
        self.assertEqual(entry["actor"], "student")
        self.assertIn('reply "TD。"', entry["detail"])
        ev = self.reply_events()[-1]
        self.assertEqual((ev["student"], ev["channel"], ev["text"]),
                         ("7", "sms", "TD。"))
        self.assertEqual(self.entries("7", "reply")[0]["detail"], "TD。")
        # the queued promo and the `on reply` answer are both skipped
        wait_for(lambda: len(self.entries("7", "skipped")) == 2,
                 what="two skipped steps")
        for e in self.entries("7", "skipped"):
            self.assertIn("opted out of sms", e["detail"])
        self.assertEqual(self.outbox("7", "promo_note"), [])
        self.assertEqual(self.outbox("7", "thanks_note"), [])
        self.assertEqual(self.entries("7", "sent"), [])

    def test_aliyun_uplink(self):
        status, body = self.post([{
            "phone_number": "13800000008", "content": "退订",
            "send_time": "2026-11-30 20:00:00", "sign_name": "示例大学",
            "dest_code": "1234", "sequence_id": 1234567}])
        self.assertEqual((status, body), (200, {"code": 0, "msg": "接收成功"}))
        wait_for(lambda: self.entries("8", "optout"), what="optout entry")
        self.assertEqual(self.optouts("8"), {"sms"})
        self.assertEqual(self.reply_events()[-1]["text"], "退订")
        text = http_get(self.nudge.http_port, "/metrics")[1]
        self.assertEqual(metric(text, 'nudge_replies_total{result="recorded"}'),
                         1)
        self.assertEqual(metric(
            text, 'nudge_consent_replies_total{verdict="optout"}'), 1)

    def test_a_sentence_is_no_optout_and_gets_an_answer(self):
        self.assertEqual(self.post({"from": phone("7"),
                                    "text": "TD please call me"})[0], 200)
        wait_for(lambda: self.outbox("7", "thanks_note"), what="the answer")
        self.assertEqual(self.optouts("7"), set())
        self.assertEqual(self.entries("7", "optout"), [])
        self.assertEqual(self.entries("7", "reply")[0]["detail"],
                         "TD please call me")

    def test_optin_word_and_nudgectl_optin_restore(self):
        self.post({"from": phone("7"), "text": " stop "})
        wait_for(lambda: self.optouts("7") == {"sms"}, what="opted out")
        self.post({"from": phone("7"), "text": "START!"})
        wait_for(lambda: self.entries("7", "optin"), what="optin entry")
        self.assertEqual(self.optouts("7"), set())
        self.assertIn('reply "START!"', self.entries("7", "optin")[0]["detail"])
        # sends resume
        self.nudge.ctl("emit", "tag", "7", "tag=promo")
        wait_for(lambda: self.outbox("7", "promo_note"), timeout=6,
                 what="the promo after the opt-in")
        # an opt-out, then nudgectl optin
        self.post({"from": phone("8"), "text": "R"})
        wait_for(lambda: self.optouts("8") == {"sms"}, what="opted out")
        out = self.nudge.ctl("optin", "8", "sms").stdout
        self.assertIn("opted in to sms", out)
        self.assertEqual(self.optouts("8"), set())
        e = self.entries("8", "optin")[0]
        self.assertEqual((e["channel"], e["actor"]), ("sms", "nudgectl"))
        self.assertEqual(self.nudge.ctl("optin", "nobody", check=False)
                         .returncode, 1)

    def test_unknown_number_and_malformed_bodies_change_nothing(self):
        self.assertEqual(self.post({"from": "+8613999999999", "text": "TD"}),
                         (200, {"recorded": 0, "unknown": 1}))
        before = self.r.xlen("slm:events")
        for body in (b"not json", b"[]", b"42",
                     {"from": phone("7")},
                     {"from": phone("7"), "text": 5},
                     {"from": "12", "text": "TD"},
                     [{"from": phone("7"), "text": "TD"}, {"text": "TD"}],
                     [{"phone_number": "13800000008"}]):
            status, answer = self.post(body)
            self.assertEqual(status, 400, body)
        self.assertEqual(self.r.xlen("slm:events"), before)
        time.sleep(0.3)
        self.assertEqual(self.optouts("7"), set())
        self.assertEqual(self.optouts("8"), set())
        self.assertEqual(self.post(b"x", path="/replies/sms")[0], 400)


class ConfirmTest(ConsentTest):
    extra = "\n[consent]\nconfirm_template = optout_confirm\n"

    def confirmations(self, sid):
        return self.outbox(sid, "optout_confirm")

    def test_the_confirmation_goes_once(self):
        self.assertIn("optout_confirm (sms)", self.nudge.ctl("check").stdout)
        self.post({"from": phone("7"), "text": "退订"})
        wait_for(lambda: self.entries("7", "sent"), what="the confirmation")
        msgs = self.confirmations("7")
        self.assertEqual(len(msgs), 1)
        self.assertIn("退订成功", json.dumps(msgs[0], ensure_ascii=False))
        sent = self.entries("7", "sent")[0]
        self.assertEqual((sent["template"], sent["actor"], sent["channel"]),
                         ("optout_confirm", "consent", "outbox"))
        self.assertNotIn(phone("7"), sent.get("to", ""))  # masked
        # a second opt-out: no second confirmation, and still no answer
        self.post([{"from": phone("7"), "text": "TD"}])
        wait_for(lambda: len(self.entries("7", "optout")) == 2,
                 what="the second optout")
        wait_for(lambda: len(self.entries("7", "skipped")) == 2,
                 what="both answers skipped")
        time.sleep(0.5)
        self.assertEqual(len(self.confirmations("7")), 1)
        self.assertEqual(self.outbox("7", "thanks_note"), [])
        # opted in and out again: confirmed again
        self.post({"from": phone("7"), "text": "订阅"})
        wait_for(lambda: self.entries("7", "optin"), what="opted in")
        self.post({"from": phone("7"), "text": "T"})
        wait_for(lambda: len(self.confirmations("7")) == 2,
                 what="the second confirmation")
        self.assertEqual(self.confirmations("8"), [])


class ScopeAllTest(ConsentTest):
    extra = "\n[consent]\noptout_scope = all\noptout_words = 退订, unsub\n"

    def test_a_reply_opts_out_of_everything(self):
        self.post({"from": phone("7"), "text": "TD"})  # not a word here
        self.post({"from": phone("7"), "text": "UNSUB"})
        wait_for(lambda: self.entries("7", "optout"), what="optout entry")
        self.assertEqual(self.optouts("7"), {"all"})
        e = self.entries("7", "optout")[0]
        self.assertEqual(e["channel"], "all")
        self.assertIn("every channel", e["detail"])
        self.assertEqual(len(self.entries("7", "reply")), 2)
        self.post({"from": phone("7"), "text": "订阅"})
        wait_for(lambda: self.entries("7", "optin"), what="optin entry")
        self.assertEqual(self.optouts("7"), set())


class TokenTest(ConsentTest):
    extra = "\n[http]\nreceipts_token = env:REPLIES_TOKEN\n"

    def test_token_required(self):
        reply = {"from": phone("7"), "text": "TD"}
        self.assertEqual(self.post(reply)[0], 401)
        self.assertEqual(self.post(reply, headers={
            "Authorization": "Bearer wrong"})[0], 401)
        self.assertEqual(self.reply_events(), [])
        self.assertEqual(self.post(reply, headers={
            "Authorization": "Bearer " + TOKEN})[0], 200)
        wait_for(lambda: self.optouts("7") == {"sms"}, what="opted out")


if __name__ == "__main__":
    unittest.main()

"""Delivery receipts at nudged's POST /receipts/sms, against a throwaway
Redis seeded with the receipt records the send path writes
(slm:receipt:ID = "STUDENT\\tCHANNEL\\tRULE\\tSTEP\\tTEMPLATE", docs/redis.md):
generic and Aliyun reports become delivered / undelivered entries on the
student's timeline; unknown ids and malformed bodies answer 400 and write
nothing; a repeated report is written once; a configured token is
required; Redis down answers 503 at once."""
import json
import os
import socket
import time
import unittest
import urllib.error
import urllib.request

from harness import Nudge, NudgeTestCase, http_get, metric, timeline, wait_for

TOKEN = "receipts-test-token"
PHONE = "13812345678"


class ReceiptsTest(NudgeTestCase, unittest.TestCase):
    extra = ""

    def setUp(self):
        super().setUp()
        if self.extra:
            self.nudge.cleanup()
            self.nudge = Nudge(self.redis, extra=self.extra)
        env = dict(os.environ, RECEIPTS_TOKEN=TOKEN)
        self.nudge.start(env=env)
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")
        self.seed("sms-1001", "7", "sms", "trial_class_invite", 1,
                  "trial_class_invite")
        self.seed("sms-1002", "7", "sms", "welcome", 0, "welcome_pack")
        self.seed("sms-2001", "8", "sms_backup", "", "", "")

    def seed(self, pid, student, channel, rule, step, tmpl):
        """The record the engine writes when the channel reports it sent."""
        self.r.set("slm:receipt:%s" % pid, "%s\t%s\t%s\t%s\t%s" % (
            student, channel, rule, step, tmpl), ex=604800)

    def post(self, body, path="/receipts/sms", headers=None):
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

    def raw_post(self, rest):
        """The status of a POST whose headers end with rest (as a client
        that waits for 100 Continue would see it)."""
        with socket.create_connection(("127.0.0.1", self.nudge.http_port),
                                      timeout=5) as s:
            s.sendall(b"POST /receipts/sms HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\n" + rest)
            answer = s.recv(4096).decode(errors="replace")
        return int(answer.split(" ", 2)[1])

    def receipts(self, sid):
        return [e for e in timeline(self.r, sid)
                if e["type"] in ("delivered", "undelivered")]

    def metric(self, result):
        text = http_get(self.nudge.http_port, "/metrics")[1]
        return metric(text, 'nudge_receipts_total{result="%s"}' % result)


class GenericAndAliyunTest(ReceiptsTest):
    def test_generic_reports_reach_the_timeline(self):
        status, body = self.post({"id": "sms-1001", "status": "delivered",
                                  "time": "2026-11-30T08:00:00Z"})
        self.assertEqual((status, body), (200, {"recorded": 1}))
        status, body = self.post([
            {"id": "sms-1002", "status": "failed", "code": "UNDELIV",
             "message": "handset %s unreachable" % PHONE},
            {"id": "sms-2001", "status": "undelivered", "code": 17}])
        self.assertEqual((status, body), (200, {"recorded": 2}))

        entries = self.receipts("7")
        self.assertEqual(len(entries), 2, entries)
        self.assertEqual(entries[0], {
            "type": "delivered", "rule": "trial_class_invite", "step": "1",
            "channel": "sms", "template": "trial_class_invite",
            "provider_id": "sms-1001", "actor": "provider:sms"})
        self.assertEqual(entries[1]["type"], "undelivered")
        self.assertEqual((entries[1]["rule"], entries[1]["step"],
                          entries[1]["template"], entries[1]["provider_id"]),
                         ("welcome", "0", "welcome_pack", "sms-1002"))
        self.assertEqual(entries[1]["detail"],
                         "UNDELIV: handset 138****5678 unreachable")
        other = self.receipts("8")
        self.assertEqual(other, [{
            "type": "undelivered", "channel": "sms_backup",
            "provider_id": "sms-2001", "detail": "17",
            "actor": "provider:sms_backup"}])
        self.assertEqual(self.metric("delivered"), 1)
        self.assertEqual(self.metric("undelivered"), 2)
        self.stop_clean()

    def test_aliyun_smsreport(self):
        report = [
            {"phone_number": PHONE, "send_time": "2026-11-30 16:00:00",
             "report_time": "2026-11-30 16:00:05", "success": True,
             "err_code": "DELIVERED", "err_msg": "用户接收成功",
             "sms_size": "1", "biz_id": "sms-1001", "out_id": "k-1"},
            {"phone_number": PHONE, "send_time": "2026-11-30 16:00:00",
             "report_time": "2026-11-30 16:00:09", "success": False,
             "err_code": "MK:0001", "err_msg": "空号", "sms_size": "1",
             "biz_id": "sms-1002", "out_id": "k-2"},
        ]
        status, body = self.post(report)
        self.assertEqual((status, body), (200, {"code": 0, "msg": "接收成功"}))
        entries = self.receipts("7")
        self.assertEqual([(e["type"], e["provider_id"], e["to"])
                          for e in entries],
                         [("delivered", "sms-1001", "138****5678"),
                          ("undelivered", "sms-1002", "138****5678")])
        self.assertEqual(entries[1]["detail"], "MK:0001: 空号")
        self.assertNotIn(PHONE, self.nudge.log_text())
        self.stop_clean()

    def test_a_repeated_report_is_written_once(self):
        for _ in range(2):
            self.assertEqual(self.post([{"id": "sms-1001",
                                         "status": "delivered"}])[0], 200)
        self.assertEqual(len(self.receipts("7")), 1)
        self.assertEqual(self.post({"id": "sms-1001",
                                    "status": "undelivered"})[0], 200)
        self.assertEqual([e["type"] for e in self.receipts("7")],
                         ["delivered", "undelivered"])
        self.stop_clean()

    def test_unknown_ids_write_nothing(self):
        status, body = self.post([{"id": "sms-1001", "status": "delivered"},
                                  {"id": "sms-9999", "status": "delivered"}])
        self.assertEqual(status, 400)
        self.assertIn('unknown provider id "sms-9999"', body["error"])
        status, body = self.post([{"biz_id": "nope", "success": True,
                                   "phone_number": PHONE}])
        self.assertEqual(status, 400)
        self.assertEqual(body["code"], 1)
        self.assertIn('"nope"', body["msg"])
        time.sleep(0.2)
        self.assertEqual(self.receipts("7"), [])
        self.assertEqual(self.metric("unknown_id"), 2)
        self.assertNotIn(PHONE, self.nudge.log_text())
        self.assertIn("138****5678", self.nudge.log_text())
        self.stop_clean()

    def test_malformed_bodies_write_nothing(self):
        cases = [
            b"not json",
            b"[]",
            b"\"delivered\"",
            json.dumps({"status": "delivered"}).encode(),           # no id
            json.dumps({"id": "sms-1001"}).encode(),                # no status
            json.dumps({"id": "sms-1001", "status": "read"}).encode(),
            json.dumps([{"id": "sms-1001", "status": "delivered"},
                        "sms-1002"]).encode(),                      # one bad item
            json.dumps({"id": "sms 1001", "status": "delivered"}).encode(),
            json.dumps({"id": "x" * 129, "status": "delivered"}).encode(),
            json.dumps([{"biz_id": "sms-1001"}]).encode(),          # no success
            json.dumps([{"biz_id": "sms-1001", "success": "yes"}]).encode(),
        ]
        for body in cases:
            with self.subTest(body=body[:40]):
                self.assertEqual(self.post(body)[0], 400)
        self.assertEqual(self.receipts("7"), [])
        self.assertEqual(self.metric("malformed"), len(cases))
        # announced too large: refused before the body is read
        self.assertEqual(self.raw_post(b"Content-Length: %d\r\n\r\n" %
                                       (1024 * 1024 + 1)), 413)
        # chunked, no length: read on and refused at the end
        chunk = b"%x\r\n%s\r\n" % (64 * 1024, b" " * 64 * 1024)
        self.assertEqual(self.raw_post(
            b"Transfer-Encoding: chunked\r\n\r\n" + chunk * 17 +
            b"0\r\n\r\n"), 413)
        self.assertEqual(self.metric("malformed"), len(cases) + 2)
        self.assertEqual(http_get(self.nudge.http_port, "/receipts/sms")[0],
                         405)
        self.stop_clean()

    def test_redis_down_answers_503_at_once(self):
        self.redis.kill()
        started = time.monotonic()
        status, _ = self.post({"id": "sms-1001", "status": "delivered"})
        self.assertEqual(status, 503)
        self.assertLess(time.monotonic() - started, 2, "waited for Redis")
        self.redis.start()
        # the data did not survive the kill: the record is gone with it
        self.seed("sms-1001", "7", "sms", "r", 1, "t")
        wait_for(lambda: self.post({"id": "sms-1001",
                                    "status": "delivered"})[0] == 200,
                 what="recorded after Redis came back")
        self.assertEqual(len(self.receipts("7")), 1)
        self.stop_clean()


class TokenTest(ReceiptsTest):
    extra = "\n[http]\nreceipts_token = env:RECEIPTS_TOKEN\n"

    def test_token_required(self):
        report = {"id": "sms-1001", "status": "delivered"}
        self.assertEqual(self.post(report)[0], 401)
        self.assertEqual(self.post(report, headers={
            "Authorization": "Bearer wrong"})[0], 401)
        self.assertEqual(self.post(report, path="/receipts/sms?token=%s" %
                                   TOKEN[:-1])[0], 401)
        self.assertEqual(self.receipts("7"), [])
        self.assertEqual(self.metric("unauthorized"), 3)
        self.assertEqual(self.post(report, headers={
            "Authorization": "Bearer " + TOKEN})[0], 200)
        self.assertEqual(self.post({"id": "sms-1002", "status": "delivered"},
                                   path="/receipts/sms?token=" + TOKEN)[0],
                         200)
        self.assertEqual(len(self.receipts("7")), 2)
        self.assertNotIn(TOKEN, self.nudge.log_text())
        self.stop_clean()


del ReceiptsTest  # a base, not a test of its own

if __name__ == "__main__":
    unittest.main()

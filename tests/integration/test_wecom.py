"""The wecom channel against tests/fakes/wecom_server.py, through
build/tools/chan_tool: what the fake WeCom received and the outcome of
each message, as the rule engine would see it."""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.request

import harness

CHAN_TOOL = os.path.join(harness.BUILD, "tools", "chan_tool")
FAKE = os.path.join(harness.ROOT, "tests", "fakes", "wecom_server.py")
SECRET = "S3cret-of-the-corp-app"
ROBOT_KEY = "robot-key-of-the-supervisors"
TOKEN_MARK = "FAKE-ACCESS-TOKEN"  # every token the fake issues has it

CONFIG = """\
[channel.wecom]
type = wecom
api_base = http://127.0.0.1:{port}
corp_id = ww-fake-corp
agent_id = 1000002
secret = env:WECOM_TEST_SECRET
robot_key = env:WECOM_TEST_ROBOT
timeout = {timeout}
{extra}
"""


class FakeWecom:
    def __init__(self, *args):
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", FAKE, "--secret", SECRET,
             "--robot-key", ROBOT_KEY, "--robot-key", "second-robot"]
            + list(args), stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())

    def _call(self, path, body=None):
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.port, path),
            data=json.dumps(body).encode() if body is not None else None,
            method="POST" if body is not None else "GET")
        with urllib.request.urlopen(req, timeout=5) as res:
            return json.loads(res.read())

    def control(self, **keys):
        return self._call("/control", keys)

    def received(self, api=None):
        return [m for m in self._call("/received")
                if api is None or m["api"] == api]

    def stats(self):
        return self._call("/stats")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()


class WecomTest(unittest.TestCase):
    fake_args = ()

    def setUp(self):
        self.fake = FakeWecom(*self.fake_args)
        self.dir = tempfile.mkdtemp(prefix="nudge-it-wecom-")
        self.env = dict(os.environ, WECOM_TEST_SECRET=SECRET,
                        WECOM_TEST_ROBOT=ROBOT_KEY)

    def tearDown(self):
        self.fake.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, extra="", timeout="5s"):
        path = os.path.join(self.dir, "nudged.conf")
        with open(path, "w") as f:
            f.write(CONFIG.format(port=self.fake.port, timeout=timeout,
                                  extra=extra))
        return path

    def start(self, msgs, **conf):
        """chan_tool in the background, its messages on stdin."""
        proc = subprocess.Popen(
            [CHAN_TOOL, "-c", self.config(**conf), "send", "wecom"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=self.env)
        proc.stdin.write("".join(json.dumps(m) + "\n" for m in msgs))
        proc.stdin.close()
        return proc

    def send(self, msgs, **conf):
        """Sends msgs through chan_tool; their outcomes, in order."""
        proc = self.start(msgs, **conf)
        out, err = proc.stdout.read(), proc.stderr.read()
        self.assertEqual(proc.wait(60), 0, err)
        proc.stdout.close()
        proc.stderr.close()
        self.check_no_secrets(out + err)
        for mark in harness.SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.stderr = err
        return [json.loads(line) for line in out.splitlines()]

    def check_no_secrets(self, text):
        for secret in (SECRET, ROBOT_KEY, TOKEN_MARK):
            self.assertNotIn(secret, text)

    def member_msgs(self, n, to=None, **fields):
        return [dict({"to": to or "user%03d" % i, "body": "第%d条 hello" % i,
                      "key": "k-%d" % i}, **fields) for i in range(n)]


class TestMembers(WecomTest):
    def test_hundred_members_share_one_token(self):
        outs = self.send(self.member_msgs(100))
        self.assertEqual([o["status"] for o in outs], ["ok"] * 100)
        self.assertTrue(all(o["provider_id"].startswith("FAKE-MSG-")
                            for o in outs))
        got = self.fake.received("member")
        self.assertEqual(sorted(m["to"] for m in got),
                         ["user%03d" % i for i in range(100)])
        for m in got:
            self.assertEqual(m["msg"]["enable_duplicate_check"], 1)
            self.assertEqual(m["msg"]["duplicate_check_interval"], 1800)
            self.assertEqual(m["msg"]["agentid"], 1000002)
            self.assertEqual(m["msg"]["msgtype"], "text")
        stats = self.fake.stats()
        self.assertEqual(stats["gettoken"], 1)
        self.assertEqual(stats["bad_requests"], [])
        self.assertEqual(stats["violations"], [])

    def test_markdown_and_textcard(self):
        outs = self.send([
            {"to": "li", "body": "**逾期**", "format": "markdown"},
            {"to": "wang", "subject": "试听课", "body":
             "请预约 https://e.edu/t?s=1 谢谢", "format": "text"}])
        self.assertEqual([o["status"] for o in outs], ["ok", "ok"])
        got = {m["to"]: m["msg"] for m in self.fake.received("member")}
        self.assertEqual(got["li"]["markdown"], {"content": "**逾期**"})
        self.assertEqual(got["wang"]["textcard"]["url"], "https://e.edu/t?s=1")
        self.assertEqual(got["wang"]["textcard"]["title"], "试听课")
        self.assertEqual(self.fake.stats()["bad_requests"], [])

    def test_duplicate_check_drops_a_resend(self):
        msg = {"to": "li", "body": "same text", "key": "k-1"}
        outs = self.send([msg, msg])
        self.assertEqual([o["status"] for o in outs], ["ok", "ok"])
        self.assertEqual(len(self.fake.received("member")), 1)
        self.assertEqual(self.fake.stats()["duplicates"], 1)

    def test_revoked_token_renewed_once(self):
        # WeCom revokes the token after 20 deliveries: the sends in flight
        # with it get 40014, the token is fetched once more, and they go.
        self.fake.control(revoke_after=20)
        outs = self.send(self.member_msgs(60))
        self.assertEqual([o["status"] for o in outs], ["ok"] * 60,
                         [o for o in outs if o["status"] != "ok"][:3])
        self.assertEqual(len({m["to"] for m in self.fake.received("member")}),
                         60)
        stats = self.fake.stats()
        self.assertEqual(stats["gettoken"], 2)
        self.assertIn(40014, [r["errcode"] for r in stats["refused"]])
        self.assertIn("access token renewed", self.stderr)

    def test_rate_limit_45009_is_transient(self):
        self.fake.control(fail_next={"errcode": 45009, "count": 1})
        [out] = self.send(self.member_msgs(1))
        self.assertEqual((out["status"], out["code"], out["account"]),
                         ("transient", "45009", 0))
        self.assertEqual(self.fake.received(), [])

    def test_unknown_user_is_permanent(self):
        self.fake.control(fail_user={"user": "gone01", "errcode": 60111})
        outs = self.send([{"to": "gone01", "body": "hi"},
                          {"to": "here01", "body": "hi"}])
        self.assertEqual((outs[0]["status"], outs[0]["code"],
                          outs[0]["account"]), ("permanent", "60111", 0))
        self.assertIn("userid not found", outs[0]["error"])
        self.assertEqual(outs[1]["status"], "ok")
        self.assertEqual([m["to"] for m in self.fake.received()], ["here01"])

    def test_server_error_is_transient_account(self):
        self.fake.control(status_next={"status": 500, "count": 1})
        [out] = self.send(self.member_msgs(1))
        self.assertEqual((out["status"], out["account"]), ("transient", 1))

    def test_slow_answer_past_timeout_is_unknown(self):
        self.fake.control(delay_ms=2500)
        [out] = self.send(self.member_msgs(1), timeout="1s")
        self.assertEqual(out["status"], "unknown", out)

    def test_dropped_connection_is_unknown(self):
        # Twice: libcurl sends once more by itself, on a new connection,
        # when a kept-alive one (gettoken's) dies without a word.
        self.fake.control(drop_next=2)
        [out] = self.send(self.member_msgs(1))
        self.assertEqual(out["status"], "unknown", out)

    def test_bad_secret_fails_every_send_on_the_account(self):
        self.env["WECOM_TEST_SECRET"] = "not-the-secret"
        outs = self.send(self.member_msgs(3))
        self.assertEqual([(o["status"], o["code"], o["account"])
                          for o in outs], [("transient", "40001", 1)] * 3)
        self.assertEqual(self.fake.stats()["gettoken"], 1)
        self.assertNotIn("not-the-secret", self.stderr)


class TestTokenExpiry(WecomTest):
    # Tokens live 2 s; one member takes 2 a second, so 8 messages take
    # over 3 s and the token is renewed on the way, before it expires.
    fake_args = ("--expires-in", "2", "--member-limit", "2/1")

    def test_token_renewed_before_expiry(self):
        start = time.monotonic()
        outs = self.send(self.member_msgs(8, to="li"),
                         extra="member_rate = 2/s")
        self.assertGreater(time.monotonic() - start, 3.0)
        self.assertEqual([o["status"] for o in outs], ["ok"] * 8)
        stats = self.fake.stats()
        self.assertGreaterEqual(stats["gettoken"], 2)
        self.assertNotIn(42001, [r["errcode"] for r in stats["refused"]])
        self.assertEqual(stats["violations"], [])


class TestMemberLimit(WecomTest):
    fake_args = ("--member-limit", "5/1")

    def test_sends_over_the_limit_wait(self):
        # 10 a minute to one member: 10 go at once, the other 2 wait (a
        # minute) and are never dropped; other members are not held.
        proc = self.start(self.member_msgs(12, to="li")
                          + self.member_msgs(3, to="wang"),
                          extra="member_rate = 10/m")
        try:
            harness.wait_for(lambda: len(self.fake.received()) >= 13, 5,
                             what="the first 13 messages")
            time.sleep(2)
            got = [m["to"] for m in self.fake.received()]
            self.assertEqual(got.count("li"), 10)
            self.assertEqual(got.count("wang"), 3)
            self.assertIsNone(proc.poll(), "chan_tool ended: nothing waited")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            for f in (proc.stdout, proc.stderr):
                f.close()

    def test_limiter_keeps_under_wecoms_limit(self):
        # WeCom (the fake) allows 5 a second to one member; so does the
        # channel: 15 messages take over 2 s and none goes over.
        start = time.monotonic()
        outs = self.send(self.member_msgs(15, to="li"),
                         extra="member_rate = 5/s")
        self.assertGreater(time.monotonic() - start, 2.0)
        self.assertEqual([o["status"] for o in outs], ["ok"] * 15)
        self.assertEqual(len(self.fake.received()), 15)
        self.assertEqual(self.fake.stats()["violations"], [])


class TestExternalAndRobot(WecomTest):
    fake_args = ("--robot-limit", "3/1")

    def test_external_contact_sent_by_owner(self):
        outs = self.send([
            {"to_kind": "external", "to": "wmEXT01", "sender": "owner01",
             "body": "欢迎来校参观"},
            {"to_kind": "external", "to": "wmEXT02", "body": "no owner"}])
        self.assertEqual(outs[0]["status"], "ok")
        self.assertTrue(outs[0]["provider_id"].startswith("FAKE-TPL-"))
        self.assertEqual((outs[1]["status"], outs[1]["error"]),
                         ("permanent", "wecom: no sender"))
        [got] = self.fake.received("external")
        self.assertEqual(got["msg"], {
            "chat_type": "single", "external_userid": ["wmEXT01"],
            "sender": "owner01", "text": {"content": "欢迎来校参观"}})

    def test_robot_webhook(self):
        outs = self.send([
            {"to_kind": "robot", "body": "# 3 条逾期线索",
             "format": "markdown", "key": "alert-1"},
            {"to_kind": "robot", "to": "second-robot", "body": "text",
             "key": "alert-2"},
            {"to_kind": "robot", "to": "no-such-robot", "body": "x"}])
        self.assertEqual([(o["status"], o["provider_id"]) for o in outs[:2]],
                         [("ok", "alert-1"), ("ok", "alert-2")])
        self.assertEqual((outs[2]["status"], outs[2]["code"],
                          outs[2]["account"]), ("permanent", "93000", 1))
        got = self.fake.received("robot")
        # sent at once, on two connections: in either order
        self.assertEqual(sorted((m["to"], m["msg"]["msgtype"]) for m in got),
                         sorted([(ROBOT_KEY, "markdown"),
                                 ("second-robot", "text")]))
        self.assertEqual(self.fake.stats()["gettoken"], 0)

    def test_robot_limit(self):
        start = time.monotonic()
        outs = self.send([{"to_kind": "robot", "body": "alert %d" % i}
                          for i in range(7)], extra="robot_rate = 3/s")
        self.assertGreater(time.monotonic() - start, 2.0)
        self.assertEqual([o["status"] for o in outs], ["ok"] * 7)
        self.assertEqual(self.fake.stats()["violations"], [])


class TestConfig(WecomTest):
    def test_bad_keys_named(self):
        path = self.config(extra="member_rate = 30/x\n"
                                 "duplicate_check_interval = 5h\n")
        res = subprocess.run([CHAN_TOOL, "-c", path, "send", "wecom"],
                             input="", capture_output=True, text=True,
                             env=self.env)
        self.assertEqual(res.returncode, 2)
        self.assertIn("member_rate: \"30/x\" is not a limit", res.stderr)
        self.assertIn("duplicate_check_interval: \"5h\"", res.stderr)
        self.check_no_secrets(res.stderr)


if __name__ == "__main__":
    unittest.main()

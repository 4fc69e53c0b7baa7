"""The webhook channel end to end: build/tools/chan_tool sends through a
[channel.hook] pointed at tests/fakes/webhook_receiver.py, which checks
every signature and records what it accepted, or fails on purpose."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.request

from harness import BUILD, ROOT, SANITIZER_MARKS, free_port

CHAN_TOOL = os.path.join(BUILD, "tools", "chan_tool")
RECEIVER = os.path.join(ROOT, "tests", "fakes", "webhook_receiver.py")
SECRET = "whsec-7f3a9c-do-not-log"

CONFIG = """\
[channel.hook]
type = webhook
{keys}
connect_timeout = 1s
timeout = {timeout}
"""


class Receiver:
    """The fake receiver on a free port, its secret in the environment."""

    def __init__(self, secret=SECRET):
        env = dict(os.environ, WEBHOOK_SECRET=secret)
        self.proc = subprocess.Popen(["/usr/bin/python3", RECEIVER, "0"],
                                     stdout=subprocess.PIPE, env=env,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("port "):
            self.proc.kill()
            raise AssertionError("webhook_receiver did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d/hook" % self.port

    def call(self, path, obj=None):
        data = json.dumps(obj).encode() if obj is not None else None
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    data=data, timeout=5) as r:
            return json.loads(r.read())

    def mode(self, mode):
        self.call("/control", {"mode": mode})

    def received(self):
        return self.call("/received")

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.proc.stdout.close()


class WebhookTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nudge-it-webhook-")
        self.receiver = Receiver()

    def tearDown(self):
        self.receiver.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def config(self, keys, timeout="500ms"):
        path = os.path.join(self.dir, "nudged.conf")
        with open(path, "w") as f:
            f.write(CONFIG.format(keys=keys, timeout=timeout))
        return path

    def send(self, messages, keys=None, secret=SECRET, timeout="500ms"):
        """Runs chan_tool; returns (exit status, outcomes, stderr)."""
        if keys is None:
            keys = "url = %s\nsecret = env:HOOK_SECRET" % self.receiver.url
        env = dict(os.environ, HOOK_SECRET=secret)
        stdin = "".join(json.dumps(m) + "\n" for m in messages)
        p = subprocess.run([CHAN_TOOL, "-c", self.config(keys, timeout),
                            "send", "hook"], input=stdin, env=env,
                           capture_output=True, text=True, timeout=30)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, p.stderr)
        self.assertNotIn(SECRET, p.stderr)
        self.assertNotIn(SECRET, p.stdout)
        outcomes = [json.loads(line) for line in p.stdout.splitlines()]
        return p.returncode, outcomes, p.stderr

    def send_one(self, **kw):
        rc, outcomes, _ = self.send([message(0)], **kw)
        self.assertEqual(rc, 0)
        self.assertEqual(len(outcomes), 1)
        return outcomes[0]

    def test_fifty_delivered_once_each_signed(self):
        rc, outcomes, _ = self.send([message(i) for i in range(50)])
        self.assertEqual(rc, 0)
        self.assertEqual([o["status"] for o in outcomes], ["ok"] * 50)
        got = self.receiver.received()
        self.assertEqual(got["rejected"], 0)  # every signature checked out
        self.assertEqual(got["duplicates"], 0)
        self.assertEqual(sorted(a["key"] for a in got["accepted"]),
                         sorted("key-%d" % i for i in range(50)))
        ids = {a["key"]: a for a in got["accepted"]}
        for i, o in enumerate(outcomes):  # provider_id: the receiver's id
            self.assertEqual(o["provider_id"],
                             "wh-%d" % (got["accepted"].index(ids["key-%d" % i]) + 1))
        body = ids["key-7"]["body"]
        self.assertEqual(body["id"], "key-7")
        self.assertEqual(body["student"], "s7")
        self.assertEqual(body["channel"], "hook")
        self.assertEqual(body["rule"], "welcome")
        self.assertEqual(body["step"], 2)
        self.assertEqual(body["template"], "welcome_pack")
        self.assertEqual(body["type"], "webhook")
        self.assertEqual(body["to"], "crm")
        self.assertEqual(body["data"], {"event": "welcome", "n": 7})
        self.assertNotIn("body", body)
        self.assertRegex(body["sent_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertNotIn("subject", body)  # absent fields are omitted

    def test_text_body_stays_a_string(self):
        rc, outcomes, _ = self.send([{"type": "sms", "to": "+8613812345678",
                                      "body": "{not json", "key": "t1"}])
        self.assertEqual(outcomes[0]["status"], "ok")
        body = self.receiver.received()["accepted"][0]["body"]
        self.assertEqual(body["body"], "{not json")
        self.assertNotIn("data", body)

    def test_repeated_key_reaches_receiver_as_duplicate(self):
        rc, outcomes, _ = self.send([message(1), message(1)])
        self.assertEqual([o["status"] for o in outcomes], ["ok", "ok"])
        self.assertEqual(outcomes[0]["provider_id"], outcomes[1]["provider_id"])
        got = self.receiver.received()
        self.assertEqual(len(got["accepted"]), 1)
        self.assertEqual(got["duplicates"], 1)

    def test_wrong_secret_is_rejected_permanent(self):
        o = self.send_one(secret="not-the-secret")
        self.assertEqual(o["status"], "permanent")
        self.assertEqual(o["code"], "HTTP 401")
        self.assertEqual(o["account"], 1)  # our configuration, not the student
        got = self.receiver.received()
        self.assertEqual(got["rejected"], 1)
        self.assertEqual(got["accepted"], [])

    def test_500_is_transient_account(self):
        self.receiver.mode("500")
        o = self.send_one()
        self.assertEqual((o["status"], o["code"], o["account"]),
                         ("transient", "HTTP 500", 1))

    def test_429_is_transient_with_retry_after(self):
        self.receiver.mode("429")
        o = self.send_one()
        self.assertEqual((o["status"], o["code"], o["retry_after_ms"]),
                         ("transient", "HTTP 429", 3000))

    def test_slow_answer_is_unknown(self):
        self.receiver.mode("slow")
        o = self.send_one()
        self.assertEqual((o["status"], o["code"]),
                         ("unknown", "CURLE_OPERATION_TIMEDOUT"))
        self.assertLess(o["seconds"], 1.5)

    def test_dropped_connection_is_unknown(self):
        self.receiver.mode("drop")
        o = self.send_one()
        self.assertEqual((o["status"], o["code"]),
                         ("unknown", "CURLE_GOT_NOTHING"))

    def test_nothing_listening_is_transient(self):
        keys = "url = http://127.0.0.1:%d/hook\nsecret = %s" % (free_port(),
                                                                 SECRET)
        o = self.send_one(keys=keys)
        self.assertEqual((o["status"], o["code"], o["account"]),
                         ("transient", "CURLE_COULDNT_CONNECT", 1))

    def test_config_errors(self):
        cases = [
            # (keys, what the message says, its line)
            ("secret = %s" % SECRET, "a webhook needs `url = ", 1),
            ("url = %s" % self.receiver.url, "a webhook needs `secret = ", 1),
            ("url = ftp://example.edu/x\nsecret = %s" % SECRET,
             "url: \"ftp://example.edu/x\" is not an http or https URL", 3),
            ("url = %s\nsecret = env:NUDGE_NO_SUCH_VAR" % self.receiver.url,
             "secret: environment variable NUDGE_NO_SUCH_VAR is not set", 4),
            ("url = %s\nsecret = %s\ncolour = red" % (self.receiver.url, SECRET),
             "colour", 5),
        ]
        path = os.path.join(self.dir, "nudged.conf")
        for keys, text, line in cases:
            with self.subTest(keys=keys.replace(SECRET, "SECRET")):
                rc, outcomes, err = self.send([message(0)], keys=keys)
                self.assertEqual(rc, 2)
                self.assertEqual(outcomes, [])
                self.assertIn("%s:%d: " % (path, line), err)
                self.assertIn(text, err)
        self.assertEqual(self.receiver.received()["requests"], 0)


def message(i):
    return {"type": "webhook", "student": "s%d" % i, "to": "crm",
            "body": json.dumps({"event": "welcome", "n": i}),
            "rule": "welcome", "step": 2, "template": "welcome_pack",
            "key": "key-%d" % i}


if __name__ == "__main__":
    unittest.main()

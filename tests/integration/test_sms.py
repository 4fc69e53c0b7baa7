"""The sms channel against the fake gateway (tests/fakes/sms_gateway.py),
through build/tools/chan_tool: for each form (generic, aliyun, tencent)
messages go out signed (the fake checks every signature) with the
idempotency key, each failure class ends as its outcome, numbers are
checked before anything is sent, secrets stay out of the output, and
config errors name file:line and the key.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from harness import BUILD, ROOT, SANITIZER_MARKS  # noqa: E402

CHAN_TOOL = os.path.join(BUILD, "tools", "chan_tool")
FAKE = os.path.join(ROOT, "tests", "fakes", "sms_gateway.py")

# The fake's shared test credentials (tests/fakes/sms_gateway.py).
SECRETS = {"ALIYUN_SECRET": "testsecret", "TENCENT_KEY": "tencent-test-key",
           "GENERIC_TOKEN": "generic-test-token", "BASIC_PASS": "basic-test-pass"}

CONFIG = """\
[channel.gen]
type = sms
form = generic
url = {base}/generic
auth = bearer
token = env:GENERIC_TOKEN
sender = 示例大学
callback_url = https://nudge.example.edu/receipts
timeout = 1s

[channel.basic]
type = sms
form = generic
url = {base}/generic
auth = basic
username = nudge
password = file:basic.secret

[channel.ali]
type = sms
form = aliyun
url = {base}/aliyun
access_key_id = testid
access_key_secret = env:ALIYUN_SECRET
sign_name = 示例大学
timeout = 1s

[channel.tc]
type = sms
form = tencent
url = {base}/tencent
secret_id = AKIDtestsecretid
secret_key = env:TENCENT_KEY
sdk_app_id = 1400000000
sign_name = 示例大学
timeout = 1s

[channel.ali_wrong]
type = sms
form = aliyun
url = {base}/aliyun
access_key_id = testid
access_key_secret = not-the-secret
sign_name = 示例大学

[channel.tc_wrong]
type = sms
form = tencent
url = {base}/tencent
secret_id = AKIDtestsecretid
secret_key = not-the-key
sdk_app_id = 1400000000
sign_name = 示例大学

[channel.gen_wrong]
type = sms
form = generic
url = {base}/generic
token = not-the-token
"""

TEMPLATE = {"provider_template": "SMS_123456789",
            "provider_params": '{"name":"张三","time":"2026年9月1日"}',
            "template": "trial_class_invite"}


class SmsGateway:
    def __init__(self, *args):
        self.proc = subprocess.Popen(["/usr/bin/python3", FAKE] + list(args),
                                     stdout=subprocess.PIPE, text=True)
        self.port = int(self.proc.stdout.readline())
        self.base = "http://127.0.0.1:%d" % self.port

    def call(self, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data,
                                     method="POST" if data else "GET")
        with urllib.request.urlopen(req, timeout=5) as res:
            return json.loads(res.read())

    def received(self):
        return self.call("/received")

    def stats(self):
        return self.call("/stats")

    def rules(self, *rules):
        self.call("/control", {"rules": list(rules)})

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()


class SmsTestCase(unittest.TestCase):
    def setUp(self):
        self.fake = SmsGateway()
        self.dir = tempfile.mkdtemp(prefix="nudge-sms-")
        self.config = os.path.join(self.dir, "nudged.conf")
        with open(self.config, "w") as f:
            f.write(CONFIG.format(base=self.fake.base))
        with open(os.path.join(self.dir, "basic.secret"), "w") as f:
            f.write(SECRETS["BASIC_PASS"] + "\n")
        self.env = dict(os.environ, **SECRETS)
        self.stderr = ""

    def tearDown(self):
        self.fake.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def run_tool(self, channel, messages, config=None, expect_rc=0):
        lines = "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in messages)
        res = subprocess.run([CHAN_TOOL, "-c", config or self.config, "send", channel],
                             input=lines, capture_output=True, text=True,
                             timeout=30, env=self.env)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, res.stderr, res.stderr)
        self.assertEqual(res.returncode, expect_rc, res.stderr)
        self.stderr += res.stderr + res.stdout
        return [json.loads(line) for line in res.stdout.splitlines()]

    def send(self, channel, *messages):
        return self.run_tool(channel, messages)

    def assert_outcome(self, out, status, code=None, account=None):
        self.assertEqual(out["status"], status, out)
        if code is not None:
            self.assertEqual(out["code"], code, out)
        if account is not None:
            self.assertEqual(out["account"], account, out)


class TestDelivery(SmsTestCase):
    def test_generic_delivers_text_with_its_key(self):
        outs = self.send("gen",
                         {"to": "+8613800000010", "body": "您好", "key": "k-1"},
                         {"to": "13800000011", "body": "再见", "key": "k-2"})
        for out in outs:
            self.assert_outcome(out, "ok")
            self.assertTrue(out["provider_id"].startswith("gw-"), out)
        got = sorted(self.fake.received(), key=lambda r: r["key"])
        self.assertEqual([(r["to"], r["text"], r["key"], r["auth"]) for r in got],
                         [("+8613800000010", "您好", "k-1", "Bearer"),
                          ("+8613800000011", "再见", "k-2", "Bearer")])
        self.assertEqual(got[0]["sender"], "示例大学")
        self.assertEqual(got[0]["callback_url"], "https://nudge.example.edu/receipts")

    def test_generic_basic_auth_from_a_secret_file(self):
        out, = self.send("basic", {"to": "+447911123456", "body": "hi", "key": "b-1"})
        self.assert_outcome(out, "ok")
        got, = self.fake.received()
        self.assertEqual((got["to"], got["auth"]), ("+447911123456", "Basic"))

    def test_generic_provider_template_without_text(self):
        out, = self.send("gen", dict(TEMPLATE, to="+8613800000012", key="t-1"))
        self.assert_outcome(out, "ok")
        got, = self.fake.received()
        self.assertEqual(got["template"], "SMS_123456789")
        self.assertEqual(got["params"], {"name": "张三", "time": "2026年9月1日"})

    def test_generic_drops_a_repeated_key(self):
        msg = {"to": "+8613800000013", "body": "一次", "key": "same-key"}
        first, = self.send("gen", msg)
        again, = self.send("gen", msg)
        self.assert_outcome(first, "ok")
        self.assert_outcome(again, "ok")
        self.assertEqual(first["provider_id"], again["provider_id"])
        self.assertEqual(len(self.fake.received()), 1)
        self.assertEqual(self.fake.stats()["duplicates"], 1)

    def test_aliyun_delivers_signed_with_out_id(self):
        outs = self.send("ali", dict(TEMPLATE, to="+8613800000020", key="a-1"),
                         dict(TEMPLATE, to="13800000021", key="a-2"),
                         dict(TEMPLATE, to="+85291234567", key="a-3"))
        for out in outs:
            self.assert_outcome(out, "ok")
            self.assertRegex(out["provider_id"], r"^\d+\^0$")
        got = sorted(self.fake.received(), key=lambda r: r["key"])
        # mainland numbers without +86; others as country code and number
        self.assertEqual([(r["to"], r["key"]) for r in got],
                         [("13800000020", "a-1"), ("13800000021", "a-2"),
                          ("85291234567", "a-3")])
        self.assertEqual(got[0]["template"], "SMS_123456789")
        self.assertEqual(got[0]["params"], {"name": "张三", "time": "2026年9月1日"})
        self.assertEqual(got[0]["sign_name"], "示例大学")
        self.assertEqual(self.fake.stats()["bad_signatures"], 0)

    def test_tencent_delivers_signed_with_session_context(self):
        outs = self.send("tc", dict(TEMPLATE, to="+8613800000030", key="t-1"),
                         dict(TEMPLATE, to="8613800000031", key="t-2"))
        for out in outs:
            self.assert_outcome(out, "ok")
            self.assertTrue(out["provider_id"].startswith("5000:"), out)
        got = sorted(self.fake.received(), key=lambda r: r["key"])
        self.assertEqual([(r["to"], r["key"]) for r in got],
                         [("+8613800000030", "t-1"), ("+8613800000031", "t-2")])
        # TemplateParamSet: the params' values in their order
        self.assertEqual(got[0]["params"], ["张三", "2026年9月1日"])
        self.assertEqual((got[0]["template"], got[0]["sdk_app_id"]),
                         ("SMS_123456789", "1400000000"))

    def test_many_at_once(self):
        msgs = [dict(TEMPLATE, to="+86138%08d" % (100 + i), key="m-%d" % i)
                for i in range(60)]
        outs = self.send("tc", *msgs)
        self.assertEqual([o["status"] for o in outs], ["ok"] * 60)
        self.assertEqual(len(self.fake.received()), 60)


class TestWrongCredentials(SmsTestCase):
    def test_each_form_refuses_a_wrong_secret(self):
        cases = [("ali_wrong", dict(TEMPLATE), "SignatureDoesNotMatch"),
                 ("tc_wrong", dict(TEMPLATE), "AuthFailure.SignatureFailure"),
                 ("gen_wrong", {"body": "x"}, "unauthorized")]
        for channel, msg, code in cases:
            with self.subTest(channel=channel):
                out, = self.send(channel, dict(msg, to="+8613800000040", key="w"))
                self.assert_outcome(out, "permanent", code, account=1)
        self.assertEqual(self.fake.received(), [])
        self.assertEqual(self.fake.stats()["bad_signatures"], 3)


class TestFailureClasses(SmsTestCase):
    """Numbers ending in 0001..0005 fail on purpose, each form its way."""

    CASES = {
        "ali": [("0001", {"code": "isv.MOBILE_NUMBER_ILLEGAL"},
                 "permanent", "isv.MOBILE_NUMBER_ILLEGAL", 0),
                ("0002", {"code": "isv.BUSINESS_LIMIT_CONTROL"},
                 "transient", "isv.BUSINESS_LIMIT_CONTROL", 0),
                ("0003", {"code": "isv.AMOUNT_NOT_ENOUGH"},
                 "permanent", "isv.AMOUNT_NOT_ENOUGH", 1)],
        "tc": [("0001", {"code": "InvalidParameterValue.IncorrectPhoneNumber"},
                "permanent", "InvalidParameterValue.IncorrectPhoneNumber", 0),
               ("0002", {"code": "LimitExceeded.PhoneNumberDailyLimit"},
                "transient", "LimitExceeded.PhoneNumberDailyLimit", 0),
               ("0003", {"code": "FailedOperation.InsufficientBalanceInSmsPackage"},
                "permanent", "FailedOperation.InsufficientBalanceInSmsPackage", 1)],
        "gen": [("0001", {"code": "invalid_number"},
                 "permanent", "invalid_number", 0),
                ("0002", {"code": "rate_limited"},
                 "transient", "rate_limited", 0),
                ("0003", {"code": "insufficient_balance"},
                 "permanent", "insufficient_balance", 1)],
    }
    COMMON = [("0004", {"status": 500}, "transient", "HTTP 500", 1),
              ("0005", {"close": True}, "unknown", None, None)]

    def test_classes(self):
        for channel, rows in self.CASES.items():
            form = {"ali": "aliyun", "tc": "tencent", "gen": "generic"}[channel]
            rows = rows + self.COMMON
            # the provider's message echoes the number: it must come back masked
            self.fake.rules(*[dict(rule, suffix=suffix, form=form,
                                   message="number 1380000%s refused" % suffix)
                              for suffix, rule, *_ in rows])
            msgs = [dict(TEMPLATE, body="x", to="+861380000" + suffix,
                         key="%s-%s" % (channel, suffix))
                    for suffix, *_ in rows]
            outs = self.send(channel, *msgs)
            for (suffix, _rule, status, code, account), out in zip(rows, outs):
                with self.subTest(channel=channel, suffix=suffix):
                    self.assert_outcome(out, status, code, account)
                    self.assertNotIn("1380000" + suffix, out["error"])

    def test_rate_limit_retry_after(self):
        self.fake.rules({"suffix": "0006", "status": 429, "retry_after": 7},
                        {"suffix": "0106", "code": "rate_limited"})
        out, = self.send("tc", dict(TEMPLATE, to="+8613800000006", key="r"))
        self.assert_outcome(out, "transient", "HTTP 429", 0)
        self.assertEqual(out["retry_after_ms"], 7000)
        # the generic gateway's 429 names its code and says Retry-After: 2
        out, = self.send("gen", {"to": "+8613800000106", "body": "x", "key": "g"})
        self.assert_outcome(out, "transient", "rate_limited", 0)
        self.assertEqual(out["retry_after_ms"], 2000)

    def test_slow_answer_is_unknown(self):
        self.fake.rules({"suffix": "0007", "slow_ms": 2500})
        out, = self.send("ali", dict(TEMPLATE, to="+8613800000007", key="s"))
        self.assert_outcome(out, "unknown")

    def test_dropped_then_repeated_key_is_one_message(self):
        """A generic gateway that honours Idempotency-Key: an unknown
        outcome may be sent again (on_unknown = retry) without a copy."""
        self.fake.rules({"suffix": "0008", "close": True})
        msg = {"to": "+8613800000008", "body": "一次", "key": "once"}
        out, = self.send("gen", msg)
        self.assert_outcome(out, "unknown")
        self.fake.rules()
        out, = self.send("gen", msg)
        self.assert_outcome(out, "ok")
        got, = self.fake.received()
        self.assertEqual(got["key"], "once")
        self.assertEqual(self.fake.stats()["duplicates"], 1)


class TestNumbers(SmsTestCase):
    def test_invalid_numbers_are_refused_before_sending(self):
        for channel in ("gen", "ali", "tc"):
            outs = self.send(channel, *[dict(TEMPLATE, body="x", to=to, key=to)
                                        for to in ("12812345678", "+0123456789",
                                                   "138abc45678", "+8612812345678",
                                                   "")])
            for out in outs:
                with self.subTest(channel=channel, out=out):
                    self.assert_outcome(out, "permanent", "invalid_number", 0)
            self.assertIn("invalid phone number 128****5678", outs[0]["error"])
            self.assertNotIn("12812345678", outs[0]["error"])
        self.assertEqual(self.fake.stats()["requests"], 0)

    def test_mainland_number_without_country_code(self):
        out, = self.send("gen", {"to": "138 0000 0050", "body": "x", "key": "n"})
        self.assert_outcome(out, "ok")
        self.assertEqual(self.fake.received()[0]["to"], "+8613800000050")

    def test_provider_forms_need_a_provider_template(self):
        for channel, form in (("ali", "aliyun"), ("tc", "tencent")):
            out, = self.send(channel, {"to": "+8613800000060", "body": "text only",
                                       "template": "welcome_pack", "key": "p"})
            self.assert_outcome(out, "permanent", "no_provider_template", 1)
            self.assertIn("template welcome_pack has no provider template "
                          "code for %s" % form, out["error"])
        self.assertEqual(self.fake.stats()["requests"], 0)


class TestSecrets(SmsTestCase):
    def test_secrets_never_in_the_output(self):
        self.fake.rules({"suffix": "0001", "code": "isv.AMOUNT_NOT_ENOUGH"})
        for channel in ("gen", "basic", "ali", "tc", "ali_wrong", "tc_wrong",
                        "gen_wrong"):
            self.send(channel, dict(TEMPLATE, body="x", to="+8613800000001", key="s"),
                      dict(TEMPLATE, body="x", to="+8613800000002", key="s2"))
        for secret in list(SECRETS.values()) + ["not-the-secret", "not-the-key",
                                                "not-the-token"]:
            self.assertNotIn(secret, self.stderr)


class TestConfigErrors(SmsTestCase):
    def check_error(self, section, want, env=None):
        path = os.path.join(self.dir, "bad.conf")
        with open(path, "w") as f:
            f.write(section)
        if env is not None:
            self.env = env
        res = subprocess.run([CHAN_TOOL, "-c", path, "send", "x"], input="",
                             capture_output=True, text=True, timeout=10,
                             env=self.env)
        self.assertEqual(res.returncode, 2, res.stderr)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, res.stderr, res.stderr)
        self.assertIn(path + ":" + want, res.stderr)
        for secret in SECRETS.values():
            self.assertNotIn(secret, res.stderr)
        return res.stderr

    def test_missing_required_key(self):
        self.check_error("[channel.x]\ntype = sms\nform = aliyun\n"
                         "access_key_id = testid\nsign_name = s\n",
                         "1: [channel.x]: missing key `access_key_secret`")
        self.check_error("[channel.x]\ntype = sms\nform = tencent\n"
                         "secret_id = a\nsecret_key = b\nsign_name = s\n",
                         "1: [channel.x]: missing key `sdk_app_id`")
        self.check_error("[channel.x]\ntype = sms\nform = generic\n"
                         "auth = basic\nurl = http://x/\nusername = u\n",
                         "4: [channel.x]: missing key `password`")

    def test_bad_values(self):
        self.check_error("[channel.x]\ntype = sms\nform = twilio\n",
                         '3: form: unknown sms form "twilio"')
        self.check_error("[channel.x]\ntype = sms\nurl = ftp://x/\ntoken = t\n",
                         '3: url: "ftp://x/" is not an http:// or https:// URL')
        self.check_error("[channel.x]\ntype = sms\nurl = http://x/\n"
                         "auth = digest\n", '4: auth: "digest"')
        self.check_error("[channel.x]\ntype = sms\nurl = http://x/\n"
                         "auth = none\ntoken = generic-test-token\n",
                         "5: token: not used with auth = none")
        self.check_error("[channel.x]\ntype = sms\nform = aliyun\n"
                         "access_key_id = a\nsign_name = s\nregionn = x\n"
                         "access_key_secret = y\n", "6: unknown key")

    def test_unset_secret(self):
        env = dict(os.environ)
        env.pop("ALIYUN_SECRET", None)
        self.check_error("[channel.x]\ntype = sms\nform = aliyun\n"
                         "access_key_id = a\nsign_name = s\n"
                         "access_key_secret = env:ALIYUN_SECRET\n",
                         "6: access_key_secret: environment variable "
                         "ALIYUN_SECRET is not set", env=env)


if __name__ == "__main__":
    unittest.main()

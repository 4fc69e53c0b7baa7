"""What recruiters get wrong in templates, found by `nudgectl check`
(issue 13): single braces, and an attribute no student has, compared with
the contract's fields and a sample of students in Redis."""
import os
import unittest

from harness import Nudge, RedisServer, add_student


class TemplateHintsTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis, http=False)
        self.addCleanup(self.nudge.cleanup)
        self.nudge.write("rules/none.rules", "stages lead\n")

    def check(self):
        return self.nudge.ctl("check", check=False)

    def test_single_braces(self):
        self.nudge.write("templates/fee.sms", "Kind: service\n\n"
                         "{{name}}您好，请在{date deposit_due}前缴费。\n")
        res = self.check()
        self.assertEqual(res.returncode, 0, res.stderr)  # a warning
        self.assertIn('fee.sms:3:', res.stderr)
        self.assertIn('"{date deposit_due}" looks like a placeholder: a '
                      'value goes between double braces', res.stderr)

    def test_misspelt_attribute_against_students_in_redis(self):
        for sid in ("1", "2", "3"):
            add_student(self.r, sid, major_intent="law")
        self.nudge.write("templates/a.sms", "Kind: service\n\n"
                         "{{nmae}}同学，您的意向专业{{majr_intent}}。\n")
        self.nudge.write("templates/b.sms", "Kind: service\n\n"
                         "{{name}}同学，您的意向专业{{major_intent}}。\n")
        res = self.check()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertIn('"nmae" is an attribute no student has', res.stderr)
        self.assertIn('did you mean "name"?', res.stderr)
        self.assertIn('"majr_intent" is an attribute no student has', res.stderr)
        self.assertIn('did you mean "major_intent"?', res.stderr)
        self.assertNotIn('"major_intent" is an attribute', res.stderr)
        self.assertNotIn("b.sms", res.stderr)


class CheckAgreesWithDaemonTest(unittest.TestCase):
    """`nudgectl check` and nudged decide with the same functions: what
    stops one is an error in the other, with the same words."""

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)

    def both(self, extra, rules_dir=True):
        nudge = Nudge(self.redis, http=False, extra=extra)
        self.addCleanup(nudge.cleanup)
        if rules_dir:
            nudge.write("rules/none.rules", "stages lead\n")
        else:
            os.rmdir(nudge.path("rules"))
        check = nudge.ctl("check", check=False)
        nudge.start()
        status = nudge.proc.wait(20)
        nudge.proc = None
        return check, status, nudge.log_text()

    def test_outbox_in_a_missing_folder(self):
        check, status, log = self.both(
            "[channel.box]\ntype = outbox\nas = sms\n"
            "path = no/such/folder/outbox.jsonl\n")
        self.assertEqual(check.returncode, 1, check.stderr)
        self.assertEqual(status, 2, log)
        want = 'path: cannot open'
        self.assertIn(want, check.stderr)
        self.assertIn(want, log)

    def test_missing_rules_folder(self):
        check, status, log = self.both("", rules_dir=False)
        self.assertEqual(check.returncode, 1, check.stderr)
        self.assertEqual(status, 2, log)
        want = "cannot open the rules folder"
        self.assertIn(want, check.stderr)
        self.assertIn(want, log)


if __name__ == "__main__":
    unittest.main()

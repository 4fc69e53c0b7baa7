"""Templates through nudgectl against a throwaway Redis: `render` prints
the exact message (emails parsed back by Python's email package give the
same subject and bodies, for Chinese, emoji and ASCII), and `check`
reports template errors as file:line:col and what each template needs.
"""
import base64
import email
import email.policy
import email.utils
import hashlib
import hmac
import os
import subprocess
import unittest
import urllib.parse

from harness import (NUDGECTL, SANITIZER_MARKS, Nudge, NudgeTestCase,
                     add_student)

SECRET = "s3cret-for-tests"

EXTRA = """
[templates]
unsubscribe_secret = %s
unsubscribe_url = https://example.edu/unsub

[school]
name = 示例大学

[delivery]
quiet_hours_staff =

[channel.mail]
type = email
host = 127.0.0.1
from = 招生办 <admissions@example.edu>
""" % SECRET

TEXTS = {
    "chinese": ("欢迎加入示例大学：新生礼包与缴费指南，请在截止日期前完成缴费",
                "恭喜您被示例大学录取！随信附上新生礼包：报到流程、宿舍介绍、"
                "新生群二维码和学费缴纳指南。如遇经济困难，可申请绿色通道。"),
    "emoji": ("🎓 Welcome 欢迎 🎉 to campus 🏫",
              "Pack your bags 🧳 and bring a friend 👩‍🎓👨‍🎓 — see you in "
              "September! 🍁"),
    "ascii": ("Your admission pack and how to pay the fees on time",
              "Congratulations! A line long enough to need soft line breaks "
              "in quoted-printable, because it is well over seventy-six "
              "characters, and ends = with an equals sign."),
}


def crlf_to_lf(text):
    """Bodies travel with CRLF; the email package hands them back so."""
    return text.replace("\r\n", "\n")


def unsub_token(student, channel):
    mac = hmac.new(SECRET.encode(), ("nudge-unsub-v1\n%s\n%s" % (
        student, channel)).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


class TemplatesTest(NudgeTestCase, unittest.TestCase):
    def setUp(self):
        super().setUp()
        # nudgectl only: a config with the templates' keys, no listener
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis, extra=EXTRA, http=False)

    def template(self, name, text):
        self.nudge.write(os.path.join("templates", name), text)

    def render(self, *args, check=True):
        return self.nudge.ctl("render", *args, check=check)

    def render_bytes(self, *args):
        """The exact bytes of the message as sent (--raw; ctl() reads
        text, which turns CRLF into LF)."""
        res = subprocess.run([NUDGECTL, "-c", self.nudge.config, "render",
                              "--raw"] + list(args), capture_output=True,
                             timeout=60)
        err = res.stderr.decode(errors="replace")
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, err)
        self.assertEqual(res.returncode, 0, err)
        return res.stdout

    def templates_report(self, out):
        """The lines of `check` that are the templates checker's."""
        lines = out.splitlines(keepends=True)
        return "".join(l for l in lines if l.startswith(("templates:", "  ")))

    # --- email ----------------------------------------------------------

    def parse(self, raw):
        return email.message_from_bytes(raw, policy=email.policy.default)

    def test_email_round_trip(self):
        self.template("pack.email",
                      "Subject: {{title}}\n\n{{greeting}}\n\n"
                      "{{school.name}}招生办\n")
        self.template("pack.email.html",
                      "<p>{{greeting}}</p>\n<p>{{school.name}}</p>\n")
        for i, (kind, (title, greeting)) in enumerate(TEXTS.items(), 1):
            with self.subTest(kind):
                add_student(self.r, str(i), title=title, greeting=greeting,
                            email="s%d@example.edu" % i)
                raw = self.render_bytes("pack", str(i), "mail")
                self.assertTrue(raw.endswith(b"\r\n"))
                for line in raw[:-2].split(b"\r\n"):
                    if not line.startswith(b"List-Unsubscribe:"):
                        self.assertLessEqual(len(line), 78, line)
                    self.assertNotIn(b"\n", line)
                    self.assertNotIn(b"\r", line)
                    self.assertTrue(line.isascii())
                msg = self.parse(raw)
                self.assertEqual(msg["subject"], title)
                self.assertEqual(msg.get_content_type(),
                                 "multipart/alternative")
                text = crlf_to_lf(msg.get_body(("plain",)).get_content())
                self.assertEqual(text, "%s\n\n示例大学招生办\n" % greeting)
                html = crlf_to_lf(msg.get_body(("html",)).get_content())
                self.assertEqual(html, "<p>%s</p>\n<p>示例大学</p>\n" %
                                 greeting)
                self.assertEqual(msg["to"].addresses[0].addr_spec,
                                 "s%d@example.edu" % i)
                self.assertEqual(msg["from"].addresses[0].display_name,
                                 "招生办")
                self.assertEqual(msg["from"].addresses[0].addr_spec,
                                 "admissions@example.edu")
                self.assertIsNotNone(email.utils.parsedate_to_datetime(
                    msg["date"]))
                self.assertRegex(msg["message-id"],
                                 r"^<[0-9A-F]{32}@example\.edu>$")
                self.check_unsubscribe(msg, str(i))

    def check_unsubscribe(self, msg, sid):
        self.assertEqual(msg["list-unsubscribe-post"],
                         "List-Unsubscribe=One-Click")
        link = msg["list-unsubscribe"]
        self.assertTrue(link.startswith("<https://example.edu/unsub?"))
        query = urllib.parse.parse_qs(urllib.parse.urlparse(
            link.strip("<>")).query)
        self.assertEqual(query["student"], [sid])
        self.assertEqual(query["channel"], ["email"])
        self.assertEqual(query["token"], [unsub_token(sid, "email")])
        self.assertNotEqual(query["token"], [unsub_token("999", "email")])

    def test_email_text_only_and_injection(self):
        self.template("note.email", "Subject: Hi {{name}}\n\nDear {{name}},\n"
                      "{{note}}\nUnsubscribe: {{msg.unsubscribe_url}}\n")
        add_student(self.r, "7", name="Eve\r\nBcc: victim@example.com",
                    email="eve@example.edu",
                    note="<script>alert(1)</script> {{name}} }}")
        msg = self.parse(self.render_bytes("note", "7", "email"))
        self.assertIsNone(msg["bcc"])
        self.assertEqual(msg["subject"], "Hi Eve  Bcc: victim@example.com")
        self.assertEqual(msg.get_content_type(), "text/plain")
        body = crlf_to_lf(msg.get_content())
        self.assertIn("<script>alert(1)</script> {{name}} }}", body)
        self.assertIn("Dear Eve\nBcc: victim@example.com,", body)
        self.assertIn("token=" + unsub_token("7", "email"), body)

    # --- sms, wecom, webhook ------------------------------------------------

    def test_sms_segments(self):
        self.template("invite.sms", "Kind: marketing\n\n"
                      "【{{school.name}}】{{name|同学}}您好！诚邀您参加本周六上午"
                      "的专业体验课，现场与任课老师面对面交流。回复1预约。\n")
        self.template("short.sms", "Kind: service\n\n"
                      "Hi {{name}}, see you {{date day}}!\n")
        add_student(self.r, "1", name="张三", day="2026-09-01")
        add_student(self.r, "2", name="Li Lei", day="2026-09-01", lang="en")
        out = self.render("invite", "1", "sms").stdout
        self.assertIn("To: +8613800000001\n", out)
        self.assertIn("Encoding: UCS-2\n", out)
        self.assertIn("Segments: 1 (53 characters)\n", out)
        self.assertTrue(out.endswith("回复1预约。拒收请回复R\n"))
        out = self.render("short", "2", "outbox").stdout
        self.assertIn("Encoding: GSM-7\nSegments: 1 (36 characters)\n\n"
                      "Hi Li Lei, see you 1 September 2026!\n", out)

    def test_sms_class_optout_text(self):
        """An unmarked SMS is marketing and gets the opt-out text; service
        (or its synonym notice) and staff go as written."""
        body = "{{name}}同学，开放日见\n"
        self.template("unmarked.sms", body)
        self.template("service.sms", "Kind: service\n\n" + body)
        self.template("notice.sms", "Kind: notice\n\n" + body)
        self.template("staff.sms", "Kind: staff\n\n" + body)
        add_student(self.r, "9", name="张三")
        out = self.render("unmarked", "9", "sms").stdout
        self.assertTrue(out.endswith("\n\n张三同学，开放日见拒收请回复R\n"), out)
        for name in ("service", "notice", "staff"):
            out = self.render(name, "9", "sms").stdout
            self.assertTrue(out.endswith("\n\n张三同学，开放日见\n"),
                            name + ": " + out)

    def test_provider_template(self):
        self.template("code.sms", "Template-Code: SMS_4242\n"
                      "Param-name: {{name}}\nParam-school: {{school.name}}\n")
        add_student(self.r, "3", name='王"五')
        out = self.render("code", "3", "sms").stdout
        self.assertIn("Template-Code: SMS_4242\n", out)
        self.assertIn('Params: {"name":"王\\"五","school":"示例大学"}\n', out)

    def test_owner_and_supervisor(self):
        self.template("overdue.wecom", "Format: markdown\n\n"
                      "**{{name}}** 由 {{owner.name}} 负责，主管 "
                      "{{supervisor.name}}\n")
        self.r.hset("slm:staff:t1", mapping={"name": "李_老师",
                                            "supervisor": "s1"})
        self.r.hset("slm:staff:s1", mapping={"name": "王主任"})
        add_student(self.r, "4", name="赵*六", owner="t1",
                    wecom_userid="zhaoliu")
        out = self.render("overdue", "4").stdout
        self.assertEqual(out, "==> %s <==\nTo: zhaoliu\nFormat: markdown\n\n"
                         "**赵\\*六** 由 李\\_老师 负责，主管 王主任\n" %
                         self.nudge.path("templates/overdue.wecom"))

    def test_email_as_read_and_raw(self):
        """render shows an email as a person reads it (the subject decoded,
        the text, the HTML part summarised); --raw the MIME message."""
        self.template("welcome.email", "Subject: 欢迎 {{name}}\n\n"
                      "{{name}}同学：欢迎加入！\n")
        self.template("welcome.email.html",
                      "<p>{{name}}同学：<a href=\"https://example.edu\">"
                      "欢迎</a></p>\n")
        add_student(self.r, "7", name="钱七", email="qian@example.edu")
        out = self.render("welcome", "7", "email").stdout
        self.assertIn("Subject: 欢迎 钱七\n", out)
        self.assertIn("\n钱七同学：欢迎加入！\n", out)
        self.assertRegex(out, r"\[an HTML part too: \d+ bytes, 1 link; "
                              r"--raw shows the MIME message\]")
        self.assertNotIn("Content-Transfer-Encoding", out)
        self.assertNotIn("=?UTF-8?", out)
        raw = self.render("--raw", "welcome", "7", "email").stdout
        self.assertIn("MIME-Version: 1.0", raw)
        self.assertIn("=?UTF-8?", raw)  # the subject as sent, encoded

    def test_webhook(self):
        self.template("hook.webhook", '{"student": "{{msg.student_id}}", '
                      '"name": "{{name}}"}\n')
        add_student(self.r, "5", name='a "quoted"\nname')
        out = self.render("hook", "5", "webhook").stdout
        self.assertEqual(out, '{"student": "5", "name": "a \\"quoted\\"'
                         '\\nname"}\n\n')

    # --- failures --------------------------------------------------------------

    def test_missing_value(self):
        self.template("remind.sms", "{{name}}您好，{{owner.name}}老师会联系您\n")
        add_student(self.r, "6")
        res = self.render("remind", "6", "sms", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn("missing owner.name", res.stderr)
        self.assertEqual(res.stdout, "")

    def test_render_usage(self):
        self.template("a.sms", "hi\n")
        add_student(self.r, "8")
        self.assertEqual(self.render("nope", "8", check=False).returncode, 1)
        self.assertEqual(self.render("a", "999", check=False).returncode, 1)
        res = self.render("a", "8", "fax", check=False)
        self.assertEqual(res.returncode, 2)
        self.assertIn("neither a configured channel nor a type", res.stderr)
        self.assertEqual(self.render("a", check=False).returncode, 2)

    # --- check -----------------------------------------------------------------

    def test_check_clean(self):
        self.template("welcome.sms", "{{name|同学}}您好\n")
        self.template("welcome.email", "Subject: 欢迎 {{name}}\n\n"
                      "{{#major}}专业：{{major}}{{/major}}"
                      "{{#tag:intent:high}}!{{/tag:intent:high}}\n"
                      "{{owner.name}}\n")
        res = self.nudge.ctl("check")
        self.assertEqual(self.templates_report(res.stdout),
                         "templates: 1 in %s\n"
                         "  welcome (sms email): needs name, owner.name; "
                         "optional major, tag:intent:high\n"
                         "  marketing: welcome\n"
                         "  service: none\n"
                         "  staff: none\n" %
                         self.nudge.path("templates"))
        self.assertNotIn("templates", res.stderr)

    def test_check_classes(self):
        """A line per class: Kind decides, unmarked is marketing, notice is
        service, parts of differing Kind are listed alone, and a template
        only notify (or escalate) sends is staff alone, whatever it says;
        one a rule also sends to students keeps its Kind too."""
        self.template("open_day.sms", "{{name}}同学，开放日见\n")
        self.template("admission.sms", "Kind: notice\n\n录取结果已发布\n")
        self.template("deadline.email", "Subject: 缴费\nKind: service\n\n"
                      "请按时缴费\n")
        self.template("mixed.sms", "Kind: service\n\n明天上课\n")
        self.template("mixed.email", "Subject: x\n\n欢迎再来\n")
        self.template("new_lead.email", "Subject: 新线索 {{name}}\n\nx\n")
        self.template("both.email", "Subject: 欢迎\n\nx\n")
        self.nudge.write("rules/leads.rules",
                         "rule leads {\n    on created\n"
                         "    notify owner via mail new_lead\n"
                         "    notify owner via mail both\n"
                         "    send mail both\n}\n")
        res = self.nudge.ctl("check")
        self.assertIn("classes (Kind; notify and escalate send as staff):\n"
                      "  marketing: both, mixed.email, open_day\n"
                      "  service: admission, deadline, mixed.sms\n"
                      "  staff: both, new_lead\n", res.stdout)

    def test_check_errors(self):
        self.template("ok.sms", "hi {{name}}\n")
        self.template("bad.sms", "第一行\n你好{{#a}}x{{/b}}\n")
        self.template("bad.email", "Subject: {{foo.bar}}\n\nbody {{name\n")
        self.template("long.sms", "长" * 300 + "\n")
        res = self.nudge.ctl("check", check=False)
        self.assertEqual(res.returncode, 1)
        d = self.nudge.path("templates")
        self.maxDiff = None
        # the templates checker's lines (the rules checker runs too)
        lines = [l for l in res.stderr.splitlines() if l.startswith(d)]
        self.assertEqual(lines, [
            '%s/bad.email:1:10: unknown prefix "foo." in "foo.bar": use '
            'owner., supervisor., school. or msg.' % d,
            '%s/bad.email:3:6: unclosed "{{": expected "}}"' % d,
            '%s/bad.sms:2:10: "{{/b}}" does not close "a", opened at 2:3' % d,
            '%s/bad.sms:2:3: section "a" is never closed: add {{/a}}' % d,
            '%s/long.sms:1:1: warning: the SMS takes at least 5 segments '
            # unmarked, so marketing: the opt-out text is counted
            '(UCS-2, 306 characters), above sms_max_segments = 3' % d,
        ])
        self.assertIn("4 errors, 1 warning", res.stderr)

    def test_check_disallowed_attribute(self):
        """[templates] allowed_attributes: a template using another student
        attribute (an ID-card number) is an error naming the place and the
        attribute; check exits 1."""
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis, http=False, extra=EXTRA.replace(
            "[templates]\n",
            "[templates]\nallowed_attributes = name, score major_intent\n"))
        self.template("ok.sms", "{{name}} {{score|}} {{owner.name}}\n")
        self.template("id.sms", "Kind: service\n\n{{name}}您好，证件号 "
                      "{{id_card}}\n")
        res = self.nudge.ctl("check", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn('%s:3:16: the student attribute "id_card" is not in '
                      '[templates] allowed_attributes: add it there if '
                      'templates may use it (data minimisation, '
                      'docs/policy.md), or leave it out\n' %
                      self.nudge.path("templates/id.sms"), res.stderr)
        self.assertIn("1 error,", res.stderr)
        # allowed, it checks clean
        self.template("id.sms", "Kind: service\n\n{{name}}您好\n")
        self.assertEqual(self.nudge.ctl("check").returncode, 0)

    def test_check_marketing_confirmation(self):
        """The opt-out confirmation must not be marketing: it would end
        with the opt-out text."""
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis, http=False, extra=EXTRA +
                           "\n[consent]\nconfirm_template = bye\n")
        self.template("bye.sms", "退订成功\n")
        res = self.nudge.ctl("check")
        self.assertIn('%s:1:1: warning: [consent] confirm_template "bye" is '
                      'marketing (no Kind: line means marketing), so it '
                      'would end with the opt-out text: add "Kind: service"'
                      % self.nudge.path("templates/bye.sms"), res.stderr)
        self.template("bye.sms", "Kind: notice\n\n退订成功\n")
        self.assertNotIn("confirm_template", self.nudge.ctl("check").stderr)

    def test_check_warning_only(self):
        self.template("long.sms", "长" * 300 + "\n")
        res = self.nudge.ctl("check")
        self.assertEqual(res.returncode, 0)
        self.assertIn("warning: the SMS takes at least 5 segments", res.stderr)


if __name__ == "__main__":
    unittest.main()

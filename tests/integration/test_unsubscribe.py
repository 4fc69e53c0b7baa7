"""The one-click unsubscribe link end to end: the link nudgectl renders
into an email, followed to nudged's /unsubscribe as a reverse proxy would
pass it. GET only asks; POST (RFC 8058's body) records the opt-out once,
in the optout set and on the timeline; forged or incomplete links are
refused and write nothing; Redis down answers 503 at once."""
import email
import email.policy
import time
import unittest
import urllib.parse

from harness import (Nudge, NudgeTestCase, add_student, http_get,
                     http_request, metric, timeline, wait_for)

SECRET = "s3cret-for-unsubscribe-tests"
ONE_CLICK = b"List-Unsubscribe=One-Click"

EXTRA = """
[templates]
unsubscribe_secret = %s
unsubscribe_url = https://example.edu/unsubscribe

[school]
name = 示例大学

[channel.mailbox]
type = outbox
as = email
path = outbox.jsonl
""" % SECRET


class UnsubscribeTest(NudgeTestCase, unittest.TestCase):
    redis_options = {"appendonly": True}  # the students outlive a restart

    def setUp(self):
        super().setUp()
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis, extra=EXTRA)
        self.nudge.write("templates/note.email",
                         "Subject: 开放日\n\n{{name}}同学，欢迎来参加开放日。\n")
        for sid in ("7", "8"):
            add_student(self.r, sid, email="s%s@mail.example.cn" % sid)
        self.nudge.start()
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")

    def link_path(self, sid):
        """The path and query of the student's List-Unsubscribe link, as a
        proxy in front of nudged would forward it."""
        raw = self.nudge.ctl("render", "--raw", "note", sid, "mailbox").stdout
        msg = email.message_from_string(raw, policy=email.policy.default)
        self.assertEqual(msg["list-unsubscribe-post"], ONE_CLICK.decode())
        url = urllib.parse.urlparse(msg["list-unsubscribe"].strip("<>"))
        self.assertEqual(url.path, "/unsubscribe")
        return url.path + "?" + url.query

    def post(self, path):
        return http_request(self.nudge.http_port, path, "POST", ONE_CLICK)

    def optout_entries(self, sid):
        return [e for e in timeline(self.r, sid) if e["type"] == "optout"]

    def metrics(self):
        return http_get(self.nudge.http_port, "/metrics")[1]

    def test_one_click_records_the_optout_once(self):
        path = self.link_path("7")
        status, page = http_get(self.nudge.http_port, path)
        self.assertEqual(status, 200)
        self.assertIn('<form method="post">', page)
        self.assertIn("Stop receiving email messages?", page)
        self.assertEqual(self.r.smembers("slm:student:{7}:optout"), set(),
                         "a GET (a link checker) unsubscribed")

        status, page = self.post(path)
        self.assertEqual(status, 200, page)
        self.assertIn("示例大学", page)
        self.assertEqual(self.r.smembers("slm:student:{7}:optout"), {"email"})
        wait_for(lambda: len(self.optout_entries("7")) == 1,
                 what="the optout on the timeline")
        entry = self.optout_entries("7")[0]
        self.assertEqual((entry["channel"], entry["actor"]), ("email", "student"))

        self.assertEqual(self.post(path)[0], 200)  # providers may POST twice
        time.sleep(0.5)
        self.assertEqual(len(self.optout_entries("7")), 1)
        self.assertEqual(metric(self.metrics(), "nudge_unsubscribes_total"), 1)
        self.stop_clean()

    def test_forged_and_incomplete_links_write_nothing(self):
        query = urllib.parse.parse_qs(self.link_path("7").split("?", 1)[1])
        token = query["token"][0]

        def path(**q):
            return "/unsubscribe?" + urllib.parse.urlencode(q)

        cases = [
            (403, path(student="8", channel="email", token=token)),  # another's
            (403, path(student="7", channel="sms", token=token)),    # another channel
            (403, path(student="7", channel="email", token=token[:-1] + "A")),
            (400, path(student="7", channel="email")),
            (400, path(student="7", channel="fax", token=token)),
            (400, path(student="7 8", channel="email", token=token)),
        ]
        for want, p in cases:
            with self.subTest(path=p):
                self.assertEqual(self.post(p)[0], want)
                self.assertEqual(http_get(self.nudge.http_port, p)[0], want)
        for sid in ("7", "8"):
            self.assertEqual(self.r.smembers("slm:student:{%s}:optout" % sid),
                             set())
        self.assertEqual(metric(self.metrics(), "nudge_unsubscribe_refused_total"),
                         len(cases))
        self.assertIn("does not match student 8", self.nudge.log_text())
        self.stop_clean()

    def test_gone_student_and_redis_down(self):
        path = self.link_path("8")
        self.r.delete("slm:student:{8}")
        self.assertEqual(self.post(path)[0], 404)

        path = self.link_path("7")
        self.redis.kill()
        started = time.monotonic()
        status, page = self.post(path)
        self.assertEqual(status, 503, page)
        self.assertLess(time.monotonic() - started, 2, "waited for Redis")
        # the event reader notices at its next read (block = 100ms), or
        # when the scheduler gets to it on a loaded machine
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 503,
                 2, what="/healthz to say Redis is gone")
        self.redis.start()
        wait_for(lambda: self.post(path)[0] == 200, what="unsubscribed after")
        self.assertEqual(self.r.smembers("slm:student:{7}:optout"), {"email"})
        self.stop_clean()

    def test_off_without_a_secret(self):
        self.nudge.cleanup()
        self.nudge = Nudge(self.redis)
        self.nudge.start()
        wait_for(lambda: http_get(self.nudge.http_port, "/healthz")[0] == 200,
                 what="healthy")
        status, text = self.post("/unsubscribe?student=7&channel=email&token=x")
        self.assertEqual(status, 404)
        self.assertIn("unsubscribe_secret", text)
        self.stop_clean()


if __name__ == "__main__":
    unittest.main()

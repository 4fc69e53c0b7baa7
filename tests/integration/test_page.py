"""The supervisors' page (GET /report and `nudgectl page --html`) through
the real nudged against a throwaway Redis, loaded in a real headless
browser (Debian's chromium): with the right token it renders the
sections, the overdue leads with their contacts masked, the queue and the
channels; without the token or with a wrong one it is a 401 page with no
data; no phone number or email address appears unmasked, nothing in it
is a script or an outside address, and chromium logs no console message
about it (a CSP violation or a script error would be one).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import zlib

from harness import (SANITIZER_MARKS, Nudge, RedisServer, add_student,
                     wait_for)

TOKEN = "page-token-Zq81x"

EXTRA = """
[queue]
max_sleep = 200ms

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[leads]
open_stages = lead contacted consulting
followup_within = 1s
"""

HTTP_TOKEN = """
[http]
report_token = env:NUDGE_TEST_REPORT_TOKEN
"""

RULES = """\
stages lead contacted consulting applied admitted enrolled

rule assign_watch {
    on created
    when pool == "watch" and not owner
    assign team watch
}

rule later {
    on created
    when pool == "later"
    wait 1h
    send outbox hello
}

rule now {
    on created
    when pool == "now"
    send outbox hello
}
"""

# A phone number in full: E.164 (+ and 8 to 15 digits) or an 11-digit
# mainland mobile; an email address with its local part in the clear.
FULL_PHONE = re.compile(r"\+\d{8,15}|(?<!\d)1[3-9]\d{9}(?!\d)")
FULL_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
SECTIONS = ("Report", "Overdue leads", "Queue", "Channels", "Forecast")
EVIL_NAME = "<script>alert(1)</script>"


def chromium_path():
    """Debian's chromium: `make check` installs it (scripts/deps.sh), so
    its absence is a failure, not a reason to skip."""
    path = shutil.which("chromium")
    if not path:
        raise AssertionError("chromium is missing: run scripts/deps.sh build "
                             "(the page test needs a real browser)")
    return path


def chromium(target, *args):
    """Runs headless chromium on target (a URL): (stdout, stderr)."""
    profile = tempfile.mkdtemp(prefix="nudge-chromium-")
    try:
        res = subprocess.run(
            [chromium_path(), "--headless=new", "--no-sandbox",
             "--disable-gpu", "--user-data-dir=" + profile,
             "--no-first-run", "--enable-logging=stderr", "--v=0"] +
            list(args) + [target],
            capture_output=True, text=True, timeout=90)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return res.stdout, res.stderr


def console_lines(stderr):
    """chromium's console messages (script errors, CSP refusals)."""
    return [l for l in stderr.splitlines()
            if ":CONSOLE" in l or "Uncaught" in l]


def png_pixels(path):
    """The PNG's width, height and its decompressed (filtered) scanlines:
    enough to tell a drawn page from a blank one, with the standard
    library only."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = int.from_bytes(body[0:4], "big")
            height = int.from_bytes(body[4:8], "big")
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def fetch(port, path, headers=None, method="GET"):
    """(status, headers, body) from nudged's listener."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, res.headers, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


class PageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        chromium_path()
        cls.redis = RedisServer().start()
        cls.r = cls.redis.client()
        cls.nudge = Nudge(cls.redis, extra=EXTRA + HTTP_TOKEN)
        cls.nudge.write("rules/page.rules", RULES)
        cls.nudge.write("templates/hello.sms", "你好 {{name}}\n")
        cls.env = dict(os.environ, NUDGE_TEST_REPORT_TOKEN=TOKEN)
        cls.nudge.start(env=cls.env)
        wait_for(lambda: "nudged started" in cls.nudge.log_text(), 10,
                 what="nudged to start")
        cls.setup_data()

    @classmethod
    def tearDownClass(cls):
        status = cls.nudge.stop()
        log = cls.nudge.log_text()
        cls.nudge.cleanup()
        cls.redis.stop()
        for mark in SANITIZER_MARKS:
            assert mark not in log, "sanitizer report:\n" + log[-4000:]
        assert status == 0, log[-3000:]
        assert TOKEN not in log, "the token reached the log"

    @classmethod
    def setup_data(cls):
        r = cls.r
        for sid in ("w1", "w2"):
            r.hset("slm:staff:" + sid, mapping={"name": "老师" + sid})
        r.sadd("slm:team:watch", "w1", "w2")
        # three leads, in turn to w1, w2, w1; 8002 is followed up
        add_student(r, "8001", pool="watch", name=EVIL_NAME,
                    email="zhang.wei@example.edu")
        add_student(r, "8002", pool="watch", name="李华")
        add_student(r, "8003", pool="watch", name="王芳",
                    phone="13912345678", email="wang.fang@school.cn")
        for sid in ("8001", "8002", "8003"):
            r.xadd("slm:events", {"type": "created", "student": sid})
            wait_for(lambda: r.hget("slm:student:{%s}" % sid, "owner"), 10,
                     what=sid + "'s owner")
        r.xadd("slm:events", {"type": "followup", "student": "8002",
                              "staff": "w2", "note": "called"})
        wait_for(lambda: r.hget("slm:student:{8002}", "first_followup_at"),
                 5, what="8002's followup")
        # jobs waiting an hour, and one message sent now
        for sid in ("9001", "9002", "9003"):
            add_student(r, sid, pool="later")
            r.xadd("slm:events", {"type": "created", "student": sid})
        add_student(r, "9100", pool="now")
        r.xadd("slm:events", {"type": "created", "student": "9100"})
        wait_for(lambda: os.path.exists(cls.nudge.path("outbox.jsonl")), 10,
                 what="the message sent now")
        cls.nudge.ctl("pause", "--channel", "outbox", env=cls.env)
        time.sleep(1.2)  # followup_within = 1s: 8001 and 8003 are overdue

    def url(self, query=""):
        return "http://127.0.0.1:%d/report%s" % (self.nudge.http_port, query)

    def assert_nothing_unmasked(self, html):
        self.assertEqual(FULL_PHONE.findall(html), [])
        self.assertEqual(FULL_EMAIL.findall(html), [])

    def assert_self_contained(self, html):
        self.assertNotIn("<script", html.lower())
        self.assertEqual(re.findall(r"https?://", html), [])

    # --- over HTTP ----------------------------------------------------------

    def test_page_with_token(self):
        status, headers, html = fetch(self.nudge.http_port,
                                      "/report?token=" + TOKEN)
        self.assertEqual(status, 200, html)
        self.assertEqual(headers["Content-Type"], "text/html; charset=utf-8")
        self.assertEqual(headers["Cache-Control"], "no-store")
        self.assertEqual(headers["Content-Security-Policy"],
                         "default-src 'none'; style-src 'unsafe-inline'; "
                         "img-src data:")
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        for title in SECTIONS:
            self.assertIn("<h2>%s</h2>" % title, html)
        self.assert_nothing_unmasked(html)
        self.assert_self_contained(html)
        # the overdue leads, most overdue first, masked, the name escaped
        overdue = html[html.index('id="overdue"'):html.index('id="queue"')]
        self.assertLess(overdue.index(">8001<"), overdue.index(">8003<"))
        self.assertNotIn(">8002<", overdue)  # followed up
        self.assertIn("+86138****8001", overdue)
        self.assertIn("139****5678", overdue)
        self.assertIn("z***@example.edu", overdue)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", overdue)
        self.assertIn("<svg", overdue)  # overdue hours per owner
        self.assertIn("w1 (2)", overdue)
        # the queue: three jobs an hour away; the channel that sent one
        queue = html[html.index('id="queue"'):html.index('id="channels"')]
        self.assertRegex(queue, r"<dt>Due later</dt><dd>3</dd>")
        self.assertRegex(queue, r"<dt>Dead letters</dt><dd>0</dd>")
        self.assertIn("<td>channel:outbox</td>", queue)  # nudgectl pause
        channels = html[html.index('id="channels"'):]
        self.assertRegex(channels, r"<td>outbox</td><td>1</td>")
        # the placeholders name where the figures will come from
        self.assertIn("nudgectl report", html)
        self.assertIn("nudgectl forecast", html)

    def test_bearer_header(self):
        status, _, html = fetch(self.nudge.http_port, "/report",
                                {"Authorization": "Bearer " + TOKEN})
        self.assertEqual(status, 200)
        self.assertIn("Overdue leads", html)

    def test_refused_without_the_token(self):
        for query, headers in (("", {}), ("?token=wrong", {}),
                               ("", {"Authorization": "Bearer wrong"}),
                               ("?token=" + TOKEN[:-1], {})):
            status, h, html = fetch(self.nudge.http_port, "/report" + query,
                                    headers)
            self.assertEqual(status, 401, query)
            self.assertTrue(h["WWW-Authenticate"].startswith("Bearer"))
            self.assertEqual(h["Cache-Control"], "no-store")
            for data in ("8001", "8003", "Overdue", "Due later", "outbox"):
                self.assertNotIn(data, html)

    def test_methods(self):
        status, h, body = fetch(self.nudge.http_port, "/report?token=" + TOKEN,
                                method="HEAD")
        self.assertEqual((status, body), (200, ""))
        self.assertEqual(h["Content-Type"], "text/html; charset=utf-8")
        status, _, _ = fetch(self.nudge.http_port, "/report?token=" + TOKEN,
                             method="POST")
        self.assertEqual(status, 405)

    # --- in a browser -------------------------------------------------------

    def test_browser_renders_the_page(self):
        dom, err = chromium(self.url("?token=" + TOKEN), "--dump-dom")
        for title in SECTIONS:
            self.assertIn(title, dom)
        self.assertIn("+86138****8001", dom)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", dom)
        self.assert_nothing_unmasked(dom)
        self.assert_self_contained(dom)
        self.assertEqual(console_lines(err), [])

    def test_browser_screenshot_on_a_phone(self):
        shot = os.path.join(self.nudge.dir, "page.png")
        _, err = chromium(self.url("?token=" + TOKEN),
                          "--screenshot=" + shot, "--window-size=390,844",
                          "--hide-scrollbars")
        self.assertTrue(os.path.exists(shot), err[-2000:])
        width, height, pixels = png_pixels(shot)
        self.assertEqual((width, height), (390, 844))
        # text, boxes and bars: many distinct bytes, not one blank colour
        self.assertGreater(len(set(pixels)), 50)
        self.assertGreater(os.path.getsize(shot), 8000)
        self.assertEqual(console_lines(err), [])

    def test_browser_without_the_token(self):
        for query in ("", "?token=wrong"):
            dom, err = chromium(self.url(query), "--dump-dom")
            self.assertIn("This page needs its token", dom)
            for data in ("8001", "Overdue", "13800"):
                self.assertNotIn(data, dom)
            self.assertEqual(console_lines(err), [])

    # --- nudgectl page ------------------------------------------------------

    def test_nudgectl_page_file(self):
        out = os.path.join(self.nudge.dir, "page.html")
        res = self.nudge.ctl("page", "--html", out, env=self.env)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(out) as f:
            html = f.read()
        for title in SECTIONS:
            self.assertIn("<h2>%s</h2>" % title, html)
        self.assertIn("+86138****8001", html)
        self.assertIn("Channel figures are only on the live page", html)
        self.assert_nothing_unmasked(html)
        self.assert_self_contained(html)
        dom, err = chromium("file://" + out, "--dump-dom")
        self.assertIn("Overdue leads", dom)
        self.assertIn("139****5678", dom)
        self.assert_nothing_unmasked(dom)
        self.assertEqual(console_lines(err), [])
        self.assertEqual(self.nudge.ctl("page", check=False, env=self.env)
                         .returncode, 2)
        self.assertIn("page --html FILE", self.nudge.ctl("-h").stdout)


class PageOffTest(unittest.TestCase):
    """Without [http] report_token there is no page, and the answer says
    how to turn it on."""

    def test_off_without_a_token(self):
        redis = RedisServer().start()
        nudge = Nudge(redis, extra=EXTRA)
        try:
            nudge.start()
            wait_for(lambda: "nudged started" in nudge.log_text(), 10,
                     what="nudged to start")
            status, _, body = fetch(nudge.http_port, "/report?token=x")
            self.assertEqual(status, 404)
            self.assertIn("report_token", body)
            self.assertEqual(nudge.stop(), 0)
            nudge.check_clean_log(self)
        finally:
            nudge.cleanup()
            redis.stop()


if __name__ == "__main__":
    unittest.main()

"""The supervisors' page (GET /report, `nudgectl report --html` and
`nudgectl page --html`) through the real nudged against a throwaway
Redis, loaded in a real headless browser (Debian's chromium): with the
right token it renders the sections, the overdue leads with their
contacts masked, the queue and the channels; without the token or with a
wrong one it is a 401 page with no data; no phone number or email
address appears unmasked, nothing in it is a script or an outside
address, and chromium logs no console message about it (a CSP violation
or a script error would be one).

The report section shows, for a rule with a holdout run by nudged on 300
students of whom a known set converted, the same counts, rates and lift
as `nudgectl report --json`; the forecast section the same messages per
day as `nudgectl forecast --json`, on the live page once nudged's
background pass ([http] report_forecast_every = 1s) has run, and in the
file nudgectl writes. Before the first pass the live page says the
forecast is being computed (a second nudged on 50,000 students).
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
import json
import zlib

from harness import (SANITIZER_MARKS, Nudge, RedisServer, add_student,
                     wait_for)
from test_report import held_out

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

[report]
min_students = 20

[channel.sms2]
type = outbox
as = sms
path = sms2.jsonl
price_per_segment = 0.045
"""

HTTP_TOKEN = """
[http]
report_token = env:NUDGE_TEST_REPORT_TOKEN
report_forecast_every = 1s
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

rule invite {
    on event campaign
    holdout 20%
    send outbox hello
}

rule tip {
    every day 10:00
    when pool == "tip"
    send sms2 tip
}
"""

CAMPAIGN = [str(i) for i in range(1001, 1301)]
TIPS = ["7001", "7002", "7003", "7004", "7005"]

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


def section(html, ident, next_ident=None):
    """The part of the page from section ident to the next one."""
    start = html.index('id="%s"' % ident)
    return html[start:html.index('id="%s"' % next_ident, start)
                if next_ident else len(html)]


def count_text(n, est):
    """The page's "120" or "120 + ~3.4" (as `nudgectl forecast` prints)."""
    return "%d + ~%.1f" % (n, est) if est >= 0.05 else "%d" % n


def page_days(html):
    """The forecast section's day -> messages text."""
    return dict(re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>([^<]*)</td>",
                           section(html, "forecast")))


class PageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        chromium_path()
        cls.redis = RedisServer().start()
        cls.r = cls.redis.client()
        cls.nudge = Nudge(cls.redis, extra=EXTRA + HTTP_TOKEN)
        cls.nudge.write("rules/page.rules", RULES)
        cls.nudge.write("templates/hello.sms", "你好 {{name}}\n")
        cls.nudge.write("templates/tip.sms", "{{name}}：今日提示\n")
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
        cls.setup_report()
        for sid in TIPS:
            add_student(r, sid, pool="tip")
        cls.nudge.ctl("pause", "--channel", "outbox", env=cls.env)
        time.sleep(1.2)  # followup_within = 1s: 8001 and 8003 are overdue

    @classmethod
    def setup_report(cls):
        """300 students start `invite` (20% held out); a quarter of the
        treated and a tenth of the held out move to a later stage."""
        r = cls.r
        pipe = r.pipeline(transaction=False)
        for sid in CAMPAIGN:
            pipe.hset("slm:student:{%s}" % sid,
                      mapping={"name": "学生" + sid, "stage": "lead",
                               "pool": "camp"})
            pipe.xadd("slm:events", {"type": "campaign", "student": sid})
        pipe.execute()
        held = {s for s in CAMPAIGN if held_out("invite", s, 2000)}
        started = lambda: cls.report_json().get("rules") and sum(
            a["started"] for a in cls.report_json()["rules"][0]["arms"]
            .values()) == len(CAMPAIGN)
        wait_for(started, 20, interval=0.1, what="300 students started")
        conv = [s for s in CAMPAIGN if int(s) % (10 if s in held else 4) == 0]
        pipe = r.pipeline(transaction=False)
        for sid in conv:
            pipe.hset("slm:student:{%s}" % sid, "stage", "consulting")
            pipe.xadd("slm:events", {"type": "stage", "student": sid,
                                     "from": "lead", "to": "consulting"})
        pipe.execute()
        converted = lambda: sum(
            a["converted"] for a in cls.report_json()["rules"][0]["arms"]
            .values()) == len(conv)
        wait_for(converted, 20, interval=0.1, what="the conversions counted")

    @classmethod
    def report_json(cls):
        return json.loads(cls.nudge.ctl("report", "invite", "--json",
                                        check=False, env=cls.env).stdout
                          or "{}")

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

    # --- the report and the forecast ------------------------------------------

    def forecast_days(self):
        """`nudgectl forecast --json`'s messages and estimates per day."""
        fc = json.loads(self.nudge.ctl("forecast", "--json",
                                       env=self.env).stdout)
        days = {}
        for rule in fc["rules"]:
            for row in rule["days"]:
                n, est = days.get(row["day"], (0, 0.0))
                days[row["day"]] = (n + row["messages"],
                                    est + row.get("estimated", 0.0))
        return fc, days

    def forecast_matches(self, html, days):
        got = page_days(html)
        return len(got) == 7 and all(
            text == count_text(*days.get(day, (0, 0.0)))
            for day, text in got.items())

    def assert_report_matches(self, html):
        rep = self.report_json()["rules"][0]
        held = {s for s in CAMPAIGN if held_out("invite", s, 2000)}
        self.assertEqual(rep["arms"]["holdout"]["started"], len(held))
        self.assertEqual(rep["arms"]["treated"]["converted"],
                         len([s for s in CAMPAIGN
                              if s not in held and int(s) % 4 == 0]))
        rule = section(html, "report", "overdue")
        rule = rule[rule.index("<h3>invite</h3>"):]
        rule = rule[:rule.find("<h3>", 4) if "<h3>" in rule[4:] else None]
        for arm, c in rep["arms"].items():
            row = "<tr><td>%s</td>%s<td>%.1f%%</td></tr>" % (
                arm, "".join("<td>%d</td>" % c[k] for k in (
                    "started", "reached", "replied", "opted_out",
                    "converted")), c["rate"] * 100)
            self.assertIn(row, rule)
        self.assertEqual(len(rep["lift"]), 1)
        for lift in rep["lift"]:
            self.assertTrue(lift["enough"])
            rel = ("%+.0f%%" % (lift["relative"] * 100)
                   if lift["relative"] is not None else "-")
            self.assertIn(
                "<tr><td>%s</td><td>%s</td><td>%+.1f points</td>"
                "<td>%+.1f to %+.1f</td><td>%s</td></tr>" % (
                    lift["arm"], lift["over"], lift["difference"] * 100,
                    lift["low"] * 100, lift["high"] * 100, rel), rule)
        # the rates as bars, their intervals as whiskers
        self.assertEqual(rule.count('class="whisker"'), 2)

    def assert_forecast_shown(self, html, fc):
        sec = section(html, "forecast")
        self.assertRegex(sec, r"As of \d\d:\d\d")
        self.assertIn("<svg", sec)
        # five tips a day on the SMS channel, priced
        self.assertGreater(sum(r["messages"] for r in fc["rules"]
                               if r["name"] == "tip"), 0)
        sms2 = [c for c in fc["channels"] if c["name"] == "sms2"][0]
        self.assertIn("<tr><td>sms2</td><td>sms</td><td>%d</td><td>%d</td>"
                      "<td>0.045</td><td>%.2f</td></tr>" % (
                          sms2["messages"], sms2["segments"], sms2["cost"]),
                      sec)
        self.assertIn("~ estimated from", sec)  # the event rules

    def test_report_and_forecast_on_the_live_page(self):
        fc, days = self.forecast_days()
        page = lambda: fetch(self.nudge.http_port,
                             "/report?token=" + TOKEN)[2]
        # the background pass runs every second: its figures catch up
        html = wait_for(lambda: (lambda h: h if self.forecast_matches(h, days)
                                 else None)(page()), 15, interval=0.3,
                        what="the live forecast to equal nudgectl's")
        self.assertIn("every 1s", section(html, "forecast"))
        self.assert_forecast_shown(html, fc)
        self.assert_report_matches(html)
        self.assert_nothing_unmasked(html)
        self.assert_self_contained(html)

    def test_nudgectl_report_html_file(self):
        out = os.path.join(self.nudge.dir, "report.html")
        fc, days = self.forecast_days()
        res = self.nudge.ctl("report", "--html", out, env=self.env)
        self.assertEqual(res.returncode, 0, res.stderr)
        with open(out) as f:
            html = f.read()
        for title in SECTIONS:
            self.assertIn("<h2>%s</h2>" % title, html)
        self.assertTrue(self.forecast_matches(html, days),
                        (page_days(html), days))
        self.assert_forecast_shown(html, fc)
        self.assert_report_matches(html)
        self.assert_nothing_unmasked(html)
        self.assert_self_contained(html)
        dom, err = chromium("file://" + out, "--dump-dom")
        self.assertIn("invite", dom)
        self.assertIn("Messages per day", dom)
        self.assert_nothing_unmasked(dom)
        self.assertEqual(console_lines(err), [])
        # the same page under its older name; --html takes no filter
        res = self.nudge.ctl("page", "--html", "-", env=self.env)
        self.assertIn("<h3>invite</h3>", res.stdout)
        self.assertEqual(self.nudge.ctl("report", "invite", "--html", out,
                                        check=False, env=self.env)
                         .returncode, 2)

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
        self.assertIn("report --html FILE", self.nudge.ctl("-h").stdout)


class PageFirstForecastTest(unittest.TestCase):
    """Before nudged's first forecast pass is through, the live page says
    it is being computed; then it shows it. 50,000 students make the
    first pass take long enough for the first request to come before it;
    with report_forecast_every = 0 the section says it is off."""

    def start(self, every, students):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        pipe = r.pipeline(transaction=False)
        for i in range(students):
            pipe.hset("slm:student:{%d}" % (100000 + i),
                      mapping={"name": "s", "stage": "lead"})
        pipe.execute()
        nudge = Nudge(redis, extra=EXTRA + HTTP_TOKEN.replace(
            "report_forecast_every = 1s", "report_forecast_every = " + every))
        self.addCleanup(nudge.cleanup)
        nudge.write("rules/page.rules", RULES)
        nudge.write("templates/hello.sms", "你好 {{name}}\n")
        nudge.write("templates/tip.sms", "提示\n")
        env = dict(os.environ, NUDGE_TEST_REPORT_TOKEN=TOKEN)
        nudge.start(env=env)
        return nudge

    def page(self, nudge):
        try:
            return fetch(nudge.http_port, "/report?token=" + TOKEN)[2]
        except OSError:
            return None  # not listening yet

    def test_being_computed_then_shown(self):
        nudge = self.start("1h", 50000)
        first = wait_for(lambda: self.page(nudge), 10, interval=0.01,
                         what="the page")
        self.assertIn("The first forecast is being computed",
                      section(first, "forecast"))
        html = wait_for(lambda: (lambda h: h if "As of" in
                                 section(h, "forecast") else None)(
                                     self.page(nudge)), 60, interval=0.2,
                        what="the first forecast")
        self.assertNotIn("being computed", html)
        self.assertRegex(section(html, "forecast"),
                         r"<dt>Messages, next 7 days</dt><dd>\d+")
        self.assertEqual(nudge.stop(), 0)
        nudge.check_clean_log(self)

    def test_off(self):
        nudge = self.start("0", 0)
        html = wait_for(lambda: self.page(nudge), 10, what="the page")
        self.assertIn("The forecast is off on this page",
                      section(html, "forecast"))
        self.assertEqual(nudge.stop(), 0)
        nudge.check_clean_log(self)


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

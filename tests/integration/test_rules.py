"""The DESIGN.md rule examples (etc/rules, etc/templates) through the real
nudged, delayed queue and outbox channels against a throwaway Redis, each
behaving as its comment says, with every wait shortened to 2s. Plus
`nudgectl check` and `simulate` on the same files, and a reload that keeps
the old set when the new one is broken.
"""
import os
import re
import shutil
import signal
import time
import unittest

from harness import (ROOT, Nudge, RedisServer, add_student,
                     timeline, wait_for)

EXTRA = """
[templates]
unsubscribe_secret = s3cret-for-tests

[rules]
schedule_grace = 8d

[queue]
max_sleep = 200ms

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[alerts]
group_wait = 1s
crm_url = https://crm.example.edu/students/{id}

[channel.sms]
type = outbox
as = sms
path = outbox.jsonl

[channel.email]
type = outbox
as = email
path = outbox.jsonl

[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl
"""

WAIT = re.compile(r"wait \d+[smhdw]")


def install_examples(nudge):
    """etc/rules with waits of 2s, and etc/templates."""
    for name in os.listdir(os.path.join(ROOT, "etc", "rules")):
        with open(os.path.join(ROOT, "etc", "rules", name)) as f:
            nudge.write(os.path.join("rules", name), WAIT.sub("wait 2s", f.read()))
    for name in os.listdir(os.path.join(ROOT, "etc", "templates")):
        shutil.copy(os.path.join(ROOT, "etc", "templates", name),
                    nudge.path(os.path.join("templates", name)))


def outbox(nudge):
    return nudge.outbox()


def sent(nudge, student, template=None):
    return [m for m in outbox(nudge) if m.get("student") == student and
            (template is None or m.get("template") == template)]


class RulesExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.r = cls.redis.client()
        cls.nudge = Nudge(cls.redis, extra=EXTRA)
        install_examples(cls.nudge)
        cls.seed(cls.r)
        cls.nudge.start()
        wait_for(lambda: "nudged started" in cls.nudge.log_text(), 10,
                 what="nudged to start")

    @classmethod
    def tearDownClass(cls):
        cls.nudge.stop_checked(cls.redis)

    @staticmethod
    def seed(r):
        # trial_class_invite
        add_student(r, "101", stage="lead", score=640, wecom_userid="stu101",
                    tags=["intent:high"])
        add_student(r, "102", stage="lead", score=640, tags=["intent:high",
                                                             "trial_booked"])
        add_student(r, "103", stage="lead", score=580, tags=["intent:high"])
        add_student(r, "104", stage="lead", score=700, wecom_userid="stu104",
                    tags=["intent:high"])
        add_student(r, "105", stage="lead", score="缺考", tags=["intent:high"])
        # remote_weekly_vlog: scanned at start (the last Monday 09:00 is
        # within the 8d grace)
        add_student(r, "201", stage="contacted", email="s201@example.com",
                    tags=["region:xinjiang"])
        add_student(r, "202", stage="contacted", email="s202@example.com",
                    tags=["region:beijing"])
        add_student(r, "203", stage="admitted", email="s203@example.com",
                    tags=["region:qinghai"])
        # admitted_unpaid
        add_student(r, "301", stage="applied", email="s301@example.com")
        add_student(r, "302", stage="applied", email="s302@example.com",
                    tags=["fee_paid"])
        add_student(r, "303", stage="applied", email="s303@example.com",
                    optout=["sms"])
        # assign_science_leads, lead_followup_sla
        for sid, sup in (("t1", "sup1"), ("t2", "sup1"), ("sup1", "sup2"),
                         ("sup2", "")):
            r.hset("slm:staff:" + sid, mapping={
                "name": "老师" + sid, "wecom_userid": "wc_" + sid,
                "email": sid + "@example.edu", "supervisor": sup})
        r.sadd("slm:team:science_elite", "t1", "t2")
        add_student(r, "401", stage="lead", subject="science", score=630)
        add_student(r, "402", stage="lead", subject="science", score=630)
        add_student(r, "403", stage="lead", subject="arts", score=690)
        add_student(r, "404", stage="lead", subject="science", score=630,
                    owner="t2")

    def emit(self, *args):
        self.nudge.ctl("emit", *args)

    def test_trial_class_invite(self):
        """score >= 600, intent:high, not trial_booked: sms after the wait,
        then the WeCom reminder unless they booked meanwhile."""
        for sid in ("101", "102", "103", "104", "105"):
            self.emit("stage", sid, "to=consulting")
        time.sleep(1)
        self.assertEqual(sent(self.nudge, "101"), [], "the wait came first")
        wait_for(lambda: sent(self.nudge, "101", "trial_class_invite"), 10,
                 what="the invitation sms")
        wait_for(lambda: sent(self.nudge, "104", "trial_class_invite"), 10,
                 what="the invitation sms of 104")
        self.r.sadd("slm:student:{104}:tags", "trial_booked")
        msg = sent(self.nudge, "101", "trial_class_invite")[0]
        self.assertEqual(msg["type"], "sms")
        touched = int(self.r.hget("slm:student:{101}", "last_touch_at"))
        self.assertLess(abs(touched - time.time()), 30)  # time_since_touch
        self.assertIn("学生101", msg["body"])
        # marketing (Kind: marketing): the SMS ends with the opt-out text
        self.assertTrue(msg["body"].endswith("拒收请回复R"), msg["body"])
        wait_for(lambda: sent(self.nudge, "101", "trial_class_reminder"), 10,
                 what="the WeCom reminder")
        self.assertEqual(sent(self.nudge, "101", "trial_class_reminder")[0]["to"],
                         "stu101")
        wait_for(lambda: any(e.get("detail", "").startswith("stop unless")
                             for e in timeline(self.r, "104")), 10,
                 what="104's run to stop")
        self.assertEqual(sent(self.nudge, "104", "trial_class_reminder"), [])
        for sid in ("102", "103", "105"):  # booked, below, not a number
            self.assertEqual(sent(self.nudge, sid), [], sid)
        types = [e["type"] for e in timeline(self.r, "101") if e.get("rule")]
        self.assertEqual(types, ["sent", "sent"])

    def test_remote_weekly_vlog(self):
        """The schedule scans every student: remote regions in the early
        stages get the email, once (limit 1 per 7d, one firing)."""
        wait_for(lambda: sent(self.nudge, "201", "campus_vlog_weekly"), 10,
                 what="the vlog email")
        msg = sent(self.nudge, "201", "campus_vlog_weekly")[0]
        self.assertEqual(msg["type"], "email")
        self.assertEqual(msg["to"], "s201@example.com")
        time.sleep(1.5)
        self.assertEqual(len(sent(self.nudge, "201", "campus_vlog_weekly")), 1)
        self.assertEqual(sent(self.nudge, "202"), [])  # beijing
        self.assertEqual(sent(self.nudge, "203"), [])  # admitted

    def test_admitted_unpaid(self):
        """Three days (2s) after admission, unless paid: sms and email,
        then the tag."""
        for sid in ("301", "302", "303"):
            self.emit("stage", sid, "to=admitted")
        wait_for(lambda: self.r.sismember("slm:student:{301}:tags",
                                          "welcome_pack_sent"), 10,
                 what="the welcome_pack_sent tag")
        got = sorted(m["type"] for m in sent(self.nudge, "301", "welcome_pack"))
        self.assertEqual(got, ["email", "sms"])
        # a service message (Kind: service): sent as written
        sms = [m for m in sent(self.nudge, "301", "welcome_pack")
               if m["type"] == "sms"][0]
        self.assertNotIn("拒收请回复R", sms["body"])
        wait_for(lambda: self.r.sismember("slm:student:{303}:tags",
                                          "welcome_pack_sent"), 10,
                 what="303's tag")
        self.assertEqual([m["type"] for m in sent(self.nudge, "303")], ["email"])
        skipped = [e for e in timeline(self.r, "303") if e["type"] == "skipped"]
        self.assertIn("opted out of sms", skipped[0]["detail"])
        wait_for(lambda: any(e.get("detail", "").startswith("stop if")
                             for e in timeline(self.r, "302")), 10,
                 what="302's run to stop")
        self.assertEqual(sent(self.nudge, "302"), [])

    def test_assign_and_followup_sla(self):
        """A science lead is assigned round-robin and the owner notified;
        unfollowed, it escalates to the supervisor (WeCom), then to the
        supervisor's supervisor (email); a followup stops it."""
        for sid in ("401", "402", "403", "404"):
            self.emit("created", sid)
        wait_for(lambda: self.r.hget("slm:student:{401}", "owner") and
                 self.r.hget("slm:student:{402}", "owner"), 10,
                 what="owners")
        owners = {self.r.hget("slm:student:{%s}" % s, "owner")
                  for s in ("401", "402")}
        self.assertEqual(owners, {"t1", "t2"})
        self.assertIsNone(self.r.hget("slm:student:{403}", "owner"))  # arts
        self.assertEqual(self.r.hget("slm:student:{404}", "owner"), "t2")
        wait_for(lambda: sent(self.nudge, "401", "new_lead_assigned"), 10,
                 what="the owner's notice")
        # 402's owner follows up at once: no escalation for 402
        owner402 = self.r.hget("slm:student:{402}", "owner")
        self.emit("followup", "402", "staff=" + owner402, "note=called")
        # escalations are grouped alerts (docs/leads.md) listing the leads
        def alerts(sid):
            return [m for m in outbox(self.nudge)
                    if m.get("template") == "lead_overdue" and
                    re.search(r"students/%s\b" % sid, m["body"])]
        wait_for(lambda: len(alerts("401")) == 2, 15,
                 what="both escalations of 401")
        first, second = alerts("401")
        self.assertEqual((first["type"], first["to"]), ("wecom", "wc_sup1"))
        self.assertEqual((second["type"], second["to"]),
                         ("email", "sup2@example.edu"))
        self.assertIn("学生401", second["html"])
        self.assertEqual(alerts("402"), [])
        self.assertEqual(sent(self.nudge, "403"), [])

    def test_zz_check_simulate_reload(self):
        """check is clean; simulate explains; a broken reload keeps the old
        set, a good one replaces it."""
        res = self.nudge.ctl("check")
        self.assertIn("rules: 5 rules", res.stdout)
        res = self.nudge.ctl("simulate", "103", "--event", "stage",
                             "to=consulting")
        self.assertIn("when fails: score >= 600", res.stdout)
        self.assertNotIn("Student", res.stderr)
        self.nudge.write("rules/broken.rules",
                         "rule x {\n    on stage consultng\n    send sms y\n}\n")
        res = self.nudge.ctl("check", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertRegex(res.stderr, r"broken.rules:2:14: unknown stage "
                         r"\"consultng\": did you mean \"consulting\"\?")
        self.nudge.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in self.nudge.log_text(), 10,
                 what="the refused reload")
        os.unlink(self.nudge.path("rules/broken.rules"))
        self.nudge.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "rules reloaded: 5 rules" in self.nudge.log_text(),
                 10, what="the reload")
        self.nudge.check_clean_log(self)


if __name__ == "__main__":
    unittest.main()


ENGINE_RULES = """\
stages lead consulting

# two rules that would ping-pong forever: the chain limit cuts them
rule ping {
    on tag "ping"
    tag remove "ping"
    tag add "pong"
}

rule pong {
    on tag "pong"
    tag remove "pong"
    tag add "ping"
}

rule slow {
    on event visit
    wait 2s
    send outbox hello
}

rule twice {
    on event double
    send outbox hello
    send outbox hello
}

# two rules on one event, each a send as its first step: each job takes
# the day's count with its first read
rule first_of_two {
    on event pair
    send outbox hello
}

rule second_of_two {
    on event pair
    send outbox hello
}
"""


class RulesEngineTest(unittest.TestCase):
    """The engine's guards: the event chain limit, runs of a rule that
    changed on a reload (made by inotify, no signal), the daily cap."""

    # dedup_window = 0: the cap's tests send one template again
    EXTRA = ("[rules]\nmax_chain = 4\n[delivery]\nquiet_hours =\nquiet_hours_service =\nquiet_hours_staff =\n"
             "max_per_day = 1\ndedup_window = 0\n")

    def setUp(self):
        self.redis = RedisServer().start()
        self.r = self.redis.client()
        self.addCleanup(self.redis.stop)
        self.nudge = Nudge(self.redis, extra=self.EXTRA)
        self.addCleanup(self.nudge.cleanup)
        self.nudge.write("rules/engine.rules", ENGINE_RULES)
        self.nudge.write("templates/hello.sms", "您好 {{name|同学}}")
        add_student(self.r, "1")
        self.nudge.start()
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")

    def tearDown(self):
        status = self.nudge.stop()
        self.nudge.check_clean_log(self)
        self.assertEqual(status, 0)

    def test_chain_is_cut(self):
        self.nudge.ctl("emit", "tag", "1", "tag=ping")
        wait_for(lambda: "chain of 5 rule-caused events" in self.nudge.log_text(),
                 10, what="the chain to be cut")
        time.sleep(0.5)
        n = self.r.xlen("slm:events")
        time.sleep(0.5)
        self.assertEqual(self.r.xlen("slm:events"), n, "the ping-pong stopped")
        self.assertLessEqual(n, 1 + 2 * 5)  # the CRM's, then untag+tag a hop

    def test_changed_rule_ends_its_runs(self):
        self.nudge.ctl("emit", "visit", "1")
        wait_for(lambda: self.r.hget("slm:student:{1}:runs", "slow"), 5,
                 what="the run to start")
        self.nudge.write("rules/engine.rules",
                         ENGINE_RULES.replace("send outbox hello",
                                              "send outbox hello\n"
                                              "    send outbox hello"))
        wait_for(lambda: "rules reloaded" in self.nudge.log_text(), 5,
                 what="the reload on file change")
        wait_for(lambda: any("changed on reload" in e.get("detail", "")
                             for e in timeline(self.r, "1")), 10,
                 what="the run to end")
        self.assertEqual(outbox(self.nudge), [])
        self.assertIsNone(self.r.hget("slm:student:{1}:runs", "slow"))

    def test_daily_cap(self):
        self.nudge.ctl("emit", "double", "1")
        wait_for(lambda: any("daily cap of 1" in e.get("detail", "")
                             for e in timeline(self.r, "1")), 10,
                 what="the second send to be capped")
        self.assertEqual(len(outbox(self.nudge)), 1)

    def test_daily_cap_of_two_runs(self):
        """Two runs' first sends, each counted with its job's first read:
        one goes, the other is capped, and the count stays at the cap."""
        add_student(self.r, "2")
        self.nudge.ctl("emit", "pair", "2")
        wait_for(lambda: any("daily cap of 1" in e.get("detail", "")
                             for e in timeline(self.r, "2")), 10,
                 what="one of the two sends to be capped")
        time.sleep(0.3)
        self.assertEqual(len([m for m in outbox(self.nudge)
                              if m["student"] == "2"]), 1)
        counts = [int(self.r.get(k)) for k in
                  self.r.keys("slm:student:{2}:sent:*")]
        self.assertEqual(counts, [1])


class QuietHoursTest(unittest.TestCase):
    """A send inside the quiet hours (in the student's zone) waits in the
    queue for their end instead of going out."""

    def test_send_waits_for_quiet_hours_to_end(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        now = time.gmtime()
        start = "%02d:%02d" % (now.tm_hour, now.tm_min)
        end = "%02d:%02d" % ((now.tm_hour + 2) % 24, now.tm_min)
        nudge = Nudge(redis, extra="[delivery]\nquiet_hours = %s-%s\n" % (
            start, end))
        self.addCleanup(nudge.cleanup)
        nudge.write("rules/a.rules", "stages lead\nrule hi {\n    on event hi\n"
                    "    send outbox hello\n}\n")
        nudge.write("templates/hello.sms", "您好")
        add_student(r, "7", tz="UTC")
        nudge.start()
        wait_for(lambda: "nudged started" in nudge.log_text(), 10,
                 what="nudged to start")
        nudge.ctl("emit", "hi", "7")
        wait_for(lambda: r.hget("slm:student:{7}:runs", "hi"), 5,
                 what="the run")
        time.sleep(0.5)
        self.assertEqual(outbox(nudge), [])
        res = nudge.ctl("queue", "stats")
        self.assertRegex(res.stdout, r"(?i)scheduled\D*1\b")
        self.assertEqual(nudge.stop(), 0)
        nudge.check_clean_log(self)


class ScheduleTwoDaemonsTest(unittest.TestCase):
    """Two daemons on one Redis: a scheduled rule fires once (one daemon
    wins the firing and queues the scan in batches both daemons' workers
    take), every matching student gets one message, none gets two."""

    RULES = ("stages lead contacted\n"
             "rule weekly {\n    every monday 09:00\n"
             "    when tag \"region:xinjiang\" and stage == lead\n"
             "    limit 1 per 7d\n    send outbox hello\n}\n")

    def test_one_firing_no_duplicates(self):
        redis = RedisServer().start()
        self.addCleanup(redis.stop)
        r = redis.client()
        pipe = r.pipeline(transaction=False)
        for i in range(1200):
            key = "slm:student:{%d}" % i
            pipe.hset(key, mapping={"name": "学生%d" % i, "stage": "lead",
                                    "phone": "+86138%08d" % i})
            pipe.sadd(key + ":tags", "region:xinjiang" if i % 2 else "region:henan")
        pipe.execute()
        daemons = []
        for _ in range(2):
            n = Nudge(redis, http=False, extra="[rules]\nschedule_grace = 8d\n"
                      "[delivery]\nquiet_hours =\nquiet_hours_service =\nquiet_hours_staff =\nmax_per_day = 0\n")
            self.addCleanup(n.cleanup)
            n.write("rules/weekly.rules", self.RULES)
            n.write("templates/hello.sms", "您好 {{name}}")
            daemons.append(n)
        for n in daemons:
            n.start()
        total = lambda: sum(len(outbox(n)) for n in daemons)
        wait_for(lambda: total() >= 600, 30, what="600 messages")
        time.sleep(1.0)
        students = [m["student"] for n in daemons for m in outbox(n)]
        self.assertEqual(len(students), 600)
        self.assertEqual(len(set(students)), 600, "a student got two")
        self.assertTrue(all(int(s) % 2 for s in students))
        fired = sum(n.log_text().count("schedule of rule weekly fired")
                    for n in daemons)
        self.assertEqual(fired, 1)
        for n in daemons:
            self.assertEqual(n.stop(), 0)
            n.check_clean_log(self)

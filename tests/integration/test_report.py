"""The report's counters and `nudgectl report` (docs/insight.md, "Report
and lift"; rules/report.h, cli/cmd_report.c), and variants (docs/rules.md,
"Variants"; rules/variant.h), through a real nudged.

Report: 2,000 students start a rule with `holdout 20%`; the test then
moves a chosen set of treated and held-out students to a later stage
(some twice, some to a stage that is not later), has some reply and some
opt out, and moves students who never started the rule. `nudgectl report
--json` gives exactly the counts the test knows, and the lift and its
interval equal Newcombe's hybrid score interval computed here with
Python's standard library; `nudgectl forget` takes a student out of them. Below [report] min_students it says "not
enough students yet"; --since after today counts nothing.

Variants: 2,000 students and `send outbox variant inv_a 70%, inv_b 30%`:
every sent entry names the variant the documented draw picks (FNV-1a 64
of "RULE\\0STEP\\0STUDENT" mod 10000 on the weights in order), the shares
are within 2 points, the outbox got that template, a restarted daemon
picks the same for fresh events, and the report counts each variant and
compares the second with the first as the test computes it.
"""
import json
import math
import os
import statistics
import time
import unittest

from harness import Nudge, RedisServer, add_students, wait_for

STUDENTS = 2000

EXTRA = """
[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
max_sleep = 100ms

[delivery]
quiet_hours =
quiet_hours_service =
max_per_day = 0
dedup_window = 0

[report]
min_students = %d
"""

STAGES = "stages lead contacted consulting applied admitted\n"

REPORT_RULES = STAGES + """
rule invite {
    on event campaign
    holdout 20%
    send outbox msg
}
"""

VARIANT_RULES = STAGES + """
rule pick {
    on event campaign
    send outbox variant inv_a 70%, inv_b 30%
}
"""


def fnv1a64(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def held_out(rule, sid, share):
    return fnv1a64(rule.encode() + b"\0" + sid.encode()) % 10000 < share


def variant(rule, step, sid, weights):
    """docs/rules.md: the draw of a variant send (step counted from 1)."""
    at = fnv1a64(rule.encode() + b"\0" + str(step).encode() + b"\0" +
                 sid.encode()) % 10000
    upto = 0
    for name, weight in weights:
        upto += weight
        if at < upto:
            return name
    return weights[-1][0]


Z = statistics.NormalDist().inv_cdf(0.975)


def wilson(x, n, z=Z):
    p = x / n
    centre = 2 * n * p + z * z
    half = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    lo, hi = (centre - half) / (2 * (n + z * z)), (centre + half) / (2 * (n + z * z))
    return (0.0 if x == 0 else max(lo, 0.0)), (1.0 if x == n else min(hi, 1.0))


def newcombe(x1, n1, x2, n2):
    """Newcombe (1998) method 10: the hybrid score interval of p1 - p2."""
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1)
    l2, u2 = wilson(x2, n2)
    d = p1 - p2
    return (d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))


def ids(n, start=1):
    return [str(i) for i in range(start, start + n)]


class Base:
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()

    def make(self, rules, min_students=100):
        n = Nudge(self.redis, extra=EXTRA % min_students)
        self.addCleanup(n.cleanup)
        n.write("rules/r.rules", rules)
        for name in ("msg", "inv_a", "inv_b"):
            n.write("templates/%s.sms" % name, "{{name|同学}}您好 %s。" % name)
        return n

    def start(self, n):
        n.start()
        wait_for(lambda: "nudged started" in n.log_text(), 10,
                 what="nudged to start")

    def add(self, sids):
        add_students(self.r, sids)

    def emit(self, events):
        """(type, student, fields) as the CRM writes them; the last id."""
        pipe = self.r.pipeline(transaction=False)
        for kind, sid, fields in events:
            if kind == "stage":
                pipe.hset("slm:student:{%s}" % sid, "stage", fields["to"])
            pipe.xadd("slm:events", dict(type=kind, student=sid, **fields))
        return pipe.execute()[-1]

    def handled(self, last):
        def done():
            # nudged's group, once it has made it (a slow start under
            # ASan may come after the events)
            groups = [g for g in self.r.xinfo_groups("slm:events")
                      if g["name"] == "nudged"]
            return bool(groups) and groups[0]["last-delivered-id"] == last \
                and groups[0]["pending"] == 0
        wait_for(done, 30, interval=0.1, what="the events handled")

    def outbox(self, n):
        return n.outbox()

    def sent(self, sids):
        """student -> the `sent` entries of their timeline."""
        pipe = self.r.pipeline(transaction=False)
        for sid in sids:
            pipe.xrange("slm:student:{%s}:timeline" % sid)
        return {sid: [f for _id, f in entries if f["type"] == "sent"]
                for sid, entries in zip(sids, pipe.execute())}

    def wait_sent(self, sids, k):
        """Until k `sent` entries are written over sids' timelines (the
        outbox has a message before its outcome is written)."""
        wait_for(lambda: sum(map(len, self.sent(sids).values())) >= k, 30,
                 interval=0.2, what="%d sent entries" % k)

    def report(self, n, *args):
        return json.loads(n.ctl("report", "--json", *args).stdout)


class ReportTest(Base, unittest.TestCase):
    def test_counts_and_lift_match_an_independent_computation(self):
        n = self.make(REPORT_RULES)
        sids = ids(STUDENTS)
        outsiders = ids(50, start=5001)  # never start the rule
        self.add(sids + outsiders)
        self.start(n)
        self.handled(self.emit([("campaign", s, {}) for s in sids]))
        held = {s for s in sids if held_out("invite", s, 2000)}
        treated = set(sids) - held
        self.wait_sent(sorted(treated), len(treated))

        # the known outcome: 25% of treated, 10% of held-out convert
        conv_t = {s for s in treated if int(s) % 4 == 0}
        conv_h = {s for s in held if int(s) % 10 == 0}
        replied = {s for s in sids if int(s) % 7 == 0}
        opted = {s for s in sids if int(s) % 11 == 0}
        events = []
        for s in sorted(conv_t | conv_h, key=int):
            events.append(("stage", s, {"from": "lead", "to": "consulting"}))
        for s in sorted(conv_t, key=int)[:50]:  # a second move: once
            events.append(("stage", s, {"from": "consulting", "to": "applied"}))
        for s in sids:  # not later than where they started: no conversion
            if int(s) % 9 == 0 and s not in conv_t | conv_h:
                events.append(("stage", s, {"from": "lead", "to": "lead"}))
        for s in sorted(replied, key=int):
            events.append(("reply", s, {"channel": "sms", "text": "好的"}))
        for s in sorted(opted, key=int):
            events.append(("optout", s, {"channel": "sms"}))
        for s in outsiders:
            events.append(("stage", s, {"from": "lead", "to": "admitted"}))
        self.handled(self.emit(events))

        # the index of students with an exp hash, which the consumer asks
        # before reading any: those started, not the outsiders
        self.assertEqual(set(self.r.zrange("slm:report:exposed", 0, -1)),
                         set(sids))

        rep = self.report(n)
        self.assertEqual(rep["method"], "newcombe-hybrid-score")
        self.assertEqual([r["rule"] for r in rep["rules"]], ["invite"])
        arms = rep["rules"][0]["arms"]
        self.assertEqual(sorted(arms), ["holdout", "treated"])
        want = {
            "treated": dict(started=len(treated), reached=len(treated),
                            replied=len(replied & treated),
                            opted_out=len(opted & treated),
                            converted=len(conv_t)),
            "holdout": dict(started=len(held), reached=0,
                            replied=len(replied & held),
                            opted_out=len(opted & held),
                            converted=len(conv_h)),
        }
        for arm, counts in want.items():
            got = {k: arms[arm][k] for k in counts}
            self.assertEqual(got, counts, arm)
            self.assertAlmostEqual(arms[arm]["rate"],
                                   counts["converted"] / counts["started"])
        lift = rep["rules"][0]["lift"]
        self.assertEqual(len(lift), 1)
        self.assertEqual((lift[0]["arm"], lift[0]["over"]),
                         ("treated", "holdout"))
        self.assertTrue(lift[0]["enough"])
        d, lo, hi = newcombe(len(conv_t), len(treated), len(conv_h), len(held))
        self.assertAlmostEqual(lift[0]["difference"], d, places=9)
        self.assertAlmostEqual(lift[0]["low"], lo, places=9)
        self.assertAlmostEqual(lift[0]["high"], hi, places=9)
        self.assertAlmostEqual(lift[0]["relative"],
                               d / (len(conv_h) / len(held)), places=9)
        self.assertTrue(lo > 0, "a 15-point lift on 2,000 students shows")

        # the text says the same, in points, and names the method
        text = n.ctl("report", "invite").stdout
        self.assertIn("treated", text)
        self.assertIn("%+.1f points (95%% CI %+.1f to %+.1f, Newcombe "
                      "hybrid score)" % (d * 100, lo * 100, hi * 100), text)
        # students started after a day to come: none
        rep = self.report(n, "--since", "2999-01-01")
        self.assertEqual(rep["rules"][0]["arms"]["treated"]["started"], 0)
        self.assertFalse(rep["rules"][0]["lift"][0]["enough"])
        # forget: the student's exp hash goes, and the student leaves the
        # counts (their sets), the indexes stay
        gone = min(conv_t, key=int)
        self.assertTrue(self.r.exists("slm:student:{%s}:exp" % gone))
        self.assertIsNotNone(self.r.zscore("slm:report:exposed", gone))
        n.ctl("forget", gone)
        self.assertFalse(self.r.exists("slm:student:{%s}:exp" % gone))
        self.assertIsNone(self.r.zscore("slm:report:exposed", gone))
        for key in self.r.keys("slm:report:invite:*"):
            if self.r.type(key) == "set" and not key.endswith((":days", ":arms")):
                self.assertFalse(self.r.sismember(key, gone), key)
        arms = self.report(n)["rules"][0]["arms"]
        self.assertEqual(arms["treated"]["started"], len(treated) - 1)
        self.assertEqual(arms["treated"]["converted"], len(conv_t) - 1)
        res = n.ctl("report", "nosuchrule", check=False)
        self.assertEqual(res.returncode, 1)
        res = n.ctl("report", "--since", "yesterday", check=False)
        self.assertEqual(res.returncode, 2)
        self.assertEqual(n.stop(), 0)
        n.check_clean_log(self)

        # fewer started than [report] min_students: no lift
        small = Nudge(self.redis, extra=EXTRA % 1000)
        self.addCleanup(small.cleanup)
        small.write("rules/r.rules", REPORT_RULES)
        text = small.ctl("report").stdout
        self.assertIn("not enough students yet", text)
        self.assertNotIn("points", text)
        rep = self.report(small)
        self.assertFalse(rep["rules"][0]["lift"][0]["enough"])
        self.assertNotIn("difference", rep["rules"][0]["lift"][0])

    def test_the_index_lets_students_go_after_their_window(self):
        day = 86400 * 1000
        # now: events are timed by their stream ids, Redis's own clock
        t0 = int(time.time() * 1000)
        n = Nudge(self.redis, extra=EXTRA % 1 + "window = 1d\n\n"
                  "[daemon]\ntest_clock = clock.txt\n")
        self.addCleanup(n.cleanup)

        def set_clock(ms):  # whole at once: nudged may be reading it
            n.write("clock.tmp", "%d\n" % ms)
            os.rename(n.path("clock.tmp"), n.path("clock.txt"))

        n.write("rules/r.rules", REPORT_RULES)
        n.write("templates/msg.sms", "{{name|同学}}您好。")
        set_clock(t0)
        self.add(ids(2))
        self.start(n)
        self.handled(self.emit([("campaign", "1", {})]))
        # kept as long as its exp hash: the window and a day
        self.assertEqual(self.r.zscore("slm:report:exposed", "1"),
                         t0 + 2 * day)
        # a stage within the window is attributed through it
        self.handled(self.emit([("stage", "1", {"from": "lead",
                                                "to": "applied"})]))
        arm = "holdout" if held_out("invite", "1", 2000) else "treated"
        arms = self.report(n)["rules"][0]["arms"]
        self.assertEqual(arms[arm]["converted"], 1)
        # a start with an earlier time (a variant's arm starts with its
        # run) leaves the later one
        set_clock(t0 - day)
        self.handled(self.emit([("campaign", "1", {})]))
        self.assertEqual(self.r.zscore("slm:report:exposed", "1"),
                         t0 + 2 * day)
        # the next start, three days on, drops it
        set_clock(t0 + 3 * day)
        self.handled(self.emit([("campaign", "2", {})]))
        self.assertIsNone(self.r.zscore("slm:report:exposed", "1"))
        self.assertEqual(self.r.zscore("slm:report:exposed", "2"),
                         t0 + 5 * day)
        self.assertEqual(n.stop(), 0)

    def test_counters_off(self):
        n = Nudge(self.redis, extra=EXTRA % 1 + "counters = no\n")
        self.addCleanup(n.cleanup)
        n.write("rules/r.rules", REPORT_RULES)
        n.write("templates/msg.sms", "{{name|同学}}您好。")
        self.add(ids(20))
        self.start(n)
        self.handled(self.emit([("campaign", s, {}) for s in ids(20)]))
        self.handled(self.emit([("stage", s, {"to": "applied"})
                                for s in ids(20)]))
        self.assertEqual(self.report(n)["rules"], [])
        self.assertEqual(self.r.keys("slm:report:*"), [])
        self.assertEqual(self.r.keys("slm:student:*:exp"), [])
        self.assertFalse(self.r.exists("slm:report:exposed"))
        self.assertEqual(n.stop(), 0)


class VariantTest(Base, unittest.TestCase):
    WEIGHTS = [("inv_a", 7000), ("inv_b", 3000)]

    def test_each_student_gets_the_drawn_variant_again_after_a_restart(self):
        n = self.make(VARIANT_RULES)
        sids = ids(STUDENTS)
        self.add(sids)
        self.start(n)
        self.handled(self.emit([("campaign", s, {}) for s in sids]))
        self.wait_sent(sids, STUDENTS)
        want = {s: variant("pick", 1, s, self.WEIGHTS) for s in sids}
        sent = self.sent(sids)
        for s in sids:
            self.assertEqual(len(sent[s]), 1, sent[s])
            self.assertEqual(sent[s][0]["variant"], want[s], s)
            self.assertEqual(sent[s][0]["template"], want[s], s)
        share_a = sum(1 for v in want.values() if v == "inv_a") / STUDENTS
        self.assertTrue(abs(share_a - 0.70) <= 0.02, share_a)
        box = {m["student"]: m for m in self.outbox(n)}
        for s in sids:
            self.assertEqual(box[s]["template"], want[s])
            self.assertIn(want[s], box[s]["text"] if "text" in box[s]
                          else json.dumps(box[s], ensure_ascii=False))

        # a restarted daemon draws the same for fresh events
        self.assertEqual(n.stop(), 0)
        self.start(n)
        again = ids(300)
        self.handled(self.emit([("campaign", s, {}) for s in again]))
        self.wait_sent(again, 2 * len(again))
        for s, entries in self.sent(again).items():
            self.assertEqual([e["variant"] for e in entries], [want[s]] * 2)

        # check lists the variants; simulate names the same variant
        self.assertIn("variants: pick step 1 (inv_a 70%, inv_b 30%)",
                      n.ctl("check").stdout)
        res = n.ctl("simulate", "7", "--event", "campaign")
        self.assertIn("send outbox variant %s (of 2)" % want["7"], res.stdout)

        # the report counts each variant's students and compares the
        # second variant with the first (no holdout here)
        conv = {s for s in sids if int(s) % 3 == 0 or
                (want[s] == "inv_b" and int(s) % 5 == 0)}
        self.handled(self.emit([("stage", s, {"to": "applied"})
                                for s in sorted(conv, key=int)]))
        rep = self.report(n)["rules"][0]
        arms = rep["arms"]
        k, c = {}, {}
        for name in ("inv_a", "inv_b"):
            k[name] = sum(1 for v in want.values() if v == name)
            c[name] = sum(1 for s in conv if want[s] == name)
            self.assertEqual(arms["variant:" + name]["started"], k[name])
            self.assertEqual(arms["variant:" + name]["reached"], k[name])
            self.assertEqual(arms["variant:" + name]["converted"], c[name])
        self.assertEqual(arms["treated"]["started"], STUDENTS)
        self.assertEqual(arms["treated"]["converted"], len(conv))
        self.assertEqual(len(rep["lift"]), 1, rep["lift"])
        lift = rep["lift"][0]
        self.assertEqual((lift["arm"], lift["over"]),
                         ("variant:inv_b", "variant:inv_a"))
        d, lo, hi = newcombe(c["inv_b"], k["inv_b"], c["inv_a"], k["inv_a"])
        self.assertAlmostEqual(lift["difference"], d, places=9)
        self.assertAlmostEqual(lift["low"], lo, places=9)
        self.assertAlmostEqual(lift["high"], hi, places=9)
        text = n.ctl("report").stdout
        self.assertIn("lift of variant:inv_b over variant:inv_a: %+.1f points"
                      % (d * 100), text)
        self.assertIn("no holdout", text)
        self.assertEqual(n.stop(), 0)
        n.check_clean_log(self)

    def test_check_refuses_bad_variants(self):
        n = self.make(STAGES + """
rule bad {
    on event campaign
    send outbox variant inv_a 60%, inv_b 30%
}

rule worse {
    on event campaign
    send outbox variant inv_a 50%, inv_c 50%
}
""")
        res = n.ctl("check", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn("r.rules:5:17: the variants' weights add up to 90%, "
                      "not 100%", res.stderr + res.stdout)
        n.write("rules/r.rules", STAGES + """
rule worse {
    on event campaign
    send outbox variant inv_a 50%, inv_c 50%
}
""")
        res = n.ctl("check", check=False)
        self.assertEqual(res.returncode, 1)
        self.assertIn("r.rules:5:36: unknown template \"inv_c\"",
                      res.stderr + res.stdout)


if __name__ == "__main__":
    unittest.main()

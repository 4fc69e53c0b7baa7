"""`nudgectl diff OLD NEW` against a throwaway Redis: a rule whose `when`
changed (A), a removed rule (B), an unchanged one (C, only its comments
differ), an added one (D), one whose steps changed (E) and one whose stop
condition changed (F). Runs in progress are started by the real nudged on
the old rules; every figure is compared with a count made here, in
Python, from the students' data and runs hashes; the samples are masked;
nothing is written to Redis; the exit statuses follow DESIGN.md.
"""
import json
import os
import pty
import random
import subprocess
import unittest

from harness import (NUDGECTL, Nudge, RedisServer, add_student, redis_digest,
                     wait_for)

EXTRA = """
[queue]
max_sleep = 200ms

[delivery]
quiet_hours =
quiet_hours_service =
"""

STAGES = "stages lead contacted consulting applied admitted\n"

OLD_RULES = STAGES + """
rule A {
    on stage consulting
    when score >= 600 and tag "intent:high"
    wait 1h
    send outbox invite
}

rule B {
    on tag "vip"
    when stage in (lead, contacted)
    wait 1h
    send outbox invite
}

# C: only this comment differs between the two folders
rule C {
    on created
    when score < 500
    send outbox invite
}

rule E {
    on stage applied
    wait 1h
    send outbox invite
}

rule F {
    on stage admitted
    wait 1h
    stop if tag "fee_paid"
    send outbox invite
}
"""

NEW_RULES = STAGES + """
rule A {
    on stage consulting
    when score >= 550 and not tag "intent:low"
    wait 1h
    send outbox invite
}

# C: a comment that was not there before
rule C {
    on created      # and one at the end of a line
    when score < 500
    send outbox invite
}

rule D {
    on created
    when tag "region:remote"
    send outbox invite
}

rule E {
    on stage applied
    wait 2h
    send outbox invite
}

rule F {
    on stage admitted
    wait 1h
    stop if tag "fee_paid" or score < 300
    send outbox invite
}
"""

TAGS = ["intent:high", "intent:low", "region:remote", "fee_paid", "vip"]
N = 300


def make_students(seed=12):
    """Varied students: id -> (attrs, tags)."""
    rnd = random.Random(seed)
    out = {}
    for i in range(1, N + 1):
        attrs = {"stage": rnd.choice(["lead", "contacted", "consulting",
                                      "applied", "admitted"]),
                 "score": rnd.randint(200, 700)}
        if i % 3 == 1:  # reached by email only: the sample shows that
            attrs["phone"] = ""
            attrs["email"] = "student%d@example.edu" % i
        tags = [t for t in TAGS if rnd.random() < 0.35]
        out[str(i)] = (attrs, tags)
    return out


def old_a(a, t):
    return a["score"] >= 600 and "intent:high" in t


def new_a(a, t):
    return a["score"] >= 550 and "intent:low" not in t


def old_b(a, t):
    return a["stage"] in ("lead", "contacted")


def new_d(a, t):
    return "region:remote" in t


READS = {"scan", "hgetall", "hget", "hmget", "smembers", "sismember",
         "exists", "ping", "select", "auth", "client", "hello", "command",
         "info", "config"}


class DiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.r = cls.redis.client()
        cls.nudge = Nudge(cls.redis, extra=EXTRA)
        cls.nudge.write("templates/invite.sms", "Kind: service\n\nHi {{name}}\n")
        for name, text in (("old", OLD_RULES), ("new", NEW_RULES)):
            os.makedirs(cls.nudge.path(name))
            cls.nudge.write(os.path.join(name, "main.rules"), text)
        cls.nudge.write("rules/main.rules", OLD_RULES)
        cls.students = make_students()
        for sid, (attrs, tags) in cls.students.items():
            add_student(cls.r, sid, tags=tags, **attrs)
        cls.start_runs()

    @classmethod
    def start_runs(cls):
        """nudged on the old rules starts the runs, from the events an
        integrator would write: stage events for a third of the students
        in consulting, applied or admitted, tag events for the vip ones."""
        cls.nudge.start()
        expect = []  # (student, rule) runs that must start
        pipe = cls.r.pipeline()
        for sid, (attrs, tags) in cls.students.items():
            if int(sid) % 3 == 0:
                continue
            rule = {"consulting": "A", "applied": "E",
                    "admitted": "F"}.get(attrs["stage"])
            if rule and (rule != "A" or old_a(attrs, tags)):
                pipe.xadd("slm:events", {"type": "stage", "student": sid,
                                         "from": "lead", "to": attrs["stage"]})
                expect.append((sid, rule))
            if "vip" in tags and old_b(attrs, tags):
                pipe.xadd("slm:events", {"type": "tag", "student": sid,
                                         "tag": "vip"})
                expect.append((sid, "B"))
        pipe.execute()
        wait_for(lambda: all(cls.r.hexists("slm:student:{%s}:runs" % s, rule)
                             for s, rule in expect), 10,
                 what="the runs to start")
        status = cls.nudge.stop()
        text = cls.nudge.log_text()
        assert status == 0, text[-3000:]
        for rule in "ABEF":
            assert any(r == rule for _s, r in expect), rule

    @classmethod
    def tearDownClass(cls):
        cls.nudge.cleanup()
        cls.redis.stop()

    def runs(self, rule):
        return {sid for sid in self.students
                if self.r.hexists("slm:student:{%s}:runs" % sid, rule)}

    def diff(self, *args, check=True):
        return self.nudge.ctl("diff", self.nudge.path("old"),
                              self.nudge.path("new"), *args, check=check)

    def diff_json(self):
        out = json.loads(self.diff("--json").stdout)
        return out, {r["name"]: r for r in out["rules"]}

    def assert_count(self, got, want_ids, what):
        self.assertEqual(got["count"], len(want_ids), what)
        self.assertEqual(len(got["sample"]), min(5, len(want_ids)), what)
        for s in got["sample"]:
            self.assertIn(s["id"], want_ids, what)

    def where(self, pred):
        return {sid for sid, (a, t) in self.students.items() if pred(a, t)}

    def test_counts_match_a_direct_count(self):
        out, rules = self.diff_json()
        self.assertEqual(out["students"], N)
        self.assertEqual(out["summary"], {"changed": 3, "added": 1,
                                          "removed": 1, "unchanged": 1})
        a, b, d, e, f = (rules[n] for n in "ABDEF")
        self.assertEqual(rules["C"]["status"], "unchanged")
        # A: `when` changed; its runs go on (when is checked at the start)
        self.assertEqual((a["status"], a["changed"]), ("changed", ["when"]))
        self.assertEqual(a["match_before"], len(self.where(old_a)))
        self.assertEqual(a["match_after"], len(self.where(new_a)))
        self.assert_count(a["newly_matching"], self.where(
            lambda x, t: new_a(x, t) and not old_a(x, t)), "A newly")
        self.assert_count(a["no_longer_matching"], self.where(
            lambda x, t: old_a(x, t) and not new_a(x, t)), "A no longer")
        self.assertEqual(a["running"], len(self.runs("A")))
        self.assertGreater(a["running"], 0)
        self.assert_count(a["cut_short"], set(), "A cut short")
        # B: removed: every match goes, every run of it ends
        self.assertEqual(b["status"], "removed")
        self.assert_count(b["no_longer_matching"], self.where(old_b), "B")
        self.assert_count(b["newly_matching"], set(), "B newly")
        self.assertGreater(len(self.runs("B")), 0)
        self.assertEqual(b["running"], len(self.runs("B")))
        self.assert_count(b["cut_short"], self.runs("B"), "B cut short")
        # D: added
        self.assertEqual(d["status"], "added")
        self.assert_count(d["newly_matching"], self.where(new_d), "D")
        self.assertEqual(d["running"], 0)
        # E: a wait changed: the daemon ends every run at its next step
        self.assertEqual(e["changed"], ["steps"])
        self.assert_count(e["no_longer_matching"], set(), "E")
        self.assert_count(e["cut_short"], self.runs("E"), "E cut short")
        # F: a stop condition changed: cut short where only the new holds
        self.assertEqual(f["changed"], ["stop conditions"])
        want = {s for s in self.runs("F") if s in self.where(
            lambda x, t: "fee_paid" not in t and x["score"] < 300)}
        self.assertGreater(len(want), 0)
        self.assertLess(len(want), len(self.runs("F")))
        self.assert_count(f["cut_short"], want, "F cut short")

    def test_text_names_the_changes_and_masks_contacts(self):
        res = self.diff()
        self.assertEqual(res.returncode, 0)
        self.assertEqual(res.stderr, "")  # no progress line off a terminal
        lines = {l.split()[0]: l for l in res.stdout.splitlines()
                 if l[:1] in "ABCDEF" and len(l.split()) > 1}
        self.assertIn("changed: when", lines["A"])
        self.assertIn("removed", lines["B"])
        self.assertIn("unchanged", lines["C"])
        self.assertIn("added", lines["D"])
        self.assertIn("changed: steps", lines["E"])
        _out, rules = self.diff_json()
        self.assertIn(" %d " % rules["A"]["newly_matching"]["count"],
                      lines["A"])
        self.assertIn("samples (contacts masked)", res.stdout)
        for text in (res.stdout, self.diff("--json").stdout):
            self.assertNotRegex(text, r"\+86138\d{8}")
            self.assertNotRegex(text, r"student\d+@example.edu")
            self.assertRegex(text, r"\+86138\*\*\*\*\d{4}")
            self.assertRegex(text, r"s\*\*\*@example\.edu")

    def on_a_terminal(self, *args):
        """(stdout, what a terminal on stderr showed) of a diff."""
        master, slave = pty.openpty()
        try:
            res = subprocess.run(
                [NUDGECTL, "-c", self.nudge.config, "diff",
                 self.nudge.path("old"), self.nudge.path("new")] + list(args),
                stdout=subprocess.PIPE, stderr=slave, timeout=60, text=True)
        finally:
            os.close(slave)
        shown = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            shown += chunk
        os.close(master)
        self.assertEqual(res.returncode, 0, shown)
        return res.stdout, shown.decode()

    def test_progress_on_a_terminal_only(self):
        out, shown = self.on_a_terminal()
        self.assertIn("diff: %d/%d students" % (N, N), shown)
        self.assertTrue(shown.endswith("\r\x1b[K"), repr(shown[-40:]))
        self.assertNotIn("diff:", out)
        out, shown = self.on_a_terminal("--json")
        self.assertEqual(shown, "")
        self.assertEqual(json.loads(out)["students"], N)

    def test_nothing_written(self):
        before = redis_digest(self.r)
        self.r.config_resetstat()
        self.diff()
        self.diff("--json")
        stats = self.r.info("commandstats")
        used = {k[len("cmdstat_"):].split("|")[0] for k in stats}
        self.assertLessEqual(used, READS, "commands beyond reads: %s" %
                             sorted(used - READS))
        self.assertIn("hmget", used)  # the runs were read
        self.assertEqual(redis_digest(self.r), before)

    def test_errors_and_usage(self):
        bad = self.nudge.path("bad")
        os.makedirs(bad, exist_ok=True)
        self.nudge.write("bad/x.rules", STAGES + "rule X {\n    on stage nowhere\n"
                         "    send outbox invite\n}\n")
        res = self.nudge.ctl("diff", self.nudge.path("old"), bad, check=False)
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertRegex(res.stderr, r"bad/x\.rules:3:\d+: ")
        self.assertEqual(res.stdout, "")
        res = self.nudge.ctl("diff", self.nudge.path("old"),
                             self.nudge.path("missing"), check=False)
        self.assertEqual(res.returncode, 2)
        self.assertIn("missing: no such folder", res.stderr)
        self.assertEqual(self.nudge.ctl("diff", self.nudge.path("old"),
                                        check=False).returncode, 2)
        self.assertEqual(self.diff("--bogus", check=False).returncode, 2)

    def test_same_folder_reads_no_student(self):
        self.r.config_resetstat()
        res = self.nudge.ctl("diff", self.nudge.path("old"),
                             self.nudge.path("old"))
        self.assertIn("0 changed, 0 added, 0 removed, 5 unchanged",
                      res.stdout)
        self.assertNotIn("cmdstat_scan", self.r.info("commandstats"))


if __name__ == "__main__":
    unittest.main()

"""Holdout groups (docs/insight.md, "Holdout groups"; rules/holdout.h)
through real nudged daemons: 10,000 students, a rule `on event campaign`
with `holdout 10%` that sends to the outbox.

Two daemons, two consumers of one group, share the events: the students
held out are 10% of 10,000 within a point, exactly those the documented
draw (FNV-1a 64 of "RULE\\0STUDENT" mod 10000 < 1000) names, computed
here in Python; none of them is in either outbox; each has one
`held_out` entry; both daemons drew. After a restart, fresh events for
3,000 of the students hold out the same ones again. `nudgectl check` and
`nudgectl simulate` say so. Then, on a few students: one entry per
would-be run (a waiting rule's second event, an event handled twice),
and a schedule's scan holds out the same draw.
"""
import unittest

from harness import (Nudge, RedisServer, add_students, http_get, metric,
                     timeline, wait_for)

STUDENTS = 10000
AGAIN = 3000  # students who get a second event after the restart
RULE = "campaign"
SHARE = 1000  # 10%, in hundredths of a percent

EXTRA = """
[daemon]
consumer = {name}

[templates]
unsubscribe_secret = s3cret-for-tests

[queue]
max_sleep = 100ms
retry_base = 200ms
retry_cap = 500ms

[delivery]
quiet_hours =
quiet_hours_service =
max_per_day = 0
dedup_window = 0
"""

RULES = """stages lead

rule %s {
    on event campaign
    holdout 10%%
    send outbox msg
}
""" % RULE


def fnv1a64(data, h=0xcbf29ce484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def held_out(rule, sid, share=SHARE):
    """The draw as docs/insight.md documents it."""
    return fnv1a64(rule.encode() + b"\0" + sid.encode()) % 10000 < share


def ids(n):
    return [str(i) for i in range(1, n + 1)]


class HoldoutTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.daemons = []
        for name in ("a", "b"):
            n = Nudge(self.redis, extra=EXTRA.format(name=name))
            self.addCleanup(n.cleanup)
            n.write("rules/campaign.rules", RULES)
            n.write("templates/msg.sms", "{{name|同学}}您好，开放日通知。")
            self.daemons.append(n)
        self.load_students()

    def load_students(self):
        """The CRM's writes, pipelined: a second for 10,000."""
        pipe = self.r.pipeline(transaction=False)
        for sid in ids(STUDENTS):
            pipe.hset("slm:student:{%s}" % sid, mapping={
                "name": "学生" + sid, "phone": "+8613800%06d" % int(sid),
                "stage": "lead"})
        pipe.execute()

    def emit(self, sids):
        pipe = self.r.pipeline(transaction=False)
        for sid in sids:
            pipe.xadd("slm:events", {"type": "campaign", "student": sid})
        pipe.execute()

    def start(self, n):
        n.start()
        wait_for(lambda: "nudged started" in n.log_text(), 10,
                 what="nudged to start")

    def stop_all(self):
        for n in self.daemons:
            if n.proc:
                self.assertEqual(n.stop(), 0, n.log_text()[-3000:])
                n.check_clean_log(self)

    def outbox(self):
        """student id -> messages, over both daemons' outboxes."""
        got = {}
        for n in self.daemons:
            for m in n.outbox():
                got[m["student"]] = got.get(m["student"], 0) + 1
        return got

    def held_metric(self, n):
        status, text = http_get(n.http_port, "/metrics")
        self.assertEqual(status, 200)
        return metric(text, 'nudge_holdout_total{rule="%s"}' % RULE)

    def wait_handled(self, events, running, held_before=0):
        """Until every event has its outcome: a message in an outbox or a
        would-be run held out (the running daemons' counters, and
        held_before counted by daemons since stopped)."""
        def done():
            total = sum(self.outbox().values()) + held_before + sum(
                self.held_metric(n) for n in running)
            return total >= events
        wait_for(done, 60, interval=0.2,
                 what="%d events to be sent or held out" % events)

    def timelines(self, sids):
        pipe = self.r.pipeline(transaction=False)
        for sid in sids:
            pipe.xrange("slm:student:{%s}:timeline" % sid)
        return {sid: [f for _id, f in entries]
                for sid, entries in zip(sids, pipe.execute())}

    def held_entries(self, entries):
        return [e for e in entries if e["type"] == "held_out"]

    def test_ten_percent_held_out_the_same_on_two_daemons_and_a_restart(self):
        expected = {sid for sid in ids(STUDENTS) if held_out(RULE, sid)}
        # the documented draw itself: 10% of 10,000 within a point
        self.assertTrue(900 <= len(expected) <= 1100, len(expected))

        for n in self.daemons:
            self.start(n)
        self.emit(ids(STUDENTS))
        self.wait_handled(STUDENTS, self.daemons)

        # both consumers handled events, and both drew
        per_daemon = [self.held_metric(n) for n in self.daemons]
        self.assertTrue(all(c > 0 for c in per_daemon), per_daemon)
        self.assertEqual(sum(per_daemon), len(expected))

        lines = self.timelines(ids(STUDENTS))
        held = {sid for sid, entries in lines.items()
                if self.held_entries(entries)}
        self.assertTrue(900 <= len(held) <= 1100, len(held))
        self.assertEqual(held, expected)
        for sid in held:
            entries = self.held_entries(lines[sid])
            self.assertEqual(len(entries), 1, (sid, lines[sid]))
            self.assertEqual(entries[0]["rule"], RULE)
            self.assertIn("10% holdout", entries[0]["detail"])
            self.assertNotIn("step", entries[0])
            # nothing else of the rule: no sent, no skipped
            self.assertEqual([e["type"] for e in lines[sid]
                              if e.get("rule") == RULE], ["held_out"],
                             lines[sid])

        sent = self.outbox()
        self.assertFalse(held & set(sent), "held-out students were sent to")
        self.assertEqual(set(sent), set(ids(STUDENTS)) - held)
        self.assertTrue(all(c == 1 for c in sent.values()))

        # a restarted daemon draws the same on fresh events
        self.stop_all()
        first = self.daemons[0]
        self.start(first)
        self.emit(ids(AGAIN))
        self.wait_handled(STUDENTS + AGAIN, [first], len(held))
        again = self.timelines(ids(AGAIN))
        held_again = {sid for sid, entries in again.items()
                      if len(self.held_entries(entries)) == 2}
        self.assertEqual(held_again, expected & set(ids(AGAIN)))
        self.assertTrue(all(len(self.held_entries(again[sid])) == 0
                            for sid in set(ids(AGAIN)) - expected))
        sent = self.outbox()
        self.assertFalse(held & set(sent))
        self.assertTrue(all(sent[sid] == 2 for sid in ids(AGAIN)
                            if sid not in expected))

        # check and simulate use the same draw
        res = first.ctl("check")
        self.assertIn("holdouts: campaign 10%", res.stdout)
        one_held = min(expected, key=int)
        one_sent = next(sid for sid in ids(STUDENTS) if sid not in expected)
        res = first.ctl("simulate", one_held, "--event", "campaign")
        self.assertIn("held out (10% holdout)", res.stdout)
        self.assertNotIn("send outbox msg", res.stdout)
        res = first.ctl("simulate", one_sent, "--event", "campaign")
        self.assertIn("holdout 10%: not held out", res.stdout)
        self.assertIn("send outbox msg", res.stdout)
        self.stop_all()


SMALL_RULES = """stages lead

rule waiting {
    on event visit
    holdout 50%
    wait 1h
    send outbox msg
}

rule instant {
    on event ping
    holdout 50%
    send outbox msg
}

rule weekly {
    every monday 09:00
    holdout 10%
    limit 1 per 7d
    send outbox msg
}
"""


class OncePerRunTest(unittest.TestCase):
    """One `held_out` entry per would-be run: a rule that waits keeps the
    would-be run in progress (a second event starts none), an event
    handled twice records it once, a fresh event is a new would-be run;
    a schedule holds out the same draw."""

    SCHEDULED = 2000

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis, extra=EXTRA.format(name="a") +
                           "\n[rules]\nschedule_grace = 8d\n")
        self.addCleanup(self.nudge.cleanup)
        self.nudge.write("templates/msg.sms", "{{name|同学}}您好，开放日通知。")

    def start(self, rules):
        self.nudge.write("rules/small.rules", rules)
        self.nudge.start()
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")

    def add(self, sids):
        add_students(self.r, sids)

    def emit(self, sid, kind):
        return self.r.xadd("slm:events", {"type": kind, "student": sid})

    def entries(self, sid, rule):
        return [e for e in timeline(self.r, sid) if e.get("rule") == rule]

    def group(self):
        """nudged's consumer group; an empty one until nudged made it (a
        slow start under ASan may come after the events)."""
        for g in self.r.xinfo_groups("slm:events"):
            if g["name"] == "nudged":
                return g
        return {"last-delivered-id": None, "pending": -1}

    def pick(self, rule, share, held):
        return next(sid for sid in ids(1000)
                    if held_out(rule, sid, share) == held)

    def test_once_per_would_be_run(self):
        w_held = self.pick("waiting", 5000, True)
        w_in = self.pick("waiting", 5000, False)
        i_held = self.pick("instant", 5000, True)
        self.add({w_held, w_in, i_held})
        self.start(SMALL_RULES.replace("every monday 09:00",
                                       "at 2099-01-01 09:00"))
        for sid in (w_held, w_in):
            self.emit(sid, "visit")
        last = self.emit(i_held, "ping")
        wait_for(lambda: self.entries(i_held, "instant"), 5,
                 what="the instant rule's held_out")
        # a second trigger while the would-be run waits: no new run, as
        # for the student who is not held out
        for sid in (w_held, w_in):
            last = self.emit(sid, "visit")
        wait_for(lambda: self.group()["last-delivered-id"] == last and
                 self.group()["pending"] == 0, 5, what="the events handled")
        self.assertEqual([e["type"] for e in self.entries(w_held, "waiting")],
                         ["held_out"])
        self.assertEqual(self.entries(w_in, "waiting"), [])  # waiting 1h
        self.assertEqual(len(self.r.hgetall("slm:student:{%s}:runs" % w_held)),
                         1, "the would-be run is in progress")
        # every event handled again (a consumer that lost track): nothing
        # is recorded twice
        self.r.xgroup_setid("slm:events", "nudged", "0")
        wait_for(lambda: self.group()["last-delivered-id"] == last and
                 self.group()["pending"] == 0, 5,
                 what="the events handled again")
        self.assertEqual(len(self.entries(w_held, "waiting")), 1)
        self.assertEqual(len(self.entries(i_held, "instant")), 1)
        # a new trigger of a rule without waits is a new would-be run
        self.emit(i_held, "ping")
        wait_for(lambda: len(self.entries(i_held, "instant")) == 2, 5,
                 what="the second held_out")
        res = self.nudge.ctl("simulate", w_held, "--event", "visit")
        self.assertIn("a run of this rule is in progress", res.stdout)
        self.assertEqual(self.nudge.stop(), 0)
        self.nudge.check_clean_log(self)

    def test_a_schedule_holds_out_the_same_draw(self):
        sids = ids(self.SCHEDULED)
        expected = {sid for sid in sids if held_out("weekly", sid)}
        self.add(sids)
        self.start(SMALL_RULES)  # the last monday 09:00 is within grace
        def sent():
            return [m["student"] for m in self.nudge.outbox()]
        wait_for(lambda: len(sent()) >= self.SCHEDULED - len(expected), 30,
                 what="the scheduled messages")
        lines = {}
        pipe = self.r.pipeline(transaction=False)
        for sid in sids:
            pipe.xrange("slm:student:{%s}:timeline" % sid)
        for sid, entries in zip(sids, pipe.execute()):
            lines[sid] = [f["type"] for _id, f in entries
                          if f.get("rule") == "weekly"]
        held = {sid for sid, types in lines.items() if types == ["held_out"]}
        self.assertEqual(held, expected)
        self.assertFalse(held & set(sent()))
        self.assertEqual(sorted(sent()), sorted(set(sids) - expected))
        self.assertEqual(self.nudge.stop(), 0)
        self.nudge.check_clean_log(self)


if __name__ == "__main__":
    unittest.main()

"""Leads through the real nudged against a throwaway Redis: assignment
(round robin skipping away staff, `by load`, the team's supervisor when
nobody can take a lead, atomic with its event and timeline entry), the
supervisor chain with broken staff data (nothing sent to anyone wrong:
the outbox file shows who got what), followup_by = owner, a closed lead's
escalation not sent, and `nudgectl overdue` / `leads`.
"""
import json
import time
import unittest

from harness import (Nudge, RedisServer, add_student,
                     http_get, metric, timeline, wait_for)

EXTRA = """
[queue]
max_sleep = 200ms

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =

[alerts]
group_wait = 0s
group_interval = 0s

[leads]
followup_by = owner
open_stages = lead contacted consulting
closed_tag = closed
followup_within = 1s

[channel.wecom]
type = outbox
as = wecom
path = outbox.jsonl
"""

RULES = """\
stages lead contacted consulting applied admitted enrolled

rule assign_load {
    on created
    when pool == "load" and not owner
    assign team load by load
}

rule chain {
    on event escalate_now
    escalate level 1 via wecom overdue
    escalate level 2 via wecom overdue
}

rule sla {
    on assigned
    when pool == "sla"
    wait 2s
    stop if followed_up
    escalate level 1 via wecom overdue
}
"""

# a round-robin rule per team: students whose pool names the team
TEAMS = ("rr", "solo", "empty", "away", "sla", "move", "watch")
ASSIGN = """
rule assign_%s {
    on created
    when pool == "%s" and not owner
    assign team %s
}
"""


def rules_text():
    return RULES + "".join(ASSIGN % (t, t, t) for t in TEAMS)


def outbox(nudge):
    return nudge.outbox()


def staff(r, sid, **fields):
    fields.setdefault("name", "老师" + sid)
    fields.setdefault("wecom_userid", "wc_" + sid)
    r.hset("slm:staff:" + sid, mapping=fields)


def event(r, type_, student, **fields):
    fields.update(type=type_, student=student)
    r.xadd("slm:events", fields)


class LeadsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.redis = RedisServer().start()
        cls.r = cls.redis.client()
        cls.nudge = Nudge(cls.redis, extra=EXTRA)
        cls.nudge.write("rules/leads.rules", rules_text())
        cls.nudge.write("templates/overdue.wecom", "{{name}} 未跟进\n")
        cls.nudge.start()
        wait_for(lambda: "nudged started" in cls.nudge.log_text(), 10,
                 what="nudged to start")

    @classmethod
    def tearDownClass(cls):
        cls.nudge.stop_checked(cls.redis)

    def owner(self, sid):
        return self.r.hget("slm:student:{%s}" % sid, "owner")

    def entries(self, sid, type_):
        return [e for e in timeline(self.r, sid) if e.get("type") == type_]

    def wait_owners(self, sids, what):
        wait_for(lambda: all(self.owner(s) for s in sids), 20, what=what)

    # --- assignment ------------------------------------------------------

    def test_round_robin_skips_away(self):
        """100 leads, a team of 4 with c away: a, b, d in turn from a."""
        for sid in "abcd":
            staff(self.r, sid)
        self.r.hset("slm:staff:c", "status", "away")
        self.r.sadd("slm:team:rr", *"abcd")
        sids = [str(1000 + i) for i in range(100)]
        for sid in sids:
            add_student(self.r, sid, pool="rr")
            event(self.r, "created", sid)
        self.wait_owners(sids, "100 owners")
        counts = {s: 0 for s in "abcd"}
        for sid in sids:
            counts[self.owner(sid)] += 1
        self.assertEqual(counts, {"a": 34, "b": 33, "c": 0, "d": 33})
        for s in "abcd":  # the open-leads sets agree
            self.assertEqual(self.r.zcard("slm:staff:%s:leads" % s), counts[s])
        _, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(metric(text, 'nudge_leads_assigned_total{team="rr"}'),
                         100)

    def test_assignment_is_atomic(self):
        """Owner, bookkeeping, the assigned event and one timeline entry."""
        staff(self.r, "at1")
        self.r.sadd("slm:team:solo", "at1")
        add_student(self.r, "2001", pool="solo")
        event(self.r, "created", "2001")
        self.wait_owners(["2001"], "at01's owner")
        self.assertEqual(self.owner("2001"), "at1")
        wait_for(lambda: self.entries("2001", "assigned"), 5, what="entry")
        time.sleep(0.3)  # the event is consumed: still one entry
        entries = self.entries("2001", "assigned")
        self.assertEqual(len(entries), 1, entries)
        self.assertEqual(entries[0]["rule"], "assign_solo")
        self.assertEqual(entries[0]["step"], "1")
        self.assertEqual(entries[0]["actor"], "rule:assign_solo")
        self.assertEqual(entries[0]["detail"], "at1: round robin in team solo")
        events = [f for _id, f in self.r.xrange("slm:events")
                  if f.get("type") == "assigned" and f["student"] == "2001"]
        self.assertEqual(len(events), 1)
        self.assertEqual((events[0]["owner"], events[0]["rule"]),
                         ("at1", "assign_solo"))
        self.assertEqual(self.r.hget("slm:leads", "2001"), "at1")
        self.assertIsNotNone(self.r.zscore("slm:staff:at1:leads", "2001"))
        self.assertIsNotNone(self.r.hget("slm:student:{2001}", "assigned_at"))

    def test_by_load_balances(self):
        """Members start with 0, 5 and 10 open leads; 15 new ones even
        them out at 10 each."""
        for sid, n in (("l0", 0), ("l5", 5), ("l10", 10)):
            staff(self.r, sid)
            for k in range(n):
                self.r.zadd("slm:staff:%s:leads" % sid, {"old-%s-%d" % (sid, k): 1})
        self.r.sadd("slm:team:load", "l0", "l5", "l10")
        sids = [str(3000 + i) for i in range(15)]
        for sid in sids:
            add_student(self.r, sid, pool="load")
            event(self.r, "created", sid)
        self.wait_owners(sids, "15 owners")
        got = {s: 0 for s in ("l0", "l5", "l10")}
        for sid in sids:
            got[self.owner(sid)] += 1
        self.assertEqual(got, {"l0": 10, "l5": 5, "l10": 0})
        for s in ("l0", "l5", "l10"):
            self.assertEqual(self.r.zcard("slm:staff:%s:leads" % s), 10)
        detail = self.entries("3000", "assigned")[0]["detail"]
        self.assertEqual(detail, "l0: fewest open leads (0) in team load")

    def test_empty_team_goes_to_supervisor(self):
        staff(self.r, "boss")
        self.r.hset("slm:team:empty:meta", "supervisor", "boss")
        add_student(self.r, "4001", pool="empty")
        event(self.r, "created", "4001")
        self.wait_owners(["4001"], "em01's owner")
        self.r.hdel("slm:team:empty:meta", "supervisor")
        self.assertEqual(self.owner("4001"), "boss")
        self.assertEqual(self.entries("4001", "assigned")[0]["detail"],
                         "boss: team empty is empty; given to the team's "
                         "supervisor")
        self.assertEqual(self.r.hget("slm:leads", "4001"), "boss")
        # an unknown supervisor, then none: skipped, warned, nobody owns it
        self.r.hset("slm:team:empty:meta", "supervisor", "ghost")
        add_student(self.r, "4002", pool="empty")
        event(self.r, "created", "4002")
        wait_for(lambda: self.entries("4002", "skipped"), 10, what="skipped")
        self.r.hdel("slm:team:empty:meta", "supervisor")
        add_student(self.r, "4003", pool="empty")
        event(self.r, "created", "4003")
        wait_for(lambda: self.entries("4003", "skipped"), 10, what="skipped")
        whys = ["assign: team empty is empty, and its supervisor ghost is "
                "not in Redis",
                "assign: team empty is empty, and no supervisor (set "
                "supervisor in slm:team:empty:meta)"]
        self.assertEqual([self.entries(s, "skipped")[0]["detail"]
                          for s in ("4002", "4003")], whys)
        self.assertEqual([self.owner(s) for s in ("4002", "4003")],
                         [None, None])
        for why in whys:
            self.assertIn(why, self.nudge.log_text())

    def test_all_away_no_supervisor_is_skipped(self):
        staff(self.r, "aw1", status="away")
        self.r.sadd("slm:team:away", "aw1")
        add_student(self.r, "4101", pool="away")
        event(self.r, "created", "4101")
        wait_for(lambda: self.entries("4101", "skipped"), 10, what="skipped")
        why = ("assign: team away has nobody available (all away), and no "
               "supervisor (set supervisor in slm:team:away:meta)")
        self.assertEqual(self.entries("4101", "skipped")[0]["detail"], why)
        self.assertIsNone(self.owner("4101"))
        wait_for(lambda: why in self.nudge.log_text(), 5, what="the warning")

    # --- the chain ---------------------------------------------------------

    def test_broken_chains(self):
        staff(self.r, "o1")                          # no supervisor
        staff(self.r, "o2", supervisor="o2")         # A -> A
        staff(self.r, "o3", supervisor="s3")         # A -> B -> A
        staff(self.r, "s3", supervisor="o3")
        staff(self.r, "o4", supervisor="ghost")      # unknown id
        staff(self.r, "o5", supervisor="s5")         # a good chain
        staff(self.r, "s5", supervisor="s6")
        staff(self.r, "s6")
        owners = {"5001": "o1", "5002": "o2", "5003": "o3", "5004": "o4",
                  "5005": "o5", "5006": "nobody"}
        for sid, owner in owners.items():
            add_student(self.r, sid, owner=owner)
            event(self.r, "escalate_now", sid)
        want_skips = {
            "5001": ["no level 1: owner o1 has no supervisor"] * 2,
            "5002": ["no level 1: the supervisor chain loops (o2 -> o2)"] * 2,
            "5003": ["no level 2: the supervisor chain loops (o3 -> s3 -> o3)"],
            "5004": ["no level 1: supervisor ghost of o4 is not in Redis"] * 2,
            "5005": [],
            "5006": ["owner nobody is not in Redis"] * 2,
        }
        done = lambda sid: (len(self.entries(sid, "skipped")) +
                            len(self.entries(sid, "escalated")) == 2)
        wait_for(lambda: all(done(s) for s in owners), 15, what="the chains")
        for sid, want in want_skips.items():
            got = [e["detail"] for e in self.entries(sid, "skipped")]
            self.assertEqual(got, want, sid)
        # escalations are grouped alerts: who got one, and whose leads
        wait_for(lambda: len(self.entries("5003", "alerted")) == 1 and
                 len(self.entries("5005", "alerted")) == 2, 10,
                 what="the alerts")
        alerted = {sid: sorted(e["detail"]
                               for e in self.entries(sid, "alerted"))
                   for sid in owners}
        self.assertEqual(alerted, {
            "5001": [], "5002": [], "5004": [], "5006": [],
            "5003": ["alert to staff s3 (level 1): 1 lead overdue"],
            "5005": ["alert to staff s5 (level 1): 1 lead overdue",
                     "alert to staff s6 (level 2): 1 lead overdue"]})
        self.assertEqual(sorted(m["to"] for m in outbox(self.nudge)),
                         ["wc_s3", "wc_s5", "wc_s6"])
        self.assertEqual(
            [e["detail"].split(":")[0]
             for e in self.entries("5005", "escalated")],
            ["level 1 to staff s5", "level 2 to staff s6"])
        log = self.nudge.log_text()
        for want in want_skips.values():
            for why in want:
                self.assertIn(why, log)

    # --- follow-up, closed leads -------------------------------------------

    def test_followup_by_owner_and_closed_leads(self):
        staff(self.r, "p1", supervisor="q1")
        staff(self.r, "q1")
        staff(self.r, "x9")
        self.r.sadd("slm:team:sla", "p1")
        sids = ["6001", "6002", "6003", "6004"]
        for sid in sids:
            add_student(self.r, sid, pool="sla")
            event(self.r, "created", sid)
        self.wait_owners(sids, "sla owners")
        event(self.r, "followup", "6001", staff="x9", note="not the owner")
        event(self.r, "followup", "6002", staff="p1", note="called")
        self.r.hset("slm:student:{6003}", "stage", "enrolled")
        event(self.r, "stage", "6003", **{"from": "lead", "to": "enrolled"})
        self.r.sadd("slm:student:{6004}:tags", "closed")
        event(self.r, "tag", "6004", tag="closed")
        ended = lambda sid: (self.entries(sid, "skipped") or
                             self.entries(sid, "escalated"))
        wait_for(lambda: all(ended(s) for s in sids), 15, what="the sla runs")
        time.sleep(0.3)
        wait_for(lambda: self.entries("6001", "alerted"), 5, what="the alert")
        self.assertEqual([m["to"] for m in outbox(self.nudge)
                          if m["to"] == "wc_q1"], ["wc_q1"])
        self.assertEqual([sid for sid in sids if self.entries(sid, "alerted")],
                         ["6001"])
        self.assertEqual(self.entries("6002", "skipped")[0]["detail"],
                         "stop if followed_up: the run ends")
        self.assertEqual(self.entries("6003", "skipped")[0]["detail"],
                         "the lead is closed: stage enrolled is past the lead "
                         "stages (lead contacted consulting)")
        self.assertEqual(self.entries("6004", "skipped")[0]["detail"],
                         'the lead is closed: tag "closed"')
        members = set(self.r.zrange("slm:staff:p1:leads", 0, -1))
        self.assertEqual(members, {"6001", "6002"})
        self.assertIsNone(self.r.hget("slm:leads", "6003"))
        # only the owner's followup counts for the metric
        self.assertIsNone(self.r.hget("slm:student:{6001}", "first_followup_at"))
        self.assertIsNotNone(self.r.hget("slm:student:{6002}",
                                         "first_followup_at"))
        _, text = http_get(self.nudge.http_port, "/metrics")
        self.assertGreaterEqual(
            metric(text, "nudge_lead_first_followup_seconds_count"), 1)

    def test_crm_reassignment_moves_the_lead(self):
        staff(self.r, "m1")
        staff(self.r, "m2")
        self.r.sadd("slm:team:move", "m1")
        add_student(self.r, "7001", pool="move")
        event(self.r, "created", "7001")
        self.wait_owners(["7001"], "mv01's owner")
        self.r.hset("slm:student:{7001}", "owner", "m2")  # as the CRM does
        event(self.r, "assigned", "7001", owner="m2")
        wait_for(lambda: self.r.hget("slm:leads", "7001") == "m2", 5,
                 what="the move")
        self.assertIsNone(self.r.zscore("slm:staff:m1:leads", "7001"))
        self.assertIsNotNone(self.r.zscore("slm:staff:m2:leads", "7001"))

    # --- nudgectl ------------------------------------------------------------

    def test_zz_overdue_and_leads(self):
        staff(self.r, "w1")
        staff(self.r, "w2")
        self.r.sadd("slm:team:watch", "w1", "w2")
        sids = ["8001", "8002", "8003"]
        for sid in sids:
            add_student(self.r, sid, pool="watch")
            event(self.r, "created", sid)
            self.wait_owners([sid], sid + "'s owner")  # in order: w1 w2 w1
        self.assertEqual([self.owner(s) for s in sids], ["w1", "w2", "w1"])
        event(self.r, "followup", "8002", staff="w2", note="called")
        wait_for(lambda: self.r.hget("slm:student:{8002}", "first_followup_at"),
                 5, what="v2's followup")
        time.sleep(1.2)  # followup_within = 1s
        res = self.nudge.ctl("overdue", "--team", "watch", check=False)
        self.assertEqual(res.returncode, 1, res.stderr)
        lines = res.stdout.splitlines()
        self.assertEqual(lines[0], "2 overdue leads, most overdue first")
        self.assertEqual([l.split()[0] for l in lines[2:]], ["8001", "8003"])
        self.assertIn("w1", lines[2])
        self.assertNotIn("13800", res.stdout)  # no contact in the clear
        res = self.nudge.ctl("overdue", "--team", "watch", "--json",
                             check=False)
        rows = json.loads(res.stdout)
        self.assertEqual([r["student"] for r in rows], ["8001", "8003"])
        self.assertEqual(rows[0]["owner"], "w1")
        self.assertEqual(rows[0]["stage"], "lead")
        self.assertGreaterEqual(rows[0]["overdue_seconds"], 0)
        self.assertNotIn("13800008001", json.dumps(rows))
        self.assertTrue(rows[0]["state"].startswith("overdue"))
        res = self.nudge.ctl("overdue", "--owner", "w2", check=False)
        self.assertEqual((res.returncode, res.stdout), (0, "no overdue leads\n"))
        res = self.nudge.ctl("leads", "w1")
        self.assertEqual(res.stdout.splitlines()[0], "w1: 2 open leads")
        self.assertIn("overdue", res.stdout)
        rows = json.loads(self.nudge.ctl("leads", "w2", "--json").stdout)
        self.assertEqual([(r["student"], r["followed_up"], r["state"])
                          for r in rows], [("8002", True, "followed up")])
        self.assertEqual(self.nudge.ctl("leads", "nobody", check=False)
                         .returncode, 1)
        self.assertEqual(self.nudge.ctl("overdue", "--bogus", check=False)
                         .returncode, 2)
        self.assertEqual(self.nudge.ctl("leads", check=False).returncode, 2)
        self.assertIn("overdue [--team T] [--owner S] [--json]",
                      self.nudge.ctl("-h").stdout)


if __name__ == "__main__":
    unittest.main()

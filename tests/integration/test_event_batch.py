"""A backlog handled in big batches (rules/engine_batch.c): the leads and
run-start scripts of a whole batch go to Redis together, yet each
student's events must come out as if handled one by one. The backlog is
written before nudged starts, so that one batch holds several events of
the same student:
  - two `stage consulting` events of one student start one run and send
    one message (the second finds the run going);
  - `assigned` then `followup`: the followup counts as the lead's first;
  - `created`, whose rule assigns the lead, then the owner's `followup`:
    the followup comes after the assignment, so it counts too;
  - an opt-out reply then a `tag` event whose rule would message: the
    confirmation goes out, the message does not;
  - students the `when` leaves out get nothing;
and every event is acknowledged, whatever the mix. TagsReadTest checks
that a student's tags are read only where a `when` may hold on its hash.
"""
import threading
import unittest

from harness import Nudge, RedisServer, add_student, http_get, metric, wait_for

STUDENTS = 300

EXTRA = """
[daemon]
batch = 500

[delivery]
quiet_hours =
quiet_hours_service =
quiet_hours_staff =
max_per_day = 0

[queue]
max_sleep = 200ms

[leads]
followup_by = owner

[consent]
confirm_template = optout_confirm
"""

RULES = """\
stages lead consulting

rule welcome {
    on stage consulting
    when tag "intent:high"
    limit 1 per 7d
    send outbox welcome_note
}

rule assign_solo {
    on created
    when pool == "solo" and not owner
    assign team solo
}

rule promo {
    on tag "promo"
    send outbox promo_note
}
"""


def event(r, type_, student, **fields):
    fields.update(type=type_, student=student)
    r.xadd("slm:events", fields)


class BatchCase(unittest.TestCase):
    """A throwaway Redis and a nudged with the class's RULES and
    TEMPLATES (name: SMS text)."""
    RULES = RULES
    TEMPLATES = {
        "welcome_note": "Kind: notice\n\n{{name}}，欢迎咨询。\n",
        "promo_note": "Kind: marketing\n\n{{name}}，开放日见。\n",
        "optout_confirm": "Kind: notice\n\n退订成功。\n",
    }

    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis, extra=EXTRA)
        self.addCleanup(self.nudge.cleanup)
        self.nudge.write("rules/batch.rules", self.RULES)
        for name, text in self.TEMPLATES.items():
            self.nudge.write("templates/%s.sms" % name, text)

    def sent(self, template):
        got = {}
        for m in self.nudge.outbox():
            if m.get("template") == template:
                got[m["student"]] = got.get(m["student"], 0) + 1
        return got

    def acked(self):
        """Events nudged's group has read and acknowledged."""
        for g in self.r.xinfo_groups("slm:events"):
            if g["pending"] == 0 and g["last-delivered-id"] != "0-0":
                entries = self.r.xrange("slm:events", "-",
                                        g["last-delivered-id"])
                return len(entries)
        return 0


class EventBatchTest(BatchCase):

    def test_one_students_events_in_one_batch_keep_their_order(self):
        sids = [str(1000 + i) for i in range(STUDENTS)]
        high = set(sids[100::2])  # apart from the leads and opt-outs
        self.r.hset("slm:staff:t1", mapping={"name": "老师"})
        for sid in sids:
            add_student(self.r, sid, stage="lead",
                        tags=["intent:high"] if sid in high else [])
        for sid in sids:
            event(self.r, "stage", sid, **{"from": "lead", "to": "consulting"})
            self.r.hset("slm:student:{%s}" % sid, "stage", "consulting")
            event(self.r, "stage", sid, **{"from": "lead", "to": "consulting"})
        leads = sids[:50]
        for sid in leads:
            event(self.r, "assigned", sid, owner="t1")
            event(self.r, "followup", sid, staff="t1", note="called")
        self.r.sadd("slm:team:solo", "t1")
        assigned_by_rule = sids[80:100]
        for sid in assigned_by_rule:
            self.r.hset("slm:student:{%s}" % sid, "pool", "solo")
            event(self.r, "created", sid)
            event(self.r, "followup", sid, staff="t1", note="called")
        optouts = sids[50:80]
        for sid in optouts:
            event(self.r, "reply", sid, channel="sms", text="TD")
            self.r.sadd("slm:student:{%s}:tags" % sid, "promo")
            event(self.r, "tag", sid, tag="promo")
        total = self.r.xlen("slm:events")

        self.nudge.start()
        wait_for(lambda: self.acked() >= total, 30,
                 what="every event acknowledged")
        wait_for(lambda: len(self.sent("welcome_note")) >= len(high), 10,
                 what="the welcome notes")
        wait_for(lambda: len(self.sent("optout_confirm")) >= len(optouts), 10,
                 what="the confirmations")

        self.assertEqual(self.sent("welcome_note"), {s: 1 for s in high})
        self.assertEqual(self.sent("optout_confirm"), {s: 1 for s in optouts})
        self.assertEqual(self.sent("promo_note"), {})
        for sid in leads + assigned_by_rule:
            self.assertIsNotNone(
                self.r.hget("slm:student:{%s}" % sid, "first_followup_at"),
                "student %s: the followup after the assignment" % sid)
        _, text = http_get(self.nudge.http_port, "/metrics")
        self.assertEqual(
            metric(text, "nudge_lead_first_followup_seconds_count"),
            len(leads) + len(assigned_by_rule))
        self.assertEqual(self.nudge.stop(), 0, self.nudge.log_text()[-3000:])
        self.nudge.check_clean_log(self)


TAG_RULES = """\
stages lead consulting applied

rule invite {
    on stage consulting
    when score >= 600 and tag "intent:high"
    send outbox invite_note
}

rule vip {
    on stage applied
    when tag "vip" or score >= 900
    send outbox vip_note
}
"""


class TagsReadTest(BatchCase):
    """The consumer reads a student's hash first and its tags only where
    a `when` of the rules its event triggers may hold on the hash: a
    score too low already decides "score >= 600 and tag ...", but not
    "tag ... or score >= 900". Redis's MONITOR shows what was read."""

    RULES = TAG_RULES
    TEMPLATES = {
        "invite_note": "Kind: notice\n\n{{name}}，试听课邀请。\n",
        "vip_note": "Kind: notice\n\n{{name}}，贵宾通道。\n",
    }

    def monitor(self):
        """Starts recording Redis's commands; returns (list, stop)."""
        seen, ready = [], threading.Event()
        client = self.redis.client()

        def record():
            with client.monitor() as m:
                ready.set()
                for c in m.listen():
                    if c["command"] == "ECHO monitor-end":
                        return
                    seen.append(c["command"])

        t = threading.Thread(target=record, daemon=True)
        t.start()
        self.assertTrue(ready.wait(5), "MONITOR started")

        def stop():
            self.r.echo("monitor-end")
            t.join(10)
            self.assertFalse(t.is_alive(), "MONITOR stopped")
        return seen, stop

    def test_tags_are_read_only_where_a_when_may_hold(self):
        low = [str(2000 + i) for i in range(20)]    # score decides: no
        high = [str(2100 + i) for i in range(20)]   # score and tag: yes
        untagged = [str(2200 + i) for i in range(10)]  # the tag decides
        vip = [str(2300 + i) for i in range(10)]    # `or`: tags needed
        for sid in low:
            add_student(self.r, sid, score=580, tags=["intent:high"])
        for sid in high:
            add_student(self.r, sid, score=650, tags=["intent:high"])
        for sid in untagged:
            add_student(self.r, sid, score=650)
        for sid in vip:
            add_student(self.r, sid, score=100, tags=["vip"])
        for sid in low + high + untagged:
            event(self.r, "stage", sid, **{"from": "lead", "to": "consulting"})
        for sid in vip:
            event(self.r, "stage", sid, **{"from": "lead", "to": "applied"})
        total = self.r.xlen("slm:events")

        seen, stop = self.monitor()
        self.nudge.start()
        wait_for(lambda: self.acked() >= total, 30,
                 what="every event acknowledged")
        wait_for(lambda: len(self.sent("invite_note")) >= len(high) and
                 len(self.sent("vip_note")) >= len(vip), 10,
                 what="the invitations and the vip notes")
        stop()

        self.assertEqual(self.sent("invite_note"), {s: 1 for s in high})
        self.assertEqual(self.sent("vip_note"), {s: 1 for s in vip})
        read = {w[1] for w in map(str.split, seen)
                if len(w) == 2 and w[0].upper() == "SMEMBERS"}
        def tags(sids):
            return {"slm:student:{%s}:tags" % sid for sid in sids}
        self.assertEqual(sorted(tags(low) & read), [],
                         "tags read where the score decided")
        self.assertEqual(sorted(tags(high + untagged + vip) - read), [],
                         "tags not read where a `when` may hold")
        self.assertEqual(self.nudge.stop(), 0, self.nudge.log_text()[-3000:])
        self.nudge.check_clean_log(self)


if __name__ == "__main__":
    unittest.main()

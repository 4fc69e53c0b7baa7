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
and every event is acknowledged, whatever the mix.
"""
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


class EventBatchTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis, extra=EXTRA)
        self.addCleanup(self.nudge.cleanup)
        self.nudge.write("rules/batch.rules", RULES)
        self.nudge.write("templates/welcome_note.sms",
                         "Kind: notice\n\n{{name}}，欢迎咨询。\n")
        self.nudge.write("templates/promo_note.sms",
                         "Kind: marketing\n\n{{name}}，开放日见。\n")
        self.nudge.write("templates/optout_confirm.sms",
                         "Kind: notice\n\n退订成功。\n")

    def sent(self, template):
        got = {}
        for m in self.nudge.outbox():
            if m.get("template") == template:
                got[m["student"]] = got.get(m["student"], 0) + 1
        return got

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

    def acked(self):
        """Events nudged's group has read and acknowledged."""
        for g in self.r.xinfo_groups("slm:events"):
            if g["pending"] == 0 and g["last-delivered-id"] != "0-0":
                entries = self.r.xrange("slm:events", "-",
                                        g["last-delivered-id"])
                return len(entries)
        return 0


if __name__ == "__main__":
    unittest.main()

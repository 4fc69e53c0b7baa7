"""The events stream is trimmed in the background below what every
consumer group has acknowledged, keeping [retention] events: a lagging
second group keeps every entry from its oldest unread or pending one,
even when older than the span; once it acknowledges, a later pass trims.
"""
import time
import unittest

from harness import Nudge, RedisServer, add_student, http_get, metric, wait_for

STREAM = "slm:events"
HOUR_MS = 3600 * 1000


def now_ms():
    return int(time.time() * 1000)


class EventsTrimTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()
        add_student(self.r, "1")
        self.nudge = None

    def tearDown(self):
        if self.nudge:
            status = self.nudge.stop()
            text = self.nudge.log_text()
            self.nudge.check_clean_log(self)
            self.nudge.cleanup()
            self.assertEqual(status, 0, text[-3000:])

    def start(self, events):
        self.nudge = Nudge(self.redis, extra="\n[retention]\nevents = %s\n"
                           "interval = 200ms\n" % events)
        self.nudge.start()

    def add(self, ids):
        for i in ids:
            self.r.xadd(STREAM, {"type": "stage", "student": "1",
                                 "from": "lead", "to": "consulting"}, id=i)
        return ids

    def ids(self):
        return [i for i, _ in self.r.xrange(STREAM)]

    def nudged_done(self):
        """nudged's group has read and acknowledged every entry."""
        last = self.r.xrevrange(STREAM, count=1)
        for g in self.r.xinfo_groups(STREAM):
            if g["name"] == "nudged":
                return g["pending"] == 0 and (
                    not last or g["last-delivered-id"] == last[0][0])
        return False

    def metrics(self):
        return http_get(self.nudge.http_port, "/metrics")[1]

    def test_acknowledged_trimmed_down_to_the_span(self):
        t = now_ms()
        old = self.add(["%d-0" % (t - 3 * HOUR_MS + i) for i in range(5)])
        recent = self.add(["%d-0" % (t - 60000 + i) for i in range(3)])
        self.start("1h")
        wait_for(lambda: self.ids() == recent, 5,
                 what="entries older than 1h trimmed")
        self.assertTrue(self.nudged_done())
        wait_for(lambda: metric(self.metrics(),
                                "nudge_events_trimmed_total") == len(old), 3,
                 what="nudge_events_trimmed_total = 5")
        wait_for(lambda: metric(self.metrics(),
                                "nudge_events_stream_length") == 3, 3,
                 what="nudge_events_stream_length = 3")
        # more passes trim nothing more: the span holds
        time.sleep(0.6)
        self.assertEqual(self.ids(), recent)

    def test_lagging_group_keeps_its_entries(self):
        t = now_ms()
        old = self.add(["%d-0" % (t - 3 * HOUR_MS + i) for i in range(6)])
        recent = self.add(["%d-0" % (t - 60000 + i) for i in range(2)])
        everything = old + recent
        self.r.xgroup_create(STREAM, "audit", id="0")
        self.start("1h")
        wait_for(self.nudged_done, 5, what="nudged to acknowledge all")
        time.sleep(1.0)  # five passes
        self.assertEqual(self.ids(), everything,
                         "audit has read nothing: all must stay")
        # the lag nudged computes itself: audit's oldest unread entry is
        # three hours old; nudged's own group is caught up
        lag = 'nudge_events_lag_seconds{group="%s"}'
        wait_for(lambda: abs(metric(self.metrics(), lag % "audit") -
                             3 * 3600) <= 5, 3, what="audit's lag ~3h")
        self.assertEqual(metric(self.metrics(), lag % "nudged"), 0)

        # audit reads three and acknowledges the first: the other two
        # are pending, so they stay, and everything after them
        got = self.r.xreadgroup("audit", "a1", {STREAM: ">"}, count=3)
        self.assertEqual([i for i, _ in got[0][1]], old[:3])
        self.r.xack(STREAM, "audit", old[0])
        wait_for(lambda: self.ids() == everything[1:], 3,
                 what="the acknowledged first entry trimmed")
        time.sleep(0.6)
        self.assertEqual(self.ids(), everything[1:],
                         "pending entries of audit must stay")

        # acknowledged, but nothing after them read: those stay
        self.r.xack(STREAM, "audit", old[1], old[2])
        wait_for(lambda: self.ids() == everything[3:], 3,
                 what="audit's acknowledged entries trimmed")
        time.sleep(0.6)
        self.assertEqual(self.ids(), everything[3:],
                         "entries audit has not read must stay")

        # audit catches up: old entries go, the span keeps the recent
        got = self.r.xreadgroup("audit", "a1", {STREAM: ">"})
        self.r.xack(STREAM, "audit", *[i for i, _ in got[0][1]])
        wait_for(lambda: self.ids() == recent, 3,
                 what="old entries trimmed once audit caught up")
        wait_for(lambda: metric(self.metrics(),
                                "nudge_events_trimmed_total") == len(old), 3,
                 what="nudge_events_trimmed_total = 6")
        wait_for(lambda: metric(self.metrics(), lag % "audit") == 0, 3,
                 what="audit caught up: lag 0")

    def test_span_zero_trims_everything_acknowledged(self):
        self.add(["*"] * 4)
        self.start("0")
        wait_for(lambda: self.r.xlen(STREAM) == 0, 5,
                 what="every acknowledged entry trimmed")
        self.add(["*"] * 2)
        wait_for(lambda: self.r.xlen(STREAM) == 0, 5,
                 what="new entries trimmed once acknowledged")
        self.assertTrue(self.nudged_done())
        wait_for(lambda: metric(self.metrics(),
                                "nudge_events_trimmed_total") == 6, 3,
                 what="nudge_events_trimmed_total = 6")
        # the timeline got both batches: they were handled, not lost
        tl = self.r.xlen("slm:student:{1}:timeline")
        self.assertEqual(tl, 6)


if __name__ == "__main__":
    unittest.main()

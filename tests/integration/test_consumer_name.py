"""Two daemons with one [daemon] consumer name on one Redis: the second
warns at start (the two would take each other's pending events). With
different names, or when the same daemon is stopped and started again,
there is no warning."""
import unittest

from harness import Nudge, RedisServer, wait_for

WARNING = "is in use by another live daemon"


def nudge(redis, name):
    return Nudge(redis, extra="\n[daemon]\nconsumer = %s\n" % name)


class ConsumerNameTest(unittest.TestCase):
    def setUp(self):
        self.redis = RedisServer().start()
        self.addCleanup(self.redis.stop)
        self.r = self.redis.client()

    def daemon(self, name):
        n = nudge(self.redis, name)
        self.addCleanup(n.cleanup)
        return n

    def reading(self, n):
        return wait_for(lambda: "reading slm:events" in n.log_text(), 5,
                        what="nudged to read the stream")

    def lease_checked(self, n, name):
        """The daemon has taken or looked at the lease of its name."""
        key = "slm:consumer:nudged:%s" % name
        self.reading(n)
        wait_for(lambda: self.r.exists(key), 5, what=key)

    def stop(self, n):
        self.assertEqual(n.stop(), 0, n.log_text()[-3000:])
        n.check_clean_log(self)

    def test_same_name_warns(self):
        first, second = self.daemon("twin"), self.daemon("twin")
        first.start()
        self.lease_checked(first, "twin")
        second.start()
        wait_for(lambda: WARNING in second.log_text(), 5,
                 what="the second daemon's warning")
        line = [l for l in second.log_text().splitlines() if WARNING in l][0]
        self.assertIn('"twin"', line)
        self.assertIn("give each daemon its own [daemon] consumer", line)
        self.assertIn("%d@" % first.proc.pid, line)
        self.assertNotIn(WARNING, first.log_text())
        self.stop(second)
        self.stop(first)

    def test_different_names_no_warning(self):
        a, b = self.daemon("alpha"), self.daemon("beta")
        a.start()
        self.lease_checked(a, "alpha")
        b.start()
        self.lease_checked(b, "beta")
        self.stop(b)
        self.stop(a)
        self.assertNotIn(WARNING, a.log_text() + b.log_text())

    def test_restart_no_warning(self):
        n = self.daemon("solo")
        n.start()
        self.lease_checked(n, "solo")
        self.stop(n)
        self.assertFalse(self.r.exists("slm:consumer:nudged:solo"),
                         "a clean stop gives the name back")
        n.start()
        self.lease_checked(n, "solo")
        self.stop(n)
        self.assertNotIn(WARNING, n.log_text())

    def test_crashed_run_on_this_host_no_warning(self):
        n = self.daemon("phoenix")
        n.start()
        self.lease_checked(n, "phoenix")
        n.kill()  # SIGKILL: the lease stays until it expires
        self.assertTrue(self.r.exists("slm:consumer:nudged:phoenix"))
        n.start()
        wait_for(lambda: str(n.proc.pid) in
                 (self.r.get("slm:consumer:nudged:phoenix") or ""), 5,
                 what="the restarted daemon to take the lease over")
        self.stop(n)
        self.assertNotIn(WARNING, n.log_text())


if __name__ == "__main__":
    unittest.main()

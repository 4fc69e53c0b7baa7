"""Working time end to end: a run that waits `1h working` gets its next
step's queue job due when the school's calendar has counted an hour (read
off the due set in Redis), `nudgectl simulate` shows that deadline in the
worktime zone, and `nudgectl check` warns of a calendar that runs out
within 60 days.

The calendar is written relative to today (UTC), so the expected instant
does not depend on the day the test runs: today and the next two days are
holidays, every day of the week works otherwise, 09:00-18:00 UTC.
"""
import datetime
import unittest

from harness import NudgeTestCase, add_student, wait_for

RULES = """\
stages lead consulting

rule lead_sla {
    on assigned
    wait 1h working
    stop if followed_up
    tag add "overdue"
}
"""


def day(offset):
    return (datetime.datetime.now(datetime.timezone.utc).date() +
            datetime.timedelta(days=offset))


def calendar(last_offset):
    return ("# test calendar\n"
            "covers %s %s\n"
            "%s..%s holiday 假期\n" % (day(-1), day(last_offset), day(0), day(2)))


def worktime_config(last_offset):
    return ("\n[worktime]\n"
            "days = sun-sat\n"
            "hours = 09:00-18:00\n"
            "timezone = UTC\n"
            "calendar = test.cal\n"), calendar(last_offset)


class WorktimeTest(NudgeTestCase, unittest.TestCase):
    def setUp(self):
        super().setUp()
        extra, cal = worktime_config(400)
        with open(self.nudge.config, "a") as f:
            f.write(extra)
        self.nudge.write("test.cal", cal)
        self.nudge.write("rules/sla.rules", RULES)

    def expected_due_ms(self):
        # the first working moment is day 3 at 09:00 UTC; one hour later
        due = datetime.datetime.combine(day(3), datetime.time(10, 0),
                                        datetime.timezone.utc)
        return int(due.timestamp() * 1000)

    def test_run_waits_in_working_time(self):
        add_student(self.r, "7", owner="s1")
        self.nudge.start()
        wait_for(lambda: "nudged started" in self.nudge.log_text(), 10,
                 what="nudged to start")
        self.nudge.ctl("emit", "assigned", "7", "owner=s1")
        jobs = wait_for(lambda: self.r.zrange("slm:q:{0}:due", 0, -1,
                                              withscores=True),
                        10, what="the wait's queue job")
        self.assertEqual(len(jobs), 1, jobs)
        self.assertAlmostEqual(jobs[0][1], self.expected_due_ms(), delta=2000)
        self.stop_clean()

    def test_simulate_shows_local_deadline(self):
        add_student(self.r, "8", owner="s1")
        res = self.nudge.ctl("simulate", "8", "--event", "assigned",
                             "owner=s1")
        self.assertIn("wait 1h working (until %s 10:00 UTC, working time)"
                      % day(3), res.stdout)

    def test_check_clean_and_running_out(self):
        res = self.nudge.ctl("check")
        self.assertNotIn("warning", res.stderr)
        self.assertIn("worktime: 09:00-18:00 in UTC; calendar %s to %s "
                      "(1 file, 3 dates)" % (day(-1), day(400)), res.stdout)
        _, cal = worktime_config(30)
        self.nudge.write("test.cal", cal)
        res = self.nudge.ctl("check")  # a warning: still exit 0
        self.assertRegex(res.stderr, r"nudged.conf:\d+: warning: the working "
                         r"calendar runs out on %s, in 30 days" % day(30))

    def test_check_broken_calendar_is_an_error(self):
        self.nudge.write("test.cal", "covers 2026-01-01 2026-12-31\n"
                                     "2026-10-01 holliday 国庆节\n")
        res = self.nudge.ctl("check", check=False)
        # the config does not load: nudgectl's exit status for config errors
        self.assertEqual(res.returncode, 2)
        self.assertIn("test.cal:2:12: unknown kind \"holliday\": use holiday "
                      "or workday", res.stderr)


if __name__ == "__main__":
    unittest.main()

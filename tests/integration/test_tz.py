"""Time zones (core/tz.h) against Python's zoneinfo, for every zone of the
system's database: the offset nudge computes just before and just after
every transition from 2026 to 2040. Debian's zone files list transitions
up to 2037 at most (slim files fewer); later ones come from the file's
footer rule, so this checks both the table and the footer.

Transitions are found with zoneinfo (a day-by-day scan, then bisection to
the second) and sent to tests/tools/tz_tool in one batch.
"""
import datetime
import os
import subprocess
import unittest
import zoneinfo

from harness import BUILD

TZ_TOOL = os.path.join(BUILD, "tools", "tz_tool")
START = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
END = int(datetime.datetime(2041, 1, 1, tzinfo=datetime.timezone.utc).timestamp())
DAY = 86400
UTC = datetime.timezone.utc


def offset(tz, t):
    return int(datetime.datetime.fromtimestamp(t, UTC).astimezone(tz)
               .utcoffset().total_seconds())


def transitions(tz):
    """The instants (seconds) in [START, END) at which tz's offset changes."""
    found = []
    prev_t, prev = START, offset(tz, START)
    for t in range(START + DAY, END + DAY, DAY):
        cur = offset(tz, t)
        if cur != prev:
            lo, hi = prev_t, t  # offset(lo) == prev != offset(hi)
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset(tz, mid) == prev:
                    lo = mid
                else:
                    hi = mid
            found.append(hi)
        prev_t, prev = t, cur
    return found


class TestZoneOffsets(unittest.TestCase):
    def test_every_zone_every_transition(self):
        zones = sorted(zoneinfo.available_timezones())
        self.assertGreater(len(zones), 300)
        want = {}
        for name in zones:
            tz = zoneinfo.ZoneInfo(name)
            # every zone at least at the start, plus each change's edges
            points = {START, END - 1}
            for t in transitions(tz):
                points.update((t - 1, t))
            for t in points:
                want[(name, t)] = offset(tz, t)
        self.assertGreater(sum(1 for _ in want) - 2 * len(zones), 1000)
        lines = "".join(f"{z} {t}\n" for z, t in sorted(want))
        out = subprocess.run([TZ_TOOL], input=lines, capture_output=True,
                             text=True, timeout=60, check=True).stdout
        got = {}
        for line in out.splitlines():
            z, t, off = line.split()
            got[(z, int(t))] = off
        wrong = [f"{z} {datetime.datetime.fromtimestamp(t, UTC):%Y-%m-%d %H:%M:%S}Z"
                 f" nudge {got.get((z, t))} zoneinfo {off}"
                 for (z, t), off in sorted(want.items())
                 if got.get((z, t)) != str(off)]
        self.assertEqual(wrong[:20], [], f"{len(wrong)} of {len(want)} differ")

    def test_unknown_names(self):
        lines = "Mars/Olympus 0\nAmerica 0\n../etc/passwd 0\nzone1970.tab 0\n"
        out = subprocess.run([TZ_TOOL], input=lines, capture_output=True,
                             text=True, timeout=10, check=True).stdout
        self.assertEqual([l.split()[2] for l in out.splitlines()],
                         ["unknown"] * 4)


if __name__ == "__main__":
    unittest.main()

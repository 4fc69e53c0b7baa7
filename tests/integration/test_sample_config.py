"""The sample config (etc/nudged.conf) as an operator uses it: every
value it documents in a commented `# key = value` line is accepted when
that line is enabled (`nudgectl check` exits 0), and an empty value
written `key = ""` or `key =   # why` means empty."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import NUDGECTL

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
COMMENTED = re.compile(r"^# ([a-z_]+) = (.*)$")
# Lines that only make sense with another one: enabled together.
TOGETHER = {("digest", "at"): ("digest", "channel")}
# What the sample's secrets read (env:NAME), set as an operator would.
SECRETS = {"REDIS_PASSWORD": "x", "UNSUBSCRIBE_SECRET": "x",
           "RECEIPTS_TOKEN": "x", "SMS_TOKEN": "x", "SMTP_PASSWORD": "x",
           "WECOM_SECRET": "x", "REPORT_TOKEN": "x"}


class SampleConfigTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nudge-sample-")
        self.addCleanup(shutil.rmtree, self.dir)
        for name in os.listdir(os.path.join(ROOT, "etc")):
            src = os.path.join(ROOT, "etc", name)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(self.dir, name))
        with open(os.path.join(ROOT, "etc", "nudged.conf")) as f:
            self.lines = f.read().split("\n")

    def check(self, lines):
        path = os.path.join(self.dir, "nudged.conf")
        with open(path, "w") as f:
            f.write("\n".join(lines))
        env = dict(os.environ, **SECRETS)
        return subprocess.run([NUDGECTL, "-c", path, "check"], env=env,
                              capture_output=True, text=True, timeout=30)

    def commented(self):
        """(line index, section, key) of every documented value."""
        section = None
        for i, line in enumerate(self.lines):
            m = re.match(r"^\[([^\]]+)\]", line)
            if m:
                section = m.group(1)
            m = COMMENTED.match(line)
            if m:
                yield i, section, m.group(1)

    def test_the_sample_checks_clean(self):
        p = self.check(self.lines)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_every_documented_value_is_accepted(self):
        where = {(s, k): i for i, s, k in self.commented()}
        self.assertGreater(len(where), 40)
        for i, section, key in self.commented():
            lines = list(self.lines)
            for s, k in [(section, key)] + ([TOGETHER[(section, key)]]
                                            if (section, key) in TOGETHER
                                            else []):
                j = where[(s, k)]
                lines[j] = lines[j][2:]
            with self.subTest(line=i + 1, key="[%s] %s" % (section, key)):
                p = self.check(lines)
                self.assertEqual(p.returncode, 0,
                                 "%s\n%s" % (lines[i], p.stdout + p.stderr))

    def test_empty_values(self):
        i = next(i for i, s, k in self.commented()
                 if (s, k) == ("delivery", "quiet_hours"))
        for written in ('quiet_hours = ""', 'quiet_hours =   # none',
                        'quiet_hours ='):
            lines = list(self.lines)
            lines[i] = written
            with self.subTest(written=written):
                p = self.check(lines)
                self.assertEqual(p.returncode, 0, p.stdout + p.stderr)


if __name__ == "__main__":
    unittest.main()

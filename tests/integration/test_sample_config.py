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

from harness import NUDGECTL, sample_secrets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
COMMENTED = re.compile(r"^# ([a-z_]+) = (.*)$")
# Lines that only make sense with another one: enabled together.
TOGETHER = {("digest", "at"): ("digest", "channel"),
            ("channel.sms", "fallback"): ("channel.sms_backup", "(section)")}


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
        # the commented secrets too: a line enabled may read one
        text, env = sample_secrets("\n".join(lines), self.dir)
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run([NUDGECTL, "-c", path, "check"], env=env,
                              capture_output=True, text=True, timeout=30)

    def commented(self):
        """(line indexes to enable together, section, key) of every
        documented value. A commented section (`# [channel.x]` and its
        `# key = value` lines) is one case, enabled whole."""
        section, block = None, None
        for i, line in enumerate(self.lines):
            m = re.match(r"^(# )?\[([^\]]+)\]", line)
            if m:
                if block:
                    yield block
                section = m.group(2)
                block = ([i], section, "(section)") if m.group(1) else None
                continue
            m = COMMENTED.match(line)
            if m and block:
                block[0].append(i)
            elif m:
                yield [i], section, m.group(1)
        if block:
            yield block

    def test_the_sample_checks_clean(self):
        p = self.check(self.lines)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_every_documented_value_is_accepted(self):
        cases = list(self.commented())
        where = {(s, k): idx for idx, s, k in cases}
        self.assertGreater(len(cases), 40)
        for idx, section, key in cases:
            lines = list(self.lines)
            enable = list(idx)
            if (section, key) in TOGETHER:
                enable += where[TOGETHER[(section, key)]]
            for j in enable:
                lines[j] = lines[j][2:]
            with self.subTest(line=idx[0] + 1, key="[%s] %s" % (section, key)):
                p = self.check(lines)
                self.assertEqual(p.returncode, 0, "%s\n%s" % (
                    lines[idx[0]], p.stdout + p.stderr))

    def test_empty_values(self):
        i = next(idx[0] for idx, s, k in self.commented()
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

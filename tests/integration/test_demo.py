"""`make demo`, as a newcomer runs it (issue 13): the build prints a short
line per file (V=1 for the commands), and the demo runs to its end, with
a cohort that fills what its templates read (no "未填写" in what was
sent)."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, ROOT


class DemoTest(unittest.TestCase):
    def test_the_demo_runs(self):
        build = os.path.relpath(BUILD, ROOT)
        res = subprocess.run(["sh", "scripts/demo.sh", build], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stdout[-3000:] +
                         res.stderr[-3000:])
        out = res.stdout
        self.assertIn("== what was sent (outbox)", out)
        self.assertIn("== timelines", out)
        self.assertNotIn("未填写", out)  # the cohort has major_intent
        self.assertNotIn("gcc ", out)

    def test_quiet_build(self):
        tmp = tempfile.mkdtemp(prefix="nudge-quiet-")
        self.addCleanup(shutil.rmtree, tmp, True)
        target = os.path.join(tmp, "core", "mask.o")
        res = subprocess.run(["make", "--no-print-directory", "BUILD=" + tmp,
                              target], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout, "  CC   %s\n" % target)
        os.unlink(target)
        res = subprocess.run(["make", "--no-print-directory", "BUILD=" + tmp,
                              "V=1", target], cwd=ROOT, capture_output=True,
                             text=True, timeout=120)
        self.assertIn("-c -o %s core/mask.c" % target, res.stdout)


if __name__ == "__main__":
    unittest.main()

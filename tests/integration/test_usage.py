"""--help and --version of both programs: the usage on stdout and exit 0
(-h too), the version from the VERSION file, and a wrong option still a
usage error (stderr, exit 2). nudgectl's --help works without a config."""
import os
import subprocess
import unittest

from harness import NUDGECTL, NUDGED, ROOT


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=30, cwd="/")


class UsageTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(ROOT, "VERSION")) as f:
            self.version = f.read().strip()

    def test_version(self):
        for prog, name in ((NUDGED, "nudged"), (NUDGECTL, "nudgectl")):
            with self.subTest(prog=name):
                p = run(prog, "--version")
                self.assertEqual((p.returncode, p.stdout, p.stderr),
                                 (0, "%s %s\n" % (name, self.version), ""))

    def test_help(self):
        for prog, name in ((NUDGED, "nudged"), (NUDGECTL, "nudgectl")):
            for flag in ("--help", "-h"):
                with self.subTest(prog=name, flag=flag):
                    p = run(prog, flag)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    self.assertEqual(p.stderr, "")
                    self.assertTrue(p.stdout.startswith("usage: %s " % name),
                                    p.stdout)
                    self.assertIn("--version", p.stdout)
        p = run(NUDGECTL, "--help")
        for command in ("check", "simulate", "diff", "forget"):
            self.assertIn("  %s" % command, p.stdout)
        p = run(NUDGED, "--help")
        for option in ("-c FILE", "-f", "-p PIDFILE"):
            self.assertIn(option, p.stdout)

    def test_a_wrong_option_is_a_usage_error(self):
        for prog, name in ((NUDGED, "nudged"), (NUDGECTL, "nudgectl")):
            with self.subTest(prog=name):
                p = run(prog, "--no-such-option")
                self.assertEqual(p.returncode, 2)
                self.assertEqual(p.stdout, "")
                self.assertIn("usage: %s" % name, p.stderr)

    def test_help_needs_no_config(self):
        # the default config (/etc/nudge/nudged.conf) is not read
        p = run(NUDGECTL, "-c", "/nonexistent/nudged.conf", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == "__main__":
    unittest.main()

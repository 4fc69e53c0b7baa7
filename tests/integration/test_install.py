"""`make install` as a packager and an operator use it: DESTDIR=tmp
PREFIX=/usr SYSCONFDIR=/etc into a throwaway folder, from the build the
suite was given (NUDGE_BUILD; nothing rebuilt from scratch). The files are
where docs/operations.md ("Installing") says, with sane modes; the unit's
paths are the prefix's and `systemd-analyze verify` finds nothing in it;
the installed nudged starts on the installed sample config (copied as is,
but for the Redis address, the HTTP port and the WeCom secret's path) and
answers /healthz; the installed nudgectl checks that config and the
examples; the man pages render; a second install keeps the operator's
config and rules; `make uninstall` removes the programs and keeps them."""
import os
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import unittest

from harness import (BUILD, ROOT, SANITIZER_MARKS, RedisServer, free_port,
                     sample_secrets,
                     http_get, wait_for)

PROGRAMS = {"usr/sbin/nudged": 0o755, "usr/bin/nudgectl": 0o755}
MANPAGES = ["usr/share/man/man8/nudged.8", "usr/share/man/man1/nudgectl.1",
            "usr/share/man/man5/nudged.conf.5",
            "usr/share/man/man5/nudge.rules.5"]
UNIT = "usr/lib/systemd/system/nudged.service"
CONF = "etc/nudge/nudged.conf"


def make_install(dest, target="install"):
    """make TARGET into DESTDIR=dest from the suite's build; the
    sanitizer build keeps its flags, so that nothing is rebuilt without
    them."""
    args = ["make", "--no-print-directory", target, "BUILD=" + BUILD,
            "DESTDIR=" + dest, "PREFIX=/usr", "SYSCONFDIR=/etc"]
    if os.path.basename(os.path.normpath(BUILD)) == "san":
        args.append("SAN=1")
    p = subprocess.run(args, cwd=ROOT, capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise AssertionError("make %s failed:\n%s%s" % (target, p.stdout,
                                                        p.stderr))
    return p


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


class InstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nudge-install-")
        cls.dest = os.path.join(cls.tmp, "root")
        cls.install_output = make_install(cls.dest).stdout

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def path(self, rel):
        return os.path.join(self.dest, rel)

    def test_nothing_was_rebuilt(self):
        # what the suite tests is what gets installed
        self.assertNotIn(" -c -o ", self.install_output,
                         "make install compiled: build first (make "
                         "test-build)")

    def test_files_and_modes(self):
        for rel, want in PROGRAMS.items():
            self.assertEqual(mode(self.path(rel)), want, rel)
        for rel in MANPAGES + [UNIT, CONF]:
            self.assertEqual(mode(self.path(rel)), 0o644, rel)
        for top in ("etc/nudge", "usr/share/doc/nudge/examples"):
            for sub in ("rules", "templates", "calendars"):
                folder = self.path(os.path.join(top, sub))
                self.assertEqual(mode(folder), 0o755, folder)
                names = sorted(os.listdir(folder))
                self.assertEqual(names, sorted(os.listdir(
                    os.path.join(ROOT, "etc", sub))))
                for name in names:
                    self.assertEqual(mode(os.path.join(folder, name)), 0o644)
        with open(self.path(CONF)) as f, \
                open(os.path.join(ROOT, "etc", "nudged.conf")) as g:
            self.assertEqual(f.read(), g.read())
        # nothing of the tests' or the build's is installed
        self.assertEqual(sorted(os.listdir(self.path("usr/sbin"))),
                         ["nudged"])
        self.assertEqual(sorted(os.listdir(self.path("usr/bin"))),
                         ["nudgectl"])

    def test_the_unit_has_the_prefix_paths_and_verifies(self):
        with open(self.path(UNIT)) as f:
            unit = f.read()
        self.assertNotIn("@", unit.replace("$MAINPID", ""))
        self.assertIn("\nExecStart=/usr/sbin/nudged -f -c "
                      "/etc/nudge/nudged.conf\n", unit)
        self.assertIn("\nEnvironmentFile=-/etc/nudge/nudged.env\n", unit)
        for line in ("User=nudge", "Group=nudge", "ProtectSystem=strict",
                     "StateDirectory=nudge"):
            self.assertIn("\n%s\n" % line, unit)
        if not shutil.which("systemd-analyze"):
            self.skipTest("no systemd-analyze here")
        # verify checks that ExecStart's program exists: point it at the
        # one in DESTDIR, nothing else changed
        probe = os.path.join(self.tmp, "nudged.service")
        with open(probe, "w") as f:
            f.write(unit.replace("ExecStart=/usr/sbin/nudged",
                                 "ExecStart=" + self.path("usr/sbin/nudged")))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", probe],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def installed_config(self, redis_address, http_port):
        """The installed sample, with only what a test machine needs
        changed; returns its path and the environment its secrets read."""
        with open(self.path(CONF)) as f:
            text = f.read()
        changes = [
            (r"(?m)^address = 127\.0\.0\.1:6379\b", "address = " +
             redis_address),
            (r"(?m)^listen = 127\.0\.0\.1:9464\b",
             "listen = 127.0.0.1:%d" % http_port),
        ]
        for pattern, repl in changes:
            text, n = re.subn(pattern, repl, text)
            self.assertEqual(n, 1, pattern)
        text, env = sample_secrets(text, self.tmp)
        conf = os.path.join(self.dest, "etc", "nudge", "test.conf")
        with open(conf, "w") as f:
            f.write(text)
        return conf, env

    def test_installed_nudged_runs_on_the_sample_config(self):
        redis_server = RedisServer().start()
        self.addCleanup(redis_server.stop)
        port = free_port()
        conf, env = self.installed_config(redis_server.address, port)
        log = os.path.join(self.tmp, "nudged.log")
        with open(log, "w") as out:
            proc = subprocess.Popen([self.path("usr/sbin/nudged"), "-f",
                                     "-c", conf], stdout=out,
                                    stderr=subprocess.STDOUT, env=env)

        def text():
            with open(log, errors="replace") as f:
                return f.read()

        def stop():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.addCleanup(stop)
        try:
            wait_for(lambda: proc.poll() is not None or
                     http_get(port, "/healthz")[0] == 200, 15,
                     what="/healthz 200")
        except AssertionError:
            raise AssertionError("no /healthz:\n" + text()[-3000:])
        self.assertIsNone(proc.poll(), "nudged exited:\n" + text()[-3000:])
        status, body = http_get(port, "/healthz")
        self.assertEqual(status, 200, body)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(20), 0, text()[-3000:])
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, text())

        p = subprocess.run([self.path("usr/bin/nudgectl"), "-c", conf,
                            "check"], capture_output=True, text=True,
                           timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_installed_nudgectl_checks_the_examples(self):
        conf = self.path("usr/share/doc/nudge/examples/nudged.conf")
        with open(conf) as f:
            text, env = sample_secrets(f.read(), self.tmp)
        with open(conf, "w") as f:
            f.write(text)
        p = subprocess.run([self.path("usr/bin/nudgectl"), "-c", conf,
                            "check"], capture_output=True, text=True,
                           timeout=60, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("0 errors", p.stderr)

    def test_installed_programs_know_their_version(self):
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        for rel, name in (("usr/sbin/nudged", "nudged"),
                          ("usr/bin/nudgectl", "nudgectl")):
            p = subprocess.run([self.path(rel), "--version"],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual((p.returncode, p.stdout),
                             (0, "%s %s\n" % (name, version)))

    def test_installed_man_pages_render(self):
        for rel in MANPAGES:
            with self.subTest(page=rel):
                if shutil.which("man"):
                    cmd = ["man", "-E", "UTF-8", "-l", self.path(rel)]
                else:
                    cmd = ["mandoc", "-T", "utf8", self.path(rel)]
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   timeout=30,
                                   env=dict(os.environ, MANWIDTH="80"))
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertIn("SEE ALSO", p.stdout)


class ReinstallTest(unittest.TestCase):
    """An operator's config and rules survive `make install` and
    `make uninstall`."""

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="nudge-reinstall-")
        self.addCleanup(shutil.rmtree, self.dest, ignore_errors=True)

    def test_operator_files_are_kept(self):
        make_install(self.dest)
        conf = os.path.join(self.dest, CONF)
        rules = os.path.join(self.dest, "etc/nudge/rules")
        with open(conf, "a") as f:
            f.write("# the operator's\n")
        os.remove(os.path.join(rules, "leads.rules"))
        cal = os.path.join(self.dest, "etc/nudge/calendars/cn-2026.cal")
        os.remove(cal)  # as if this release brought the file
        with open(conf) as f:
            mine = f.read()

        p = make_install(self.dest)
        with open(conf) as f:
            self.assertEqual(f.read(), mine)
        self.assertNotIn("leads.rules", os.listdir(rules))
        self.assertTrue(os.path.exists(cal), "a new calendar is installed")
        self.assertIn("exists: kept", p.stdout)

        make_install(self.dest, "uninstall")
        for rel in list(PROGRAMS) + MANPAGES + [UNIT]:
            self.assertFalse(os.path.exists(os.path.join(self.dest, rel)),
                             rel)
        self.assertFalse(os.path.exists(os.path.join(
            self.dest, "usr/share/doc/nudge")))
        with open(conf) as f:
            self.assertEqual(f.read(), mine)
        self.assertTrue(os.path.isdir(rules))


if __name__ == "__main__":
    unittest.main()

"""The manual pages (man/*.[158]): each lints clean with `mandoc -T lint
-W warning` and renders without a groff warning through man(1); the
Makefile installs every one; every key of core/config.c's conf_keys table
is described in its section of nudged.conf(5), and every command of
cli/nudgectl.c in nudgectl(1). Needs mandoc (scripts/deps.sh installs it):
without it the lint fails, it is not skipped."""
import glob
import os
import re
import shutil
import subprocess
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
PAGES = ["nudged.8", "nudgectl.1", "nudged.conf.5", "nudge.rules.5"]


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def config_keys():
    """(section, key, default or None) of every row of conf_keys[] in
    core/config.c."""
    src = read("core", "config.c")
    table = src[src.index("conf_keys[] = {"):src.index("#define NKEYS")]
    rows = re.findall(r'\{"([a-z_]+)",\s*"([a-z_]+)",\s*CT_\w+,\s*'
                      r'OFF\([^)]*\),\s*(NULL|"[^"]*")', table)
    # every row read: none skipped by the pattern
    assert len(rows) == table.count("OFF("), "conf_keys: a row not parsed"
    return [(s, k, None if d == "NULL" else d[1:-1]) for s, k, d in rows]


def nudgectl_commands():
    src = read("cli", "nudgectl.c")
    table = src[src.index("commands[] = {"):src.index("#define NCOMMANDS")]
    return re.findall(r'\{"([a-z]+)",\s*cmd_', table)


def page_sections(text):
    """{".Ss" title: its text} of an mdoc page."""
    parts = re.split(r"^\.Ss (.*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


class ManPagesTest(unittest.TestCase):
    def test_every_page_exists_and_is_installed(self):
        self.assertEqual(sorted(os.path.basename(p) for p in
                                glob.glob(os.path.join(ROOT, "man", "*"))),
                         sorted(PAGES))
        manpages = re.search(r"^MANPAGES\s*:=(.*)$", read("Makefile"), re.M)
        self.assertIsNotNone(manpages, "Makefile: no MANPAGES")
        self.assertEqual(sorted(manpages.group(1).split()),
                         sorted("man/" + p for p in PAGES))

    def test_mandoc_lint_is_clean(self):
        self.assertIsNotNone(shutil.which("mandoc"),
                             "mandoc is missing: scripts/deps.sh build")
        for page in PAGES:
            with self.subTest(page=page):
                p = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                                    os.path.join("man", page)], cwd=ROOT,
                                   capture_output=True, text=True, timeout=30)
                self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""))

    def test_man_renders_without_warnings(self):
        if not shutil.which("man"):
            self.skipTest("no man(1) here; mandoc lints the pages")
        env = dict(os.environ, MANWIDTH="80")
        for page in PAGES:
            with self.subTest(page=page):
                p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l",
                                    os.path.join(ROOT, "man", page)],
                                   env=env, capture_output=True, text=True,
                                   timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stderr, "")
                self.assertIn("NAME", p.stdout)
                self.assertIn(page.rsplit(".", 1)[0], p.stdout)

    def test_every_config_key_is_in_nudged_conf_5(self):
        sections = page_sections(read("man", "nudged.conf.5"))
        keys = config_keys()
        self.assertGreater(len(keys), 70)
        for section, key, default in keys:
            with self.subTest(key="[%s] %s" % (section, key)):
                self.assertIn("[%s]" % section, sections)
                text = sections["[%s]" % section]
                self.assertTrue(
                    re.search(r"(?m)^\.It Cm %s\b" % key, text),
                    "[%s] %s is not described in nudged.conf.5" % (section,
                                                                   key))
                if default:  # a default shown is the code's
                    self.assertIn(".It Cm %s No = %s\n" % (key, default),
                                  text)
                else:
                    self.assertNotIn(".It Cm %s No = " % key, text)

    def test_every_command_is_in_nudgectl_1(self):
        page = read("man", "nudgectl.1")
        commands = nudgectl_commands()
        self.assertGreater(len(commands), 10)
        for command in commands:
            with self.subTest(command=command):
                self.assertTrue(
                    re.search(r"(?m)^\.It Cm %s\b" % command, page),
                    "nudgectl %s is not described in nudgectl.1" % command)

    def test_options_of_the_programs_are_documented(self):
        for page, options in (("nudged.8", ["Fl c", "Fl f", "Fl p",
                                            "Fl \\-help", "Fl \\-version"]),
                              ("nudgectl.1", ["Fl c", "Fl \\-help",
                                              "Fl \\-version"])):
            text = read("man", page)
            for option in options:
                with self.subTest(page=page, option=option):
                    self.assertIn(option, text)


if __name__ == "__main__":
    unittest.main()

"""Shared-object channel plugins through chan_tool: the example plugin
(build/plugins/example.so, tests/plugins/example_channel.c) is found in
[channels] plugin_dir by its type, loaded, and sends; a plugin of another
ABI, a missing plugin and a bad type name are refused with a config error
on the channel's `type` line that says what to do."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BUILD, NUDGECTL, SANITIZER_MARKS

CHAN_TOOL = os.path.join(BUILD, "tools", "chan_tool")
PLUGINS = os.path.join(BUILD, "plugins")


class PluginTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nudge-it-plugins-")
        self.config = os.path.join(self.dir, "nudged.conf")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write_config(self, type_, plugin_dir=PLUGINS, extra=""):
        channels = "[channels]\nplugin_dir = %s\n\n" % plugin_dir \
            if plugin_dir is not None else ""
        with open(self.config, "w") as f:
            f.write("[http]\nlisten =\n\n" + channels +
                    "[channel.ex]\n"
                    "type = %s\n"
                    "as = sms\n"
                    "path = sent.txt\n%s" % (type_, extra))
        return 8 if plugin_dir is not None else 5  # the `type` line

    def send(self, messages):
        res = subprocess.run(
            [CHAN_TOOL, "-c", self.config, "send", "ex"],
            input="".join(json.dumps(m) + "\n" for m in messages),
            capture_output=True, text=True, timeout=30)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, res.stderr, res.stderr)
        return res

    def test_example_plugin_sends(self):
        self.write_config("example")
        res = self.send([{"to": "+8613800000001", "body": "你好\n明天见"},
                         {"to": "+8613800000002", "body": "second"}])
        self.assertEqual(res.returncode, 0, res.stderr)
        outcomes = [json.loads(line) for line in res.stdout.splitlines()]
        self.assertEqual([o["status"] for o in outcomes], ["ok", "ok"])
        ids = sorted(o["provider_id"] for o in outcomes)
        self.assertEqual(ids, ["example-1", "example-2"])
        with open(os.path.join(self.dir, "sent.txt")) as f:
            lines = sorted(f.read().splitlines())
        self.assertEqual(lines, [
            "example-1\t+8613800000001\t你好\\n明天见",
            "example-2\t+8613800000002\tsecond",
        ])

    def test_plugin_dir_is_relative_to_the_config(self):
        os.symlink(PLUGINS, os.path.join(self.dir, "plugins"))
        self.write_config("example", plugin_dir="plugins")
        res = self.send([{"to": "+8613800000001", "body": "hi"}])
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(json.loads(res.stdout)["status"], "ok")

    def assert_refused(self, line, *wanted):
        res = self.send([{"to": "+8613800000001", "body": "hi"}])
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("%s:%d: type: " % (self.config, line), res.stderr)
        for text in wanted:
            self.assertIn(text, res.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "sent.txt")))

    def test_old_abi_is_refused(self):
        line = self.write_config("oldabi")
        self.assert_refused(
            line, os.path.join(PLUGINS, "oldabi.so") +
            " has channel ABI 1, nudge needs 2: rebuild it against this "
            "nudge's channels/channel.h")

    def test_missing_plugin_names_the_builtins_and_the_folder(self):
        line = self.write_config("dingtalk")
        self.assert_refused(line, 'unknown channel type "dingtalk"',
                            "the built-in types are outbox",
                            "plugin_dir %s has no dingtalk.so" % PLUGINS)

    def test_no_plugin_dir(self):
        line = self.write_config("dingtalk", plugin_dir=None)
        self.assert_refused(line, "the built-in types are outbox",
                            "set [channels] plugin_dir")

    def test_type_name_cannot_be_a_path(self):
        line = self.write_config("../plugins/example")
        self.assert_refused(line, "a-z, 0-9 and _")

    def test_type_must_match_the_file(self):
        shutil.copy(os.path.join(PLUGINS, "example.so"),
                    os.path.join(self.dir, "other.so"))
        line = self.write_config("other", plugin_dir=self.dir)
        self.assert_refused(line, 'holds a driver of type "example", not '
                            '"other"')

    def test_a_plugin_needs_as(self):
        with open(self.config, "w") as f:
            f.write("[channels]\nplugin_dir = %s\n\n[channel.ex]\n"
                    "type = example\npath = sent.txt\n" % PLUGINS)
        res = self.send([{"to": "x", "body": "hi"}])
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn("a channel of type example needs `as = sms", res.stderr)

    def test_rules_render_the_part_named_by_as(self):
        """nudgectl check takes a plugin channel's message type from `as`
        (send ex hello needs hello.sms, then hello.email)."""
        os.makedirs(os.path.join(self.dir, "rules"))
        os.makedirs(os.path.join(self.dir, "templates"))
        with open(os.path.join(self.dir, "rules", "a.rules"), "w") as f:
            f.write("stages lead contacted\n"
                    "rule hi {\n    on stage contacted\n    send ex hello\n}\n")
        with open(os.path.join(self.dir, "templates", "hello.sms"), "w") as f:
            f.write("{{name|同学}}你好\n")
        self.write_config("example")

        def check():
            return subprocess.run([NUDGECTL, "-c", self.config, "check"],
                                  capture_output=True, text=True, timeout=30)
        res = check()
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        with open(self.config) as f:
            text = f.read().replace("as = sms", "as = email")
        with open(self.config, "w") as f:
            f.write(text)
        res = check()
        self.assertEqual(res.returncode, 1, res.stdout + res.stderr)
        self.assertIn('template "hello" has no email part for channel "ex"',
                      res.stderr)

    def test_plugin_keys_are_checked(self):
        self.write_config("example", extra="colour = blue\n")
        res = self.send([{"to": "x", "body": "hi"}])
        self.assertEqual(res.returncode, 2, res.stderr)
        self.assertIn('unknown key "colour" in [channel.ex]', res.stderr)


if __name__ == "__main__":
    unittest.main()

"""The email channel against a real SMTP server (tests/fakes/smtp_server.py,
aiosmtpd): messages go through build/tools/chan_tool, and what the server
received is compared with what was submitted.

Covers: many messages in one SMTP session, STARTTLS verified against a
test certificate (and refused without the CA), AUTH, refused recipients
(550 permanent, 451 transient), a connection lost after the data
(unknown), the MIME arriving exactly as built, the Message-ID as provider
id, STARTTLS required against a server without it, and the password
never shown.
"""
import base64
import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from harness import BUILD, SANITIZER_MARKS

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "..", "fakes", "smtp_server.py")
CHAN_TOOL = os.path.join(BUILD, "tools", "chan_tool")
PASSWORD = "s3cret-Pa55word"


class SmtpFake:
    """tests/fakes/smtp_server.py on a free port, and what it recorded."""

    def __init__(self, folder, *args):
        self.out = os.path.join(folder, "smtp-%d.jsonl" % id(self))
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", FAKE, "--out", self.out] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(self.proc.stdout.readline())

    def events(self, kind):
        if not os.path.exists(self.out):
            return []
        with open(self.out) as f:
            return [e for e in map(json.loads, f) if e["event"] == kind]

    def messages(self):
        return self.events("message")

    def sessions(self):
        return self.events("connect")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.proc.stdout.close()


def build_mime(to, n=0, name="张伟"):
    """A realistic message as templates/ would build it: CRLF lines,
    encoded headers, text and HTML parts, a Message-ID."""
    m = EmailMessage(policy=email.policy.SMTP)
    m["Date"] = format_datetime(email.utils.localtime())
    m["From"] = "招生办 <admissions@example.edu>"
    m["To"] = "%s <%s>" % (name, to)
    m["Subject"] = "第%d封：欢迎参加开放日" % n
    m["Message-ID"] = make_msgid(domain="example.edu")
    m["List-Unsubscribe"] = "<https://example.edu/unsubscribe?student=%d>" % n
    m["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    m.set_content("Dear student %d,\n.a line that starts with a dot\n"
                  "..and two\n.\nend\n" % n, cte="7bit")
    m.add_alternative("<p>你好 %d</p>\n" % n, subtype="html", cte="base64")
    return m.as_bytes().decode("ascii")


class EmailChannelTest(unittest.TestCase):

    @classmethod
    def make_cert(cls, name, cn, alt):
        cert = os.path.join(cls.certdir, name + ".pem")
        key = os.path.join(cls.certdir, name + ".key")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-subj", "/CN=" + cn, "-addext", "subjectAltName=" + alt,
             "-days", "1", "-keyout", key, "-out", cert],
            check=True, capture_output=True)
        return cert, key

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="nudge-it-cert-")
        cls.cert, cls.key = cls.make_cert("test", "localhost",
                                          "DNS:localhost,IP:127.0.0.1")
        cls.other_cert, cls.other_key = cls.make_cert(
            "other", "smtp.other.test", "DNS:smtp.other.test")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="nudge-it-email-")
        self.fakes = []

    def tearDown(self):
        for f in self.fakes:
            f.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def fake(self, *args):
        f = SmtpFake(self.dir, *args)
        self.fakes.append(f)
        return f

    def tls_fake(self, *args):
        return self.fake("--starttls", self.cert, self.key, *args)

    def config(self, smtp_port, **keys):
        """A config with one email channel, `mail`."""
        values = {"host": "127.0.0.1", "port": smtp_port,
                  "from": "招生办 <admissions@example.edu>",
                  "timeout": "2s", "connect_timeout": "2s"}
        values.update(keys)
        path = os.path.join(self.dir, "nudged.conf")
        with open(path, "w") as f:
            f.write("[channel.mail]\ntype = email\n")
            for k, v in values.items():
                if v is not None:
                    f.write("%s = %s\n" % (k, v))
        return path

    def send(self, conf, messages, expect_rc=0):
        """Submits the messages through chan_tool; returns the outcomes
        (in input order) and stderr."""
        env = dict(os.environ, SMTP_PASSWORD=PASSWORD)
        res = subprocess.run(
            [CHAN_TOOL, "-c", conf, "send", "mail"],
            input="".join(json.dumps(m) + "\n" for m in messages),
            capture_output=True, text=True, timeout=60, env=env)
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, res.stderr, res.stderr)
        self.assertEqual(res.returncode, expect_rc, res.stderr)
        self.assertNotIn(PASSWORD, res.stdout + res.stderr)
        outs = [json.loads(line) for line in res.stdout.splitlines()]
        return outs, res.stderr

    @staticmethod
    def message_id(mime):
        return email.message_from_string(mime)["Message-ID"].strip("<>")

    # --- the tests -------------------------------------------------------

    def test_hundred_messages_in_one_session(self):
        smtp = self.fake()
        conf = self.config(smtp.port, starttls="off", sessions=1, batch=100)
        msgs = [{"to": "s%d@example.edu" % i,
                 "mime": build_mime("s%d@example.edu" % i, i)}
                for i in range(100)]
        outs, _ = self.send(conf, msgs)
        self.assertEqual([o["status"] for o in outs], ["ok"] * 100)
        self.assertEqual(len(smtp.sessions()), 1, "one SMTP session")
        got = smtp.messages()
        self.assertEqual(len(got), 100)
        self.assertEqual(len({tuple(m["peer"]) for m in got}), 1)
        # the provider id is each message's own Message-ID
        for o, m in zip(outs, msgs):
            self.assertEqual(o["provider_id"], self.message_id(m["mime"]))

    def test_batch_limits_a_session_and_sessions_share_the_work(self):
        smtp = self.fake()
        conf = self.config(smtp.port, starttls="off", sessions=4, batch=10)
        msgs = [{"to": "p%d@example.edu" % i,
                 "mime": build_mime("p%d@example.edu" % i, i)}
                for i in range(60)]
        outs, _ = self.send(conf, msgs)
        self.assertEqual([o["status"] for o in outs], ["ok"] * 60)
        per_session = {}
        for m in smtp.messages():
            per_session[tuple(m["peer"])] = per_session.get(
                tuple(m["peer"]), 0) + 1
        self.assertEqual(sum(per_session.values()), 60)
        self.assertGreaterEqual(len(per_session), 6)
        self.assertLessEqual(max(per_session.values()), 10)

    def test_mime_arrives_exactly_as_built(self):
        smtp = self.tls_fake()
        conf = self.config(smtp.port, ca_file=self.cert)
        mime = build_mime("zhang.wei@example.edu", 7)
        outs, _ = self.send(conf, [{"to": "zhang.wei@example.edu",
                                    "mime": mime}])
        self.assertEqual(outs[0]["status"], "ok", outs[0])
        (got,) = smtp.messages()
        self.assertTrue(got["tls"])
        self.assertEqual(got["mail_from"], "admissions@example.edu")
        self.assertEqual(got["rcpt_tos"], ["zhang.wei@example.edu"])
        raw = base64.b64decode(got["data"])
        self.assertEqual(raw.decode("ascii"), mime, "byte for byte")
        # and parsed back, header by header and part by part
        sent = email.message_from_string(mime, policy=email.policy.default)
        back = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(back.items(), sent.items())
        self.assertEqual(str(back["Subject"]), "第7封：欢迎参加开放日")
        self.assertEqual(str(back["To"]), "张伟 <zhang.wei@example.edu>")
        self.assertEqual(back.get_body(("plain",)).get_content(),
                         sent.get_body(("plain",)).get_content())
        self.assertIn(".a line that starts with a dot\r\n..and two\r\n.\r\n"
                      "end", back.get_body(("plain",)).get_content())
        self.assertEqual(back.get_body(("html",)).get_content(),
                         "<p>你好 7</p>\r\n")
        self.assertEqual(outs[0]["provider_id"], self.message_id(mime))

    def test_starttls_by_name_sends_it(self):
        smtp = self.tls_fake()
        conf = self.config(smtp.port, ca_file=self.cert, host="localhost")
        outs, _ = self.send(conf, [{"to": "a@example.edu",
                                    "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "ok", outs[0])
        self.assertEqual([e["name"] for e in smtp.events("sni")],
                         ["localhost"])

    def test_starttls_not_verified_without_the_ca(self):
        smtp = self.tls_fake()
        conf = self.config(smtp.port)  # the system's CAs: not ours
        outs, err = self.send(conf, [{"to": "a@example.edu",
                                      "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "transient", outs[0])
        self.assertEqual(outs[0]["account"], 1)
        self.assertEqual(outs[0]["code"], "TLS")
        self.assertIn("certificate", outs[0]["error"])
        self.assertEqual(smtp.messages(), [])

    def test_starttls_certificate_for_another_name_is_refused(self):
        # signed by a CA we trust (itself), but for another server
        smtp = self.fake("--starttls", self.other_cert, self.other_key)
        conf = self.config(smtp.port, ca_file=self.other_cert)
        outs, _ = self.send(conf, [{"to": "a@example.edu",
                                    "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "transient", outs[0])
        self.assertEqual(outs[0]["code"], "TLS")
        self.assertIn("address mismatch", outs[0]["error"])
        self.assertEqual(smtp.messages(), [])

    def test_tls_verify_no_accepts_any_certificate(self):
        smtp = self.tls_fake()
        conf = self.config(smtp.port, tls_verify="no")
        outs, err = self.send(conf, [{"to": "a@example.edu",
                                      "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "ok", outs[0])
        self.assertIn("NOT verified", err)

    def test_starttls_required_but_not_offered(self):
        smtp = self.fake()  # no STARTTLS
        conf = self.config(smtp.port)  # starttls = required by default
        outs, err = self.send(conf, [{"to": "a@example.edu",
                                      "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "transient")
        self.assertEqual(outs[0]["account"], 1)
        self.assertEqual(outs[0]["error"], "127.0.0.1 did not offer "
                                           "STARTTLS; starttls = required")
        self.assertEqual(smtp.messages(), [], "never sent in clear")

    def test_auth(self):
        smtp = self.tls_fake("--auth", "admissions:" + PASSWORD)
        conf = self.config(smtp.port, ca_file=self.cert,
                           username="admissions",
                           password="env:SMTP_PASSWORD")
        outs, _ = self.send(conf, [{"to": "a@example.edu",
                                    "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "ok", outs[0])
        (got,) = smtp.messages()
        self.assertEqual(got["auth"], "admissions")
        self.assertTrue(got["tls"])

    def test_auth_refused_is_the_accounts(self):
        smtp = self.tls_fake("--auth", "admissions:another-password")
        conf = self.config(smtp.port, ca_file=self.cert,
                           username="admissions",
                           password="env:SMTP_PASSWORD")
        msgs = [{"to": "a%d@example.edu" % i,
                 "mime": build_mime("a%d@example.edu" % i, i)}
                for i in range(3)]
        outs, err = self.send(conf, msgs)
        for o in outs:
            self.assertEqual(o["status"], "permanent", o)
            self.assertEqual(o["account"], 1)
            self.assertEqual(o["code"], "535")
            self.assertIn("AUTH refused", o["error"])
        self.assertEqual(smtp.messages(), [])

    def test_refused_recipients(self):
        smtp = self.fake("--reject", "gone@example.edu=550",
                         "--tempfail", "busy@example.edu=451")
        conf = self.config(smtp.port, starttls="off", sessions=1)
        msgs = [{"to": to, "mime": build_mime(to, i)}
                for i, to in enumerate(["gone@example.edu",
                                        "busy@example.edu",
                                        "fine@example.edu"])]
        outs, err = self.send(conf, msgs)
        self.assertEqual([o["status"] for o in outs],
                         ["permanent", "transient", "ok"])
        self.assertEqual([o["code"] for o in outs[:2]], ["550", "451"])
        self.assertEqual([o["account"] for o in outs], [0, 0, 0])
        # the address is masked in what goes to the timeline and logs
        for o in outs[:2]:
            self.assertNotIn("gone@", o["error"])
            self.assertNotIn("busy@", o["error"])
            self.assertIn("@example.edu", o["error"])
        self.assertNotIn("gone@example.edu", err)
        self.assertEqual([m["rcpt_tos"] for m in smtp.messages()],
                         [["fine@example.edu"]])
        self.assertEqual(len(smtp.sessions()), 1)

    def test_connection_lost_after_the_data_is_unknown(self):
        smtp = self.fake("--hangup", "lost@example.edu")
        conf = self.config(smtp.port, starttls="off", sessions=1)
        msgs = [{"to": to, "mime": build_mime(to, i)}
                for i, to in enumerate(["first@example.edu",
                                        "lost@example.edu",
                                        "after@example.edu"])]
        outs, _ = self.send(conf, msgs)
        self.assertEqual([o["status"] for o in outs],
                         ["ok", "unknown", "transient"])
        self.assertEqual(outs[2]["account"], 1)

    def test_bad_envelope_address_is_never_sent(self):
        smtp = self.fake()
        conf = self.config(smtp.port, starttls="off")
        to = "x@example.edu>\r\nRCPT TO:<evil@example.com"
        outs, _ = self.send(conf, [{"to": to, "mime": build_mime("x@y.z")},
                                   {"to": "ok@example.edu"}])
        self.assertEqual(outs[0]["status"], "permanent")
        self.assertEqual(outs[0]["code"], "bad-address")
        self.assertNotIn("evil@", outs[0]["error"])
        self.assertEqual(outs[1]["code"], "no-mime")
        self.assertEqual(smtp.messages(), [])

    def test_server_down_is_transient_on_the_account(self):
        smtp = self.fake()
        port = smtp.port
        smtp.stop()
        self.fakes.remove(smtp)
        conf = self.config(port, starttls="off")
        outs, err = self.send(conf, [{"to": "a@example.edu",
                                      "mime": build_mime("a@example.edu")}])
        self.assertEqual(outs[0]["status"], "transient")
        self.assertEqual(outs[0]["account"], 1)
        self.assertIn("refused", outs[0]["error"])

    def test_connect_timeout(self):
        # A listener whose accept queue is full: the kernel drops further
        # SYNs, so connect() hangs as it does for a host that drops packets.
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(0)
        fillers = []
        for _ in range(3):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(ls.getsockname())
            fillers.append(c)
        try:
            conf = self.config(ls.getsockname()[1], starttls="off",
                               connect_timeout="500ms")
            started = time.monotonic()
            outs, _ = self.send(conf, [{"to": "a@example.edu",
                                        "mime": build_mime("a@example.edu")}])
            took = time.monotonic() - started
        finally:
            for c in fillers + [ls]:
                c.close()
        self.assertEqual(outs[0]["status"], "transient", outs[0])
        self.assertEqual(outs[0]["account"], 1)
        self.assertEqual(outs[0]["code"], "timeout")
        self.assertLess(took, 5)

    def test_config_errors(self):
        cases = [
            ({"starttls": "maybe"}, "starttls: \"maybe\": use required, "
                                    "optional or off"),
            ({"from": "Admissions"}, "from: \"Admissions\" holds no email "
                                     "address"),
            ({"from": None}, "an email channel needs `from ="),
            ({"host": None}, "an email channel needs `host ="),
            ({"password": "env:SMTP_PASSWORD"},
             "password: AUTH needs both username and password"),
            ({"username": "u", "password": "env:NOT_SET_ANYWHERE"},
             "password: environment variable NOT_SET_ANYWHERE is not set"),
            ({"sessions": "0"}, "sessions: \"0\" is not a number from 1 "
                                "to 64"),
            ({"port": "smtp"}, "port: \"smtp\" is not a number"),
            ({"ca_file": "/nonexistent/ca.pem"},
             "cannot load the CA certificates of ca_file"),
            ({"colour": "blue"}, "colour"),
        ]
        for keys, want in cases:
            with self.subTest(keys=keys):
                conf = self.config(2525, **keys)
                _, err = self.send(conf, [], expect_rc=2)
                self.assertIn("nudged.conf:", err)
                self.assertIn(want, err)


if __name__ == "__main__":
    unittest.main()

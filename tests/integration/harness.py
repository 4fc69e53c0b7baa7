"""Throwaway servers and nudge processes for the integration tests.

Every test starts its own redis-server on a free loopback port in a
temporary folder and stops it; nothing here touches a Redis it did not
start. NUDGE_BUILD names the build folder (build or build/san) whose
nudged and nudgectl are run.
"""
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import weakref
import urllib.request

import redis

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("NUDGE_BUILD", os.path.join(ROOT, "build"))
NUDGED = os.path.join(BUILD, "nudged")
NUDGECTL = os.path.join(BUILD, "nudgectl")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=10.0, interval=0.02, what="condition"):
    """Polls predicate until it is true; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


def read_jsonl(path):
    """The whole lines of a JSON-lines file a daemon may be writing now:
    a reader can see half of an append, so a last line without its
    newline is left for the next read. A missing file is no lines."""
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        return []
    done = text[:text.rfind("\n") + 1]
    return [json.loads(line) for line in done.splitlines() if line.strip()]


def _redis_leftovers(path, running):
    """What a RedisServer leaves when its test never stopped it (a class
    that failed to set up, a run cut short): its server and its folder,
    removed when it is collected or at exit."""
    for proc in running:
        proc.kill()
        proc.wait()
    shutil.rmtree(path, ignore_errors=True)


class RedisServer:
    """A redis-server of our own: start(), kill(), restart(), stop()."""

    def __init__(self, appendonly=False, password=None, unixsocket=False):
        self.dir = tempfile.mkdtemp(prefix="nudge-it-redis-")
        self.port = free_port()
        self.appendonly = appendonly
        self.password = password
        self.socket = os.path.join(self.dir, "redis.sock") if unixsocket else None
        self.proc = None
        self._running = []  # the live server, for the finalizer
        self._leftovers = weakref.finalize(self, _redis_leftovers, self.dir,
                                           self._running)

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", self.dir, "--save", "",
             "--appendonly", "yes" if self.appendonly else "no",
             "--appendfsync", "always"] + self._extra_args(),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._running[:] = [self.proc]
        wait_for(self._pings, 10, what="redis-server to start")
        return self

    def _extra_args(self):
        args = []
        if self.password:
            args += ["--requirepass", self.password]
        if self.socket:
            args += ["--unixsocket", self.socket, "--unixsocketperm", "700"]
        return args

    def _pings(self):
        try:
            return self.client().ping()
        except redis.exceptions.ConnectionError:
            return False

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port,
                           password=self.password, decode_responses=True,
                           socket_timeout=10)

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self._running.clear()

    def restart(self):
        self.kill()
        return self.start()

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None
            self._running.clear()
        self._leftovers()  # the folder, now


BASE_CONFIG = """\
[redis]
address = {address}
prefix = slm:
{redis_extra}

[daemon]
batch = 200
block = 100ms
claim_idle = 1s
log_level = {log_level}

[rules]
dir = rules

[templates]
dir = templates

[http]
listen = {listen}

[channel.outbox]
type = outbox
as = sms
path = outbox.jsonl
"""


class Nudge:
    """A folder with a config, and the nudged/nudgectl that use it."""

    def __init__(self, redis_server, extra="", log_level="info", http=True,
                 redis_extra=""):
        self.redis = redis_server
        self.dir = tempfile.mkdtemp(prefix="nudge-it-")
        self.http_port = free_port() if http else None
        os.makedirs(os.path.join(self.dir, "rules"))
        os.makedirs(os.path.join(self.dir, "templates"))
        self.config = os.path.join(self.dir, "nudged.conf")
        with open(self.config, "w") as f:
            f.write(BASE_CONFIG.format(
                address=redis_server.address, log_level=log_level,
                redis_extra=redis_extra,
                listen="127.0.0.1:%d" % self.http_port if http else ""))
            f.write(extra)
        self.proc = None
        self.logs = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def outbox(self, name="outbox.jsonl"):
        """The messages an outbox channel has written so far."""
        return read_jsonl(self.path(name))

    def write(self, name, text):
        with open(self.path(name), "w") as f:
            f.write(text)

    def start(self, *args, env=None):
        log = open(self.path("nudged.%d.log" % len(self.logs)), "w")
        self.logs.append(log.name)
        self.proc = subprocess.Popen([NUDGED, "-f", "-c", self.config] + list(args),
                                     stdout=log, stderr=subprocess.STDOUT,
                                     env=env)
        log.close()
        return self

    def log_text(self):
        text = ""
        for name in self.logs:
            with open(name, errors="replace") as f:
                text += f.read()
        return text

    def stop(self, timeout=20):
        """SIGTERM, then wait; returns the exit status."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("nudged did not stop on SIGTERM:\n" + self.log_text())
        self.proc = None
        return rc

    def kill(self):
        if self.proc:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def check_clean_log(self, testcase):
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            testcase.assertNotIn(mark, text, "sanitizer report:\n" + text[-4000:])

    def ctl(self, *args, check=True, env=None):
        res = subprocess.run([NUDGECTL, "-c", self.config] + list(args),
                             capture_output=True, text=True, timeout=60,
                             env=env)
        if check and res.returncode != 0:
            raise AssertionError("nudgectl %s exited %d:\n%s%s" % (
                " ".join(args), res.returncode, res.stdout, res.stderr))
        for mark in SANITIZER_MARKS:
            if mark in res.stderr:
                raise AssertionError("sanitizer report:\n" + res.stderr)
        return res

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop_checked(self, redis_server=None):
        """For a class's tearDown: SIGTERM, clean up (and stop the Redis
        given), then fail on a sanitizer report or an exit status != 0."""
        status = self.stop()
        text = self.log_text()
        self.cleanup()
        if redis_server:
            redis_server.stop()
        for mark in SANITIZER_MARKS:
            if mark in text:
                raise AssertionError("sanitizer report:\n" + text[-4000:])
        if status != 0:
            raise AssertionError("nudged exited %d:\n%s" % (status, text[-4000:]))


def add_student(r, sid, prefix="slm:", tags=(), optout=(), **attrs):
    """Writes a student as the CRM would."""
    key = "%sstudent:{%s}" % (prefix, sid)
    fields = {"name": "学生%s" % sid, "phone": "+8613800%06d" % int(sid),
              "stage": "lead", "stage_at": str(int(time.time()))}
    fields.update({k: str(v) for k, v in attrs.items()})
    r.hset(key, mapping=fields)
    if tags:
        r.sadd(key + ":tags", *tags)
    if optout:
        r.sadd(key + ":optout", *optout)


def add_students(r, sids):
    """Students with a name, a phone and stage lead, in one pipeline."""
    pipe = r.pipeline(transaction=False)
    for sid in sids:
        pipe.hset("slm:student:{%s}" % sid, mapping={
            "name": "学生" + sid, "phone": "+8613800%06d" % int(sid),
            "stage": "lead"})
    pipe.execute()


def redis_digest(r):
    """Every key with its type and serialised value: equal before and
    after, nothing was written."""
    h = hashlib.sha256()
    for key in sorted(r.scan_iter(count=1000)):
        h.update(key.encode() + b"\0" + r.type(key).encode() + b"\0")
        h.update(r.execute_command("DUMP", key, NEVER_DECODE=True) or b"")
    return h.hexdigest()


def timeline(r, sid, prefix="slm:"):
    return [fields for _id, fields in
            r.xrange("%sstudent:{%s}:timeline" % (prefix, sid))]


class NudgeTestCase:
    """A mixin for unittest.TestCase: a Redis and a Nudge folder per test."""

    redis_options = {}

    def setUp(self):
        self.redis = RedisServer(**self.redis_options).start()
        self.r = self.redis.client()
        self.nudge = Nudge(self.redis)

    def tearDown(self):
        self.nudge.cleanup()
        self.redis.stop()

    def stop_clean(self):
        """SIGTERM: exit 0 and no sanitizer report in the log."""
        self.assertEqual(self.nudge.stop(), 0, self.nudge.log_text()[-3000:])
        self.nudge.check_clean_log(self)


def http_request(port, path, method="GET", body=None):
    """(status, body text) from nudged's listener; (None, "") when it
    does not answer."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=5) as res:
            return res.status, res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def http_get(port, path):
    return http_request(port, path)


def metric(text, name):
    """The sum of a Prometheus metric's samples in /metrics text."""
    total = 0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


def sample_secrets(text, tmpdir):
    """The sample config's text with its file: secret (the WeCom app's,
    under /etc/nudge) pointed at a file in tmpdir, and an environment
    that sets every env:NAME it reads, as an operator's unit would: a
    config `nudgectl check` and nudged both accept."""
    import re as _re
    path = os.path.join(tmpdir, "wecom.secret")
    with open(path, "w") as f:
        f.write("test-secret\n")
    text = text.replace("file:/etc/nudge/wecom.secret", "file:" + path)
    env = dict(os.environ)
    for name in _re.findall(r"env:([A-Z0-9_]+)", text):
        env[name] = "test-" + name.lower()
    return text, env
